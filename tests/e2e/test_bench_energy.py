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
