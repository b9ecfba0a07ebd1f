"""Running a board command (vcgencmd) with a time limit, every failure turned into a reason."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass


@dataclass
class CommandResult:
    stdout: str
    reason: str  # "" when the command ran and exited 0
    duration_s: float

    @property
    def ok(self) -> bool:
        return not self.reason


def resolve(command: str) -> str | None:
    """Absolute path of a command name or path, None when there is no such executable."""
    return shutil.which(command)


def run_command(argv: list[str], timeout_s: float) -> CommandResult:
    t0 = time.monotonic()
    exe = resolve(argv[0])
    if exe is None:
        return CommandResult("", f"command not found: {argv[0]}", 0.0)
    try:
        # A session of its own, so a timeout kills the command and anything it started.
        proc = subprocess.Popen([exe, *argv[1:]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True)
    except PermissionError:
        return CommandResult("", f"permission denied: {exe}", time.monotonic() - t0)
    except OSError as err:
        return CommandResult("", f"cannot run {exe}: {err.strerror or err}", time.monotonic() - t0)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return CommandResult("", f"timed out after {timeout_s:g} s: {' '.join(argv)}", time.monotonic() - t0)
    duration = time.monotonic() - t0
    if proc.returncode != 0:
        detail = (stderr.strip() or stdout.strip()).splitlines()
        first = detail[0][:200] if detail else ""
        return CommandResult(stdout, f"command error (exit {proc.returncode}): {' '.join(argv)}: {first}",
                             duration)
    return CommandResult(stdout, "", duration)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=1.0)  # reap it; its pipes close with the group
    except subprocess.TimeoutExpired:
        pass
