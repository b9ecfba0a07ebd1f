"""`bench` puts the cost model's prediction beside each measured run (real agent, real onnxruntime)."""
from __future__ import annotations

import json

import pytest

from edgebench.controller.costmodel import predict_model
from tests.conftest import bench_json, run_controller

MODEL_KEYS = {"macs", "elementwise_ops", "params", "memory_access_bytes", "weight_bytes", "peak_activation_bytes",
              "predicted_latency_ms", "predicted_memory_bytes", "predicted_energy_j", "device", "source"}


@pytest.fixture(autouse=True)
def _empty_data_dir(tmp_path, monkeypatch):
    # No calibrated profile from the developer's machine leaks in: the built-in match is what is tested.
    monkeypatch.setenv("EDGEBENCH_DATA_DIR", str(tmp_path / "data"))


def test_predicted_object_matches_predict_for_the_runs_threads_and_shapes(agent, tiny_onnx):
    doc = bench_json("--target", agent.address, "zoo:dynamic_cnn", "--input-shape", "input=2x3x40x48",
                     "--threads", "1,2", "--runs", "5")
    for run in doc["runs"]:
        pred = run["predicted"]
        assert MODEL_KEYS <= set(pred), MODEL_KEYS - set(pred)
        assert pred["error"] is None
        assert pred["device"] == "x86-host" and pred["source"] == "built-in x86-host"
        assert pred["threads"] == run["threads"]
        assert pred["input_shapes"] == {"input": [2, 3, 40, 48]}
        offline = predict_model("zoo:dynamic_cnn", "x86-host", {"input": [2, 3, 40, 48]}, threads=run["threads"])
        assert pred["macs"] == offline.model.macs
        assert pred["predicted_latency_ms"] == pytest.approx(offline.predicted_latency_ms, abs=1e-6)
        measured = run["latency_ms"]["p50"]  # the error is against the median of the timed runs
        assert pred["latency_error_pct"] == pytest.approx((pred["predicted_latency_ms"] - measured) / measured * 100,
                                                          abs=0.01)
    # One thread is predicted slower than two on a CPU profile.
    assert doc["runs"][0]["predicted"]["predicted_latency_ms"] > doc["runs"][1]["predicted"]["predicted_latency_ms"]


def test_device_flag_and_table(agent, tiny_onnx):
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--device", "rpi4", "--threads", "1",
                          "--runs", "3", "--no-progress", "--json", "-", check_rc=0)
    run = json.loads(proc.stdout)["runs"][0]
    assert run["predicted"]["device"] == "rpi4" and run["predicted"]["source"] == "built-in rpi4"
    assert "lat err %" in proc.stderr and "predicted with device profile rpi4 (built-in rpi4)" in proc.stderr


def test_unknown_device_is_a_clear_error(agent, tiny_onnx):
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--device", "no-such-board",
                          "--runs", "1", "--no-progress", check_rc=2)
    assert "unknown device profile 'no-such-board'" in proc.stderr
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--device", "calibrated:deadbeef",
                          "--runs", "1", "--no-progress", check_rc=2)
    assert "calibrated:deadbeef matches none" in proc.stderr


def test_prediction_failure_does_not_fail_the_run(agent, tmp_path):
    # Control flow (If) runs in onnxruntime but the cost model cannot count it: the run still succeeds.
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    loop_body = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "b", [], [y])  # x: outer scope
    node = helper.make_node("If", ["c"], ["out"], then_branch=loop_body, else_branch=loop_body)
    c = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([node], "g", [c, x], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "if.onnx"
    onnx.save(model, path)
    doc = bench_json("--target", agent.address, str(path), "--threads", "1", "--runs", "2",
                     "--input-file", f"c={_bool_npy(tmp_path)}")
    run = doc["runs"][0]
    assert run["status"] == "ok"
    pred = run["predicted"]
    assert pred["device"] == "x86-host"
    # Honest about what it left out: an error, or the If listed as uncounted — never a silent zero.
    assert pred["error"] is not None or [u["op_type"] for u in pred["uncounted_ops"]] == ["If"], pred


def _bool_npy(tmp_path):
    import numpy as np

    path = tmp_path / "c.npy"
    np.save(path, np.array(True))
    return path
