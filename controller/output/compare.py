"""`controller compare`'s output: the metric table with what is not like with like, and its JSON."""
from __future__ import annotations

from ..compare import RunComparison
from .table import render_table


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
