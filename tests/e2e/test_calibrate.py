"""`controller calibrate --quick` on a real local agent, and the stored profile used by bench and predict."""
from __future__ import annotations

import json

import pytest

from tests.conftest import bench_json, run_controller


@pytest.fixture(scope="module")
def calibrated(agent, tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    mp = pytest.MonkeyPatch()
    mp.setenv("EDGEBENCH_DATA_DIR", str(data))
    proc = run_controller("calibrate", "--target", agent.address, "--quick", "--json", "-", check_rc=0, timeout=120)
    stored = json.loads(proc.stdout)
    yield data, stored, proc.stderr
    mp.undo()


def test_calibrate_stores_a_profile_of_measured_figures(calibrated):
    data, stored, log = calibrated
    fingerprint = stored["calibration"]["fingerprint"]
    path = data / "profiles" / f"{fingerprint}.json"
    assert json.loads(path.read_text()) == stored  # what was printed is what was stored
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left no temp file
    assert stored["peak_gflops"]["fp32"]["value"] > 0
    assert stored["peak_gflops"]["fp32"]["source"].startswith("measured by controller calibrate")
    assert stored["dispatch_overhead_us"]["source"].startswith(("measured", "fitted"))
    meas = stored["calibration"]["measurements"]
    assert meas["gemm_gflops"] and meas["bandwidth_gbs"] and meas["dispatch_us"] > 0
    assert "conv" in stored["calibration"]["fit"]  # fitted from the reference models' per-node profiles
    assert stored["efficiency_source"].startswith("fitted by controller calibrate")
    assert "GEMM" in log and "fitted efficiencies" in log and str(path) in log


def test_bench_and_predict_use_the_calibration(calibrated, agent, tiny_onnx, monkeypatch):
    data, stored, _ = calibrated
    monkeypatch.setenv("EDGEBENCH_DATA_DIR", str(data))
    run = bench_json("--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "3")["runs"][0]
    pred = run["predicted"]
    assert pred["error"] is None
    assert pred["device"] == stored["name"] and pred["source"].startswith("calibrated ")
    assert run["board"]["fingerprint"] == stored["calibration"]["fingerprint"]
    fp = stored["calibration"]["fingerprint"]
    for how in (["--device", f"calibrated:{fp[:8]}"], ["--target", agent.address]):
        out = json.loads(run_controller("predict", str(tiny_onnx), *how, "--threads", "1", "--json", "-",
                                        check_rc=0).stdout)
        assert out["device"]["name"] == stored["name"]
        assert out["models"][0]["predicted_latency_ms"] == pytest.approx(pred["predicted_latency_ms"], abs=1e-6)


def test_corrupt_stored_profile_is_a_clear_error(calibrated, agent, tiny_onnx, monkeypatch, tmp_path):
    _, stored, _ = calibrated
    data = tmp_path / "data"
    (data / "profiles").mkdir(parents=True)
    path = data / "profiles" / f"{stored['calibration']['fingerprint']}.json"
    path.write_text('{"schema_version": 1, "name": ')
    monkeypatch.setenv("EDGEBENCH_DATA_DIR", str(data))
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--runs", "1", "--no-progress",
                          check_rc=2)
    assert "stored calibrated profile" in proc.stderr and str(path) in proc.stderr
    assert "controller calibrate" in proc.stderr
    proc = run_controller("predict", str(tiny_onnx), "--device", f"calibrated:{path}", check_rc=2)
    assert "unreadable" in proc.stderr
