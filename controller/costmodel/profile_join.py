"""Measured per-node times from a runtime's profile, joined to the nodes of the graph it executed.

onnxruntime's profiler names each kernel after its node. Nodes its optimizer made without a name (the
HardSigmoid + Mul of a decomposed HardSwish, inserted reorders) get a name the saved graph does not carry, and
several nodes may share one ("ReorderOutput"): those are joined by op type in execution order, which is the
order the saved graph lists them in.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

from .ir import Graph


class ProfileEntry(Protocol):
    node_name: str
    op_type: str
    median_us: float
    order: int


def node_times(graph: Graph, entries: Sequence[ProfileEntry]) -> dict[str, float]:
    """Graph node name -> measured steady-state time (us), for every node the profile accounts for."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for node in graph.nodes:
        if node.named:
            by_name[node.name].append(node.name)
    out: dict[str, float] = {}
    leftovers = []
    claimed_names: dict[str, int] = defaultdict(int)
    for e in sorted(entries, key=lambda e: e.order):
        candidates = by_name.get(e.node_name, [])
        i = claimed_names[e.node_name]
        if i < len(candidates):  # duplicates of one name are taken in execution order
            claimed_names[e.node_name] += 1
            out[candidates[i]] = out.get(candidates[i], 0.0) + e.median_us
        else:
            leftovers.append(e)
    unnamed: dict[str, list[str]] = defaultdict(list)
    for node in graph.nodes:
        if node.name not in out and not (node.named and node.name in claimed_names):
            unnamed[node.op_type].append(node.name)
    taken: dict[str, int] = defaultdict(int)
    for e in leftovers:
        pool = unnamed.get(e.op_type, [])
        i = taken[e.op_type]
        if i < len(pool):
            taken[e.op_type] += 1
            out[pool[i]] = e.median_us
    return out
