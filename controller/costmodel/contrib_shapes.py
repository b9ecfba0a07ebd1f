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


def _qlinear_conv(g: Graph, n: Node) -> Shape | None:
    """com.microsoft QLinearConv (x, x_scale, x_zp, w, ...): NHWC with channels_last, OIHW weights."""
    x, w = _shape(g, n, 0), _shape(g, n, 3)
    if x is None or w is None or len(x) != len(w) or len(w) < 3:
        return None
    rank = len(w) - 2
    nhwc = bool(n.attrs.get("channels_last"))
    spatial = conv_output_spatial(
        x[1:-1] if nhwc else x[2:], w[2:], n.attrs.get("strides") or [1] * rank,
        n.attrs.get("dilations") or [1] * rank, n.attrs.get("pads"), n.attrs.get("auto_pad", "NOTSET") or "NOTSET",
    )
    return (x[0],) + spatial + (w[0],) if nhwc else (x[0], w[0]) + spatial


def _qlinear_concat(g: Graph, n: Node) -> Shape | None:
    """com.microsoft QLinearConcat (y_scale, y_zp, then x, x_scale, x_zp per input) along `axis`."""
    shapes = [_shape(g, n, i) for i in range(2, len(n.inputs), 3)]
    if not shapes or any(s is None for s in shapes):
        return None
    axis = int(n.attrs.get("axis", 1)) % len(shapes[0])
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return tuple(out)


def _nhwc_pool(g: Graph, n: Node) -> Shape | None:
    x = _shape(g, n, 0)
    kernel = n.attrs.get("kernel_shape")
    if x is None or not kernel:
        return None
    rank = len(kernel)
    spatial = conv_output_spatial(
        x[1:-1], kernel, n.attrs.get("strides") or [1] * rank, n.attrs.get("dilations") or [1] * rank,
        n.attrs.get("pads"), n.attrs.get("auto_pad", "NOTSET") or "NOTSET", bool(n.attrs.get("ceil_mode", 0)),
    )
    return (x[0],) + spatial + (x[-1],)

RULES: dict[str, Callable[[Graph, Node], Shape | None]] = {
    "QLinearConv": _qlinear_conv,
    "QLinearConcat": _qlinear_concat,
    "NhwcMaxPool": _nhwc_pool,
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


def _pool(g: Graph, n: Node) -> Shape | None:
    x = _shape(g, n, 0)
    kernel = n.attrs.get("kernel_shape")
    if x is None or not kernel:
        return None
    rank = len(kernel)
    spatial = conv_output_spatial(
        x[2:], kernel, n.attrs.get("strides") or [1] * rank, n.attrs.get("dilations") or [1] * rank,
        n.attrs.get("pads"), n.attrs.get("auto_pad", "NOTSET") or "NOTSET", bool(n.attrs.get("ceil_mode", 0)),
    )
    return x[:2] + spatial


def _nchwc_upsample(g: Graph, n: Node) -> Shape | None:
    x, scales = _shape(g, n, 0), n.attrs.get("scales")
    if x is None or not scales or len(scales) != len(x):
        return None
    return tuple(int(d) * int(s) for d, s in zip(x, scales, strict=True))


def _reorder_input(g: Graph, n: Node) -> Shape | None:
    x = _shape(g, n, 0)  # the blocked layout is internal: the logical shape is NCHW
    if x is None or not n.attrs.get("channels_last"):
        return x
    return (x[0], x[-1]) + tuple(x[1:-1])


def _reorder_output(g: Graph, n: Node) -> Shape | None:
    x = _shape(g, n, 0)
    if x is None:
        return None
    channels = int(n.attrs.get("channels") or x[1])  # the blocked tensor may be padded to the block size
    if n.attrs.get("channels_last"):
        return (x[0],) + tuple(x[2:]) + (channels,)
    return (x[0], channels) + tuple(x[2:])


# onnxruntime's NCHWc layout transformer (x86 CPUs): blocked-channel versions of conv and pooling, and the
# reorders at the edges of a blocked region. Shapes here are the logical NCHW ones.
NCHWC_DOMAIN = "com.microsoft.nchwc"
NCHWC_RULES: dict[str, Callable[[Graph, Node], Shape | None]] = {
    "Conv": _fused_conv,
    "MaxPool": _pool,
    "AveragePool": _pool,
    "GlobalAveragePool": _global_pool,
    "GlobalMaxPool": _global_pool,
    "Upsample": _nchwc_upsample,
    "ReorderInput": _reorder_input,
    "ReorderOutput": _reorder_output,
}


def _rule(node: Node) -> Callable[[Graph, Node], Shape | None] | None:
    if node.domain == "com.microsoft":
        return RULES.get(node.op_type)
    if node.domain == NCHWC_DOMAIN:
        return NCHWC_RULES.get(node.op_type)
    return None


def fill_contrib_shapes(graph: Graph) -> list[str]:
    """Fill unknown first-output shapes of com.microsoft(.nchwc) nodes in execution order; returns the tensors
    filled."""
    filled: list[str] = []
    for node in graph.nodes:
        rule = _rule(node)
        if rule is None or not node.outputs:
            continue
        out = graph.tensor(node.outputs[0])
        if out is None or out.shape is not None:
            continue
        shape = rule(graph, node)
        if shape is None:
            continue
        out.shape = shape
        if out.dtype == "unknown":
            first = graph.tensor(node.inputs[0]) if node.inputs else None
            out.dtype = first.dtype if first is not None else "float32"
        filled.append(out.name)
    return filled
