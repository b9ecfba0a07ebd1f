"""A user's .tflite model split into its distinct kernels, each as a standalone one-op model.

`bench --per-op` on a TFLite model runs these "in isolation" on the board: LiteRT's Python API has no op
profiler and XNNPACK shows as one node, so a kernel's time is measured by running the op alone with the
model's own constant tensors (weights, bias, quantization) and fresh inputs.

Two ops are the same kernel when they share opcode and version, options, and for every input and output
its shape (as the interpreter computes it), dtype, quantization scheme (none / per tensor / per channel
along an axis, symmetric or not: the kernel's code path, not the scale values, which differ in every layer)
and role (activation, constant, constant computed at run time, state). Constant *values* do not matter:
two convs with the same shapes and different weights cost the same.

A constant computed from constants only (fp16 weights behind a DEQUANTIZE) comes along with the op that
uses it, so the runtime sees what it saw in the model. What cannot stand alone comes back with `model=None`
and a `reason`: custom ops, ops that call subgraphs (WHILE, IF, ...), an integer input (a shape, axes,
indices) computed at run time, whose values random data cannot stand in for, and the op computing such a
constant itself (LiteRT runs it once at load, not per inference). Only the main subgraph is split.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ControllerError
from ..zoo.tflite_writer import TfliteWriter, load_schema

_CUSTOM = 32  # BuiltinOperator.CUSTOM
_ACTIVATIONS = {0: None, 1: "relu", 2: "relu_n1_to_1", 3: "relu6", 4: "tanh", 5: "sign_bit"}


@dataclass(frozen=True)
class TensorSignature:
    """What of one operand decides which kernel runs and what it costs."""

    shape: tuple[int, ...]
    dtype: str  # "float32", "int8", ...
    quant: str  # "none", "per-tensor", "per-tensor symmetric", "per-channel(axis=0) symmetric", ...
    role: str  # "activation", "constant", "computed constant", "state"


@dataclass(frozen=True)
class ExtractedKernel:
    op: str  # builtin name (CONV_2D) or the custom op's code
    version: int
    options: tuple[tuple[str, Any], ...]  # the op's builtin options, sorted by name
    inputs: tuple[TensorSignature | None, ...]  # None: an omitted optional input
    outputs: tuple[TensorSignature, ...]
    op_indices: tuple[int, ...]  # the ops of the model's main subgraph this kernel stands for
    label: str
    model: bytes | None  # the standalone one-op model, or None when the op cannot run alone
    reason: str | None = None  # why `model` is None

    @property
    def count(self) -> int:
        return len(self.op_indices)


def unique_kernels(path: str | Path) -> list[ExtractedKernel]:
    """Each distinct op configuration of the model at `path` once, in the order it first appears."""
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise ControllerError(f"cannot read TFLite model {path}: {exc.strerror or exc}") from exc
    try:
        return _Extractor(path.name, buf).kernels()
    except (IndexError, KeyError) as exc:  # a tensor or operator-code index past the tables it has
        raise ControllerError(f"{path.name}: damaged TFLite model ({type(exc).__name__}: {exc})") from exc


class _Extractor:
    def __init__(self, name: str, buf: bytes) -> None:
        s = self.s = load_schema()
        if len(buf) < 8 or not s.Model.ModelBufferHasIdentifier(buf, 0):
            raise ControllerError(f"{name}: not a TFLite flatbuffer (file identifier {buf[4:8]!r}, expected b'TFL3')")
        try:
            self.model = s.ModelT.InitFromPackedBuf(buf, 0)
        except Exception as exc:  # a damaged flatbuffer raises whatever the generated reader hits
            raise ControllerError(f"{name}: cannot read the TFLite flatbuffer ({type(exc).__name__}: {exc})") from exc
        if not self.model.subgraphs:
            raise ControllerError(f"{name}: TFLite model has no subgraphs")
        self.name = name
        self.buf = buf
        self.graph = self.model.subgraphs[0]
        self.tensors = self.graph.tensors or []
        self.ops = self.graph.operators or []
        self.op_names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
        self.type_names = {v: k.lower() for k, v in vars(s.TensorType).items() if not k.startswith("_")}
        self.shapes = _runtime_shapes(buf, len(self.tensors))
        self.producer = {t: i for i, op in enumerate(self.ops) for t in _ints(op.outputs)}
        self.roles = self._roles()

    # -- what each tensor is ----------------------------------------------------------------------

    def _buffer(self, t: Any) -> Any:
        if t.buffer <= 0 or t.buffer >= len(self.model.buffers or []):
            return None
        return self.model.buffers[t.buffer]

    def _has_data(self, t: Any) -> bool:
        b = self._buffer(t)
        # offset > 1: data appended after the flatbuffer (models over 2 GB); 1 is the "empty" sentinel.
        return b is not None and ((b.data is not None and len(b.data) > 0) or (b.offset > 1 and b.size > 0))

    def _data(self, t: Any) -> bytes | None:
        """A tensor's constant bytes, or None when it has none."""
        if not self._has_data(t):
            return None
        b = self._buffer(t)
        if b.data is not None and len(b.data):
            return np.asarray(b.data, np.uint8).tobytes()
        return self.buf[b.offset:b.offset + b.size]

    def _roles(self) -> dict[int, str]:
        graph_inputs = set(_ints(self.graph.inputs))
        roles: dict[int, str] = {}
        for i, t in enumerate(self.tensors):
            if t.isVariable:
                roles[i] = "state"
            elif i not in graph_inputs and self._has_data(t):
                roles[i] = "constant"
            else:
                roles[i] = "activation"
        for op in self.ops:  # ops are in execution order: a producer comes before its users
            ins = [i for i in _ints(op.inputs) if i >= 0]
            if ins and all(roles[i] in ("constant", "computed constant") for i in ins):
                for o in _ints(op.outputs):
                    roles[o] = "computed constant"
        return roles

    def _signature(self, index: int) -> TensorSignature | None:
        if index < 0:
            return None
        t = self.tensors[index]
        shape = self.shapes.get(index, tuple(int(d) for d in t.shape) if t.shape is not None else ())
        return TensorSignature(tuple(shape), self.type_names.get(t.type, f"type{t.type}"), _quant_scheme(t),
                               self.roles[index])

    def _op_name(self, code: Any) -> str:
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        if builtin == _CUSTOM:
            return _text(code.customCode) or "CUSTOM"
        return self.op_names.get(builtin, f"BUILTIN_{builtin}")

    # -- grouping -----------------------------------------------------------------------------------

    def kernels(self) -> list[ExtractedKernel]:
        groups: dict[tuple, list[int]] = {}
        for i, op in enumerate(self.ops):
            groups.setdefault(self._key(op), []).append(i)
        return [self._kernel(indices) for indices in groups.values()]

    def _key(self, op: Any) -> tuple:
        code = self.model.operatorCodes[op.opcodeIndex]
        custom = bytes(np.asarray(op.customOptions, np.uint8)) if op.customOptions is not None else b""
        return (self._op_name(code), int(code.version), _options(op.builtinOptions), _options(op.builtinOptions2),
                custom, tuple(self._signature(i) for i in _ints(op.inputs)),
                tuple(self._signature(i) for i in _ints(op.outputs)))

    def _kernel(self, indices: list[int]) -> ExtractedKernel:
        op = self.ops[indices[0]]
        code = self.model.operatorCodes[op.opcodeIndex]
        name, version = self._op_name(code), int(code.version)
        inputs = tuple(self._signature(i) for i in _ints(op.inputs))
        outputs = tuple(self._signature(i) for i in _ints(op.outputs))
        options = _options(op.builtinOptions)
        label = _label(name, version, options, inputs, outputs)
        reason = self._cannot_stand_alone(op, code, name)
        model = None
        if reason is None:
            model, reason = self._standalone(indices[0], label)
        return ExtractedKernel(name, version, options, inputs, outputs, tuple(indices), label, model, reason)

    def _cannot_stand_alone(self, op: Any, code: Any, name: str) -> str | None:
        if max(int(code.builtinCode), int(code.deprecatedBuiltinCode)) == _CUSTOM:
            return (f"custom op {name!r}: its kernel comes with the application that registers it, "
                    "not with LiteRT, so it cannot run alone")
        called = sorted({f"{k}={v}" for options in (op.builtinOptions, op.builtinOptions2) if options is not None
                         for k, v in vars(options).items() if "subgraph" in k.lower()})
        if called:
            return f"{name} calls subgraphs ({', '.join(called)}): the ops inside them are not one kernel"
        outs = _ints(op.outputs)
        if outs and all(self.roles[o] == "computed constant" for o in outs):
            return (f"{name} computes a constant from constants: LiteRT does it once when it prepares the model "
                    "(XNNPACK folds it into the weights), not per inference; it is part of its users' models")
        for slot, i in enumerate(_ints(op.inputs)):
            if i < 0 or self.roles[i] != "activation" or i not in self.producer:
                continue
            t = self.tensors[i]
            dtype = self.type_names.get(t.type, "")
            if not dtype.startswith("float") and _quant_scheme(t) == "none":
                producer = self.ops[self.producer[i]]
                by = self._op_name(self.model.operatorCodes[producer.opcodeIndex])
                return (f"input {slot} ({_text(t.name)!r}, {dtype}) is computed at run time by {by} "
                        f"(op {self.producer[i]}): its values are a shape or indices, which random data cannot "
                        "stand in for")
        return None

    # -- the standalone model -----------------------------------------------------------------------

    def _standalone(self, index: int, label: str) -> tuple[bytes | None, str | None]:
        w = TfliteWriter()
        new: dict[int, int] = {}
        graph_inputs: list[int] = []

        def fresh(i: int, data: bytes | None = None, runtime_shape: bool = True) -> int:
            t = copy.deepcopy(self.tensors[i])
            if runtime_shape:  # what the op saw when the model ran, fixed (no dynamic signature)
                t.shape, t.shapeSignature = list(self.shapes.get(i, _ints(t.shape))), None
            new[i] = w.adopt(t, data)
            return new[i]

        def tensor(i: int) -> int:
            if i < 0:
                return -1
            if i in new:
                return new[i]
            role = self.roles[i]
            if role == "activation":
                graph_inputs.append(fresh(i))
            elif role == "computed constant":  # its producers come along (e.g. a DEQUANTIZE of fp16 weights)
                producer = self.ops[self.producer[i]]
                outs = [new[o] if o in new else fresh(o) for o in _ints(producer.outputs)]
                self._copy_op(w, producer, [tensor(k) for k in _ints(producer.inputs)], outs)
            else:  # constant or state: the model's own data
                fresh(i, self._data(self.tensors[i]), runtime_shape=False)
            return new[i]

        op = self.ops[index]
        ins = [tensor(i) for i in _ints(op.inputs)]
        outs = [fresh(o) for o in _ints(op.outputs)]
        self._copy_op(w, op, ins, outs)
        seen: set[str] = set()
        for k, i in enumerate(graph_inputs + outs):  # the signature needs present, distinct names
            name = _text(w.tensors[i].name)
            if not name or name in seen:
                name = f"{name or 'tensor'}_{k}"
            w.tensors[i].name = name
            seen.add(name)
        data = w.finish(graph_inputs, outs, label, f"edgebench: one kernel of {self.name}")
        error = _check_runs(data, [self.shapes.get(o) for o in _ints(op.outputs)])
        return (data, None) if error is None else (None, error)

    def _copy_op(self, w: TfliteWriter, op: Any, ins: Sequence[int], outs: Sequence[int]) -> None:
        o = copy.deepcopy(op)
        if _ints(o.intermediates):
            o.intermediates = [w.adopt(copy.deepcopy(self.tensors[i]), None) for i in _ints(o.intermediates)]
        o.mutatingVariableInputs = None
        w.copy_op(copy.deepcopy(self.model.operatorCodes[op.opcodeIndex]), o, ins, outs)


def _ints(values: Any) -> list[int]:
    """An object-API index vector (a list, a numpy array or None) as ints."""
    return [] if values is None else [int(v) for v in values]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _runtime_shapes(buf: bytes, n_tensors: int) -> dict[int, tuple[int, ...]]:
    """Shapes as the interpreter computes them when it prepares the model; {} when it cannot."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        # Without XNNPACK: a delegated partition does not resize its inner tensors.
        interp = Interpreter(model_content=buf,
                             experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        interp.allocate_tensors()
    except Exception:  # a custom op or a model LiteRT refuses: fall back to the stored shapes
        return {}
    return {int(d["index"]): tuple(int(x) for x in d["shape"]) for d in interp.get_tensor_details()
            if int(d["index"]) < n_tensors}


def _check_runs(data: bytes, want: Sequence[tuple[int, ...] | None]) -> str | None:
    """None when LiteRT prepares the one-op model with the original op's output shapes; else why not."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        interp = Interpreter(model_content=data,
                             experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        interp.allocate_tensors()
    except Exception as exc:
        text = " ".join(str(exc).split())[:300] or type(exc).__name__
        return f"the one-op model does not prepare in LiteRT: {text}"
    got = [tuple(int(x) for x in d["shape"]) for d in interp.get_output_details()]
    if any(w is not None and tuple(w) != g for w, g in zip(want, got, strict=True)):
        return f"alone the op computes output shapes {got}, in the model {list(want)}"
    return None


def _quant_scheme(t: Any) -> str:
    q = t.quantization
    if q is None or q.scale is None or len(q.scale) == 0:
        return "none"
    symmetric = q.zeroPoint is None or not np.any(np.asarray(q.zeroPoint))
    kind = f"per-channel(axis={q.quantizedDimension})" if len(q.scale) > 1 else "per-tensor"
    return f"{kind} symmetric" if symmetric else kind


def _hashable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if hasattr(value, "__dict__"):
        return _options(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _options(options: Any) -> tuple[tuple[str, Any], ...]:
    if options is None:
        return ()
    return tuple(sorted((k, _hashable(v)) for k, v in vars(options).items()))


def _shape(s: TensorSignature | None) -> str:
    return "x".join(str(d) for d in s.shape) if s is not None and s.shape else "scalar"


def _label(name: str, version: int, options: tuple[tuple[str, Any], ...], inputs: Sequence[TensorSignature | None],
           outputs: Sequence[TensorSignature]) -> str:
    """E.g. 'CONV_2D v3 1x56x56x24 -> 1x56x56x144 k1x1 s1 SAME relu6 int8 (fp16 weights via DEQUANTIZE)'."""
    opts = dict(options)
    acts = [s for s in inputs if s is not None and s.role == "activation"]
    parts = [f"{name} v{version}", " ".join(_shape(s) for s in acts) or "(constants)", "->",
             " ".join(_shape(s) for s in outputs)]
    weights = inputs[1] if len(inputs) > 1 else None
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D") and weights is not None and len(weights.shape) == 4:
        parts.append(f"k{weights.shape[1]}x{weights.shape[2]}")
    if "filterHeight" in opts:
        parts.append(f"k{opts['filterHeight']}x{opts.get('filterWidth')}")
    if "strideH" in opts:
        parts.append(f"s{opts['strideH']}" + (f"x{opts['strideW']}" if opts.get("strideW") != opts["strideH"] else ""))
    if "padding" in opts:
        parts.append("VALID" if opts["padding"] == 1 else "SAME")
    act = _ACTIVATIONS.get(int(opts.get("fusedActivationFunction", 0) or 0))
    if act:
        parts.append(act)
    lead = acts[0] if acts else (outputs[0] if outputs else None)
    if lead is not None:
        parts.append(lead.dtype)
    if any(s is not None and s.role == "computed constant" for s in inputs):
        parts.append("(constants computed at load, e.g. fp16 weights via DEQUANTIZE)")
    return " ".join(parts)
