"""The one shape of a polled sysfs sensor: each rail made from a few attribute files, held open, re-read.

cpufreq, thermal zones, the Jetson iio INA3221 and the hwmon INA2xx/INA3221 readers all have it. Discovery
(each source's `discover`) decides which files make which rail and probes them once; reading is the same
for all: every rail's files are re-read, what was read goes to `values`, what was not to `missing` with the
reason (never a 0), and the sample is stamped at the middle of the read. A subclass says only how one
rail's files become a value (`rail_value`) and what the sample's headline is (`finish`).
"""
from __future__ import annotations

from abc import abstractmethod
from typing import Mapping, Sequence

from ..base import Reading, Sensor, SensorInfo, now_ns
from .sysfs import ReadError, SysfsAttr


class SysfsSensor(Sensor):
    # How the sample's reason starts when no rail could be read: "no zone readable: <each rail's reason>".
    nothing_read = "no rail readable"

    def __init__(self, info: SensorInfo, rails: Mapping[str, Sequence[str]]) -> None:
        """`rails`: rail name -> the paths of the files its value is made from, in report order."""
        self.info = info
        self._rails = {rail: tuple(SysfsAttr(p) for p in paths) for rail, paths in rails.items()}

    @abstractmethod
    def rail_value(self, attrs: tuple[SysfsAttr, ...]) -> float:
        """One rail's value now, in the sensor's unit. Raises ReadError with the reason."""

    def finish(self, reading: Reading) -> Reading:
        """Set the sample's headline; by default the sample is unavailable only when no rail was read."""
        if not reading.values:
            reading.reason = f"{self.nothing_read}: " + "; ".join(reading.missing.values())
        return reading

    def read(self) -> Reading:
        t0 = now_ns()
        values: dict[str, float] = {}
        missing: dict[str, str] = {}
        value = self.rail_value  # bound once: this runs up to 1000 times a second on the sampling thread
        for rail, attrs in self._rails.items():
            try:
                values[rail] = value(attrs)
            except ReadError as err:
                missing[rail] = str(err)  # this rail is missing from this sample; the others still count
        return self.finish(Reading((t0 + now_ns()) // 2, values=values, missing=missing))

    def close(self) -> None:
        for attrs in self._rails.values():
            for attr in attrs:
                attr.close()


def left_out(what: str, problems: Sequence[str]) -> str:
    """A note's tail naming what discovery found but could not read ("" when nothing was left out)."""
    return f"; unreadable {what} left out: " + "; ".join(problems) if problems else ""
