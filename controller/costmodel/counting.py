"""Per-node counting: MACs, element-wise ops, parameters and memory-access bytes for every node of a Graph.

Conventions (they match torchvision's published "GFLOPS", which are GMACs of conv and linear layers):
- `macs` counts multiply-accumulates of conv, conv-transpose, gemm/matmul, attention and recurrent ops.
  A bias is the accumulator's initial value, so it adds no MAC.
- everything else (activations, pools, norms, softmax, reductions, resize, quantize) goes into
  `elementwise_ops`, per the per-element tables in op_tables.py.
- `memory_access_bytes` = bytes of every distinct input (weights included) + every output. For a 1×1 conv
  without bias that is hw·c1 + hw·c2 + c1·c2 elements: the ShuffleNet V2 "MAC".
- an op it cannot count is reported with a reason, never as zero.
"""
from __future__ import annotations

from typing import Callable, Sequence

from . import onnx_ops, tflite_ops
from . import op_tables as T
from .costs import NodeCost
from .ir import QUANTIZED_DTYPES, Graph, Node, Tensor
from .op_common import Ctx, Uncountable, Work

# ---------------------------------------------------------------------------------------------- parameters

def param_slots(graph: Graph, node: Node, constants: set[str] | frozenset[str] = frozenset()) -> list[int]:
    """Indices of the node's inputs that are learned parameters.

    A parameter may reach its consumer through a load-time transformation (DequantizeLinear of int8
    weights, Cast of fp16 weights, TFLite DEQUANTIZE): such folded outputs are in `constants` and count
    at the consumer, once, so the transformation itself declares no parameter slots.
    """
    rules = tflite_ops if graph.format == "tflite" else onnx_ops
    table, operand_ops = rules.PARAM_SLOTS, rules.TENSOR_OPERAND_OPS
    slots: list[int] = []
    for i, name in enumerate(node.inputs):
        t = graph.tensor(name)
        if t is None or not (t.is_weight or name in constants) or t.dtype in ("int64", "bool", "string"):
            continue
        if node.op_type in table:
            wanted = table[node.op_type]
            if wanted is None or i in wanted:
                slots.append(i)
        elif node.op_type in operand_ops and (t.numel or 0) > 1 and t.dtype not in ("int32",):
            slots.append(i)
    return slots


# ---------------------------------------------------------------------------------------------- dtype


def dtype_class(dtype: str) -> str:
    if dtype in QUANTIZED_DTYPES:
        return "int8"
    if dtype in ("float16", "bfloat16"):
        return "fp16"
    return "fp32"


_MAC_KINDS = frozenset({"conv", "depthwise_conv", "conv_transpose", "matmul", "attention", "recurrent"})
# The integer operands of ONNX integer kernels (their other inputs are float scales).
_ONNX_QUANTIZED_INPUT_SLOTS = {"QLinearConv": (0, 3), "QLinearMatMul": (0, 3), "ConvInteger": (0, 1),
                               "MatMulInteger": (0, 1), "QGemm": (0, 3), "MatMulIntegerToFloat": (0, 1),
                               # float A is quantized on the fly; the product runs on int8 B
                               "DynamicQuantizeMatMul": (1,)}


def compute_dtype(graph: Graph, node: Node, kind: str, producers: dict[str, Node]) -> str:
    """The dtype class the node's arithmetic runs in.

    - ONNX QDQ models: a Conv/MatMul fed by DequantizeLinear of int8 data runs as an integer kernel once
      onnxruntime fuses the QDQ group, so it counts as int8.
    - TFLite hybrid kernels (float activations, int8 weights) quantize on the fly and run in int8.
    """
    dtypes = [
        _underlying_dtype(graph, name, producers)
        for name in (node.inputs[:2] if kind in _MAC_KINDS else node.inputs[:1])
        if graph.tensor(name) is not None
    ]
    if node.op_type in _ONNX_QUANTIZED_INPUT_SLOTS:
        dtypes = [_underlying_dtype(graph, node.inputs[i], producers)
                  for i in _ONNX_QUANTIZED_INPUT_SLOTS[node.op_type] if i < len(node.inputs)]
    if not dtypes:
        outs = [graph.tensor(n) for n in node.outputs]
        dtypes = [t.dtype for t in outs if t is not None]
    classes = [dtype_class(d) for d in dtypes]
    if kind in _MAC_KINDS and graph.format == "tflite" and "int8" in classes:
        return "int8"
    if classes and all(c == "int8" for c in classes):
        return "int8"
    if "fp16" in classes:
        return "fp16"
    return "fp32"


def _underlying_dtype(graph: Graph, name: str, producers: dict[str, Node]) -> str:
    t = graph.tensor(name)
    dtype = t.dtype if t is not None else "float32"
    producer = producers.get(name)
    if producer is not None and producer.op_type == "DequantizeLinear" and producer.inputs:
        src = graph.tensor(producer.inputs[0])
        if src is not None and src.dtype in QUANTIZED_DTYPES:
            return src.dtype
    return dtype


# ---------------------------------------------------------------------------------------------- per node


def counter_for(graph: Graph, node: Node) -> Callable[[Ctx], Work] | None:
    if graph.format == "tflite":
        if node.domain == "custom":
            return None
        return tflite_ops.TFLITE_COUNTERS.get(node.op_type)
    domain = node.domain or ""
    if domain in ("", "ai.onnx"):
        if node.op_type == "Attention":
            return onnx_ops.onnx_attention
        return onnx_ops.ONNX_COUNTERS.get(node.op_type)
    if domain == "com.microsoft" and node.op_type in onnx_ops.MICROSOFT_OPS:
        return onnx_ops.ONNX_COUNTERS.get(node.op_type)
    if domain == "com.microsoft.nchwc":
        return onnx_ops.NCHWC_COUNTERS.get(node.op_type)
    return None


def count_node(
    graph: Graph, node: Node, producers: dict[str, Node] | None = None, folded: bool = False,
    constants: set[str] | frozenset[str] = frozenset(),
) -> NodeCost:
    producers = producers if producers is not None else {}
    counter = counter_for(graph, node)
    macs: int | None
    elementwise: int | None
    reason = None
    kind = "other"
    variant = ""
    if counter is None:
        where = f" (domain {node.domain!r})" if node.domain not in ("", "ai.onnx", "tflite") else ""
        reason = f"no counting rule for op {node.op_type!r}{where}"
        macs = elementwise = None
    else:
        try:
            work = counter(Ctx(graph, node))
            macs, elementwise, kind, variant = work.macs, work.elementwise_ops, work.kind, work.variant
        except Uncountable as exc:
            reason = str(exc)
            macs = elementwise = None
        except (TypeError, ValueError, IndexError, ZeroDivisionError) as exc:  # odd attrs/shapes
            reason = f"could not count ({exc.__class__.__name__}: {exc})"
            macs = elementwise = None

    ins = [graph.tensor(n) for n in node.inputs]
    outs = [graph.tensor(n) for n in node.outputs]
    slots = param_slots(graph, node, constants)
    params = sum(ins[i].numel or 0 for i in slots if ins[i] is not None)
    weight_bytes = sum(t.bytes or 0 for t in _unique(ins) if t.is_weight)
    return NodeCost(
        name=node.name,
        op_type=node.op_type,
        kind=kind,
        compute_dtype=compute_dtype(graph, node, kind, producers),
        macs=macs,
        elementwise_ops=elementwise,
        params=params,
        weight_bytes=weight_bytes,
        memory_access_bytes=memory_access_bytes(node, ins, outs),
        input_shapes=[t.shape if t is not None else None for t in ins],
        output_shapes=[t.shape if t is not None else None for t in outs],
        folded=folded,
        reason=reason,
        domain=node.domain,
        variant=variant,
    )


def _unique(tensors: Sequence[Tensor | None]) -> list[Tensor]:
    seen: set[str] = set()
    out = []
    for t in tensors:
        if t is not None and t.name not in seen:
            seen.add(t.name)
            out.append(t)
    return out


def memory_access_bytes(node: Node, ins: Sequence[Tensor | None], outs: Sequence[Tensor | None]) -> int | None:
    """Distinct inputs read (weights included) plus outputs written; None if a size is unknown."""
    total = 0
    read = [] if node.op_type in T.METADATA_OPS else _unique(ins)
    for t in read:
        if t.bytes is None:
            return None
        total += t.bytes
    for i, t in enumerate(_unique(outs)):
        if t.bytes is None:
            if i == 0:
                return None
            continue  # an optional extra output (Dropout mask, LSTM Y_c) of unknown size
        total += t.bytes
    return total
