"""A small graph IR that both readers (ONNX, TFLite) produce and the counters consume.

Only what cost analysis needs: tensor shapes, dtypes, which tensors are constants baked into the
model, and the nodes in execution order. No tensor values are kept.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# Bits per element for the dtypes either format can hold (numpy-style names).
DTYPE_BITS: dict[str, int] = {
    "float64": 64, "float32": 32, "float16": 16, "bfloat16": 16,
    "float8_e4m3fn": 8, "float8_e4m3fnuz": 8, "float8_e5m2": 8, "float8_e5m2fnuz": 8,
    "int64": 64, "int32": 32, "int16": 16, "int8": 8, "int4": 4, "int2": 2,
    "uint64": 64, "uint32": 32, "uint16": 16, "uint8": 8, "uint4": 4,
    "bool": 8, "complex64": 64, "complex128": 128,
}

# Integer dtypes that quantized models compute in; a conv/matmul on these runs on integer units.
QUANTIZED_DTYPES = frozenset({"int8", "uint8", "int16", "int4", "uint4"})


@dataclass
class Tensor:
    name: str
    # None when the shape could not be determined (data-dependent or inference gave up).
    shape: tuple[int, ...] | None
    dtype: str
    # A constant baked into the model (ONNX initializer / Constant, TFLite buffer with data).
    is_weight: bool = False

    @property
    def numel(self) -> int | None:
        if self.shape is None:
            return None
        return math.prod(self.shape)

    @property
    def bytes(self) -> int | None:
        n = self.numel
        if n is None:
            return None
        bits = DTYPE_BITS.get(self.dtype)
        if bits is None:  # string / resource / variant tensors: size unknown
            return None
        return (n * bits + 7) // 8


@dataclass
class Node:
    name: str
    op_type: str
    # Tensor names in slot order; "" marks an omitted optional input.
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    domain: str = ""  # ONNX operator domain ("" = ai.onnx); TFLite: "tflite" or "custom"
    # False when the file gave the node no name and the reader made one up (profilers name it differently).
    named: bool = True


@dataclass
class Graph:
    name: str
    format: str  # "onnx" or "tflite"
    tensors: dict[str, Tensor]
    nodes: list[Node]  # execution order
    inputs: list[str]  # graph inputs fed at run time (weights excluded)
    outputs: list[str]
    warnings: list[str] = field(default_factory=list)

    def tensor(self, name: str) -> Tensor | None:
        if not name:
            return None
        return self.tensors.get(name)

    def input_tensors(self, node: Node) -> list[Tensor | None]:
        return [self.tensor(n) for n in node.inputs]

    def output_tensors(self, node: Node) -> list[Tensor | None]:
        return [self.tensor(n) for n in node.outputs]
