"""Discover every source: what was found, and everything looked for and not found with the reason."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import ModuleType
from typing import Iterable

from .base import Discovery, Sensor, SensorConfig, SensorInfo, absent
from .sources import (
    cpufreq,
    external_meter,
    hwmon_ina2xx,
    jetson_iio,
    nvml,
    rapl,
    rpi_pmic,
    rpi_vcgencmd,
    tegrastats,
    thermal,
)

log = logging.getLogger(__name__)

# Discovery order is report order. Each module's discover(config) -> Discovery.
SOURCES: list[ModuleType] = [
    external_meter,
    rpi_pmic,
    hwmon_ina2xx,
    jetson_iio,
    nvml,
    rapl,
    tegrastats,
    thermal,
    rpi_vcgencmd,
    cpufreq,
]


@dataclass
class SensorSet:
    sensors: list[Sensor] = field(default_factory=list)
    absent: list[SensorInfo] = field(default_factory=list)

    def infos(self) -> list[SensorInfo]:
        """Found then absent: what Describe reports."""
        return [s.info for s in self.sensors] + list(self.absent)

    def get(self, name: str) -> Sensor | None:
        return next((s for s in self.sensors if s.name == name), None)

    def of_kind(self, kind: str) -> list[Sensor]:
        return [s for s in self.sensors if s.info.kind == kind]

    def for_sampling(self, include_fallbacks: bool = False) -> list[Sensor]:
        """The sensors worth sampling: a fallback (tegrastats) only for a kind no direct source covers.

        tegrastats costs a process on the board and reads the same INA3221 as the hwmon files.
        """
        if include_fallbacks:
            return list(self.sensors)
        direct_kinds = {s.info.kind for s in self.sensors if not s.fallback}
        power_like = {"power", "energy"}
        out = []
        for s in self.sensors:
            if s.fallback:
                kinds = power_like if s.info.kind in power_like else {s.info.kind}
                if kinds & direct_kinds:
                    continue
            out.append(s)
        return out

    def close(self) -> None:
        for s in self.sensors:
            try:
                s.close()
            except Exception:  # closing one must not leave the others open
                log.exception("closing sensor %s", s.name)


def discover_all(config: SensorConfig | None = None, sources: Iterable[ModuleType] | None = None) -> SensorSet:
    """Run every source's discovery; a source that fails is reported absent, it never stops the others."""
    config = config or SensorConfig()
    found = Discovery()
    for module in sources if sources is not None else SOURCES:
        try:
            found.extend(module.discover(config))
        except Exception as err:  # a bug in one reader must not cost the agent its other sensors
            log.exception("sensor discovery failed in %s", module.__name__)
            short = module.__name__.rsplit(".", 1)[-1]
            found.absent.append(absent(short, "", "", f"discovery failed: {type(err).__name__}: {err}"))
    return SensorSet(found.found, found.absent)
