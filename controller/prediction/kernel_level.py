"""A user's model predicted kernel by kernel with the board's fitted kernel models.

The kernels are the ones the runtime runs: for onnxruntime its optimized graph (written by the board's own
onnxruntime in the job, or made on this host when the runtime version matches and the board is this host),
for TFLite the flatbuffer's ops. Each kernel gets its fitted time, its roofline time and bound (the
explanation), and its uncertainty; the model gets the composition terms (per run, per kernel, cold weights) and
a memory prediction for load and steady state.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..costmodel.analysis import analyze
from ..costmodel.ir import Graph
from ..costmodel.kernel_model import KernelFit, KernelPrediction, RuntimeModels, predicted_latency_us
from ..costmodel.kernels import kernels_of
from ..costmodel.memory_model import held_weight_bytes
from ..costmodel.reader import read_model
from ..costmodel.runtime_join import join_runtime_graph
from ..costmodel.shapes import InputShapes


@dataclass
class KernelRow:
    kernel: str
    key: str
    covers: list[str]  # the file's nodes this kernel runs
    inserted: bool  # the runtime's own kernel (reorder, cast, layout transpose)
    predicted_ms: float
    roofline_ms: float
    bound: str
    fraction_of_peak: float
    uncertainty: float  # relative (the fit's tree spread)
    fitted: bool
    ops: float
    bytes: float


@dataclass
class KernelLevelPrediction:
    latency_ms: float
    uncertainty: float  # relative
    memory_load_bytes: float | None
    memory_steady_bytes: float | None
    threads: int
    fit_threads: list[int]  # the calibrated thread counts the figure comes from
    rows: list[KernelRow]
    executed_graph: str  # where the kernels came from
    notes: list[str] = field(default_factory=list)
    graph: Graph | None = None  # the executed graph itself (joins a profile's entries to the rows)

    def fields(self, roofline_ms: float) -> dict[str, Any]:
        """The figures as `predict --json` and `bench --json` write them (beside the roofline's)."""
        out: dict[str, Any] = {
            "method": "kernel", "predicted_latency_ms": round(self.latency_ms, 6), "roofline_latency_ms": roofline_ms,
            "latency_uncertainty_pct": round(self.uncertainty * 100, 1), "kernels": len(self.rows),
            "executed_graph": self.executed_graph, "fit_threads": self.fit_threads, "notes": list(self.notes)}
        if self.memory_load_bytes is not None and self.memory_steady_bytes is not None:
            # What the worker's whole-job peak (VmHWM) is compared with: the larger of the two phases.
            out.update({"predicted_memory_load_bytes": int(self.memory_load_bytes),
                        "predicted_memory_steady_bytes": int(self.memory_steady_bytes),
                        "predicted_memory_bytes": int(max(self.memory_load_bytes, self.memory_steady_bytes))})
        return out


def _graph_and_cost(path: str | os.PathLike[str], input_shapes: InputShapes | None):
    graph = read_model(path, input_shapes)
    return graph, analyze(graph, str(path))


def executed_kernels(model_path: str | os.PathLike[str], optimized_model: bytes | None,
                     input_shapes: InputShapes | None = None):
    """(original graph, executed graph, its cost, its kernels)."""
    original, original_cost = _graph_and_cost(model_path, input_shapes)
    if not optimized_model:
        return original, original_cost, original, original_cost, kernels_of(original, original_cost)
    with tempfile.TemporaryDirectory(prefix="edgebench-optimized-") as tmp:
        path = Path(tmp) / "optimized.onnx"
        path.write_bytes(optimized_model)
        graph, cost = _graph_and_cost(path, input_shapes)
    return original, original_cost, graph, cost, kernels_of(graph, cost)


def _fits_for(models: RuntimeModels, threads: int) -> tuple[list[tuple[KernelFit, float]], list[str]]:
    """The fits a thread count is predicted from, with their weights (interpolated in 1/threads)."""
    counts = sorted(models.fits)
    if threads in models.fits:
        return [(models.fits[threads], 1.0)], []
    lower = [t for t in counts if t < threads]
    upper = [t for t in counts if t > threads]
    if lower and upper:
        a, b = lower[-1], upper[0]
        w = (1 / a - 1 / threads) / (1 / a - 1 / b)
        return [(models.fits[a], 1 - w), (models.fits[b], w)], [
            f"threads={threads} was not calibrated: interpolated between threads={a} and {b} (in 1/threads)"]
    nearest = lower[-1] if lower else upper[0]
    return [(models.fits[nearest], 1.0)], [
        f"threads={threads} was not calibrated: the threads={nearest} fit is used (calibrate --threads {threads})"]


def predict_with_kernels(model_path: str | os.PathLike[str], models: RuntimeModels, threads: int,
                         optimized_model: bytes | None = None, input_shapes: InputShapes | None = None,
                         executed_graph: str = "") -> KernelLevelPrediction:
    original, original_cost, graph, cost, kernels = executed_kernels(model_path, optimized_model, input_shapes)
    fits, notes = _fits_for(models, threads)
    total = 0.0
    spread = 0.0
    per_kernel: list[list[tuple[KernelPrediction, float]]] = [[] for _ in kernels]
    for fit, weight in fits:
        latency, rel, preds = predicted_latency_us(fit, kernels)
        total += weight * latency
        spread += weight * rel
        for i, p in enumerate(preds):
            per_kernel[i].append((p, weight))
    join = join_runtime_graph(original, graph) if optimized_model else None
    rows = []
    for k, preds in zip(kernels, per_kernel, strict=True):
        p0 = preds[0][0]
        t = sum(p.time_us * w for p, w in preds)
        roof = sum(p.roofline_us * w for p, w in preds)
        cover = join.covers.get(k.name) if join else None
        rows.append(KernelRow(k.name, k.key, cover.nodes if cover else [k.name], bool(cover and cover.inserted),
                              t / 1e3, roof / 1e3, p0.bound, min(1.0, roof / t) if t > 0 else 0.0,
                              math.expm1(sum(p.log_std * w for p, w in preds)), p0.fitted, k.ops, k.bytes))
    unfitted = sorted({r.key for r in rows if not r.fitted})
    if unfitted:
        notes.append(f"{len(unfitted)} kernel type(s) had no calibrated family and use the roofline alone: "
                     + ", ".join(unfitted[:5]))
    load = steady = None
    if models.memory is not None:
        held_float, held_int = held_weight_bytes(graph)
        load, steady = models.memory.predict(float(held_float), float(held_int), float(original_cost.weight_bytes),
                                             float(cost.peak_activation_bytes))
    return KernelLevelPrediction(total / 1e3, spread, load, steady, threads, [t for t in sorted(models.fits)
                                 if any(f is models.fits[t] for f, _ in fits)], rows,
                                 executed_graph or ("the runtime's optimized graph" if optimized_model else
                                                    "the model file's graph"), notes, graph)

