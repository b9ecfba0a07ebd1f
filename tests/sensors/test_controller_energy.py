"""controller/link/energy.py: a JobResult's measurement as bench JSON keys, table cells and a trace CSV."""
from __future__ import annotations

import csv
import json

import pytest

from edgebench.controller.link.energy import TOP_KEYS, energy_cells, energy_json, energy_notes, write_trace
from edgebench.v1 import agent_pb2 as pb


def _result() -> pb.JobResult:
    r = pb.JobResult(state=pb.JOB_STATE_SUCCEEDED, window_start_ns=10_000_000_000, window_end_ns=12_000_000_000)
    m = r.measurement
    m.window_start_ns, m.window_end_ns, m.duration_s, m.inferences = r.window_start_ns, r.window_end_ns, 2.0, 400
    m.sample_rate_hz = 5.0
    m.power_source, m.power_note, m.energy_method = "rpi5-pmic", "excludes regulator losses", "trapezoid"
    m.power_avg_w, m.power_peak_w, m.energy_j, m.power_idle_w = 6.5, 7.25, 13.0, 4.0
    m.energy_per_inference_j, m.energy_above_idle_j, m.energy_per_inference_above_idle_j = 0.0325, 5.0, 0.0125
    m.coverage, m.temp_max_c, m.temp_start_c, m.temp_end_c = 1.0, 61.5, 55.0, 60.0
    m.freq_min_hz, m.freq_max_hz = 1.5e9, 2.4e9
    m.throttle_before, m.throttle_during, m.throttle_after, m.throttled = 0, 0x4, 0x40004, True
    m.throttle_flags.extend(["throttled"])
    m.rates.add(sensor="rpi5-pmic", kind="power", requested_hz=5, achieved_hz=4.9, readings_ok=10)
    m.rates.add(sensor="rpi-temp", kind="thermal", requested_hz=2, readings_failed=3, last_reason="exit 255")
    m.by_source.add(sensor="rpi5-pmic", method="trapezoid", avg_w=6.5, idle_w=4.0)
    m.trace.add(sensor="rpi5-pmic", kind="power", figure="total", unit="W",
                t_ns=[9_500_000_000, 10_500_000_000, 12_500_000_000], values=[4.0, 6.5, 4.1])
    m.trace.add(sensor="thermal", kind="thermal", figure="max", unit="C", t_ns=[11_000_000_000], values=[60.0])
    return r


def test_energy_json_keys_and_detail():
    j = energy_json(_result())
    assert set(TOP_KEYS) <= set(j) and "energy" in j
    assert j["power_avg_w"] == 6.5 and j["power_idle_w"] == 4.0 and j["power_source"] == "rpi5-pmic"
    assert j["energy_j_per_inference"] == 0.0325 and j["energy_j_per_inference_above_idle"] == 0.0125
    assert j["temp_max_c"] == 61.5 and j["throttled"] is True
    e = j["energy"]
    assert e["power_peak_w"] == 7.25 and e["energy_j"] == 13.0 and e["coverage"] == 1.0
    assert e["freq_min_hz"] == 1.5e9 and e["throttle_after"] == "0x40004" and e["throttle_before"] == "0x0"
    assert e["rates"]["rpi5-pmic"]["achieved_hz"] == 4.9 and e["rates"]["rpi-temp"]["achieved_hz"] is None
    assert e["by_source"]["rpi5-pmic"]["idle_w"] == 4.0 and e["cooldown"] is None
    json.dumps(j)  # serializable as is


def test_unmeasured_is_null_not_zero():
    r = pb.JobResult(state=pb.JOB_STATE_SUCCEEDED)
    j = energy_json(r)
    assert all(j[k] is None for k in TOP_KEYS) and j["energy"] is None
    assert set(energy_cells(r).values()) == {"-"}
    assert energy_notes(r) == []
    # A measurement holding only the contention readings (no sensor sampled) is no energy figure either.
    r.measurement.contention.readings = 3
    assert all(energy_json(r)[k] is None for k in TOP_KEYS) and energy_json(r)["energy"] is None
    # Sampled, but power unreadable: absent figures stay null, the reason is kept; a measured 0 stays 0.
    r.measurement.sample_rate_hz = 10.0
    r.measurement.unavailable["power"] = "rpi5-pmic: exit status 255"
    r.measurement.temp_max_c = 0.0
    j = energy_json(r)
    assert j["power_avg_w"] is None and j["throttled"] is None and j["temp_max_c"] == 0.0
    assert j["energy"]["unavailable"] == {"power": "rpi5-pmic: exit status 255"}
    assert "power unavailable: rpi5-pmic: exit status 255" in energy_notes(r)


def test_cells_and_notes():
    cells = energy_cells(_result())
    assert cells == {"power": "6.5 W", "idle": "4 W", "energy/inf": "32.5 mJ", "above idle": "12.5 mJ",
                     "temp max": "61.5 C", "throttled": "YES"}
    notes = energy_notes(_result())
    assert notes[0] == "power: rpi5-pmic (excludes regulator losses)" and notes[-1].startswith("THROTTLED")


def test_write_trace_csv(tmp_path):
    path = tmp_path / "trace.csv"
    assert write_trace(_result(), path) == 4
    rows = list(csv.DictReader(path.open()))
    assert [r["t_s"] for r in rows] == ["-0.500000", "0.500000", "1.000000", "2.500000"]
    assert [r["in_window"] for r in rows] == ["0", "1", "1", "0"]
    assert rows[2]["sensor"] == "thermal" and float(rows[2]["value"]) == pytest.approx(60.0)
    assert write_trace(pb.JobResult(), tmp_path / "empty.csv") == 0
