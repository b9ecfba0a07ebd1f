"""The board-side files: install-agent.sh (package data of the controller, linked from scripts/) and the systemd unit."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgebench.controller.deploy.install_script import install_script
from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "install-agent.sh"
PACKAGED = ROOT / "controller" / "deploy" / "install-agent.sh"
UNIT = ROOT / "scripts" / "edgebench-agent.service"


def sh(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    return subprocess.run(["sh", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


def test_user_path_is_a_committed_link_to_the_packaged_script():
    # One file: scripts/install-agent.sh (what users run) links to the package data that deploy reads.
    assert SCRIPT.is_symlink() and SCRIPT.resolve() == PACKAGED.resolve() and not PACKAGED.is_symlink()
    tree = subprocess.run(["git", "ls-files", "-s", "scripts/install-agent.sh"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True).stdout
    assert tree.startswith("120000 "), tree  # git stores the link, not a second copy
    assert install_script() == SCRIPT.read_text()


def test_script_is_read_from_the_package_without_the_checkout(tmp_path):
    # Only the package's own files on sys.path (no site-packages, no editable finder, no checkout): what an
    # installed wheel has.
    pkg = tmp_path / "edgebench" / "controller" / "deploy"
    pkg.mkdir(parents=True)
    for rel in ("controller/__init__.py", "controller/deploy/__init__.py", "controller/deploy/install_script.py",
                "controller/deploy/install-agent.sh"):
        shutil.copyfile(ROOT / rel, tmp_path / "edgebench" / rel)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from edgebench.controller.deploy.install_script import install_script; print(install_script(), end='')")
    proc = subprocess.run([sys.executable, "-S", "-c", code, str(tmp_path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == PACKAGED.read_text()


def test_unit_file_is_the_one_the_script_installs(tmp_path):
    proc = sh("--print-unit", home=tmp_path)
    assert proc.returncode == 0 and proc.stdout == UNIT.read_text()


def render(template: str, prefix: Path, kind: str) -> str:
    """As install-agent.sh's render_unit does it (sed)."""
    text = template.replace("@PREFIX@", str(prefix))
    if kind == "system":
        return text.replace("@USER@", "root")
    lines = [ln for ln in text.splitlines() if not ln.startswith("User=")]
    return "\n".join("WantedBy=default.target" if ln.startswith("WantedBy=") else ln for ln in lines) + "\n"


@pytest.mark.parametrize("kind", ["system", "user"])
def test_unit_passes_systemd_analyze_verify(tmp_path, kind):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here (apt install systemd)")
    prefix = tmp_path / "prefix"
    agent = prefix / "current" / "bin" / "edgebench-agent"
    agent.parent.mkdir(parents=True)
    agent.write_text("#!/bin/sh\n")
    agent.chmod(0o755)
    (prefix / "agent.env").write_text('EDGEBENCH_AGENT_ARGS="--listen 0.0.0.0:47311"\n')
    unit = tmp_path / "edgebench-agent.service"
    unit.write_text(render(UNIT.read_text(), prefix, kind))
    proc = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # verify exits 0 even for settings it ignores, so its output must be empty too.
    assert proc.returncode == 0 and proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stderr


def test_script_syntax_and_usage(tmp_path):
    assert subprocess.run(["sh", "-n", str(SCRIPT)], timeout=30).returncode == 0
    assert "usage: install-agent.sh" in sh("--help", home=tmp_path).stdout
    proc = sh("--frobnicate", home=tmp_path)
    assert proc.returncode == 2 and "unknown option --frobnicate" in proc.stderr
    proc = sh("--offline", home=tmp_path)
    assert proc.returncode == 2 and "--offline needs --find-links" in proc.stderr
    proc = sh("--prefix", "relative/dir", home=tmp_path)
    assert proc.returncode == 2 and "absolute path" in proc.stderr
    proc = sh("--tls-cert", "x.pem", home=tmp_path)
    assert proc.returncode == 2 and "--tls-cert needs --tls-key" in proc.stderr


def test_probe_reports_the_board(tmp_path):
    proc = sh("--probe", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = dict(line[len("EDGEBENCH "):].split("=", 1) for line in proc.stdout.splitlines()
                  if line.startswith("EDGEBENCH "))
    assert report["prefix"] == f"{tmp_path}/.local/share/edgebench"
    assert report["installed"] == "none" and report["venv"] in ("0", "1") and int(report["free_mb"]) > 0
    assert report["machine"] == os.uname().machine


def test_uninstall_with_nothing_installed(tmp_path):
    proc = sh("--uninstall", home=tmp_path)
    assert proc.returncode == 0 and "nothing installed" in proc.stdout and "EDGEBENCH uninstalled=none" in proc.stdout
