"""`bench --per-op`: per-op-type and per-kernel tables, measured (onnxruntime profiling) beside predicted."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..calibration.opjoin import join_profile
from ..costmodel import DeviceProfile
from ..costmodel.profile_join import node_times
from ..costmodel.roofline import effective_threads
from ..records import RunRecord
from .table import render_table


def _f(v: float | None, d: int = 3) -> str:
    return "-" if v is None else f"{v:.{d}f}"


def _err(pred: float, meas: float) -> str:
    return "-" if meas <= 0 else f"{(pred - meas) / meas * 100:+.0f}"


def per_op_report(records: Sequence[RunRecord]) -> str:
    parts = []
    for r in records:
        head = f"{r.model.name} threads={r.threads}"
        if r.status != "ok":
            parts.append(f"{head}: no per-op table (run {r.status})")
        elif r.kernel_prediction is not None:
            parts.append(render_kernels(r))
        elif r.runtime == "tflite":
            parts.append(render_isolated(r, "no per-kernel prediction: the board has no calibrated kernel models "
                                            "(run controller calibrate)"))
        else:
            parts.append(render_per_op(r))
    return "\n\n".join(parts)


@dataclass
class NodeFigures:
    """Per node of the model file, keyed by the node's output tensor name: what Model Explorer matches."""

    measured_ms: dict[str, float]
    predicted_ms: dict[str, float]
    measured_what: str


def node_figures(run: RunRecord) -> NodeFigures | None:
    """The per-op tables' figures per node (a kernel that covers several file nodes is put on the one whose
    output it produces, the last); None when the run has no per-op figures."""
    if run.status != "ok":
        return None
    measured: dict[str, float] = {}
    predicted: dict[str, float] = {}
    if run.kernel_prediction is not None:
        kp = run.kernel_prediction
        by_kernel, what = _measured_by_kernel(run)
        outputs = {n.name: n.outputs for n in (kp.graph.nodes if kp.graph is not None else [])}
        if run.prediction is not None:
            outputs.update({c.name: c.outputs for c, _ in run.prediction.per_node() if c.name not in outputs})
        for r in kp.rows:
            names = outputs.get(r.kernel) or (outputs.get(r.covers[-1]) if r.covers else None)
            if r.inserted or not names:
                continue
            predicted[names[0]] = r.predicted_ms
            if r.kernel in by_kernel:
                measured[names[0]] = by_kernel[r.kernel]
        return NodeFigures(measured, predicted, what or "not measured per kernel")
    prediction = run.prediction
    if run.isolated_kernels and prediction is not None:  # TFLite, uncalibrated: measured alone, roofline
        alone = {name: ms for k in run.isolated_kernels for name, ms in k.per_kernel_ms.items()}
        for c, t in prediction.per_node():
            if c.outputs and not c.folded:
                predicted[c.outputs[0]] = t.predicted_ms
                if c.name in alone:
                    measured[c.outputs[0]] = alone[c.name]
        return NodeFigures(measured, predicted, "measured in isolation: each distinct kernel alone on the board")
    if run.runtime == "onnxruntime" and run.op_profile and prediction is not None:
        join = join_profile(prediction, run.op_profile)
        times = {c.name: (c, t) for c, t in prediction.per_node()}
        for g in join.groups:
            members = [times[n] for n in g.nodes if n in times]
            if not members or not members[-1][0].outputs:
                continue
            key = members[-1][0].outputs[0]
            measured[key] = g.measured_ms
            predicted[key] = sum(t.predicted_ms for _, t in members)
        return NodeFigures(measured, predicted, "measured: onnxruntime's profile of this run (profiling on)")
    return None


def measured_ops_report(records: Sequence[RunRecord]) -> str:
    """`--profile-ops` alone: what was measured per op, without the predicted side of --per-op."""
    parts = []
    for r in records:
        head = f"{r.model.name} threads={r.threads}"
        if r.status != "ok":
            parts.append(f"{head}: no per-op figures (run {r.status})")
        elif r.runtime == "tflite":
            parts.append(render_isolated(r, "--per-op adds the predicted side"))
        elif not r.op_profile:
            parts.append(f"{head}: onnxruntime returned no per-node profile")
        else:
            total = sum(e.median_us or e.mean_us for e in r.op_profile) / 1e3
            rows = [[e.node, e.op_type, e.provider.replace("ExecutionProvider", ""), _f((e.median_us or e.mean_us) / 1e3),
                     f"{(e.median_us or e.mean_us) / 1e3 / total * 100:.1f}" if total else "-", str(e.count)]
                    for e in sorted(r.op_profile, key=lambda e: e.order)]
            parts.append(f"{head}: per kernel, onnxruntime's profiler (median over the timed runs; the profiler "
                         f"adds its own overhead); --per-op adds the predicted side\n"
                         + render_table(["kernel", "op", "ep", "ms", "share %", "calls"], rows))
    return "\n\n".join(parts)


def render_isolated(run: RunRecord, why_no_prediction: str) -> str:
    """TFLite has no per-op profiler in its Python API: each distinct kernel was measured alone instead."""
    head = f"{run.model.name} threads={run.threads}"
    if not run.isolated_kernels:
        return f"{head}: no kernel could be measured alone ({why_no_prediction})"
    rows = [[k.label, str(k.count), _f(k.measured_ms), _f(k.measured_ms * k.count if k.measured_ms is not None
                                                         else None), k.reason or ""]
            for k in run.isolated_kernels]
    return (f"{head}: each distinct kernel measured alone as a one-op model on the board, net of the runtime's "
            f"per-invoke cost ({why_no_prediction})\n"
            + render_table(["kernel", "count", "ms each", "ms all", "not measured because"], rows))


def _measured_by_kernel(run: RunRecord) -> tuple[dict[str, float], str]:
    """Measured ms per executed kernel, and what the figure is."""
    kp = run.kernel_prediction
    if run.isolated_kernels:
        return ({name: ms for iso in run.isolated_kernels for name, ms in iso.per_kernel_ms.items()},
                "measured in isolation: each distinct kernel alone as a one-op model on the board")
    if run.op_profile and kp.graph is not None:
        entries = [replace(e, median_us=e.median_us or e.mean_us) for e in run.op_profile]
        return ({k: v / 1e3 for k, v in node_times(kp.graph, entries).items()},
                "measured: onnxruntime's profile of this run (profiling on)")
    return {}, ""


def render_kernels(run: RunRecord) -> str:
    """One row per kernel the runtime ran, with the file nodes it covers, predicted by the fitted kernel models,
    measured where the run measured it, and explained by the board's roofline."""
    kp = run.kernel_prediction
    head = f"{run.model.name} threads={run.threads}"
    measured, what = _measured_by_kernel(run)
    rows, by_type = [], defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for r in kp.rows:
        m = measured.get(r.kernel)
        covers = "(inserted by the runtime)" if r.inserted else "+".join(r.covers)
        rows.append([r.kernel, r.key, covers, _f(m), _f(r.predicted_ms), _err(r.predicted_ms, m or 0),
                     f"{r.uncertainty * 100:.0f}", f"{r.ops / 1e6:.2f}", f"{r.bytes / 1e3:.1f}",
                     _f(r.ops / r.bytes if r.bytes else None, 2), r.bound if r.fitted else f"{r.bound}*",
                     f"{r.fraction_of_peak * 100:.0f}"])
        acc = by_type[r.key]
        acc[0] += 1
        acc[1] += m or 0.0
        acc[2] += r.predicted_ms
        acc[3] += r.ops
    type_rows = [[k, str(n), _f(m) if measured else "-", _f(p), _err(p, m) if measured else "-", f"{fl / 1e6:.2f}"]
                 for k, (n, m, p, fl) in sorted(by_type.items(), key=lambda kv: -kv[1][2])]
    note = what or "not measured per kernel (give --per-op, or --profile-ops on onnxruntime)"
    parts = [f"{head}: {len(kp.rows)} kernels of {kp.executed_graph}; predicted: fitted kernel models "
             f"(threads {', '.join(map(str, kp.fit_threads))}); {note}",
             render_table(["kernel type", "kernels", "measured ms", "pred ms", "err %", "MFLOP"], type_rows), "",
             render_table(["kernel", "type", "file nodes", "measured ms", "pred ms", "err %", "±%", "MFLOP", "KB",
                           "FLOP/B", "bound", "% roof"], rows),
             "bound: under the board's own roofline (compute or memory, from its calibrated rates); * no fitted "
             "model for that kernel type: roofline alone. % roof: the roofline time over the predicted time."]
    parts.extend(f"note: {n}" for n in kp.notes)
    return "\n".join(parts)


def ridge_point(profile: DeviceProfile, dtype: str, threads: int | None) -> float:
    """FLOP per byte where the board's compute roof meets its memory roof: the peak (scaled to the threads the
    run used) over the memory bandwidth."""
    scale = effective_threads(profile, threads) / profile.cores.value if profile.compute_unit == "cpu" else 1.0
    return profile.peak(dtype) * scale / profile.memory_bandwidth_gbs.value


def ridge_bound(profile: DeviceProfile, dtype: str, threads: int | None, flops: float, nbytes: float) -> str:
    if flops <= 0 and nbytes <= 0:
        return "overhead"
    if nbytes <= 0:
        return "compute"
    return "compute" if flops / nbytes >= ridge_point(profile, dtype, threads) else "memory"


def render_per_op(run: RunRecord) -> str:
    head = f"{run.model.name} threads={run.threads}"
    prediction = run.prediction
    if not run.op_profile:
        return f"{head}: onnxruntime returned no per-node profile"
    if prediction is None:
        why = (run.predicted or {}).get("error") or "no device profile"
        return f"{head}: per-op measured times only ({why})\n" + render_table(
            ["kernel", "op", "ep", "measured ms"],
            [[e.node, e.op_type, e.provider.replace("ExecutionProvider", ""), _f(e.mean_us / 1e3)]
             for e in run.op_profile])
    join = join_profile(prediction, run.op_profile)
    times = {c.name: (c, t) for c, t in prediction.per_node()}
    threads = prediction.threads
    rows, by_type = [], defaultdict(lambda: [0, 0.0, 0.0, 0, 0])
    for g in join.groups:
        members = [times[n] for n in g.nodes if n in times]
        pred = sum(t.predicted_ms for _, t in members)
        flops = sum(c.ops or 0 for c, _ in members)
        nbytes = sum(c.memory_access_bytes or 0 for c, t in members if t.bound != "fused")
        heavy = max(members, key=lambda ct: ct[0].ops or 0) if members else None
        bound = ridge_bound(prediction.profile, heavy[0].compute_dtype, threads, flops, nbytes) if heavy else "-"
        rows.append([g.name, g.runtime_op, "+".join(n for n in g.nodes), g.provider, _f(g.measured_ms),
                     _f(pred), _err(pred, g.measured_ms), f"{flops / 1e6:.2f}", f"{nbytes / 1e3:.1f}",
                     _f(flops / nbytes if nbytes else None, 2), bound])
        key = heavy[0].op_type if heavy else g.runtime_op
        acc = by_type[key]
        acc[0] += 1
        acc[1] += g.measured_ms
        acc[2] += pred
        acc[3] += flops
        acc[4] += nbytes
    for e in join.inserted:
        rows.append([e.node, e.op_type, "(inserted by onnxruntime)", e.provider.replace("ExecutionProvider", ""),
                     _f(e.mean_us / 1e3), "-", "-", "-", "-", "-", "-"])
    type_rows = [[k, str(n), _f(m), _f(p), _err(p, m), f"{fl / 1e6:.2f}", f"{b / 1e3:.1f}"]
                 for k, (n, m, p, fl, b) in sorted(by_type.items(), key=lambda kv: -kv[1][1])]
    if join.inserted:
        type_rows.append(["(inserted)", str(len(join.inserted)), _f(join.inserted_ms), "-", "-", "-", "-"])
    parts = [f"{head}: per op type (measured: onnxruntime kernel times, profiling on; predicted: "
             f"{prediction.profile.name})",
             render_table(["op type", "kernels", "measured ms", "pred ms", "err %", "MFLOP", "KB"], type_rows),
             "", f"{head}: per kernel (graph nodes it ran, through onnxruntime's fusions)",
             render_table(["kernel", "runtime op", "graph nodes", "ep", "measured ms", "pred ms", "err %", "MFLOP",
                           "KB", "FLOP/B", "bound"], rows),
             f"bound: FLOP/B against the profile's ridge point (peak / memory bandwidth: "
             f"{ridge_point(prediction.profile, 'fp32', threads):.1f} FLOP/B fp32 at these threads); "
             "at or above it a kernel is compute-bound, below it memory-bound"]
    if join.unmatched:
        parts.append(f"graph nodes not found in the profile: {', '.join(join.unmatched)}")
    return "\n".join(parts)
