"""Sensor plug-ins and the sampler: power, energy, temperature, clocks and throttling on the board.

    sensors = discover_all(SensorConfig())            # once, at agent start; infos() feed Describe
    sampler = Sampler(sensors.for_sampling(), rate_hz=20).start()
    idle = idle_baseline(sampler.samples_between(i0, i1), i0, i1)
    summary = summarize(sampler.samples_between(w0, w1), w0, w1, idle, inferences=n)
    sampler.stop(); sensors.close()

    base.py      the plug-in interface: Sensor, Reading, SensorInfo, SensorConfig, Discovery
    throttle.py  what a throttle reading's flags mean (read by a source and by the summary)
    registry.py  the list of sources, in report order, and discover_all
    sources/     one module per source (vcgencmd, PMIC, hwmon, iio, tegrastats, RAPL, NVML, meters, ...)
    io/          the plumbing: sysfs files and the sysfs sensor base, commands, the sampler, the summary

What this package exports is the stable API; the modules under it may move. An external power meter plugs
in with `edgebench.agent.sensors.register_meter(scheme, factory)`: `factory(url, config)` returns a Sensor
for a `--meter` URL of that scheme (or raises ValueError with the reason).
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
from .io.sampler import Sampler, SourceStats
from .io.summary import EnergySummary, IdleBaseline, PowerFigures, idle_baseline, summarize
from .registry import SensorSet, discover_all
from .sources.external_meter import MeterFactory, register_meter
from .throttle import ThrottleState

__all__ = [
    "KIND_ENERGY", "KIND_FREQUENCY", "KIND_POWER", "KIND_THERMAL", "KIND_THROTTLE",
    "Discovery", "EnergySummary", "IdleBaseline", "MeterFactory", "PowerFigures", "Reading", "Sampler", "Sensor",
    "SensorConfig", "SensorInfo", "SensorSet", "SourceStats", "ThrottleState", "Trace",
    "discover_all", "idle_baseline", "now_ns", "register_meter", "summarize",
]
