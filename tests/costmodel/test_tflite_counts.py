"""TFLite graphs built with the schema object API, counted against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as s
from costmodel_builders import TfliteBuilder, conv_options, depthwise_options, node_of, pool_options

from edgebench.controller.costmodel import CostModelError, analyze_model

RELU6 = s.ActivationFunctionType.RELU6


def f32(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_conv_same_stride2_with_fused_relu6(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    w = b.const("w", f32(4, 3, 3, 3))
    bias = b.const("bias", f32(4))
    y = b.tensor("y", [1, 4, 4, 4])
    b.op("CONV_2D", [x, w, bias], [y], conv_options("SAME", 2, RELU6))
    cost = analyze_model(b.save(tmp_path, [x], [y]))
    n = node_of(cost, "CONV_2D")
    assert n.macs == 4 * 4 * 4 * 27
    assert n.elementwise_ops == 2 * 64  # the fused RELU6: min and max per output
    assert n.params == 4 * 27 + 4
    assert n.memory_access_bytes == (8 * 8 * 3 + 108 + 4 + 64) * 4
    assert n.kind == "conv" and n.variant == "stem" and cost.format == "tflite"


def test_depthwise_valid(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    w = b.const("w", f32(1, 3, 3, 4))
    bias = b.const("bias", f32(4))
    y = b.tensor("y", [1, 6, 6, 4])
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], depthwise_options("VALID"))
    n = node_of(analyze_model(b.save(tmp_path, [x], [y])), "DEPTHWISE_CONV_2D")
    assert n.macs == 6 * 6 * 4 * 9
    assert n.kind == "depthwise_conv"


def test_fully_connected_batch_matmul_pool_mean(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    pooled = b.tensor("pooled", [1, 4, 4, 4])
    b.op("MAX_POOL_2D", [x], [pooled], pool_options(2, 2))
    axes = b.const("axes", np.array([1, 2], np.int32))
    mean = b.tensor("mean", [1, 4])
    mo = s.ReducerOptionsT()
    b.op("MEAN", [pooled, axes], [mean], ("ReducerOptions", mo))
    w = b.const("fc_w", f32(10, 4))
    fc_b = b.const("fc_b", f32(10))
    fc = b.tensor("fc", [1, 10])
    b.op("FULLY_CONNECTED", [mean, w, fc_b], [fc], ("FullyConnectedOptions", s.FullyConnectedOptionsT()))
    a = b.tensor("a", [2, 3, 4])
    m = b.const("m", f32(2, 4, 5))
    mm = b.tensor("mm", [2, 3, 5])
    b.op("BATCH_MATMUL", [a, m], [mm], ("BatchMatMulOptions", s.BatchMatMulOptionsT()))
    cost = analyze_model(b.save(tmp_path, [x, a], [fc, mm]))
    assert node_of(cost, "MAX_POOL_2D").elementwise_ops == 64 * 4
    assert node_of(cost, "MEAN").elementwise_ops == 64 + 4
    assert node_of(cost, "MEAN").params == 0  # int32 axes are not parameters
    assert node_of(cost, "FULLY_CONNECTED").macs == 10 * 4
    assert node_of(cost, "FULLY_CONNECTED").params == 50
    assert node_of(cost, "BATCH_MATMUL").macs == 2 * 3 * 5 * 4


def test_int8_conv_counts_as_integer_ops(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 6, 6, 2], "int8", quant=(0.1, 0))
    w = b.const("w", np.ones((3, 3, 3, 2), np.int8), quant=(0.05, 0))
    bias = b.const("bias", np.zeros(3, np.int32), quant=(0.005, 0))
    y = b.tensor("y", [1, 6, 6, 3], "int8", quant=(0.2, 0))
    b.op("CONV_2D", [x, w, bias], [y], conv_options("SAME"))
    deq = b.tensor("deq", [1, 6, 6, 3])
    b.op("DEQUANTIZE", [y], [deq])
    n = analyze_model(b.save(tmp_path, [x], [deq]))
    conv = node_of(n, "CONV_2D")
    assert conv.compute_dtype == "int8"
    assert conv.macs == 36 * 3 * 18
    assert conv.params == 54 + 3  # int8 weights and the int32 bias
    assert conv.weight_bytes == 54 + 3 * 4
    assert node_of(n, "DEQUANTIZE").elementwise_ops == 2 * 108
    assert not node_of(n, "DEQUANTIZE").folded  # dequantizes an activation: runs every time


def test_fp16_weights_dequantize_is_folded(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 4])
    w16 = b.const("w16", f32(3, 4).astype(np.float16), "float16")
    w = b.tensor("w", [3, 4])
    b.op("DEQUANTIZE", [w16], [w])
    y = b.tensor("y", [1, 3])
    b.op("FULLY_CONNECTED", [x, w, -1], [y], ("FullyConnectedOptions", s.FullyConnectedOptionsT()))
    cost = analyze_model(b.save(tmp_path, [x], [y]))
    assert node_of(cost, "DEQUANTIZE").folded  # TFLite dequantizes constant weights once, in Prepare
    assert node_of(cost, "FULLY_CONNECTED").macs == 12
    assert cost.params == 12
    assert cost.weight_bytes == 12 * 2


def test_op_code_above_127_resolves_through_builtin_code(tmp_path):
    assert s.BuiltinOperator.GELU > 127
    b = TfliteBuilder()
    x = b.tensor("x", [2, 5])
    y = b.tensor("y", [2, 5])
    b.op("GELU", [x], [y], ("GeluOptions", s.GeluOptionsT()))
    cost = analyze_model(b.save(tmp_path, [x], [y]))
    assert [n.op_type for n in cost.nodes] == ["GELU"]
    assert cost.elementwise_ops == 5 * 10


def test_custom_op_is_listed_uncounted(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 4])
    y = b.tensor("y", [1, 4])
    b.op("CUSTOM", [x], [y], custom="MyFancyOp")
    cost = analyze_model(b.save(tmp_path, [x], [y]))
    assert [(n.op_type, n.macs) for n in cost.uncounted] == [("MyFancyOp", None)]
    assert "MyFancyOp" in cost.uncounted[0].reason
    # the interpreter cannot prepare an unknown custom op, so the stored shapes are used, and it says so
    assert any("stored in the file" in w for w in cost.warnings)


def test_stale_stored_shapes_are_corrected_by_the_interpreter(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    w = b.const("w", f32(4, 3, 3, 3))
    bias = b.const("bias", f32(4))
    y = b.tensor("y", [1, 6, 6, 4])  # a VALID-sized shape stored for a SAME conv
    b.op("CONV_2D", [x, w, bias], [y], conv_options("SAME"))
    cost = analyze_model(b.save(tmp_path, [x], [y]))
    assert node_of(cost, "CONV_2D").output_shapes == [(1, 8, 8, 4)]
    assert node_of(cost, "CONV_2D").macs == 64 * 4 * 27
    assert any("'y' stored 1x6x6x4, runs as 1x8x8x4" in w for w in cost.warnings)


def test_input_shape_override_propagates(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    w = b.const("w", f32(4, 3, 3, 3))
    bias = b.const("bias", f32(4))
    y = b.tensor("y", [1, 8, 8, 4])
    b.op("CONV_2D", [x, w, bias], [y], conv_options("SAME"))
    path = b.save(tmp_path, [x], [y])
    assert node_of(analyze_model(path, {"x": [2, 16, 16, 3]}), "CONV_2D").macs == 2 * 256 * 4 * 27
    with pytest.raises(CostModelError, match="model's inputs are: 'x'"):
        analyze_model(path, {"images": [1, 8, 8, 3]})


def test_unsupported_schema_version(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 4])
    y = b.tensor("y", [1, 4])
    b.op("RELU", [x], [y])
    with pytest.raises(CostModelError, match="schema version 2 is not supported"):
        analyze_model(b.save(tmp_path, [x], [y], version=2))


def test_not_a_flatbuffer(tmp_path):
    path = tmp_path / "junk.tflite"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(CostModelError, match="no TFLite file identifier"):
        analyze_model(path)
