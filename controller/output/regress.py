"""`controller regress`'s output: the per-case table with what went wrong, and the JSON of the cases."""
from __future__ import annotations

from ..regress.run import CaseResult, RegressResult
from ..stats.verdict import EXCLUDED
from ..store import StoredRun, Verdict
from .table import render_table


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.1%}"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def _noise(c: CaseResult) -> str:
    """The benchmark's own noise and the gate it set, beside the verdict: "2.1%/6 -> 10%"."""
    if c.min_effect is None:
        return "-"
    noise = "-" if c.noise_cv is None else f"{c.noise_cv:.1%}/{c.noise_runs}"
    return f"{noise} -> {c.min_effect:.0%}"


def _verdict(c: CaseResult) -> str:
    text = c.verdict.upper() if c.outcome != "pass" else c.verdict
    # Printed like a throttled run: loud, and the reason is in the lines under the table.
    if c.contention is not None and c.verdict == EXCLUDED and "contended" in c.message:
        text += " (CONTENDED)"
    elif c.verdict == EXCLUDED and "throttled" in c.message:
        text += " (THROTTLED)"
    return text


def summary(result: RegressResult) -> str:
    rows = [[c.target.name, c.job.name, _verdict(c), _ms(c.median_ms), _ms(c.baseline_median_ms), _pct(c.change),
             "-" if c.p_value is None else f"{c.p_value:.2g}", _noise(c),
             "-" if c.run_id is None else str(c.run_id)] for c in result.cases]
    table = render_table(["board", "benchmark", "verdict", "median ms", "baseline ms", "change", "p",
                          "noise -> min effect", "run"], rows)
    lines = [f"regress session {result.session_id} ({result.store_url}):", table]
    for c in result.cases:
        if c.outcome != "pass":
            lines.append(f"! {c.target.name} {c.job.name}: {c.message}")
    lines.append(f"{result.count('failure')} regressions, {result.count('error')} errors, "
                 f"{result.count('skipped')} excluded, {result.count('pass')} passed")
    return "\n".join(lines)


def result_json(result: RegressResult) -> dict:
    return {"schema": "edgebench.regress/1", "session": result.session_id, "store": result.store_url,
            "exit_code": result.exit_code,
            "cases": [{"board": c.target.name, "address": c.target.address, "benchmark": c.job.name,
                       "model": c.job.model, "runtime": c.job.runtime, "ep": c.job.ep, "threads": c.job.threads,
                       "verdict": c.verdict, "outcome": c.outcome, "message": c.message, "run_id": c.run_id,
                       "attempts": c.attempts, "median_ms": c.median_ms, "baseline_median_ms": c.baseline_median_ms,
                       "change": c.change, "p_value": c.p_value, "baseline_ids": c.baseline_ids,
                       "noise_cv": c.noise_cv, "noise_runs": c.noise_runs, "min_effect": c.min_effect,
                       "contention": c.contention}
                      for c in result.cases]}


def accepted_lines(runs: list[StoredRun], accepted: list[int], verdicts: dict[int, Verdict | None],
                   reason: str) -> str:
    lines = []
    for r in runs:
        v = verdicts.get(r.id)
        change = f" ({v.change:+.1%} against its baseline)" if v and v.change is not None else ""
        state = "accepted" if r.id in accepted else "already accepted (its first reason stays)"
        lines.append(f"run #{r.id} {r.target or r.board_fingerprint[:12]} {r.benchmark}{change}: {state}")
    lines.append(f"reason: {reason.strip()}")
    lines.append("from these runs on, each is its benchmark's baseline (regress --baseline recent / any)")
    return "\n".join(lines)
