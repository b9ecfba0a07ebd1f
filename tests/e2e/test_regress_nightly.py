"""Nightly regressions a team can trust, end to end: a real agent, the real `regress` CLI, SQLite and a real
PostgreSQL. A regression keeps failing until someone accepts it; an unusable baseline is an error; ad-hoc
bench runs are no baseline; each benchmark's gate comes from its own noise; a board busy with a real CPU hog
on the worker's core is marked contended, re-run once and never compared.

Comparisons that must come out "same" pass `--alpha 1e-300` (no p-value reaches it): they check the
plumbing, not this shared machine's noise. Regressions are made by work ratios (16 times the MatMuls), which
no load swings."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edgebench.controller.link.local_agent import start_local_agent
from edgebench.controller.regress.config import load_fleet, load_suite
from edgebench.controller.regress.run import RegressOptions, RegressResult, run_regress
from edgebench.controller.stats.verdict import Thresholds
from edgebench.controller.store import NewRun, RunFilter, open_store
from tests.conftest import bench_json, run_controller
from tests.e2e.models import matmul_chain
from tests.e2e.test_regress import WORK_SUITE, fleet, regress, suite
from tests.store import fixtures as store_fixtures

pg_server = store_fixtures.pg_server
store_url = store_fixtures.store_url
SAME = ("--alpha", "1e-300")
NO_FLOOR = Thresholds(noise_floor_ms=0.0)


def night(tmp_path, boards, db, model: Path, *extra: str, rc: int) -> dict:
    doc, _ = regress(tmp_path, boards, db, *extra, rc=rc, suite_text=WORK_SUITE.format(model=model))
    [case] = doc["cases"]
    return case


def test_a_regression_keeps_failing_until_accepted_then_is_the_baseline(agent, tmp_path, store_url):
    boards = fleet(tmp_path, ("board-a", agent.address))
    model = matmul_chain(tmp_path / "work.onnx", repeats=2)
    first = night(tmp_path, boards, store_url, model, rc=0)
    assert first["verdict"] == "new"
    second = night(tmp_path, boards, store_url, model, *SAME, rc=0)
    assert second["verdict"] == "same" and f"[baseline: run #{first['run_id']};" in second["message"]
    # The model file changes (16 times the work), as a suite's model does when someone commits a new one.
    matmul_chain(model, repeats=32)
    third = night(tmp_path, boards, store_url, model, "--noise-floor-ms", "0", rc=1)
    assert third["verdict"] == "regression" and third["change"] > 2
    assert "the model file changed since" in third["message"]
    assert sorted(third["baseline_ids"]) == sorted([first["run_id"], second["run_id"]])
    # Nobody accepted it: the next night fails again, against the same baseline (not against itself).
    fourth = night(tmp_path, boards, store_url, model, "--noise-floor-ms", "0", rc=1)
    assert fourth["verdict"] == "regression" and third["run_id"] not in fourth["baseline_ids"]

    proc = run_controller("regress", "accept", "--benchmark", "work", "--reason", "32 MatMuls by design",
                          "--db", store_url, check_rc=0)
    assert f"run #{fourth['run_id']}" in proc.stdout and "accepted" in proc.stdout
    with open_store(store_url) as store:
        [acceptance] = store.acceptances([fourth["run_id"]])
        assert acceptance.reason == "32 MatMuls by design" and "@" in acceptance.accepted_by
    fifth = night(tmp_path, boards, store_url, model, *SAME, rc=0)
    assert fifth["verdict"] == "same" and fifth["baseline_ids"] == [fourth["run_id"]]
    assert f"since accepted run #{fourth['run_id']} (32 MatMuls by design)" in fifth["message"]
    # Accepting is stored once: a second accept of the same run keeps the first reason.
    again = run_controller("regress", "accept", "--run", str(fourth["run_id"]), "--reason", "other", "--db", store_url,
                           check_rc=0)
    assert "already accepted" in again.stdout


def test_a_session_baseline_of_regressions_is_an_error_not_a_pass(agent, tmp_path, store_url):
    boards = fleet(tmp_path, ("board-a", agent.address))
    model = matmul_chain(tmp_path / "work.onnx", repeats=2)
    night(tmp_path, boards, store_url, model, rc=0)
    matmul_chain(model, repeats=32)
    flagged = night(tmp_path, boards, store_url, model, "--noise-floor-ms", "0", rc=1)
    with open_store(store_url) as store:
        bad_session = store.get(flagged["run_id"]).session_id
    # The case: the session's runs were all regressions. That was "new - no baseline yet", exit 0.
    case = night(tmp_path, boards, store_url, model, "--baseline", f"session:{bad_session}", rc=1)
    assert case["verdict"] == "error" and case["outcome"] == "error"
    assert "unusable baseline" in case["message"] and f"#{flagged['run_id']}" in case["message"]
    assert "regress accept" in case["message"]
    # A session that never ran this benchmark: an error too.
    case = night(tmp_path, boards, store_url, model, "--baseline", "session:999", rc=1)
    assert case["verdict"] == "error" and "hold no run of this benchmark" in case["message"]
    # Accept the session's regression: the same baseline is now usable.
    run_controller("regress", "accept", "--session", str(bad_session), "--reason", "new model", "--db", store_url,
                   check_rc=0)
    case = night(tmp_path, boards, store_url, model, "--baseline", f"session:{bad_session}", *SAME, rc=0)
    assert case["verdict"] == "same" and case["baseline_ids"] == [flagged["run_id"]]


def test_ad_hoc_bench_runs_are_no_baseline_unless_asked(agent, tmp_path, store_url):
    model = matmul_chain(tmp_path / "work.onnx", repeats=2)
    bench = bench_json("--target", agent.address, str(model), "--threads", "1", "--runs", "20", "--db", store_url)
    [bench_run] = bench["runs"]
    boards = fleet(tmp_path, ("board-a", agent.address))
    first = night(tmp_path, boards, store_url, model, rc=0)
    assert first["verdict"] == "new" and bench_run["run_id"] not in first["baseline_ids"]
    assert "made by regress" in first["message"]
    asked = night(tmp_path, boards, store_url, model, "--baseline", "any:5", *SAME, rc=0)
    assert bench_run["run_id"] in asked["baseline_ids"] and first["run_id"] in asked["baseline_ids"]


def _clone(record: dict, samples: np.ndarray) -> dict:
    """A stored run's record with other samples and the latency figures that go with them."""
    out = json.loads(json.dumps(record))
    out["samples_ms"] = samples.tolist()
    out["latency_ms"] = {**out["latency_ms"], "p50": float(np.median(samples)), "mean": float(samples.mean()),
                         "min": float(samples.min()), "max": float(samples.max()), "count": len(samples)}
    return out


def test_the_gate_comes_from_the_benchmarks_own_noise_and_is_shown(agent, tmp_path, store_url):
    boards = fleet(tmp_path, ("board-a", agent.address))
    model = matmul_chain(tmp_path / "work.onnx", repeats=8)
    base = night(tmp_path, boards, store_url, model, rc=0)
    with open_store(store_url) as store:
        measured = store.get(base["run_id"])
        samples = store.samples([measured.id])[measured.id]
        # A baseline 0.7 times the current speed: about +43% slower now, whatever the load does to both.
        store.add_runs([NewRun(_clone(measured.record, samples * 0.7), {"git": "fast"})])
    floor_only = night(tmp_path, boards, store_url, model, "--baseline", "label:git=fast", "--noise-floor-ms", "0",
                       rc=1)
    # Too little history to measure the noise: twice the 10% floor, said so; the re-run confirmed it.
    assert floor_only["verdict"] == "regression" and floor_only["min_effect"] == pytest.approx(0.20)
    assert floor_only["noise_cv"] is None and "until enough runs measure the noise" in floor_only["message"]
    assert floor_only["attempts"] == 2 and "confirmed" in floor_only["message"]
    # A history this noisy: its nights' medians at 0.4 and 1.6 times the first night's.
    with open_store(store_url) as store:
        session = store.start_session("regress", {})
        scales = [0.4, 1.6, 0.4, 1.6, 0.4, 1.6, 1.0]
        store.add_runs([NewRun(_clone(measured.record, samples * s), session_id=session,
                               created_unix_s=time.time() - 3600 + i) for i, s in enumerate(scales)])
        store.finish_session(session, "ok", {})
        history = [r.latency_p50_ms for r in store.query(RunFilter(limit=None))
                   if r.session_id is not None and r.verdict not in ("regression", "excluded")]
    noisy = night(tmp_path, boards, store_url, model, "--baseline", "label:git=fast", "--noise-floor-ms", "0", rc=0)
    center = float(np.median(history))
    assert noisy["noise_runs"] == len(history) == 8  # the seven injected nights and the first real one
    assert noisy["noise_cv"] == pytest.approx(1.4826 * float(np.median(np.abs(np.array(history) - center))) / center)
    assert noisy["min_effect"] == pytest.approx(3 * noisy["noise_cv"]) and noisy["min_effect"] > 2
    assert noisy["verdict"] == "same" and "min effect" in noisy["message"] and "noise" in noisy["message"]
    table = run_controller("regress", "--fleet", str(boards), "--suite", str(tmp_path / "nightly.toml"), "--db",
                           store_url, "--baseline", "label:git=fast", "--noise-floor-ms", "0", check_rc=0).stdout
    assert "noise -> min effect" in table and re.search(r"\d+\.\d%/9 -> \d+%", table), table


def _pin(pid: int, cpu: int) -> None:
    """Every thread of the agent on one CPU: the workers it starts from then on inherit it."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(tid), {cpu})


@pytest.fixture
def hogged_agent(tmp_path):
    """A real agent (default contention threshold) pinned to the last CPU, and a CPU hog pinned there too,
    bounded to 120 s and killed when the test ends."""
    cpu = max(os.sched_getaffinity(0))
    with start_local_agent(str(tmp_path / "hogged"), ["--no-sensors"]) as agent:
        _pin(agent.process.pid, cpu)
        hog = subprocess.Popen(["taskset", "-c", str(cpu), sys.executable, "-c",
                                "import time\nend = time.monotonic() + 120\nwhile time.monotonic() < end: pass"])
        try:
            yield agent, cpu
        finally:
            hog.kill()
            hog.wait(timeout=10)


def test_a_cpu_hog_on_the_workers_core_marks_the_run_contended(hogged_agent, tmp_path, store_url):
    agent, cpu = hogged_agent
    model = matmul_chain(tmp_path / "work.onnx", repeats=8)
    doc = bench_json("--target", agent.address, str(model), "--threads", "1", "--runs", "1", "--duration", "1.5",
                     "--db", store_url)
    [run] = doc["runs"]
    c = run["contention"]
    assert run["contended"] is True and c["contended"] is True and c["cpus"] == [cpu]
    # The hog alone takes about half of that core; others on this shared machine may take more.
    assert c["contention"] > 0.3 and c["other_cpu_s"] > 0.3 * c["span_s"] and c["span_s"] >= 1.5
    assert c["worker_cpu_s"] > 0 and c["load_avg_1m_end"] is not None
    assert any(w.startswith("CONTENDED:") for w in run["warnings"])
    table = run_controller("bench", "--target", agent.address, str(model), "--threads", "1", "--runs", "1",
                           "--duration", "1", "--no-store", "--no-progress", check_rc=0).stdout
    assert "!!! CONTENDED" in table

    # regress: re-run once, both attempts kept, the case excluded (a skip, not a pass), never compared.
    boards = fleet(tmp_path, ("busy", agent.address))
    suite = WORK_SUITE.format(model=model).replace("runs = 40", "runs = 1\nduration = 1")
    doc, junit = regress(tmp_path, boards, store_url, rc=0, suite_text=suite)
    [case] = doc["cases"]
    assert case["verdict"] == "excluded" and case["attempts"] == 2 and "contended" in case["message"]
    assert case["baseline_ids"] == [] and case["p_value"] is None and case["contention"] > 0.3
    [tc] = junit.iter("testcase")
    assert tc.find("skipped") is not None and "contended" in tc.find("skipped").get("message")
    with open_store(store_url) as store:
        runs = store.query(RunFilter(session_id=store.sessions("regress")[0].id))
        assert len(runs) == 2 and all(r.contended and r.verdict == "excluded" for r in runs)
        assert store.baseline(runs[0], limit=10) == []  # a contended run is never anyone's baseline
    history = run_controller("history", "--db", store_url, check_rc=0).stdout
    assert "ok CONTENDED" in history


def test_the_threshold_is_the_agents(tmp_path):
    """The same hog, an agent told contention only counts above 100%: figures recorded, nothing flagged."""
    cpu = max(os.sched_getaffinity(0))
    model = matmul_chain(tmp_path / "work.onnx", repeats=8)
    with start_local_agent(str(tmp_path / "state"), ["--no-sensors", "--contended-above", "1"]) as agent:
        _pin(agent.process.pid, cpu)
        hog = subprocess.Popen(["taskset", "-c", str(cpu), sys.executable, "-c",
                                "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: pass"])
        try:
            [run] = bench_json("--target", agent.address, str(model), "--threads", "1", "--runs", "1", "--duration",
                               "1", "--no-store")["runs"]
        finally:
            hog.kill()
            hog.wait(timeout=10)
    assert run["contended"] is False and run["contention"]["threshold"] == 1
    assert run["contention"]["contention"] > 0.3
    refused = subprocess.run([sys.executable, "-m", "edgebench.agent.cli", "--state-dir", str(tmp_path / "s2"),
                              "--contended-above", "nan"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--contended-above must be a share" in refused.stderr


def _regress_api(tmp_path, boards: Path, db: str, model: Path, on_log=lambda line: None,
                 thresholds: Thresholds = NO_FLOOR, **opts) -> RegressResult:
    """regress as the CLI runs it, with a hook on its log lines (to act between two attempts of a case)."""
    suite_path = suite(tmp_path, WORK_SUITE.format(model=model))
    return run_regress(RegressOptions(load_fleet(boards), load_suite(suite_path), db=db, log=on_log,
                                      thresholds=thresholds, **opts))


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_change_is_reported_only_when_its_re_run_agrees(agent, tmp_path, store_url):
    """One outlying run is not news: the first attempt that looks like a change is kept (excluded) and run
    again; a re-run that does not agree makes it `same`, one that agrees makes it the regression."""
    boards = fleet(tmp_path, ("board-a", agent.address))
    model = matmul_chain(tmp_path / "work.onnx", repeats=2)
    assert _regress_api(tmp_path, boards, store_url, model).cases[0].verdict == "new"
    assert _regress_api(tmp_path, boards, store_url, model,
                        thresholds=Thresholds(alpha=1e-300, noise_floor_ms=0.0)).cases[0].verdict == "same"

    # The heavier file for the first attempt only: the log line announcing the re-run puts the old one back
    # (bench uploads the file afresh for every attempt), as if that one run had been an outlier.
    matmul_chain(model, repeats=32)
    seen: list[str] = []

    def restore(line: str) -> None:
        seen.append(line)
        if "running it again to confirm" in line:
            matmul_chain(model, repeats=2)

    outlier = _regress_api(tmp_path, boards, store_url, model, on_log=restore,
                           thresholds=Thresholds(alpha=0.002, noise_floor_ms=0.0, min_effect=0.5))
    [case] = outlier.cases
    assert any("regression" in s and "to confirm" in s for s in seen), seen
    assert case.verdict != "regression" and case.attempts == 2 and outlier.exit_code == 0
    assert "was not confirmed by its re-run" in case.message
    with open_store(store_url) as store:
        runs = store.query(RunFilter(session_id=store.get(case.run_id).session_id))
        verdicts = sorted(store.verdict(r.id).verdict for r in runs)
    assert verdicts == sorted(["excluded", case.verdict])  # the outlier is kept, never a baseline

    # A change that persists: both attempts heavier, the regression is confirmed.
    matmul_chain(model, repeats=32)
    real = _regress_api(tmp_path, boards, store_url, model,
                        thresholds=Thresholds(alpha=0.002, noise_floor_ms=0.0, min_effect=0.5))
    [case] = real.cases
    assert case.verdict == "regression" and case.attempts == 2 and real.exit_code == 1
    assert "confirmed: the first attempt was" in case.message
    # --confirm 0: the first attempt's verdict, as before.
    once = _regress_api(tmp_path, boards, store_url, model, confirm=0,
                        thresholds=Thresholds(alpha=0.002, noise_floor_ms=0.0, min_effect=0.5))
    assert once.cases[0].verdict == "regression" and once.cases[0].attempts == 1
