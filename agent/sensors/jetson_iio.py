"""Jetson JetPack 4 power: the INA3221 behind the `ina3221x` iio driver.

`/sys/bus/i2c/drivers/ina3221x/<bus>-00xx/iio:deviceN/` holds `rail_name_N` and `in_power{N}_input` in mW
(Nano: POM_5V_IN, POM_5V_GPU, POM_5V_CPU). POM_5V_IN / VDD_IN is the module input and already contains the
other rails: it is the total, the rails are not added to it.
"""
from __future__ import annotations

import os

from .base import (
    KIND_POWER,
    Discovery,
    Reading,
    Sensor,
    SensorConfig,
    SensorInfo,
    absent,
    now_ns,
    unique_name,
)
from .hwmon_ina2xx import TOTAL_RAILS, with_total
from .sysfs import ReadError, SysfsAttr, read_once_or_none, sorted_glob

NAME = "jetson-iio-ina3221"
GLOB = "/sys/bus/i2c/drivers/ina3221x/*/iio:device*"


class JetsonIio(Sensor):
    def __init__(self, info: SensorInfo, power_files: dict[str, str], total_rail: str | None) -> None:
        self.info = info
        self.total_rail = total_rail
        self._attrs = {rail: SysfsAttr(p) for rail, p in power_files.items()}

    def read(self) -> Reading:
        t0 = now_ns()
        values: dict[str, float] = {}
        missing: dict[str, str] = {}
        for rail, attr in self._attrs.items():
            try:
                values[rail] = attr.read_int() / 1000.0
            except ReadError as err:
                missing[rail] = str(err)
        return with_total(Reading((t0 + now_ns()) // 2, values=values, missing=missing), self.total_rail)

    def close(self) -> None:
        for attr in self._attrs.values():
            attr.close()


def discover(config: SensorConfig) -> Discovery:
    devices = sorted_glob(config.path(GLOB))
    if not devices:
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", f"missing: {config.path(GLOB)}",
                                        config.path(GLOB))])
    power_files: dict[str, str] = {}
    taken: set[str] = set()
    problems: list[str] = []
    for dev in devices:
        for n in range(8):  # three channels per chip; bounded in case a driver exposes more
            label = read_once_or_none(os.path.join(dev, f"rail_name_{n}"))
            if label is None:
                continue
            if label == "NC":
                continue
            path = os.path.join(dev, f"in_power{n}_input")
            attr = SysfsAttr(path)
            try:
                attr.read_int()
            except ReadError as err:
                problems.append(f"{label}: {err}")
                continue
            finally:
                attr.close()
            power_files[unique_name(label, taken)] = path
    if not power_files:
        reason = "; ".join(problems) or f"no rail_name_N in {', '.join(devices)}"
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", reason, ", ".join(devices))])
    total = next((r for r in TOTAL_RAILS if r in power_files), None)
    note = (f"in_power*_input (mW); {total} is the module input and already includes the other rails; "
            "the carrier board is not measured" if total else
            "sum of in_power*_input rails (mW): no module-input rail found")
    if problems:
        note += "; unreadable rails left out: " + "; ".join(problems)
    info = SensorInfo(name=NAME, kind=KIND_POWER, unit="W", rails=list(power_files), source=", ".join(devices),
                      note=note)
    return Discovery(found=[JetsonIio(info, power_files, total)])
