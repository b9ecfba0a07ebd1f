"""schedule install: systemd units that systemd itself accepts (systemd-analyze verify, where present), the
dry run, the crontab line, and bad input."""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_controller

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASE = ("schedule", "install", "--fleet", str(EXAMPLES / "fleet.toml"), "--suite", str(EXAMPLES / "nightly.toml"))


def test_units_are_written_and_systemd_accepts_them(tmp_path):
    proc = run_controller(*BASE, "--at", "02:00", "--unit-dir", str(tmp_path), "--db", "sqlite:///srv/r.sqlite",
                          "--label", "owner=ml team%1", check_rc=0)
    service, timer = tmp_path / "edgebench-nightly.service", tmp_path / "edgebench-nightly.timer"
    assert f"wrote {service}" in proc.stdout and "systemctl --user enable --now edgebench-nightly.timer" in proc.stdout
    text = service.read_text()
    assert "Type=oneshot" in text and "OnCalendar=*-*-* 02:00:00" in timer.read_text()
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))[len("ExecStart="):]
    assert exec_start.startswith(f"{sys.executable} -m edgebench.controller.cli regress --fleet {EXAMPLES / 'fleet.toml'}")
    assert "--db sqlite:///srv/r.sqlite" in exec_start and "--junit " in exec_start and "--html " in exec_start
    assert '"owner=ml team%%1"' in exec_start  # quoted, % doubled for systemd
    assert "Persistent=true" in timer.read_text() and "WantedBy=timers.target" in timer.read_text()
    if shutil.which("systemd-analyze"):
        check = subprocess.run(["systemd-analyze", "verify", str(service), str(timer)], capture_output=True,
                               text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "Unknown" not in check.stderr and "ignoring" not in check.stderr, check.stderr


def test_systemd_analyze_catches_a_broken_unit_here(tmp_path):
    """The check above can fail: the same tool refuses a broken timer."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed: the unit contents are checked above instead")
    (tmp_path / "x.timer").write_text("[Timer]\nOnCalendar=*-*-* 25:00:00\n")
    check = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "x.timer")], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode != 0


def test_dry_run_prints_and_writes_nothing(tmp_path):
    proc = run_controller(*BASE, "--at", "23:45", "--dry-run", "--unit-dir", str(tmp_path), check_rc=0)
    assert "# edgebench-nightly.service" in proc.stdout and "OnCalendar=*-*-* 23:45:00" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_cron_line(tmp_path):
    proc = run_controller(*BASE, "--at", "2:05", "--cron", "--label", "x=50%", check_rc=0)
    line = proc.stdout.strip()
    minute, hour, dom, month, dow, command = line.split(" ", 5)
    assert (minute, hour, dom, month, dow) == ("5", "2", "*", "*", "*")
    assert "\\%" in command and "regress --fleet" in command and ">> " in command
    argv = shlex.split(command.replace("\\%", "%").split(" && ", 1)[1].split(" >> ")[0])
    assert argv[:4] == [sys.executable, "-m", "edgebench.controller.cli", "regress"] and argv[-1] == "x=50%"


@pytest.mark.parametrize("args, message", [
    (("--at", "25:00"), "--at takes a time of day as HH:MM"),
    (("--at", "02:00", "--name", "bad name"), "--name must be a unit name"),
])
def test_bad_input(args, message):
    proc = run_controller(*BASE, *args, "--dry-run", check_rc=2)
    assert message in proc.stderr


def test_a_bad_suite_is_reported_at_install_time(tmp_path):
    (tmp_path / "s.toml").write_text('[[benchmarks]]\nmodel = "gone.onnx"\n')
    proc = run_controller("schedule", "install", "--at", "02:00", "--fleet", str(EXAMPLES / "fleet.toml"),
                          "--suite", str(tmp_path / "s.toml"), "--dry-run", check_rc=2)
    assert "s.toml: [[benchmarks]] #1: key 'model': model file not found: gone.onnx" in proc.stderr
