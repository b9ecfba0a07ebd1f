"""Per-node roofline on a device profile.

    time(node) = max(ops / (peak[dtype] × threads/cores × efficiency[op]), bytes / bandwidth) + dispatch

where ops = 2·MACs + element-wise ops. Constant-folded nodes cost nothing per inference. An uncounted node
still pays its memory traffic (when its tensors' sizes are known) and its dispatch, and is flagged so
nobody mistakes that for a full estimate.
"""
from __future__ import annotations

from dataclasses import dataclass

from .costs import NodeCost
from .profiles import DeviceProfile


@dataclass
class NodeTime:
    compute_ms: float
    memory_ms: float
    overhead_ms: float
    predicted_ms: float
    # "compute" / "memory": which roof the node sits under; "folded": computed at load time;
    # "overhead": no arithmetic and no bytes known, only dispatch is charged.
    bound: str


def effective_threads(profile: DeviceProfile, threads: int | None) -> int:
    cores = int(profile.cores.value)
    if profile.compute_unit != "cpu" or not threads or threads <= 0:
        return cores
    return min(threads, cores)


def node_time(node: NodeCost, profile: DeviceProfile, threads: int | None = None, *, fused: bool = False,
              view: bool = False) -> NodeTime:
    """`fused`: merged into another node's kernel by the runtime (costs nothing of its own);
    `view`: a reshape-like op the runtime runs without copying (only its dispatch is charged)."""
    if node.folded:
        return NodeTime(0.0, 0.0, 0.0, 0.0, "folded")
    if fused:
        return NodeTime(0.0, 0.0, 0.0, 0.0, "fused")
    compute_s = 0.0
    ops = node.ops
    if ops and not view:
        scale = effective_threads(profile, threads) / profile.cores.value if profile.compute_unit == "cpu" else 1.0
        rate = profile.peak(node.compute_dtype) * 1e9 * scale * profile.efficiency_for(node.op_type, node.kind, node.variant)
        compute_s = ops / rate
    memory_s = 0.0 if view else (node.memory_access_bytes or 0) / (profile.memory_bandwidth_gbs.value * 1e9)
    overhead_s = profile.dispatch_overhead_us.value * 1e-6
    if compute_s == 0.0 and memory_s == 0.0:
        bound = "overhead"
    else:
        bound = "compute" if compute_s >= memory_s else "memory"
    total = max(compute_s, memory_s) + overhead_s
    return NodeTime(compute_s * 1e3, memory_s * 1e3, overhead_s * 1e3, total * 1e3, bound)
