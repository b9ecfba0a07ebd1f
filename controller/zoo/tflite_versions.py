"""TFLite's op-version rules for the builtins edgebench writes.

A runtime registers each builtin kernel for a range of versions, and a model must name the version its
tensors need (e.g. int8 CONV_2D is version 3): too low and the interpreter picks the wrong kernel or
refuses the model. These follow the converter's own table (tensorflow/lite/tools/versioning/op_version.cc)
for the cases this project writes; an op without a rule here is refused rather than guessed.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operand:
    """What the version rules look at in one of an op's tensors."""

    type: str  # TensorType name: "FLOAT32", "INT8", ...
    dims: tuple[int, ...]
    scales: tuple[float, ...] = ()  # quantization scales; () when not quantized

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1


def _int8_else_1(ins: Sequence[Operand | None], *_: Any) -> int:
    return 2 if _type(ins, 0) == "INT8" else 1


def _type(ins: Sequence[Operand | None], i: int) -> str | None:
    return ins[i].type if i < len(ins) and ins[i] is not None else None


def _conv(ins: Sequence[Operand | None], outs: Sequence[Operand], opts: Any) -> int:
    x, w = ins[0], ins[1]
    assert x is not None and w is not None
    if x.dims and w.dims and x.dims[-1] != w.dims[-1]:
        return 6  # grouped convolution: filter holds C_in / groups channels
    if x.type == "INT8" and w.type == "INT8" and outs[0].type == "INT8":
        return 3
    if x.type == "FLOAT32" and w.type == "INT8":
        return 5 if w.per_channel else 2  # hybrid
    return 1


def _depthwise(ins: Sequence[Operand | None], outs: Sequence[Operand], opts: Any) -> int:
    x, w = ins[0], ins[1]
    assert x is not None and w is not None
    if x.type == "FLOAT32" and w.type == "INT8":
        return 6 if w.per_channel else 4
    if x.type == "INT8" and w.type == "INT8" and outs[0].type == "INT8":
        return 3
    if getattr(opts, "dilationHFactor", 1) != 1 or getattr(opts, "dilationWFactor", 1) != 1:
        return 2
    return 1


def _fully_connected(ins: Sequence[Operand | None], outs: Sequence[Operand], opts: Any) -> int:
    x, w = ins[0], ins[1]
    assert x is not None and w is not None
    if x.type == "FLOAT32" and w.type == "INT8" and w.per_channel:
        return 12
    if len(ins) == 2:
        return 6  # no bias input
    if getattr(opts, "keepNumDims", False):
        return 5
    if x.type == "INT8" and w.type == "INT8" and outs[0].type == "INT8":
        return 4
    if x.type == "FLOAT32" and w.type == "INT8":
        return 9 if getattr(opts, "asymmetricQuantizeInputs", False) else 3
    return 1


def _mul(ins: Sequence[Operand | None], outs: Sequence[Operand], opts: Any) -> int:
    a, b = ins[0], ins[1]
    assert a is not None and b is not None
    if a.scales and b.scales and outs[0].scales and a.scales[0] * b.scales[0] / outs[0].scales[0] >= 1.0:
        return 3  # a rescale of at least 1 needs the version-3 kernel
    return 2 if a.type == "INT8" else 1


def _broadcast_over_4d(ins: Sequence[Operand | None]) -> bool:
    present = [i for i in ins if i is not None]
    return len(present) >= 2 and present[0].dims != present[1].dims and max(len(i.dims) for i in present) > 4


def _sub(ins: Sequence[Operand | None], outs: Sequence[Operand], opts: Any) -> int:
    if _broadcast_over_4d(ins):
        return 3
    return _int8_else_1(ins)


def _div(ins: Sequence[Operand | None], outs: Sequence[Operand], opts: Any) -> int:
    return 2 if _broadcast_over_4d(ins) else 1


def _rank_over_4(version_over_4: int):
    def rule(ins: Sequence[Operand | None], outs: Sequence[Operand], opts: Any) -> int:
        x = ins[0]
        assert x is not None
        if len(x.dims) > 4:
            return version_over_4
        return _int8_else_1(ins)
    return rule


def _resize(ins: Sequence[Operand | None], outs: Sequence[Operand], opts: Any) -> int:
    if getattr(opts, "halfPixelCenters", False) or getattr(opts, "alignCorners", False):
        return 3
    return _int8_else_1(ins)


def _resize_bilinear(ins: Sequence[Operand | None], outs: Sequence[Operand], opts: Any) -> int:
    if getattr(opts, "halfPixelCenters", False):  # align_corners alone stays at the int8 rule here
        return 3
    return _int8_else_1(ins)


def _dequantize(ins: Sequence[Operand | None], outs: Sequence[Operand], opts: Any) -> int:
    x = ins[0]
    assert x is not None
    if x.type in ("FLOAT16", "INT16"):
        return 3
    if x.type == "INT8":
        return 5 if x.per_channel else 2
    return 1


def _quantize(ins: Sequence[Operand | None], outs: Sequence[Operand], opts: Any) -> int:
    if outs[0].per_channel:
        return 3
    return 2 if outs[0].type == "INT16" else 1


def _always_1(*_: Any) -> int:
    return 1


_RULES = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "MUL": _mul,
    "ADD": _int8_else_1,
    "SUB": _sub,
    "DIV": _div,
    "MAX_POOL_2D": _int8_else_1,
    "AVERAGE_POOL_2D": _int8_else_1,
    "TRANSPOSE": _rank_over_4(4),
    "PAD": _rank_over_4(4),
    "CONCATENATION": _int8_else_1,
    "SOFTMAX": _int8_else_1,
    "MEAN": _int8_else_1,
    "RELU6": _int8_else_1,
    "RSQRT": _int8_else_1,
    "RELU": _int8_else_1,
    "TANH": _int8_else_1,
    "LOGISTIC": _int8_else_1,
    "BATCH_MATMUL": _int8_else_1,
    "SQUARED_DIFFERENCE": _int8_else_1,
    "EXP": _int8_else_1,
    "GELU": _int8_else_1,
    "RESIZE_BILINEAR": _resize_bilinear,
    "RESIZE_NEAREST_NEIGHBOR": _resize,
    "DEQUANTIZE": _dequantize,
    "QUANTIZE": _quantize,
    "HARD_SWISH": _always_1,
    "LEAKY_RELU": _always_1,  # version 2 is int16 only
    "RESHAPE": _always_1,
    "SPLIT_V": _int8_else_1,
    "PADV2": _rank_over_4(4),
    "POW": _int8_else_1,
    "MAXIMUM": _int8_else_1,
    "MINIMUM": _int8_else_1,
    "SQRT": _int8_else_1,
    "ABS": _int8_else_1,
    "NEG": _int8_else_1,
    "REDUCE_MAX": _int8_else_1,
    "SUM": _int8_else_1,
}


def builtin_version(op: str, inputs: Sequence[Operand | None], outputs: Sequence[Operand], options: Any) -> int:
    """The version the converter would write for `op` with these operands (None: an omitted optional input)."""
    rule = _RULES.get(op)
    if rule is None:
        raise ValueError(f"no op-version rule for TFLite builtin {op}; give the version explicitly")
    return rule(inputs, outputs, options)
