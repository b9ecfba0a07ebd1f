"""Running a board command (vcgencmd) with a time limit, every failure turned into a reason."""
from __future__ import annotations

import shutil
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
        proc = subprocess.run(
            [exe, *argv[1:]],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return CommandResult("", f"timed out after {timeout_s:g} s: {' '.join(argv)}", time.monotonic() - t0)
    except PermissionError:
        return CommandResult("", f"permission denied: {exe}", time.monotonic() - t0)
    except OSError as err:
        return CommandResult("", f"cannot run {exe}: {err.strerror or err}", time.monotonic() - t0)
    duration = time.monotonic() - t0
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        first = detail[0][:200] if detail else ""
        return CommandResult(proc.stdout, f"command error (exit {proc.returncode}): {' '.join(argv)}: {first}",
                             duration)
    return CommandResult(proc.stdout, "", duration)
