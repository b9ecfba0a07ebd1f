"""`controller schedule install`: run `controller regress` every night, as a systemd service + timer (user or
system units) or as a crontab line. The fleet and suite files are checked now, not at 2 AM.

The job takes the results store (and the data, config and cache folders) from where the installing shell
takes them: --db, else $EDGEBENCH_DB, else the default SQLite file. Those go into an environment file that
only its owner can read (0600), which the unit names (EnvironmentFile=) and the crontab line sources: a
store password never appears in a unit, a crontab or a process list.
"""
from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .atomic_write import write_atomic
from .errors import ControllerError
from .paths import CACHE_DIR_ENV, CONFIG_DIR_ENV, DATA_DIR_ENV, cache_dir, config_dir, data_dir
from .regress.config import load_fleet, load_suite
from .store import DB_ENV, resolve_url

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
    env_file: str  # 0600: the store URL (maybe with a password) and the folders, read by the job
    env: dict[str, str] = field(default_factory=dict)

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
# The store and the folders, as the installing shell had them (0600: the store URL may hold a password).
EnvironmentFile={_systemd_path(s.env_file)}
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


def _systemd_path(path: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_@+=:,./\-]+", path):
        raise ControllerError(f"the environment file's path {path!r} has characters a unit cannot name plainly: "
                              "set EDGEBENCH_CONFIG_DIR to a plain path")
    return path


def cron_line(s: Schedule) -> str:
    # cron runs `sh -c` with a bare environment: make the log's folder, read the environment file (exported),
    # then run. cron treats % as a newline: escape it.
    log_dir = str(Path(s.log).parent)
    command = (f"mkdir -p {shlex.quote(log_dir)} && set -a && . {shlex.quote(s.env_file)} && set +a && "
               f"cd {shlex.quote(s.workdir)} && {shlex.join(s.argv)} >> {shlex.quote(s.log)} 2>&1")
    return f"{s.minute} {s.hour} * * * {command.replace('%', chr(92) + '%')}"


def env_file_text(env: dict[str, str], masked: bool = False) -> str:
    """KEY='value' lines: read the same by sh (`set -a; . FILE`) and by systemd's EnvironmentFile= (single
    quotes are literal in both; a value may therefore hold no single quote)."""
    lines = ["# edgebench nightly: the job's store and folders (written by controller schedule install)"]
    for key, value in env.items():
        if masked and key == DB_ENV:
            value = str(resolve_url(value))
        lines.append(f"{key}='{value}'")
    return "\n".join(lines) + "\n"


def _job_env(db: str | None) -> dict[str, str]:
    """What the installing shell's controller would use: --db, else $EDGEBENCH_DB, else the default file; the
    folders resolved now (a system unit runs as another user, with other defaults)."""
    url = resolve_url(db)  # a bad URL is reported now
    env = {DB_ENV: url.target if url.kind == "postgresql" else f"sqlite://{url.target}",
           DATA_DIR_ENV: str(data_dir().resolve()), CONFIG_DIR_ENV: str(config_dir().resolve()),
           CACHE_DIR_ENV: str(cache_dir().resolve())}
    for key, value in env.items():
        if "'" in value or "\n" in value or "\r" in value:
            what = "the store URL" if key == DB_ENV else f"${key}"
            raise ControllerError(f"{what} holds a quote or a line break, which the job's environment file "
                                  "cannot carry: percent-encode it in the URL (' is %27)")
    return env


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
    env = _job_env(opts.db)
    argv = [sys.executable, "-m", "edgebench.controller.cli", "regress", "--fleet", str(Path(opts.fleet).resolve()),
            "--suite", str(Path(opts.suite).resolve()), "--junit", junit, "--html", html]
    if opts.baseline:
        argv += ["--baseline", opts.baseline]
    for key, value in opts.labels:
        argv += ["--label", f"{key}={value}"]
    env_file = str(config_dir().resolve() / "nightly" / f"{opts.name}.env")
    return Schedule(opts.name, hour, minute, argv, str(Path.cwd()), str(out_dir / "regress.log"), env_file, env)


def unit_files(s: Schedule) -> dict[str, str]:
    return {f"{s.name}.service": service_unit(s), f"{s.name}.timer": timer_unit(s)}


def write_env_file(s: Schedule) -> Path:
    """The job's environment file, 0600 (the temp file it is written through is 0600 too)."""
    return write_atomic(s.env_file, env_file_text(s.env), mode=0o600)


def install_units(s: Schedule, directory: Path) -> list[Path]:
    """Write the environment file, the service and the timer (atomically) and make the folder of the log."""
    directory.mkdir(parents=True, exist_ok=True)
    Path(s.log).parent.mkdir(parents=True, exist_ok=True)
    written = [write_env_file(s)]
    for name, text in unit_files(s).items():
        written.append(write_atomic(directory / name, text))
    return written
