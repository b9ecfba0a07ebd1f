"""One-kernel TFLite models for the kernel suite, written the way the TFLite converter writes the layer.

Layout NHWC, batch 1. What each op becomes (the converter's lowering of the Keras layer):
    conv       CONV_2D (OHWI filter) or, when groups == cin, DEPTHWISE_CONV_2D ([1, k, k, cout] filter);
               1 < groups < cin: CONV_2D with a [cout, k, k, cin / groups] filter (grouped, version 6);
               SAME padding (VALID at k <= 2, where torch pads nothing); relu / relu6 fused, hardswish as
               HARD_SWISH and sigmoid as LOGISTIC after it
    fc         FULLY_CONNECTED ([n, k] weights; keep_num_dims on a [1, m, k] input), activation as for conv
    matmul     BATCH_MATMUL of two inputs
    pool       MAX_POOL_2D padded as conv / AVERAGE_POOL_2D VALID (torch's (k - 1) // 2 and 0 padding)
    global_pool MEAN over H and W (keep_dims false, Keras' GlobalAveragePooling2D)
    binary     ADD / MUL / SUB / DIV with a second input, a per-channel constant or a scalar constant
    unary      RELU, RELU6, LOGISTIC, HARD_SWISH, TANH, LEAKY_RELU (alpha 0.1), EXP, GELU (exact, the
               builtin), SiLU as LOGISTIC + MUL, hard-sigmoid as relu6(x + 3) / 6: ADD (RELU6 fused) + MUL
    concat     CONCATENATION of n inputs along channels
    shuffle    RESHAPE [1, h, w, g, c / g] / TRANSPOSE / RESHAPE
    resize     RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR with half-pixel centers (TF2's tf.image.resize)
    softmax    SOFTMAX over the last axis of [1, m, n]
    layernorm  MEAN, SQUARED_DIFFERENCE, MEAN, ADD eps, RSQRT, MUL gamma, then x * inv + (beta - mean * inv)
               (MUL, MUL, SUB, ADD): tf.nn.moments + batch_normalization, as Keras' LayerNormalization lowers
    attention  BATCH_MATMUL(Q, K, adj_y) * 1 / sqrt(d) (MUL), SOFTMAX, BATCH_MATMUL with V; Q, K, V inputs
               of [1, heads, seq, dim / heads]
    se         MEAN (keep_dims) -> CONV_2D 1x1 c -> r (RELU fused) -> CONV_2D 1x1 r -> c -> LOGISTIC -> MUL
    pad        PAD with p zeros on each spatial side
    transpose  TRANSPOSE NHWC -> NCHW
The weights are seeded from the spec's key, so one spec always gives the same bytes. `tflite_graph` writes
the fp32 / fp16 / int8 forms.
"""
from __future__ import annotations

import math
import zlib
from collections.abc import Callable

import numpy as np

from .spec import KernelSpec
from .tflite_graph import KernelGraph, emit

_FUSED = {"none": 0, "relu": 1, "relu6": 3}  # ActivationFunctionType NONE, RELU, RELU6
_AFTER = {"hardswish": "HARD_SWISH", "sigmoid": "LOGISTIC"}  # activations TFLite does not fuse
_SAME, _VALID = 0, 1  # Padding
_LEAKY_ALPHA = 0.1  # the ONNX generator's LeakyRelu alpha: the two suites measure the same function
_LAYERNORM_EPS = 1e-5
_BINARY = {"add": ("ADD", "AddOptions"), "mul": ("MUL", "MulOptions"), "sub": ("SUB", "SubOptions"),
           "div": ("DIV", "DivOptions"), "pow": ("POW", "PowOptions"), "max": ("MAXIMUM", "MaximumMinimumOptions"),
           "min": ("MINIMUM", "MaximumMinimumOptions")}
# int8 DIV refuses a divisor element equal to its zero point, which random int8 data (what the agent
# feeds) is sure to contain: only constant divisors, kept away from zero, make a runnable int8 model.
# int8 POW has no kernel; int8 MAXIMUM / MINIMUM want the constant operand in the input's quantization, which the
# writer does not share with constants.
_NO_INT8 = {("binary", "div", "same"), *(("binary", op, b) for op in ("pow", "max", "min") for b in ("channel", "scalar")),
            ("binary", "pow", "same")}
# Unary ops TFLite has a builtin for (erf has none: converters lower exact GELU to the GELU op).
_UNARY_BUILTINS = {"relu": "RELU", "relu6": "RELU6", "sigmoid": "LOGISTIC", "hardswish": "HARD_SWISH",
                   "tanh": "TANH", "exp": "EXP", "sqrt": "SQRT", "abs": "ABS", "neg": "NEG"}
_UNARY_NO_INT8 = {"exp", "sqrt", "neg", "reciprocal"}


def _i(spec: KernelSpec, name: str) -> int:
    return int(spec[name])


def _padding(k: int) -> int:
    """SAME where torch pads (k - 1) // 2 on each side (identical output size at odd k); VALID where it
    pads nothing (k <= 2), so the output has the size the ONNX kernel of the same spec has."""
    return _SAME if (k - 1) // 2 else _VALID


def _spatial(size: int, k: int, stride: int) -> int:
    if _padding(k) == _SAME:
        return -(-size // stride)  # ceil(size / stride)
    return (size - k) // stride + 1


def _activation(g: KernelGraph, y: int, act: str) -> int:
    if act in _AFTER:
        return g.op(_AFTER[act], [y], g.shape(y))
    if act == "silu":  # as converters lower it: LOGISTIC + MUL
        return _unary_op(g, y, "silu")
    return y


def _conv(g: KernelGraph, s: KernelSpec) -> int:
    h, w, cin, cout = _i(s, "h"), _i(s, "w"), _i(s, "cin"), _i(s, "cout")
    k, stride, groups, act = _i(s, "k"), _i(s, "stride"), _i(s, "groups"), str(s["act"])
    x = g.input([1, h, w, cin])
    out = [1, _spatial(h, k, stride), _spatial(w, k, stride), cout]
    common = dict(padding=_padding(k), strideH=stride, strideW=stride, fusedActivationFunction=_FUSED.get(act, 0))
    if groups > 1 and groups == cin:
        wt = g.weight([1, k, k, cout], k * k, axis=3)
        y = g.op("DEPTHWISE_CONV_2D", [x, wt, g.bias(cout, x, wt)], out, "DepthwiseConv2DOptions",
                 depthMultiplier=cout // cin, **common)
    else:
        wt = g.weight([cout, k, k, cin // groups], k * k * cin // groups, axis=0)
        y = g.op("CONV_2D", [x, wt, g.bias(cout, x, wt)], out, "Conv2DOptions", **common)
    return _activation(g, y, act)


def _fc(g: KernelGraph, s: KernelSpec) -> int:
    m, k, n, act = _i(s, "m"), _i(s, "k"), _i(s, "n"), str(s["act"])
    # A CNN's classifier sees [1, k]; a transformer's Dense sees [1, tokens, k] and keeps its dims.
    x = g.input([1, k] if m == 1 else [1, m, k])
    wt = g.weight([n, k], k, axis=0)
    out = [1, n] if m == 1 else [1, m, n]
    y = g.op("FULLY_CONNECTED", [x, wt, g.bias(n, x, wt)], out, "FullyConnectedOptions",
             fusedActivationFunction=_FUSED.get(act, 0), keepNumDims=m != 1)
    return _activation(g, y, act)


def _matmul(g: KernelGraph, s: KernelSpec) -> int:
    b, m, k, n = _i(s, "b"), _i(s, "m"), _i(s, "k"), _i(s, "n")
    return g.op("BATCH_MATMUL", [g.input([b, m, k]), g.input([b, k, n])], [b, m, n], "BatchMatMulOptions")


def _pool(g: KernelGraph, s: KernelSpec) -> int:
    h, w, c, k, stride = _i(s, "h"), _i(s, "w"), _i(s, "c"), _i(s, "k"), _i(s, "stride")
    x = g.input([1, h, w, c])
    opts = dict(strideH=stride, strideW=stride, filterHeight=k, filterWidth=k)
    if s["mode"] == "max":
        return g.op("MAX_POOL_2D", [x], [1, _spatial(h, k, stride), _spatial(w, k, stride), c],
                    "Pool2DOptions", padding=_padding(k), **opts)
    out = [1, (h - k) // stride + 1, (w - k) // stride + 1, c]
    return g.op("AVERAGE_POOL_2D", [x], out, "Pool2DOptions", padding=_VALID, **opts)


def _global_pool(g: KernelGraph, s: KernelSpec) -> int:
    c = _i(s, "c")
    x = g.input([1, _i(s, "h"), _i(s, "w"), c])
    return g.op("MEAN", [x, g.index([1, 2])], [1, c], "ReducerOptions", keepDims=False)


def _binary(g: KernelGraph, s: KernelSpec) -> int:
    shape = [1, _i(s, "h"), _i(s, "w"), _i(s, "c")]
    x = g.input(shape)
    bcast = str(s["bcast"])
    if bcast == "same":
        other = g.input(shape)
    elif bcast == "channel" and s["op"] == "div":
        other = g.const(1.0 + np.abs(g.rng.standard_normal(shape[3])))  # no divisor near zero
    elif bcast == "channel":
        other = g.random_const([shape[3]])
    else:
        other = g.const(1.5)
    op, options = _BINARY[str(s["op"])]
    if s["op"] == "pow":  # a real power of a non-negative base
        x = g.op("ABS", [x], shape)
    return g.op(op, [x, other], shape, options)


def _unary_op(g: KernelGraph, x: int, kind: str) -> int:
    shape = g.shape(x)
    if kind == "sqrt":  # inputs where the op is defined
        x = g.op("ABS", [x], shape)
    if kind in _UNARY_BUILTINS:
        return g.op(_UNARY_BUILTINS[kind], [x], shape)
    if kind == "reciprocal":  # converters write 1 / x as a DIV of a constant
        return g.op("DIV", [g.const(1.0), g.op("ABS", [x], shape)], shape, "DivOptions")
    if kind == "leakyrelu":
        return g.op("LEAKY_RELU", [x], shape, "LeakyReluOptions", alpha=_LEAKY_ALPHA)
    if kind == "gelu":
        return g.op("GELU", [x], shape, "GeluOptions", approximate=False)
    if kind == "silu":
        return g.op("MUL", [x, g.op("LOGISTIC", [x], shape)], shape, "MulOptions")
    if kind == "hardsigmoid":
        y = g.op("ADD", [x, g.const(3.0)], shape, "AddOptions", fusedActivationFunction=_FUSED["relu6"])
        return g.op("MUL", [y, g.const(1.0 / 6.0)], shape, "MulOptions")
    raise ValueError(f"unknown unary op {kind!r}")


def _unary(g: KernelGraph, s: KernelSpec) -> int:
    return _unary_op(g, g.input([1, _i(s, "h"), _i(s, "w"), _i(s, "c")]), str(s["op"]))


def _reduce(g: KernelGraph, s: KernelSpec) -> int:
    m, n = _i(s, "m"), _i(s, "n")
    op = {"mean": "MEAN", "max": "REDUCE_MAX", "sum": "SUM"}[str(s["mode"])]
    return g.op(op, [g.input([1, m, n]), g.index([2])], [1, m, 1], "ReducerOptions", keepDims=True)


def _concat(g: KernelGraph, s: KernelSpec) -> int:
    h, w, c, n = _i(s, "h"), _i(s, "w"), _i(s, "c"), _i(s, "n")
    xs = [g.input([1, h, w, c]) for _ in range(n)]
    return g.op("CONCATENATION", xs, [1, h, w, c * n], "ConcatenationOptions", axis=3)


def _reshape(g: KernelGraph, x: int, shape: list[int]) -> int:
    return g.op("RESHAPE", [x, g.index(shape)], shape, "ReshapeOptions", newShape=list(shape))


def _shuffle(g: KernelGraph, s: KernelSpec) -> int:
    h, w, c, groups = _i(s, "h"), _i(s, "w"), _i(s, "c"), _i(s, "groups")
    y = _reshape(g, g.input([1, h, w, c]), [1, h, w, groups, c // groups])
    y = g.op("TRANSPOSE", [y, g.index([0, 1, 2, 4, 3])], [1, h, w, c // groups, groups], "TransposeOptions")
    return _reshape(g, y, [1, h, w, c])


def _resize_size(s: KernelSpec) -> tuple[int, int]:
    scale = float(s["scale"])
    return int(math.floor(_i(s, "h") * scale)), int(math.floor(_i(s, "w") * scale))


def _resize(g: KernelGraph, s: KernelSpec) -> int:
    c = _i(s, "c")
    x = g.input([1, _i(s, "h"), _i(s, "w"), c])
    oh, ow = _resize_size(s)
    if s["mode"] == "nearest":
        return g.op("RESIZE_NEAREST_NEIGHBOR", [x, g.index([oh, ow])], [1, oh, ow, c],
                    "ResizeNearestNeighborOptions", halfPixelCenters=True)
    return g.op("RESIZE_BILINEAR", [x, g.index([oh, ow])], [1, oh, ow, c], "ResizeBilinearOptions",
                halfPixelCenters=True)


def _softmax(g: KernelGraph, s: KernelSpec) -> int:
    shape = [1, _i(s, "m"), _i(s, "n")]
    return g.op("SOFTMAX", [g.input(shape)], shape, "SoftmaxOptions", beta=1.0)


def _layernorm(g: KernelGraph, s: KernelSpec) -> int:
    m, n = _i(s, "m"), _i(s, "n")
    shape, reduced = [1, m, n], [1, m, 1]
    x = g.input(shape)
    mean = g.op("MEAN", [x, g.index([2])], reduced, "ReducerOptions", keepDims=True)
    sq = g.op("SQUARED_DIFFERENCE", [x, mean], shape, "SquaredDifferenceOptions")
    var = g.op("MEAN", [sq, g.index([2])], reduced, "ReducerOptions", keepDims=True)
    inv = g.op("RSQRT", [g.op("ADD", [var, g.const(_LAYERNORM_EPS)], reduced, "AddOptions")], reduced)
    inv = g.op("MUL", [inv, g.const(np.ones(n, np.float32))], shape, "MulOptions")
    scaled = g.op("MUL", [x, inv], shape, "MulOptions")
    shift = g.op("SUB", [g.const(np.zeros(n, np.float32)), g.op("MUL", [mean, inv], shape, "MulOptions")],
                 shape, "SubOptions")
    return g.op("ADD", [scaled, shift], shape, "AddOptions")


def _attention(g: KernelGraph, s: KernelSpec) -> int:
    seq, dim, heads = _i(s, "seq"), _i(s, "dim"), _i(s, "heads")
    d = dim // heads
    q, k, v = (g.input([1, heads, seq, d]) for _ in range(3))
    scores = g.op("BATCH_MATMUL", [q, k], [1, heads, seq, seq], "BatchMatMulOptions", adjY=True)
    scores = g.op("MUL", [scores, g.const(1.0 / math.sqrt(d))], g.shape(scores), "MulOptions")
    probs = g.op("SOFTMAX", [scores], g.shape(scores), "SoftmaxOptions", beta=1.0)
    return g.op("BATCH_MATMUL", [probs, v], [1, heads, seq, d], "BatchMatMulOptions")


def _se(g: KernelGraph, s: KernelSpec) -> int:
    h, w, c, r = _i(s, "h"), _i(s, "w"), _i(s, "c"), _i(s, "r")
    x = g.input([1, h, w, c])
    pooled = g.op("MEAN", [x, g.index([1, 2])], [1, 1, 1, c], "ReducerOptions", keepDims=True)
    conv = dict(padding=_SAME, strideH=1, strideW=1)
    w1 = g.weight([r, 1, 1, c], c, axis=0)
    y = g.op("CONV_2D", [pooled, w1, g.bias(r, pooled, w1)], [1, 1, 1, r], "Conv2DOptions",
             fusedActivationFunction=_FUSED["relu"], **conv)
    w2 = g.weight([c, 1, 1, r], r, axis=0)
    y = g.op("CONV_2D", [y, w2, g.bias(c, y, w2)], [1, 1, 1, c], "Conv2DOptions", **conv)
    gate = g.op("LOGISTIC", [y], [1, 1, 1, c])
    return g.op("MUL", [x, gate], [1, h, w, c], "MulOptions")


def _pad(g: KernelGraph, s: KernelSpec) -> int:
    h, w, c, p = _i(s, "h"), _i(s, "w"), _i(s, "c"), _i(s, "p")
    x = g.input([1, h, w, c])
    return g.op("PAD", [x, g.index([[0, 0], [p, p], [p, p], [0, 0]])], [1, h + 2 * p, w + 2 * p, c],
                "PadOptions")


def _transpose(g: KernelGraph, s: KernelSpec) -> int:
    h, w, c = _i(s, "h"), _i(s, "w"), _i(s, "c")
    return g.op("TRANSPOSE", [g.input([1, h, w, c]), g.index([0, 3, 1, 2])], [1, c, h, w], "TransposeOptions")


_BUILDERS: dict[str, Callable[[KernelGraph, KernelSpec], int]] = {
    "conv": _conv, "fc": _fc, "matmul": _matmul, "pool": _pool, "global_pool": _global_pool,
    "binary": _binary, "unary": _unary, "concat": _concat, "shuffle": _shuffle, "resize": _resize,
    "softmax": _softmax, "layernorm": _layernorm, "attention": _attention, "se": _se, "pad": _pad,
    "transpose": _transpose, "reduce": _reduce,
}


def _valid(spec: KernelSpec) -> bool:
    """Whether the spec describes a kernel at all (divisible channel groups, non-empty outputs)."""
    op = spec.op
    if op == "conv":
        cin, cout, groups = _i(spec, "cin"), _i(spec, "cout"), _i(spec, "groups")
        return groups >= 1 and cin % groups == 0 and cout % groups == 0 and str(spec["act"]) in (*_FUSED, *_AFTER, "silu")
    if op == "shuffle":
        return _i(spec, "c") % _i(spec, "groups") == 0
    if op == "attention":
        return _i(spec, "dim") % _i(spec, "heads") == 0
    if op == "resize":
        return min(_resize_size(spec)) >= 1
    if op == "pool" and spec["mode"] != "max":
        return _i(spec, "k") <= min(_i(spec, "h"), _i(spec, "w"))
    if op == "fc":
        return str(spec["act"]) in (*_FUSED, *_AFTER, "silu")
    return True


def _graph(spec: KernelSpec) -> KernelGraph:
    # Seeded by the fp32 key: stable across runs, and the three dtypes hold the same weights.
    seed = zlib.crc32(KernelSpec(spec.op, spec.params, "fp32").key.encode())
    g = KernelGraph(spec.key, np.random.default_rng(seed))
    g.finish(_BUILDERS[spec.op](g, spec))
    return g


def tflite_supported(spec: KernelSpec) -> bool:
    """Whether `tflite_kernel` writes this spec: a valid kernel with a LiteRT kernel in that dtype, and for
    fp16 one with float weights or constants (without any, the fp16 model is the fp32 one)."""
    if spec.op not in _BUILDERS or not _valid(spec):
        return False
    params = dict(spec.params)
    if spec.op == "unary" and params["op"] not in _UNARY_BUILTINS and params["op"] not in (
            "leakyrelu", "gelu", "silu", "hardsigmoid", "reciprocal"):
        return False  # no TFLite builtin, and converters do not write it as ops of their own
    if spec.dtype == "int8":
        if spec.op == "unary" and params["op"] in _UNARY_NO_INT8:
            return False
        if spec.op == "reduce" and params["mode"] == "sum":
            return False
        return (spec.op, params.get("op"), params.get("bcast")) not in _NO_INT8
    if spec.dtype == "fp16":
        return _graph(spec).has_float_constants
    return True


def tflite_kernel(spec: KernelSpec) -> bytes:
    """The one-kernel TFLite model of `spec`, serialized."""
    if not tflite_supported(spec):
        raise ValueError(f"{spec.key}: not generated for TFLite (see tflite_supported)")
    return emit(_graph(spec), spec.dtype, f"edgebench kernel suite: {spec.key}")


def tflite_input_shapes(spec: KernelSpec) -> dict[str, list[int]]:
    """The model's inputs (named x, x2, ...) and their static shapes."""
    g = _graph(KernelSpec(spec.op, spec.params, "fp32"))
    return {g.tensors[i].name: list(g.tensors[i].shape) for i in g.inputs}
