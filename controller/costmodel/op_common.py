"""What every op counter shares: the Work record, shape access that refuses to guess, window geometry."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .ir import Graph, Node, Tensor


class Uncountable(Exception):
    """This node cannot be counted; the message says why."""


@dataclass
class Work:
    macs: int = 0
    elementwise_ops: int = 0
    kind: str = "elementwise"
    # Finer shape class inside a kind (e.g. conv "pointwise"): kernels of one kind differ a lot in
    # efficiency, so calibration may fit "conv:pointwise" apart from "conv".
    variant: str = ""


def conv_variant(cin_per_group: int, kernel: Sequence[int], groups: int, cin: int) -> str:
    """"grouped" (1 < groups < C_in), "pointwise" (1x1), "stem" (few input channels), else "spatial"."""
    if 1 < groups < cin:
        return "grouped"
    if all(k == 1 for k in kernel):
        return "pointwise"
    if cin_per_group <= 4:
        return "stem"
    return "spatial"


class Ctx:
    """One node with its graph: shape access that raises Uncountable instead of guessing."""

    def __init__(self, graph: Graph, node: Node) -> None:
        self.graph = graph
        self.node = node

    def tensor(self, i: int) -> Tensor | None:
        if i >= len(self.node.inputs) or not self.node.inputs[i]:
            return None
        return self.graph.tensor(self.node.inputs[i])

    def has(self, i: int) -> bool:
        return self.tensor(i) is not None

    def shape(self, i: int) -> tuple[int, ...]:
        t = self.tensor(i)
        if t is None:
            raise Uncountable(f"input {i} is missing")
        if t.shape is None:
            raise Uncountable(f"shape of input {t.name!r} is unknown")
        return t.shape

    def out(self, i: int = 0) -> tuple[int, ...]:
        if i >= len(self.node.outputs) or not self.node.outputs[i]:
            raise Uncountable(f"output {i} is missing")
        t = self.graph.tensor(self.node.outputs[i])
        if t is None or t.shape is None:
            raise Uncountable(f"shape of output {self.node.outputs[i]!r} is unknown (data-dependent?)")
        return t.shape

    def out_or_none(self, i: int = 0) -> tuple[int, ...] | None:
        try:
            return self.out(i)
        except Uncountable:
            return None

    def numel(self, i: int) -> int:
        return math.prod(self.shape(i))

    def out_numel(self, i: int = 0) -> int:
        return math.prod(self.out(i))

    def attr(self, name: str, default: Any = None) -> Any:
        return self.node.attrs.get(name, default)

    def n_inputs(self) -> int:
        return sum(1 for n in self.node.inputs if n)


# ---------------------------------------------------------------------------------------------- geometry


def conv_output_spatial(
    in_spatial: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int],
    pads: Sequence[int] | None, auto_pad: str = "NOTSET", ceil_mode: bool = False,
) -> tuple[int, ...]:
    """Output spatial size of a conv/pool window (ONNX semantics; TFLite SAME/VALID map onto auto_pad)."""
    rank = len(in_spatial)
    pads = list(pads) if pads else [0] * (2 * rank)
    out = []
    for i in range(rank):
        n, s, eff = in_spatial[i], strides[i], dilations[i] * (kernel[i] - 1) + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER", "SAME"):
            o = -(-n // s)
        elif auto_pad == "VALID":
            o = (n - eff) // s + 1
        else:
            span = n + pads[i] + pads[i + rank] - eff
            o = (-(-span // s) if ceil_mode else span // s) + 1
        out.append(max(o, 0))
    return tuple(out)


def onnx_window(c: Ctx, spatial_rank: int, kernel: Sequence[int]) -> dict[str, Any]:
    return {
        "strides": list(c.attr("strides") or [1] * spatial_rank),
        "dilations": list(c.attr("dilations") or [1] * spatial_rank),
        "pads": list(c.attr("pads") or [0] * (2 * spatial_rank)),
        "auto_pad": c.attr("auto_pad", "NOTSET") or "NOTSET",
        "kernel": list(kernel),
    }


def matmul_macs(c: Ctx, a_idx: int, b_idx: int, trans_a: bool = False) -> int:
    a = c.shape(a_idx)
    b = c.shape(b_idx)
    if not a or not b:
        raise Uncountable("MatMul of a scalar")
    k = (a[-2] if trans_a and len(a) >= 2 else a[-1])
    out = c.out_or_none()
    if out is None:
        out = matmul_out_shape(a, b)
    return math.prod(out) * k


def matmul_out_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return b[:-2] + (b[-1],)
    if len(b) == 1:
        return a[:-1]
    batch_a, batch_b = a[:-2], b[:-2]
    rank = max(len(batch_a), len(batch_b))
    batch_a = (1,) * (rank - len(batch_a)) + batch_a
    batch_b = (1,) * (rank - len(batch_b)) + batch_b
    batch = tuple(max(x, y) for x, y in zip(batch_a, batch_b, strict=True))
    return batch + (a[-2], b[-1])


def interp_ops(mode: str, resized_axes: int) -> int:
    # Per output element: nearest copies; (bi/tri)linear blends 2^r taps, cubic 4^r taps (mul + add each).
    if "linear" in mode:
        taps = 2 ** resized_axes
    elif "cubic" in mode:
        taps = 4 ** resized_axes
    else:
        return 0
    return 2 * taps - 1 if resized_axes else 0


def per_output(ops: int, kind: str) -> Callable[[Ctx], Work]:
    return lambda c: Work(elementwise_ops=ops * c.out_numel(), kind=kind)


def variadic(extra: int) -> Callable[[Ctx], Work]:
    # Sum/Max/Min of n inputs: n-1 binary ops per element; Mean adds the divide.
    return lambda c: Work(elementwise_ops=max(c.n_inputs() - 1 + extra, 0) * c.out_numel(), kind="elementwise")


def per_input(ops: int, kind: str) -> Callable[[Ctx], Work]:
    return lambda c: Work(elementwise_ops=ops * c.numel(0), kind=kind)


def reduce_op(per_in: int, per_out: int) -> Callable[[Ctx], Work]:
    return lambda c: Work(elementwise_ops=per_in * c.numel(0) + per_out * c.out_numel(), kind="reduce")


def data_movement(c: Ctx) -> Work:
    return Work(kind="data_movement")
