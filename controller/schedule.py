"""`controller schedule install`: run `controller regress` every night, as a systemd service + timer (user or
system units) or as a crontab line. The fleet and suite files are checked now, not at 2 AM."""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from .atomic_write import write_atomic
from .errors import ControllerError
from .store import default_data_dir, resolve_url

_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


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


def build_schedule(args: argparse.Namespace) -> Schedule:
    from .regress.config import load_fleet, load_suite

    hour, minute = parse_at(args.at)
    if not _NAME.match(args.name):
        raise ControllerError(f"--name must be a unit name of letters, digits, '_', '.', '-', got {args.name!r}")
    load_fleet(args.fleet)  # a mistake in either file is reported now
    load_suite(args.suite)
    out_dir = default_data_dir() / "regress"
    junit = str(Path(args.junit).resolve()) if args.junit else str(out_dir / "junit.xml")
    html = str(Path(args.html).resolve()) if args.html else str(out_dir / "report.html")
    # The store is named explicitly: a system unit runs as another user, with another default data dir.
    db_arg = args.db or f"sqlite://{resolve_url(None).target}"
    argv = [sys.executable, "-m", "edgebench.controller.cli", "regress", "--fleet", str(Path(args.fleet).resolve()),
            "--suite", str(Path(args.suite).resolve()), "--db", db_arg, "--junit", junit, "--html", html]
    if args.baseline:
        argv += ["--baseline", args.baseline]
    for key, value in args.label:
        argv += ["--label", f"{key}={value}"]
    return Schedule(args.name, hour, minute, argv, str(Path.cwd()), str(out_dir / "regress.log"))


def cmd_schedule_install(args: argparse.Namespace) -> int:
    s = build_schedule(args)
    if args.cron:
        print(cron_line(s))
        print("# add it with: (crontab -l 2>/dev/null; echo '<the line above>') | crontab -", file=sys.stderr)
        return 0
    files = {f"{s.name}.service": service_unit(s), f"{s.name}.timer": timer_unit(s)}
    if args.dry_run:
        for name, text in files.items():
            print(f"# {name}\n{text}")
        return 0
    directory = Path(args.unit_dir) if args.unit_dir else unit_dir(args.system)
    directory.mkdir(parents=True, exist_ok=True)
    Path(s.log).parent.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        write_atomic(directory / name, text)
        print(f"wrote {directory / name}")
    scope = "" if args.system else "--user "
    print(f"enable it with: systemctl {scope}daemon-reload && systemctl {scope}enable --now {s.name}.timer")
    if not args.system:
        print("(user timers run while you are logged out only with: loginctl enable-linger $USER)")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from .store_cli import add_db_arg, parse_label

    p = sub.add_parser("schedule", help="run regress nightly (systemd timer or cron)")
    ssub = p.add_subparsers(dest="schedule_command", required=True)
    i = ssub.add_parser("install", help="write a systemd service + timer (or print a crontab line)",
                        description="Write a systemd service and timer that run `controller regress` every day "
                                    "at --at, or print the crontab line with --cron.")
    i.add_argument("--at", required=True, help="time of day, HH:MM (24 h, local time)")
    i.add_argument("--fleet", required=True)
    i.add_argument("--suite", required=True)
    add_db_arg(i)
    i.add_argument("--junit", help="JUnit XML to write each night (default: DATA_DIR/regress/junit.xml)")
    i.add_argument("--html", help="HTML report to write each night (default: DATA_DIR/regress/report.html)")
    i.add_argument("--baseline", help="passed to regress --baseline")
    i.add_argument("--label", type=parse_label, action="append", default=[], metavar="KEY=VALUE")
    i.add_argument("--name", default="edgebench-nightly", help="unit name (default edgebench-nightly)")
    where = i.add_mutually_exclusive_group()
    where.add_argument("--system", action="store_true", help="system units in /etc/systemd/system (root)")
    where.add_argument("--unit-dir", help="write the units to this directory")
    where.add_argument("--cron", action="store_true", help="print a crontab line instead of systemd units")
    i.add_argument("--dry-run", action="store_true", help="print the units, write nothing")
    i.set_defaults(func=cmd_schedule_install)
