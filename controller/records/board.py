"""A board as the controller knows it: the `board` object of every run record, and the fuller self-description
(runtimes, sensors) the agent's Describe gives. Built from the wire message in link/board.py."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Board:
    """The `board` object of a run record (`bench --json`)."""

    model: str = ""
    soc: str = ""
    hostname: str = ""
    machine: str = ""
    os: str = ""
    cpu_count: int = 0
    memory_total_mb: int = 0
    governor: str | None = None
    fingerprint: str = ""
    agent_version: str = ""


@dataclass(frozen=True)
class RuntimeInfo:
    name: str
    version: str
    available: bool
    reason: str = ""
    execution_providers: list[str] = field(default_factory=list)
    package: str = ""


@dataclass(frozen=True)
class SensorInfo:
    name: str
    kind: str
    available: bool
    reason: str = ""


@dataclass
class BoardDescription:
    """What an agent says about itself and its board."""

    board: Board
    api_version: int
    python_version: str
    kernel: str
    memory_total_bytes: int
    runtimes: list[RuntimeInfo] = field(default_factory=list)
    sensors: list[SensorInfo] = field(default_factory=list)
    as_json: str = ""  # the reply in the contract's JSON form, as `deploy --json` writes it

    @property
    def available_sensors(self) -> list[str]:
        return [s.name for s in self.sensors if s.available]


@dataclass
class TargetStatus:
    """What one known target says about itself: a row of `controller targets` (its JSON keys are these
    fields); a failure is its `error` and `health`, never an exception."""

    target: str
    address: str
    auth: str
    health: str = "unreachable"
    agent_version: str | None = None
    board: str | None = None
    machine: str | None = None
    sensors: list[str] = field(default_factory=list)
    deployed_version: str | None = None
    service: str | None = None
    error: str | None = None
