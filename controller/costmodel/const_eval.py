"""Evaluate small constant subgraphs so shape inference can see through them.

Exporters compute shapes at run time (Shape → Gather → Div → Range → Reshape...). onnx's data propagation
follows some of these chains but not all; onnxruntime folds them all at load time. When inference leaves
shapes unknown, this evaluates the foldable nodes with onnx's reference evaluator (small tensors only:
shape arithmetic, never weights) so a second inference pass gets concrete values.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .ir import Graph
from .op_tables import ONNX_CONTROL_FLOW, ONNX_NONDETERMINISTIC

# Larger tensors are weights or activations, not shape arithmetic: never evaluated.
MAX_ELEMENTS = 4096


def evaluate_small_constants(onnx: Any, model: Any, skeleton: Any, graph: Graph) -> dict[str, np.ndarray]:
    """Values of foldable node outputs that are small enough to be shape arithmetic."""
    from onnx import numpy_helper  # noqa: PLC0415  (heavy: only ONNX models need it)
    from onnx.reference import ReferenceEvaluator  # noqa: PLC0415

    opsets = {o.domain or "": o.version for o in model.opset_import}
    values: dict[str, np.ndarray] = {}
    for init in skeleton.graph.initializer:
        if init.data_location != onnx.TensorProto.EXTERNAL:
            values[init.name] = numpy_helper.to_array(init)
    computed: dict[str, np.ndarray] = {}
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type in ONNX_NONDETERMINISTIC | ONNX_CONTROL_FLOW:
            continue
        inputs = [n for n in node.input if n]
        try:
            if node.op_type in ("Shape", "Size") and inputs:
                src = graph.tensor(inputs[0])
                if src is None or src.shape is None:
                    continue
                outs = [_shape_value(node, src.shape, onnx)]
            elif all(n in values for n in inputs) and sum(values[n].size for n in inputs) <= MAX_ELEMENTS:
                evaluator = ReferenceEvaluator(node, opsets=opsets)
                outs = evaluator.run(None, {n: values[n] for n in inputs})
            else:
                continue
        except Exception:  # an op the reference evaluator lacks or rejects: leave it to inference
            continue
        for name, value in zip(node.output, outs, strict=False):
            value = np.asarray(value)
            if name and value.size <= MAX_ELEMENTS and value.dtype != object:
                values[name] = value
                computed[name] = value
    return computed


def _shape_value(node: Any, shape: tuple[int, ...], onnx: Any) -> np.ndarray:
    if node.op_type == "Size":
        return np.array(int(np.prod(shape)), dtype=np.int64)
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    start, end = attrs.get("start", 0), attrs.get("end", len(shape))
    return np.array(shape[slice(start, end)], dtype=np.int64)


def with_constants(onnx: Any, skeleton: Any, values: dict[str, np.ndarray]) -> Any:
    """The skeleton with evaluated tensors as initializers and the nodes that produced them removed."""
    from onnx import numpy_helper  # noqa: PLC0415  (heavy: only ONNX models need it)

    out = onnx.ModelProto()
    out.CopyFrom(skeleton)
    keep = [n for n in out.graph.node if not (n.output and all(o in values for o in n.output if o))]
    del out.graph.node[:]
    out.graph.node.extend(keep)
    existing = {t.name for t in out.graph.initializer}
    for name, value in values.items():
        if name not in existing:
            out.graph.initializer.append(numpy_helper.from_array(value, name))
    return out
