"""The agent's contention figures from /proc files in the kernel's exact formats: a kernel without PSI, a
command name with spaces and parentheses, readings that do not bracket the window, the shortfall rule (a
worker that waits on something else is not contended). The real thing, a CPU hog on the worker's core, is in
tests/e2e/test_regress_nightly.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from edgebench.agent.contention import (
    TICKS_PER_S,
    Reading,
    contention_message,
    figures,
    read_cpu_ticks,
    read_process_ticks,
    read_psi,
)

STAT = """cpu  218400 1056274 182044 282259 3758 0 2836 12834 0 0
cpu0 75979 539701 86741 168476 1540 0 388 6236 0 0
cpu1 142420 516572 95303 113783 2218 7 2447 6597 0 0
intr 7498977 0 0
ctxt 1
"""
PSI_CPU = "some avg10=88.20 avg60=75.91 avg300=60.20 total=4952662855\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"


def test_proc_files_are_read_in_the_kernels_formats(tmp_path):
    (tmp_path / "stat").write_text(STAT)
    busy, steal = read_cpu_ticks(tmp_path)
    assert busy == {0: 75979 + 539701 + 86741 + 0 + 388, 1: 142420 + 516572 + 95303 + 7 + 2447}
    assert steal == {0: 6236, 1: 6597}
    (tmp_path / "42").mkdir()
    # comm may hold spaces and ')': fields are counted after the last one.
    (tmp_path / "42" / "stat").write_text("42 (py (worker) x) R 1 42 42 0 -1 4194304 100 0 0 0 371 29 0 0 20 0 3 0")
    assert read_process_ticks(tmp_path, 42) == 400
    assert read_psi(tmp_path) == {}  # no /proc/pressure: a kernel without PSI
    (tmp_path / "pressure").mkdir()
    (tmp_path / "pressure" / "cpu").write_text(PSI_CPU)
    assert read_psi(tmp_path) == {"cpu some": 4952662855, "cpu full": 0}


def _reading(t_s: float, busy: float, worker: float, steal: float = 0.0, psi: dict | None = None) -> Reading:
    ticks = int(TICKS_PER_S)
    return Reading(int(t_s * 1e9), {3: int(busy * ticks)}, {3: int(steal * ticks)}, int(worker * ticks), 0, 1.0,
                   psi or {})


def test_a_hog_on_the_workers_cpu_is_contention():
    # Over 2 s the CPU was busy all along; the worker had 1 s of it: others took half of what it needed.
    f = figures([_reading(0, 0, 0), _reading(0.5, 0.5, 0.25), _reading(2.5, 2.5, 1.25)], [3], 1,
                int(0.5e9), int(2.5e9))
    assert f.span_s == pytest.approx(2.0) and f.worker_cpu_s == pytest.approx(1.0)
    assert f.other_cpu_s == pytest.approx(1.0) and f.contention == pytest.approx(0.5)
    assert "psi cpu some" in f.unavailable and "window" not in f.unavailable
    c = contention_message(f, 0.2)
    assert c.contended and "took 50% of the CPU the worker needed" in c.reason and not c.HasField("psi_cpu_some")


def test_a_worker_waiting_on_something_else_is_not_contended():
    # The worker used a quarter of its CPU and nobody else used the rest (it waited on a GPU, say).
    f = figures([_reading(0, 0, 0), _reading(2, 0.5, 0.5)], [3], 1, int(0.1e9), int(1.9e9))
    assert f.contention == pytest.approx(0.0) and not contention_message(f, 0.2).contended
    # Steal counts as taken, like others' time.
    f = figures([_reading(0, 0, 0), _reading(2, 1.0, 1.0, steal=1.0)], [3], 1, int(0.1e9), int(1.9e9))
    assert f.contention == pytest.approx(0.5) and f.steal_s == pytest.approx(1.0)


def test_pressure_shares_and_a_window_the_readings_do_not_bracket():
    psi0 = {"cpu some": 0, "memory some": 0, "memory full": 0}
    psi1 = {"cpu some": 500_000, "memory some": 100_000, "memory full": 0}  # microseconds
    f = figures([_reading(1, 0, 0, psi=psi0), _reading(2, 0.2, 0.2, psi=psi1)], [3], 4, int(0.5e9), int(3e9))
    assert f.unavailable["window"].startswith("the readings do not bracket")
    assert f.psi == {"cpu some": pytest.approx(0.5), "memory some": pytest.approx(0.1), "memory full": 0.0}
    assert f.need_cores == 1  # 4 threads on one CPU can use one core
    assert figures([_reading(1, 0, 0)], [3], 1, 0, 1) is None  # one reading tells nothing


def test_readings_without_the_worker_are_skipped(tmp_path: Path):
    early = Reading(0, {3: 0}, {3: 0}, None, None, None, {})  # before the worker started
    f = figures([early, _reading(1, 0, 0), _reading(2, 1, 1)], [3], 1, int(1e9), int(2e9))
    assert f.span_s == pytest.approx(1.0) and f.contention == pytest.approx(0.0)
