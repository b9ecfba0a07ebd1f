"""Raspberry Pi firmware figures through `vcgencmd`: SoC temperature, ARM clock, throttle flags.

On a Pi, `scaling_cur_freq` shows what Linux asked for, not what the firmware runs after throttling:
`measure_clock arm` is the honest clock. Each call spawns a process (milliseconds to tens of ms), so the
achievable rate is measured at discovery and reported.
"""
from __future__ import annotations

import re

from ..base import (
    KIND_FREQUENCY,
    KIND_THERMAL,
    KIND_THROTTLE,
    Discovery,
    Reading,
    Sensor,
    SensorConfig,
    SensorInfo,
    absent,
    now_ns,
)
from ..io.command import CommandResult, run_command
from ..throttle import ThrottleState

_ERROR = re.compile(r'error=(\d+)\s+error_msg="([^"]*)"')
_TEMP = re.compile(r"^temp=(-?\d+(?:\.\d+)?)'C$")
_CLOCK = re.compile(r"^frequency\(\d+\)=(\d+)$")


def run_vcgencmd(config: SensorConfig, *args: str) -> CommandResult:
    """vcgencmd with its in-band errors (`error=1 error_msg="..."`, exit status 0 or not) as reasons."""
    result = run_command([config.vcgencmd, *args], config.command_timeout_s)
    m = _ERROR.search(result.stdout)
    if m:
        return CommandResult(result.stdout, f"command error: vcgencmd {' '.join(args)}: {m.group(2)}",
                             result.duration_s)
    if "VCHI initialization failed" in result.reason:
        # The firmware mailbox (/dev/vchiq) is only open to root and the `video` group.
        return CommandResult(result.stdout, result.reason + " (add the agent's user to the video group)",
                             result.duration_s)
    return result


def parse_measure_temp(text: str) -> float:
    m = _TEMP.match(text.strip())
    if not m:
        raise ValueError(f"not a measure_temp line: {text.strip()[:60]!r}")
    return float(m.group(1))


def parse_measure_clock(text: str) -> int:
    m = _CLOCK.match(text.strip())
    if not m:
        raise ValueError(f"not a measure_clock line: {text.strip()[:60]!r}")
    hz = int(m.group(1))
    if hz <= 0:
        raise ValueError("clock reads 0 Hz (clock off or not measurable)")
    return hz


def rate_from_duration(duration_s: float) -> float:
    """Achievable rate of a command-backed source from one timed call (0 when unknown)."""
    return round(1.0 / duration_s, 1) if duration_s > 0 else 0.0


class _VcgencmdSensor(Sensor):
    blocking = True  # one vcgencmd process per reading
    """One vcgencmd sub-command parsed into one value."""

    args: tuple[str, ...]
    rail: str

    def __init__(self, config: SensorConfig, info: SensorInfo) -> None:
        self.config = config
        self.info = info

    @staticmethod
    def parse(text: str) -> float:
        raise NotImplementedError

    def read(self) -> Reading:
        t0 = now_ns()
        result = run_vcgencmd(self.config, *self.args)
        t = (t0 + now_ns()) // 2
        if not result.ok:
            return Reading(t, missing={self.rail: result.reason}, reason=result.reason)
        try:
            value = self.parse(result.stdout)
        except ValueError as err:
            return Reading(t, missing={self.rail: str(err)}, reason=str(err))
        return Reading(t, values={self.rail: value})


class RpiTemperature(_VcgencmdSensor):
    args = ("measure_temp",)
    rail = "soc"

    @staticmethod
    def parse(text: str) -> float:
        return parse_measure_temp(text)


class RpiArmClock(_VcgencmdSensor):
    args = ("measure_clock", "arm")
    rail = "arm"

    @staticmethod
    def parse(text: str) -> float:
        return float(parse_measure_clock(text))


class RpiThrottle(_VcgencmdSensor):
    """values["flags"] is the raw get_throttled word (see throttle.ThrottleState)."""

    args = ("get_throttled",)
    rail = "flags"

    @staticmethod
    def parse(text: str) -> float:
        return float(ThrottleState.parse(text).raw)


_SENSORS: list[tuple[type[_VcgencmdSensor], str, str, str, str]] = [
    (RpiTemperature, "rpi-temp", KIND_THERMAL, "C", "SoC temperature from the firmware"),
    (RpiArmClock, "rpi-arm-clock", KIND_FREQUENCY, "Hz",
     "ARM clock the firmware really runs (scaling_cur_freq does not show firmware throttling)"),
    (RpiThrottle, "rpi-throttle", KIND_THROTTLE, "flags",
     "get_throttled bits 0-3 now (under-voltage, freq capped, throttled, soft temp limit), 16-19 since boot"),
]


def discover(config: SensorConfig) -> Discovery:
    out = Discovery()
    for cls, name, kind, unit, note in _SENSORS:
        source = f"{config.vcgencmd} {' '.join(cls.args)}"
        result = run_vcgencmd(config, *cls.args)
        if not result.ok:
            out.absent.append(absent(name, kind, unit, result.reason, source))
            continue
        try:
            cls.parse(result.stdout)
        except ValueError as err:
            out.absent.append(absent(name, kind, unit, f"unexpected output: {err}", source))
            continue
        info = SensorInfo(name=name, kind=kind, unit=unit, rails=[cls.rail],
                          max_rate_hz=rate_from_duration(result.duration_s), source=source, note=note)
        out.found.append(cls(config, info))
    return out
