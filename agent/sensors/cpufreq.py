"""CPU clocks from `/sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq` (kHz) and the governor.

`scaling_cur_freq` is what the kernel asked for; on a Raspberry Pi the firmware may run slower
(`vcgencmd measure_clock arm` is the truth there). `cpuinfo_cur_freq` is often root-only and not used.
"""
from __future__ import annotations

import os
import re

from .base import KIND_FREQUENCY, Discovery, Reading, Sensor, SensorConfig, SensorInfo, absent, now_ns
from .sysfs import ReadError, SysfsAttr, read_once_or_none, sorted_glob

NAME = "cpufreq"
GLOB = "/sys/devices/system/cpu/cpu[0-9]*/cpufreq"
_CPU = re.compile(r"cpu(\d+)$")


def governors(config: SensorConfig) -> dict[str, str]:
    """cpuN -> scaling_governor, for the CPUs that have cpufreq."""
    out = {}
    for d in sorted_glob(config.path(GLOB)):
        cpu = os.path.basename(os.path.dirname(d))
        gov = read_once_or_none(os.path.join(d, "scaling_governor"))
        if gov is not None:
            out[cpu] = gov
    return out


class CpuFreq(Sensor):
    def __init__(self, info: SensorInfo, files: dict[str, str]) -> None:
        self.info = info
        self._attrs = {cpu: SysfsAttr(p) for cpu, p in files.items()}

    def read(self) -> Reading:
        t0 = now_ns()
        reading = Reading(t0)
        for cpu, attr in self._attrs.items():
            try:
                khz = attr.read_int()
            except ReadError as err:
                reading.missing[cpu] = str(err)  # an offline CPU loses its cpufreq files
                continue
            if khz <= 0:
                reading.missing[cpu] = f"garbage in {attr.path}: {khz}"
            else:
                reading.values[cpu] = khz * 1000.0
        reading.t_ns = (t0 + now_ns()) // 2
        if not reading.values:
            reading.reason = "no CPU clock readable: " + "; ".join(reading.missing.values())
        return reading

    def close(self) -> None:
        for attr in self._attrs.values():
            attr.close()


def discover(config: SensorConfig) -> Discovery:
    files: dict[str, str] = {}
    problems: list[str] = []
    for d in sorted_glob(config.path(GLOB)):
        cpu = os.path.basename(os.path.dirname(d))
        if not _CPU.match(cpu):
            continue
        path = os.path.join(d, "scaling_cur_freq")
        attr = SysfsAttr(path)
        try:
            attr.read_int()
            files[cpu] = path
        except ReadError as err:
            problems.append(f"{cpu}: {err}")
        finally:
            attr.close()
    if not files:
        reason = "; ".join(problems) or f"missing: {config.path(GLOB)} (no cpufreq driver)"
        return Discovery(absent=[absent(NAME, KIND_FREQUENCY, "Hz", reason, config.path(GLOB))])
    govs = governors(config)
    gov_text = ", ".join(sorted(set(govs.values()))) or "unknown"
    note = f"scaling_cur_freq (kHz); governor: {gov_text}"
    if problems:
        note += "; unreadable CPUs left out: " + "; ".join(problems)
    info = SensorInfo(name=NAME, kind=KIND_FREQUENCY, unit="Hz", rails=list(files),
                      source=config.path("/sys/devices/system/cpu"), note=note)
    return Discovery(found=[CpuFreq(info, files)])
