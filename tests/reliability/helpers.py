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
    return [p for p in state.rglob("*") if p.name.endswith((".tmp", ".part"))]


def wait_until(predicate, timeout_s: float, what: str, poll_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


class LoggedAgent:
    """A real agent process whose stderr (its log) goes to a file the test reads."""

    def __init__(self, state: Path, log: Path, *extra: str) -> None:
        import subprocess
        import sys

        self.state_dir, self.log_path = Path(state), log
        self._log = open(log, "ab")  # noqa: SIM115 - open for the agent's lifetime
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edgebench.agent.cli", "--listen", "127.0.0.1:0", "--state-dir", str(state),
             *QUIET, *extra], stdout=subprocess.PIPE, stderr=self._log, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.stop()
            raise AssertionError(f"the agent did not start: {self.log()[-500:]}")
        self.port = int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except Exception:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self._log.close()

    def __enter__(self) -> LoggedAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
