"""Which nodes the runtime computes once at load time instead of on every inference.

onnxruntime's constant folding (on at every optimization level above "disabled") evaluates any node whose
inputs are all constants, and Shape/Size of a tensor with a static shape. Its QDQ handling keeps
DequantizeLinear of weights, then fuses it into an integer kernel, so that too costs nothing per inference.
TFLite folds far less at run time: a DEQUANTIZE (fp16 or int8 weights) or DENSIFY of a constant is
evaluated once in Prepare; everything else was already folded by the converter.
"""
from __future__ import annotations

from .ir import Graph
from .op_tables import ONNX_CONTROL_FLOW, ONNX_NONDETERMINISTIC

_TFLITE_FOLDED_WHEN_CONSTANT = frozenset({"DEQUANTIZE", "DENSIFY"})


def constant_folded(graph: Graph) -> tuple[set[int], set[str]]:
    """(indices of folded nodes, names of all constant tensors: weights plus folded outputs)."""
    constants = {name for name, t in graph.tensors.items() if t.is_weight}
    folded: set[int] = set()
    for index, node in enumerate(graph.nodes):
        inputs = [n for n in node.inputs if n]
        if graph.format == "tflite":
            foldable = node.op_type in _TFLITE_FOLDED_WHEN_CONSTANT and bool(inputs) and all(
                n in constants for n in inputs)
        else:
            if node.op_type in ONNX_NONDETERMINISTIC or node.op_type in ONNX_CONTROL_FLOW:
                continue
            if node.domain not in ("", "ai.onnx"):
                continue  # custom kernels may have side effects or unknown semantics
            if node.op_type in ("Shape", "Size"):
                src = graph.tensor(inputs[0]) if inputs else None
                foldable = src is not None and src.shape is not None
            else:
                foldable = bool(inputs) and all(n in constants for n in inputs)
        if foldable:
            folded.add(index)
            constants.update(n for n in node.outputs if n)
    return folded, constants
