"""Per-op counts of ONNX nodes against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest
from costmodel_builders import analyze_onnx, node_of, onnx_model, weight
from onnx import TensorProto, helper

from edgebench.controller.costmodel.op_common import conv_output_spatial

F32 = 4  # bytes per float32


def conv(tmp_path, x_shape, w_shape, bias=True, **attrs):
    inits = [weight("W", w_shape)] + ([weight("B", [w_shape[0]])] if bias else [])
    ins = ["x", "W"] + (["B"] if bias else [])
    model = onnx_model([helper.make_node("Conv", ins, ["y"], **attrs)], {"x": x_shape}, ["y"], inits)
    return node_of(analyze_onnx(tmp_path, model), "Conv")


def test_conv_with_stride_and_pads(tmp_path):
    n = conv(tmp_path, [1, 3, 32, 32], [16, 3, 3, 3], pads=[1, 1, 1, 1], strides=[2, 2])
    assert n.output_shapes == [(1, 16, 16, 16)]
    assert n.macs == 16 * 16 * 16 * 3 * 3 * 3  # every output element: C_in·k·k MACs
    assert n.flops == 2 * n.macs
    assert n.params == 16 * 27 + 16
    assert n.weight_bytes == (16 * 27 + 16) * F32
    assert n.memory_access_bytes == (3 * 32 * 32 + 16 * 27 + 16 + 16 * 16 * 16) * F32
    assert n.kind == "conv" and n.compute_dtype == "fp32"
    assert n.variant == "stem"  # 3 input channels: the first conv of an image model


def test_pointwise_conv_bytes_are_the_shufflenet_v2_mac(tmp_path):
    h = w = 10
    c1, c2 = 8, 16
    n = conv(tmp_path, [1, c1, h, w], [c2, c1, 1, 1], bias=False)
    assert n.memory_access_bytes == (h * w * (c1 + c2) + c1 * c2) * F32
    assert n.macs == h * w * c1 * c2
    assert n.kind == "conv" and n.variant == "pointwise"
    assert n.intensity == pytest.approx(2 * h * w * c1 * c2 / ((h * w * (c1 + c2) + c1 * c2) * F32))


def test_depthwise_conv(tmp_path):
    n = conv(tmp_path, [1, 32, 16, 16], [32, 1, 3, 3], group=32, pads=[1, 1, 1, 1])
    assert n.macs == 32 * 16 * 16 * 9
    assert n.kind == "depthwise_conv"


def test_grouped_conv_is_not_depthwise(tmp_path):
    n = conv(tmp_path, [1, 16, 8, 8], [32, 4, 3, 3], group=4, pads=[1, 1, 1, 1])
    assert n.macs == 32 * 8 * 8 * 4 * 9
    assert n.kind == "conv" and n.variant == "grouped"


def test_dense_spatial_conv_variant(tmp_path):
    n = conv(tmp_path, [1, 16, 8, 8], [16, 16, 3, 3], pads=[1, 1, 1, 1])
    assert (n.kind, n.variant) == ("conv", "spatial")


def test_dilated_conv(tmp_path):
    n = conv(tmp_path, [1, 1, 10, 10], [1, 1, 3, 3], bias=False, dilations=[2, 2])
    assert n.output_shapes == [(1, 1, 6, 6)]  # effective kernel 5: 10 - 5 + 1
    assert n.macs == 36 * 9


def test_auto_pad_same_upper_with_stride(tmp_path):
    n = conv(tmp_path, [1, 2, 7, 7], [4, 2, 3, 3], auto_pad="SAME_UPPER", strides=[2, 2])
    assert n.output_shapes == [(1, 4, 4, 4)]  # ceil(7 / 2)
    assert n.macs == 4 * 16 * 2 * 9


def test_asymmetric_pads(tmp_path):
    n = conv(tmp_path, [1, 1, 5, 5], [2, 1, 3, 3], bias=False, pads=[0, 1, 2, 3])
    # H: 5 + 0 + 2 - 3 + 1 = 5, W: 5 + 1 + 3 - 3 + 1 = 7
    assert n.output_shapes == [(1, 2, 5, 7)]
    assert n.macs == 2 * 5 * 7 * 9


def test_conv_output_geometry_without_shape_inference():
    assert conv_output_spatial([10], [3], [2], [1], [1, 1]) == (5,)
    assert conv_output_spatial([10], [3], [2], [1], [0, 0], ceil_mode=True) == (5,)
    assert conv_output_spatial([10], [3], [2], [1], [0, 0]) == (4,)
    assert conv_output_spatial([7, 7], [3, 3], [2, 2], [1, 1], None, "SAME_UPPER") == (4, 4)
    assert conv_output_spatial([10], [3], [1], [2], None, "VALID") == (6,)


def test_conv_transpose(tmp_path):
    model = onnx_model([helper.make_node("ConvTranspose", ["x", "W"], ["y"], strides=[2, 2])],
                       {"x": [1, 8, 4, 4]}, ["y"], [weight("W", [8, 3, 3, 3])])
    n = node_of(analyze_onnx(tmp_path, model), "ConvTranspose")
    assert n.output_shapes == [(1, 3, 9, 9)]
    assert n.macs == 8 * 4 * 4 * 3 * 9  # each input element scatters into C_out·k·k outputs
    assert n.kind == "conv_transpose"


def test_gemm_with_transposed_weights(tmp_path):
    model = onnx_model([helper.make_node("Gemm", ["x", "W", "B"], ["y"], transB=1)],
                       {"x": [2, 64]}, ["y"], [weight("W", [10, 64]), weight("B", [10])])
    n = node_of(analyze_onnx(tmp_path, model), "Gemm")
    assert n.macs == 2 * 10 * 64
    assert n.params == 640 + 10
    assert n.kind == "matmul"


def test_batched_broadcast_matmul(tmp_path):
    model = onnx_model([helper.make_node("MatMul", ["a", "W"], ["y"])],
                       {"a": [2, 3, 4, 5]}, ["y"], [weight("W", [5, 6])])
    n = node_of(analyze_onnx(tmp_path, model), "MatMul")
    assert n.output_shapes == [(2, 3, 4, 6)]
    assert n.macs == 2 * 3 * 4 * 6 * 5
    assert n.params == 30


def test_matmul_of_two_activations_has_no_params(tmp_path):
    model = onnx_model([helper.make_node("MatMul", ["a", "b"], ["y"])],
                       {"a": [8, 4, 16], "b": [8, 16, 4]}, ["y"])
    n = node_of(analyze_onnx(tmp_path, model), "MatMul")
    assert n.macs == 8 * 4 * 4 * 16
    assert n.params == 0


def test_vector_matmul(tmp_path):
    model = onnx_model([helper.make_node("MatMul", ["a", "W"], ["y"])], {"a": [5]}, ["y"], [weight("W", [5, 6])])
    assert node_of(analyze_onnx(tmp_path, model), "MatMul").macs == 30


def test_einsum_contraction(tmp_path):
    model = onnx_model([helper.make_node("Einsum", ["a", "b"], ["y"], equation="bij,bjk->bik")],
                       {"a": [2, 3, 4], "b": [2, 4, 5]}, ["y"])
    assert node_of(analyze_onnx(tmp_path, model), "Einsum").macs == 2 * 3 * 5 * 4


def test_pools(tmp_path):
    model = onnx_model([
        helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["m"], ["a"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["a"], ["g"]),
    ], {"x": [1, 4, 8, 8]}, ["g"])
    cost = analyze_onnx(tmp_path, model)
    assert node_of(cost, "MaxPool").elementwise_ops == 4 * 4 * 4 * 9
    assert node_of(cost, "AveragePool").elementwise_ops == 4 * 2 * 2 * 4
    assert node_of(cost, "GlobalAveragePool").elementwise_ops == 4 * 2 * 2 + 4  # sums plus one divide per channel
    assert all(n.macs == 0 and n.kind == "pool" for n in cost.nodes)


def test_unfolded_batchnorm(tmp_path):
    inits = [weight(n, [4], seed=i) for i, n in enumerate(["scale", "bias", "mean"])]
    inits.append(helper.make_tensor("var", TensorProto.FLOAT, [4], [1.0] * 4))
    model = onnx_model([helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"])],
                       {"x": [1, 4, 5, 5]}, ["y"], inits)
    n = node_of(analyze_onnx(tmp_path, model), "BatchNormalization")
    assert n.macs == 0
    assert n.elementwise_ops == 2 * 100  # scale and shift per element
    assert n.params == 8  # gamma and beta; running mean/var are buffers
    assert n.weight_bytes == 16 * F32  # but all four are read


@pytest.mark.parametrize("op,per_element", [
    ("Relu", 1), ("Sigmoid", 4), ("Tanh", 1), ("Erf", 1), ("HardSigmoid", 4), ("HardSwish", 5),
    ("Softplus", 3), ("Exp", 1), ("Gelu", 5),
])
def test_activation_ops_per_element(tmp_path, op, per_element):
    opset = 20 if op == "Gelu" else 17
    model = onnx_model([helper.make_node(op, ["x"], ["y"])], {"x": [2, 3, 5]}, ["y"], opset=opset)
    n = node_of(analyze_onnx(tmp_path, model), op)
    assert (n.macs, n.elementwise_ops) == (0, per_element * 30)
    assert n.memory_access_bytes == 2 * 30 * F32


def test_clip_and_broadcast_add(tmp_path):
    inits = [helper.make_tensor("lo", TensorProto.FLOAT, [], [0.0]), helper.make_tensor("hi", TensorProto.FLOAT, [], [6.0]),
             weight("bias", [3, 1])]
    model = onnx_model([
        helper.make_node("Clip", ["x", "lo", "hi"], ["c"]),
        helper.make_node("Add", ["c", "bias"], ["y"]),
    ], {"x": [2, 3, 5]}, ["y"], inits)
    cost = analyze_onnx(tmp_path, model)
    clip, add = node_of(cost, "Clip"), node_of(cost, "Add")
    assert clip.elementwise_ops == 2 * 30 and clip.params == 0  # scalar bounds are not parameters
    assert add.elementwise_ops == 30 and add.params == 3  # a constant tensor operand is (a bias)


def test_softmax_layernorm_reducemean(tmp_path):
    model = onnx_model([
        helper.make_node("Softmax", ["x"], ["s"], axis=-1),
        helper.make_node("LayerNormalization", ["s", "g", "b"], ["l"], axis=-1),
        helper.make_node("ReduceMean", ["l"], ["r"], axes=[2], keepdims=1),
    ], {"x": [1, 6, 8]}, ["r"], [weight("g", [8]), weight("b", [8])])
    cost = analyze_onnx(tmp_path, model)
    assert node_of(cost, "Softmax").elementwise_ops == 5 * 48
    assert node_of(cost, "LayerNormalization").elementwise_ops == 7 * 48
    assert node_of(cost, "LayerNormalization").params == 16
    assert node_of(cost, "ReduceMean").elementwise_ops == 48 + 6  # add every input, divide every output


@pytest.mark.parametrize("mode,per_element", [("linear", 7), ("nearest", 0), ("cubic", 31)])
def test_resize(tmp_path, mode, per_element):
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])
    model = onnx_model([helper.make_node("Resize", ["x", "", "scales"], ["y"], mode=mode)],
                       {"x": [1, 3, 8, 8]}, ["y"], [scales])
    n = node_of(analyze_onnx(tmp_path, model), "Resize")
    assert n.output_shapes == [(1, 3, 16, 16)]
    assert n.elementwise_ops == per_element * 3 * 16 * 16
    assert n.memory_access_bytes == (3 * 64 + 4 + 3 * 256) * F32


def test_data_movement_costs_bytes_not_arithmetic(tmp_path):
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [1, -1])
    model = onnx_model([
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
        helper.make_node("Concat", ["t", "t"], ["c"], axis=3),
        helper.make_node("Reshape", ["c", "shape"], ["y"]),
    ], {"x": [1, 2, 3, 4]}, ["y"], [shape])
    cost = analyze_onnx(tmp_path, model)
    for n in cost.nodes:
        assert (n.macs, n.elementwise_ops, n.kind) == (0, 0, "data_movement")
    assert node_of(cost, "Transpose").memory_access_bytes == 2 * 24 * F32
    assert node_of(cost, "Concat").memory_access_bytes == (24 + 48) * F32  # the repeated input is read once
    assert node_of(cost, "Reshape").memory_access_bytes == 2 * 48 * F32 + 2 * 8
    assert node_of(cost, "Reshape").params == 0  # an int64 shape is not a parameter


def test_lstm(tmp_path):
    seq, batch, inp, hidden = 5, 2, 3, 4
    model = onnx_model([helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=hidden)],
                       {"x": [seq, batch, inp]}, ["y"], [weight("W", [1, 4 * hidden, inp]), weight("R", [1, 4 * hidden, hidden])])
    n = node_of(analyze_onnx(tmp_path, model), "LSTM")
    assert n.macs == seq * batch * 4 * hidden * (inp + hidden)
    assert n.kind == "recurrent"


def test_quantized_ops_count_as_integer_kernels(tmp_path):
    u8, i8 = TensorProto.UINT8, TensorProto.INT8
    f = lambda name, v: helper.make_tensor(name, TensorProto.FLOAT, [], [v])  # noqa: E731
    z = lambda name, t: helper.make_tensor(name, t, [], [0])  # noqa: E731
    inits = [f("xs", 0.1), z("xz", u8), weight("W", [4, 2, 3, 3], np.int8), f("ws", 0.05), z("wz", i8),
             f("ys", 0.2), z("yz", u8), weight("B", [4], np.int32)]
    model = onnx_model([
        helper.make_node("QLinearConv", ["x", "xs", "xz", "W", "ws", "wz", "ys", "yz", "B"], ["q"], pads=[1, 1, 1, 1]),
        helper.make_node("DequantizeLinear", ["q", "ys", "yz"], ["d"]),
        helper.make_node("QuantizeLinear", ["d", "ys", "yz"], ["y"]),
    ], {"x": [1, 2, 6, 6]}, ["y"], inits, input_types={"x": u8})
    cost = analyze_onnx(tmp_path, model)
    qconv = node_of(cost, "QLinearConv")
    assert qconv.macs == 4 * 36 * 2 * 9
    assert qconv.elementwise_ops == 2 * 4 * 36  # requantization
    assert qconv.compute_dtype == "int8"
    assert qconv.params == 72 + 4  # int8 weights and the int32 bias
    assert node_of(cost, "DequantizeLinear").elementwise_ops == 2 * 144
    assert node_of(cost, "QuantizeLinear").elementwise_ops == 3 * 144


def test_integer_matmul_and_conv(tmp_path):
    model = onnx_model([
        helper.make_node("ConvInteger", ["x", "W"], ["c"]),
        helper.make_node("MatMulInteger", ["a", "M"], ["m"]),
    ], {"x": [1, 2, 5, 5], "a": [3, 8]}, ["c", "m"], [weight("W", [4, 2, 3, 3], np.int8), weight("M", [8, 2], np.int8)],
        input_types={"x": TensorProto.UINT8, "a": TensorProto.UINT8})
    cost = analyze_onnx(tmp_path, model)
    assert node_of(cost, "ConvInteger").macs == 4 * 9 * 2 * 9
    assert node_of(cost, "MatMulInteger").macs == 3 * 2 * 8
    assert {n.compute_dtype for n in cost.nodes} == {"int8"}


def test_qdq_conv_runs_as_int8_and_weight_dequantize_is_folded(tmp_path):
    scale = helper.make_tensor("s", TensorProto.FLOAT, [], [0.1])
    zero = helper.make_tensor("z", TensorProto.INT8, [], [0])
    model = onnx_model([
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
        helper.make_node("DequantizeLinear", ["Wq", "s", "z"], ["Wd"]),
        helper.make_node("Conv", ["xd", "Wd"], ["y"]),
    ], {"x": [1, 2, 5, 5]}, ["y"], [scale, zero, weight("Wq", [3, 2, 3, 3], np.int8)])
    cost = analyze_onnx(tmp_path, model)
    conv_node = node_of(cost, "Conv")
    assert conv_node.compute_dtype == "int8"
    weight_dq = [n for n in cost.nodes if n.op_type == "DequantizeLinear" and n.input_shapes[0] == (3, 2, 3, 3)]
    assert weight_dq[0].folded
    assert cost.params == 3 * 2 * 9  # the stored int8 weights, counted once


def test_microsoft_attention_and_the_ops_after_it(tmp_path):
    batch, seq, hidden, heads = 1, 4, 8, 2
    model = onnx_model([
        helper.make_node("Attention", ["x", "W", "B"], ["a"], domain="com.microsoft", num_heads=heads),
        helper.make_node("MatMul", ["a", "W2"], ["y"]),
    ], {"x": [batch, seq, hidden]}, ["y"], [weight("W", [hidden, 3 * hidden]), weight("B", [3 * hidden]),
                                            weight("W2", [hidden, 5])], extra_opsets={"com.microsoft": 1})
    cost = analyze_onnx(tmp_path, model)
    n = node_of(cost, "Attention")
    projection = batch * seq * hidden * 3 * hidden
    scores_and_context = batch * seq * seq * (hidden + hidden)
    assert n.macs == projection + scores_and_context
    assert n.elementwise_ops == 5 * batch * heads * seq * seq
    assert n.params == hidden * 3 * hidden + 3 * hidden
    # onnx cannot infer a com.microsoft op's output; ours fills it and inference carries on downstream
    assert n.output_shapes == [(batch, seq, hidden)]
    assert node_of(cost, "MatMul").output_shapes == [(batch, seq, 5)]
    assert node_of(cost, "MatMul").macs == batch * seq * hidden * 5
    assert cost.warnings == []


def test_microsoft_multihead_attention(tmp_path):
    model = onnx_model([helper.make_node("MultiHeadAttention", ["q", "k", "v"], ["y"], domain="com.microsoft", num_heads=2)],
                       {"q": [1, 4, 8], "k": [1, 6, 8], "v": [1, 6, 8]}, ["y"], extra_opsets={"com.microsoft": 1})
    n = node_of(analyze_onnx(tmp_path, model), "MultiHeadAttention")
    assert n.macs == 1 * 4 * 6 * (8 + 8)


def test_unknown_op_is_listed_uncounted_never_zero(tmp_path):
    model = onnx_model([
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("FancyOp", ["r"], ["y"], domain="my.ops", name="fancy_1"),
    ], {"x": [1, 8]}, ["y"], extra_opsets={"my.ops": 1})
    cost = analyze_onnx(tmp_path, model)
    fancy = node_of(cost, "FancyOp")
    assert fancy.macs is None and fancy.elementwise_ops is None and not fancy.counted
    assert "FancyOp" in fancy.reason and "my.ops" in fancy.reason
    assert [n.name for n in cost.uncounted] == ["fancy_1"]
    assert cost.elementwise_ops == 8  # the Relu alone


def test_shape_subgraph_is_folded_and_constant_nodes_become_weights(tmp_path):
    # The pattern exporters write: Shape → Gather → Unsqueeze → Concat → Reshape.
    idx = helper.make_tensor("idx", TensorProto.INT64, [], [0])
    model = onnx_model([
        helper.make_node("Constant", [], ["minus_one"], value=helper.make_tensor("v", TensorProto.INT64, [1], [-1])),
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "idx"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus_one"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["y"]),
    ], {"x": [2, 3, 4]}, ["y"], [idx, helper.make_tensor("axes", TensorProto.INT64, [1], [0])])
    cost = analyze_onnx(tmp_path, model)
    assert "Constant" not in [n.op_type for n in cost.nodes]
    folded = {n.op_type for n in cost.nodes if n.folded}
    assert folded == {"Shape", "Gather", "Unsqueeze", "Concat"}
    assert not node_of(cost, "Reshape").folded
    assert node_of(cost, "Reshape").output_shapes == [(2, 12)]


def test_shape_arithmetic_that_inference_cannot_follow_is_evaluated(tmp_path):
    # axes = Range(rank - 1, rank, 1): onnx's data propagation stops at Range, onnxruntime folds it.
    one = helper.make_tensor("one", TensorProto.INT64, [], [1])
    model = onnx_model([
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Size", ["s"], ["rank"]),
        helper.make_node("Sub", ["rank", "one"], ["last"]),
        helper.make_node("Range", ["last", "rank", "one"], ["axes"]),
        helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=1),
    ], {"x": [2, 3, 8]}, ["y"], [one], opset=18)
    cost = analyze_onnx(tmp_path, model)
    reduce = node_of(cost, "ReduceMean")
    assert reduce.output_shapes == [(2, 3, 1)]
    assert reduce.elementwise_ops == 48 + 6
    assert node_of(cost, "Range").folded
    assert cost.uncounted == [] and cost.warnings == []


def test_fp16_stored_weights_cast_at_load_still_count_as_parameters(tmp_path):
    model = onnx_model([
        helper.make_node("Cast", ["W16"], ["W"], to=TensorProto.FLOAT),
        helper.make_node("Conv", ["x", "W"], ["y"]),
    ], {"x": [1, 2, 5, 5]}, ["y"], [weight("W16", [3, 2, 3, 3], np.float16)])
    cost = analyze_onnx(tmp_path, model)
    assert node_of(cost, "Cast").folded
    assert node_of(cost, "Conv").params == 54
    assert cost.params == 54  # once, at the consumer
    assert cost.weight_bytes == 54 * 2  # what the file stores
