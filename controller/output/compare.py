"""`controller compare`'s output: the metric table with what is not like with like, and its JSON."""
from __future__ import annotations

import math

from ..compare import RunComparison
from ..stats.verdict import p_value_text
from .table import render_table

VERDICT_WIDTH = 24  # the verdict column says the word; the reasons follow the table


def _fmt(v: float | None) -> str:
    """Four significant digits without an exponent: 29110, 66.86, 0.03645."""
    if v is None:
        return "-"
    if v == 0 or abs(v) >= 1000:
        return f"{v:.0f}"
    digits = 3 - math.floor(math.log10(abs(v)))
    return f"{v:.{max(0, digits)}f}"


def _p(p: float | None) -> str:
    return "-" if p is None else p_value_text(p)


def _verdict(text: str) -> tuple[str, str]:
    """("same", "median ... < noise floor") from "same (median ... < noise floor)"; the reason may be ""."""
    if text.startswith("single value, no test: "):
        return text.removeprefix("single value, no test: ") + " (1 value)", ""
    word, sep, rest = text.partition(" (")
    return (word, rest.removesuffix(")")) if sep and len(text) > VERDICT_WIDTH else (text, "")


def comparison_text(c: RunComparison) -> str:
    head = [f"A: run {c.a.id}  {c.a.model_name} {c.a.runtime} {c.a.ep} threads={c.a.threads} on {c.a.target}",
            f"B: run {c.b.id}  {c.b.model_name} {c.b.runtime} {c.b.ep} threads={c.b.threads} on {c.b.target}"]
    verdicts = [_verdict(r.verdict) for r in c.rows]
    table = render_table(["metric", "unit", "A", "B", "change", "p", "verdict"],
                         [[r.metric, r.unit, _fmt(r.a), _fmt(r.b), "-" if r.change is None else f"{r.change:+.1%}",
                           _p(r.p_value), word]
                          for r, (word, _) in zip(c.rows, verdicts, strict=True)])
    reasons = [f"{r.metric}: {why}" for r, (_, why) in zip(c.rows, verdicts, strict=True) if why]
    lines = [*head, table, *reasons]
    if c.mismatches:
        lines.append("! not like with like (" + "; ".join(c.mismatches) + "): differences may not be the code's")
    lines += [f"! {n}" for n in c.notes]
    return "\n".join(lines)


def comparison_json(c: RunComparison) -> dict:
    return {"schema": "edgebench.compare/1", "a": c.a.id, "b": c.b.id, "like_with_like": not c.mismatches,
            "mismatches": c.mismatches, "notes": c.notes,
            "metrics": [{"metric": r.metric, "unit": r.unit, "a": r.a, "b": r.b, "change": r.change,
                         "p_value": r.p_value, "verdict": r.verdict} for r in c.rows]}
