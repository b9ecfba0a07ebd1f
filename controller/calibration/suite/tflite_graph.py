"""A small float graph of TFLite builtins, written out as fp32, fp16 or full-int8 TFLite.

The kernel generators describe each kernel once, in float32 with its real weights; this module writes it
in the three forms the TFLite converter produces:
- fp32: the graph as is;
- fp16 (the converter's float16 quantization): every float constant stored as FLOAT16 and turned back
  into float32 by a DEQUANTIZE op, activations and I/O stay float32;
- int8 (full integer quantization): int8 activations and I/O (asymmetric, per tensor, ranges calibrated
  by running the fp32 model on seeded standard-normal inputs, which is also what the agent feeds a float
  model), weights symmetric int8 per output channel, biases int32 at input scale x weight scale, other
  float constants int8 per tensor; ops TFLite requires to keep their input's scale (pooling, reshape,
  transpose, pad, resize, concatenation) share it, and SOFTMAX / LOGISTIC / TANH get the fixed output
  quantization their int8 kernels demand. Op versions follow TFLite's rules (the writer applies them).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...zoo.tflite_writer import QParams, TfliteWriter, load_schema

CALIBRATION_SAMPLES = 16
CALIBRATION_SEED = 7

# Ops whose int8 kernels require the output to keep the input's quantization (the converter's
# "same scale" ops); CONCATENATION ties all its inputs too.
_SAME_SCALE = frozenset({"MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE", "TRANSPOSE", "PAD", "RESIZE_BILINEAR",
                         "RESIZE_NEAREST_NEIGHBOR", "CONCATENATION", "REDUCE_MAX", "MAXIMUM", "MINIMUM"})
# The only output quantization TFLite's int8 kernels accept for these.
_FIXED_OUTPUT = {"SOFTMAX": QParams(1.0 / 256.0, -128), "LOGISTIC": QParams(1.0 / 256.0, -128),
                 "TANH": QParams(1.0 / 128.0, 0)}


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    kind: str  # "input", "act" (computed), "weight", "bias", "const" (other float), "index" (int32)
    data: np.ndarray | None = None
    axis: int | None = None  # weight: its output-channel axis, quantized per channel along it
    bias_of: tuple[int, int] | None = None  # bias: (input, weight) whose scales give its scale


@dataclass
class Op:
    op: str
    inputs: list[int]
    outputs: list[int]
    options_type: str = "NONE"
    options: dict[str, Any] = field(default_factory=dict)


class KernelGraph:
    """Tensors and ops of one kernel in float32; built by the generators, emitted by `emit`."""

    def __init__(self, name: str, rng: np.random.Generator) -> None:
        self.name = name
        self.rng = rng
        self.schema = load_schema()
        self.tensors: list[Tensor] = []
        self.ops: list[Op] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []

    def _add(self, t: Tensor) -> int:
        self.tensors.append(t)
        return len(self.tensors) - 1

    def input(self, shape: Sequence[int]) -> int:
        name = "x" if not self.inputs else f"x{len(self.inputs) + 1}"
        idx = self._add(Tensor(name, tuple(shape), "input"))
        self.inputs.append(idx)
        return idx

    def weight(self, shape: Sequence[int], fan_in: int, axis: int) -> int:
        data = (self.rng.standard_normal(tuple(shape)) / np.sqrt(max(fan_in, 1))).astype(np.float32)
        return self._add(Tensor(f"w{len(self.tensors)}", tuple(shape), "weight", data, axis))

    def bias(self, n: int, x: int, w: int) -> int:
        data = self.rng.standard_normal(n).astype(np.float32)
        return self._add(Tensor(f"b{len(self.tensors)}", (n,), "bias", data, bias_of=(x, w)))

    def const(self, values: np.ndarray | float) -> int:
        data = np.asarray(values, np.float32)
        return self._add(Tensor(f"c{len(self.tensors)}", data.shape, "const", data))

    def random_const(self, shape: Sequence[int]) -> int:
        return self.const(self.rng.standard_normal(tuple(shape)).astype(np.float32))

    def index(self, values: Sequence[int] | Sequence[Sequence[int]]) -> int:
        data = np.asarray(values, np.int32)
        return self._add(Tensor(f"i{len(self.tensors)}", data.shape, "index", data))

    def op(self, op: str, inputs: Sequence[int], shape: Sequence[int], options_type: str = "NONE",
           **options: Any) -> int:
        out = self._add(Tensor(f"{op.lower()}_{len(self.ops)}", tuple(int(d) for d in shape), "act"))
        self.ops.append(Op(op, list(inputs), [out], options_type, options))
        return out

    def shape(self, idx: int) -> tuple[int, ...]:
        return self.tensors[idx].shape

    def finish(self, y: int) -> None:
        self.tensors[y].name = "y"
        self.outputs = [y]

    @property
    def has_float_constants(self) -> bool:
        return any(t.kind in ("weight", "bias", "const") for t in self.tensors)


def emit(g: KernelGraph, dtype: str, description: str) -> bytes:
    if dtype == "int8":
        return _write(g, "int8", description, _int8_params(g))[0]
    return _write(g, dtype, description, {})[0]


def _write(g: KernelGraph, dtype: str, description: str, q: dict[int, QParams]) -> tuple[bytes, dict[int, int]]:
    """The model and, for each graph tensor, the index it got in the file."""
    w = TfliteWriter()
    ids: dict[int, int] = {}
    weight_scales: dict[int, np.ndarray] = {}
    for i, t in enumerate(g.tensors):
        if t.kind in ("input", "act"):
            if dtype == "int8":
                ids[i] = w.tensor(t.name, t.shape, "INT8", quant=w.int8_quant(q[i]))
            else:
                ids[i] = w.tensor(t.name, t.shape, "FLOAT32")
        elif t.kind == "index" or dtype == "fp32":
            ids[i] = w.const(t.name, t.data)
        elif dtype == "fp16":
            half = w.const(t.name, t.data.astype(np.float16))
            ids[i] = w.tensor(f"{t.name}_dequantize", t.shape, "FLOAT32")
            w.op("DEQUANTIZE", [half], [ids[i]])
        elif t.kind == "weight":
            ids[i], weight_scales[i] = _int8_weight(w, t)
        elif t.kind == "bias":
            x, wt = t.bias_of
            scales = q[x].scale * weight_scales[wt]
            data = np.round(t.data / scales).astype(np.int32)
            ids[i] = w.const(t.name, data, w.quant(scales, [0] * len(scales), 0))
        else:  # another float constant: int8, per tensor, over its own range
            qp = _for_range(float(t.data.min()), float(t.data.max()))
            data = np.clip(np.round(t.data / qp.scale) + qp.zero_point, -128, 127).astype(np.int8)
            ids[i] = w.const(t.name, data, w.int8_quant(qp))
    for op in g.ops:
        options = None
        if op.options_type != "NONE":
            options = getattr(w.schema, op.options_type + "T")()
            for key, value in op.options.items():
                setattr(options, key, value)
        w.op(op.op, [ids[i] for i in op.inputs], [ids[o] for o in op.outputs], options, op.options_type)
    data = w.finish([ids[i] for i in g.inputs], [ids[o] for o in g.outputs], g.name, description)
    return data, ids


def _int8_weight(w: TfliteWriter, t: Tensor) -> tuple[int, np.ndarray]:
    assert t.data is not None and t.axis is not None
    rows = np.moveaxis(t.data, t.axis, 0).reshape(t.shape[t.axis], -1)
    scales = np.maximum(np.abs(rows).max(axis=1), 1e-8) / 127.0  # symmetric: zero point 0
    shape = [1] * t.data.ndim
    shape[t.axis] = -1
    data = np.clip(np.round(t.data / scales.reshape(shape)), -127, 127).astype(np.int8)
    return w.const(t.name, data, w.quant(scales, [0] * len(scales), t.axis)), scales


def _for_range(lo: float, hi: float) -> QParams:
    if max(hi, 0.0) - min(lo, 0.0) < 1e-6:  # an all-zero tensor: any scale represents it, keep a sane one
        hi = 1.0
    return QParams.for_range(lo, hi)


def _int8_params(g: KernelGraph) -> dict[int, QParams]:
    """Per-tensor int8 quantization of every activation, from the fp32 model's observed ranges."""
    ranges = calibrate(g)
    group = list(range(len(g.tensors)))  # union-find over tensors that must share a quantization

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    for op in g.ops:
        if op.op in _SAME_SCALE:
            tied = [i for i in op.inputs if g.tensors[i].kind in ("input", "act")] + op.outputs
            for i in tied[1:]:
                group[root(i)] = root(tied[0])
    merged: dict[int, tuple[float, float]] = {}
    for i, (lo, hi) in ranges.items():
        r = root(i)
        a, b = merged.get(r, (lo, hi))
        merged[r] = (min(a, lo), max(b, hi))
    q = {i: _for_range(*merged[root(i)]) for i in ranges}
    for op in g.ops:
        if op.op in _FIXED_OUTPUT:
            q[op.outputs[0]] = _FIXED_OUTPUT[op.op]
    return q


def calibrate(g: KernelGraph) -> dict[int, tuple[float, float]]:
    """(min, max) of every input and activation over seeded standard-normal inputs, run in fp32."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    data, ids = _write(g, "fp32", "calibration", {})
    interp = Interpreter(model_content=data, experimental_preserve_all_tensors=True,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    rng = np.random.default_rng(CALIBRATION_SEED)
    wanted = [i for i, t in enumerate(g.tensors) if t.kind in ("input", "act")]
    ranges: dict[int, tuple[float, float]] = {}
    for _ in range(CALIBRATION_SAMPLES):
        for i in g.inputs:
            interp.set_tensor(ids[i], rng.standard_normal(g.tensors[i].shape).astype(np.float32))
        interp.invoke()
        for i in wanted:
            value = interp.get_tensor(ids[i])
            lo, hi = float(value.min()), float(value.max())
            if i in ranges:
                lo, hi = min(lo, ranges[i][0]), max(hi, ranges[i][1])
            ranges[i] = (lo, hi)
    return ranges
