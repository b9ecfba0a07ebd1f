"""Faults: the agent killed and restarted with a damaged cache, the controller killed mid-watch, a full disk."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from edgebench.agent.job_files import META_FILE, RESULT_FILE, SPEC_FILE
from edgebench.controller.link.client import AgentClient
from edgebench.v1 import agent_pb2 as pb
from tests.conftest import ROOT, run_controller
from tests.e2e.helpers import submit, wait_for_phase
from tests.e2e.models import slow_matmul
from tests.reliability.helpers import LoggedAgent, leftovers, quiet_agent, sha256_of, wait_until

pytestmark = pytest.mark.slow


def result_within(client: AgentClient, job_id: str, timeout_s: float = 60) -> pb.JobResult:
    """The job's result, or a failure (never a hang) if the agent stopped answering for it."""
    for event in client.stub.Watch(pb.WatchRequest(job_id=job_id), timeout=timeout_s):
        if event.WhichOneof("kind") == "result":
            return event.result
    raise AssertionError(f"the watch of {job_id} ended without a result")


def test_agent_killed_mid_run_restarts_with_cache_verified_by_hash(tmp_path, tiny_onnx, tiny_tflite):
    state = tmp_path / "state"
    slow = slow_matmul(tmp_path / "slow.onnx", n=256)
    with quiet_agent(state) as agent, AgentClient(agent.address) as client:
        client.ensure_model(tiny_onnx)
        done = submit(client, tiny_tflite, threads=1, runs=3)
        client.watch(done)
        meta_lost = client.watch(submit(client, tiny_tflite, threads=1, runs=3))
        spec_lost = client.watch(submit(client, tiny_tflite, threads=1, runs=3))
        running = submit(client, slow, threads=1, runs=0, min_duration_s=60)
        wait_for_phase(client, running, "measuring")
        os.kill(agent.process.pid, signal.SIGKILL)
        agent.process.wait()
    models = state / "models"
    cached = {p.name: p for p in models.iterdir()}
    # Whatever the crash left in the cache is whole: each file is named by the hash of its bytes.
    assert set(cached) == {sha256_of(tiny_onnx), sha256_of(tiny_tflite), sha256_of(slow)}
    assert all(sha256_of(p) == name for name, p in cached.items())
    assert leftovers(state) == []
    # Then the disk damages one cached model and three job records while the agent is down: a result, a
    # meta.json (truncated) and a spec.pb (garbage).
    damaged = cached[sha256_of(tiny_onnx)]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    (state / "jobs" / done / RESULT_FILE).write_bytes(b"\xff\xff not a protobuf")
    meta = state / "jobs" / meta_lost.job_id / META_FILE
    meta.write_bytes(meta.read_bytes()[:10])
    (state / "jobs" / spec_lost.job_id / SPEC_FILE).write_bytes(b"\xff\xfe not a spec")
    with quiet_agent(state) as agent, AgentClient(agent.address) as client:
        # The agent re-hashes a cached model before trusting it: the damaged one is gone, not run.
        assert client.stub.HasModel(pb.ModelRef(sha256=sha256_of(tiny_onnx)), timeout=30).present is False
        assert not damaged.exists()
        assert client.ensure_model(tiny_tflite).uploaded is False  # intact: kept
        assert client.ensure_model(tiny_onnx).uploaded is True  # damaged: uploaded again
        assert sha256_of(damaged) == damaged.name
        interrupted = client.watch(running)
        assert interrupted.state == pb.JOB_STATE_INTERRUPTED
        unreadable = client.watch(done)  # a damaged record is reported, and does not stop the agent starting
        assert unreadable.state == pb.JOB_STATE_FAILED and "unreadable" in unreadable.error
        # A damaged meta.json or spec.pb costs nothing of the result beside it.
        for before, damage in ((meta_lost, "meta.json is not valid JSON"), (spec_lost, "spec.pb does not parse")):
            kept = client.watch(before.job_id)
            assert kept.state == pb.JOB_STATE_SUCCEEDED and list(kept.samples_ns) == list(before.samples_ns)
            assert any(damage in w for w in kept.warnings), kept.warnings
            client.collect(before.job_id)
        fresh = client.watch(submit(client, tiny_onnx, threads=1, runs=2))
        assert fresh.state == pb.JOB_STATE_SUCCEEDED


def test_controller_killed_mid_watch_reattaches_by_job_id(tmp_path):
    slow = slow_matmul(tmp_path / "slow.onnx", n=256)
    with quiet_agent(tmp_path / "state") as agent, AgentClient(agent.address) as client:
        bench = subprocess.Popen(
            [sys.executable, "-m", "edgebench.controller.cli", "bench", "--target", agent.address, str(slow), "--threads", "1",
             "--runs", "1", "--duration", "3", "--warmup", "0", "--no-progress", "--json", "-"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            job = wait_until(lambda: next((j for j in client.list_jobs() if j.state == pb.JOB_STATE_RUNNING), None),
                             120, "the bench's job to start")
        finally:
            bench.kill()  # SIGKILL: the controller gets no chance to collect anything
            bench.wait()
        assert bench.returncode == -signal.SIGKILL
        listing = run_controller("watch", "--target", agent.address, check_rc=0, timeout=120)
        assert job.job_id in listing.stdout and "running" in listing.stdout
        proc = run_controller("watch", "--target", agent.address, job.job_id, "--json", "-", "--no-progress",
                              check_rc=0, timeout=120)
        runs = json.loads(proc.stdout)["runs"]
        assert [(r["job_id"], r["status"]) for r in runs] == [(job.job_id, "ok")]
        assert runs[0]["model"]["sha256"] == sha256_of(slow) and runs[0]["latency_ms"]["count"] >= 1
        # The result arrived once: it was collected, and a second re-attach says so in one line.
        again = run_controller("watch", "--target", agent.address, job.job_id, check_rc=2, timeout=120)
        assert f"no job '{job.job_id}'" in again.stderr and len(again.stderr.strip().splitlines()) == 1
        assert client.list_jobs() == []


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs for the state dir (needs root, as in CI's container)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def records_are_whole(state: Path) -> None:
    """Every job record on disk parses; no temp file is left behind."""
    assert leftovers(state) == []
    for job_dir in (state / "jobs").iterdir():
        pb.JobSpec.FromString((job_dir / SPEC_FILE).read_bytes())
        json.loads((job_dir / "meta.json").read_text())
        if (job_dir / RESULT_FILE).exists():
            pb.JobResult.FromString((job_dir / RESULT_FILE).read_bytes())


def test_state_dir_disk_full(small_disk, tmp_path, tiny_onnx, tiny_tflite):
    state = small_disk / "state"
    slow = slow_matmul(tmp_path / "slow.onnx", n=128)
    with quiet_agent(state) as agent, AgentClient(agent.address) as client:
        tiny = client.ensure_model(tiny_onnx)
        client.ensure_model(slow)
        running = submit(client, slow, threads=1, runs=0, min_duration_s=2)
        queued = submit(client, tiny_onnx, threads=1, runs=1)
        wait_for_phase(client, running, "measuring")
        filler = fill(small_disk)
        # Uploads and submissions are refused in one clear line; nothing half-written stays behind.
        with pytest.raises(grpc.RpcError) as err:
            client.stub.UploadModel(iter([
                pb.UploadChunk(header=pb.UploadHeader(sha256=sha256_of(tiny_tflite),
                                                      size_bytes=tiny_tflite.stat().st_size)),
                pb.UploadChunk(data=tiny_tflite.read_bytes())]), timeout=30)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "cannot store the model" in err.value.details()
        with pytest.raises(grpc.RpcError) as err:
            client.stub.Submit(pb.JobSpec(model_sha256=tiny.sha256, runs=1), timeout=30)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "No space left" in err.value.details()
        # The running job finished on the full disk: its measurement came back whole, from memory, saying so.
        measured = result_within(client, running)
        assert measured.state == pb.JOB_STATE_SUCCEEDED, measured.error
        assert measured.latency.count == len(measured.samples_ns) > 0 and measured.window_end_ns > 0
        assert any("kept in memory only" in w for w in measured.warnings), measured.warnings
        assert not (state / "jobs" / running / "result.pb").exists()
        # The queued one could not record its start, so it did not run (a restart can never run it twice).
        refused = result_within(client, queued)
        assert refused.state == pb.JOB_STATE_FAILED and "did not run" in refused.error and not refused.samples_ns
        records_are_whole(state)
        assert {p.name for p in (state / "jobs").iterdir()} <= {j.job_id for j in client.list_jobs()}
        # Space comes back: the result kept in memory is written, and the same agent serves again.
        filler.unlink()
        wait_until(lambda: (state / "jobs" / running / "result.pb").exists(), 30, "the kept result to be stored")
        assert result_within(client, submit(client, tiny_onnx, threads=1, runs=2)).state == pb.JOB_STATE_SUCCEEDED
        assert client.ensure_model(tiny_tflite).uploaded is True
    records_are_whole(state)
    with quiet_agent(state) as agent, AgentClient(agent.address) as client:  # and it restarts on that state
        assert {j.job_id for j in client.list_jobs()} >= {running, queued}
        after = result_within(client, running)  # the measurement survived the restart, sample for sample
        assert after.state == pb.JOB_STATE_SUCCEEDED and list(after.samples_ns) == list(measured.samples_ns)
        assert any("written once space was freed" in w for w in after.warnings), after.warnings
        assert not any("kept in memory only" in w for w in after.warnings)
        assert result_within(client, queued).state == pb.JOB_STATE_FAILED
        assert result_within(client, submit(client, tiny_tflite, threads=1, runs=2)).state == pb.JOB_STATE_SUCCEEDED


def test_a_directory_or_fifo_where_a_cached_model_should_be(tmp_path, tiny_onnx, tiny_tflite):
    state = tmp_path / "state"
    models = state / "models"
    models.mkdir(parents=True)
    as_dir, as_fifo = models / sha256_of(tiny_onnx), models / sha256_of(tiny_tflite)
    as_dir.mkdir()
    (as_dir / "inside").write_bytes(b"x")
    os.mkfifo(as_fifo)  # hashing it would block forever
    with LoggedAgent(state, tmp_path / "agent.log") as agent, AgentClient(agent.address) as client:
        for model, kind in ((tiny_onnx, "directory"), (tiny_tflite, "FIFO")):
            status = client.stub.HasModel(pb.ModelRef(sha256=sha256_of(model)), timeout=10)
            assert status.present is False  # a damaged cache entry, not an error
            assert f"cached model {sha256_of(model)} is damaged (it was a {kind}, not a file) and was removed" \
                in agent.log()
            assert client.ensure_model(model).uploaded is True  # uploaded again, over the removed entry
            assert client.watch(submit(client, model, threads=1, runs=1)).state == pb.JOB_STATE_SUCCEEDED
        assert as_dir.is_file() and sha256_of(as_dir) == as_dir.name
        assert as_fifo.is_file() and sha256_of(as_fifo) == as_fifo.name
