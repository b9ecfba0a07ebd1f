"""Join onnxruntime's per-node profile to the model's graph nodes, through onnxruntime's fusions.

onnxruntime renames what it rewrites: an NCHWc conv that absorbed Conv+BatchNorm+Relu is reported as
"relu_0_nchwc" (the last absorbed node's name + "_nchwc"), Sigmoid+Mul becomes "mul_0/QuickGeluFusion",
and it inserts nodes of its own (ReorderInput/ReorderOutput layout conversions). So each profile entry
is mapped to the graph node it names, and every graph node that does not appear is attached to the group
that absorbed it: backwards (all its consumers are in one group: it was fused into that group's kernel)
then forwards (its producer's group took it as an epilogue, e.g. a residual Add).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..costmodel import Prediction
from ..records import OpProfileEntry

_TOKEN = re.compile(r"_token_\d+$")


@dataclass
class Group:
    name: str  # the graph node the profile entry names
    entries: list[OpProfileEntry]
    nodes: list[str] = field(default_factory=list)  # graph nodes whose work this kernel did

    @property
    def measured_ms(self) -> float:
        return sum(e.mean_us for e in self.entries) / 1e3

    @property
    def runtime_op(self) -> str:
        return "+".join(sorted({e.op_type for e in self.entries}))

    @property
    def provider(self) -> str:
        return ",".join(sorted({e.provider.replace("ExecutionProvider", "") for e in self.entries}))


@dataclass
class Join:
    groups: list[Group]
    inserted: list[OpProfileEntry]  # profile entries with no graph node (layout reorders, ...)
    unmatched: list[str]  # executed graph nodes neither in the profile nor absorbed by a group

    @property
    def inserted_ms(self) -> float:
        return sum(e.mean_us for e in self.inserted) / 1e3


def graph_name_for(profile_name: str, names: set[str], by_output: dict[str, str] | None = None) -> str | None:
    """The graph node a profile entry stands for; NCHWc kernels may be named after an output tensor."""
    for cand in (profile_name, profile_name.removesuffix("_nchwc"), profile_name.split("/")[0],
                 _TOKEN.sub("", profile_name)):
        if cand in names:
            return cand
        if by_output and cand in by_output:
            return by_output[cand]
    return None


def join_profile(prediction: Prediction, op_profile: Sequence[OpProfileEntry | Mapping[str, Any]]) -> Join:
    """Group the profile's entries (records, or their JSON form as a stored run keeps them) by graph node."""
    nodes = [n for n in prediction.model.nodes if not n.folded]
    names = {n.name for n in nodes}
    by_output = {t: n.name for n in nodes for t in n.outputs if t}
    groups: dict[str, Group] = {}
    inserted = []
    for entry in map(OpProfileEntry.of, op_profile):
        target = graph_name_for(entry.node, names, by_output)
        if target is None:
            inserted.append(entry)
            continue
        groups.setdefault(target, Group(target, [])).entries.append(entry)
    owner: dict[str, str] = {name: name for name in groups}
    consumers: dict[str, list[str]] = {}
    producer: dict[str, str] = {}
    for n in nodes:
        for t in n.inputs:
            if t:
                consumers.setdefault(t, []).append(n.name)
        for t in n.outputs:
            producer[t] = n.name
    # Backwards: a kernel named after a node of another op type ("relu_0_nchwc" is a Conv) took that node's
    # producers until it reaches a node of its own op type; a node whose outputs all feed such a group joins it.
    op_of = {n.name: n.op_type for n in nodes}
    open_groups = {name for name, g in groups.items() if not _same_op(op_of[name], g.entries[0].op_type)}
    for n in reversed(nodes):
        if n.name in owner:
            continue
        users = {owner.get(c) for t in n.outputs for c in consumers.get(t, [])}
        if len(users) == 1 and None not in users and (g := users.pop()) in open_groups:
            owner[n.name] = g
            if _same_op(n.op_type, groups[g].entries[0].op_type):
                open_groups.discard(g)
    # Forwards: an epilogue (residual Add, activation) taken by its producer's group.
    for n in nodes:
        if n.name in owner:
            continue
        cands = [producer[t] for t in n.inputs if t in producer and producer[t] in owner]
        sole = [p for p in cands if all(len(consumers.get(t, [])) == 1 for t in _outputs(nodes, p))]
        pick = (sole or cands or [None])[-1]
        if pick is not None:
            owner[n.name] = owner[pick]
    for n in nodes:
        if n.name in owner:
            groups[owner[n.name]].nodes.append(n.name)
    unmatched = [n.name for n in nodes if n.name not in owner]
    return Join(list(groups.values()), inserted, unmatched)


def _same_op(graph_op: str, runtime_op: str) -> bool:
    return graph_op == runtime_op or (graph_op == "Conv" and runtime_op in ("FusedConv", "NhwcConv"))


def _outputs(nodes, name: str) -> list[str]:
    for n in nodes:
        if n.name == name:
            return n.outputs
    return []
