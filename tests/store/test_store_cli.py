"""bench stores every run; history, compare and export read them back: the real CLI, a real agent, both
databases."""
from __future__ import annotations

import csv
import io
import json
import time

from edgebench.controller.store import SCHEMA_VERSION, open_store
from edgebench.v1 import agent_pb2 as pb
from tests.conftest import bench_json, run_controller


def test_bench_stores_runs_and_history_compare_export_read_them(agent, tiny_onnx, store_url):
    target = agent.address
    doc = bench_json("--target", target, str(tiny_onnx), "--threads", "1,2", "--runs", "15", "--db", store_url,
                     "--label", "git=abc123", "--label", "branch=main")
    runs = doc["runs"]
    ids = [r["run_id"] for r in runs]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 2

    hist = json.loads(run_controller("history", "--db", store_url, "--label", "git=abc123", "--json", "-",
                                     check_rc=0).stdout)
    stored = {r["id"]: r for r in hist["runs"]}
    assert set(stored) == set(ids)
    for run in runs:
        s = stored[run["run_id"]]
        assert s["model_sha256"] == run["model"]["sha256"] and s["board_fingerprint"] == run["board"]["fingerprint"]
        assert s["threads"] == run["threads"] and s["labels"] == {"git": "abc123", "branch": "main"}
        assert s["latency_count"] == 15 and s["latency_mean_ms"] == run["latency_ms"]["mean"]
        assert s["runtime_version"] == run["runtime_version"] and s["agent_version"] == run["board"]["agent_version"]
        assert s["predicted_latency_ms"] == run["predicted"]["predicted_latency_ms"]
    table = run_controller("history", "--db", store_url, "--threads", "2", check_rc=0).stdout
    assert "tiny_cnn" in table and "git=abc123" in table and len(table.strip().splitlines()) == 3

    with open_store(store_url) as store:
        run = store.get(ids[0])
        assert store.samples([ids[0]])[ids[0]].tolist() == runs[0]["samples_ms"]  # raw samples, exact
        assert run.spec["threads"] == 1 and run.spec["runs"] == 15 and run.spec["model_sha256"]
        assert run.record["latency_ms"] == runs[0]["latency_ms"]

    cmp = json.loads(run_controller("compare", str(ids[0]), str(ids[1]), "--db", store_url, "--json", "-",
                                    check_rc=0).stdout)
    latency = cmp["metrics"][0]
    assert latency["metric"] == "latency median (samples)" and 0 <= latency["p_value"] <= 1
    assert latency["verdict"].split()[0] in ("same", "regression", "improvement")
    assert cmp["like_with_like"] is False and cmp["mismatches"] == ["threads: 1 vs 2"]

    exported = json.loads(run_controller("export", "--db", store_url, "--format", "json", check_rc=0).stdout)
    by_id = {r["run_id"]: r for r in exported["runs"]}
    assert by_id[ids[1]]["samples_ms"] == runs[1]["samples_ms"] and by_id[ids[1]]["labels"]["git"] == "abc123"
    rows = list(csv.DictReader(io.StringIO(run_controller("export", "--db", store_url, "--format", "csv",
                                                          check_rc=0).stdout)))
    assert sorted(int(r["run_id"]) for r in rows) == sorted(ids)  # bench --csv's columns: run_id, as in JSON
    assert {r["labels"] for r in rows} == {"branch=main;git=abc123"}


def test_bench_refuses_a_newer_store_before_running_anything(agent, tiny_onnx, store_url, client):
    with open_store(store_url) as store:
        store.db.execute("INSERT INTO schema_version (version, applied_unix_s) VALUES (?, ?)",
                         (SCHEMA_VERSION + 1, time.time()))
    jobs_before = len(client.stub.ListJobs(pb.ListJobsRequest()).jobs)
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "5",
                          "--db", store_url, "--no-progress", check_rc=2)
    assert "newer than this controller" in proc.stderr and "upgrade edgebench" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_controller("history", "--db", store_url, check_rc=2)
    assert "newer than this controller" in proc.stderr

    assert len(client.stub.ListJobs(pb.ListJobsRequest()).jobs) == jobs_before  # nothing was measured
    # Nothing was written to the store either.
    from edgebench.controller.store.backend import connect
    from edgebench.controller.store.url import resolve_url
    db = connect(resolve_url(store_url))
    try:
        assert db.execute("SELECT COUNT(*) FROM runs")[0][0] == 0
    finally:
        db.close()


def test_bench_with_an_unreachable_database_says_so(agent, tiny_onnx):
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--runs", "5", "--no-progress",
                          "--db", "postgresql://nobody@127.0.0.1:1/edgebench", check_rc=2)
    assert "cannot connect to the results store postgresql://nobody@127.0.0.1:1/edgebench" in proc.stderr


def test_bench_stores_by_default_in_the_data_dir(agent, tiny_onnx, tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "EDGEBENCH_DATA_DIR": str(tmp_path / "data")}
    env.pop("EDGEBENCH_DB", None)
    proc = subprocess.run([sys.executable, "-m", "edgebench.controller.cli", "bench", "--target", agent.address,
                           str(tiny_onnx), "--threads", "1", "--runs", "5", "--no-progress"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"stored 1 run (id 1) in sqlite://{tmp_path / 'data' / 'results.sqlite'}" in proc.stdout
    with open_store(f"sqlite://{tmp_path / 'data' / 'results.sqlite'}") as store:
        assert store.count() == 1
    proc = subprocess.run([sys.executable, "-m", "edgebench.controller.cli", "bench", "--target", agent.address,
                           str(tiny_onnx), "--threads", "1", "--runs", "5", "--no-progress", "--no-store"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == 0 and "stored" not in proc.stdout
    with open_store(f"sqlite://{tmp_path / 'data' / 'results.sqlite'}") as store:
        assert store.count() == 1
