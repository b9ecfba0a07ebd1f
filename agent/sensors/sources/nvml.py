"""NVIDIA GPU power and energy through NVML (`pynvml`, from the `nvidia-ml-py` distribution).

`nvmlDeviceGetTotalEnergyConsumption` (mJ since the driver loaded, Volta and newer) is a counter: the
energy of a window is the difference of two reads, which beats integrating `nvmlDeviceGetPowerUsage` (mW;
a 1 s average on Ampere and newer except GA100). pynvml is imported only here, at discovery: the agent runs
on boards without it.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from ..base import (
    KIND_ENERGY,
    KIND_POWER,
    Discovery,
    Reading,
    Sensor,
    SensorConfig,
    SensorInfo,
    absent,
    now_ns,
)

NAME = "nvml"
NOTE_POWER = "nvmlDeviceGetPowerUsage is a 1 s average on Ampere and newer (except GA100): peaks are smoothed"


def _load() -> tuple[ModuleType | None, str]:
    try:
        return importlib.import_module("pynvml"), ""
    except ImportError:
        return None, "not installed: pynvml (pip install nvidia-ml-py)"
    except Exception as err:  # a broken install must not stop discovery of the other sensors
        return None, f"pynvml failed to import: {err}"


class Nvml(Sensor):
    def __init__(self, info: SensorInfo, nvml: ModuleType, handles: list[Any], energy: bool) -> None:
        self.info = info
        self.nvml = nvml
        self.handles = handles
        self.energy = energy
        self._first_mj: dict[str, int] = {}
        self._last_mj: dict[str, int] = {}
        self._epoch = 0

    def read(self) -> Reading:
        t0 = now_ns()
        reading = Reading(t0)
        for rail, h in zip(self.info.rails, self.handles, strict=True):
            try:
                reading.values[rail] = self.nvml.nvmlDeviceGetPowerUsage(h) / 1000.0
                if self.energy:
                    reading.counters[rail] = int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(h))
            except Exception as err:  # NVMLError_* (GPU lost, not supported) carries its message
                reading.values.pop(rail, None)
                reading.missing[rail] = f"NVML: {err}"
        reading.t_ns = (t0 + now_ns()) // 2
        if reading.missing:
            reading.reason = "; ".join(f"{r}: {why}" for r, why in reading.missing.items())
            return reading
        reading.total = sum(reading.values.values())
        if self.energy:
            if any(mj < self._last_mj.get(rail, mj) for rail, mj in reading.counters.items()):
                self._epoch += 1  # the driver reloaded: the counters restarted from 0
                self._first_mj = {}
            self._last_mj.update(reading.counters)
            for rail, mj in reading.counters.items():
                self._first_mj.setdefault(rail, mj)
            reading.energy_j = sum(reading.counters[r] - self._first_mj[r] for r in reading.counters) / 1000.0
            reading.epoch = self._epoch
        return reading

    def close(self) -> None:
        try:
            self.nvml.nvmlShutdown()
        except Exception:
            pass


def discover(config: SensorConfig) -> Discovery:
    nvml, why = _load()
    if nvml is None:
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", why, "pynvml")])
    try:
        nvml.nvmlInit()
    except Exception as err:
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", f"no NVIDIA driver: {err}", "pynvml")])
    try:
        count = nvml.nvmlDeviceGetCount()
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        for h in handles:
            nvml.nvmlDeviceGetPowerUsage(h)
    except Exception as err:
        nvml.nvmlShutdown()
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", f"NVML: {err}", "pynvml")])
    if not handles:
        nvml.nvmlShutdown()
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", "no NVIDIA GPU", "pynvml")])
    energy = True
    for h in handles:
        try:
            nvml.nvmlDeviceGetTotalEnergyConsumption(h)
        except Exception:
            energy = False  # before Volta: power only
    rails = [f"gpu{i}" for i in range(len(handles))]
    kind, unit = (KIND_ENERGY, "J") if energy else (KIND_POWER, "W")
    note = ("total energy counter (mJ) per GPU; GPU board power only, not the host" if energy
            else "no energy counter on this GPU: power integrated; " + NOTE_POWER)
    if energy:
        note += "; " + NOTE_POWER + " (used only for peak power)"
    info = SensorInfo(name=NAME, kind=kind, unit=unit, rails=rails, source="pynvml", note=note)
    return Discovery(found=[Nvml(info, nvml, handles, energy)])
