"""`controller compare RUN_A RUN_B`: every metric of two stored runs side by side; latency with the same
rank test and thresholds regress uses (on the raw samples), single-valued figures as a plain change."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .records import RunRecord
from .stats.verdict import Thresholds, compare_samples
from .store import Store, StoredRun

# (label, how to read it from a stored run's record, unit, higher is worse)
SCALARS = (
    ("latency mean", lambda r: r.latency_ms and r.latency_ms.mean, "ms", True),
    ("latency p90", lambda r: r.latency_ms and r.latency_ms.p90, "ms", True),
    ("latency p99", lambda r: r.latency_ms and r.latency_ms.p99, "ms", True),
    ("load", lambda r: r.load_ms, "ms", True),
    ("first inference", lambda r: r.first_inference_ms, "ms", True),
    ("throughput", lambda r: r.throughput_ips, "inf/s", False),
    ("peak RSS", lambda r: r.peak_rss_mb, "MiB", True),
    ("energy/inference", lambda r: (r.energy or {}).get("energy_j_per_inference"), "J", True),
    ("power avg", lambda r: (r.energy or {}).get("power_avg_w"), "W", True),
    ("temp max", lambda r: (r.energy or {}).get("temp_max_c"), "C", True),
    ("predicted latency", lambda r: (r.predicted or {}).get("predicted_latency_ms"), "ms", True),
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
    run_a, run_b = RunRecord.from_json(a.record or {}), RunRecord.from_json(b.record or {})
    for label, read, unit, worse_up in SCALARS:
        va, vb = read(run_a), read(run_b)
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
