"""Sensor plug-ins and the sampler: power, energy, temperature, clocks and throttling on the board.

    sensors = discover_all(SensorConfig())            # once, at agent start; infos() feed Describe
    sampler = Sampler(sensors.for_sampling(), rate_hz=20).start()
    idle = idle_baseline(sampler.samples_between(i0, i1), i0, i1)
    summary = summarize(sampler.samples_between(w0, w1), w0, w1, idle, inferences=n)
    sampler.stop(); sensors.close()
"""
from __future__ import annotations

from .base import (
    KIND_ENERGY,
    KIND_FREQUENCY,
    KIND_POWER,
    KIND_THERMAL,
    KIND_THROTTLE,
    Discovery,
    Reading,
    Sensor,
    SensorConfig,
    SensorInfo,
    Trace,
    now_ns,
)
from .external_meter import register_meter
from .registry import SensorSet, discover_all
from .sampler import Sampler, SourceStats
from .summary import EnergySummary, IdleBaseline, PowerFigures, idle_baseline, summarize
from .throttle import ThrottleState

__all__ = [
    "KIND_ENERGY", "KIND_FREQUENCY", "KIND_POWER", "KIND_THERMAL", "KIND_THROTTLE",
    "Discovery", "EnergySummary", "IdleBaseline", "PowerFigures", "Reading", "Sampler", "Sensor",
    "SensorConfig", "SensorInfo", "SensorSet", "SourceStats", "ThrottleState", "Trace",
    "discover_all", "idle_baseline", "now_ns", "register_meter", "summarize",
]
