"""Fitting on small fixed data: the exported forest predicts what scikit-learn predicts; the kernel fit learns a
known efficiency curve and says where it is worst; composition, cold-weight and memory fits recover terms planted
in synthetic measurements; stored fits load back identically."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor

from edgebench.controller.calibration.forest_fit import fit_forest
from edgebench.controller.calibration.kernel_fit import KernelSample, fit_cache, fit_kernels
from edgebench.controller.calibration.memory_fit import MemorySample, fit_memory
from edgebench.controller.costmodel.forest import Forest
from edgebench.controller.costmodel.kernel_model import KernelFit, predicted_latency_us
from edgebench.controller.costmodel.kernels import FEATURES, Kernel


def _kernel(op: str, ops: float, nbytes: float, weights: float = 0.0, **features: float) -> Kernel:
    f = {name: 0.0 for name in FEATURES}
    f.update({"log_ops": math.log1p(ops), "log_bytes": math.log1p(nbytes), "log_weight_bytes": math.log1p(weights)})
    f.update(features)
    key = {"Conv": "Conv:dense:fp32", "Gemm": "Gemm:fp32"}.get(op, f"{op}:fp32")
    return Kernel(f"{op}_{ops:g}_{nbytes:g}", op, "", key, ops, nbytes, f)


def _suite(n: int = 240, seed: int = 0) -> list[KernelSample]:
    """Convs whose efficiency falls with small channel counts, and memory-bound adds, on a 100 GOP/s, 20 GB/s
    board; times noisy by 2%."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        if i % 2:
            cin = float(rng.integers(8, 512))
            ops = float(rng.uniform(1e6, 5e8))
            eff = 0.3 + 0.6 * cin / (cin + 64)
            t = ops / (100e9 * eff) * 1e6 + 2.0
            k = _kernel("Conv", ops, ops / 50, cin=cin, cout=cin)
        else:
            nbytes = float(rng.uniform(1e4, 3e7))
            t = nbytes / 20e9 * 1e6 + 1.5
            k = _kernel("Add", nbytes / 12, nbytes)
        out.append(KernelSample(k, t * float(rng.normal(1.0, 0.02)), f"s{i}"))
    return out


def test_exported_forest_predicts_what_sklearn_predicts():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, (300, 4))
    y = np.sin(x[:, 0]) + 0.1 * x[:, 1] ** 2 - x[:, 2]
    forest = fit_forest(x, y, seed=3, trees=16)
    reference = RandomForestRegressor(n_estimators=16, min_samples_leaf=2, max_features=0.6, random_state=3)
    reference.fit(x, y)
    probe = rng.uniform(-1, 11, (50, 4))
    mean, std = forest.predict(probe)
    np.testing.assert_allclose(mean, reference.predict(probe), rtol=1e-9)
    assert (std >= 0).all() and std.max() > 0
    again = Forest.from_dict(json.loads(json.dumps(forest.to_dict())))
    np.testing.assert_allclose(again.predict(probe)[0], mean, rtol=1e-5)


def test_kernel_fit_learns_the_efficiency_curve_out_of_sample():
    fit = fit_kernels(_suite(), threads=1)
    assert set(fit.families) == {"conv", "memory"}
    # The board's roofline read off the measurements, within the planted rates.
    assert 40e9 < fit.roofline.ops_per_s <= 100e9 and 15e9 < fit.roofline.bytes_per_s <= 21e9
    assert fit.families["conv"].cv_median_abs_err < 0.08
    assert fit.families["memory"].cv_median_abs_err < 0.06
    # Unseen kernels: a narrow and a wide conv, and a large add.
    narrow, wide = _kernel("Conv", 2e8, 4e6, cin=16, cout=16), _kernel("Conv", 2e8, 4e6, cin=400, cout=400)
    add = _kernel("Add", 1e6, 1.2e7)
    p_narrow, p_wide, p_add = fit.predict([narrow, wide, add])
    true_narrow = 2e8 / (100e9 * (0.3 + 0.6 * 16 / 80)) * 1e6 + 2
    true_wide = 2e8 / (100e9 * (0.3 + 0.6 * 400 / 464)) * 1e6 + 2
    assert p_narrow.time_us == pytest.approx(true_narrow, rel=0.12)
    assert p_wide.time_us == pytest.approx(true_wide, rel=0.12)
    assert p_add.time_us == pytest.approx(1.2e7 / 20e9 * 1e6 + 1.5, rel=0.1)
    assert p_add.bound == "memory" and p_wide.bound == "compute"
    assert 0 < p_narrow.fraction_of_peak < p_wide.fraction_of_peak <= 1


def test_a_family_without_samples_falls_back_to_the_roofline():
    fit = fit_kernels(_suite(), threads=1)
    (gemm,) = fit.predict([_kernel("Gemm", 1e8, 1e6)])
    assert not gemm.fitted
    assert gemm.time_us == pytest.approx(fit.roofline.time_us(1e8, 1e6))


def test_composition_and_cold_weights_are_recovered_from_networks():
    fit = fit_kernels(_suite(), threads=1)
    rng = np.random.default_rng(7)
    # Networks of 10..150 kernels; each inference costs 30 us plus 3 us per kernel; weights beyond 8 MiB of
    # touched bytes stream from DRAM at 5 GB/s.
    fit.cold_bytes_per_s = 5e9
    nets = []
    for i in range(10):
        kernels = [_kernel("Conv", float(rng.uniform(1e6, 5e7)), float(rng.uniform(1e5, 2e6)),
                           weights=float(rng.uniform(1e4, 2e6)) * (1 + i), cin=64, cout=64)
                   for _ in range(10 + 15 * i)]
        touched = sum(k.bytes for k in kernels)
        cold = max(0.0, 1 - 8 * 2**20 / touched)
        true = 30 + sum(max(p.time_us, cold * math.expm1(k.features["log_weight_bytes"]) / 5e9 * 1e6) + 3
                        for k, p in zip(kernels, fit.predict(kernels), strict=True))
        nets.append((true, kernels))
    fit_cache(fit, nets)
    assert fit.cache_bytes == 8 * 2**20
    assert fit.per_run_us == pytest.approx(30, abs=3)
    assert fit.per_kernel_us == pytest.approx(3, abs=0.3)
    for measured, kernels in nets:
        assert predicted_latency_us(fit, kernels)[0] == pytest.approx(measured, rel=0.01)
    again = KernelFit.from_dict(json.loads(json.dumps(fit.to_dict())))
    assert predicted_latency_us(again, nets[3][1])[0] == pytest.approx(predicted_latency_us(fit, nets[3][1])[0])


def test_memory_fit_recovers_the_planted_terms():
    rng = np.random.default_rng(2)
    samples = []
    for _ in range(10):
        floats, ints, in_file, act = (float(v) for v in rng.uniform(1e6, 1e8, 4))
        base = 50e6 + float(rng.uniform(-1e6, 1e6))
        samples.append(MemorySample(base, floats, ints, in_file, act,
                                    base + 2.0 * floats + 1.2 * ints + 1.0 * in_file + 1.5 * act + 8e6,
                                    base + 1.0 * floats + 1.0 * ints + 1.0 * act + 6e6))
    fit = fit_memory(samples)
    assert fit.load["weights_float"] == pytest.approx(2.0, rel=0.05)
    assert fit.load["weights_int"] == pytest.approx(1.2, rel=0.05)
    assert fit.load["activations"] == pytest.approx(1.5, rel=0.05)
    assert fit.steady["weights_float"] == pytest.approx(1.0, rel=0.05)
    assert fit.load_median_abs_err < 0.01 and fit.steady_median_abs_err < 0.01
    load, steady = fit.predict(4e7, 0.0, 4e7, 1e7)
    assert load == pytest.approx(fit.base_bytes + 2 * 4e7 + 4e7 + 1.5e7 + 8e6, rel=0.02)
    assert steady < load
    assert fit_memory(samples[:5]) is None  # too few networks to fit five terms
