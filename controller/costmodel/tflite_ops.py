"""Counting rules for TFLite builtin ops (NHWC activations, OHWI conv filters, 1HWO depthwise filters)."""
from __future__ import annotations

import math
from typing import Callable, Sequence

from . import op_tables as T
from .op_common import (
    Ctx,
    Uncountable,
    Work,
    conv_output_spatial,
    conv_variant,
    data_movement,
    interp_ops,
    matmul_macs,
    per_input,
    reduce_op,
)


def _fused_activation_ops(c: Ctx) -> int:
    return T.TFLITE_FUSED_ACTIVATION.get(int(c.attr("fusedActivationFunction", 0) or 0), 1) * c.out_numel()


def _tfl_padding(c: Ctx) -> str:
    return "VALID" if int(c.attr("padding", 0) or 0) == 1 else "SAME"


def _tfl_conv_out(c: Ctx, xs: tuple[int, ...], kernel: Sequence[int], channels: int) -> tuple[int, ...]:
    out = c.out_or_none()
    if out is not None:
        return out
    strides = [int(c.attr("strideH", 1) or 1), int(c.attr("strideW", 1) or 1)]
    dil = [int(c.attr("dilationHFactor", 1) or 1), int(c.attr("dilationWFactor", 1) or 1)]
    spatial = conv_output_spatial(xs[1:3], kernel, strides, dil, None, _tfl_padding(c))
    return (xs[0],) + spatial + (channels,)


def _tfl_conv(c: Ctx) -> Work:
    xs, ws = c.shape(0), c.shape(1)  # NHWC input, OHWI filter (I = C_in / groups)
    if len(xs) != 4 or len(ws) != 4:
        raise Uncountable("CONV_2D expects 4-D input and filter")
    out = _tfl_conv_out(c, xs, ws[1:3], ws[0])
    macs = math.prod(out) * ws[1] * ws[2] * ws[3]
    groups = xs[3] // ws[3] if ws[3] else 1
    if groups > 1 and groups == xs[3]:
        return Work(macs=macs, elementwise_ops=_fused_activation_ops(c), kind="depthwise_conv")
    return Work(macs=macs, elementwise_ops=_fused_activation_ops(c), kind="conv",
                variant=conv_variant(ws[3], ws[1:3], groups, xs[3]))


def _tfl_depthwise(c: Ctx) -> Work:
    xs, ws = c.shape(0), c.shape(1)  # filter (1, kh, kw, C_out)
    if len(xs) != 4 or len(ws) != 4:
        raise Uncountable("DEPTHWISE_CONV_2D expects 4-D input and filter")
    out = _tfl_conv_out(c, xs, ws[1:3], ws[3])
    return Work(macs=math.prod(out) * ws[1] * ws[2], elementwise_ops=_fused_activation_ops(c),
                kind="depthwise_conv")


def _tfl_conv3d(c: Ctx) -> Work:
    ws = c.shape(1)  # (kd, kh, kw, C_in, C_out)
    return Work(macs=c.out_numel() * ws[0] * ws[1] * ws[2] * ws[3], elementwise_ops=_fused_activation_ops(c),
                kind="conv")


def _tfl_transpose_conv(c: Ctx) -> Work:
    ws, xs = c.shape(1), c.shape(2)  # weights (C_out, kh, kw, C_in), input NHWC
    return Work(macs=math.prod(xs) * ws[0] * ws[1] * ws[2], elementwise_ops=_fused_activation_ops(c),
                kind="conv_transpose")


def _tfl_fully_connected(c: Ctx) -> Work:
    xs, ws = c.shape(0), c.shape(1)  # weights (units, K)
    if len(ws) != 2 or ws[1] == 0:
        raise Uncountable("FULLY_CONNECTED weights must be 2-D")
    rows = math.prod(xs) // ws[1]
    return Work(macs=rows * ws[0] * ws[1], elementwise_ops=_fused_activation_ops(c), kind="matmul")


def _tfl_batch_matmul(c: Ctx) -> Work:
    return Work(macs=matmul_macs(c, 0, 1, bool(c.attr("adjX", False))), kind="matmul")


def _tfl_pool(c: Ctx) -> Work:
    window = int(c.attr("filterHeight", 1) or 1) * int(c.attr("filterWidth", 1) or 1)
    return Work(elementwise_ops=c.out_numel() * window + _fused_activation_ops(c), kind="pool")


def _tfl_binary(ops: int) -> Callable[[Ctx], Work]:
    return lambda c: Work(elementwise_ops=ops * c.out_numel() + _fused_activation_ops(c),
                          kind="quantize" if c.node.op_type in ("QUANTIZE", "DEQUANTIZE") else "elementwise")


def _tfl_resize(c: Ctx) -> Work:
    xs, out = c.shape(0), c.out()
    if len(xs) != len(out):
        raise Uncountable("resize input/output ranks differ")
    resized = sum(1 for a, b in zip(xs, out, strict=True) if a != b)
    mode = "linear" if c.node.op_type == "RESIZE_BILINEAR" else "nearest"
    return Work(elementwise_ops=math.prod(out) * interp_ops(mode, resized), kind="resize")


def _tfl_lstm(c: Ctx) -> Work:
    xs = c.shape(0)
    # time-major or not, steps × batch is the product of the two leading dims
    steps_batch = xs[0] * xs[1] if len(xs) == 3 else xs[0]
    # inputs 1-8: input-to-gate and recurrent-to-gate weight matrices (absent ones are CIFG-optional)
    weights = sum(math.prod(c.shape(i)) for i in range(1, 9) if c.has(i))
    hidden_gates = sum(c.shape(i)[0] for i in range(1, 5) if c.has(i))
    return Work(macs=steps_batch * weights, elementwise_ops=3 * steps_batch * hidden_gates, kind="recurrent")


def _tfl_add_n(c: Ctx) -> Work:
    return Work(elementwise_ops=max(c.n_inputs() - 1, 0) * c.out_numel(), kind="elementwise")


def _tfl_control_flow(c: Ctx) -> Work:
    raise Uncountable(f"control flow ({c.node.op_type}): the ops in its subgraphs are not counted")


TFLITE_COUNTERS: dict[str, Callable[[Ctx], Work]] = {
    "CONV_2D": _tfl_conv,
    "DEPTHWISE_CONV_2D": _tfl_depthwise,
    "CONV_3D": _tfl_conv3d,
    "TRANSPOSE_CONV": _tfl_transpose_conv,
    "FULLY_CONNECTED": _tfl_fully_connected,
    "BATCH_MATMUL": _tfl_batch_matmul,
    "AVERAGE_POOL_2D": _tfl_pool,
    "MAX_POOL_2D": _tfl_pool,
    "L2_POOL_2D": _tfl_pool,
    "RESIZE_BILINEAR": _tfl_resize,
    "RESIZE_NEAREST_NEIGHBOR": _tfl_resize,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _tfl_lstm,
    "LSTM": _tfl_lstm,
    "ADD_N": _tfl_add_n,
    **{op: _tfl_binary(n) for op, n in T.TFLITE_ELEMENTWISE.items()},
    **{op: per_input(n, "normalization") for op, n in T.TFLITE_NORMALIZATION.items()},
    **{op: per_input(n, "softmax") for op, n in T.TFLITE_SOFTMAX.items()},
    **{op: reduce_op(a, b) for op, (a, b) in T.TFLITE_REDUCE.items()},
    **{op: data_movement for op in T.TFLITE_DATA_MOVEMENT},
    **{op: _tfl_control_flow for op in T.TFLITE_CONTROL_FLOW},
}


# Input slots that hold learned parameters (when constants); int32 shapes and axes are not parameters.
PARAM_SLOTS: dict[str, tuple[int, ...] | None] = {
    "CONV_2D": (1, 2), "DEPTHWISE_CONV_2D": (1, 2), "CONV_3D": (1, 2), "TRANSPOSE_CONV": (1, 3),
    "FULLY_CONNECTED": (1, 2), "BATCH_MATMUL": (0, 1), "PRELU": (1,), "GATHER": (0,),
    "EMBEDDING_LOOKUP": (1,), "UNIDIRECTIONAL_SEQUENCE_LSTM": None, "LSTM": None,
}
TENSOR_OPERAND_OPS = frozenset({"ADD", "SUB", "MUL", "DIV"})
