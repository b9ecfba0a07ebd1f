"""schedule install: systemd units that systemd itself accepts (systemd-analyze verify, where present), the
dry run, the crontab line, and bad input."""
from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_controller

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASE = ("schedule", "install", "--fleet", str(EXAMPLES / "fleet.toml"), "--suite", str(EXAMPLES / "nightly.toml"))


def _verify(*units: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze is not installed: ./scripts/system-deps.sh installs systemd")
    check = subprocess.run(["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Unknown" not in check.stderr and "ignoring" not in check.stderr, check.stderr


def install(*args: str, env: dict[str, str] | None = None, rc: int = 0) -> subprocess.CompletedProcess:
    """`controller schedule install` with the given environment on top of ours (the installing shell's)."""
    proc = subprocess.run([sys.executable, "-m", "edgebench.controller.cli", "schedule", "install", *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, **(env or {})})
    assert proc.returncode == rc, proc.stdout + proc.stderr
    return proc


def test_units_are_written_and_systemd_accepts_them(tmp_path):
    config = tmp_path / "config"
    proc = install(*BASE[2:], "--at", "02:00", "--unit-dir", str(tmp_path), "--db", "sqlite:///srv/r.sqlite",
                   "--label", "owner=ml team%1", env={"EDGEBENCH_CONFIG_DIR": str(config)})
    service, timer = tmp_path / "edgebench-nightly.service", tmp_path / "edgebench-nightly.timer"
    env_file = config / "nightly" / "edgebench-nightly.env"
    assert f"wrote {service}" in proc.stdout and "systemctl --user enable --now edgebench-nightly.timer" in proc.stdout
    text = service.read_text()
    assert "Type=oneshot" in text and "OnCalendar=*-*-* 02:00:00" in timer.read_text()
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))[len("ExecStart="):]
    assert exec_start.startswith(f"{sys.executable} -m edgebench.controller.cli regress --fleet {EXAMPLES / 'fleet.toml'}")
    assert "--db" not in exec_start and "--junit " in exec_start and "--html " in exec_start
    assert f"EnvironmentFile={env_file}" in text.splitlines()
    assert "EDGEBENCH_DB='sqlite:///srv/r.sqlite'" in env_file.read_text().splitlines()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert '"owner=ml team%%1"' in exec_start  # quoted, % doubled for systemd
    assert "Persistent=true" in timer.read_text() and "WantedBy=timers.target" in timer.read_text()
    _verify(service, timer)


def test_the_store_comes_from_the_shell_and_its_password_stays_out_of_units_and_crontab(tmp_path):
    """The issue's case: $EDGEBENCH_DB names a PostgreSQL with a password. The job uses that store (not
    `sqlite://postgresql://...`), and the password is only in the 0600 environment file."""
    secret = "s3cr$t-9x"
    url = f"postgresql://bench:{secret}@db.example.internal:5432/edgebench"
    env = {"EDGEBENCH_DB": url, "EDGEBENCH_CONFIG_DIR": str(tmp_path / "config")}
    install(*BASE[2:], "--at", "03:10", "--unit-dir", str(tmp_path / "units"), env=env)
    cron = install(*BASE[2:], "--at", "03:10", "--cron", env=env)
    dry = install(*BASE[2:], "--at", "03:10", "--dry-run", env=env)
    env_file = tmp_path / "config" / "nightly" / "edgebench-nightly.env"
    written = [*(tmp_path / "units").iterdir()]
    for text in [p.read_text() for p in written] + [cron.stdout, cron.stderr, dry.stdout]:
        assert secret not in text and "sqlite://postgresql" not in text
    assert "bench:***@db.example.internal" in dry.stdout  # shown, masked
    assert f"EDGEBENCH_DB='{url}'" in env_file.read_text().splitlines()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    # sh reads the file back exactly ($ and all), as the crontab line does.
    echoed = subprocess.run(["sh", "-c", 'set -a && . "$1" && set +a && printf %s "$EDGEBENCH_DB"', "sh",
                             str(env_file)], capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert echoed.stdout == url
    _verify(*written)


def test_a_store_url_that_cannot_be_carried_is_refused(tmp_path):
    proc = install(*BASE[2:], "--at", "03:10", "--dry-run", "--db", "postgresql://u:it's@h/db", rc=2)
    assert "percent-encode it" in proc.stderr


def test_systemd_analyze_catches_a_broken_unit_here(tmp_path):
    """The check above can fail: the same tool refuses a broken timer."""
    (tmp_path / "x.timer").write_text("[Timer]\nOnCalendar=*-*-* 25:00:00\n")
    check = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "x.timer")], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode != 0


def test_dry_run_prints_and_writes_nothing(tmp_path):
    proc = install(*BASE[2:], "--at", "23:45", "--dry-run", "--unit-dir", str(tmp_path / "units"),
                   env={"EDGEBENCH_CONFIG_DIR": str(tmp_path / "config")})
    assert "# edgebench-nightly.service" in proc.stdout and "OnCalendar=*-*-* 23:45:00" in proc.stdout
    assert "EDGEBENCH_DB='sqlite://" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_cron_line(tmp_path):
    proc = install(*BASE[2:], "--at", "2:05", "--cron", "--label", "x=50%",
                   env={"EDGEBENCH_CONFIG_DIR": str(tmp_path)})
    line = proc.stdout.strip()
    minute, hour, dom, month, dow, command = line.split(" ", 5)
    assert (minute, hour, dom, month, dow) == ("5", "2", "*", "*", "*")
    assert "\\%" in command and "regress --fleet" in command and ">> " in command
    assert command.startswith("mkdir -p ") and f". {tmp_path / 'nightly' / 'edgebench-nightly.env'} " in command
    argv = shlex.split(command.replace("\\%", "%").split(" && ")[-1].split(" >> ")[0])
    assert argv[:4] == [sys.executable, "-m", "edgebench.controller.cli", "regress"] and argv[-1] == "x=50%"
    assert "--db" not in argv


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
