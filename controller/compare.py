"""`controller compare RUN_A RUN_B`: every metric of two stored runs side by side; latency with the same
rank test and thresholds regress uses (on the raw samples), single-valued figures as a plain change."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .regress.verdict import Thresholds, compare_samples
from .report import render_table
from .store import Store, StoredRun

# (label, how to read it from a stored run's record, unit, higher is worse)
SCALARS = (
    ("latency mean", lambda r: (r.get("latency_ms") or {}).get("mean"), "ms", True),
    ("latency p90", lambda r: (r.get("latency_ms") or {}).get("p90"), "ms", True),
    ("latency p99", lambda r: (r.get("latency_ms") or {}).get("p99"), "ms", True),
    ("load", lambda r: r.get("load_ms"), "ms", True),
    ("first inference", lambda r: r.get("first_inference_ms"), "ms", True),
    ("throughput", lambda r: r.get("throughput_ips"), "inf/s", False),
    ("peak RSS", lambda r: r.get("peak_rss_mb"), "MB", True),
    ("energy/inference", lambda r: (r.get("energy") or {}).get("energy_j_per_inference"), "J", True),
    ("power avg", lambda r: (r.get("energy") or {}).get("power_avg_w"), "W", True),
    ("temp max", lambda r: (r.get("energy") or {}).get("temp_max_c"), "C", True),
    ("predicted latency", lambda r: (r.get("predicted") or {}).get("predicted_latency_ms"), "ms", True),
)


@dataclass
class MetricRow:
    metric: str
    unit: str
    a: float | None
    b: float | None
    change: float | None  # (b - a) / a
    verdict: str
    p_value: float | None = None


@dataclass
class RunComparison:
    a: StoredRun
    b: StoredRun
    rows: list[MetricRow]
    mismatches: list[str]  # what is not like with like
    notes: list[str]


def compare_runs(store: Store, id_a: int, id_b: int, th: Thresholds | None = None) -> RunComparison:
    th = th or Thresholds()
    a, b = store.get(id_a), store.get(id_b)
    samples = store.samples([a.id, b.id])
    sa, sb = samples.get(a.id, np.empty(0)), samples.get(b.id, np.empty(0))
    rows: list[MetricRow] = []
    if len(sa) and len(sb):
        # B against A: "regression" means B is slower than A.
        c = compare_samples(sb, sa, th)
        rows.append(MetricRow("latency median (samples)", "ms", c.baseline_median_ms, c.median_ms, c.change,
                              f"{c.verdict} ({c.reason})", c.p_value))
    else:
        rows.append(MetricRow("latency median (samples)", "ms", _med(sa), _med(sb), None,
                              "no test: a run has no samples"))
    for label, read, unit, worse_up in SCALARS:
        va, vb = read(a.record or {}), read(b.record or {})
        change = (vb - va) / va if va and vb is not None else None
        verdict = "single value, no test"
        if change is not None and change != 0:
            verdict += ": " + ("worse" if (change > 0) == worse_up else "better")
        rows.append(MetricRow(label, unit, va, vb, change, verdict if None not in (va, vb) else "-"))
    mismatches = [f"{name}: {x!s} vs {y!s}" for name, x, y in (
        ("board fingerprint", a.board_fingerprint, b.board_fingerprint), ("model sha256", a.model_sha256[:12],
                                                                           b.model_sha256[:12]),
        ("runtime", f"{a.runtime} {a.runtime_version}", f"{b.runtime} {b.runtime_version}"), ("ep", a.ep, b.ep),
        ("threads", a.threads, b.threads), ("input shapes", a.input_shapes, b.input_shapes)) if x != y]
    notes = []
    for run, name in ((a, "A"), (b, "B")):
        if run.status != "ok":
            notes.append(f"run {name} (id {run.id}) did not succeed: {run.status} {run.error or ''}".rstrip())
        if run.throttled:
            notes.append(f"run {name} (id {run.id}) THROTTLED: its figures are not comparable")
    return RunComparison(a, b, rows, mismatches, notes)


def _med(samples: np.ndarray) -> float | None:
    return float(np.median(samples)) if len(samples) else None


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def comparison_text(c: RunComparison) -> str:
    head = [f"A: run {c.a.id}  {c.a.model_name} {c.a.runtime} {c.a.ep} threads={c.a.threads} on {c.a.target}",
            f"B: run {c.b.id}  {c.b.model_name} {c.b.runtime} {c.b.ep} threads={c.b.threads} on {c.b.target}"]
    table = render_table(["metric", "unit", "A", "B", "change", "p", "verdict"],
                         [[r.metric, r.unit, _fmt(r.a), _fmt(r.b), "-" if r.change is None else f"{r.change:+.1%}",
                           "-" if r.p_value is None else f"{r.p_value:.2g}", r.verdict] for r in c.rows])
    lines = [*head, table]
    if c.mismatches:
        lines.append("! not like with like (" + "; ".join(c.mismatches) + "): differences may not be the code's")
    lines += [f"! {n}" for n in c.notes]
    return "\n".join(lines)


def comparison_json(c: RunComparison) -> dict:
    return {"schema": "edgebench.compare/1", "a": c.a.id, "b": c.b.id, "like_with_like": not c.mismatches,
            "mismatches": c.mismatches, "notes": c.notes,
            "metrics": [{"metric": r.metric, "unit": r.unit, "a": r.a, "b": r.b, "change": r.change,
                         "p_value": r.p_value, "verdict": r.verdict} for r in c.rows]}
