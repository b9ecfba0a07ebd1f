"""Is a change news? A run's latency samples against its baseline's: the rank test must be confident
(p < alpha, asv's 0.002 by default), the median must move by at least a minimum fraction, and by more than a
noise floor in milliseconds (a 3% swing of a 0.05 ms model is timer and scheduler noise)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mann_whitney import mann_whitney_u

REGRESSION, IMPROVEMENT, SAME = "regression", "improvement", "same"
NEW, EXCLUDED, ERROR, INSUFFICIENT = "new", "excluded", "error", "insufficient"


@dataclass(frozen=True)
class Thresholds:
    alpha: float = 0.002
    min_effect: float = 0.10  # relative change of the median
    noise_floor_ms: float = 0.02
    min_samples: int = 5


@dataclass
class Comparison:
    verdict: str
    p_value: float | None
    change: float | None  # (current - baseline) / baseline, of the medians
    median_ms: float | None
    baseline_median_ms: float | None
    reason: str


def compare_samples(current: np.ndarray, baseline: np.ndarray, th: Thresholds = Thresholds()) -> Comparison:
    current, baseline = np.asarray(current, dtype=float), np.asarray(baseline, dtype=float)
    if len(current) < th.min_samples or len(baseline) < th.min_samples:
        return Comparison(INSUFFICIENT, None, None, _median(current), _median(baseline),
                          f"too few samples to test ({len(current)} vs {len(baseline)}; need {th.min_samples})")
    med, base = float(np.median(current)), float(np.median(baseline))
    test = mann_whitney_u(current, baseline)
    change = (med - base) / base if base > 0 else float("inf")
    significant = test.p_value < th.alpha
    big = abs(change) >= th.min_effect and abs(med - base) >= th.noise_floor_ms
    if significant and big:
        verdict = REGRESSION if med > base else IMPROVEMENT
        reason = f"median {_ms(base)} -> {_ms(med)} ms ({change:+.1%}), {_p(test.p_value)} < {th.alpha:g}"
    else:
        verdict = SAME
        why = [] if significant else [f"{_p(test.p_value)} >= {th.alpha:g}"]
        if abs(change) < th.min_effect:
            why.append(f"|change| {abs(change):.1%} < {th.min_effect:.0%}")
        elif abs(med - base) < th.noise_floor_ms:
            why.append(f"|difference| {abs(med - base):.3g} ms < noise floor {th.noise_floor_ms:g} ms")
        reason = f"median {_ms(base)} -> {_ms(med)} ms ({change:+.1%}): " + ", ".join(why)
    return Comparison(verdict, test.p_value, change, med, base, reason)


def _ms(v: float) -> str:
    """A median in words a reader compares by eye: no exponents (4 significant digits, whole ms above 10 s)."""
    return f"{v:.0f}" if abs(v) >= 1e4 else f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.6f}"


def p_value_text(p: float) -> str:
    """A p-value without exponents, to four places ("<0.0001" below that): tables and reasons alike."""
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"


def _p(p: float) -> str:
    text = p_value_text(p)
    return f"p{text}" if text.startswith("<") else f"p={text}"


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if len(values) else None
