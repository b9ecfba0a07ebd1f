"""Mann-Whitney U against hand-computed values, and the verdict thresholds."""
from __future__ import annotations

import math

import numpy as np
import pytest

from edgebench.controller.stats.mann_whitney import mann_whitney_u, rank_average
from edgebench.controller.stats.verdict import (
    IMPROVEMENT,
    INSUFFICIENT,
    REGRESSION,
    SAME,
    Thresholds,
    compare_samples,
)


def test_ranks_share_ties():
    assert rank_average(np.array([3.0, 1.0, 2.0, 2.0])).tolist() == [4.0, 1.0, 2.5, 2.5]


def test_separated_samples_by_hand():
    # x = 1..5 all below y = 6..10: U = 0; mean 12.5; variance 5*5/12*11 = 22.9167;
    # z = (0 - 12.5 + 0.5) / 4.7871 = -2.50672; p = erfc(2.50672 / sqrt 2) = 0.012186.
    r = mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert r.u == 0.0
    assert r.z == pytest.approx(-12.0 / math.sqrt(25 * 11 / 12))
    assert r.p_value == pytest.approx(0.012186, abs=1e-6)


def test_ties_by_hand():
    # Pooled 1 2 2 2 3 3 4 4 -> ranks 1, 3 3 3, 5.5 5.5, 7.5 7.5.  x = 1 2 2 3: R1 = 1+3+3+5.5 = 12.5,
    # U = 12.5 - 4*5/2 = 2.5; ties t = 3, 2, 2: sum(t^3 - t) = 24 + 6 + 6 = 36;
    # variance = 16/12 * (9 - 36/56) = 11.142857; z = (2.5 - 8 + 0.5) / 3.338092 = -1.497862; p = 0.134169.
    r = mann_whitney_u([1, 2, 2, 3], [2, 3, 4, 4])
    assert r.u == 2.5
    assert r.z == pytest.approx(-1.497862, abs=1e-6)
    assert r.p_value == pytest.approx(0.134169, abs=1e-6)


def test_symmetry_and_degenerate_cases():
    a, b = [1.0, 4.0, 2.5, 8.0], [3.0, 9.0, 7.0]
    assert mann_whitney_u(a, b).p_value == pytest.approx(mann_whitney_u(b, a).p_value)
    assert mann_whitney_u(a, b).u + mann_whitney_u(b, a).u == len(a) * len(b)
    assert mann_whitney_u([2.0] * 5, [2.0] * 7).p_value == 1.0
    with pytest.raises(ValueError):
        mann_whitney_u([], [1.0])


def test_verdicts():
    rng = np.random.default_rng(7)
    base = 10.0 + rng.gamma(2.0, 0.2, size=200)
    assert compare_samples(base * 1.3, base).verdict == REGRESSION
    assert compare_samples(base * 0.7, base).verdict == IMPROVEMENT
    # Significant but small: 3% is below the 10% minimum effect.
    small = compare_samples(base * 1.03, base)
    assert small.verdict == SAME and small.p_value < 0.002 and "< 10%" in small.reason
    # Same distribution, fresh draw: not news.
    assert compare_samples(10.0 + rng.gamma(2.0, 0.2, size=200), base).verdict == SAME
    # A 50% change of a 0.02 ms model is 0.01 ms: under the noise floor.
    tiny = np.full(100, 0.02) + rng.normal(0, 0.0005, 100)
    floor = compare_samples(tiny * 1.5, tiny)
    assert floor.verdict == SAME and "noise floor" in floor.reason
    assert compare_samples(tiny * 1.5, tiny, Thresholds(noise_floor_ms=0.001)).verdict == REGRESSION
    assert compare_samples(base[:3], base).verdict == INSUFFICIENT
