"""Temperatures from `/sys/class/thermal/thermal_zone*/{type,temp}` (milli-degrees Celsius).

Zones are named by `type` (`cpu-thermal`, `gpu-thermal`, `tj-thermal`, ...). Some Orin zones answer EAGAIN
while their block is powered down: that zone is missing from that sample, the others are still read.
"""
from __future__ import annotations

import os

from ..base import KIND_THERMAL, Discovery, SensorConfig, SensorInfo, absent, unique_name
from ..io.sysfs import ReadError, SysfsAttr, probe, read_once_or_none, sorted_glob
from ..io.sysfs_sensor import SysfsSensor, left_out

NAME = "thermal"
GLOB = "/sys/class/thermal/thermal_zone*"
# Readings outside this span are a driver's "no value" code, not a temperature.
PLAUSIBLE_C = (-60.0, 200.0)


def parse_millicelsius(text: str) -> float:
    celsius = int(text) / 1000.0
    if not PLAUSIBLE_C[0] <= celsius <= PLAUSIBLE_C[1]:
        raise ValueError(f"implausible temperature {celsius:g} C")
    return celsius


class ThermalZones(SysfsSensor):
    nothing_read = "no zone readable"

    def rail_value(self, attrs: tuple[SysfsAttr, ...]) -> float:
        (attr,) = attrs
        try:
            return parse_millicelsius(attr.read_text())
        except ValueError as err:
            raise ReadError(f"garbage in {attr.path}: {err}") from None


def discover(config: SensorConfig) -> Discovery:
    dirs = sorted_glob(config.path(GLOB))
    if not dirs:
        return Discovery(absent=[absent(NAME, KIND_THERMAL, "C", f"missing: {config.path(GLOB)}",
                                        config.path(GLOB))])
    zones: dict[str, list[str]] = {}  # zone type -> [its temp file]
    taken: set[str] = set()
    problems: list[str] = []
    for d in dirs:
        zone_type = read_once_or_none(os.path.join(d, "type")) or os.path.basename(d)
        path = os.path.join(d, "temp")
        # Keep a zone that answers EAGAIN now (it may come back); drop one that cannot be opened at all.
        why = probe([path], as_int=False)
        if why and "EAGAIN" not in why:
            problems.append(f"{zone_type}: {why}")
            continue
        zones[unique_name(zone_type, taken)] = [path]
    if not zones:
        return Discovery(absent=[absent(NAME, KIND_THERMAL, "C", "; ".join(problems), config.path(GLOB))])
    note = "thermal zones by type (m C)" + left_out("zones", problems)
    info = SensorInfo(name=NAME, kind=KIND_THERMAL, unit="C", rails=list(zones),
                      source=config.path("/sys/class/thermal"), note=note)
    return Discovery(found=[ThermalZones(info, zones)])
