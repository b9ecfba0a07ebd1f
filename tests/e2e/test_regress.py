"""`controller regress` end to end: real agents over gRPC (one on a fixture board that throttles), the real
CLI, results in SQLite and in a real PostgreSQL, JUnit read back with a real XML parser."""
from __future__ import annotations

import json
import os
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from edgebench.controller.link.client import AgentClient
from edgebench.controller.link.local_agent import start_local_agent
from edgebench.controller.store import NewRun, RunFilter, open_store
from tests.conftest import STEADY_AGENT_ARGS, run_controller
from tests.e2e.helpers import submit
from tests.e2e.models import matmul_chain
from tests.sensors.sensor_fixtures import make_board
from tests.store import fixtures as store_fixtures

# The store fixtures (SQLite and a real PostgreSQL server), shared with tests/store.
pg_server = store_fixtures.pg_server
store_url = store_fixtures.store_url

SUITE = """
name = "nightly"
[[benchmarks]]
model = "zoo:tiny_cnn"
runtime = "onnxruntime"
threads = [1]
runs = 40
"""


def fleet(tmp_path: Path, *targets: tuple[str, str]) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text("".join(f'[[targets]]\nname = "{n}"\naddress = "{a}"\nlabels = {{ rack = "7" }}\n\n'
                            for n, a in targets))
    return path


def suite(tmp_path: Path, text: str = SUITE) -> Path:
    path = tmp_path / "nightly.toml"
    path.write_text(text)
    return path


def regress(tmp_path: Path, fleet_path: Path, db: str, *extra: str, rc: int,
            suite_text: str = SUITE) -> tuple[dict, ET.Element]:
    junit = tmp_path / "junit.xml"
    proc = run_controller("regress", "--fleet", str(fleet_path), "--suite", str(suite(tmp_path, suite_text)), "--db", db,
                          "--junit", str(junit), "--json", "-", "--connect-timeout", "3", *extra, check_rc=rc)
    return json.loads(proc.stdout), ET.parse(junit).getroot()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we return: nothing listens there


WORK_SUITE = """
name = "nightly"
[[benchmarks]]
model = "{model}"
runtime = "onnxruntime"
threads = [1]
runs = 40
"""


def test_new_then_same_then_a_regression(agent, tmp_path, store_url):
    boards = fleet(tmp_path, ("board-a", agent.address))
    work = WORK_SUITE.format(model=matmul_chain(tmp_path / "work.onnx", repeats=16))
    # Night 1: nothing to compare with yet.
    doc, junit = regress(tmp_path, boards, store_url, "--label", "git=r1", rc=0, suite_text=work)
    [case] = doc["cases"]
    assert case["verdict"] == "new" and case["outcome"] == "pass" and case["run_id"]
    assert junit.get("tests") == "1" and junit.get("failures") == "0" and junit.get("errors") == "0"
    first = case["run_id"]

    # Night 2: compared with night 1 (an alpha no p-value reaches: this checks the plumbing, not the noise).
    doc, junit = regress(tmp_path, boards, store_url, "--alpha", "1e-300", rc=0, suite_text=work)
    [case] = doc["cases"]
    assert case["verdict"] == "same" and case["baseline_ids"] == [first]
    assert case["p_value"] is not None and case["median_ms"] > 0 and case["baseline_median_ms"] > 0

    # A baseline that did a sixteenth of the work (the same chain with one MatMul, measured now on the same
    # board): the next night is a regression by the work's ratio, whatever the machine's load does to both.
    light = matmul_chain(tmp_path / "light.onnx", repeats=1)
    with AgentClient(agent.address) as client:
        light_result = client.watch(submit(client, light, threads=1, warmup_runs=5, runs=40))
    with open_store(store_url) as store:
        run = store.get(case["run_id"])
        fast = dict(run.record, samples_ms=[s / 1e6 for s in light_result.samples_ns])
        [fast_id] = store.add_runs([NewRun(fast, {"git": "fast"})])
    doc, junit = regress(tmp_path, boards, store_url, "--baseline", "label:git=fast", "--noise-floor-ms", "0",
                         rc=1, suite_text=work)
    [case] = doc["cases"]
    assert case["verdict"] == "regression" and case["baseline_ids"] == [fast_id]
    assert case["change"] > 1.5 and case["p_value"] < 0.002
    [tc] = junit.iter("testcase")
    assert tc.get("classname") == "edgebench.board-a" and tc.get("name") == "work onnxruntime default-ep threads=1"
    failure = tc.find("failure")
    assert failure is not None and failure.get("type") == "regression" and "p<0.0001" in failure.get("message")
    assert junit.get("failures") == "1"

    with open_store(store_url) as store:
        [flagged] = store.query(RunFilter(verdict="regression"))
        assert flagged.id == case["run_id"] and flagged.labels == {"rack": "7", "suite": "nightly"}
        assert flagged.target == "board-a"
        # A flagged regression is not a good run: it never becomes the baseline by itself.
        assert flagged.id not in [r.id for r in store.baseline(flagged, limit=10)]
        sessions = store.sessions("regress")
        assert [s.status for s in sessions] == ["regressions", "ok", "ok"]
    table = run_controller("history", "--db", store_url, "--verdict", "regression", check_rc=0).stdout
    assert [line.split()[0] for line in table.splitlines()[2:]] == [str(case["run_id"])]


def test_an_unreachable_board_is_an_error_and_the_others_carry_on(agent, tmp_path, store_url):
    boards = fleet(tmp_path, ("gone", f"127.0.0.1:{closed_port()}"), ("board-a", agent.address))
    doc, junit = regress(tmp_path, boards, store_url, rc=1)
    by_board = {c["board"]: c for c in doc["cases"]}
    assert by_board["gone"]["verdict"] == "error" and "cannot reach an edgebench agent" in by_board["gone"]["message"]
    assert by_board["board-a"]["verdict"] == "new" and by_board["board-a"]["run_id"]
    suites = {s.get("name"): s for s in junit.iter("testsuite")}
    assert suites["edgebench.gone"].get("errors") == "1"
    assert suites["edgebench.gone"].find("testcase/error") is not None
    assert suites["edgebench.board-a"].get("errors") == "0"
    with open_store(store_url) as store:
        assert store.count() == 1 and store.sessions("regress")[0].status == "errors"


def test_a_throttled_board_is_rerun_then_excluded_never_compared(tmp_path, store_url):
    board = make_board("pi4-ina219", tmp_path)  # get_throttled says 0x50005: under-voltage, throttled now
    args = ["--sysfs-root", str(board.root), "--vcgencmd", board.config.vcgencmd, "--tegrastats",
            board.config.tegrastats, "--idle-baseline", "0.1", *STEADY_AGENT_ARGS]
    with start_local_agent(str(tmp_path / "state"), extra_args=args) as throttling:
        boards = fleet(tmp_path, ("pi4", throttling.address))
        doc, junit = regress(tmp_path, boards, store_url, rc=0)
    [case] = doc["cases"]
    assert case["verdict"] == "excluded" and case["attempts"] == 2 and "throttled" in case["message"]
    assert case["baseline_ids"] == [] and case["p_value"] is None
    [tc] = junit.iter("testcase")
    assert tc.find("skipped") is not None and "throttled" in tc.find("skipped").get("message")
    with open_store(store_url) as store:
        runs = store.query(RunFilter())
        assert len(runs) == 2 and all(r.throttled and r.verdict == "excluded" for r in runs)
        # Throttled runs never serve as a baseline either.
        assert store.baseline(runs[0], limit=10) == []


def test_two_regress_runs_at_once_the_second_is_refused(agent, tmp_path, store_url):
    boards = fleet(tmp_path, ("board-a", agent.address))
    with open_store(store_url) as holder, holder.exclusive():
        proc = run_controller("regress", "--fleet", str(boards), "--suite", str(suite(tmp_path)), "--db",
                              store_url, check_rc=2)
    assert "another regress is already running against the results store" in proc.stderr
    with open_store(store_url) as store:
        assert store.count() == 0 and store.sessions() == []  # nothing half-written


def test_the_power_and_temperature_trace_is_stored(tmp_path):
    board = make_board("pi5", tmp_path)
    args = ["--sysfs-root", str(board.root), "--vcgencmd", board.config.vcgencmd, "--tegrastats",
            board.config.tegrastats, "--idle-baseline", "0.2", *STEADY_AGENT_ARGS]
    db = f"sqlite://{tmp_path / 'r.sqlite'}"
    with start_local_agent(str(tmp_path / "state"), extra_args=args) as pi5:
        doc, _ = regress(tmp_path, fleet(tmp_path, ("pi5", pi5.address)), db, rc=0)
    [case] = doc["cases"]
    with open_store(db) as store:
        run = store.get(case["run_id"])
        assert run.throttled is False and run.power_avg_w and run.temp_max_c
        kinds = {s["kind"] for s in store.trace(run.id)}
        assert {"power", "thermal"} <= kinds
        assert run.record["energy"]["power_source"] == "rpi5-pmic"
    assert os.path.exists(tmp_path / "junit.xml")
    assert np.isfinite(case["median_ms"])
