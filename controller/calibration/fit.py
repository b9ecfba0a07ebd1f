"""Per-op-kind efficiencies fitted from measured per-kernel times of reference models.

For every joined group (one onnxruntime kernel and the graph nodes it did), the roofline with efficiency 1
gives a compute time c and a memory time m. For each kind (the kind of the group's heaviest node) the fit
finds the efficiency e with Σ max(c/e, m) = Σ measured: the total time of that kind is matched exactly on
the calibration suite, which is what a model-level latency needs. Layout reorders onnxruntime inserts
around NCHWc convs have no graph node; their time is charged to convs (they exist because of them).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..costmodel import DeviceProfile, Prediction
from ..costmodel.roofline import node_time
from .opjoin import Join

MIN_GROUPS = 3  # fewer samples of a kind: keep the profile's value rather than fit noise
# Above 1: a kind ran faster than the GEMM microbenchmark (e.g. NCHWc 3x3 convs); `normalize_to_peak`
# then raises the peak so that every stored efficiency is a fraction of it again.
E_MIN, E_MAX = 0.005, 4.0


@dataclass
class KindSample:
    compute_ms: float  # at efficiency 1
    memory_ms: float
    measured_ms: float


def samples_from(prediction: Prediction, join: Join, unit_profile: DeviceProfile) -> dict[str, list[KindSample]]:
    by_name = {n.name: n for n in prediction.model.nodes}
    fused = prediction.fused_into
    out: dict[str, list[KindSample]] = defaultdict(list)
    conv_total = 0.0
    for g in join.groups:
        members = [by_name[n] for n in g.nodes if n in by_name]
        if not members:
            continue
        heavy = max(members, key=lambda n: n.ops or 0)
        c = m = 0.0
        for n in members:
            t = node_time(n, unit_profile, prediction.threads, fused=n.name in fused)
            c, m = c + t.compute_ms, m + t.memory_ms
        out[efficiency_key(heavy.kind, heavy.variant)].append(KindSample(c, m, g.measured_ms))
        if heavy.kind == "conv":
            conv_total += g.measured_ms
    if join.inserted and conv_total > 0:
        scale = 1 + join.inserted_ms / conv_total
        for key in [k for k in out if family(k) == "conv"]:
            out[key] = [KindSample(s.compute_ms, s.memory_ms, s.measured_ms * scale) for s in out[key]]
    return out


def efficiency_key(kind: str, variant: str) -> str:
    return f"{kind}:{variant}" if variant else kind


def family(key: str) -> str:
    return key.split(":", 1)[0]


def pooled_by_key(samples: dict[str, list[KindSample]]) -> dict[str, list[KindSample]]:
    """Each variant on its own, and each family over all its variants (the fallback for a variant with
    too few kernels in the suite, and for profiles read by code that knows only families)."""
    pools: dict[str, list[KindSample]] = defaultdict(list)
    for key, items in samples.items():
        pools[key].extend(items)
        if family(key) != key:
            pools[family(key)].extend(items)
    return pools


MEMORY_KINDS = ("elementwise", "pool", "data_movement", "normalization", "reduce", "resize", "softmax")


def fit_bandwidth_scale(samples: dict[str, list[KindSample]]) -> float:
    """Factor on the microbenchmark bandwidth that matches the memory-bound kernels of the suite.

    Activations of small CNNs live in cache, so the streaming Add over-charges them; one factor for all
    memory-bound kinds (rather than one per kind) keeps it a property of the board, not of an op.
    """
    items = [s for k in MEMORY_KINDS for s in samples.get(k, []) if s.memory_ms > 0]
    measured = sum(s.measured_ms for s in items)
    if len(items) < MIN_GROUPS or measured <= 0:
        return 1.0

    def predicted(b: float) -> float:
        return sum(max(s.compute_ms, s.memory_ms / b) for s in items)

    lo, hi = 0.25, 32.0
    if predicted(hi) >= measured:
        return hi
    if predicted(lo) <= measured:
        return lo
    for _ in range(60):
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if predicted(mid) > measured else (lo, mid)
    return round((lo * hi) ** 0.5, 4)


def scale_memory(samples: dict[str, list[KindSample]], scale: float) -> dict[str, list[KindSample]]:
    return {k: [KindSample(s.compute_ms, s.memory_ms / scale, s.measured_ms) for s in v] for k, v in samples.items()}


def fit_efficiency(samples: dict[str, list[KindSample]]) -> tuple[dict[str, float], dict[str, dict]]:
    """kind → efficiency, and per kind what it was fitted on (for the stored profile and the printout)."""
    table, info = {}, {}
    for kind, items in sorted(pooled_by_key(samples).items()):
        measured = sum(s.measured_ms for s in items)
        if len(items) < MIN_GROUPS or measured <= 0 or not any(s.compute_ms > 0 for s in items):
            continue

        def predicted(e: float, items: list[KindSample] = items) -> float:
            return sum(max(s.compute_ms / e, s.memory_ms) for s in items)

        if predicted(E_MAX) >= measured:
            e = E_MAX  # already slower than measured at full efficiency: memory-bound here
        elif predicted(E_MIN) <= measured:
            e = E_MIN
        else:
            lo, hi = E_MIN, E_MAX
            for _ in range(60):
                mid = (lo * hi) ** 0.5
                lo, hi = (lo, mid) if predicted(mid) < measured else (mid, hi)
            e = (lo * hi) ** 0.5
        table[kind] = round(e, 4)
        info[kind] = {"efficiency": round(e, 4), "kernels": len(items), "measured_ms": round(measured, 3),
                      "predicted_ms": round(predicted(e), 3)}
    return table, info


def normalize_to_peak(table: dict[str, float]) -> tuple[dict[str, float], float]:
    """Efficiencies as fractions of the best kind, and the factor the peaks must be raised by.

    Only fits inside the bounds say how fast a kernel really ran: a kind pinned at E_MAX was slower than
    predicted even at that efficiency (memory-bound or overhead-bound), so it must not raise the peak.
    """
    interior = [v for v in table.values() if v < E_MAX]
    top = max(interior, default=1.0)
    if top <= 1.0:
        return {k: min(v, 1.0) for k, v in table.items()}, 1.0
    return {k: round(min(v / top, 1.0), 4) for k, v in table.items()}, top


def scale_measured(samples: dict[str, list[KindSample]], factor: float) -> dict[str, list[KindSample]]:
    """Kernel times from a profiled run, rescaled to what the same run takes without the profiler."""
    return {k: [KindSample(s.compute_ms, s.memory_ms, s.measured_ms * factor) for s in v]
            for k, v in samples.items()}
