"""The two-sample test regressions rest on: Mann-Whitney U, two-sided, normal approximation with the tie
correction and a continuity correction (the same as scipy.stats.mannwhitneyu(method="asymptotic")).

Latency samples are skewed and heavy-tailed, so a rank test, not a t-test: it asks whether one run's
inferences tend to be slower than the other's, and one stall of 40 ms cannot swing it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MannWhitney:
    u: float  # U of the first sample: how often one of its values beats (is larger than) one of the second's
    z: float
    p_value: float  # two-sided


def rank_average(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing the mean of the ranks they span."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_vals = values[order]
    # Boundaries of runs of equal values in sorted order.
    starts = np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0  # ranks start+1 .. end, averaged
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def mann_whitney_u(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> MannWhitney:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("Mann-Whitney U needs at least one sample on each side")
    both = np.concatenate([x, y])
    ranks = rank_average(both)
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2.0)
    n = n1 + n2
    _, tie_counts = np.unique(both, return_counts=True)
    tie_term = float((tie_counts ** 3 - tie_counts).sum())
    variance = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    mean = n1 * n2 / 2.0
    if variance <= 0:  # every value equal: nothing to tell them apart
        return MannWhitney(u1, 0.0, 1.0)
    delta = u1 - mean
    # Continuity correction: move half a step towards the mean.
    z = (delta - math.copysign(0.5, delta)) / math.sqrt(variance) if delta else 0.0
    p = min(1.0, math.erfc(abs(z) / math.sqrt(2.0)))
    return MannWhitney(u1, z, p)
