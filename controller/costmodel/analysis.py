"""Graph → ModelCost: count every node, fold constants, total up, find the activation peak."""
from __future__ import annotations

from .costs import ModelCost
from .counting import count_node, param_slots
from .folding import constant_folded
from .ir import Graph, Node
from .liveness import peak_activation


def analyze(graph: Graph, path: str = "") -> ModelCost:
    folded, constants = constant_folded(graph)
    producers: dict[str, Node] = {out: node for node in graph.nodes for out in node.outputs if out}
    nodes = [count_node(graph, node, producers, folded=i in folded, constants=constants)
             for i, node in enumerate(graph.nodes)]
    for cost, node in zip(nodes, graph.nodes, strict=True):
        cost.inputs, cost.outputs = list(node.inputs), list(node.outputs)

    executed = [i for i in range(len(graph.nodes)) if i not in folded]
    live = [nodes[i] for i in executed]
    macs = sum(n.macs for n in live if n.macs is not None)
    elementwise = sum(n.elementwise_ops for n in live if n.elementwise_ops is not None)
    memory_access = sum(n.memory_access_bytes for n in live if n.memory_access_bytes is not None)

    # Model-level parameters and weights count each stored tensor once, however many nodes read it.
    param_names: set[str] = set()
    weight_names: set[str] = set()
    for node in graph.nodes:
        param_names.update(node.inputs[i] for i in param_slots(graph, node, constants))
        weight_names.update(n for n in node.inputs if n and graph.tensors[n].is_weight)
    params = sum(graph.tensors[n].numel or 0 for n in param_names)
    weight_bytes = sum(graph.tensors[n].bytes or 0 for n in weight_names)

    peak = peak_activation(graph, executed, constants)
    warnings = list(graph.warnings)
    if peak.unknown_tensors:
        shown = ", ".join(repr(n) for n in peak.unknown_tensors[:5])
        more = f" and {len(peak.unknown_tensors) - 5} more" if len(peak.unknown_tensors) > 5 else ""
        warnings.append(f"peak activation memory leaves out tensors of unknown size: {shown}{more}")
    unknown_bytes = [n.name for n in live if n.memory_access_bytes is None and n.counted]
    if unknown_bytes:
        warnings.append(f"{len(unknown_bytes)} counted node(s) have unknown memory traffic (left out of the total)")

    return ModelCost(
        name=graph.name,
        path=path,
        format=graph.format,
        nodes=nodes,
        macs=macs,
        elementwise_ops=elementwise,
        params=params,
        weight_bytes=weight_bytes,
        memory_access_bytes=memory_access,
        peak_activation_bytes=peak.bytes,
        peak_activation_node=graph.nodes[executed[peak.step]].name if peak.step is not None else None,
        input_shapes={name: graph.tensors[name].shape if name in graph.tensors else None for name in graph.inputs},
        warnings=warnings,
    )
