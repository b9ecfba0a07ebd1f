"""What one benchmarked kernel is: an op with its shape parameters, independent of the runtime.

A `KernelSpec` is what the suite samples, what a generator turns into a one-kernel model, and what a fitted
per-kernel-type model takes its features from. Shapes are NHWC-agnostic: `h`, `w`, `c*` are the logical sizes;
each generator lays them out as its runtime expects (ONNX NCHW, TFLite NHWC). Batch is 1 throughout.

Ops and their parameters (all ints unless said):
    conv        h, w, cin, cout, k, stride, groups, act        (depthwise: groups == cin == cout)
    fc          m, k, n, act                                    (m rows x k inputs -> n outputs, weights constant)
    matmul      b, m, k, n                                      (two activations: [b,m,k] x [b,k,n])
    pool        h, w, c, k, stride, mode ("max" / "avg")
    global_pool h, w, c                                         (average over h x w)
    binary      h, w, c, op ("add" / "mul" / "sub" / "div" / "pow" / "max" / "min"),
                bcast ("same" / "channel" / "scalar")
    unary       h, w, c, op ("relu" / "relu6" / "sigmoid" / "hardswish" / "hardsigmoid" / "silu" / "gelu" /
                            "tanh" / "leakyrelu" / "exp" / "erf" / "sqrt" / "reciprocal" / "abs" / "neg")
    reduce      m, n, mode ("mean" / "max" / "sum")                 (over the last axis of [1, m, n], kept)
    concat      h, w, c, n                                      (n inputs of h x w x c along channels)
    shuffle     h, w, c, groups                                 (channel shuffle: reshape-transpose-reshape)
    resize      h, w, c, scale, mode ("nearest" / "bilinear")
    softmax     m, n                                            (over the last axis)
    layernorm   m, n                                            (over the last axis, with scale and bias)
    attention   seq, dim, heads                                 (softmax(QK^T / sqrt(d)) V, Q/K/V given)
    se          h, w, c, r                                      (squeeze-excite: GAP, FC c->r, ReLU, FC r->c,
                                                                 sigmoid, multiply)
    pad         h, w, c, p                                      (zero pad p on each spatial side)
    transpose   h, w, c                                         (the layout flip between NCHW and NHWC)
`act` is "none", "relu", "relu6", "hardswish", "sigmoid" or "silu". Dtypes: "fp32", "int8" (ONNX: QDQ around the op so
onnxruntime runs its QLinear kernel with int8 I/O; TFLite: full int8 with int8 I/O) and "fp16" (fp16 weights).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

Param = Union[int, float, str]

OPS: dict[str, tuple[str, ...]] = {
    "conv": ("h", "w", "cin", "cout", "k", "stride", "groups", "act"),
    "fc": ("m", "k", "n", "act"),
    "matmul": ("b", "m", "k", "n"),
    "pool": ("h", "w", "c", "k", "stride", "mode"),
    "global_pool": ("h", "w", "c"),
    "binary": ("h", "w", "c", "op", "bcast"),
    "unary": ("h", "w", "c", "op"),
    "concat": ("h", "w", "c", "n"),
    "shuffle": ("h", "w", "c", "groups"),
    "resize": ("h", "w", "c", "scale", "mode"),
    "softmax": ("m", "n"),
    "layernorm": ("m", "n"),
    "attention": ("seq", "dim", "heads"),
    "se": ("h", "w", "c", "r"),
    "pad": ("h", "w", "c", "p"),
    "reduce": ("m", "n", "mode"),
    "transpose": ("h", "w", "c"),
}
DTYPES = ("fp32", "int8", "fp16")


@dataclass(frozen=True)
class KernelSpec:
    op: str
    params: tuple[tuple[str, Param], ...]  # in OPS[op]'s order
    dtype: str = "fp32"

    @staticmethod
    def make(op: str, dtype: str = "fp32", /, **params: Param) -> KernelSpec:
        if op not in OPS:
            raise ValueError(f"unknown kernel op {op!r} (known: {', '.join(OPS)})")
        if dtype not in DTYPES:
            raise ValueError(f"unknown kernel dtype {dtype!r} (known: {', '.join(DTYPES)})")
        names = OPS[op]
        missing = [n for n in names if n not in params]
        extra = [n for n in params if n not in names]
        if missing or extra:
            raise ValueError(f"kernel {op}: missing {missing}, unexpected {extra}")
        return KernelSpec(op, tuple((n, params[n]) for n in names), dtype)

    def __getitem__(self, name: str) -> Param:
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(name)

    @property
    def key(self) -> str:
        """A stable, readable name: also the model name the board sees, e.g. conv_h56_w56_cin32_..._fp32."""
        parts = [self.op] + [f"{k}{v}" for k, v in self.params] + [self.dtype]
        return "_".join(str(p) for p in parts)
