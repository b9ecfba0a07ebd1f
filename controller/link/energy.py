"""A JobResult's sensor figures as `bench --json` keys, table cells and a trace CSV. Pure functions.
(They read the wire message, so they live in link/; results.py folds them into each run record.)

    row.update(energy_json(result))            # power_avg_w ... throttled, plus an "energy" detail dict
    cells = energy_cells(result)                # {"power": "6.81 W", "energy/inf": "0.47 mJ", ...}
    write_trace(result, "run.csv")             # the time series kept with JobSpec.keep_trace

A figure the agent could not measure is None (null in JSON, "-" in a table), never 0.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from edgebench.v1 import agent_pb2 as pb

from ..records import TOP_KEYS, TRACE_HEADER

MISSING = "-"


def _opt(msg: Any, name: str) -> Any:
    return getattr(msg, name) if msg.HasField(name) else None


def _measurement(result: pb.JobResult) -> pb.Measurement | None:
    """The sensors' measurement; None when no sensor was sampled (the message may then carry only the
    contention figures, which are not the sensors')."""
    if not result.HasField("measurement") or result.measurement.sample_rate_hz <= 0:
        return None
    return result.measurement


def energy_json(result: pb.JobResult) -> dict[str, Any]:
    """The issue's keys (null where unmeasured) plus `energy`, the detail (null when nothing was sampled)."""
    m = _measurement(result)
    if m is None:
        return {**dict.fromkeys(TOP_KEYS), "energy": None}
    out: dict[str, Any] = {
        "power_avg_w": _opt(m, "power_avg_w"),
        "power_idle_w": _opt(m, "power_idle_w"),
        "energy_j_per_inference": _opt(m, "energy_per_inference_j"),
        "energy_j_per_inference_above_idle": _opt(m, "energy_per_inference_above_idle_j"),
        "power_source": m.power_source or None,
        "temp_max_c": _opt(m, "temp_max_c"),
        "throttled": _opt(m, "throttled"),
    }
    out["energy"] = {
        "power_note": m.power_note or None,
        "energy_method": m.energy_method or None,
        "power_peak_w": _opt(m, "power_peak_w"),
        "energy_j": _opt(m, "energy_j"),
        "energy_above_idle_j": _opt(m, "energy_above_idle_j"),
        "coverage": _opt(m, "coverage"),
        "power_samples": m.power_samples,
        "duration_s": m.duration_s,
        "inferences": m.inferences,
        "temp_source": m.temp_source or None,
        "temp_start_c": _opt(m, "temp_start_c"),
        "temp_max_c": _opt(m, "temp_max_c"),
        "temp_end_c": _opt(m, "temp_end_c"),
        "temp_max_by_zone_c": dict(m.temp_max_by_zone_c),
        "freq_source": m.freq_source or None,
        "freq_min_hz": _opt(m, "freq_min_hz"),
        "freq_max_hz": _opt(m, "freq_max_hz"),
        "throttle_before": _flags(m, "throttle_before"),
        "throttle_during": _flags(m, "throttle_during"),
        "throttle_after": _flags(m, "throttle_after"),
        "throttle_flags": list(m.throttle_flags),
        "unavailable": dict(m.unavailable),
        "sample_rate_hz": m.sample_rate_hz,
        "rates": {r.sensor: {"kind": r.kind, "requested_hz": r.requested_hz,
                             "achieved_hz": _opt(r, "achieved_hz"), "ok": r.readings_ok,
                             "failed": r.readings_failed, "last_reason": r.last_reason or None}
                  for r in m.rates},
        "by_source": {f.sensor: {"method": f.method, "avg_w": _opt(f, "avg_w"), "peak_w": _opt(f, "peak_w"),
                                 "energy_j": _opt(f, "energy_j"), "idle_w": _opt(f, "idle_w"),
                                 "coverage": _opt(f, "coverage"), "reason": f.reason or None,
                                 "note": f.note or None}
                      for f in m.by_source},
        "cooldown": ({"start_c": _opt(m, "cooldown_start_c"), "waited_s": m.cooldown_waited_s,
                      "reached": m.cooldown_reached}
                     if m.cooldown_waited_s or m.HasField("cooldown_start_c") else None),
    }
    return out


def _flags(m: pb.Measurement, name: str) -> str | None:
    return f"0x{getattr(m, name):x}" if m.HasField(name) else None


def _si(value: float | None, unit: str) -> str:
    if value is None:
        return MISSING
    for scale, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n")):
        if abs(value) >= scale or scale == 1e-9:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"  # pragma: no cover


ENERGY_COLUMNS = ("power", "idle", "energy/inf", "above idle", "temp max", "throttled")


def energy_cells(result: pb.JobResult) -> dict[str, str]:
    """Table cells for ENERGY_COLUMNS: "-" where unmeasured, a loud "YES" for a throttled run."""
    j = energy_json(result)
    throttled = j["throttled"]
    return {
        "power": _si(j["power_avg_w"], "W"),
        "idle": _si(j["power_idle_w"], "W"),
        "energy/inf": _si(j["energy_j_per_inference"], "J"),
        "above idle": _si(j["energy_j_per_inference_above_idle"], "J"),
        "temp max": MISSING if j["temp_max_c"] is None else f"{j['temp_max_c']:.1f} C",
        "throttled": MISSING if throttled is None else ("YES" if throttled else "no"),
    }


def energy_notes(result: pb.JobResult) -> list[str]:
    """Lines a report prints under the table: the source and its caveat, unavailable figures, throttling."""
    m = _measurement(result)
    if m is None:
        return []
    notes = []
    if m.power_source:
        notes.append(f"power: {m.power_source}" + (f" ({m.power_note})" if m.power_note else ""))
    for figure, why in sorted(m.unavailable.items()):
        notes.append(f"{figure} unavailable: {why}")
    if m.HasField("throttled") and m.throttled:
        notes.append("THROTTLED: " + (", ".join(m.throttle_flags) or "flags set") + " - not comparable")
    return notes


def write_trace(result: pb.JobResult, path: str | Path) -> int:
    """The kept time series as long-format CSV (one row per reading per figure), time in seconds from the
    measurement window's start (negative during the idle baseline). Returns the rows written."""
    m = _measurement(result)
    rows = []
    if m is not None:
        t0 = m.window_start_ns
        for s in m.trace:
            for t, v in zip(s.t_ns, s.values, strict=True):
                inside = m.window_start_ns <= t <= m.window_end_ns
                rows.append(((t - t0) / 1e9, s.sensor, s.kind, s.figure, v, s.unit, int(inside)))
    rows.sort(key=lambda r: (r[0], r[1], r[3]))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(TRACE_HEADER)
        for r in rows:
            w.writerow([f"{r[0]:.6f}", r[1], r[2], r[3], repr(r[4]), r[5], r[6]])
    return len(rows)
