"""x86 (Intel, AMD Zen) energy counters through powercap: `/sys/class/powercap/intel-rapl:N[:M]/`.

`energy_uj` is cumulative and wraps at `max_energy_range_uj`; the sensor unfolds the wrap between two
reads (it cannot see two wraps between reads: a package at 100 W needs about 40 min to wrap once).
Subzones (core, uncore) are inside their package and are not added to the total; `dram` is its own
domain and is added; `psys` is the whole platform and overlaps the packages, so it is a rail only, or the
total where no package zone exists. `intel-rapl-mmio:*` is a second interface to the same package counter
and is skipped.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..base import KIND_ENERGY, Discovery, Reading, Sensor, SensorConfig, SensorInfo, absent, now_ns
from ..io.sysfs import ReadError, SysfsAttr, read_once_or_none, sorted_glob

NAME = "rapl"
_ZONE = re.compile(r"^intel-rapl:(\d+(?::\d+)*)$")
PERMISSION_FIX = ("energy_uj is root-only since Linux 5.10 (CVE-2020-8694); grant read access with "
                  "`sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj` (lost at reboot) or a udev rule "
                  "such as SUBSYSTEM==\"powercap\", ACTION==\"add\", RUN+=\"/bin/chmod a+r /sys%p/energy_uj\"")


@dataclass
class RaplZone:
    rail: str  # "package-0", "package-0/core", "psys"
    path: str
    max_range_uj: int | None  # None: wrap cannot be unfolded
    in_total: bool
    attr: SysfsAttr
    last_raw: int | None = None
    last_t_ns: int | None = None
    energy_uj: int = 0  # accumulated since the first read, wraps unfolded


def unfold(previous: int, current: int, max_range: int | None) -> int | None:
    """Energy between two raw readings of a wrapping counter; None when it went back with no known range."""
    if current >= previous:
        return current - previous
    if max_range is None or max_range <= 0:
        return None
    return current + max_range - previous


class Rapl(Sensor):
    def __init__(self, info: SensorInfo, zones: list[RaplZone]) -> None:
        self.info = info
        self.zones = zones
        self._epoch = 0

    def read(self) -> Reading:
        t0 = now_ns()
        raw: dict[str, int] = {}
        missing: dict[str, str] = {}
        for z in self.zones:
            try:
                raw[z.rail] = z.attr.read_int()
            except ReadError as err:
                missing[z.rail] = str(err)
        t = (t0 + now_ns()) // 2
        reading = Reading(t, counters=raw, missing=missing)
        for z in self.zones:
            if z.rail not in raw:
                continue  # the next good read covers the gap: counters lose nothing
            if z.last_raw is not None:
                delta = unfold(z.last_raw, raw[z.rail], z.max_range_uj)
                if delta is None:
                    reading.missing[z.rail] = "counter went backwards and max_energy_range_uj is unknown"
                    z.last_raw, z.last_t_ns = raw[z.rail], t
                    if z.in_total:
                        self._epoch += 1  # the energy across this step is unknown
                    continue
                z.energy_uj += delta
                if z.last_t_ns is not None and t > z.last_t_ns:
                    # mean power since this zone's last good read (a failed read in between widens it)
                    reading.values[z.rail] = delta / 1e6 / ((t - z.last_t_ns) / 1e9)
            z.last_raw = raw[z.rail]
            z.last_t_ns = t
        reading.epoch = self._epoch
        bad = [z.rail for z in self.zones if z.in_total and z.rail in reading.missing]
        if bad:
            reading.reason = "; ".join(f"{r}: {reading.missing[r]}" for r in bad)
        else:
            reading.energy_j = sum(z.energy_uj for z in self.zones if z.in_total) / 1e6
            total_zones = [z.rail for z in self.zones if z.in_total]
            if all(r in reading.values for r in total_zones):
                reading.total = sum(reading.values[r] for r in total_zones)  # mean W since the last read
        return reading

    def close(self) -> None:
        for z in self.zones:
            z.attr.close()


def _zone_dirs(config: SensorConfig) -> tuple[list[tuple[str, str]], list[str]]:
    """(zone id, dir) for intel-rapl zones, and the mmio duplicates that were skipped."""
    zones, skipped = [], []
    for d in sorted_glob(config.path("/sys/class/powercap/*")):
        base = os.path.basename(d)
        m = _ZONE.match(base)
        if m:
            zones.append((m.group(1), d))
        elif base.startswith("intel-rapl-mmio:"):
            skipped.append(base)
    return zones, skipped


def discover(config: SensorConfig) -> Discovery:
    root = config.path("/sys/class/powercap")
    zone_dirs, skipped = _zone_dirs(config)
    if not zone_dirs:
        return Discovery(absent=[absent(NAME, KIND_ENERGY, "J", f"missing: no intel-rapl:* zone in {root}", root)])
    names = {zid: read_once_or_none(os.path.join(d, "name")) or f"zone-{zid}" for zid, d in zone_dirs}
    zones: list[RaplZone] = []
    denied: list[str] = []
    problems: list[str] = []
    for zid, d in zone_dirs:
        parent = zid.rsplit(":", 1)[0] if ":" in zid else None
        name = names[zid]
        rail = f"{names.get(parent, parent)}/{name}" if parent is not None else name
        path = os.path.join(d, "energy_uj")
        attr = SysfsAttr(path)
        try:
            attr.read_int()
        except ReadError as err:
            attr.close()
            (denied if str(err).startswith("permission denied") else problems).append(f"{rail}: {err}")
            continue
        max_text = read_once_or_none(os.path.join(d, "max_energy_range_uj"))
        max_range = int(max_text) if max_text and max_text.isdigit() else None
        in_total = (parent is None and name.startswith("package")) or name == "dram"
        zones.append(RaplZone(rail, path, max_range, in_total, attr))
    if not zones:
        reason = "; ".join(denied + problems)
        if denied:
            reason += f" -- {PERMISSION_FIX}"
        return Discovery(absent=[absent(NAME, KIND_ENERGY, "J", reason, root)])
    if not any(z.in_total for z in zones):
        for z in zones:
            z.in_total = z.rail == "psys"
    total = [z.rail for z in zones if z.in_total]
    if not total:
        for z in zones:
            z.close() if hasattr(z, "close") else z.attr.close()
        return Discovery(absent=[absent(NAME, KIND_ENERGY, "J", "no package, dram or psys zone readable: "
                                        + ", ".join(z.rail for z in zones), root)])
    note = (f"total = {' + '.join(total)} (CPU package/DRAM energy only, not the whole machine unless psys); "
            "subzones are inside their package and not added")
    if any(z.rail == "psys" for z in zones) and "psys" not in total:
        note += "; psys (platform) overlaps the packages: shown as a rail, not added"
    if skipped:
        note += f"; skipped duplicate interface {', '.join(skipped)}"
    if denied:
        note += "; unreadable zones left out: " + "; ".join(denied) + f" -- {PERMISSION_FIX}"
    if problems:
        note += "; unreadable zones left out: " + "; ".join(problems)
    if any(z.max_range_uj is None for z in zones if z.in_total):
        note += "; max_energy_range_uj unreadable: a wrap-around makes that sample unavailable"
    info = SensorInfo(name=NAME, kind=KIND_ENERGY, unit="J", rails=[z.rail for z in zones], source=root, note=note)
    return Discovery(found=[Rapl(info, zones)])
