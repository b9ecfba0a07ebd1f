"""Counting rules for ONNX ops (ai.onnx, plus the com.microsoft ops common exports and ORT produce)."""
from __future__ import annotations

import math
from typing import Callable

from . import op_tables as T
from .op_common import (
    Ctx,
    Uncountable,
    Work,
    conv_output_spatial,
    conv_variant,
    data_movement,
    interp_ops,
    matmul_macs,
    onnx_window,
    per_input,
    per_output,
    reduce_op,
    variadic,
)


def _onnx_conv(c: Ctx, x: int = 0, w: int = 1) -> Work:
    xs, ws = c.shape(x), c.shape(w)
    if len(ws) < 3 or len(xs) != len(ws):
        raise Uncountable(f"conv input rank {len(xs)} / weight rank {len(ws)} not understood")
    group = int(c.attr("group", 1) or 1)
    kernel = ws[2:]
    # onnxruntime's NHWC kernels (com.microsoft QLinearConv with channels_last, NhwcConv) keep OIHW weights.
    nhwc = bool(c.attr("channels_last", 0)) or c.node.op_type == "NhwcConv"
    cin = xs[-1] if nhwc else xs[1]
    out = c.out_or_none()
    if out is None:  # inference gave up: derive it from the attributes
        win = onnx_window(c, len(kernel), kernel)
        spatial = conv_output_spatial(
            xs[1:-1] if nhwc else xs[2:], kernel, win["strides"], win["dilations"], win["pads"], win["auto_pad"]
        )
        out = (xs[0],) + spatial + (ws[0],) if nhwc else (xs[0], ws[0]) + spatial
    macs = math.prod(out) * ws[1] * math.prod(kernel)
    if group > 1 and group == cin:
        return Work(macs=macs, kind="depthwise_conv")
    return Work(macs=macs, kind="conv", variant=conv_variant(ws[1], kernel, group, cin))


def _onnx_conv_transpose(c: Ctx) -> Work:
    xs, ws = c.shape(0), c.shape(1)
    # Weight is (C_in, C_out/group, k...): every input element scatters into C_out/group × k outputs.
    return Work(macs=math.prod(xs) * ws[1] * math.prod(ws[2:]), kind="conv_transpose")


def _gemm_dims(c: Ctx, a_index: int, b_index: int, op: str) -> tuple[int, int, int]:
    """(M, N, K) of a Gemm-like node, honouring transA/transB."""
    a, b = c.shape(a_index), c.shape(b_index)
    if len(a) != 2 or len(b) != 2:
        raise Uncountable(f"{op} operands must be 2-D")
    m, k = (a[1], a[0]) if c.attr("transA", 0) else (a[0], a[1])
    n = b[0] if c.attr("transB", 0) else b[1]
    return m, n, k


def _onnx_gemm(c: Ctx) -> Work:
    m, n, k = _gemm_dims(c, 0, 1, "Gemm")
    return Work(macs=m * n * k, kind="matmul")


def _onnx_matmul(c: Ctx) -> Work:
    return Work(macs=matmul_macs(c, 0, 1), kind="matmul")


def _onnx_fused_matmul(c: Ctx) -> Work:
    return Work(macs=matmul_macs(c, 0, 1, bool(c.attr("transA", 0))), kind="matmul")


def _onnx_einsum(c: Ctx) -> Work:
    equation = str(c.attr("equation", "")).replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    operands = lhs.split(",")
    if len(operands) != c.n_inputs():
        raise Uncountable(f"Einsum equation {equation!r} does not match its {c.n_inputs()} inputs")
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    for i, term in enumerate(operands):
        shape = c.shape(i)
        letters = term.replace("...", "")
        ell_rank = len(shape) - len(letters)
        dims = list(shape)
        if "..." in term:
            pos = term.index("...")
            dims = dims[:pos] + dims[pos + ell_rank:]
        for letter, size in zip(letters, dims, strict=False):
            sizes[letter] = max(sizes.get(letter, 1), size)
            counts[letter] = counts.get(letter, 0) + 1
    out_letters = set(rhs.replace("...", "")) if arrow else {k for k, v in counts.items() if v == 1}
    summed = math.prod(sizes[k] for k in sizes if k not in out_letters)
    out_numel = c.out_numel()
    if len(operands) == 1:
        # one operand: a transpose / diagonal (no arithmetic) or a sum reduction
        return Work(elementwise_ops=c.numel(0) if summed > 1 else 0,
                    kind="reduce" if summed > 1 else "data_movement")
    if len(operands) == 2:
        return Work(macs=out_numel * summed, kind="matmul")
    raise Uncountable(f"Einsum with {len(operands)} operands (contraction order unknown)")


def _onnx_pool(c: Ctx) -> Work:
    kernel = c.attr("kernel_shape")
    if not kernel:
        raise Uncountable("pool without kernel_shape")
    out = c.out_or_none()
    if out is None:
        xs = c.shape(0)
        win = onnx_window(c, len(kernel), kernel)
        out = xs[:2] + conv_output_spatial(xs[2:], kernel, win["strides"], win["dilations"], win["pads"],
                                           win["auto_pad"], bool(c.attr("ceil_mode", 0)))
    return Work(elementwise_ops=math.prod(out) * math.prod(kernel), kind="pool")


def _onnx_global_pool(c: Ctx) -> Work:
    divide = c.out_numel() if c.node.op_type in ("GlobalAveragePool", "QLinearGlobalAveragePool") else 0
    return Work(elementwise_ops=c.numel(0) + divide, kind="pool")


def _onnx_resize(c: Ctx) -> Work:
    mode = str(c.attr("mode", "nearest")).lower()
    xs, out = c.shape(0), c.out()
    if len(xs) != len(out):
        raise Uncountable("Resize input/output ranks differ")
    resized = sum(1 for a, b in zip(xs, out, strict=True) if a != b)
    return Work(elementwise_ops=math.prod(out) * interp_ops(mode, resized), kind="resize")


def _onnx_recurrent() -> Callable[[Ctx], Work]:
    # The gate count (LSTM 4, GRU 3, RNN 1) is already in the weight shapes.
    def count(c: Ctx) -> Work:
        xs, ws, rs = c.shape(0), c.shape(1), c.shape(2)
        seq, batch = (xs[1], xs[0]) if c.attr("layout", 0) else (xs[0], xs[1])
        # W is (dirs, gates·hidden, input), R is (dirs, gates·hidden, hidden): one step costs both.
        macs = seq * batch * (math.prod(ws) + math.prod(rs))
        # bias add, gate activation and state update per gate element per step
        elementwise = 3 * seq * batch * ws[0] * ws[1]
        return Work(macs=macs, elementwise_ops=elementwise, kind="recurrent")

    return count


def _ms_attention(c: Ctx) -> Work:
    """com.microsoft Attention: packed QKV projection + scaled dot-product attention."""
    xs, ws = c.shape(0), c.shape(1)
    if len(xs) != 3 or len(ws) != 2:
        raise Uncountable("Attention expects input (B, S, H) and weights (H, 3H)")
    batch, seq, hidden_in = xs
    heads = int(c.attr("num_heads", 0) or 0)
    if heads <= 0:
        raise Uncountable("Attention without num_heads")
    sizes = c.attr("qkv_hidden_sizes") or [ws[1] // 3] * 3
    q_hidden, _, v_hidden = (int(s) for s in sizes)
    total = seq
    if c.has(4):  # past state (2, B, heads, past_len, head_size)
        past = c.shape(4)
        total += past[3] if len(past) == 5 else 0
    projection = batch * seq * hidden_in * ws[1]
    attention = batch * seq * total * (q_hidden + v_hidden)
    return Work(macs=projection + attention, elementwise_ops=5 * batch * heads * seq * total, kind="attention")


def _ms_multihead_attention(c: Ctx) -> Work:
    """com.microsoft MultiHeadAttention: attention only, projections are separate MatMuls."""
    q = c.shape(0)
    heads = int(c.attr("num_heads", 0) or 0)
    if heads <= 0:
        raise Uncountable("MultiHeadAttention without num_heads")
    if len(q) == 5:  # packed QKV (B, S, N, 3, H)
        batch, seq, _, _, head = q
        total, dq, dv = seq, heads * head, heads * head
    elif len(q) == 3 and c.has(1) and c.has(2):
        batch, seq, dq = q
        k, v = c.shape(1), c.shape(2)
        if len(k) == 3:
            total, dv = k[1], v[2]
        elif len(k) == 4:  # (B, N, L, H)
            total, dv = k[2], v[1] * v[3]
        elif len(k) == 5:  # packed KV (B, L, N, 2, H)
            total, dv = k[1], k[2] * k[4]
        else:
            raise Uncountable(f"MultiHeadAttention key of rank {len(k)} not understood")
    else:
        raise Uncountable("MultiHeadAttention input layout not understood")
    return Work(macs=batch * seq * total * (dq + dv), elementwise_ops=5 * batch * heads * seq * total,
                kind="attention")


def onnx_attention(c: Ctx) -> Work:
    """ai.onnx Attention (opset 23): Q·Kᵀ and scores·V, with past key/value concatenated."""
    q, k, v = c.shape(0), c.shape(1), c.shape(2)
    past = 0
    if c.has(4):  # past_key (B, kv_heads, past_len, head)
        past_key = c.shape(4)
        past = past_key[2] if len(past_key) == 4 else 0
    if len(q) == 4:
        batch, q_heads, seq, head = q
        total, head_v = k[2] + past, v[3]
    elif len(q) == 3:
        q_heads = int(c.attr("q_num_heads", 0) or 0)
        kv_heads = int(c.attr("kv_num_heads", 0) or 0)
        if q_heads <= 0 or kv_heads <= 0:
            raise Uncountable("3-D Attention without q_num_heads / kv_num_heads")
        batch, seq, q_hidden = q
        head = q_hidden // q_heads
        total, head_v = k[1] + past, v[2] // kv_heads
    else:
        raise Uncountable(f"Attention query of rank {len(q)} not understood")
    macs = batch * q_heads * seq * total * (head + head_v)
    return Work(macs=macs, elementwise_ops=5 * batch * q_heads * seq * total, kind="attention")


def _fused_conv(c: Ctx) -> Work:
    work = _onnx_conv(c)
    if c.attr("activation"):
        work.elementwise_ops += c.out_numel()
    return work


def _fused_gemm(c: Ctx) -> Work:
    work = _onnx_gemm(c)
    if c.attr("activation"):
        work.elementwise_ops += c.out_numel()
    return work


def _qlinear_conv(c: Ctx) -> Work:
    work = _onnx_conv(c, x=0, w=3)
    work.elementwise_ops += 2 * c.out_numel()  # requantize: scale + zero point
    return work


def _qlinear_matmul(c: Ctx) -> Work:
    return Work(macs=matmul_macs(c, 0, 3), elementwise_ops=2 * c.out_numel(), kind="matmul")


def _qgemm(c: Ctx) -> Work:
    """com.microsoft QGemm: A, a_scale, a_zp, B, b_scale, b_zp, C, y_scale, y_zp."""
    m, n, k = _gemm_dims(c, 0, 3, "QGemm")
    requantize = 2 * m * n if c.has(7) else 0  # no y_scale: the output stays float
    return Work(macs=m * n * k, elementwise_ops=requantize, kind="matmul")


def _matmul_nbits(c: Ctx) -> Work:
    """com.microsoft MatMulNBits: float activations times block-quantized (4-bit) weights, N and K as attrs."""
    a = c.shape(0)
    n, k = int(c.attr("N", 0) or 0), int(c.attr("K", 0) or 0)
    if n <= 0 or k <= 0 or not a or a[-1] != k:
        raise Uncountable("MatMulNBits without consistent N/K attributes")
    return Work(macs=math.prod(a) * n, elementwise_ops=n * k, kind="matmul")  # + dequantizing the weights


def _int_matmul_to_float(c: Ctx) -> Work:
    """DynamicQuantizeMatMul / MatMulIntegerToFloat: integer MatMul with a float result."""
    return Work(macs=matmul_macs(c, 0, 1), elementwise_ops=2 * c.out_numel(), kind="matmul")


def _qlinear_pool(c: Ctx) -> Work:
    work = _onnx_pool(c)
    work.elementwise_ops += 2 * c.out_numel()
    return work


def _qlinear_global_pool(c: Ctx) -> Work:
    work = _onnx_global_pool(c)
    work.elementwise_ops += 2 * c.out_numel()
    return work


def _control_flow(c: Ctx) -> Work:
    raise Uncountable(f"control flow ({c.node.op_type}): the ops in its subgraphs are not counted")


ONNX_COUNTERS: dict[str, Callable[[Ctx], Work]] = {
    "Conv": _onnx_conv,
    "ConvTranspose": _onnx_conv_transpose,
    "ConvInteger": lambda c: _onnx_conv(c, 0, 1),
    "QLinearConv": _qlinear_conv,
    "FusedConv": _fused_conv,
    "NhwcConv": _onnx_conv,
    "Gemm": _onnx_gemm,
    "FusedGemm": _fused_gemm,
    "MatMul": _onnx_matmul,
    "MatMulInteger": _onnx_matmul,
    "QLinearMatMul": _qlinear_matmul,
    "QGemm": _qgemm,
    "MatMulNBits": _matmul_nbits,
    "DynamicQuantizeMatMul": _int_matmul_to_float,
    "MatMulIntegerToFloat": _int_matmul_to_float,
    "FusedMatMul": _onnx_fused_matmul,
    "Einsum": _onnx_einsum,
    "MaxPool": _onnx_pool,
    "AveragePool": _onnx_pool,
    "LpPool": _onnx_pool,
    "QLinearAveragePool": _qlinear_pool,
    "NhwcMaxPool": lambda c: Work(elementwise_ops=c.out_numel() * math.prod(c.attr("kernel_shape") or [1]),
                                  kind="pool"),
    "GlobalAveragePool": _onnx_global_pool,
    "GlobalMaxPool": _onnx_global_pool,
    "GlobalLpPool": _onnx_global_pool,
    "QLinearGlobalAveragePool": _qlinear_global_pool,
    "Resize": _onnx_resize,
    "Upsample": _onnx_resize,
    "LSTM": _onnx_recurrent(),
    "GRU": _onnx_recurrent(),
    "RNN": _onnx_recurrent(),
    "Attention": _ms_attention,  # com.microsoft; the ai.onnx Attention (opset 23) is onnx_attention
    "MultiHeadAttention": _ms_multihead_attention,
    "Sum": variadic(0),
    "Max": variadic(0),
    "Min": variadic(0),
    "Mean": variadic(1),
    "LRN": lambda c: Work(elementwise_ops=(int(c.attr("size", 1)) + 3) * c.numel(0), kind="normalization"),
    **{op: per_output(n, "quantize" if "Quantize" in op else "elementwise")
       for op, n in T.ONNX_ELEMENTWISE.items()},
    **{op: per_input(n, "normalization") for op, n in T.ONNX_NORMALIZATION.items()},
    **{op: per_input(n, "softmax") for op, n in T.ONNX_SOFTMAX.items()},
    **{op: reduce_op(a, b) for op, (a, b) in T.ONNX_REDUCE.items()},
    **{op: data_movement for op in T.ONNX_DATA_MOVEMENT},
    **{op: _control_flow for op in T.ONNX_CONTROL_FLOW},
}
# ONNX ops outside the default domain that we understand (the rest are reported uncounted).
MICROSOFT_OPS = frozenset({
    "FusedConv", "NhwcConv", "FusedGemm", "FusedMatMul", "QLinearConv", "QLinearMatMul", "QLinearAdd",
    "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu", "QLinearAveragePool", "QLinearGlobalAveragePool",
    "QLinearConcat", "QLinearSoftmax", "NhwcMaxPool", "Attention", "MultiHeadAttention", "Gelu", "FastGelu", "BiasGelu",
    "QuickGelu", "SkipLayerNormalization", "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization",
    "LayerNormalization", "DequantizeLinear", "QuantizeLinear", "QGemm", "MatMulNBits", "DynamicQuantizeMatMul",
    "MatMulIntegerToFloat",
})



def _nchwc_conv(c: Ctx) -> Work:
    """NCHWc Conv: a Conv with its activation (and a residual `Sum`, input 3) fused, in blocked layout."""
    work = _fused_conv(c)
    if c.has(3):
        work.elementwise_ops += c.out_numel()
    return work


# onnxruntime's NCHWc layout ops (com.microsoft.nchwc, x86): counted as the ops they stand for.
NCHWC_COUNTERS: dict[str, Callable[[Ctx], Work]] = {
    "Conv": _nchwc_conv,
    "MaxPool": _onnx_pool,
    "AveragePool": _onnx_pool,
    "GlobalAveragePool": _onnx_global_pool,
    "GlobalMaxPool": _onnx_global_pool,
    "Upsample": _onnx_resize,
    "ReorderInput": data_movement,
    "ReorderOutput": data_movement,
}


# Input slots that hold learned parameters (when they are constants). None = every constant input.
# Running mean/var of BatchNormalization are buffers, not parameters (the torch convention).
PARAM_SLOTS: dict[str, tuple[int, ...] | None] = {
    "Conv": (1, 2), "ConvTranspose": (1, 2), "ConvInteger": (1,), "QLinearConv": (3, 8), "FusedConv": (1, 2),
    "NhwcConv": (1, 2), "Gemm": (0, 1, 2), "FusedGemm": (0, 1, 2), "MatMul": (0, 1), "MatMulInteger": (0, 1),
    "FusedMatMul": (0, 1), "QLinearMatMul": (0, 3), "Einsum": None, "BatchNormalization": (1, 2),
    "InstanceNormalization": (1, 2), "LayerNormalization": (1, 2), "GroupNormalization": (1, 2),
    "RMSNormalization": (1,), "SimplifiedLayerNormalization": (1,), "SkipLayerNormalization": (2, 3, 4),
    "SkipSimplifiedLayerNormalization": (2,), "PRelu": (1,), "Gather": (0,), "LSTM": (1, 2, 3),
    "GRU": (1, 2, 3), "RNN": (1, 2, 3), "Attention": (1, 2), "BiasGelu": (1,),
    "QGemm": (3, 6), "DynamicQuantizeMatMul": (1, 4), "MatMulIntegerToFloat": (1, 6),
    # packed 4-bit weights: counts stored uint8 elements, i.e. half the logical N·K parameters
    "MatMulNBits": (1,),
}
# Element-wise ops whose constant operands are learned when they are more than a scalar (bias, layer scale).
TENSOR_OPERAND_OPS = frozenset({"Add", "Sub", "Mul", "Div"})
