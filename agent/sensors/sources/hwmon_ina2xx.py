"""Current/power monitors behind the Linux hwmon drivers `ina2xx` and `ina3221`.

- INA219/INA226 family (`Documentation/hwmon/ina2xx.rst`): `power1_input` uW, `curr1_input` mA,
  `in1_input` bus mV. A Pi 4 has no on-board sensing; one of these on the 5 V feed is the usual fix.
- INA3221 (`Documentation/hwmon/ina3221.rst`, Jetson JetPack 5/6): three channels per chip, `in[1-3]_label`,
  `in[1-3]_input` mV, `curr[1-3]_input` mA, no power file. `NC` channels are not connected. `VDD_IN` is the
  module input and already contains the other rails: it is the total, the rails are not added to it.
"""
from __future__ import annotations

import os

from ..base import KIND_POWER, Discovery, Reading, SensorConfig, SensorInfo, absent, unique_name
from ..io.sysfs import ReadError, SysfsAttr, probe, read_once, read_once_or_none, sorted_glob
from ..io.sysfs_sensor import SysfsSensor, left_out

INA2XX_CHIPS = ("ina219", "ina220", "ina226", "ina230", "ina231", "ina260")
# Rails that measure the whole module input (JP5/6 hwmon, JP4 naming kept for boards that mix them).
TOTAL_RAILS = ("VDD_IN", "POM_5V_IN")
INA3221_NOTE = ("module rails from the INA3221 (mV x mA); {total} is the module input and already includes "
                "the other rails; the carrier board is not measured")
INA3221_SUM_NOTE = ("sum of INA3221 rails (mV x mA): no module-input rail on this board, so the total is the "
                    "sum of the rails listed; the carrier board is not measured")


def with_total(reading: Reading, total_rail: str | None) -> Reading:
    """Set the total: the module-input rail where there is one, else the sum of all rails (none partial)."""
    if total_rail is not None:
        if total_rail in reading.values:
            reading.total = reading.values[total_rail]
        else:
            reading.reason = reading.missing.get(total_rail, f"{total_rail} not read")
    elif reading.missing:
        # A partial sum would silently under-read the board: no total for this sample.
        reading.reason = "rails unreadable: " + "; ".join(f"{r}: {why}" for r, why in reading.missing.items())
    else:
        reading.total = sum(reading.values.values())
    return reading


def hwmon_dirs(config: SensorConfig) -> list[str]:
    """Every hwmon directory, found the ways SENSORS.md lists, each once (by real path)."""
    candidates = sorted_glob(config.path("/sys/class/hwmon/hwmon*"))
    candidates += sorted_glob(config.path("/sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*"))
    for dev in sorted_glob(config.path("/sys/bus/i2c/devices/*")):
        if read_once_or_none(os.path.join(dev, "name")) == "ina3221":
            candidates += sorted_glob(os.path.join(dev, "hwmon", "hwmon*"))
    seen: set[str] = set()
    out = []
    for d in candidates:
        real = os.path.realpath(d)
        if real not in seen and os.path.isdir(d):
            seen.add(real)
            out.append(d)
    return out


def _rate_from_update_interval(dirs: list[str]) -> float:
    intervals = []
    for d in dirs:
        text = read_once_or_none(os.path.join(d, "update_interval"))
        if text and text.isdigit() and int(text) > 0:
            intervals.append(int(text))
    return round(1000.0 / max(intervals), 1) if intervals else 0.0


class HwmonPower(SysfsSensor):
    """Rails from hwmon files: `power1_input` (uW) alone, or `inN_input` (mV) x `currN_input` (mA)."""

    def __init__(self, info: SensorInfo, rails: dict[str, list[str]], total_rail: str | None) -> None:
        super().__init__(info, rails)
        self.total_rail = total_rail

    def rail_value(self, attrs: tuple[SysfsAttr, ...]) -> float:
        if len(attrs) == 1:
            return attrs[0].read_int() / 1e6
        mv, ma = attrs
        return mv.read_int() * ma.read_int() / 1e6

    def finish(self, reading: Reading) -> Reading:
        return with_total(reading, self.total_rail)


class Ina2xx(HwmonPower):
    """One INA219/INA226-family chip: one rail, which is also the total."""

    def __init__(self, info: SensorInfo, files: list[str]) -> None:
        self.rail = info.rails[0]
        super().__init__(info, {self.rail: files}, total_rail=self.rail)


class Ina3221(HwmonPower):
    """Every connected INA3221 channel of every chip as one sensor, so the total is taken once."""


def _discover_ina2xx(dirs: list[tuple[str, str]]) -> Discovery:
    out = Discovery()
    names: set[str] = set()
    for d, chip in dirs:
        name = unique_name(f"hwmon-{chip}", names)
        use_power = os.path.exists(os.path.join(d, "power1_input"))
        files = [os.path.join(d, "power1_input")] if use_power else [
            os.path.join(d, "in1_input"), os.path.join(d, "curr1_input")]
        why = probe(files)
        if why:
            out.absent.append(absent(name, KIND_POWER, "W", why, d))
            continue
        how = "power1_input (uW)" if use_power else "in1_input (mV) x curr1_input (mA)"
        info = SensorInfo(name=name, kind=KIND_POWER, unit="W", rails=[chip],
                          max_rate_hz=_rate_from_update_interval([d]), source=d,
                          note=f"{chip} {how}: measures only what flows through its shunt")
        sensor = Ina2xx(info, files)
        sensor.rate_limit_hz = info.max_rate_hz or None
        out.found.append(sensor)
    return out


def _discover_ina3221(dirs: list[str]) -> Discovery:
    name = "hwmon-ina3221"
    channels: dict[str, list[str]] = {}  # rail -> [its inN_input (mV), currN_input (mA)]
    taken: set[str] = set()
    problems: list[str] = []
    for d in dirs:
        for n in (1, 2, 3):
            label = read_once_or_none(os.path.join(d, f"in{n}_label")) or f"{os.path.basename(d)}-ch{n}"
            if label == "NC":
                continue  # not connected on this board
            mv, ma = os.path.join(d, f"in{n}_input"), os.path.join(d, f"curr{n}_input")
            why = probe([mv, ma])
            if why:
                problems.append(f"{label}: {why}")
                continue
            channels[unique_name(label, taken)] = [mv, ma]
    if not channels:
        reason = "; ".join(problems) or "no connected channel"
        return Discovery(absent=[absent(name, KIND_POWER, "W", reason, ", ".join(dirs))])
    total = next((r for r in TOTAL_RAILS if r in channels), None)
    note = INA3221_NOTE.format(total=total) if total else INA3221_SUM_NOTE
    note += left_out("channels", problems)
    info = SensorInfo(name=name, kind=KIND_POWER, unit="W", rails=list(channels),
                      max_rate_hz=_rate_from_update_interval(dirs), source=", ".join(dirs), note=note)
    sensor = Ina3221(info, channels, total)
    sensor.rate_limit_hz = info.max_rate_hz or None
    return Discovery(found=[sensor])


def discover(config: SensorConfig) -> Discovery:
    ina2xx: list[tuple[str, str]] = []
    ina3221: list[str] = []
    for d in hwmon_dirs(config):
        try:
            chip = read_once(os.path.join(d, "name"))
        except ReadError:
            continue
        if chip in INA2XX_CHIPS:
            ina2xx.append((d, chip))
        elif chip == "ina3221":
            ina3221.append(d)
    out = Discovery()
    where = config.path("/sys/class/hwmon")
    if ina2xx:
        out.extend(_discover_ina2xx(ina2xx))
    else:
        out.absent.append(absent("hwmon-ina2xx", KIND_POWER, "W",
                                 f"missing: no hwmon device named {'/'.join(INA2XX_CHIPS)} under {where}", where))
    if ina3221:
        out.extend(_discover_ina3221(ina3221))
    else:
        out.absent.append(absent("hwmon-ina3221", KIND_POWER, "W",
                                 f"missing: no hwmon device named ina3221 under {where} or /sys/bus/i2c", where))
    return out
