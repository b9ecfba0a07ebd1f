"""A .tflite model split into its distinct kernels: each configuration once with its count, each as a one-op
model that LiteRT runs with the original constants and the original op's output shape; what cannot run
alone comes back with a reason."""
from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from edgebench.controller import zoo
from edgebench.controller.calibration.suite.spec import KernelSpec
from edgebench.controller.calibration.suite.tflite_kernels import tflite_kernel
from edgebench.controller.costmodel.tflite_extract import unique_kernels
from edgebench.controller.costmodel.tflite_reader import read_tflite
from edgebench.controller.errors import ControllerError
from edgebench.controller.zoo.tflite_writer import QParams, TfliteWriter

TFLITE_ZOO = [e.name for e in zoo.list_models() if e.format == "tflite"]
WITHOUT_XNNPACK = {"experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}


def _interpreter(data: bytes, xnnpack: bool = True) -> Interpreter:
    interp = Interpreter(model_content=data, **({} if xnnpack else WITHOUT_XNNPACK))
    interp.allocate_tensors()
    return interp


def _run_once(data: bytes, xnnpack: bool) -> list[tuple[int, ...]]:
    interp = _interpreter(data, xnnpack)
    rng = np.random.default_rng(0)
    for d in interp.get_input_details():
        if d["dtype"] == np.int8:
            x = rng.integers(-128, 128, d["shape"]).astype(np.int8)
        else:
            x = rng.standard_normal(d["shape"]).astype(d["dtype"])
        interp.set_tensor(d["index"], x)
    interp.invoke()
    outs = [interp.get_tensor(d["index"]) for d in interp.get_output_details()]
    assert all(np.isfinite(o.astype(np.float64)).all() for o in outs)
    return [tuple(o.shape) for o in outs]


def _original_output_shapes(data: bytes) -> dict[int, list[tuple[int, ...]]]:
    """Each op's output shapes as the interpreter computes them in the whole model."""
    interp = _interpreter(data, xnnpack=False)
    shapes = {d["index"]: tuple(int(x) for x in d["shape"]) for d in interp.get_tensor_details()}
    graph = schema.ModelT.InitFromPackedBuf(data, 0).subgraphs[0]
    return {i: [shapes[int(o)] for o in op.outputs] for i, op in enumerate(graph.operators)}


def _constants(data: bytes, op_index: int) -> list[tuple[bytes, tuple | None]]:
    """The constant inputs of one op: their bytes and quantization scales."""
    model = schema.ModelT.InitFromPackedBuf(data, 0)
    graph = model.subgraphs[0]
    out = []
    for i in graph.operators[op_index].inputs:
        if i < 0:
            continue
        t = graph.tensors[i]
        raw = model.buffers[t.buffer].data
        if raw is not None:
            scales = tuple(t.quantization.scale) if t.quantization and t.quantization.scale is not None else None
            out.append((bytes(raw), scales))
    return out


def _check_kernels_run_alone(data: bytes, kernels) -> None:
    original = _original_output_shapes(data)
    for k in kernels:
        assert k.model is not None, k.reason
        for xnnpack in (True, False):
            assert _run_once(k.model, xnnpack) == original[k.op_indices[0]], k.label
        # the one-op model holds the first occurrence's own constants (weights, bias, quantization)
        assert _constants(k.model, len(schema.ModelT.InitFromPackedBuf(k.model, 0).subgraphs[0].operators) - 1) \
            == _constants(data, k.op_indices[0])


@pytest.mark.parametrize("name", TFLITE_ZOO)
def test_zoo_model_splits_into_its_distinct_kernels(name):
    path = zoo.resolve(f"zoo:{name}")
    data = path.read_bytes()
    kernels = unique_kernels(path)
    n_ops = len(schema.ModelT.InitFromPackedBuf(data, 0).subgraphs[0].operators)
    assert sorted(i for k in kernels for i in k.op_indices) == list(range(n_ops))
    assert all(k.count == len(k.op_indices) for k in kernels)
    # Counted independently through the cost model's reader: op, options, and every tensor's shape / dtype.
    graph = read_tflite(path)
    keys = {(n.op_type, tuple(sorted((a, repr(v)) for a, v in n.attrs.items())),
             tuple((graph.tensors[t].shape, graph.tensors[t].dtype, graph.tensors[t].is_weight) if t else None
                   for t in n.inputs),
             tuple((graph.tensors[t].shape, graph.tensors[t].dtype) for t in n.outputs)) for n in graph.nodes}
    assert len(kernels) == len(keys)
    if name == "mobilenet_v2_tflite":  # its inverted-residual blocks repeat
        assert len(kernels) < n_ops and max(k.count for k in kernels) > 1
    _check_kernels_run_alone(data, kernels)


def _repeated_blocks(int8: bool) -> bytes:
    """Three identical blocks (3x3 conv + relu, depthwise 3x3, residual add) with different weights and,
    in int8, different quantization, then a 1x1 conv head."""
    w = TfliteWriter()
    s = w.schema
    rng = np.random.default_rng(1)
    kind = "INT8" if int8 else "FLOAT32"

    def act(name, shape, scale):
        return w.tensor(name, shape, kind, quant=w.int8_quant(QParams(scale, -3)) if int8 else None)

    def weights(name, shape, axis, in_scale):
        data = rng.standard_normal(shape).astype(np.float32) * 0.2
        if not int8:
            return w.const(name + ".w", data), w.const(name + ".b", rng.standard_normal(shape[axis]).astype(np.float32))
        scales = np.abs(np.moveaxis(data, axis, 0).reshape(shape[axis], -1)).max(axis=1) / 127
        q = np.clip(np.round(data / scales.reshape([-1 if a == axis else 1 for a in range(4)])), -127, 127)
        wt = w.const(name + ".w", q.astype(np.int8), w.quant(scales, [0] * len(scales), axis))
        b = w.const(name + ".b", np.zeros(shape[axis], np.int32), w.quant(in_scale * scales, [0] * len(scales)))
        return wt, b

    def conv(x, name, kernel, scale, in_scale, depthwise=False, relu=False):
        if depthwise:
            wt, b = weights(name, [1, kernel, kernel, 8], 3, in_scale)
            opts = s.DepthwiseConv2DOptionsT()
            opts.depthMultiplier = 1
        else:
            wt, b = weights(name, [8 if name != "head" else 4, kernel, kernel, 8], 0, in_scale)
        opts = opts if depthwise else s.Conv2DOptionsT()
        opts.padding, opts.strideH, opts.strideW = s.Padding.SAME, 1, 1
        opts.fusedActivationFunction = 1 if relu else 0
        y = act(name, [1, 8, 8, 4 if name == "head" else 8], scale)
        w.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, wt, b], [y], opts,
             "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions")
        return y

    x = first = act("input", [1, 8, 8, 8], 0.05)
    scale = 0.05
    for block in range(3):
        a = conv(x, f"conv{block}", 3, 0.04 + 0.01 * block, scale, relu=True)
        b = conv(a, f"dw{block}", 3, 0.07 + 0.01 * block, 0.04 + 0.01 * block, depthwise=True)
        y = act(f"add{block}", [1, 8, 8, 8], 0.1 + 0.01 * block)
        w.op("ADD", [x, b], [y], s.AddOptionsT(), "AddOptions")
        x, scale = y, 0.1 + 0.01 * block
    head = conv(x, "head", 1, 0.2, scale)
    return w.finish([first], [head], "repeated", "three identical blocks")


@pytest.mark.parametrize("int8", [False, True], ids=["fp32", "int8"])
def test_repeated_blocks_count_once(int8, tmp_path):
    path = tmp_path / "repeated.tflite"
    path.write_bytes(_repeated_blocks(int8))
    kernels = unique_kernels(path)
    assert [(k.op, k.op_indices) for k in kernels] == [
        ("CONV_2D", (0, 3, 6)), ("DEPTHWISE_CONV_2D", (1, 4, 7)), ("ADD", (2, 5, 8)), ("CONV_2D", (9,))]
    assert [k.count for k in kernels] == [3, 3, 3, 1]
    conv = kernels[0]
    assert conv.label.startswith(f"CONV_2D v{3 if int8 else 1} 1x8x8x8 -> 1x8x8x8 k3x3 s1 SAME relu")
    assert conv.inputs[1].role == "constant" and conv.inputs[1].shape == (8, 3, 3, 8)
    if int8:
        assert conv.inputs[1].quant == "per-channel(axis=0) symmetric" and conv.inputs[0].quant == "per-tensor"
    _check_kernels_run_alone(path.read_bytes(), kernels)


def test_custom_op_comes_back_with_a_reason(tmp_path):
    w = TfliteWriter()
    x = w.tensor("x", [1, 4], "FLOAT32")
    mystery = w.tensor("mystery", [1, 4], "FLOAT32")
    y = w.tensor("y", [1, 4], "FLOAT32")
    w.custom_op("EdgebenchMystery", [x], [mystery], custom_options=b"\x01\x02")
    w.op("RELU", [mystery], [y])
    path = tmp_path / "custom.tflite"
    path.write_bytes(w.finish([x], [y], "custom", "a custom op LiteRT does not have"))
    custom, relu = unique_kernels(path)
    assert custom.op == "EdgebenchMystery" and custom.model is None and custom.op_indices == (0,)
    assert "custom op 'EdgebenchMystery'" in custom.reason
    # The rest of the model still splits: LiteRT cannot prepare the whole model, so the stored shapes serve.
    assert relu.op == "RELU" and relu.reason is None
    assert _run_once(relu.model, True) == [(1, 4)]


def test_integer_input_computed_at_run_time_comes_back_with_a_reason(tmp_path):
    w = TfliteWriter()
    s = w.schema
    x = w.tensor("x", [2, 6], "FLOAT32")
    shape = w.tensor("shape", [2], "INT32")
    y = w.tensor("y", [2, 6], "FLOAT32")
    opts = s.ShapeOptionsT()
    opts.outType = s.TensorType.INT32
    w.op("SHAPE", [x], [shape], opts, "ShapeOptions", version=1)
    w.op("RESHAPE", [x, shape], [y], s.ReshapeOptionsT(), "ReshapeOptions")
    path = tmp_path / "dynamic_reshape.tflite"
    path.write_bytes(w.finish([x], [y], "dynamic", "a reshape to a shape computed at run time"))
    shape_op, reshape = unique_kernels(path)
    assert shape_op.op == "SHAPE" and _run_once(shape_op.model, False) == [(2,)]
    assert reshape.model is None and "computed at run time by SHAPE (op 0)" in reshape.reason


def test_fp16_weights_come_along_with_their_dequantize(tmp_path):
    path = tmp_path / "fp16.tflite"
    data = tflite_kernel(KernelSpec.make("conv", "fp16", h=6, w=6, cin=4, cout=8, k=3, stride=1, groups=1,
                                         act="relu"))
    path.write_bytes(data)
    kernels = unique_kernels(path)
    dequantize = [k for k in kernels if k.op == "DEQUANTIZE"]
    (conv,) = [k for k in kernels if k.op == "CONV_2D"]
    assert len(dequantize) == 2 and all(k.model is None and "once when it prepares" in k.reason for k in dequantize)
    assert conv.inputs[1].role == "computed constant" and conv.inputs[1].dtype == "float32"
    model = schema.ModelT.InitFromPackedBuf(conv.model, 0)
    codes = [model.operatorCodes[op.opcodeIndex].builtinCode for op in model.subgraphs[0].operators]
    assert codes.count(schema.BuiltinOperator.DEQUANTIZE) == 2 and codes[-1] == schema.BuiltinOperator.CONV_2D
    assert sum(t.type == schema.TensorType.FLOAT16 for t in model.subgraphs[0].tensors) == 2
    for xnnpack in (True, False):
        assert _run_once(conv.model, xnnpack) == [(1, 6, 6, 8)]


def test_not_a_tflite_file_is_a_clear_error(tmp_path):
    text = tmp_path / "notes.tflite"
    text.write_text("not a model")
    with pytest.raises(ControllerError, match=r"notes\.tflite: not a TFLite flatbuffer"):
        unique_kernels(text)
    with pytest.raises(ControllerError, match="cannot read TFLite model"):
        unique_kernels(tmp_path / "missing.tflite")


def test_damaged_model_is_a_clear_error(tmp_path):
    w = TfliteWriter()
    x = w.tensor("x", [1, 4], "FLOAT32")
    y = w.tensor("y", [1, 4], "FLOAT32")
    w.op("RELU", [x, 99], [y], version=1)  # an input index past the model's tensors
    path = tmp_path / "damaged.tflite"
    path.write_bytes(w.finish([x], [y], "damaged", "an op reading a tensor that does not exist"))
    with pytest.raises(ControllerError, match=r"damaged\.tflite: damaged TFLite model"):
        unique_kernels(path)
