"""Output shapes for the com.microsoft ops that onnx's shape inference does not know.

onnxruntime's transformer optimizer and quantizer emit these (Attention, SkipLayerNormalization, FusedConv,
QLinearAdd...); without their output shapes every node downstream would lose its memory traffic. Only the
ops counted in onnx_ops get a rule here; anything else stays unknown and is reported as such.
"""
from __future__ import annotations

from typing import Callable

from .ir import Graph, Node
from .op_common import conv_output_spatial, matmul_out_shape

Shape = tuple[int, ...]


def _broadcast(a: Shape, b: Shape) -> Shape:
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + a
    b = (1,) * (rank - len(b)) + b
    return tuple(max(x, y) for x, y in zip(a, b, strict=True))


def _same_as_first(g: Graph, n: Node) -> Shape | None:
    return _shape(g, n, 0)


def _shape(g: Graph, n: Node, i: int) -> Shape | None:
    t = g.tensor(n.inputs[i]) if i < len(n.inputs) else None
    return t.shape if t is not None else None


def _attention(g: Graph, n: Node) -> Shape | None:
    x, w = _shape(g, n, 0), _shape(g, n, 1)
    if x is None or w is None or len(x) != 3:
        return None
    sizes = n.attrs.get("qkv_hidden_sizes")
    v_hidden = int(sizes[2]) if sizes else w[1] // 3
    return (x[0], x[1], v_hidden)


def _multihead_attention(g: Graph, n: Node) -> Shape | None:
    q = _shape(g, n, 0)
    if q is None:
        return None
    if len(q) == 5:
        return (q[0], q[1], q[2] * q[4])
    v = _shape(g, n, 2)
    if len(q) == 3 and v is not None:
        return (q[0], q[1], v[2] if len(v) == 3 else v[1] * v[3])
    return None


def _fused_conv(g: Graph, n: Node) -> Shape | None:
    x, w = _shape(g, n, 0), _shape(g, n, 1)
    if x is None or w is None or len(x) != len(w) or len(w) < 3:
        return None
    rank = len(w) - 2
    spatial = conv_output_spatial(
        x[2:], w[2:], n.attrs.get("strides") or [1] * rank, n.attrs.get("dilations") or [1] * rank,
        n.attrs.get("pads"), n.attrs.get("auto_pad", "NOTSET") or "NOTSET",
    )
    return (x[0], w[0]) + spatial


def _fused_gemm(g: Graph, n: Node) -> Shape | None:
    a, b = _shape(g, n, 0), _shape(g, n, 1)
    if a is None or b is None or len(a) != 2 or len(b) != 2:
        return None
    m = a[1] if n.attrs.get("transA") else a[0]
    cols = b[0] if n.attrs.get("transB") else b[1]
    return (m, cols)


def _fused_matmul(g: Graph, n: Node) -> Shape | None:
    a, b = _shape(g, n, 0), _shape(g, n, 1)
    if a is None or b is None or len(a) < 2 or len(b) < 2:
        return None
    if n.attrs.get("transA"):
        a = a[:-2] + (a[-1], a[-2])
    if n.attrs.get("transB"):
        b = b[:-2] + (b[-1], b[-2])
    return matmul_out_shape(a, b)


def _qgemm(g: Graph, n: Node) -> Shape | None:
    a, b = _shape(g, n, 0), _shape(g, n, 3)
    if a is None or b is None or len(a) != 2 or len(b) != 2:
        return None
    return (a[1] if n.attrs.get("transA") else a[0], b[0] if n.attrs.get("transB") else b[1])


def _matmul_nbits(g: Graph, n: Node) -> Shape | None:
    a = _shape(g, n, 0)
    cols = int(n.attrs.get("N", 0) or 0)
    return None if a is None or cols <= 0 else a[:-1] + (cols,)


def _int_matmul(g: Graph, n: Node) -> Shape | None:
    a, b = _shape(g, n, 0), _shape(g, n, 1)
    return None if a is None or b is None or not a or not b else matmul_out_shape(a, b)


def _qlinear_binary(g: Graph, n: Node) -> Shape | None:
    a, b = _shape(g, n, 0), _shape(g, n, 3)
    return None if a is None or b is None else _broadcast(a, b)


def _global_pool(g: Graph, n: Node) -> Shape | None:
    x = _shape(g, n, 0)
    if x is None:
        return None
    if n.attrs.get("channels_last"):
        return (x[0],) + (1,) * (len(x) - 2) + (x[-1],)
    return x[:2] + (1,) * (len(x) - 2)


RULES: dict[str, Callable[[Graph, Node], Shape | None]] = {
    **dict.fromkeys(
        ["Gelu", "FastGelu", "BiasGelu", "QuickGelu", "QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax",
         "SkipLayerNormalization", "SkipSimplifiedLayerNormalization", "SimplifiedLayerNormalization",
         "LayerNormalization"], _same_as_first),
    "Attention": _attention,
    "MultiHeadAttention": _multihead_attention,
    "FusedConv": _fused_conv,
    "FusedGemm": _fused_gemm,
    "FusedMatMul": _fused_matmul,
    "QGemm": _qgemm,
    "MatMulNBits": _matmul_nbits,
    "DynamicQuantizeMatMul": _int_matmul,
    "MatMulIntegerToFloat": _int_matmul,
    "QLinearAdd": _qlinear_binary,
    "QLinearMul": _qlinear_binary,
    "QLinearGlobalAveragePool": _global_pool,
}


def fill_contrib_shapes(graph: Graph) -> list[str]:
    """Fill unknown first-output shapes of com.microsoft nodes in execution order; returns the tensors filled."""
    filled: list[str] = []
    for node in graph.nodes:
        if node.domain != "com.microsoft" or node.op_type not in RULES or not node.outputs:
            continue
        out = graph.tensor(node.outputs[0])
        if out is None or out.shape is not None:
            continue
        shape = RULES[node.op_type](graph, node)
        if shape is None:
            continue
        out.shape = shape
        if out.dtype == "unknown":
            first = graph.tensor(node.inputs[0]) if node.inputs else None
            out.dtype = first.dtype if first is not None else "float32"
        filled.append(out.name)
    return filled
