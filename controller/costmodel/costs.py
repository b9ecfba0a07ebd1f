"""Static cost records: what one node and one model cost on paper, before any device is involved."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class NodeCost:
    name: str
    op_type: str
    # Coarse family used for efficiency lookup: conv, depthwise_conv, matmul, elementwise, data_movement...
    kind: str
    # Which peak the node runs at: "fp32", "fp16" or "int8" (quantized integer kernels).
    compute_dtype: str
    # Multiply-accumulates of conv / conv-transpose / gemm / matmul / attention / recurrent ops.
    # None when the node could not be counted (see `reason`): never a silent zero.
    macs: int | None
    # Every other arithmetic op (activations, pools, norms, softmax, reductions, resize), one per primitive op.
    elementwise_ops: int | None
    params: int
    weight_bytes: int
    # Bytes of every distinct input (weights included) and output: the ShuffleNet V2 "memory access cost".
    memory_access_bytes: int | None
    input_shapes: list[tuple[int, ...] | None] = field(default_factory=list)
    output_shapes: list[tuple[int, ...] | None] = field(default_factory=list)
    # Computed once from constants when the runtime loads the model (onnxruntime constant folding,
    # TFLite's Prepare of a constant DEQUANTIZE): costs nothing per inference, so kept out of the totals.
    folded: bool = False
    reason: str | None = None  # why the node is uncounted
    domain: str = ""
    variant: str = ""  # finer shape class inside `kind` (see op_common.conv_variant)
    # Tensor names, so later passes (runtime fusion, profile joins) can follow the graph.
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def counted(self) -> bool:
        return self.macs is not None and self.elementwise_ops is not None

    @property
    def flops(self) -> int | None:
        return None if self.macs is None else 2 * self.macs

    @property
    def ops(self) -> int | None:
        """Arithmetic the roofline charges: 2 per MAC plus the element-wise ops."""
        if not self.counted:
            return None
        return 2 * (self.macs or 0) + (self.elementwise_ops or 0)

    @property
    def intensity(self) -> float | None:
        """Arithmetic intensity, ops per byte of memory access."""
        ops = self.ops
        if ops is None or not self.memory_access_bytes:
            return None
        return ops / self.memory_access_bytes


@dataclass
class ModelCost:
    name: str
    path: str
    format: str
    nodes: list[NodeCost]
    macs: int
    elementwise_ops: int
    params: int
    weight_bytes: int
    memory_access_bytes: int
    peak_activation_bytes: int
    # Node running when the peak is reached (None for an empty graph).
    peak_activation_node: str | None = None
    # The graph inputs fed at run time, with the shapes the counts assume.
    input_shapes: dict[str, tuple[int, ...] | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def uncounted(self) -> list[NodeCost]:
        return [n for n in self.nodes if not n.counted and not n.folded]
