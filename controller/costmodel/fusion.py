"""What onnxruntime's CPU graph optimizer merges, so the roofline charges the graph that really runs.

onnxruntime (level ALL, the default) folds BatchNorm into the preceding Conv, fuses activations and a
residual Add into the Conv's epilogue (FusedConv / NCHWc Conv with Sum), and turns x·sigmoid(x) into one
kernel (QuickGelu). An absorbed node moves no tensor through memory of its own and costs no dispatch, so
charging it as a separate memory-bound node overestimates a ResNet by a third. Reshape-like ops are views.

This is a static approximation of those passes: `runtime_fusions` says which node is absorbed into which.
The profile join (controller.calibration.opjoin) shows what onnxruntime actually did on a board.
"""
from __future__ import annotations

from collections.abc import Sequence

from .costs import NodeCost

# Nodes whose epilogue can take activations, a BatchNorm and a residual Add.
_ANCHORS = frozenset({"Conv", "FusedConv", "ConvTranspose"})
_ACTIVATIONS = frozenset({"Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "Tanh", "HardSwish"})
# Ops onnxruntime runs as views or in place of a copy: no bytes of their own.
ALIAS_OPS = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"})


def runtime_fusions(nodes: Sequence[NodeCost]) -> dict[str, str]:
    """Absorbed node name → the name of the node it is merged into (ONNX graphs on onnxruntime)."""
    producer: dict[str, NodeCost] = {}
    consumers: dict[str, int] = {}
    for n in nodes:
        for out in n.outputs:
            producer[out] = n
        for inp in n.inputs:
            if inp:
                consumers[inp] = consumers.get(inp, 0) + 1
    absorbed: dict[str, str] = {}
    # What each node's group can still take: "bn" (BatchNorm/activation/add), "act" (activation only), "".
    state: dict[str, str] = {}

    def anchor_of(name: str) -> str:
        while name in absorbed:
            name = absorbed[name]
        return name

    for n in nodes:
        if n.folded:
            continue
        sole = [producer[i] for i in n.inputs if i in producer and consumers.get(i, 0) == 1
                and not producer[i].folded]
        src = sole[0] if sole else None
        src_state = state.get(src.name, "") if src is not None else ""
        if n.op_type in _ANCHORS:
            state[n.name] = "bn"
        elif src is not None and n.op_type == "BatchNormalization" and src_state == "bn":
            absorbed[n.name] = anchor_of(src.name)
            state[n.name] = "bn"
        elif src is not None and n.op_type in _ACTIVATIONS and src_state in ("bn", "add"):
            absorbed[n.name] = anchor_of(src.name)
            state[n.name] = ""
        elif src is not None and n.op_type == "Add" and src_state == "bn" and len(n.inputs) == 2:
            absorbed[n.name] = anchor_of(src.name)
            state[n.name] = "add"
        elif n.op_type == "Mul" and len(n.inputs) == 2:
            # x * sigmoid(x) → one QuickGelu kernel: the Sigmoid is absorbed into the Mul.
            for inp in n.inputs:
                p = producer.get(inp)
                if (p is not None and p.op_type == "Sigmoid" and consumers.get(inp, 0) == 1
                        and p.inputs and p.inputs[0] in n.inputs and p.name not in absorbed):
                    absorbed[p.name] = n.name
    return absorbed
