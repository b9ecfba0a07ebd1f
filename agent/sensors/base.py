"""The sensor plug-in interface: what every power, energy, thermal, frequency and throttle source provides.

Discovery (what exists) is kept apart from reading (how to sample it): each source module has a
`discover(config) -> Discovery` that returns ready `Sensor` objects plus a `SensorInfo` with a reason for
everything it looked for and did not find. A sensor's `read()` never raises and never reports an absent
value as zero: a value it cannot read is left out and the reason is said.
"""
from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

KIND_POWER = "power"  # instantaneous power, W
KIND_ENERGY = "energy"  # cumulative energy counter (RAPL, NVML), J
KIND_THERMAL = "thermal"  # degrees Celsius
KIND_FREQUENCY = "frequency"  # Hz
KIND_THROTTLE = "throttle"  # firmware throttle flags (Raspberry Pi get_throttled)


def now_ns() -> int:
    """CLOCK_MONOTONIC in ns: the clock the worker stamps its measurement window with."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


@dataclass
class SensorConfig:
    """Where the sources live. Tests point every path and command at a fixture board."""

    sysfs_root: str = "/"  # prefix for /sys and /proc paths
    vcgencmd: str = "vcgencmd"
    tegrastats: str = "tegrastats"
    tegrastats_interval_ms: int = 100
    # External meter URL: tcp://HOST:PORT or serial:///dev/ttyUSB0?baud=115200 (a plain file or FIFO path
    # works too). None: no meter configured.
    meter: str | None = None
    command_timeout_s: float = 2.0  # one vcgencmd call; a hung command is killed
    # A streaming source (tegrastats, meter) with no line for this long is reported unavailable.
    stream_timeout_s: float = 2.0
    options: dict[str, str] = field(default_factory=dict)

    def path(self, kernel_path: str) -> str:
        """`/sys/...` under the configured root."""
        return os.path.join(self.sysfs_root, kernel_path.lstrip("/"))


@dataclass
class SensorInfo:
    """Mirrors protos edgebench.v1.SensorInfo field for field."""

    name: str
    kind: str
    unit: str
    available: bool = True
    reason: str = ""  # why not available: "missing: /sys/...", "permission denied: ...", ...
    rails: list[str] = field(default_factory=list)
    max_rate_hz: float = 0.0  # 0 when unknown
    source: str = ""  # path or command it reads
    note: str = ""  # caveats a reader of the numbers must see

    def to_proto_fields(self) -> dict[str, Any]:
        """Keyword arguments for `agent_pb2.SensorInfo(**fields)`."""
        return {
            "name": self.name,
            "kind": self.kind,
            "unit": self.unit,
            "available": self.available,
            "reason": self.reason,
            "rails": list(self.rails),
            "max_rate_hz": float(self.max_rate_hz),
            "source": self.source,
            "note": self.note,
        }


def absent(name: str, kind: str, unit: str, reason: str, source: str = "") -> SensorInfo:
    return SensorInfo(name=name, kind=kind, unit=unit, available=False, reason=reason, source=source)


@dataclass(slots=True)  # thousands are kept per job: no per-instance __dict__
class Reading:
    """One sample of one sensor.

    `values` holds the rails that could be read, in the sensor's unit; a rail that could not is in
    `missing` with the reason, never in `values` as 0. `reason` is set when the sample's headline figure
    (the total for power, every value otherwise) is unavailable.
    """

    t_ns: int  # CLOCK_MONOTONIC ns at the middle of the read (or the arrival of a streamed line)
    values: dict[str, float] = field(default_factory=dict)
    total: float | None = None  # board / device total in the sensor's unit (W), None when not measured
    # Counter sources (RAPL, NVML): the raw cumulative counter per rail in its native unit (uJ, mJ), and
    # the total's energy in J accumulated since the sensor started, wrap-arounds already unfolded.
    counters: dict[str, int] = field(default_factory=dict)
    energy_j: float | None = None
    # energy_j values compare only within one epoch: a counter that reset, or wrapped with no known range,
    # starts a new one (the energy across that step is unknown, not zero).
    epoch: int = 0
    missing: dict[str, str] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)  # auxiliary figures, unit in the key ("EXT5V_V")
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


@dataclass
class Trace:
    """The readings of one sensor over a time span, oldest first, with what the sensor is."""

    info: SensorInfo
    readings: list[Reading]
    fallback: bool = False  # a cross-check source (tegrastats): used only when no direct source exists


class Sensor(ABC):
    """One source. `read()` is called from one sampler thread at a time."""

    info: SensorInfo
    # Streaming sources (a process or a meter pushing lines) buffer what arrives: `drain()` hands over
    # every reading since the last call so the sampler keeps the source's full rate.
    streaming: bool = False
    # A cross-check, not a measurement of record (tegrastats next to the INA3221 files it reads).
    fallback: bool = False
    # The rate at which the source itself refreshes (a chip's update_interval): sampling faster only reads
    # the same value again. None where reads are the limit (a command's run time limits itself).
    rate_limit_hz: float | None = None
    # A read that runs a command (tens of ms): it gets a thread of its own so it never delays the quick
    # sysfs sources, which share one thread per rate (fewer wake-ups next to the timed loop).
    blocking: bool = False

    @property
    def name(self) -> str:
        return self.info.name

    def start(self) -> None:  # noqa: B027 (an optional hook)
        """Begin streaming (processes, sockets). Polled sources need nothing."""

    def stop(self) -> None:  # noqa: B027 (an optional hook)
        """End streaming so an idle agent costs nothing; `start()` may be called again."""

    @abstractmethod
    def read(self) -> Reading:
        """One sample now. Never raises: an unreadable sample carries its reason."""

    def drain(self) -> list[Reading]:
        return [self.read()]

    def close(self) -> None:  # noqa: B027 (an optional hook)
        """Release files, processes and sockets. Safe to call twice."""


@dataclass
class Discovery:
    """What one source module found and what it looked for in vain (with the reason)."""

    found: list[Sensor] = field(default_factory=list)
    absent: list[SensorInfo] = field(default_factory=list)

    def extend(self, other: Discovery) -> None:
        self.found.extend(other.found)
        self.absent.extend(other.absent)


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name-2`, `name-3`, ... when two rails or sensors share a label."""
    if name not in taken:
        taken.add(name)
        return name
    for i in range(2, 10_000):
        candidate = f"{name}-{i}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise ValueError(f"too many sensors named {name}")
