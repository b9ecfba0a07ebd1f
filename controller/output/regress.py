"""`controller regress`'s output: the per-case table with what went wrong, and the JSON of the cases."""
from __future__ import annotations

from ..regress.run import RegressResult
from .table import render_table


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.1%}"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def summary(result: RegressResult) -> str:
    rows = [[c.target.name, c.job.name, c.verdict.upper() if c.outcome != "pass" else c.verdict, _ms(c.median_ms),
             _ms(c.baseline_median_ms), _pct(c.change), "-" if c.p_value is None else f"{c.p_value:.2g}",
             "-" if c.run_id is None else str(c.run_id)] for c in result.cases]
    table = render_table(["board", "benchmark", "verdict", "median ms", "baseline ms", "change", "p", "run"], rows)
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
                       "change": c.change, "p_value": c.p_value, "baseline_ids": c.baseline_ids}
                      for c in result.cases]}
