"""prepare_sd.py on a stand-in boot partition: what it writes and how it hooks into each first-boot mechanism.
(The hook running for real, with an install on a board, is test_deploy.py::test_first_boot_hook.)"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("prepare_sd", ROOT / "scripts" / "firstboot" / "prepare_sd.py")
prepare_sd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(prepare_sd)

IMAGER_FIRSTRUN = """#!/bin/bash

set +e

CURRENT_HOSTNAME=`cat /etc/hostname | tr -d " \\t\\n\\r"`
echo raspberrypi >/etc/hostname
systemctl enable ssh
rm -f /boot/firstrun.sh
sed -i 's| systemd.run.*||g' /boot/cmdline.txt
exit 0
"""


@pytest.fixture(autouse=True)
def _own_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEBENCH_CONFIG_DIR", str(tmp_path / "config"))


def test_prepare_a_fresh_card(tmp_path):
    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "cmdline.txt").write_text("console=serial0,115200 root=PARTUUID=1-02 rootwait quiet\n")
    proc = subprocess.run([sys.executable, "scripts/firstboot/prepare_sd.py", str(boot), "--user", "pi",
                           "--target", "pi@10.0.0.5"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=os.environ)
    assert proc.returncode == 0, proc.stderr
    files = sorted(p.name for p in (boot / "edgebench").iterdir())
    assert files == ["agent.token", "edgebench-0.1.0-py3-none-any.whl", "edgebench-firstboot.service",
                     "firstboot.sh", "install-agent.sh"]
    copied = boot / "edgebench" / "install-agent.sh"
    assert not copied.is_symlink() and copied.read_text() == (ROOT / "scripts/install-agent.sh").read_text()
    # The wheel the board installs carries the same script as package data, where deploy reads it.
    with zipfile.ZipFile(boot / "edgebench" / "edgebench-0.1.0-py3-none-any.whl") as whl:
        assert whl.read("edgebench/controller/deploy/install-agent.sh").decode() == copied.read_text()
    cmdline = (boot / "cmdline.txt").read_text()
    assert cmdline.count("\n") == 1 and cmdline.rstrip().endswith("systemd.unit=kernel-command-line.target")
    firstrun = (boot / "firstrun.sh").read_text()
    assert "systemctl enable edgebench-firstboot.service" in firstrun and "rm -f /boot/firmware/firstrun.sh" in firstrun
    # The host knows the token the board will have.
    from edgebench.controller.link import targets_config

    token = (boot / "edgebench" / "agent.token").read_text().strip()
    assert targets_config.load("pi@10.0.0.5").token == token
    assert "stored the token for pi@10.0.0.5" in proc.stdout


def test_imager_firstrun_gets_the_snippet_before_it_removes_itself(tmp_path):
    (tmp_path / "firstrun.sh").write_text(IMAGER_FIRSTRUN)
    assert "added edgebench" in prepare_sd.hook_firstrun(tmp_path)
    text = (tmp_path / "firstrun.sh").read_text()
    assert text.index("systemctl enable edgebench-firstboot.service") < text.index("rm -f /boot/firstrun.sh")
    assert "systemctl enable ssh" in text
    assert "already" in prepare_sd.hook_firstrun(tmp_path)  # idempotent
    assert (tmp_path / "firstrun.sh").read_text() == text


@pytest.mark.parametrize("existing, expected_lines", [
    (None, ["runcmd:", "  - [sh, /boot/firmware/edgebench/firstboot.sh, alice]"]),
    ("#cloud-config\nhostname: pi5\nruncmd:\n- [touch, /tmp/x]\n", ["runcmd:", "- [sh, /boot/firmware/edgebench/"
                                                                   "firstboot.sh, alice]", "- [touch, /tmp/x]"]),
    ("#cloud-config\nhostname: pi5\n", ["hostname: pi5", "runcmd:", "  - [sh, /boot/firmware/edgebench/firstboot.sh, "
                                        "alice]"]),
])
def test_cloud_init_user_data(tmp_path, existing, expected_lines):
    if existing is not None:
        (tmp_path / "user-data").write_text(existing)
    prepare_sd.hook_cloud_init(tmp_path, "alice")
    text = (tmp_path / "user-data").read_text()
    lines = text.splitlines()
    positions = [lines.index(line) for line in expected_lines]
    assert positions == sorted(positions), text
    assert text.startswith("#cloud-config")
    prepare_sd.hook_cloud_init(tmp_path, "alice")
    assert (tmp_path / "user-data").read_text() == text  # idempotent
    try:  # and it still parses, where PyYAML is installed (it is not an edgebench dependency)
        import yaml
    except ImportError:
        return
    assert yaml.safe_load(text)["runcmd"][0] == ["sh", "/boot/firmware/edgebench/firstboot.sh", "alice"]


def test_firstboot_unit_passes_systemd_analyze_verify(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here")
    unit = tmp_path / "edgebench-firstboot.service"
    unit.write_text((ROOT / "scripts" / "firstboot" / "edgebench-firstboot.service").read_text())
    proc = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr


def test_firstboot_script_syntax():
    assert subprocess.run(["sh", "-n", str(ROOT / "scripts" / "firstboot" / "firstboot.sh")], timeout=30).returncode == 0
