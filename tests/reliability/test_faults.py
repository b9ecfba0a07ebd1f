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

from edgebench.agent.job_files import RESULT_FILE, SPEC_FILE
from edgebench.controller.link.client import AgentClient
from edgebench.v1 import agent_pb2 as pb
from tests.conftest import ROOT, run_controller
from tests.e2e.helpers import submit, wait_for_phase
from tests.e2e.models import slow_matmul
from tests.reliability.helpers import leftovers, quiet_agent, sha256_of, wait_until

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
    # Then the disk damages one cached model and two job records while the agent is down.
    damaged = cached[sha256_of(tiny_onnx)]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    (state / "jobs" / done / RESULT_FILE).write_bytes(b"\xff\xff not a protobuf")
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
        # Jobs already accepted still end, with a clear reason: the queue never stalls on a full disk.
        for job_id in (running, queued):
            result = result_within(client, job_id)
            assert result.state in (pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED)
            text = " ".join([result.error, *result.warnings])
            assert result.state == pb.JOB_STATE_SUCCEEDED or "space" in text, text
        records_are_whole(state)
        assert {p.name for p in (state / "jobs").iterdir()} <= {j.job_id for j in client.list_jobs()}
        # Space comes back: the same agent serves again, without a restart.
        filler.unlink()
        assert result_within(client, submit(client, tiny_onnx, threads=1, runs=2)).state == pb.JOB_STATE_SUCCEEDED
        assert client.ensure_model(tiny_tflite).uploaded is True
    records_are_whole(state)
    with quiet_agent(state) as agent, AgentClient(agent.address) as client:  # and it restarts on that state
        # Each job has one answer: a result kept on disk, interrupted, or (never started) run now.
        assert {j.job_id for j in client.list_jobs()} >= {running, queued}
        assert all(result_within(client, j.job_id).state != pb.JOB_STATE_UNSPECIFIED for j in client.list_jobs())
        assert result_within(client, submit(client, tiny_tflite, threads=1, runs=2)).state == pb.JOB_STATE_SUCCEEDED
