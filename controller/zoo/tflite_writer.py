"""One TFLite flatbuffer writer for everything edgebench generates (zoo models, kernel-suite models, the
one-op models cut out of a user's model), with the schema's object API: no TensorFlow needed.

It holds the tensors, buffers, operator codes and operators of one subgraph and packs them the way the
converter lays a model out: buffer 0 the empty sentinel, one buffer per tensor, constant data 16-byte
aligned, one operator code per (builtin, custom code, version), a `serving_default` signature.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .tflite_versions import Operand, builtin_version

MODEL_VERSION = 3  # the schema version every current TFLite runtime expects


def load_schema() -> Any:
    """The flatbuffer schema's generated Python module, which ships with ai-edge-litert."""
    try:
        from ai_edge_litert import schema_py_generated  # optional: only TFLite models need it
    except ImportError as e:
        raise RuntimeError(
            "building TFLite models needs the ai-edge-litert package (pip install ai-edge-litert); "
            "its schema module writes the flatbuffers") from e
    return schema_py_generated


@dataclass(frozen=True)
class QParams:
    """Per-tensor asymmetric int8 quantization."""

    scale: float
    zero_point: int

    @staticmethod
    def for_range(lo: float, hi: float) -> QParams:
        lo, hi = min(lo, 0.0), max(hi, 0.0)  # zero must be exactly representable
        scale = max(hi - lo, 1e-6) / 255.0
        return QParams(scale, int(np.clip(-128 - round(lo / scale), -128, 127)))

    @property
    def range(self) -> tuple[float, float]:
        return (-128 - self.zero_point) * self.scale, (127 - self.zero_point) * self.scale


_NUMPY_TYPES = {"float32": "FLOAT32", "float16": "FLOAT16", "int32": "INT32", "int64": "INT64", "int8": "INT8",
                "uint8": "UINT8", "int16": "INT16", "bool": "BOOL"}


@dataclass
class _PendingOp:
    op: Any  # OperatorT, opcodeIndex filled in at finish
    code: int
    name: str
    version: int | None
    custom_code: str | None


class TfliteWriter:
    def __init__(self) -> None:
        self.schema = load_schema()
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [self.schema.BufferT()]  # buffer 0: the empty sentinel
        self._ops: list[_PendingOp] = []
        self._type_names = {v: k for k, v in vars(self.schema.TensorType).items() if not k.startswith("_")}

    # -- tensors ----------------------------------------------------------------------------------

    def tensor(self, name: str, shape: Sequence[int], dtype: str, data: np.ndarray | bytes | None = None,
               quant: Any = None) -> int:
        """A tensor of TensorType `dtype` ("FLOAT32", "INT8", ...); constant when `data` is given."""
        if data is None:
            buf = self.schema.BufferT()
        else:
            buf = AlignedBuffer(self.schema, data)
        self.buffers.append(buf)
        t = self.schema.TensorT()
        t.name, t.shape = name, [int(d) for d in shape]
        t.type, t.buffer = getattr(self.schema.TensorType, dtype), len(self.buffers) - 1
        t.quantization = quant
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const(self, name: str, array: np.ndarray, quant: Any = None) -> int:
        array = np.asarray(array)
        dtype = _NUMPY_TYPES.get(array.dtype.name)
        if dtype is None:
            raise ValueError(f"constant {name!r}: no TFLite tensor type for numpy {array.dtype}")
        return self.tensor(name, array.shape, dtype, array, quant)

    def adopt(self, tensor: Any, data: bytes | None) -> int:
        """A copy of another model's tensor (object-API TensorT), with its constant data if any."""
        self.buffers.append(self.schema.BufferT() if data is None else AlignedBuffer(self.schema, data))
        tensor.buffer = len(self.buffers) - 1
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def quant(self, scales: Sequence[float], zero_points: Sequence[int], axis: int = 0) -> Any:
        q = self.schema.QuantizationParametersT()
        q.scale = [float(s) for s in scales]
        q.zeroPoint = [int(z) for z in zero_points]
        q.quantizedDimension = axis
        return q

    def int8_quant(self, q: QParams) -> Any:
        return self.quant([q.scale], [q.zero_point])

    def shape(self, index: int) -> list[int]:
        return list(self.tensors[index].shape)

    def type_name(self, index: int) -> str:
        return self._type_names[self.tensors[index].type]

    # -- operators --------------------------------------------------------------------------------

    def op(self, op: str, inputs: Sequence[int], outputs: Sequence[int], options: Any = None,
           options_type: str = "NONE", version: int | None = None) -> Any:
        """A builtin op; its version follows TFLite's rules for its tensors unless given."""
        o = self._operator(inputs, outputs)
        o.builtinOptionsType = getattr(self.schema.BuiltinOptions, options_type)
        o.builtinOptions = options
        self._ops.append(_PendingOp(o, getattr(self.schema.BuiltinOperator, op), op, version, None))
        return o

    def custom_op(self, custom_code: str, inputs: Sequence[int], outputs: Sequence[int],
                  custom_options: bytes = b"", version: int = 1) -> Any:
        """An op of the application's own (BuiltinOperator.CUSTOM), known by its custom code."""
        o = self._operator(inputs, outputs)
        o.customOptions = list(custom_options) or None
        self._ops.append(_PendingOp(o, self.schema.BuiltinOperator.CUSTOM, "CUSTOM", version, custom_code))
        return o

    def copy_op(self, code: Any, op: Any, inputs: Sequence[int], outputs: Sequence[int]) -> Any:
        """Another model's operator (OperatorCodeT, OperatorT) on this model's tensors, version kept."""
        op.inputs, op.outputs = list(inputs), list(outputs)
        custom = code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        self._ops.append(_PendingOp(op, builtin, "", int(code.version), custom))
        return op

    def _operator(self, inputs: Sequence[int], outputs: Sequence[int]) -> Any:
        o = self.schema.OperatorT()
        o.inputs, o.outputs = list(inputs), list(outputs)
        return o

    def _operand(self, index: int) -> Operand | None:
        if index < 0:
            return None
        t = self.tensors[index]
        scales = tuple(t.quantization.scale) if t.quantization is not None and t.quantization.scale is not None \
            else ()
        return Operand(self._type_names[t.type], tuple(int(d) for d in t.shape), scales)

    def _version(self, p: _PendingOp) -> int:
        if p.version is not None:
            return p.version
        return builtin_version(p.name, [self._operand(i) for i in p.op.inputs],
                               [self._operand(i) for i in p.op.outputs], p.op.builtinOptions)

    # -- result -----------------------------------------------------------------------------------

    def finish(self, inputs: Sequence[int], outputs: Sequence[int], name: str, description: str) -> bytes:
        """The packed model; its signature names each input and output after its tensor."""
        import flatbuffers  # comes with ai-edge-litert, which only TFLite models need

        s = self.schema
        codes: list[Any] = []
        index: dict[tuple[int, str | None, int], int] = {}
        for p in self._ops:
            key = (p.code, p.custom_code, self._version(p))
            if key not in index:
                index[key] = len(codes)
                oc = s.OperatorCodeT()
                # Codes above 127 live only in builtinCode; old readers look at the deprecated byte.
                oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = p.code, min(p.code, 127), key[2]
                if p.custom_code is not None:
                    oc.customCode = p.custom_code
                codes.append(oc)
            p.op.opcodeIndex = index[key]
        graph = s.SubGraphT()
        graph.tensors, graph.operators, graph.name = self.tensors, [p.op for p in self._ops], name
        graph.inputs, graph.outputs = list(inputs), list(outputs)
        signature = s.SignatureDefT()
        signature.signatureKey, signature.subgraphIndex = "serving_default", 0
        signature.inputs = [self._tensor_map(i) for i in inputs]
        signature.outputs = [self._tensor_map(i) for i in outputs]
        model = s.ModelT()
        model.version, model.description = MODEL_VERSION, description
        model.operatorCodes, model.subgraphs, model.buffers = codes, [graph], self.buffers
        model.signatureDefs = [signature]
        size = sum(b.nbytes for b in self.buffers if isinstance(b, AlignedBuffer))
        builder = flatbuffers.Builder(size + (1 << 16))
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    def _tensor_map(self, index: int) -> Any:
        m = self.schema.TensorMapT()
        name = self.tensors[index].name
        m.name, m.tensorIndex = name.decode() if isinstance(name, bytes) else name, index
        return m


class AlignedBuffer:
    """A constant buffer packed 16-byte aligned (the schema's force_align), which the object API skips."""

    def __init__(self, schema: Any, data: np.ndarray | bytes) -> None:
        self._s = schema
        if not isinstance(data, bytes):  # an array, or a numpy scalar (never bytes(n): n zero bytes)
            array = np.asarray(data)
            data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        self.payload = data
        self.nbytes = len(self.payload)

    def Pack(self, builder: Any) -> int:  # noqa: N802 - the object API's method name
        builder.StartVector(1, self.nbytes, 16)
        builder.head -= self.nbytes
        builder.Bytes[builder.head:builder.head + self.nbytes] = self.payload
        data = builder.EndVector()
        self._s.BufferStart(builder)
        self._s.BufferAddData(builder, data)
        return self._s.BufferEnd(builder)
