"""Fitted kernel cost models, as stored in a calibrated profile and applied at predict time.

For every kernel the roofline gives t_roof = max(ops / P, bytes / B) + t0, with the board's achieved compute
rate P and memory rate B read off its calibration measurements. The fitted quantity is log(t / t_roof): how far
a kernel sits above its roofline. A forest per family (conv, gemm, memory-bound) learns it from the shape
features and the kernel type (one-hot), so a type with few samples still borrows from its family, and a
configuration outside the sampled range falls back to its nearest region's efficiency times the roofline instead
of a tree's flat extrapolation of raw time. The roofline stays the explanation (compute- or memory-bound,
fraction of peak); the forest's output is the predicted figure, with the trees' spread as its uncertainty.
The fitting itself is in calibration/kernel_fit.py.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .forest import Forest
from .kernels import CONV_OPS, GEMM_OPS, Kernel
from .memory_model import MemoryFit

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


def predicted_latency_us(fit: KernelFit, kernels: Sequence[Kernel]) -> tuple[float, float, list[KernelPrediction]]:
    """Model latency (us), its relative uncertainty, and the per-kernel predictions."""
    preds = fit.predict(kernels)
    total = fit.per_run_us + sum(p.time_us + fit.per_kernel_us for p in preds)
    # Errors of different kernels are partly independent: combine the relative spreads weighted by time.
    spread = math.sqrt(sum((p.time_us * p.log_std) ** 2 for p in preds)) / total if total > 0 else 0.0
    return total, spread, preds


@dataclass
class RuntimeModels:
    """What the profile keeps for one runtime: fits per thread count, memory, and how they were checked."""

    runtime: str
    version: str
    ep: str
    fits: dict[int, KernelFit]
    memory: MemoryFit | None
    check: dict[str, Any]  # held-out and in-sample figures (see `check_summary`)

    def to_dict(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "version": self.version, "ep": self.ep,
                "fits": {str(t): f.to_dict() for t, f in self.fits.items()},
                "memory": self.memory.to_dict() if self.memory else None, "check": self.check}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> RuntimeModels:
        return RuntimeModels(d["runtime"], d["version"], d["ep"],
                             {int(t): KernelFit.from_dict(f) for t, f in d["fits"].items()},
                             MemoryFit.from_dict(d["memory"]) if d.get("memory") else None, d.get("check", {}))
