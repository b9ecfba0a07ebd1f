"""`controller schedule install`: run `controller regress` every night (systemd service + timer, or cron)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..schedule import (
    ScheduleOptions,
    build_schedule,
    cron_line,
    env_file_text,
    install_units,
    unit_dir,
    unit_files,
    write_env_file,
)
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("schedule", help="run regress nightly (systemd timer or cron)")
    ssub = p.add_subparsers(dest="schedule_command", required=True)
    i = ssub.add_parser("install", help="write a systemd service + timer (or print a crontab line)",
                        description="Write a systemd service and timer that run `controller regress` every day "
                                    "at --at, or print the crontab line with --cron.")
    i.add_argument("--at", required=True, help="time of day, HH:MM (24 h, local time)")
    i.add_argument("--fleet", required=True)
    i.add_argument("--suite", required=True)
    options.add_db_arg(i)
    i.add_argument("--junit", help="JUnit XML to write each night (default: DATA_DIR/regress/junit.xml)")
    i.add_argument("--html", help="HTML report to write each night (default: DATA_DIR/regress/report.html)")
    i.add_argument("--baseline", help="passed to regress --baseline")
    options.add_label_arg(i)
    i.add_argument("--name", default="edgebench-nightly", help="unit name (default edgebench-nightly)")
    where = i.add_mutually_exclusive_group()
    where.add_argument("--system", action="store_true", help="system units in /etc/systemd/system (root)")
    where.add_argument("--unit-dir", help="write the units to this directory")
    where.add_argument("--cron", action="store_true", help="print a crontab line instead of systemd units")
    i.add_argument("--dry-run", action="store_true", help="print the environment file and the units (or the "
                                                            "crontab line), write nothing")
    i.set_defaults(run=run_install)


def run_install(args: argparse.Namespace) -> int:
    s = build_schedule(ScheduleOptions(at=args.at, fleet=args.fleet, suite=args.suite, name=args.name, db=args.db,
                                       junit=args.junit, html=args.html, baseline=args.baseline,
                                       labels=list(args.label)))
    if args.dry_run:
        print(f"# {s.env_file} (0600; the store's password masked here)\n{env_file_text(s.env, masked=True)}")
        if args.cron:
            print(cron_line(s))
            return 0
        for name, text in unit_files(s).items():
            print(f"# {name}\n{text}")
        return 0
    if args.cron:
        path = write_env_file(s)
        print(cron_line(s))
        print(f"# wrote {path} (0600): the job's store and folders, sourced by the line above", file=sys.stderr)
        print("# add it with: (crontab -l 2>/dev/null; echo '<the line above>') | crontab -", file=sys.stderr)
        return 0
    for path in install_units(s, Path(args.unit_dir) if args.unit_dir else unit_dir(args.system)):
        print(f"wrote {path}")
    scope = "" if args.system else "--user "
    print(f"enable it with: systemctl {scope}daemon-reload && systemctl {scope}enable --now {s.name}.timer")
    if not args.system:
        print("(user timers run while you are logged out only with: loginctl enable-linger $USER)")
    return 0
