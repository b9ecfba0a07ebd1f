"""The nightly job as cron would start it: `schedule install --cron` prints a line, and the line itself is run by
`sh -c` in cron's bare environment, against a real agent and a real store (SQLite, and a PostgreSQL whose role
needs its password). Nothing may be missing at 2 AM: not the log's folder, not the store, not the password."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from edgebench.controller.store import open_store
from tests.conftest import ROOT
from tests.e2e.test_regress import SUITE, fleet
from tests.store import fixtures as store_fixtures

pg_server = store_fixtures.pg_server
PASSWORD = "n1ght$ly pw/%"  # a $, a space, a slash and a percent sign: each would break a naive quoting


@pytest.fixture(params=["sqlite", "postgresql-password"])
def nightly_store(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'store' / 'results.sqlite'}"
    server = request.getfixturevalue("pg_server")
    url = server.create_password_database("nightly", PASSWORD)
    wrong = url.replace(url.split(":")[2].split("@")[0], "wrong")
    deadline = time.monotonic() + 20
    while True:  # the server reloads its pg_hba.conf asynchronously: wait until the password is checked
        try:
            psycopg.connect(wrong, connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            assert "password authentication failed" in str(exc)
            break
        assert time.monotonic() < deadline, "the role's password is not checked: the test would prove nothing"
        time.sleep(0.2)
    return url


def _install_env(tmp_path: Path, store: str) -> dict[str, str]:
    """The installing user's shell: the store in $EDGEBENCH_DB, folders of its own (the data folder not made
    yet, as on a new machine), the test session's zoo cache."""
    return {**os.environ, "EDGEBENCH_DB": store, "EDGEBENCH_DATA_DIR": str(tmp_path / "data"),
            "EDGEBENCH_CONFIG_DIR": str(tmp_path / "config")}


def test_the_printed_cron_line_runs_the_night(agent, tmp_path, nightly_store):
    boards = fleet(tmp_path, ("board-a", agent.address))
    (tmp_path / "nightly.toml").write_text(SUITE)
    proc = subprocess.run([sys.executable, "-m", "edgebench.controller.cli", "schedule", "install", "--at", "02:00",
                           "--fleet", str(boards), "--suite", str(tmp_path / "nightly.toml"), "--cron"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=_install_env(tmp_path, nightly_store))
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert PASSWORD not in line and quote(PASSWORD, safe="") not in line and "--db" not in line
    assert "postgresql://" not in line and "sqlite://" not in line
    assert not (tmp_path / "data").exists()  # the log's folder does not exist yet: the line must make it
    command = line.split(" ", 5)[5].replace("\\%", "%")  # what cron hands to sh, % unescaped
    home = tmp_path / "home"
    home.mkdir()
    # cron's environment: HOME, LOGNAME, SHELL and a bare PATH, nothing of ours.
    cron_env = {"HOME": str(home), "LOGNAME": "nightly", "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"}
    night = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=600, env=cron_env,
                           cwd=home)
    log = tmp_path / "data" / "regress" / "regress.log"
    assert log.is_file(), night.stderr
    text = log.read_text()
    assert night.returncode == 0, text + night.stderr
    assert "regress session 1" in text and "1 passed" in text, text
    junit = ET.parse(tmp_path / "data" / "regress" / "junit.xml").getroot()
    assert junit.get("tests") == "1" and junit.get("failures") == "0" and junit.get("errors") == "0"
    assert (tmp_path / "data" / "regress" / "report.html").read_text().startswith("<!DOCTYPE html>")
    with open_store(nightly_store) as store:  # the store the shell named, the password and all
        [session] = store.sessions("regress")
        assert session.status == "ok" and store.count() == 1


def test_the_units_name_the_store_file_and_systemd_accepts_them(tmp_path, nightly_store):
    from tests.store.test_schedule import EXAMPLES, _verify

    proc = subprocess.run([sys.executable, "-m", "edgebench.controller.cli", "schedule", "install", "--at", "02:00",
                           "--fleet", str(EXAMPLES / "fleet.toml"), "--suite", str(EXAMPLES / "nightly.toml"),
                           "--unit-dir", str(tmp_path / "units")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=_install_env(tmp_path, nightly_store))
    assert proc.returncode == 0, proc.stderr
    units = sorted((tmp_path / "units").iterdir())
    assert [u.name for u in units] == ["edgebench-nightly.service", "edgebench-nightly.timer"]
    env_file = tmp_path / "config" / "nightly" / "edgebench-nightly.env"
    assert f"EnvironmentFile={env_file}" in units[0].read_text()
    assert all(quote(PASSWORD, safe="") not in u.read_text() and "--db" not in u.read_text() for u in units)
    assert f"EDGEBENCH_DB='{nightly_store}'" in env_file.read_text()
    _verify(*units)
