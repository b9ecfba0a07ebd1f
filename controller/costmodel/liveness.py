"""Peak live activation memory: tensor lifetimes over the execution order.

A tensor is live from the step that produces it (graph inputs: from the first step) through the last step
that reads it (graph outputs: to the end). While a node runs, its inputs and outputs are live together.
Constants (weights, and outputs of constant-folded nodes) are not activations and never count.

This is the lower bound an ideal allocator reaches; real runtimes add fragmentation and sometimes alias a
Reshape's output onto its input (which this does not model, so it errs high there).
"""
from __future__ import annotations

from dataclasses import dataclass

from .ir import Graph


@dataclass
class PeakActivation:
    bytes: int
    step: int | None  # index into the executed node list where the peak is reached
    unknown_tensors: list[str]  # activations whose size is unknown (counted as 0)


def peak_activation(graph: Graph, executed: list[int], constants: set[str]) -> PeakActivation:
    """Peak bytes of live activations while running graph.nodes[i] for i in `executed`, in order."""
    steps = len(executed)
    birth: dict[str, int] = {}
    death: dict[str, int] = {}
    for name in graph.inputs:
        if name not in constants:
            birth[name] = 0
            death[name] = 0
    for step, index in enumerate(executed):
        node = graph.nodes[index]
        for name in node.inputs:
            if name and name in birth:
                death[name] = step
        for name in node.outputs:
            if name and name not in constants and name not in birth:
                birth[name] = step
                death[name] = step
    for name in graph.outputs:
        if name in birth:
            death[name] = max(steps - 1, 0)

    if steps == 0:  # everything folded (or no nodes): only the inputs are ever held
        known = [graph.tensor(n).bytes for n in birth if graph.tensor(n) is not None]
        return PeakActivation(bytes=sum(b or 0 for b in known), step=None,
                              unknown_tensors=[n for n in birth if graph.tensor(n) is None or graph.tensor(n).bytes is None])
    delta = [0] * (steps + 1)
    unknown: list[str] = []
    for name, start in birth.items():
        t = graph.tensor(name)
        size = t.bytes if t is not None else None
        if size is None:
            unknown.append(name)
            continue
        delta[start] += size
        delta[death[name] + 1] -= size

    peak, at, live = 0, None, 0
    for step in range(steps):
        live += delta[step]
        if live > peak:
            peak, at = live, step
    return PeakActivation(bytes=peak, step=at, unknown_tensors=unknown)
