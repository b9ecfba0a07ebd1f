"""Temperatures from `/sys/class/thermal/thermal_zone*/{type,temp}` (milli-degrees Celsius).

Zones are named by `type` (`cpu-thermal`, `gpu-thermal`, `tj-thermal`, ...). Some Orin zones answer EAGAIN
while their block is powered down: that zone is missing from that sample, the others are still read.
"""
from __future__ import annotations

import os

from .base import (
    KIND_THERMAL,
    Discovery,
    Reading,
    Sensor,
    SensorConfig,
    SensorInfo,
    absent,
    now_ns,
    unique_name,
)
from .sysfs import ReadError, SysfsAttr, read_once_or_none, sorted_glob

NAME = "thermal"
GLOB = "/sys/class/thermal/thermal_zone*"
# Readings outside this span are a driver's "no value" code, not a temperature.
PLAUSIBLE_C = (-60.0, 200.0)


def parse_millicelsius(text: str) -> float:
    celsius = int(text) / 1000.0
    if not PLAUSIBLE_C[0] <= celsius <= PLAUSIBLE_C[1]:
        raise ValueError(f"implausible temperature {celsius:g} C")
    return celsius


class ThermalZones(Sensor):
    def __init__(self, info: SensorInfo, zones: dict[str, str]) -> None:
        self.info = info
        self._attrs = {rail: SysfsAttr(path) for rail, path in zones.items()}

    def read(self) -> Reading:
        t0 = now_ns()
        reading = Reading(t0)
        for rail, attr in self._attrs.items():
            try:
                reading.values[rail] = parse_millicelsius(attr.read_text())
            except ReadError as err:
                reading.missing[rail] = str(err)
            except ValueError as err:
                reading.missing[rail] = f"garbage in {attr.path}: {err}"
        reading.t_ns = (t0 + now_ns()) // 2
        if not reading.values:
            reading.reason = "no zone readable: " + "; ".join(reading.missing.values())
        return reading

    def close(self) -> None:
        for attr in self._attrs.values():
            attr.close()


def discover(config: SensorConfig) -> Discovery:
    dirs = sorted_glob(config.path(GLOB))
    if not dirs:
        return Discovery(absent=[absent(NAME, KIND_THERMAL, "C", f"missing: {config.path(GLOB)}",
                                        config.path(GLOB))])
    zones: dict[str, str] = {}
    taken: set[str] = set()
    left_out: list[str] = []
    for d in dirs:
        zone_type = read_once_or_none(os.path.join(d, "type")) or os.path.basename(d)
        path = os.path.join(d, "temp")
        # Keep a zone that answers EAGAIN now (it may come back); drop one that cannot be opened at all.
        attr = SysfsAttr(path)
        try:
            attr.read_text()
        except ReadError as err:
            if "EAGAIN" not in str(err):
                left_out.append(f"{zone_type}: {err}")
                continue
        finally:
            attr.close()
        zones[unique_name(zone_type, taken)] = path
    if not zones:
        return Discovery(absent=[absent(NAME, KIND_THERMAL, "C", "; ".join(left_out), config.path(GLOB))])
    note = "thermal zones by type (m C)"
    if left_out:
        note += "; unreadable zones left out: " + "; ".join(left_out)
    info = SensorInfo(name=NAME, kind=KIND_THERMAL, unit="C", rails=list(zones),
                      source=config.path("/sys/class/thermal"), note=note)
    return Discovery(found=[ThermalZones(info, zones)])
