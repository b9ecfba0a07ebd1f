"""Terminal tables for predictions: one row per model, and with per-op detail a table per op type and node."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

from .predict import Prediction
from .profiles import DeviceProfile
from .shapes import format_shape

_MIB = 1024 * 1024


def render_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(r) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        # Text columns left-aligned, numbers right-aligned (a number column's cells parse as floats).
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.rjust(widths[i]) if _numeric(cell) else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


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
        f"active power {profile.active_power_w.value:g} W"
    )


def summary_table(predictions: Sequence[Prediction], flops: bool = False) -> str:
    work = "GFLOPs (2×MACs)" if flops else "GMACs"
    headers = [
        "Model", work, "Elem Gops", "Params M", "Weights MiB", "Peak act MiB", "Traffic MiB",
        "Latency ms", "Memory MiB", "Energy mJ", "Uncounted",
    ]
    rows = []
    for p in predictions:
        m = p.model
        rows.append([
            m.name,
            _num((m.flops if flops else m.macs) / 1e9),
            _num(m.elementwise_ops / 1e9),
            _num(m.params / 1e6),
            _num(m.weight_bytes / _MIB, 2),
            _num(m.peak_activation_bytes / _MIB, 2),
            _num(m.memory_access_bytes / _MIB, 1),
            _num(p.predicted_latency_ms, 2),
            _num(p.predicted_memory_bytes / _MIB, 1),
            _num(p.predicted_energy_j * 1e3, 2),
            str(len(m.uncounted)),
        ])
    return render_table(headers, rows)


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
    return render_table(["Op type", "Nodes", work, "Traffic MiB", "Pred ms", "Share", "Compute/memory-bound"], rows)


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
    return render_table(["#", "Node", "Op", "Output", "Dtype", work, "KiB", "Ops/B", "Pred ms", "Bound"], rows)


def footnote(flops: bool) -> str:
    work = "FLOPs = 2 × MACs" if flops else "MACs"
    return (
        f"{work}: conv, gemm/matmul, attention and recurrent multiply-accumulates (torchvision's 'GFLOPS' are "
        "these GMACs); other arithmetic is 'Elem'. Traffic: bytes each node reads and writes. Memory: weights + "
        "peak activations + runtime overhead. Latency: per-node roofline + dispatch, not a measurement."
    )
