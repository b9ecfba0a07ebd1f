"""NVML: absent with the reason when the library or driver is missing; energy counters when present."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from edgebench.agent.sensors import SensorConfig
from edgebench.agent.sensors.sources import nvml

FAKE = Path(__file__).resolve().parent.parent / "fixtures" / "pynvml_fake"


@pytest.mark.skipif(importlib.util.find_spec("pynvml") is not None, reason="nvidia-ml-py is installed here")
def test_not_installed():
    (info,) = nvml.discover(SensorConfig()).absent
    assert info.reason == "not installed: pynvml (pip install nvidia-ml-py)"


@pytest.fixture
def fake_pynvml(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKE))
    monkeypatch.delitem(sys.modules, "pynvml", raising=False)
    import pynvml

    saved = {k: (list(v) if isinstance(v, list) else v) for k, v in pynvml.STATE.items()}
    yield pynvml
    pynvml.STATE.update(saved)
    sys.modules.pop("pynvml", None)


def test_no_driver(fake_pynvml):
    fake_pynvml.STATE["init_error"] = "Driver Not Loaded"
    (info,) = nvml.discover(SensorConfig()).absent
    assert info.reason == "no NVIDIA driver: Driver Not Loaded"


def test_energy_counter_per_gpu_and_reset(fake_pynvml):
    (gpu,) = nvml.discover(SensorConfig()).found
    assert gpu.info.kind == "energy" and gpu.info.rails == ["gpu0", "gpu1"]
    r = gpu.read()
    assert r.values == {"gpu0": 61.0, "gpu1": 45.5} and r.total == 106.5
    assert r.counters == {"gpu0": 1_000_000, "gpu1": 2_000_000} and r.energy_j == 0.0
    fake_pynvml.STATE["energy_mj"] = [1_012_000, 2_003_500]
    r = gpu.read()
    assert r.energy_j == pytest.approx(15.5) and r.epoch == 0
    fake_pynvml.STATE["energy_mj"] = [100, 2_004_000]  # driver reloaded on gpu0
    r = gpu.read()
    assert r.epoch == 1 and r.energy_j == 0.0  # a new epoch: never differenced with the old one


def test_power_only_before_volta(fake_pynvml):
    fake_pynvml.STATE["energy_supported"] = [True, False]
    (gpu,) = nvml.discover(SensorConfig()).found
    assert gpu.info.kind == "power" and "1 s average" in gpu.info.note
    r = gpu.read()
    assert r.total == 106.5 and r.energy_j is None


def test_reset_on_the_second_gpu(fake_pynvml):
    (gpu,) = nvml.discover(SensorConfig()).found
    gpu.read()
    fake_pynvml.STATE["energy_mj"] = [1_001_000, 50]
    r = gpu.read()
    assert r.ok and r.epoch == 1 and r.energy_j == 0.0
    fake_pynvml.STATE["energy_mj"] = [1_002_000, 1_050]
    assert gpu.read().energy_j == pytest.approx(2.0)


def test_gpu_lost_mid_run(fake_pynvml):
    (gpu,) = nvml.discover(SensorConfig()).found
    fake_pynvml.STATE["power_mw"] = [61000]  # gpu1 fell off the bus
    r = gpu.read()
    assert not r.ok and r.total is None and "gpu1: NVML:" in r.reason and r.values == {"gpu0": 61.0}
