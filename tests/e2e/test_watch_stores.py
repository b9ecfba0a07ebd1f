"""No lost runs: Ctrl-C during `bench` prints the job ids and the `watch` command that gets them back; `watch`
re-attaches, stores what was measured with its prediction exactly as `bench` stores a run, and only then lets
the agent forget it. A real agent, the real CLI, SQLite and a real PostgreSQL."""
from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys

from edgebench.controller.link.client import AgentClient
from edgebench.controller.store import RunFilter, open_store
from edgebench.v1 import agent_pb2 as pb
from tests.conftest import ROOT, bench_json, run_controller
from tests.e2e.helpers import submit
from tests.e2e.models import slow_matmul
from tests.reliability.helpers import sha256_of, wait_until
from tests.store import fixtures as store_fixtures

pg_server = store_fixtures.pg_server
store_url = store_fixtures.store_url


def _stored(store_url: str) -> list:
    with open_store(store_url) as store:
        return [store.get(r.id) for r in store.query(RunFilter(limit=None, oldest_first=True))]


def test_ctrl_c_during_bench_then_watch_stores_the_run_as_bench_would(agent, tmp_path, store_url):
    slow = slow_matmul(tmp_path / "slow.onnx", n=256)
    # The same model benched to the end, for what a stored bench run holds.
    bench_json("--target", agent.address, str(slow), "--threads", "1", "--runs", "5", "--db", store_url,
               "--label", "git=abc")
    with AgentClient(agent.address) as client:
        bench = subprocess.Popen(
            [sys.executable, "-m", "edgebench.controller.cli", "bench", "--target", agent.address, str(slow),
             "--threads", "1", "--runs", "1", "--duration", "3", "--warmup", "0", "--no-progress", "--db", store_url,
             "--label", "git=abc"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            job = wait_until(lambda: next((j for j in client.list_jobs() if j.state == pb.JOB_STATE_RUNNING), None),
                             120, "the bench's job to start")
        finally:
            bench.send_signal(signal.SIGINT)  # what Ctrl-C sends
            out, err = bench.communicate(timeout=60)
        assert bench.returncode == 130, err
        assert job.job_id in err and "keep running on the board" in err
        [command] = [line.strip() for line in err.splitlines() if line.strip().startswith("controller watch ")]
        assert shlex.split(command) == ["controller", "watch", "--target", agent.address, job.job_id]
        assert len(_stored(store_url)) == 1  # nothing stored by the interrupted bench, nothing lost either

        proc = run_controller(*shlex.split(command)[1:], "--db", store_url, "--no-progress", check_rc=0, timeout=120)
        assert re.search(r"stored 1 run \(id 2\)", proc.stdout), proc.stdout
        assert job.job_id not in [j.job_id for j in client.list_jobs()]  # collected once stored, not before
    benched, watched = _stored(store_url)
    assert watched.record["job_id"] == job.job_id and watched.status == "ok"
    assert watched.labels == benched.labels == {"git": "abc"}
    assert watched.key == benched.key and watched.model_name == "slow" and watched.record["model"]["source"] == str(slow)
    # Stored exactly as bench stores a run: the same fields, the spec, and the prediction from the model file.
    assert set(watched.record) == set(benched.record)
    assert watched.spec is not None and watched.spec["min_duration_s"] == 3
    assert watched.predicted_latency_ms and benched.predicted_latency_ms
    assert set(watched.record["predicted"]) == set(benched.record["predicted"])
    assert watched.record["predicted"]["device"] == benched.record["predicted"]["device"]
    # A second watch of the same id: the result is gone, and the store keeps its one copy.
    again = run_controller("watch", "--target", agent.address, job.job_id, "--db", store_url, check_rc=2)
    assert job.job_id in again.stderr
    assert len(_stored(store_url)) == 2


def test_watch_of_a_job_from_another_host_stores_it_and_predicts_with_the_model_given(agent, tmp_path, store_url):
    slow = slow_matmul(tmp_path / "other.onnx", n=128)
    with AgentClient(agent.address) as client:  # submitted by some other controller: no journal entry here
        with_model = submit(client, slow, threads=1, runs=5, warmup_runs=1)
        without = submit(client, slow, threads=1, runs=5, warmup_runs=1)
        wrong = submit(client, slow, threads=1, runs=5, warmup_runs=1)
        proc = run_controller("watch", "--target", agent.address, with_model, "--model", str(slow), "--db", store_url,
                              "--label", "from=elsewhere", "--json", "-", "--no-progress", check_rc=0)
        [run] = json.loads(proc.stdout)["runs"]
        assert run["predicted"] and run["predicted"]["predicted_latency_ms"] > 0 and run["run_id"] == 1
        proc = run_controller("watch", "--target", agent.address, without, "--db", store_url, "--json", "-",
                              "--no-progress", check_rc=0)
        [run] = json.loads(proc.stdout)["runs"]
        assert run["predicted"] is None and any("pass --model FILE" in w for w in run["warnings"])
        other = slow_matmul(tmp_path / "not-it.onnx", n=64)  # a file that is not the job's model
        proc = run_controller("watch", "--target", agent.address, wrong, "--model", str(other), "--db", store_url,
                              "--json", "-", "--no-progress", check_rc=0)
        [run] = json.loads(proc.stdout)["runs"]
        assert run["predicted"] is None and run["model"]["sha256"] == sha256_of(slow)
        assert client.list_jobs() == [] or all(j.job_id not in (with_model, without, wrong) for j in client.list_jobs())
    stored = _stored(store_url)
    assert [r.record["job_id"] for r in stored] == [with_model, without, wrong]
    assert stored[0].labels == {"from": "elsewhere"} and stored[0].predicted_latency_ms
    assert stored[1].predicted_latency_ms is None  # absent, not invented


def test_watch_with_an_unusable_store_collects_nothing(agent, tmp_path):
    slow = slow_matmul(tmp_path / "keep.onnx", n=64)
    bad = tmp_path / "newer.sqlite"
    with open_store(f"sqlite://{bad}") as store:  # a store from a newer edgebench: refused, written to never
        store.db.execute("INSERT INTO schema_version (version, applied_unix_s) VALUES (999, 0)")
    with AgentClient(agent.address) as client:
        job_id = submit(client, slow, threads=1, runs=3)
        proc = run_controller("watch", "--target", agent.address, job_id, "--db", f"sqlite://{bad}", check_rc=2)
        assert "newer than this controller" in proc.stderr
        assert job_id in [j.job_id for j in client.list_jobs()]  # still there for a watch with a good store
        run_controller("watch", "--target", agent.address, job_id, "--no-store", "--no-progress", check_rc=0)
        assert job_id not in [j.job_id for j in client.list_jobs()]
