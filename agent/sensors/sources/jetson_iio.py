"""Jetson JetPack 4 power: the INA3221 behind the `ina3221x` iio driver.

`/sys/bus/i2c/drivers/ina3221x/<bus>-00xx/iio:deviceN/` holds `rail_name_N` and `in_power{N}_input` in mW
(Nano: POM_5V_IN, POM_5V_GPU, POM_5V_CPU). POM_5V_IN / VDD_IN is the module input and already contains the
other rails: it is the total, the rails are not added to it.
"""
from __future__ import annotations

import os

from ..base import KIND_POWER, Discovery, Reading, SensorConfig, SensorInfo, absent, unique_name
from ..io.sysfs import SysfsAttr, probe, read_once_or_none, sorted_glob
from ..io.sysfs_sensor import SysfsSensor, left_out
from .hwmon_ina2xx import TOTAL_RAILS, with_total

NAME = "jetson-iio-ina3221"
GLOB = "/sys/bus/i2c/drivers/ina3221x/*/iio:device*"


class JetsonIio(SysfsSensor):
    def __init__(self, info: SensorInfo, power_files: dict[str, list[str]], total_rail: str | None) -> None:
        super().__init__(info, power_files)
        self.total_rail = total_rail

    def rail_value(self, attrs: tuple[SysfsAttr, ...]) -> float:
        (mw,) = attrs
        return mw.read_int() / 1000.0

    def finish(self, reading: Reading) -> Reading:
        return with_total(reading, self.total_rail)


def discover(config: SensorConfig) -> Discovery:
    devices = sorted_glob(config.path(GLOB))
    if not devices:
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", f"missing: {config.path(GLOB)}",
                                        config.path(GLOB))])
    power_files: dict[str, list[str]] = {}  # rail -> [its in_powerN_input]
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
            why = probe([path])
            if why:
                problems.append(f"{label}: {why}")
                continue
            power_files[unique_name(label, taken)] = [path]
    if not power_files:
        reason = "; ".join(problems) or f"no rail_name_N in {', '.join(devices)}"
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", reason, ", ".join(devices))])
    total = next((r for r in TOTAL_RAILS if r in power_files), None)
    note = (f"in_power*_input (mW); {total} is the module input and already includes the other rails; "
            "the carrier board is not measured" if total else
            "sum of in_power*_input rails (mW): no module-input rail found")
    note += left_out("rails", problems)
    info = SensorInfo(name=NAME, kind=KIND_POWER, unit="W", rails=list(power_files), source=", ".join(devices),
                      note=note)
    return Discovery(found=[JetsonIio(info, power_files, total)])
