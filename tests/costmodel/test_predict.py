"""Roofline latency, memory and energy on a hand-made profile, and the JSON shape scripts rely on."""
from __future__ import annotations

import json

import pytest
from costmodel_builders import onnx_model, save, weight
from onnx import helper

from edgebench.controller.costmodel import load_profile, predict_model
from edgebench.controller.costmodel.profiles import profile_from_dict

MODEL_KEYS = {
    "macs", "flops", "elementwise_ops", "params", "memory_access_bytes", "weight_bytes", "peak_activation_bytes",
    "predicted_latency_ms", "predicted_memory_bytes", "predicted_energy_j", "uncounted_ops", "nodes",
}
NODE_KEYS = {"name", "op_type", "macs", "params", "bytes", "intensity", "predicted_ms", "bound"}


def toy_profile(**changes) -> object:
    data = load_profile("rpi4").to_dict()
    data.update(name="toy", description="round numbers")
    data["cores"]["value"] = 4
    data["peak_gflops"]["fp32"]["value"] = 1.0  # 1 GFLOP/s: 1 op per ns
    data["memory_bandwidth_gbs"]["value"] = 1.0  # 1 byte per ns
    data["dispatch_overhead_us"]["value"] = 10.0
    data["active_power_w"]["value"] = 5.0
    data["runtime_overhead_mb"]["onnx"]["value"] = 1.0
    data["efficiency"] = {"default": 1.0, "conv": 0.5}
    data.update(changes)
    return profile_from_dict(data, "toy")


@pytest.fixture
def conv_relu(tmp_path):
    # conv: 8·16·16·27 MACs on (1,3,16,16) → (1,8,16,16); then a Relu over 2048 elements.
    model = onnx_model([
        helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"]),
    ], {"x": [1, 3, 16, 16]}, ["y"], [weight("W", [8, 3, 3, 3])])
    return save(model, tmp_path)


def test_roofline_per_node_by_hand(conv_relu):
    p = predict_model(conv_relu, toy_profile())
    (conv, conv_t), (relu, relu_t) = list(p.per_node())
    conv_ops = 2 * 8 * 256 * 27
    conv_bytes = (3 * 256 + 216 + 8 * 256) * 4
    assert conv_t.compute_ms == pytest.approx(conv_ops / (1e9 * 0.5) * 1e3)
    assert conv_t.memory_ms == pytest.approx(conv_bytes / 1e9 * 1e3)
    assert conv_t.bound == "compute"
    assert conv_t.predicted_ms == pytest.approx(conv_t.compute_ms + 0.010)
    # Relu: 2048 ops at full rate vs 16 KiB of traffic: memory-bound
    assert relu_t.bound == "memory"
    assert relu_t.predicted_ms == pytest.approx(2 * 2048 * 4 / 1e9 * 1e3 + 0.010)
    assert p.predicted_latency_ms == pytest.approx(conv_t.predicted_ms + relu_t.predicted_ms)


def test_threads_scale_compute_not_bandwidth(conv_relu):
    all_cores = predict_model(conv_relu, toy_profile())
    one = predict_model(conv_relu, toy_profile(), threads=1)
    assert one.threads == 1 and all_cores.threads == 4
    assert one.node_times[0].compute_ms == pytest.approx(4 * all_cores.node_times[0].compute_ms)
    assert one.node_times[1].memory_ms == pytest.approx(all_cores.node_times[1].memory_ms)
    assert predict_model(conv_relu, toy_profile(), threads=64).threads == 4  # capped at the cores


def test_memory_and_energy(conv_relu):
    p = predict_model(conv_relu, toy_profile())
    weights = 216 * 4
    # conv step: x + c = (768 + 2048)·4; relu step: c + y = 2·2048·4, the larger
    assert p.model.weight_bytes == weights
    assert p.model.peak_activation_bytes == 2 * 2048 * 4
    assert p.model.peak_activation_node == "Relu_1"
    assert p.predicted_memory_bytes == weights + p.model.peak_activation_bytes + 1024 * 1024
    assert p.predicted_energy_j == pytest.approx(p.predicted_latency_ms / 1e3 * 5.0)


def test_int8_nodes_use_the_int8_peak(tmp_path):
    from onnx import TensorProto

    model = onnx_model([helper.make_node("MatMulInteger", ["a", "M"], ["y"])], {"a": [64, 64]}, ["y"],
                       [weight("M", [64, 64], "int8")], input_types={"a": TensorProto.UINT8})
    path = save(model, tmp_path)
    prof = toy_profile()
    data = prof.to_dict()
    data["peak_gflops"]["int8"]["value"] = 4.0
    fast = predict_model(path, profile_from_dict(data))
    slow = predict_model(path, prof)
    assert fast.node_times[0].compute_ms == pytest.approx(slow.node_times[0].compute_ms * prof.peak("int8") / 4.0)


def test_json_keys(conv_relu):
    doc = predict_model(conv_relu, "rpi4").to_dict()
    assert MODEL_KEYS <= set(doc)
    assert doc["flops"] == 2 * doc["macs"] == 2 * 8 * 256 * 27
    assert doc["uncounted_ops"] == []
    assert len(doc["nodes"]) == 2 and NODE_KEYS <= set(doc["nodes"][0])
    assert doc["nodes"][0]["bound"] in ("compute", "memory")
    json.dumps(doc)  # plain JSON all the way down
    summary = predict_model(conv_relu, "rpi4").to_dict(include_nodes=False)
    assert "nodes" not in summary and MODEL_KEYS - {"nodes"} <= set(summary)


def test_uncounted_node_is_flagged_in_prediction(tmp_path):
    model = onnx_model([helper.make_node("FancyOp", ["x"], ["y"], domain="my.ops", name="fancy")],
                       {"x": [1, 8]}, ["y"], extra_opsets={"my.ops": 1})
    p = predict_model(save(model, tmp_path), "rpi4")
    doc = p.to_dict()
    assert doc["uncounted_ops"][0]["name"] == "fancy" and doc["uncounted_ops"][0]["op_type"] == "FancyOp"
    assert doc["nodes"][0]["macs"] is None and doc["nodes"][0]["counted"] is False
    assert any("could not be counted" in w and "fancy" in w for w in p.warnings)
