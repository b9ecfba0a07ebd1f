"""Which nodes of the user's graph each kernel of the runtime's optimized graph stands for.

onnxruntime rewrites a graph before it runs it: BatchNorm folded into Conv, activations and residual adds
fused into the conv's epilogue, x * sigmoid(x) into one QuickGelu, convolutions moved to the blocked NCHWc
layout with reorders at the region's edges, QDQ groups into QLinear kernels. The per-op tables show one row per
kernel that really ran, with the file's nodes it covers:

1. a kernel is anchored to a file node it keeps the name of (onnxruntime appends "_nchwc" and the like), or
   to the file node whose output tensor it still writes;
2. a file node that reads the only output of a covered node is fused into that kernel's epilogue (a residual
   Add into the conv before it);
3. every other file node is covered by the kernel its output flows into, along single-consumer chains (the
   conv and BatchNorm before a fused ReLU are covered by the kernel anchored at the ReLU);
4. what is left ran nowhere per inference: folded into constants at load, or removed.

Kernels with no file node at all (reorders, inserted casts) are the runtime's own.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from .ir import Graph

# What onnxruntime appends to the name of the node a kernel grew from: "clip_0_nchwc", "mul_0/QuickGeluFusion/",
# "ReorderOutput_token_12".
_SUFFIX = re.compile(r"/|_nchwc|_token_\d+")


@dataclass
class KernelCover:
    kernel: str  # the executed graph's node name
    nodes: list[str] = field(default_factory=list)  # file nodes it covers, in file order
    inserted: bool = False  # the runtime's own (no file node): reorders, casts, layout transposes


@dataclass
class RuntimeJoin:
    covers: dict[str, KernelCover]
    removed: list[str]  # file nodes no kernel runs (folded at load, or optimized away)


def join_runtime_graph(original: Graph, executed: Graph) -> RuntimeJoin:
    orig_names = {n.name for n in original.nodes}
    producer = {t: n.name for n in original.nodes for t in n.outputs if t}
    consumers: dict[str, list[str]] = defaultdict(list)
    for n in original.nodes:
        for t in n.inputs:
            if t:
                consumers[t].append(n.name)
    order = {n.name: i for i, n in enumerate(original.nodes)}
    owner: dict[str, str] = {}  # file node -> kernel
    covers: dict[str, KernelCover] = {}
    for k in executed.nodes:
        cover = covers[k.name] = KernelCover(k.name)
        anchors = []
        if k.named:
            base = _SUFFIX.split(k.name)[0]
            for candidate in (k.name, base):
                if candidate in orig_names:
                    anchors.append(candidate)
                    break
        anchors += [producer[t] for t in k.outputs if t in producer]
        for a in dict.fromkeys(anchors):
            if a not in owner:
                owner[a] = k.name
    outputs_of = {n.name: [t for t in n.outputs if t] for n in original.nodes}
    kinds = {n.name: n.op_type for n in original.nodes}
    _absorb_downstream(original, owner, outputs_of, consumers)
    # What is left and element-wise, reading the single-consumer output of a covered node, is that kernel's
    # epilogue (a residual Add fused into the conv before it).
    changed = True
    while changed:
        changed = False
        for n in original.nodes:
            if n.name in owner or kinds[n.name] not in _EPILOGUE_OPS:
                continue
            for t in n.inputs:
                src = producer.get(t)
                if src in owner and len(consumers.get(t, [])) == 1:
                    owner[n.name] = owner[src]
                    changed = True
                    break
    _absorb_downstream(original, owner, outputs_of, consumers)
    for name, kernel in owner.items():
        covers[kernel].nodes.append(name)
    for cover in covers.values():
        cover.nodes.sort(key=lambda n: order.get(n, 0))
        cover.inserted = not cover.nodes
    removed = [n.name for n in original.nodes if n.name not in owner]
    return RuntimeJoin(covers, removed)


_EPILOGUE_OPS = frozenset({"Add", "Sum", "Mul", "Sub", "Div", "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish",
                           "LeakyRelu", "Tanh", "BatchNormalization"})


def _absorb_downstream(original: Graph, owner: dict[str, str], outputs_of: dict[str, list[str]],
                       consumers: dict[str, list[str]]) -> None:
    """An unclaimed node joins the kernel its single-consumer output chain reaches."""
    for n in original.nodes:
        if n.name in owner:
            continue
        current, seen = n.name, set()
        while current not in seen:
            seen.add(current)
            nxt = [c for t in outputs_of.get(current, []) for c in consumers.get(t, [])]
            if len(set(nxt)) != 1:
                break
            current = nxt[0]
            if current in owner:
                owner[n.name] = owner[current]
                break

