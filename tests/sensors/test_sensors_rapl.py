"""RAPL through powercap: zone selection, wrap-around, and the root-only energy_uj of Linux >= 5.10."""
from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from sensor_fixtures import make_board

from edgebench.agent.sensors import SensorConfig
from edgebench.agent.sensors.sources import rapl
from edgebench.agent.sensors.sources.rapl import unfold

MAX = 262143328850
PKG = "sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/energy_uj"
DRAM = "sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:2/energy_uj"
CORE = "sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:0/energy_uj"


def test_zones_by_name_subzones_not_added_mmio_skipped(board):
    b = board("x86-rapl")
    (sensor,) = rapl.discover(b.config).found
    assert sensor.info.kind == "energy" and sensor.info.unit == "J"
    assert sensor.info.rails == ["package-0", "package-0/core", "package-0/uncore", "package-0/dram", "psys"]
    totals = [z.rail for z in sensor.zones if z.in_total]
    assert totals == ["package-0", "package-0/dram"]  # core/uncore are inside the package; psys overlaps
    assert "intel-rapl-mmio:0" in sensor.info.note and "psys" in sensor.info.note


def test_energy_accumulates_across_a_wrap(board):
    b = board("x86-rapl")
    (sensor,) = rapl.discover(b.config).found
    first = sensor.read()
    assert first.ok and first.energy_j == 0.0 and first.counters["package-0"] == 262143000000
    assert first.total is None  # no power before a second read
    # The package counter wraps: 262143000000 -> MAX -> 0 -> 1000000 is 328850 + 1000000 uJ.
    b.write(PKG, "1000000")
    b.write(DRAM, str(23456789012 + 500000))
    b.write(CORE, str(101234567890 + 700000))
    second = sensor.read()
    assert second.ok, second.reason
    assert second.energy_j == pytest.approx((328850 + 1000000 + 500000) / 1e6)
    dt = (second.t_ns - first.t_ns) / 1e9
    assert second.values["package-0"] == pytest.approx(1.32885 / dt)
    assert second.total == pytest.approx((1.32885 + 0.5) / dt)
    assert second.values["package-0/core"] == pytest.approx(0.7 / dt)  # shown, not added


def test_unfold():
    assert unfold(10, 25, MAX) == 15
    assert unfold(MAX - 5, 5, MAX) == 10
    assert unfold(MAX - 5, 5, None) is None


def test_wrap_with_unknown_range_starts_a_new_epoch(board):
    b = board("x86-rapl")
    b.path("sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/max_energy_range_uj").unlink()
    (sensor,) = rapl.discover(b.config).found
    assert "unreadable" in sensor.info.note
    sensor.read()
    b.write(PKG, "5")
    r = sensor.read()
    assert not r.ok and "went backwards" in r.reason
    b.write(PKG, "1000005")
    r2 = sensor.read()
    assert r2.ok and r2.epoch == 1  # the energy across the step is unknown, so it is never differenced


def test_garbage_and_vanished_counter(board):
    b = board("x86-rapl")
    (sensor,) = rapl.discover(b.config).found
    sensor.read()
    b.write(PKG, "not a number")
    r = sensor.read()
    assert not r.ok and r.energy_j is None and "garbage" in r.reason
    b.path(PKG).unlink()
    r = sensor.read()
    assert not r.ok and r.reason.startswith("package-0: missing:")


def _discover_unprivileged(config_root: str) -> dict:
    """Discovery as a user who may not read energy_uj: chmod for a normal user, a setuid child for root."""
    config = SensorConfig(sysfs_root=config_root)
    if os.geteuid() != 0:
        disc = rapl.discover(config)
        return {"found": [s.name for s in disc.found], "absent": [i.reason for i in disc.absent]}
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop to nobody, discover, report, exit without running pytest's handlers
        try:
            os.close(r)
            os.setgid(65534)
            os.setuid(65534)
            disc = rapl.discover(config)
            os.write(w, json.dumps({"found": [s.name for s in disc.found],
                                    "absent": [i.reason for i in disc.absent]}).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def test_permission_denied_is_reported_with_the_fix():
    # A tree anyone can walk (pytest's tmp_path is private to root), with energy_uj root-only as on 5.10+.
    top = Path(tempfile.mkdtemp(prefix="edgebench-rapl-"))
    try:
        os.chmod(top, 0o755)
        b = make_board("x86-rapl", top)
        for p in b.root.rglob("*"):
            if not p.is_symlink():
                os.chmod(p, 0o755 if p.is_dir() else 0o444)
        for p in b.root.rglob("energy_uj"):
            if not p.is_symlink():
                os.chmod(p, stat.S_IRUSR)
        result = _discover_unprivileged(str(b.root))
    finally:
        shutil.rmtree(top)
    assert result["found"] == []
    (reason,) = result["absent"]
    assert "package-0: permission denied:" in reason
    assert "CVE-2020-8694" in reason and "chmod a+r" in reason and "udev" in reason


def test_no_powercap(board):
    b = board("pi5")
    (info,) = rapl.discover(b.config).absent
    assert info.reason.startswith("missing: no intel-rapl:* zone")
