"""Raspberry Pi 5 board power from the PMIC ADC: `vcgencmd pmic_read_adc`.

Each `<RAIL>_A current(i)=...A` line is paired with its `<RAIL>_V volt(j)=...V` line by rail name (the
bracketed ADC indices differ). Board power is the sum of A x V over the paired rails. That sum excludes
regulator losses and the 5 V peripherals (USB, HAT, fan), so it reads below wall power.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..base import KIND_POWER, Discovery, Reading, Sensor, SensorConfig, SensorInfo, absent, now_ns
from .rpi_vcgencmd import rate_from_duration, run_vcgencmd

NAME = "rpi5-pmic"
NOTE = ("sum of PMIC rails (A x V): excludes regulator losses and 5 V peripherals (USB, HAT, fan), so it "
        "reads below wall power; a published fit, unconfirmed: wall ~= 1.1451 x sum + 0.5879 W")

_LINE = re.compile(r"^\s*([A-Za-z0-9_]+)_([AV])\s+(?:current|volt)\(\d+\)=(\S+)\s*$")


@dataclass
class PmicAdc:
    """One pmic_read_adc output: amps and volts by rail name (nan kept as nan)."""

    amps: dict[str, float] = field(default_factory=dict)
    volts: dict[str, float] = field(default_factory=dict)

    @property
    def paired_rails(self) -> list[str]:
        return [rail for rail in self.amps if rail in self.volts]

    @property
    def voltage_only(self) -> list[str]:
        return [rail for rail in self.volts if rail not in self.amps]


def _number(text: str) -> float:
    if text[-1:] in ("A", "V"):
        text = text[:-1]
    return float(text)  # accepts "nan"


def parse_pmic_read_adc(text: str) -> PmicAdc:
    adc = PmicAdc()
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        rail, unit, raw = m.groups()
        try:
            value = _number(raw)
        except ValueError:
            value = math.nan
        (adc.amps if unit == "A" else adc.volts)[rail] = value
    return adc


class RpiPmic(Sensor):
    blocking = True  # one vcgencmd process per reading
    def __init__(self, config: SensorConfig, info: SensorInfo) -> None:
        self.config = config
        self.info = info

    def read(self) -> Reading:
        t0 = now_ns()
        result = run_vcgencmd(self.config, "pmic_read_adc")
        t = (t0 + now_ns()) // 2
        if not result.ok:
            return Reading(t, reason=result.reason)
        adc = parse_pmic_read_adc(result.stdout)
        reading = Reading(t)
        for rail in self.info.rails:
            a, v = adc.amps.get(rail), adc.volts.get(rail)
            if a is None or v is None:
                reading.missing[rail] = "rail absent from pmic_read_adc output"
            elif math.isnan(a) or math.isnan(v):
                reading.missing[rail] = "reads nan"
            else:
                reading.values[rail] = a * v
        for rail in adc.voltage_only:
            if not math.isnan(adc.volts[rail]):
                reading.extra[f"{rail}_V"] = adc.volts[rail]
        if reading.missing:
            # A partial sum would silently under-read the board: no total for this sample.
            reading.reason = "rails unreadable: " + ", ".join(f"{r} ({why})" for r, why in reading.missing.items())
        else:
            reading.total = sum(reading.values.values())
        return reading


def discover(config: SensorConfig) -> Discovery:
    source = f"{config.vcgencmd} pmic_read_adc"
    result = run_vcgencmd(config, "pmic_read_adc")
    if not result.ok:
        if "Command not registered" in result.reason:
            result.reason += " (no PMIC ADC: Raspberry Pi 5 only)"
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", result.reason, source)])
    adc = parse_pmic_read_adc(result.stdout)
    rails = [r for r in adc.paired_rails if not (math.isnan(adc.amps[r]) or math.isnan(adc.volts[r]))]
    if not rails:
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", "no readable A/V rail pairs in output", source)])
    note = NOTE
    nan_rails = [r for r in adc.paired_rails if r not in rails]
    if nan_rails:
        # A rail that reads nan at start would void every sample's total; leave it out and say so.
        note += f"; rails reading nan at discovery left out of the sum: {', '.join(nan_rails)}"
    info = SensorInfo(name=NAME, kind=KIND_POWER, unit="W", rails=rails,
                      max_rate_hz=rate_from_duration(result.duration_s), source=source, note=note)
    return Discovery(found=[RpiPmic(config, info)])
