"""`controller calibrate` on a real local agent with a small kernel subset, and the calibrate + predict round
trip: the stored profile and kernel models are what bench and predict use, kernel by kernel, for both runtimes;
a second calibration measures only what is missing."""
from __future__ import annotations

import json

import pytest

from tests.conftest import bench_json, run_controller

# A small suite: 32 one-kernel models per runtime (two per op), fp32, one thread, the quick set of networks.
SMALL = ("--quick", "--kernels", "16", "--threads", "1", "--dtype", "fp32")


@pytest.fixture(scope="module")
def calibrated(agent, tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    mp = pytest.MonkeyPatch()
    mp.setenv("EDGEBENCH_DATA_DIR", str(data))
    proc = run_controller("calibrate", "--target", agent.address, *SMALL, "--json", "-", check_rc=0, timeout=600)
    stored = json.loads(proc.stdout)
    yield data, stored, proc.stderr
    mp.undo()


def test_calibrate_stores_a_profile_of_measured_figures_and_kernel_models(calibrated):
    data, stored, log = calibrated
    fingerprint = stored["calibration"]["fingerprint"]
    path = data / "profiles" / f"{fingerprint}.json"
    assert json.loads(path.read_text()) == stored  # what was printed is what was stored
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left no temp file
    assert stored["peak_gflops"]["fp32"]["value"] > 0
    assert stored["peak_gflops"]["fp32"]["source"].startswith("measured by controller calibrate")
    meas = stored["calibration"]["measurements"]
    assert meas["gemm_gflops"] and meas["bandwidth_gbs"] and meas["dispatch_us"] > 0
    # The fallback efficiencies are fitted on the suite's own kernels (no zoo model is measured).
    assert stored["efficiency_source"].startswith("fitted by controller calibrate")
    assert "kernel suite" in stored["efficiency_source"]
    kernels = json.loads((path.parent / stored["calibration"]["kernel_models"]).read_text())["runtimes"]
    assert set(kernels) == {"onnxruntime", "tflite"}
    for runtime, models in kernels.items():
        fit = models["fits"]["1"]
        assert {"conv", "memory"} <= set(fit["families"]), runtime
        assert fit["roofline"]["ops_per_s"] > 0 and fit["cold_bytes_per_s"] > 0
        assert models["memory"]["samples"] >= 6  # the suite's networks, each in its own worker
        held_out = models["check"]["threads"]["1"]["held_out_networks"]
        assert held_out and all(r["measured_ms"] > 0 and r["predicted_ms"] > 0 for r in held_out)
    assert "kernel suite:" in log and "held out" in log and "verdict:" in log and str(path) in log
    assert "the same on a Raspberry Pi 4: about" in log  # the budget estimate, and how it was made
    assert "per-item overhead x" in log


def test_a_second_calibration_measures_only_what_is_missing(calibrated, agent, monkeypatch):
    data, _, _ = calibrated
    monkeypatch.setenv("EDGEBENCH_DATA_DIR", str(data))
    proc = run_controller("calibrate", "--target", agent.address, *SMALL, check_rc=0, timeout=600)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("kernel suite:"))
    measured = int(line.split()[2])
    assert measured == 0, line  # everything came from the first calibration's measurements
    assert "kept from earlier calibrations" in line


def test_a_board_is_asked_for_a_models_optimized_graph_once(calibrated, agent, tiny_onnx, monkeypatch, tmp_path):
    data, _, _ = calibrated
    monkeypatch.setenv("EDGEBENCH_DATA_DIR", str(data))
    monkeypatch.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path / "cache"))
    first = bench_json("--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "2")["runs"][0]
    again = bench_json("--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "2")["runs"][0]
    assert first["job_spec"]["return_optimized_model"] is True
    assert again["job_spec"]["return_optimized_model"] is False  # kept from the first run
    assert again["predicted"]["method"] == "kernel"
    assert again["predicted"]["predicted_latency_ms"] == pytest.approx(first["predicted"]["predicted_latency_ms"])
    assert list((tmp_path / "cache" / "optimized-graphs").rglob("*.onnx"))


def test_bench_and_predict_use_the_kernel_models(calibrated, agent, tiny_onnx, tiny_tflite, monkeypatch):
    data, stored, _ = calibrated
    monkeypatch.setenv("EDGEBENCH_DATA_DIR", str(data))
    runs = bench_json("--target", agent.address, str(tiny_onnx), str(tiny_tflite), "--threads", "1", "--runs", "3")
    fp = stored["calibration"]["fingerprint"]
    for run in runs["runs"]:
        pred = run["predicted"]
        assert pred["error"] is None and pred["method"] == "kernel", pred
        assert pred["device"] == stored["name"] and pred["source"].startswith("calibrated ")
        assert pred["kernels"] > 0 and pred["predicted_latency_ms"] > 0 and pred["roofline_latency_ms"] > 0
        assert pred["predicted_memory_load_bytes"] > 0 and pred["predicted_memory_steady_bytes"] > 0
        assert run["board"]["fingerprint"] == fp
        model = str(tiny_onnx) if run["runtime"] == "onnxruntime" else str(tiny_tflite)
        for how in (["--device", f"calibrated:{fp[:8]}"], ["--target", agent.address]):
            out = json.loads(run_controller("predict", model, *how, "--threads", "1", "--json", "-",
                                            check_rc=0).stdout)
            assert out["device"]["name"] == stored["name"]
            (m,) = out["models"]
            assert m["method"] == "kernel"
            # The host's onnxruntime optimizes the model as the (local) board's does: the same kernels.
            assert m["predicted_latency_ms"] == pytest.approx(pred["predicted_latency_ms"], rel=1e-6)
    # With no --device and no --target: this machine's own calibrated profile, and predict says so.
    proc = run_controller("predict", str(tiny_onnx), "--threads", "1", check_rc=0)
    assert f"using this machine's calibrated profile {stored['name']}" in proc.stderr


def test_per_op_tables_one_row_per_kernel(calibrated, agent, tiny_onnx, tiny_tflite, monkeypatch):
    data, _, _ = calibrated
    monkeypatch.setenv("EDGEBENCH_DATA_DIR", str(data))
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), str(tiny_tflite), "--threads", "1",
                          "--runs", "3", "--per-op", "--no-progress", "--no-store", check_rc=0)
    out = proc.stdout
    assert "kernels of the board's optimized graph" in out  # onnxruntime: its own optimized graph
    assert "measured: onnxruntime's profile of this run" in out
    assert "measured in isolation" in out  # TFLite: each distinct kernel alone on the board
    assert "file nodes" in out and "bound" in out


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


def test_damaged_kernel_models_are_a_clear_error(calibrated, agent, tiny_onnx, monkeypatch, tmp_path):
    data, stored, _ = calibrated
    copy = tmp_path / "data"
    (copy / "profiles").mkdir(parents=True)
    name = f"{stored['calibration']['fingerprint']}.json"
    (copy / "profiles" / name).write_text((data / "profiles" / name).read_text())
    (copy / "profiles" / stored["calibration"]["kernel_models"]).write_text("{ not json")
    monkeypatch.setenv("EDGEBENCH_DATA_DIR", str(copy))
    proc = run_controller("predict", str(tiny_onnx), "--threads", "1", check_rc=2)
    assert "kernel models" in proc.stderr and "unreadable" in proc.stderr and "controller calibrate" in proc.stderr
