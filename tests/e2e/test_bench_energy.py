"""Power, energy and throttling as `controller bench` shows them, from a real agent on fixture boards."""
from __future__ import annotations

import json

import pytest

from tests.conftest import run_controller
from tests.e2e.test_sensors_agent import _agent, fixture_board  # noqa: F401 - the fixture is used by name

ENERGY_KEYS = ("power_avg_w", "power_idle_w", "energy_j_per_inference", "energy_j_per_inference_above_idle",
               "power_source", "temp_max_c", "throttled")


def _bench(address: str, model) -> tuple[dict, str]:
    proc = run_controller("bench", "--target", address, str(model), "--threads", "1", "--duration", "0.6", "--json", "-", "--no-progress", check_rc=0)
    return json.loads(proc.stdout)["runs"][0], proc.stderr


def test_bench_reports_energy_from_the_board(fixture_board, tmp_path, tiny_onnx):  # noqa: F811
    board = fixture_board("pi5")
    with _agent(board, tmp_path) as agent:
        run, table = _bench(agent.address, tiny_onnx)
    assert set(ENERGY_KEYS) <= set(run)
    assert run["power_source"] == "rpi5-pmic"
    assert run["power_avg_w"] > 0 and run["power_idle_w"] > 0
    assert run["energy_j_per_inference"] > 0
    # Energy per inference is the window's energy over its inferences.
    assert run["energy_j_per_inference"] * run["latency_ms"]["count"] == pytest.approx(run["energy"]["energy_j"],
                                                                                      rel=1e-6)
    assert run["temp_max_c"] is not None and run["throttled"] is False
    assert "power W" in table and "mJ/inf" in table
    assert any("below wall power" in w or "regulator" in w for w in run["warnings"])


def test_throttled_run_is_flagged_loudly(fixture_board, tmp_path, tiny_onnx):  # noqa: F811
    board = fixture_board("pi4-ina219")  # its get_throttled reads 0x50005: under-voltage and throttling now
    with _agent(board, tmp_path) as agent:
        run, table = _bench(agent.address, tiny_onnx)
    assert run["throttled"] is True
    assert "!!! THROTTLED" in table and "YES" in table


def test_no_sensors_means_null_not_zero(agent, tiny_onnx):
    run, table = _bench(agent.address, tiny_onnx)
    for key in ENERGY_KEYS:
        assert run[key] is None, key
    assert "power W" not in table


def test_trace_file_and_cooldown(fixture_board, tmp_path, tiny_onnx):  # noqa: F811
    import csv

    board = fixture_board("pi5")  # its cpu-thermal zone reads 52.1 C and stays there
    trace = tmp_path / "trace.csv"
    with _agent(board, tmp_path, "--cooldown-timeout", "1") as agent:
        proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1",
                              "--duration", "0.6", "--trace", str(trace), "--cooldown-to", "90C", "--json", "-",
                              "--no-progress", check_rc=0)
        warm = json.loads(proc.stdout)["runs"][0]
        proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1",
                              "--duration", "0.3", "--cooldown-to", "20C", "--json", "-", "--no-progress",
                              check_rc=0)
        cold = json.loads(proc.stdout)["runs"][0]
    rows = list(csv.DictReader(trace.open()))
    power = [r for r in rows if r["kind"] == "power" and r["in_window"] == "1"]
    assert power and all(float(r["value"]) > 0 for r in power)
    assert {r["model"] for r in rows} == {warm["model"]["name"]}
    assert any(float(r["t_s"]) < 0 for r in rows)  # the idle baseline comes before the window
    assert warm["energy"]["cooldown"]["reached"] is True
    # 20 C is never reached on this board: the job waits its bounded time, runs, and says so.
    assert cold["status"] == "ok" and cold["energy"]["cooldown"]["reached"] is False
    assert any(w.startswith("cooldown:") for w in cold["warnings"])
