"""What a model should cost on a board: roofline latency, resident memory and energy, per node and in total."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .. import zoo
from .analysis import analyze
from .costs import ModelCost, NodeCost
from .errors import CostModelError
from .fusion import ALIAS_OPS, runtime_fusions
from .profiles import DeviceProfile, load_profile
from .reader import malformed, read_model
from .roofline import NodeTime, effective_threads, node_time
from .shapes import InputShapes

# Written into every JSON document so a reader never has to guess what a number means.
CONVENTIONS: dict[str, str] = {
    "macs": "multiply-accumulates of conv, conv-transpose, gemm/matmul, attention and recurrent ops "
            "(torchvision's 'GFLOPS' are GMACs of conv + linear); bias adds are not counted",
    "flops": "2 x macs",
    "elementwise_ops": "all other arithmetic (activations, pools, norms, softmax, reductions, resize, "
                       "quantize), primitive ops per element; exp/tanh/erf count as one",
    "memory_access_bytes": "bytes of every distinct input (weights included) plus every output, per node, summed",
    "intensity": "(2 x macs + elementwise_ops) / memory_access_bytes, ops per byte",
    "peak_activation_bytes": "largest sum of live activation tensors over the execution order "
                             "(graph inputs count, weights do not)",
    "predicted_latency_ms": "sum over executed nodes of max(ops / (peak x efficiency), bytes / bandwidth) "
                            "+ per-node dispatch overhead",
    "predicted_memory_bytes": "weight_bytes + peak_activation_bytes + the profile's runtime overhead",
    "predicted_energy_j": "predicted latency x the profile's active power",
}

_MB = 1024 * 1024


@dataclass
class Prediction:
    model: ModelCost
    profile: DeviceProfile
    threads: int | None  # CPU threads the prediction assumes; None on a GPU profile
    node_times: list[NodeTime]  # aligned with model.nodes
    predicted_latency_ms: float
    predicted_memory_bytes: int
    predicted_energy_j: float
    runtime_overhead_bytes: int
    warnings: list[str] = field(default_factory=list)
    # Absorbed node → the node onnxruntime merges it into (empty when fusion was not modelled).
    fused_into: dict[str, str] = field(default_factory=dict)

    def per_node(self) -> Iterator[tuple[NodeCost, NodeTime]]:
        return zip(self.model.nodes, self.node_times, strict=True)

    def to_dict(self, include_nodes: bool = True) -> dict[str, Any]:
        """The JSON shape scripts rely on (see CONVENTIONS for what each number means)."""
        m = self.model
        out: dict[str, Any] = {
            "model": m.name,
            "path": m.path,
            "format": m.format,
            "device": self.profile.name,
            "threads": self.threads,
            "input_shapes": {k: list(v) if v is not None else None for k, v in m.input_shapes.items()},
            "macs": m.macs,
            "flops": m.flops,
            "elementwise_ops": m.elementwise_ops,
            "params": m.params,
            "memory_access_bytes": m.memory_access_bytes,
            "weight_bytes": m.weight_bytes,
            "peak_activation_bytes": m.peak_activation_bytes,
            "predicted_latency_ms": round(self.predicted_latency_ms, 6),
            "predicted_memory_bytes": self.predicted_memory_bytes,
            "predicted_energy_j": round(self.predicted_energy_j, 9),
            "memory_breakdown": {
                "weight_bytes": m.weight_bytes,
                "peak_activation_bytes": m.peak_activation_bytes,
                "runtime_overhead_bytes": self.runtime_overhead_bytes,
            },
            "latency_breakdown_ms": self.latency_breakdown(),
            "uncounted_ops": [{"name": n.name, "op_type": n.op_type, "reason": n.reason} for n in m.uncounted],
            "warnings": list(self.warnings),
        }
        if include_nodes:
            out["nodes"] = [_node_dict(c, t) for c, t in self.per_node()]
        return out

    def latency_breakdown(self) -> dict[str, float]:
        """Where the predicted time goes: compute-bound nodes, memory-bound nodes, dispatch overhead."""
        split = {"compute_bound": 0.0, "memory_bound": 0.0, "dispatch_overhead": 0.0}
        for t in self.node_times:
            if t.bound in ("compute", "memory"):
                split[f"{t.bound}_bound"] += t.predicted_ms - t.overhead_ms
            split["dispatch_overhead"] += t.overhead_ms
        return {k: round(v, 6) for k, v in split.items()}


def _node_dict(c: NodeCost, t: NodeTime) -> dict[str, Any]:
    intensity = c.intensity
    return {
        "name": c.name,
        "op_type": c.op_type,
        "kind": c.kind,
        "variant": c.variant or None,
        "compute_dtype": c.compute_dtype,
        "macs": c.macs,
        "flops": c.flops,
        "elementwise_ops": c.elementwise_ops,
        "params": c.params,
        "weight_bytes": c.weight_bytes,
        "bytes": c.memory_access_bytes,
        "intensity": None if intensity is None else round(intensity, 4),
        "predicted_ms": round(t.predicted_ms, 6),
        "compute_ms": round(t.compute_ms, 6),
        "memory_ms": round(t.memory_ms, 6),
        "bound": t.bound,
        "counted": c.counted,
        "folded": c.folded,
        "reason": c.reason,
        "input_shapes": [list(s) if s is not None else None for s in c.input_shapes],
        "output_shapes": [list(s) if s is not None else None for s in c.output_shapes],
    }


def predict_cost(model: ModelCost, profile: DeviceProfile | str, threads: int | None = None,
                 fusion: bool = False) -> Prediction:
    """Roofline prediction for an already-analysed model.

    `fusion`: charge the graph onnxruntime executes (BatchNorm folded, activations and residual adds fused
    into convs, reshapes as views) rather than the file's graph; only meaningful for ONNX on onnxruntime.
    """
    profile = load_profile(profile)
    fused = runtime_fusions(model.nodes) if fusion and model.format == "onnx" else {}
    views = fusion and model.format == "onnx"
    times = [node_time(n, profile, threads, fused=n.name in fused, view=views and n.op_type in ALIAS_OPS)
             for n in model.nodes]
    latency_ms = sum(t.predicted_ms for t in times)
    runtime_bytes = int(profile.runtime_overhead_mb[model.format].value * _MB)
    memory = model.weight_bytes + model.peak_activation_bytes + runtime_bytes
    energy = latency_ms / 1e3 * profile.active_power_w.value
    warnings = list(model.warnings)
    uncounted = model.uncounted
    if uncounted:
        names = ", ".join(f"{n.name} ({n.op_type})" for n in uncounted[:5])
        more = f" and {len(uncounted) - 5} more" if len(uncounted) > 5 else ""
        warnings.append(
            f"{len(uncounted)} node(s) could not be counted — their arithmetic is missing from the totals and "
            f"the latency: {names}{more}"
        )
    return Prediction(
        model=model,
        profile=profile,
        threads=effective_threads(profile, threads) if profile.compute_unit == "cpu" else None,
        node_times=times,
        predicted_latency_ms=latency_ms,
        predicted_memory_bytes=memory,
        predicted_energy_j=energy,
        runtime_overhead_bytes=runtime_bytes,
        warnings=warnings,
        fused_into=fused,
    )


def analyze_model(path: str | os.PathLike[str], input_shapes: InputShapes | None = None) -> ModelCost:
    """Read a model file (ONNX or TFLite, or a `zoo:NAME` reference) and count it; no device involved."""
    resolved = _model_file(path)
    graph = read_model(resolved, input_shapes)
    try:
        cost = analyze(graph, str(resolved))
    except CostModelError:
        raise
    except Exception as exc:  # a malformed graph that got past the reader: one clear line, never a traceback
        raise malformed(resolved, exc) from exc
    totals = [cost.macs, cost.elementwise_ops, cost.params, cost.weight_bytes, cost.memory_access_bytes,
              cost.peak_activation_bytes, *(n.macs for n in cost.nodes)]
    if any(isinstance(t, int) and t < 0 for t in totals):  # a negative dim in the file (e.g. 0x80000003)
        raise CostModelError(f"{os.path.basename(str(resolved))}: the model declares a negative dimension "
                             "(a damaged or malformed file): its cost cannot be counted")
    if zoo.is_zoo_ref(str(path)):
        cost.name = str(path)  # the name the user typed, not the cache file's
    return cost


def _model_file(path: str | os.PathLike[str]) -> Path:
    """The file to read: `zoo:NAME` is built (or found) in the zoo's cache."""
    if not zoo.is_zoo_ref(str(path)):
        return Path(path)
    try:
        return zoo.resolve(str(path))
    except ValueError as exc:
        raise CostModelError(str(exc)) from None


def predict_model(
    path: str | os.PathLike[str],
    profile: DeviceProfile | str | os.PathLike[str],
    input_shapes: InputShapes | None = None,
    threads: int | None = None,
    fusion: bool | None = None,
) -> Prediction:
    """Predicted cost of one model file on one device profile (offline: no agent, no board).

    `input_shapes` fixes dynamic dims, {"input": [1, 3, 224, 224]}; `threads` caps the CPU cores used
    (None: all of the profile's cores). Raises CostModelError with a one-line reason on bad input.
    """
    prof = load_profile(profile)
    if fusion is None:  # a calibrated profile's efficiencies were fitted on the fused graph
        fusion = prof.calibration is not None
    return predict_cost(analyze_model(path, input_shapes), prof, threads, fusion)
