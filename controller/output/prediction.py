"""`controller predict`'s output: one row per model, with per-op detail a table per op type and per node, and
the JSON document."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from ..costmodel import CONVENTIONS, DeviceProfile, Prediction
from ..costmodel.shapes import format_shape
from .table import render_table

_MIB = 1024 * 1024


def _numeric(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return text in ("-", "n/a")
    return True


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}"


def device_line(profile: DeviceProfile, threads: int | None) -> str:
    unit = f"{threads} of {int(profile.cores.value)} cores" if profile.compute_unit == "cpu" else "GPU"
    return (
        f"Predicted on {profile.name} ({unit}): {profile.description}\n"
        f"  peak fp32/fp16/int8 {profile.peak('fp32'):g}/{profile.peak('fp16'):g}/{profile.peak('int8'):g} GOP/s, "
        f"memory {profile.memory_bandwidth_gbs.value:g} GB/s, dispatch {profile.dispatch_overhead_us.value:g} µs/op, "
        f"nominal active power {profile.active_power_w.value:g} W (not measured on this board)"
    )


def summary_table(predictions: Sequence[Prediction], flops: bool = False,
                  kernel: Mapping[int, Any] | None = None) -> str:
    work = "GFLOPs (2×MACs)" if flops else "GMACs"
    headers = [
        "Model", work, "Elem Gops", "Params M", "Weights MiB", "Peak act MiB", "Traffic MiB",
        "Latency ms", "±%", "Memory MiB", "Energy mJ (nominal)", "Method", "Uncounted",
    ]
    rows = []
    kernel = kernel or {}
    for i, p in enumerate(predictions):
        m = p.model
        kp = kernel.get(i)
        latency = kp.latency_ms if kp is not None else p.predicted_latency_ms
        memory = (max(kp.memory_load_bytes, kp.memory_steady_bytes) if kp is not None and kp.memory_load_bytes
                  else p.predicted_memory_bytes)
        rows.append([
            m.name,
            _num((m.flops if flops else m.macs) / 1e9),
            _num(m.elementwise_ops / 1e9),
            _num(m.params / 1e6),
            _num(m.weight_bytes / _MIB, 2),
            _num(m.peak_activation_bytes / _MIB, 2),
            _num(m.memory_access_bytes / _MIB, 1),
            _num(latency, 2),
            f"{kp.uncertainty * 100:.0f}" if kp is not None else "-",
            _num(memory / _MIB, 1),
            _num(latency / 1e3 * p.profile.active_power_w.value * 1e3, 2),
            "kernels" if kp is not None else "roofline",
            str(len(m.uncounted)),
        ])
    return render_table(headers, rows, align="cell")


def op_type_table(p: Prediction, flops: bool = False) -> str:
    work = "MFLOPs" if flops else "MMACs"
    groups: dict[str, list] = defaultdict(lambda: [0, 0, 0, 0.0, 0, 0])
    for cost, time in p.per_node():
        if cost.folded:
            continue
        g = groups[cost.op_type]
        g[0] += 1
        g[1] += (cost.flops if flops else cost.macs) or 0
        g[2] += cost.memory_access_bytes or 0
        g[3] += time.predicted_ms
        g[4] += time.bound == "compute"
        g[5] += time.bound == "memory"
    total = p.predicted_latency_ms or 1.0
    rows = [
        [op, str(g[0]), _num(g[1] / 1e6, 2), _num(g[2] / _MIB, 2), _num(g[3], 3), f"{100 * g[3] / total:.1f}%",
         f"{g[4]}/{g[5]}"]
        for op, g in sorted(groups.items(), key=lambda kv: -kv[1][3])
    ]
    return render_table(["Op type", "Nodes", work, "Traffic MiB", "Pred ms", "Share", "Compute/memory-bound"], rows,
                        align="cell")


def node_table(p: Prediction, flops: bool = False) -> str:
    work = "MFLOPs" if flops else "MMACs"
    rows = []
    for i, (cost, time) in enumerate(p.per_node()):
        value = cost.flops if flops else cost.macs
        rows.append([
            str(i),
            cost.name if len(cost.name) <= 48 else "…" + cost.name[-47:],
            cost.op_type,
            format_shape(cost.output_shapes[0]) if cost.output_shapes else "?",
            cost.compute_dtype,
            _num(value / 1e6, 3) if value is not None else "n/a",
            _num(cost.memory_access_bytes / 1024, 1) if cost.memory_access_bytes is not None else "n/a",
            _num(cost.intensity, 2) if cost.intensity is not None else "n/a",
            _num(time.predicted_ms, 4),
            time.bound if cost.counted or cost.folded else f"{time.bound} (uncounted)",
        ])
    return render_table(["#", "Node", "Op", "Output", "Dtype", work, "KiB", "Ops/B", "Pred ms", "Bound"], rows,
                        align="cell")


def footnote(flops: bool) -> str:
    work = "FLOPs = 2 × MACs" if flops else "MACs"
    return (
        f"{work}: conv, gemm/matmul, attention and recurrent multiply-accumulates (torchvision's 'GFLOPS' are "
        "these GMACs); other arithmetic is 'Elem'. Traffic: bytes each node reads and writes. Memory: weights + "
        "peak activations + runtime overhead (kernels: fitted on the board's measured peaks). Latency, method "
        "'kernels': the board's fitted kernel models on the kernels its runtime runs (calibrated profiles); "
        "'roofline': per-node roofline + dispatch. Neither is a measurement; ±% is the fit's own spread. "
        "Energy (nominal): predicted latency x the profile's active power figure, a nominal estimate for that kind "
        "of board, not a power reading of this one."
    )


def render_text(predictions: list[Prediction], per_op: bool = False, flops: bool = False,
                kernel: Mapping[int, Any] | None = None) -> str:
    kernel = kernel or {}
    parts = [device_line(predictions[0].profile, predictions[0].threads), "",
             summary_table(predictions, flops, kernel)]
    for i, p in enumerate(predictions):
        for warning in p.warnings:
            parts.append(f"warning: {p.model.name}: {warning}")
        if i in kernel:
            kp = kernel[i]
            parts.append(f"{p.model.name}: {len(kp.rows)} kernels of {kp.executed_graph}, predicted by the fitted "
                         f"kernel models (threads {', '.join(map(str, kp.fit_threads))}); roofline alone: "
                         f"{p.predicted_latency_ms:.2f} ms")
            parts.extend(f"note: {p.model.name}: {n}" for n in kp.notes)
    if per_op:
        for p in predictions:
            parts += ["", f"{p.model.name}: per op type", op_type_table(p, flops),
                      "", f"{p.model.name}: per node", node_table(p, flops)]
    parts += ["", footnote(flops)]
    return "\n".join(parts)


def json_document(predictions: list[Prediction], failures: list[dict[str, str]], profile: DeviceProfile,
                  threads: int | None, kernel: Mapping[int, Any] | None = None) -> dict[str, Any]:
    kernel = kernel or {}
    models = []
    for i, p in enumerate(predictions):
        d = {**p.to_dict(), "method": "roofline"}
        if i in kernel:
            d.update(kernel[i].fields(d["predicted_latency_ms"]))
        models.append(d)
    return {
        "schema": "edgebench.predict/1",
        "conventions": CONVENTIONS,
        "device": profile.to_dict(),
        "threads": predictions[0].threads if predictions else threads,
        "models": models,
        "errors": failures,
    }
