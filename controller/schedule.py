"""`controller schedule install`: run `controller regress` every night, as a systemd service + timer (user or
system units) or as a crontab line. The fleet and suite files are checked now, not at 2 AM."""
from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .atomic_write import write_atomic
from .errors import ControllerError
from .paths import data_dir
from .regress.config import load_fleet, load_suite
from .store import resolve_url

_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass
class ScheduleOptions:
    """What `controller schedule install` was asked for."""

    at: str  # HH:MM, local time
    fleet: str
    suite: str
    name: str = "edgebench-nightly"
    db: str | None = None
    junit: str | None = None
    html: str | None = None
    baseline: str | None = None
    labels: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Schedule:
    name: str
    hour: int
    minute: int
    argv: list[str]
    workdir: str
    log: str

    @property
    def on_calendar(self) -> str:
        return f"*-*-* {self.hour:02d}:{self.minute:02d}:00"


def parse_at(text: str) -> tuple[int, int]:
    m = _AT.match(text.strip())
    if not m:
        raise ControllerError(f"--at takes a time of day as HH:MM (24 h), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _systemd_quote(arg: str) -> str:
    # systemd expands % specifiers and $ variables in ExecStart: double them; quote anything with spaces.
    arg = arg.replace("%", "%%").replace("$", "$$")
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./\-$]+", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def service_unit(s: Schedule) -> str:
    exec_start = " ".join(_systemd_quote(a) for a in s.argv)
    return f"""[Unit]
Description=edgebench nightly regressions ({s.name})
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory={s.workdir}
Environment=PYTHONUNBUFFERED=1
# Exit status 1 means a regression or an unreachable board: the unit shows as failed, so OnFailure= alerting works.
ExecStart={exec_start}
TimeoutStartSec=6h
"""


def timer_unit(s: Schedule) -> str:
    return f"""[Unit]
Description=Run edgebench nightly regressions ({s.name}) at {s.hour:02d}:{s.minute:02d}

[Timer]
OnCalendar={s.on_calendar}
# A night missed while the host was off runs at the next boot.
Persistent=true
Unit={s.name}.service

[Install]
WantedBy=timers.target
"""


def cron_line(s: Schedule) -> str:
    # cron treats % as a newline: escape it.
    command = f"cd {shlex.quote(s.workdir)} && {shlex.join(s.argv)} >> {shlex.quote(s.log)} 2>&1"
    return f"{s.minute} {s.hour} * * * {command.replace('%', chr(92) + '%')}"


def unit_dir(system: bool) -> Path:
    if system:
        return Path("/etc/systemd/system")
    config = os.environ.get("XDG_CONFIG_HOME")
    return (Path(config) if config else Path.home() / ".config") / "systemd" / "user"


def build_schedule(opts: ScheduleOptions) -> Schedule:
    hour, minute = parse_at(opts.at)
    if not _NAME.match(opts.name):
        raise ControllerError(f"--name must be a unit name of letters, digits, '_', '.', '-', got {opts.name!r}")
    load_fleet(opts.fleet)  # a mistake in either file is reported now
    load_suite(opts.suite)
    out_dir = data_dir() / "regress"
    junit = str(Path(opts.junit).resolve()) if opts.junit else str(out_dir / "junit.xml")
    html = str(Path(opts.html).resolve()) if opts.html else str(out_dir / "report.html")
    # The store is named explicitly: a system unit runs as another user, with another default data dir.
    db_arg = opts.db or f"sqlite://{resolve_url(None).target}"
    argv = [sys.executable, "-m", "edgebench.controller.cli", "regress", "--fleet", str(Path(opts.fleet).resolve()),
            "--suite", str(Path(opts.suite).resolve()), "--db", db_arg, "--junit", junit, "--html", html]
    if opts.baseline:
        argv += ["--baseline", opts.baseline]
    for key, value in opts.labels:
        argv += ["--label", f"{key}={value}"]
    return Schedule(opts.name, hour, minute, argv, str(Path.cwd()), str(out_dir / "regress.log"))


def unit_files(s: Schedule) -> dict[str, str]:
    return {f"{s.name}.service": service_unit(s), f"{s.name}.timer": timer_unit(s)}


def install_units(s: Schedule, directory: Path) -> list[Path]:
    """Write the service and the timer (atomically) and make the folder of the log."""
    directory.mkdir(parents=True, exist_ok=True)
    Path(s.log).parent.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in unit_files(s).items():
        written.append(write_atomic(directory / name, text))
    return written
