"""Fitting the kernel cost models (costmodel/kernel_model.py) on the kernels measured on the board.

Per thread count: the board's roofline from the heavy kernels, a forest per family on log(t / t_roof) with
out-of-fold errors (and the worst-predicted suite models, for the adaptive rounds), then the composition terms
and the effective cache size on the suite's networks.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..costmodel.kernel_model import (
    FAMILIES,
    MIN_FAMILY_SAMPLES,
    FamilyFit,
    KernelFit,
    Roofline,
    family_of,
    predicted_latency_us,
)
from ..costmodel.kernels import Kernel
from .forest_fit import cross_validated, fit_forest


@dataclass
class KernelSample:
    kernel: Kernel
    time_us: float  # median over the steady-state runs
    source: str = ""  # the suite model it was measured in (its KernelSpec key)


def board_roofline(samples: Iterable[KernelSample]) -> Roofline:
    """The compute and memory rates the board's kernels reached (90th percentile of the heavy ones)."""
    samples = list(samples)
    compute = [s.kernel.ops / (s.time_us * 1e-6) for s in samples
               if s.kernel.ops >= 1e6 and family_of(s.kernel) in ("conv", "gemm") and s.time_us > 0]
    memory = [s.kernel.bytes / (s.time_us * 1e-6) for s in samples
              if s.kernel.bytes >= 1e5 and s.kernel.ops <= s.kernel.bytes and s.time_us > 0]
    if not compute or not memory:
        raise ValueError("the kernel suite measured no heavy compute-bound or memory-bound kernel")
    return Roofline(float(np.percentile(compute, 90)), float(np.percentile(memory, 90)))


def fit_kernels(samples: Sequence[KernelSample], threads: int, seed: int = 0) -> KernelFit:
    """Fit the three family forests (and their cross-validated errors) on one thread count's samples."""
    samples = [s for s in samples if s.time_us > 0]
    roofline = board_roofline(samples)
    categories = sorted({s.kernel.key for s in samples})
    fit = KernelFit(threads, roofline, categories)
    fit.small_kernel_us = float(np.percentile([s.time_us for s in samples], 10))
    for fam in FAMILIES:
        items = [s for s in samples if family_of(s.kernel) == fam]
        if len(items) < MIN_FAMILY_SAMPLES:
            continue
        x = np.array([fit.vector(s.kernel) for s in items])
        y = np.array([math.log(s.time_us / roofline.time_us(s.kernel.ops, s.kernel.bytes)) for s in items])
        oof = cross_validated(x, y, seed=seed)
        err = np.abs(np.exp(oof - y) - 1.0)
        times = np.array([s.time_us for s in items])
        order = np.argsort(-err * np.sqrt(times))  # badly predicted and not negligible
        worst = list(dict.fromkeys(items[i].source for i in order[: max(3, len(items) // 10)] if items[i].source))
        fit.families[fam] = FamilyFit(fit_forest(x, y, seed=seed), len(items), float(np.median(err)),
                                      float(np.percentile(err, 90)), float(np.sum(err * times) / np.sum(times)),
                                      worst)
    return fit


def fit_composition(fit: KernelFit, models: Sequence[tuple[float, Sequence[Kernel]]]) -> None:
    """per_run_us and per_kernel_us from models measured end to end (unprofiled):
    least squares on the relative residual (measured - sum of predicted kernels) / measured, so a small network,
    where these terms matter most, weighs as much as a large one. per_run stays >= 0; per_kernel may be
    negative but never takes a kernel below zero on average."""
    rows, target = [], []
    for measured_us, kernels in models:
        if measured_us <= 0:
            continue
        predicted = sum(p.time_us for p in fit.predict(kernels))
        rows.append([1.0 / measured_us, len(kernels) / measured_us])
        target.append((measured_us - predicted) / measured_us)
    if len(rows) < 3:
        return
    a, b = np.array(rows), np.array(target)
    (per_run, per_kernel), *_ = np.linalg.lstsq(a, b, rcond=None)
    if per_run < 0:  # per kernel only
        per_run = 0.0
        per_kernel = float(np.sum(a[:, 1] * b) / np.sum(a[:, 1] ** 2))
    floor = -fit.small_kernel_us  # the profiler's share of a kernel is at most what the smallest took
    fit.per_run_us, fit.per_kernel_us = float(per_run), max(float(per_kernel), floor)


def fit_cache(fit: KernelFit, models: Sequence[tuple[float, Sequence[Kernel]]]) -> None:
    """The effective cache size that best explains the networks (composition refitted for each candidate)."""
    if fit.cold_bytes_per_s <= 0 or len(models) < 3:
        return
    best: tuple[float, float] | None = None
    for mib in (0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256):
        fit.cache_bytes = mib * 1024 * 1024
        fit_composition(fit, models)
        err = float(np.mean([abs(predicted_latency_us(fit, k)[0] / m - 1) for m, k in models if m > 0]))
        if best is None or err < best[0] - 1e-9:
            best = (err, fit.cache_bytes)
    fit.cache_bytes = best[1] if best else 0.0
    fit_composition(fit, models)


