"""The agent's gRPC contract, driven directly: describe, health, uploads, queue, watch, cancel, collect."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from edgebench.agent import API_VERSION, __version__
from edgebench.controller.link.client import AgentClient
from edgebench.v1 import agent_pb2 as pb
from tests.e2e.helpers import submit, wait_for_phase
from tests.e2e.models import slow_matmul


def test_describe_reports_board_runtimes_and_sensors(client):
    desc = client.describe()
    assert desc.agent_version == __version__ and desc.api_version == API_VERSION
    assert desc.cpu_count >= 1 and desc.memory_total_bytes > 0 and desc.machine and desc.fingerprint
    runtimes = {r.name: r for r in desc.runtimes}
    assert runtimes["onnxruntime"].available and runtimes["onnxruntime"].version
    assert "CPUExecutionProvider" in runtimes["onnxruntime"].execution_providers
    assert runtimes["tflite"].available and runtimes["tflite"].package in ("ai-edge-litert", "tflite-runtime")
    assert "xnnpack" in runtimes["tflite"].execution_providers
    assert any(s.kind == "memory" and s.available for s in desc.sensors)


def test_health_service_is_serving(agent):
    with grpc.insecure_channel(agent.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "edgebench.v1.Agent"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_upload_is_skipped_when_cached_and_hash_is_verified(client, tiny_onnx, agent):
    first = client.ensure_model(tiny_onnx)
    second = client.ensure_model(tiny_onnx)
    assert second.sha256 == first.sha256 == hashlib.sha256(tiny_onnx.read_bytes()).hexdigest()
    assert second.uploaded is False
    # Bytes that do not match the declared hash are refused and nothing is kept.
    data = b"not the model" * 10
    wrong = "0" * 64
    chunks = iter([pb.UploadChunk(header=pb.UploadHeader(sha256=wrong, size_bytes=len(data))),
                   pb.UploadChunk(data=data)])
    with pytest.raises(grpc.RpcError) as err:
        client.stub.UploadModel(chunks, timeout=10)
    assert err.value.code() == grpc.StatusCode.DATA_LOSS
    assert not client.stub.HasModel(pb.ModelRef(sha256=wrong)).present
    assert not list((agent.state_dir / "models").glob("*.part"))


@pytest.mark.parametrize("sha", ["../../etc/passwd", "A" * 64, "0" * 63, ""])
def test_model_names_cannot_escape_the_cache(client, sha):
    with pytest.raises(grpc.RpcError) as err:
        client.stub.HasModel(pb.ModelRef(sha256=sha), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_watch_can_reattach_and_collect_forgets(client, tiny_onnx):
    job_id = submit(client, tiny_onnx, threads=1, runs=200, warmup_runs=1)
    wait_for_phase(client, job_id, "measuring")
    # A second watch (a controller that lost its connection) gets the same result.
    first = client.watch(job_id)
    again = client.watch(job_id)
    assert first.state == again.state == pb.JOB_STATE_SUCCEEDED
    assert list(first.samples_ns) == list(again.samples_ns) and len(first.samples_ns) == 200
    assert job_id in [j.job_id for j in client.list_jobs()]
    client.collect(job_id)
    assert job_id not in [j.job_id for j in client.list_jobs()]
    with pytest.raises(grpc.RpcError) as err:
        next(iter(client.stub.Watch(pb.WatchRequest(job_id=job_id), timeout=10)))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_jobs_run_one_at_a_time_in_order_and_cancel(client, tiny_onnx, tmp_path):
    slow = slow_matmul(tmp_path / "slow.onnx")
    running = submit(client, slow, threads=1, runs=0, min_duration_s=30)
    queued = [submit(client, tiny_onnx, threads=1, runs=5) for _ in range(3)]
    wait_for_phase(client, running, "measuring")
    status = client.cancel(queued[1])
    assert status.state == pb.JOB_STATE_CANCELLED
    client.cancel(running)
    results = [client.watch(j) for j in [running, *queued]]
    assert results[0].state == pb.JOB_STATE_CANCELLED
    assert [r.state for r in results[1:]] == [pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_CANCELLED,
                                              pb.JOB_STATE_SUCCEEDED]
    # One at a time: each ran after the previous one finished.
    assert results[1].started_unix_s >= results[0].finished_unix_s - 0.05
    assert results[3].started_unix_s >= results[1].finished_unix_s
    for job in [running, *queued]:
        client.collect(job)


def test_queue_limit_answers_resource_exhausted(tmp_path, tiny_onnx):
    from edgebench.controller.link.local_agent import start_local_agent

    slow = slow_matmul(tmp_path / "slow.onnx")
    with start_local_agent(str(tmp_path / "state"), ["--max-queue", "2"]) as agent, \
            AgentClient(agent.address) as client:
        first = submit(client, slow, threads=1, runs=0, min_duration_s=30)
        wait_for_phase(client, first, "loading")
        submit(client, tiny_onnx, runs=1)
        submit(client, tiny_onnx, runs=1)
        sha = client.ensure_model(tiny_onnx).sha256
        with pytest.raises(grpc.RpcError) as err:
            client.stub.Submit(pb.JobSpec(model_sha256=sha, runs=1), timeout=10)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "queue is full" in err.value.details()


def test_absurd_spec_fields_are_rejected(client, tiny_onnx):
    upload = client.ensure_model(tiny_onnx)
    for spec in (
        pb.JobSpec(model_sha256=upload.sha256, threads=100000),
        pb.JobSpec(model_sha256=upload.sha256, input_shapes=[pb.InputShape(name="input", dims=[1 << 20] * 4)]),
        pb.JobSpec(model_sha256=upload.sha256, input_shapes=[pb.InputShape(name="input", dims=[0, 3])]),
        pb.JobSpec(model_sha256=upload.sha256, timeout_s=-1),
        pb.JobSpec(model_sha256="f" * 64),
    ):
        with pytest.raises(grpc.RpcError) as err:
            client.stub.Submit(spec, timeout=10)
        assert err.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)


def test_agent_listen_default_port_and_cli():
    from edgebench.agent import DEFAULT_PORT
    from edgebench.agent.cli import listen_address

    assert listen_address("0.0.0.0") == f"0.0.0.0:{DEFAULT_PORT}"
    assert listen_address("127.0.0.1:9000") == "127.0.0.1:9000"
    assert listen_address("[::1]") == f"[::1]:{DEFAULT_PORT}"
    assert listen_address("::1") == f"[::1]:{DEFAULT_PORT}"
    out = subprocess.run([sys.executable, "-m", "edgebench.agent.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert str(DEFAULT_PORT) in out.stdout
