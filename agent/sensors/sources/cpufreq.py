"""CPU clocks from `/sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq` (kHz) and the governor.

`scaling_cur_freq` is what the kernel asked for; on a Raspberry Pi the firmware may run slower
(`vcgencmd measure_clock arm` is the truth there). `cpuinfo_cur_freq` is often root-only and not used.
"""
from __future__ import annotations

import os
import re

from ..base import KIND_FREQUENCY, Discovery, SensorConfig, SensorInfo, absent
from ..io.sysfs import ReadError, SysfsAttr, probe, read_once_or_none, sorted_glob
from ..io.sysfs_sensor import SysfsSensor, left_out

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


class CpuFreq(SysfsSensor):
    nothing_read = "no CPU clock readable"  # an offline CPU loses its cpufreq files: that CPU is missing

    def rail_value(self, attrs: tuple[SysfsAttr, ...]) -> float:
        (attr,) = attrs
        khz = attr.read_int()
        if khz <= 0:
            raise ReadError(f"garbage in {attr.path}: {khz}")
        return khz * 1000.0


def discover(config: SensorConfig) -> Discovery:
    files: dict[str, list[str]] = {}  # cpuN -> [its scaling_cur_freq]
    problems: list[str] = []
    for d in sorted_glob(config.path(GLOB)):
        cpu = os.path.basename(os.path.dirname(d))
        if not _CPU.match(cpu):
            continue
        path = os.path.join(d, "scaling_cur_freq")
        why = probe([path])
        if why:
            problems.append(f"{cpu}: {why}")
        else:
            files[cpu] = [path]
    if not files:
        reason = "; ".join(problems) or f"missing: {config.path(GLOB)} (no cpufreq driver)"
        return Discovery(absent=[absent(NAME, KIND_FREQUENCY, "Hz", reason, config.path(GLOB))])
    govs = governors(config)
    gov_text = ", ".join(sorted(set(govs.values()))) or "unknown"
    note = f"scaling_cur_freq (kHz); governor: {gov_text}" + left_out("CPUs", problems)
    info = SensorInfo(name=NAME, kind=KIND_FREQUENCY, unit="Hz", rails=list(files),
                      source=config.path("/sys/devices/system/cpu"), note=note)
    return Discovery(found=[CpuFreq(info, files)])
