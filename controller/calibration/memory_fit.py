"""Fitting the memory model (costmodel/memory_model.py): non-negative least squares on the suite's networks,
each measured in its own worker."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..costmodel.memory_model import TERMS, MemoryFit


@dataclass
class MemorySample:
    base_bytes: float  # the worker's RSS before the load
    weights_float: float  # held by the runtime (the executed graph's constants), float ones
    weights_int: float  # and integer ones
    weights_file: float
    activations: float
    peak_load_bytes: float
    peak_steady_bytes: float


def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.optimize import nnls

    # Scale the columns so the solver sees comparable magnitudes (bytes vs a constant of 1).
    scale = np.maximum(np.abs(a).max(axis=0), 1.0)
    x, _ = nnls(a / scale, b)
    return x / scale


def fit_memory(samples: Sequence[MemorySample]) -> MemoryFit | None:
    usable = [s for s in samples if s.peak_load_bytes > 0 and s.base_bytes > 0]
    if len(usable) < len(TERMS) + 1:  # at least one network more than there are terms
        return None
    a = np.array([[s.weights_float, s.weights_int, s.weights_file, s.activations, 1.0] for s in usable])
    base = np.array([s.base_bytes for s in usable])
    fits = {}
    errs = {}
    for which in ("load", "steady"):
        measured = np.array([s.peak_load_bytes if which == "load" else (s.peak_steady_bytes or s.peak_load_bytes)
                             for s in usable])
        coef = _nnls(a, measured - base)
        fits[which] = dict(zip(TERMS, (float(c) for c in coef), strict=True))
        errs[which] = float(np.median(np.abs((base + a @ coef) / measured - 1.0)))
    return MemoryFit(fits["load"], fits["steady"], len(usable), errs["load"], errs["steady"], float(np.median(base)))
