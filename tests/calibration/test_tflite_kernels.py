"""The kernel suite's TFLite generator: every op x dtype it accepts loads and runs in LiteRT with and without
XNNPACK, has the shape the spec implies, computes what numpy computes (fp32), keeps int8 I/O (int8), and is
counted by the cost model's reader without shape warnings."""
from __future__ import annotations

import math

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from edgebench.controller.calibration.suite.spec import DTYPES, OPS, KernelSpec
from edgebench.controller.calibration.suite.tflite_kernels import (
    tflite_input_shapes,
    tflite_kernel,
    tflite_supported,
)
from edgebench.controller.costmodel import analyze_model

S = KernelSpec.make
ACTS = ("none", "relu", "relu6", "hardswish", "sigmoid")
UNARY = ("relu", "relu6", "sigmoid", "hardswish", "hardsigmoid", "silu", "gelu", "tanh", "leakyrelu", "exp")

# Tiny shapes: every variant the generator distinguishes, each model a few KiB.
SPECS = [
    *[S("conv", h=9, w=9, cin=8, cout=16, k=3, stride=2, groups=1, act=a) for a in ACTS],
    S("conv", h=8, w=8, cin=8, cout=16, k=1, stride=1, groups=1, act="relu"),  # pointwise
    S("conv", h=7, w=7, cin=8, cout=8, k=3, stride=1, groups=8, act="relu6"),  # depthwise
    S("conv", h=8, w=8, cin=8, cout=8, k=5, stride=2, groups=8, act="hardswish"),  # strided depthwise
    S("conv", h=8, w=8, cin=8, cout=16, k=3, stride=1, groups=8, act="none"),  # depthwise, multiplier 2
    S("conv", h=8, w=8, cin=8, cout=16, k=3, stride=1, groups=2, act="relu"),  # grouped
    S("conv", h=6, w=6, cin=16, cout=16, k=3, stride=2, groups=4, act="none"),  # grouped, strided
    S("fc", m=1, k=16, n=8, act="relu"),
    S("fc", m=4, k=16, n=8, act="hardswish"),
    S("fc", m=3, k=8, n=4, act="none"),
    S("matmul", b=2, m=4, k=8, n=5),
    S("pool", h=8, w=8, c=4, k=3, stride=2, mode="max"),
    S("pool", h=7, w=7, c=4, k=2, stride=2, mode="max"),
    S("pool", h=8, w=8, c=4, k=2, stride=2, mode="avg"),
    S("global_pool", h=5, w=5, c=8),
    *[S("binary", h=4, w=4, c=8, op=o, bcast=b) for o in ("add", "mul", "sub", "div")
      for b in ("same", "channel", "scalar")],
    *[S("unary", h=4, w=4, c=8, op=u) for u in UNARY],
    S("concat", h=4, w=4, c=8, n=3),
    S("shuffle", h=4, w=4, c=8, groups=2),
    S("resize", h=4, w=5, c=8, scale=2, mode="nearest"),
    S("resize", h=4, w=5, c=8, scale=2, mode="bilinear"),
    S("softmax", m=4, n=10),
    S("layernorm", m=4, n=16),
    S("attention", seq=6, dim=16, heads=2),
    S("se", h=4, w=4, c=8, r=4),
    S("pad", h=4, w=4, c=8, p=1),
    S("transpose", h=4, w=4, c=8),
    *[S("unary", h=4, w=4, c=8, op=op) for op in ("sqrt", "reciprocal", "abs", "neg")],
    *[S("binary", h=4, w=4, c=8, op=op, bcast="channel") for op in ("pow", "max", "min")],
    *[S("reduce", m=6, n=16, mode=mode) for mode in ("mean", "max", "sum")],
]
CASES = [KernelSpec(s.op, s.params, d) for s in SPECS for d in DTYPES]
SUPPORTED = [c for c in CASES if tflite_supported(c)]
WITHOUT_XNNPACK = {"experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}


def _torch(n: int, k: int, s: int) -> int:
    """Output size of a torch conv / max pool with its (k - 1) // 2 padding on each side."""
    return (n + 2 * ((k - 1) // 2) - k) // s + 1


def expected_output_shape(spec: KernelSpec) -> list[int]:
    """Worked out from the spec's meaning, independently of the generator."""
    p = dict(spec.params)
    op = spec.op
    if op == "conv":
        return [1, _torch(p["h"], p["k"], p["stride"]), _torch(p["w"], p["k"], p["stride"]), p["cout"]]
    if op == "fc":
        return [1, p["n"]] if p["m"] == 1 else [1, p["m"], p["n"]]
    if op == "matmul":
        return [p["b"], p["m"], p["n"]]
    if op == "pool":
        if p["mode"] == "max":
            return [1, _torch(p["h"], p["k"], p["stride"]), _torch(p["w"], p["k"], p["stride"]), p["c"]]
        return [1, (p["h"] - p["k"]) // p["stride"] + 1, (p["w"] - p["k"]) // p["stride"] + 1, p["c"]]
    if op == "global_pool":
        return [1, p["c"]]
    if op in ("binary", "unary", "shuffle"):
        return [1, p["h"], p["w"], p["c"]]
    if op == "concat":
        return [1, p["h"], p["w"], p["c"] * p["n"]]
    if op == "resize":
        return [1, int(p["h"] * p["scale"]), int(p["w"] * p["scale"]), p["c"]]
    if op in ("softmax", "layernorm"):
        return [1, p["m"], p["n"]]
    if op == "attention":
        return [1, p["heads"], p["seq"], p["dim"] // p["heads"]]
    if op == "se":
        return [1, p["h"], p["w"], p["c"]]
    if op == "pad":
        return [1, p["h"] + 2 * p["p"], p["w"] + 2 * p["p"], p["c"]]
    if op == "transpose":
        return [1, p["c"], p["h"], p["w"]]
    if op == "reduce":
        return [1, p["m"], 1]
    raise AssertionError(op)


def _interpreter(data: bytes, xnnpack: bool = True) -> Interpreter:
    interp = Interpreter(model_content=data, **({} if xnnpack else WITHOUT_XNNPACK))
    interp.allocate_tensors()
    return interp


def _random_feed(interp: Interpreter, rng: np.random.Generator) -> None:
    for d in interp.get_input_details():
        if d["dtype"] == np.int8:  # what the agent feeds a quantized input: the whole int8 range
            x = rng.integers(-128, 128, d["shape"]).astype(np.int8)
        else:
            x = rng.standard_normal(d["shape"]).astype(np.float32)
        interp.set_tensor(d["index"], x)


def _unpack(data: bytes):
    return schema.ModelT.InitFromPackedBuf(data, 0)


def test_every_op_and_dtype_is_covered():
    assert {c.op for c in SUPPORTED} == set(OPS)
    for dtype in DTYPES:
        assert {c.op for c in SUPPORTED if c.dtype == dtype} >= ({"conv", "fc", "se", "layernorm", "attention"}
                                                                  if dtype == "fp16" else set(OPS))
    # int8: everything but a DIV by a runtime tensor (random int8 data hits its zero point), POW, and the
    # unary ops and the SUM LiteRT has no int8 kernel for
    skipped = {c.key for c in CASES if c.dtype == "int8" and not tflite_supported(c)}
    assert skipped == {S("binary", "int8", h=4, w=4, c=8, op="div", bcast="same").key,
                       *(S("binary", "int8", h=4, w=4, c=8, op=op, bcast="channel").key for op in ("pow", "max", "min")),
                       S("reduce", "int8", m=6, n=16, mode="sum").key,
                       *(S("unary", "int8", h=4, w=4, c=8, op=op).key for op in ("exp", "sqrt", "neg", "reciprocal"))}


@pytest.mark.parametrize("spec", SUPPORTED, ids=lambda s: s.key)
def test_kernel_builds_loads_and_runs(spec):
    data = tflite_kernel(spec)
    assert data[4:8] == b"TFL3"
    want = expected_output_shape(spec)
    outputs = []
    for xnnpack in (True, False):
        interp = _interpreter(data, xnnpack)
        inputs = interp.get_input_details()
        assert {d["name"]: list(d["shape"]) for d in inputs} == tflite_input_shapes(spec)
        _random_feed(interp, np.random.default_rng(0))
        interp.invoke()
        (out,) = interp.get_output_details()
        y = interp.get_tensor(out["index"])
        assert list(y.shape) == want
        assert np.isfinite(y.astype(np.float32)).all()
        expected_io = np.int8 if spec.dtype == "int8" else np.float32
        assert {d["dtype"] for d in inputs} == {expected_io} and out["dtype"] == expected_io
        outputs.append(y.astype(np.float32))
    # Both runtimes compute the same function (their int8 kernels round differently: a step or two).
    if spec.dtype == "int8":
        assert np.abs(outputs[0] - outputs[1]).max() <= 2
    else:
        assert np.allclose(outputs[0], outputs[1], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("spec", [c for c in SUPPORTED if c.dtype == "int8"], ids=lambda s: s.key)
def test_int8_kernel_is_full_integer_and_tracks_fp32(spec):
    model = _unpack(tflite_kernel(spec))
    graph = model.subgraphs[0]
    types = schema.TensorType
    for i in [*graph.inputs, *graph.outputs]:
        assert graph.tensors[i].type == types.INT8
    ops = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = ops[code.builtinCode]
        assert name not in ("QUANTIZE", "DEQUANTIZE")
        for t in (graph.tensors[i] for i in op.outputs):
            assert t.type == types.INT8 and len(t.quantization.scale) == 1
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            x, w, b = (graph.tensors[i] for i in op.inputs)
            axis = 3 if name == "DEPTHWISE_CONV_2D" else 0
            assert w.type == types.INT8 and set(w.quantization.zeroPoint) == {0}  # symmetric
            assert w.quantization.quantizedDimension == axis and len(w.quantization.scale) == w.shape[axis]
            assert b.type == types.INT32
            assert np.allclose(b.quantization.scale, x.quantization.scale[0] * np.asarray(w.quantization.scale))
            assert code.version >= {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 4}[name]
        if name == "SOFTMAX" or name == "LOGISTIC":
            y = graph.tensors[op.outputs[0]]
            assert (y.quantization.scale[0], y.quantization.zeroPoint[0]) == (pytest.approx(1 / 256), -128)
    # The calibrated ranges fit the data: on standard-normal inputs the int8 model tracks the fp32 one
    # (fed the same int8-representable input, so the comparison is of the kernel, not of input clipping).
    fp32 = KernelSpec(spec.op, spec.params, "fp32")
    rng = np.random.default_rng(3)
    ref = _interpreter(tflite_kernel(fp32))
    q = _interpreter(tflite_kernel(spec))
    for d, det in zip(ref.get_input_details(), q.get_input_details(), strict=True):
        scale, zero = det["quantization"]
        x = np.clip(np.round(rng.standard_normal(d["shape"]) / scale) + zero, -128, 127).astype(np.int8)
        q.set_tensor(det["index"], x)
        ref.set_tensor(d["index"], ((x.astype(np.float32) - zero) * scale).astype(np.float32))
    ref.invoke()
    q.invoke()
    want = ref.get_tensor(ref.get_output_details()[0]["index"])
    out = q.get_output_details()[0]
    got = (q.get_tensor(out["index"]).astype(np.float32) - out["quantization"][1]) * out["quantization"][0]
    span = float(want.max() - want.min())
    assert float(np.abs(got - want).mean()) < 0.03 * span, spec.key


@pytest.mark.parametrize("spec", [c for c in SUPPORTED if c.dtype == "fp16"], ids=lambda s: s.key)
def test_fp16_kernel_keeps_weights_in_half_behind_dequantize(spec):
    model = _unpack(tflite_kernel(spec))
    graph = model.subgraphs[0]
    types = schema.TensorType
    dequantize = schema.BuiltinOperator.DEQUANTIZE
    constants = [t for t in graph.tensors if model.buffers[t.buffer].data is not None]
    assert all(t.type in (types.FLOAT16, types.INT32) for t in constants)
    halves = {i for i, t in enumerate(graph.tensors) if t.type == types.FLOAT16}
    fed = {op.inputs[0] for op in graph.operators if model.operatorCodes[op.opcodeIndex].builtinCode == dequantize}
    assert halves and halves == fed  # every fp16 constant is dequantized, nothing else is
    assert all(model.operatorCodes[op.opcodeIndex].version == 3 for op in graph.operators
               if model.operatorCodes[op.opcodeIndex].builtinCode == dequantize)
    # Same weights as the fp32 kernel, rounded to half precision.
    rng = np.random.default_rng(4)
    feeds = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in tflite_input_shapes(spec).items()}
    runs = []
    for data in (tflite_kernel(spec), tflite_kernel(KernelSpec(spec.op, spec.params, "fp32"))):
        interp = _interpreter(data)
        for d in interp.get_input_details():
            interp.set_tensor(d["index"], feeds[d["name"]])
        interp.invoke()
        runs.append(interp.get_tensor(interp.get_output_details()[0]["index"]))
    assert np.allclose(runs[0], runs[1], rtol=1e-2, atol=1e-2)


def test_unsupported_specs_are_refused_by_name():
    bad = [S("conv", h=8, w=8, cin=6, cout=8, k=3, stride=1, groups=4, act="none"),  # 6 % 4
           S("shuffle", h=4, w=4, c=6, groups=4),
           S("attention", seq=4, dim=10, heads=3),
           S("binary", "int8", h=4, w=4, c=8, op="div", bcast="same"),
           S("softmax", "fp16", m=4, n=8)]  # no float constant: the fp16 model would be the fp32 one
    for spec in bad:
        assert not tflite_supported(spec)
        with pytest.raises(ValueError, match=spec.key):
            tflite_kernel(spec)


def test_generation_is_deterministic():
    spec = S("se", "int8", h=4, w=4, c=8, r=4)
    assert tflite_kernel(spec) == tflite_kernel(spec)


# -- fp32 numerics against numpy ---------------------------------------------------------------------


def _run_fp32(spec: KernelSpec, seed: int = 5):
    """Output, inputs and the model's constants (by tensor name) of an fp32 kernel on random inputs."""
    data = tflite_kernel(spec)
    model = _unpack(data)
    graph = model.subgraphs[0]
    consts = {}
    np_types = {schema.TensorType.FLOAT32: np.float32, schema.TensorType.INT32: np.int32}
    for t in graph.tensors:
        raw = model.buffers[t.buffer].data
        if raw is not None:
            consts[t.name.decode()] = np.frombuffer(bytes(raw), np_types[t.type]).reshape(t.shape)
    interp = _interpreter(data, xnnpack=False)
    rng = np.random.default_rng(seed)
    xs = []
    for d in interp.get_input_details():
        xs.append(rng.standard_normal(d["shape"]).astype(np.float32))
        interp.set_tensor(d["index"], xs[-1])
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"]), xs, list(consts.values())


def _conv_nhwc(x, w_ohwi, bias, stride, groups):
    """Reference conv with TF's SAME padding (the extra row/column at the bottom/right)."""
    _, h, wd, cin = x.shape
    cout, k, _, cg = w_ohwi.shape
    oh, ow = math.ceil(h / stride), math.ceil(wd / stride)
    ph, pw = max((oh - 1) * stride + k - h, 0), max((ow - 1) * stride + k - wd, 0)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    y = np.zeros((1, oh, ow, cout), np.float64)
    per_group = cout // groups
    for o in range(cout):
        g = o // per_group
        for i in range(oh):
            for j in range(ow):
                patch = xp[0, i * stride:i * stride + k, j * stride:j * stride + k, g * cg:(g + 1) * cg]
                y[0, i, j, o] = (patch * w_ohwi[o]).sum()
    return y + bias


@pytest.mark.parametrize("groups,cout", [(1, 16), (2, 16)])
def test_conv_matches_numpy(groups, cout):
    spec = S("conv", h=9, w=9, cin=8, cout=cout, k=3, stride=2, groups=groups, act="relu6")
    y, (x,), (w, b) = _run_fp32(spec)
    assert np.allclose(y, np.clip(_conv_nhwc(x, w, b, 2, groups), 0, 6), atol=1e-4)


def test_depthwise_matches_numpy():
    spec = S("conv", h=8, w=8, cin=8, cout=16, k=3, stride=1, groups=8, act="none")
    y, (x,), (w, b) = _run_fp32(spec)
    # Depthwise with multiplier 2: output channel o reads input channel o // 2 with filter w[0, :, :, o].
    w_ohwi = np.transpose(w, (3, 1, 2, 0))  # [16, 3, 3, 1]
    assert np.allclose(y, _conv_nhwc(x, w_ohwi, b, 1, 8), atol=1e-4)


def test_fully_connected_matches_numpy():
    spec = S("fc", m=4, k=16, n=8, act="hardswish")
    y, (x,), (w, b) = _run_fp32(spec)
    z = x @ w.T + b
    assert np.allclose(y, z * np.clip(z + 3, 0, 6) / 6, atol=1e-5)


def test_softmax_matches_numpy():
    y, (x,), _ = _run_fp32(S("softmax", m=4, n=10))
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    assert np.allclose(y, e / e.sum(axis=-1, keepdims=True), atol=1e-6)


def test_layernorm_matches_numpy():
    y, (x,), _ = _run_fp32(S("layernorm", m=4, n=16))
    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    assert np.allclose(y, (x - mean) / np.sqrt(var + 1e-5), atol=1e-5)  # gamma 1, beta 0


def _half_pixel_bilinear(x, oh, ow):
    _, h, w, _ = x.shape
    y = np.zeros((1, oh, ow, x.shape[3]), np.float64)
    for i in range(oh):
        fy = max((i + 0.5) * h / oh - 0.5, 0.0)
        y0 = int(np.floor(fy))
        y1, ay = min(y0 + 1, h - 1), fy - y0
        for j in range(ow):
            fx = max((j + 0.5) * w / ow - 0.5, 0.0)
            x0 = int(np.floor(fx))
            x1, ax = min(x0 + 1, w - 1), fx - x0
            top = x[0, y0, x0] * (1 - ax) + x[0, y0, x1] * ax
            bottom = x[0, y1, x0] * (1 - ax) + x[0, y1, x1] * ax
            y[0, i, j] = top * (1 - ay) + bottom * ay
    return y


def test_resize_matches_numpy():
    y, (x,), _ = _run_fp32(S("resize", h=4, w=5, c=3, scale=2, mode="bilinear"))
    assert np.allclose(y, _half_pixel_bilinear(x, 8, 10), atol=1e-5)
    y, (x,), _ = _run_fp32(S("resize", h=4, w=5, c=3, scale=2, mode="nearest"))
    assert np.array_equal(y, x.repeat(2, axis=1).repeat(2, axis=2))


# -- the cost model's reader on the generated kernels ------------------------------------------------


@pytest.mark.parametrize("spec", SUPPORTED, ids=lambda s: s.key)
def test_cost_model_reads_the_kernel_without_warnings(spec, tmp_path):
    path = tmp_path / f"{spec.key}.tflite"
    path.write_bytes(tflite_kernel(spec))
    cost = analyze_model(path)
    assert cost.format == "tflite" and cost.warnings == [] and cost.uncounted == []
    p = dict(spec.params)
    if spec.op == "conv":
        oh, ow = _torch(p["h"], p["k"], p["stride"]), _torch(p["w"], p["k"], p["stride"])
        assert cost.macs == oh * ow * p["cout"] * p["k"] ** 2 * p["cin"] // p["groups"]
    elif spec.op == "fc":
        assert cost.macs == p["m"] * p["k"] * p["n"]
    elif spec.op == "matmul":
        assert cost.macs == p["b"] * p["m"] * p["k"] * p["n"]
    elif spec.op == "attention":
        assert cost.macs == 2 * p["seq"] ** 2 * p["dim"]
    elif spec.op == "se":
        assert cost.macs == 2 * p["c"] * p["r"]
