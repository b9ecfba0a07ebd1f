"""Tiny real models for the cost-model tests: ONNX through onnx.helper, TFLite through the schema object API."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import flatbuffers
import numpy as np
import onnx
from ai_edge_litert import schema_py_generated as s
from onnx import TensorProto, helper, numpy_helper

from edgebench.controller.costmodel import ModelCost, analyze_model

FLOAT = TensorProto.FLOAT


def weight(name: str, shape: Sequence[int], dtype: Any = np.float32, seed: int = 0) -> TensorProto:
    rng = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(dtype), np.integer):
        info = np.iinfo(dtype)
        data = rng.integers(max(info.min, -100), min(info.max, 100), size=shape).astype(dtype)
    else:
        data = rng.standard_normal(shape).astype(dtype)
    return numpy_helper.from_array(data, name)


def onnx_model(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, Sequence[int | str]],
    outputs: Sequence[str],
    initializers: Sequence[TensorProto] = (),
    input_types: dict[str, int] | None = None,
    opset: int = 17,
    extra_opsets: dict[str, int] | None = None,
) -> onnx.ModelProto:
    input_types = input_types or {}
    graph = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info(n, input_types.get(n, FLOAT), list(shape)) for n, shape in inputs.items()],
        [helper.make_empty_tensor_value_info(n) for n in outputs],
        list(initializers),
    )
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in (extra_opsets or {}).items()]
    return helper.make_model(graph, opset_imports=opsets, ir_version=9)


def save(model: onnx.ModelProto, directory: Path, name: str = "model.onnx") -> Path:
    path = directory / name
    onnx.save(model, str(path))
    return path


def analyze_onnx(directory: Path, model: onnx.ModelProto, input_shapes: dict | None = None) -> ModelCost:
    return analyze_model(save(model, directory), input_shapes)


def node_of(cost: ModelCost, op_type: str) -> Any:
    matches = [n for n in cost.nodes if n.op_type == op_type]
    assert len(matches) == 1, f"expected one {op_type}, found {[n.op_type for n in cost.nodes]}"
    return matches[0]


# ------------------------------------------------------------------------------------------------- TFLite

_DTYPES = {"float32": s.TensorType.FLOAT32, "int8": s.TensorType.INT8, "int32": s.TensorType.INT32,
           "uint8": s.TensorType.UINT8, "float16": s.TensorType.FLOAT16, "int64": s.TensorType.INT64}
_PLACEHOLDER_FOR_GREATER_OP_CODES = 127


class TfliteBuilder:
    """Builds a one-subgraph TFLite flatbuffer; shapes are stored as given (the writer's claim)."""

    def __init__(self) -> None:
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [s.BufferT()]  # buffer 0: the empty sentinel every model starts with
        self.opcodes: list[tuple[int, str | None]] = []
        self.ops: list[Any] = []

    def tensor(self, name: str, shape: Sequence[int], dtype: str = "float32", data: np.ndarray | None = None,
               quant: tuple[float, int] | None = None) -> int:
        t = s.TensorT()
        t.name = name
        t.shape = list(shape)
        t.type = _DTYPES[dtype]
        if data is not None:
            b = s.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        if quant is not None:
            q = s.QuantizationParametersT()
            q.scale, q.zeroPoint = [quant[0]], [quant[1]]
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const(self, name: str, array: np.ndarray, dtype: str | None = None,
              quant: tuple[float, int] | None = None) -> int:
        return self.tensor(name, array.shape, dtype or str(array.dtype), array, quant)

    def op(self, op: str, inputs: Sequence[int], outputs: Sequence[int], options: tuple[str, Any] | None = None,
           custom: str | None = None) -> None:
        code = s.BuiltinOperator.CUSTOM if custom else getattr(s.BuiltinOperator, op)
        key = (code, custom)
        if key not in self.opcodes:
            self.opcodes.append(key)
        o = s.OperatorT()
        o.opcodeIndex = self.opcodes.index(key)
        o.inputs, o.outputs = list(inputs), list(outputs)
        if options is not None:
            o.builtinOptionsType = getattr(s.BuiltinOptions, options[0])
            o.builtinOptions = options[1]
        self.ops.append(o)

    def build(self, inputs: Sequence[int], outputs: Sequence[int], version: int = 3) -> bytes:
        sg = s.SubGraphT()
        sg.tensors, sg.operators = self.tensors, self.ops
        sg.inputs, sg.outputs = list(inputs), list(outputs)
        model = s.ModelT()
        model.version = version
        model.subgraphs = [sg]
        model.buffers = self.buffers
        codes = []
        for code, custom in self.opcodes:
            oc = s.OperatorCodeT()
            oc.builtinCode = code
            # Codes past 127 keep the placeholder in the old int8 field, as the converter writes them.
            oc.deprecatedBuiltinCode = min(code, _PLACEHOLDER_FOR_GREATER_OP_CODES)
            if custom:
                oc.customCode = custom
            codes.append(oc)
        model.operatorCodes = codes
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    def save(self, directory: Path, inputs: Sequence[int], outputs: Sequence[int], name: str = "model.tflite",
             version: int = 3) -> Path:
        path = directory / name
        path.write_bytes(self.build(inputs, outputs, version))
        return path


def conv_options(padding: str = "SAME", stride: int = 1, act: int = 0, dilation: int = 1) -> tuple[str, Any]:
    o = s.Conv2DOptionsT()
    o.padding = getattr(s.Padding, padding)
    o.strideH = o.strideW = stride
    o.dilationHFactor = o.dilationWFactor = dilation
    o.fusedActivationFunction = act
    return "Conv2DOptions", o


def depthwise_options(padding: str = "SAME", stride: int = 1, act: int = 0) -> tuple[str, Any]:
    o = s.DepthwiseConv2DOptionsT()
    o.padding = getattr(s.Padding, padding)
    o.strideH = o.strideW = stride
    o.depthMultiplier = 1
    o.fusedActivationFunction = act
    return "DepthwiseConv2DOptions", o


def pool_options(k: int, stride: int, padding: str = "VALID") -> tuple[str, Any]:
    o = s.Pool2DOptionsT()
    o.padding = getattr(s.Padding, padding)
    o.strideH = o.strideW = stride
    o.filterHeight = o.filterWidth = k
    return "Pool2DOptions", o
