"""Shared parts of the reliability tests: real agents on loopback, bounded in count and time."""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from edgebench.controller.link.local_agent import LocalAgent, start_local_agent

# Every agent here measures latency only: sensor discovery and idle baselines are not what is tested.
QUIET = ["--no-sensors"]


def scale(name: str, default: int) -> int:
    """CI sizes by default; EDGEBENCH_RELIABILITY_<NAME> runs the full size (e.g. 100 jobs per controller)."""
    return int(os.environ.get(f"EDGEBENCH_RELIABILITY_{name.upper()}", default))


def quiet_agent(state: Path | str | None = None, *extra: str) -> LocalAgent:
    return start_local_agent(str(state) if state is not None else None, [*QUIET, *extra])


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(state: Path) -> list[Path]:
    """Temp files that a crash or a full disk must never leave behind."""
    return [p for p in state.rglob("*") if p.name.endswith((".tmp", ".part")) and p.name != "worker_result.pb.tmp"]


def wait_until(predicate, timeout_s: float, what: str, poll_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
