"""The kernels a runtime executes for a model, each with the features its fitted cost model reads.

A kernel is one node of the graph the runtime really runs: for onnxruntime the optimized graph the board's own
onnxruntime wrote out (FusedConv, NCHWc Conv, QLinearConv, the reorders and casts it inserted...), for TFLite
the flatbuffer's ops (activations already fused by the converter). The same function describes the kernels
of a calibration kernel model and of a user's model, so what was fitted is what is applied.

Features are shape facts (channels, spatial size, kernel size, stride, group width, M/N/K, element counts)
and the roofline terms (ops, bytes, intensity): never the model's name or anything specific to one network.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .costs import ModelCost, NodeCost
from .ir import Graph, Node

CONV_OPS = frozenset({"Conv", "FusedConv", "QLinearConv", "NhwcConv", "ConvInteger", "CONV_2D", "DEPTHWISE_CONV_2D"})
GEMM_OPS = frozenset({"Gemm", "FusedGemm", "QGemm", "MatMul", "FusedMatMul", "QLinearMatMul", "MatMulInteger",
                      "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "FULLY_CONNECTED", "BATCH_MATMUL"})
DOMAIN_TAGS = {"": "", "ai.onnx": "", "com.microsoft": "ms.", "com.microsoft.nchwc": "nchwc.", "tflite": "",
               "custom": "custom."}

# The feature vector every kernel type shares (zeros where a feature does not apply), in this order.
FEATURES = (
    "log_ops", "log_bytes", "log_in_bytes", "log_out_bytes", "log_weight_bytes", "log_intensity", "log_out_numel",
    "cin", "cout", "k", "stride", "log_group_width", "h_in", "w_in", "h_out", "w_out",
    "m", "n", "kk", "batch", "fused_act", "fused_sum", "n_inputs", "last_dim", "rank",
)


@dataclass
class Kernel:
    name: str  # the node's name in the executed graph (what a profiler reports)
    op_type: str
    domain: str
    key: str  # the kernel type a fitted model is kept per: "nchwc.Conv:depthwise:fp32", "ADD:int8"
    ops: float  # 2 x MACs + element-wise ops (the roofline's compute term)
    bytes: float  # every distinct input and output (the roofline's memory term)
    features: dict[str, float] = field(default_factory=dict)
    counted: bool = True  # False: the cost model has no rule for it, the features are sizes only
    kind: str = ""  # the cost model's family of the op (conv, depthwise_conv, matmul, elementwise, ...)
    variant: str = ""  # its shape class inside the kind (pointwise, grouped, ...)

    def vector(self) -> list[float]:
        return [self.features.get(f, 0.0) for f in FEATURES]


def _log(x: float | int | None) -> float:
    return math.log1p(max(float(x or 0), 0.0))


def _dims(shape: tuple[int, ...] | None) -> tuple[int, ...]:
    return tuple(shape) if shape else ()


def _conv_features(node: Node, cost: NodeCost, tflite: bool) -> tuple[str, dict[str, float]]:
    shapes = cost.input_shapes
    x = _dims(shapes[0] if shapes else None)
    out = _dims(cost.output_shapes[0] if cost.output_shapes else None)
    if node.op_type == "QLinearConv":
        w = _dims(shapes[3] if len(shapes) > 3 else None)
    else:
        w = _dims(shapes[1] if len(shapes) > 1 else None)
    if tflite:  # NHWC activations; CONV_2D weights OHWI, DEPTHWISE [1, H, W, C*M]
        cin = x[-1] if x else 0
        cout = out[-1] if out else 0
        h_in, w_in = (x[1], x[2]) if len(x) == 4 else (0, 0)
        h_out, w_out = (out[1], out[2]) if len(out) == 4 else (0, 0)
        k = w[1] if len(w) == 4 else 0
        depthwise = node.op_type == "DEPTHWISE_CONV_2D"
        groups = cin if depthwise else (cin // w[-1] if len(w) == 4 and w[-1] else 1)
        stride = int(node.attrs.get("stride_h", 1) or 1)
        act = node.attrs.get("fused_activation_function", "NONE") not in ("NONE", 0, None)
        fused_sum = False
    else:  # NCHW (NCHWc and NHWC kernels keep logical NCHW dims in our IR; NhwcConv is NHWC)
        nhwc = node.op_type == "NhwcConv" or bool(node.attrs.get("channels_last"))
        cin = (x[-1] if nhwc else x[1]) if len(x) >= 2 else 0
        cout = (out[-1] if nhwc else out[1]) if len(out) >= 2 else 0
        sp_in = (x[1:-1] if nhwc else x[2:]) if len(x) >= 3 else ()
        sp_out = (out[1:-1] if nhwc else out[2:]) if len(out) >= 3 else ()
        h_in, w_in = (sp_in + (1, 1))[:2] if sp_in else (0, 0)
        h_out, w_out = (sp_out + (1, 1))[:2] if sp_out else (0, 0)
        k = w[2] if len(w) >= 3 else 0
        groups = int(node.attrs.get("group", 1) or 1)
        strides = node.attrs.get("strides") or [1]
        stride = int(strides[0])
        act = bool(node.attrs.get("activation")) and node.attrs.get("activation") != ""
        fused_sum = node.domain == "com.microsoft.nchwc" and len(node.inputs) > 3 and bool(node.inputs[3])
        depthwise = groups > 1 and groups == cin
    width = cin / groups if groups else cin
    if depthwise:
        variant = "depthwise"
    elif groups > 1:
        variant = "grouped"
    elif k == 1:
        variant = "pointwise"
    else:
        variant = "dense"
    return variant, {
        "cin": cin, "cout": cout, "k": k, "stride": stride, "log_group_width": _log(width),
        "h_in": h_in, "w_in": w_in, "h_out": h_out, "w_out": w_out,
        "fused_act": float(act), "fused_sum": float(fused_sum),
    }


def _gemm_features(cost: NodeCost) -> dict[str, float]:
    shapes = [s for s in cost.input_shapes if s]
    out = _dims(cost.output_shapes[0] if cost.output_shapes else None)
    a = _dims(shapes[0]) if shapes else ()
    kk = a[-1] if a else 0
    n = out[-1] if out else 0
    m = out[-2] if len(out) >= 2 else 1
    batch = math.prod(out[:-2]) if len(out) > 2 else 1
    return {"m": m, "n": n, "kk": kk, "batch": batch}


def kernel_of(node: Node, cost: NodeCost, graph: Graph) -> Kernel:
    tflite = graph.format == "tflite"
    in_bytes = 0
    weight_bytes = 0
    for name in dict.fromkeys(node.inputs):
        t = graph.tensor(name) if name else None
        if t is None or t.bytes is None:
            continue
        if t.is_weight:
            weight_bytes += t.bytes
        else:
            in_bytes += t.bytes
    out_bytes = sum((graph.tensor(o).bytes or 0) for o in node.outputs if o and graph.tensor(o) is not None)
    out_numel = sum((graph.tensor(o).numel or 0) for o in node.outputs if o and graph.tensor(o) is not None)
    ops = float(cost.ops or 0)
    nbytes = float(cost.memory_access_bytes or (in_bytes + out_bytes + weight_bytes))
    first_out = _dims(cost.output_shapes[0] if cost.output_shapes else None)
    features: dict[str, float] = {
        "log_ops": _log(ops), "log_bytes": _log(nbytes), "log_in_bytes": _log(in_bytes),
        "log_out_bytes": _log(out_bytes), "log_weight_bytes": _log(weight_bytes),
        "log_intensity": math.log((ops + 1.0) / (nbytes + 1.0)), "log_out_numel": _log(out_numel),
        "n_inputs": float(sum(1 for i in node.inputs if i)), "last_dim": float(first_out[-1] if first_out else 0),
        "rank": float(len(first_out)),
    }
    variant = ""
    if node.op_type in CONV_OPS:
        variant, extra = _conv_features(node, cost, tflite)
        features.update(extra)
    elif node.op_type in GEMM_OPS:
        features.update(_gemm_features(cost))
    elif node.op_type in ("MaxPool", "AveragePool", "QLinearAveragePool", "MAX_POOL_2D", "AVERAGE_POOL_2D"):
        ks = node.attrs.get("kernel_shape") or [node.attrs.get("filter_height", 0)]
        st = node.attrs.get("strides") or [node.attrs.get("stride_h", 1)]
        features.update({"k": float(ks[0] or 0), "stride": float(st[0] or 1)})
    if node.op_type == "FusedGemm" or (tflite and node.attrs.get("fused_activation_function") not in (None, "NONE", 0)):
        features["fused_act"] = 1.0
    dtype = cost.compute_dtype or "fp32"
    tag = DOMAIN_TAGS.get(node.domain, f"{node.domain}.")
    key = f"{tag}{node.op_type}:{variant}:{dtype}" if variant else f"{tag}{node.op_type}:{dtype}"
    return Kernel(node.name, node.op_type, node.domain, key, ops, nbytes, features, cost.counted, cost.kind,
                  cost.variant)


def kernels_of(graph: Graph, cost: ModelCost) -> list[Kernel]:
    """One Kernel per node the runtime executes (constant-folded nodes cost nothing per inference)."""
    if len(graph.nodes) != len(cost.nodes):
        raise ValueError("graph and cost do not describe the same nodes")
    return [kernel_of(node, c, graph) for node, c in zip(graph.nodes, cost.nodes, strict=True) if not c.folded]


def describe(kernel: Kernel) -> dict[str, Any]:
    return {"name": kernel.name, "key": kernel.key, "ops": kernel.ops, "bytes": kernel.bytes,
            "features": dict(kernel.features)}
