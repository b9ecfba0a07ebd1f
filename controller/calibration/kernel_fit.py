"""Fitted kernel cost models: measured kernel times in, a predictor per kernel family out.

For every kernel measured on the board the roofline gives t_roof = max(ops / P, bytes / B) + t0, with the
board's achieved compute rate P and memory rate B read off the same measurements (a high percentile, so a few
outliers do not set them). The fitted quantity is log(t_measured / t_roof): how far the kernel sits above its
roofline. A random forest per family (conv, gemm, memory-bound) learns it from the shape features and the
kernel type (one-hot), so a type with few samples still borrows from its family, and a configuration outside
the sampled range falls back to its nearest region's efficiency times the roofline, instead of a tree's flat
extrapolation of raw time. The roofline stays the explanation (compute- or memory-bound, fraction of peak);
the forest's output is the predicted figure, with the trees' spread as its uncertainty.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..costmodel.kernels import CONV_OPS, GEMM_OPS, Kernel
from .forest import Forest, cross_validated, fit_forest

FAMILIES = ("conv", "gemm", "memory")
T0_US = 1.0  # the floor every kernel pays (dispatch inside the runtime), before the forest's correction
MIN_FAMILY_SAMPLES = 8


def family_of(kernel: Kernel) -> str:
    if kernel.op_type in CONV_OPS:
        return "conv"
    if kernel.op_type in GEMM_OPS:
        return "gemm"
    return "memory"


@dataclass
class KernelSample:
    kernel: Kernel
    time_us: float  # median over the steady-state runs
    source: str = ""  # the suite model it was measured in (its KernelSpec key)


@dataclass
class FamilyFit:
    forest: Forest
    samples: int
    cv_median_abs_err: float  # out-of-fold |predicted / measured - 1|, median over the family's kernels
    cv_p90_abs_err: float
    cv_time_weighted_err: float  # the same, weighted by kernel time: what a model-level sum feels
    worst: list[str]  # sources of the worst out-of-fold predictions (where to sample more)


@dataclass
class Roofline:
    ops_per_s: float
    bytes_per_s: float

    def time_us(self, ops: float, nbytes: float) -> float:
        return max(ops / self.ops_per_s, nbytes / self.bytes_per_s) * 1e6 + T0_US

    def bound(self, ops: float, nbytes: float) -> str:
        if ops <= 0 and nbytes <= 0:
            return "overhead"
        return "compute" if ops / self.ops_per_s >= nbytes / self.bytes_per_s else "memory"


@dataclass
class KernelPrediction:
    time_us: float
    log_std: float  # the trees' spread of log(time): about the relative uncertainty
    roofline_us: float
    bound: str  # "compute" / "memory" / "overhead" under the board's roofline
    fitted: bool  # False: no fit covers this kernel's family, the roofline alone
    fraction_of_peak: float  # roofline time / predicted time


@dataclass
class KernelFit:
    """Everything `predict` needs for one runtime, EP and thread count on one board."""

    threads: int
    roofline: Roofline
    categories: list[str]  # kernel types seen in calibration (the one-hot columns)
    families: dict[str, FamilyFit] = field(default_factory=dict)
    # Model-level composition: latency = per_run_us + sum(kernel time + per_kernel_us). per_kernel_us may be
    # negative: kernel times come from profiled runs, and the profiler adds a little to every kernel.
    per_run_us: float = 0.0
    per_kernel_us: float = 0.0
    # Weights streamed from DRAM. An isolated kernel runs with its weights hot in cache; inside a model that
    # touches more bytes per inference than the cache holds, a kernel's weights were evicted since its last
    # run. With T the model's bytes per inference and C the effective cache, a share 1 - C/T of each kernel's
    # weights comes from DRAM at the cold rate (measured on a chain of large one-row layers), and the kernel
    # takes at least that long. C is fitted on the suite's networks.
    cold_bytes_per_s: float = 0.0
    cache_bytes: float = 0.0
    small_kernel_us: float = 0.0  # 10th percentile of the measured kernel times (bounds per_kernel_us below)

    def vector(self, kernel: Kernel) -> list[float]:
        return kernel.vector() + [1.0 if kernel.key == c else 0.0 for c in self.categories]

    def cold_share(self, kernels: Sequence[Kernel]) -> float:
        touched = sum(k.bytes for k in kernels)
        if self.cold_bytes_per_s <= 0 or self.cache_bytes <= 0 or touched <= self.cache_bytes:
            return 0.0
        return 1.0 - self.cache_bytes / touched

    def predict(self, kernels: Sequence[Kernel]) -> list[KernelPrediction]:
        out: list[KernelPrediction | None] = [None] * len(kernels)
        cold = self.cold_share(kernels)
        by_family: dict[str, list[int]] = defaultdict(list)
        for i, k in enumerate(kernels):
            by_family[family_of(k)].append(i)
        for fam, idx in by_family.items():
            fit = self.families.get(fam)
            roof = [self.roofline.time_us(kernels[i].ops, kernels[i].bytes) for i in idx]
            if fit is None:
                mean = np.zeros(len(idx))
                std = np.full(len(idx), 1.0)
            else:
                mean, std = fit.forest.predict(np.array([self.vector(kernels[i]) for i in idx]))
            for j, i in enumerate(idx):
                t = roof[j] * math.exp(float(mean[j]))
                k = kernels[i]
                if cold:
                    weights = math.expm1(k.features.get("log_weight_bytes", 0.0))
                    t = max(t, cold * weights / self.cold_bytes_per_s * 1e6)
                out[i] = KernelPrediction(t, float(std[j]), roof[j], self.roofline.bound(k.ops, k.bytes), fit is not None,
                                          min(1.0, roof[j] / t) if t > 0 else 0.0)
        return [p for p in out if p is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "threads": self.threads,
            "roofline": {"ops_per_s": self.roofline.ops_per_s, "bytes_per_s": self.roofline.bytes_per_s},
            "categories": self.categories,
            "per_run_us": self.per_run_us,
            "per_kernel_us": self.per_kernel_us,
            "cold_bytes_per_s": self.cold_bytes_per_s,
            "cache_bytes": self.cache_bytes,
            "small_kernel_us": self.small_kernel_us,
            "families": {name: {"samples": f.samples, "cv_median_abs_err": f.cv_median_abs_err,
                                "cv_p90_abs_err": f.cv_p90_abs_err, "cv_time_weighted_err": f.cv_time_weighted_err,
                                "worst": f.worst, "forest": f.forest.to_dict()}
                         for name, f in self.families.items()},
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> KernelFit:
        fams = {name: FamilyFit(Forest.from_dict(f["forest"]), int(f["samples"]), float(f["cv_median_abs_err"]),
                                float(f["cv_p90_abs_err"]), float(f["cv_time_weighted_err"]), list(f["worst"]))
                for name, f in d["families"].items()}
        r = d["roofline"]
        return KernelFit(int(d["threads"]), Roofline(float(r["ops_per_s"]), float(r["bytes_per_s"])),
                         list(d["categories"]), fams, float(d["per_run_us"]), float(d["per_kernel_us"]),
                         float(d.get("cold_bytes_per_s", 0.0)), float(d.get("cache_bytes", 0.0)),
                         float(d.get("small_kernel_us", 0.0)))


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


def predicted_latency_us(fit: KernelFit, kernels: Sequence[Kernel]) -> tuple[float, float, list[KernelPrediction]]:
    """Model latency (us), its relative uncertainty, and the per-kernel predictions."""
    preds = fit.predict(kernels)
    total = fit.per_run_us + sum(p.time_us + fit.per_kernel_us for p in preds)
    # Errors of different kernels are partly independent: combine the relative spreads weighted by time.
    spread = math.sqrt(sum((p.time_us * p.log_std) ** 2 for p in preds)) / total if total > 0 else 0.0
    return total, spread, preds
