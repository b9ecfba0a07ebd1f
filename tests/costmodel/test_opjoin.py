"""The profile join on a real onnxruntime profile of a model onnxruntime fuses (Conv+BN, Conv+Relu, residual)."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgebench.agent.runtimes.onnxruntime_runtime import _parse_ort_profile
from edgebench.controller.calibration.opjoin import join_profile
from edgebench.controller.costmodel import analyze_model, load_profile, predict_cost


def _residual_block(path):
    rng = np.random.default_rng(0)
    inits = []

    def w(name, shape):
        inits.append(numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name))
        return name

    def bn(i, x, y):
        c = 16
        inits.extend(numpy_helper.from_array(a.astype(np.float32), f"bn{i}_{k}") for k, a in
                     (("s", np.ones(c)), ("b", np.zeros(c)), ("m", np.zeros(c)), ("v", np.ones(c))))
        return helper.make_node("BatchNormalization", [x, f"bn{i}_s", f"bn{i}_b", f"bn{i}_m", f"bn{i}_v"], [y],
                                name=f"bn_{i}")

    nodes = [
        # A stem conv first, so the residual comes from a conv as in ResNet (not from the graph input).
        helper.make_node("Conv", ["x", w("ws", [16, 16, 1, 1])], ["s"], name="conv_s"),
        helper.make_node("Relu", ["s"], ["rs"], name="relu_s"),
        helper.make_node("Conv", ["rs", w("w0", [16, 16, 3, 3])], ["c0"], name="conv_0", pads=[1, 1, 1, 1]),
        bn(0, "c0", "b0"),
        helper.make_node("Relu", ["b0"], ["r0"], name="relu_0"),
        helper.make_node("Conv", ["r0", w("w1", [16, 16, 3, 3])], ["c1"], name="conv_1", pads=[1, 1, 1, 1]),
        bn(1, "c1", "b1"),
        helper.make_node("Add", ["b1", "rs"], ["a"], name="add_0"),
        helper.make_node("Relu", ["a"], ["r1"], name="relu_1"),
        helper.make_node("GlobalAveragePool", ["r1"], ["p"], name="pool_0"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten_0"),
        helper.make_node("Gemm", ["f", w("wf", [10, 16]), w("bf", [10])], ["y"], name="gemm_0", transB=1),
    ]
    graph = helper.make_graph(nodes, "block", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("join")
    path = _residual_block(tmp / "block.onnx")
    so = ort.SessionOptions()
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp / "ort")
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    for _ in range(3):
        sess.run(None, {"x": np.ones((1, 16, 32, 32), np.float32)})
    entries = [{"node": o.node_name, "op_type": o.op_type, "provider": o.provider, "mean_us": o.mean_us,
                "count": o.count} for o in _parse_ort_profile(sess.end_profiling())]
    prediction = predict_cost(analyze_model(path), load_profile("x86-host"), 1, fusion=True)
    return prediction, entries


def test_every_graph_node_lands_in_one_kernel_group(profiled):
    prediction, entries = profiled
    join = join_profile(prediction, entries)
    # onnxruntime really fused: fewer kernels than graph nodes (BatchNorm folded, Relu into the conv).
    assert len(join.groups) < len(prediction.model.nodes)
    owner = {n: g for g in join.groups for n in g.nodes}
    assert set(owner) | set(join.unmatched) == {n.name for n in prediction.model.nodes}
    assert not join.unmatched
    # Conv + BN + Relu ran as one kernel; the second conv took its BN, the residual Add and the Relu.
    assert owner["conv_0"] is owner["bn_0"] is owner["relu_0"]
    assert owner["conv_1"] is owner["bn_1"] is owner["add_0"] is owner["relu_1"]
    assert owner["conv_0"] is not owner["conv_1"]
    assert owner["gemm_0"].nodes == ["gemm_0"]
    # Times are conserved: every profiled microsecond is in a group or listed as inserted by onnxruntime.
    total = sum(e["mean_us"] for e in entries) / 1e3
    assert sum(g.measured_ms for g in join.groups) + join.inserted_ms == pytest.approx(total)
    assert all(e["op_type"].startswith("Reorder") for e in join.inserted) or not join.inserted
    assert {g.provider for g in join.groups} == {"CPU"}


def test_static_fusion_model_agrees_with_what_onnxruntime_did(profiled):
    prediction, entries = profiled
    join = join_profile(prediction, entries)
    fused = prediction.fused_into
    assert fused["bn_0"] == "conv_0" and fused["relu_0"] == "conv_0"
    assert fused["bn_1"] == fused["add_0"] == fused["relu_1"] == "conv_1"
    owner = {n: g.name for g in join.groups for n in g.nodes}
    for absorbed, anchor in fused.items():
        assert owner[absorbed] == owner[anchor]
    # The absorbed nodes cost nothing of their own in the prediction.
    times = {c.name: t for c, t in prediction.per_node()}
    assert times["relu_0"].predicted_ms == 0 and times["relu_0"].bound == "fused"
    assert times["conv_0"].predicted_ms > 0
