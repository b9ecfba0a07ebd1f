"""Latency statistics over the raw per-inference samples."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class LatencySummary:
    min_ms: float
    mean_ms: float
    std_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    count: int
    throughput_ips: float


def summarize_latency(samples_ns: Sequence[int], window_ns: int) -> LatencySummary:
    """Percentiles use linear interpolation (numpy's default); std is the sample std (ddof=1).

    Throughput is inferences per second over the measurement window, so the loop's own gaps count.
    """
    if not samples_ns:
        raise ValueError("no samples")
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    p50, p90, p95, p99 = np.percentile(ms, [50, 90, 95, 99])
    return LatencySummary(
        min_ms=float(ms.min()),
        mean_ms=float(ms.mean()),
        std_ms=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
        p50_ms=float(p50),
        p90_ms=float(p90),
        p95_ms=float(p95),
        p99_ms=float(p99),
        max_ms=float(ms.max()),
        count=int(ms.size),
        throughput_ips=ms.size / (window_ns / 1e9) if window_ns > 0 else 0.0,
    )
