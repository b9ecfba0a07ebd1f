"""Bad input gets one clear line, the agent keeps serving, nothing half-written stays behind."""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from edgebench.v1 import agent_pb2 as pb
from edgebench.v1 import agent_pb2_grpc
from tests.conftest import bench_json, run_controller
from tests.e2e.helpers import serve_fake_agent, submit, wait_for_phase, worker_processes
from tests.e2e.models import slow_matmul, unsupported_op


@pytest.fixture(autouse=True)
def agent_keeps_serving(agent, tiny_onnx):
    """After every bad-input test, the same agent still runs a good job."""
    yield
    doc = bench_json("--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "3")
    assert doc["runs"][0]["status"] == "ok"


def failed_run_error(agent, model, *extra) -> str:
    doc = bench_json("--target", agent.address, str(model), "--threads", "1", "--runs", "3", *extra, check_rc=1)
    run = doc["runs"][0]
    assert run["status"] == "failed" and run["latency_ms"] is None
    assert "\n" not in run["error"]
    return run["error"]


def refused_before_upload(agent, client, model, *extra) -> str:
    """The controller reads the model's inputs before uploading it: a damaged file stops there, in one line."""
    proc = run_controller("bench", "--target", agent.address, str(model), "--threads", "1", "--runs", "3",
                          "--no-progress", "--no-store", *extra, check_rc=2)
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert not client.model_status(hashlib.sha256(Path(model).read_bytes()).hexdigest()).present
    return proc.stderr


def test_truncated_onnx(agent, client, tiny_onnx, tmp_path):
    broken = tmp_path / "truncated.onnx"
    broken.write_bytes(tiny_onnx.read_bytes()[: tiny_onnx.stat().st_size // 2])
    assert "truncated.onnx: the model is malformed" in refused_before_upload(agent, client, broken)
    assert "onnxruntime cannot load the model" in agent_job_error(client, broken)  # and the agent's own check


def test_garbage_file(agent, client, tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(os.urandom(4096))
    assert "junk.onnx: the model is malformed" in refused_before_upload(agent, client, junk)
    assert "cannot load" in agent_job_error(client, junk)


def test_truncated_tflite(agent, client, tiny_tflite, tmp_path):
    broken = tmp_path / "truncated.tflite"
    broken.write_bytes(tiny_tflite.read_bytes()[:200])
    assert "truncated.tflite: the model is malformed" in refused_before_upload(agent, client, broken)
    assert "TFLite cannot load the model" in agent_job_error(client, broken)


def agent_job_error(client, model, **spec) -> str:
    """What the agent itself says of a job the controller would refuse before upload (other clients exist)."""
    result = client.watch(submit(client, model, threads=1, runs=3, **spec))
    assert result.state == pb.JOB_STATE_FAILED and "\n" not in result.error
    return result.error


def test_onnx_sent_as_tflite(agent, client, tiny_onnx):
    error = agent_job_error(client, tiny_onnx, runtime=pb.RUNTIME_TFLITE)
    assert "not a TFLite model" in error and "ONNX" in error


def test_tflite_sent_as_onnx(agent, client, tiny_tflite):
    assert "onnxruntime cannot load the model" in agent_job_error(client, tiny_tflite, runtime=pb.RUNTIME_ONNXRUNTIME)


def test_unknown_input_name(agent, client, tiny_onnx):
    error = agent_job_error(client, tiny_onnx, input_shapes=[pb.InputShape(name="images", dims=[1, 3, 32, 32])])
    assert "unknown input name 'images'" in error and "input float32[1,3,32,32]" in error


def test_wrong_shape(agent, tiny_onnx):
    error = failed_run_error(agent, tiny_onnx, "--input-shape", "input=1x3x64x64")
    assert "does not match the model's [1,3,32,32]" in error
    error = failed_run_error(agent, tiny_onnx, "--input-shape", "input=1x3x32")
    assert "rank 3" in error


def test_unsupported_op(agent, tmp_path):
    model = unsupported_op(tmp_path / "unsupported.onnx")
    error = failed_run_error(agent, model)
    assert "FrobnicateTensor" in error or "com.example.nonexistent" in error


def test_unavailable_execution_provider(agent, client, tiny_onnx):
    error = agent_job_error(client, tiny_onnx, execution_provider="tensorrt")
    assert "TensorrtExecutionProvider is not available" in error and "CPUExecutionProvider" in error


def test_missing_model_file_is_one_clear_line():
    proc = run_controller("bench", "--target", "local", "/nonexistent/model.onnx", check_rc=2)
    assert proc.stderr.strip() == "controller: error: model file not found: /nonexistent/model.onnx"


def test_unreachable_target_names_address_and_port(tiny_onnx):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    proc = run_controller("bench", "--target", f"pi@127.0.0.1:{port}", str(tiny_onnx), timeout=60, check_rc=2)
    assert f"127.0.0.1:{port}" in proc.stderr and "cannot reach" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 30


def test_bad_target_syntax():
    proc = run_controller("bench", "--target", "pi@host:99999", "zoo:tiny_cnn", check_rc=2)
    assert "port must be a number" in proc.stderr


class _FutureAgent(agent_pb2_grpc.AgentServicer):
    """A real gRPC server speaking a newer API version than this controller knows."""

    def Describe(self, request, context):
        return pb.BoardDescription(agent_version="9.0.0", api_version=99)


def test_agent_version_the_controller_does_not_understand(tiny_onnx):
    with serve_fake_agent(_FutureAgent()) as port:
        proc = run_controller("bench", "--target", f"127.0.0.1:{port}", str(tiny_onnx), timeout=60, check_rc=2)
    assert "API version 99" in proc.stderr and "9.0.0" in proc.stderr


def test_worker_killed_mid_run(agent, client, tmp_path):
    slow = slow_matmul(tmp_path / "slow.onnx")
    job_id = submit(client, slow, threads=1, runs=0, min_duration_s=60)
    wait_for_phase(client, job_id, "measuring")
    workers = worker_processes(agent.process.pid)
    assert len(workers) == 1
    os.kill(workers[0].pid, signal.SIGKILL)
    result = client.watch(job_id)
    assert result.state == pb.JOB_STATE_FAILED
    assert "killed by SIGKILL" in result.error and result.worker_exit_code == -signal.SIGKILL
    client.collect(job_id)


def test_hung_job_is_killed_at_its_timeout(agent, client, tmp_path):
    slow = slow_matmul(tmp_path / "slow.onnx")
    started = time.monotonic()
    job_id = submit(client, slow, threads=1, runs=0, min_duration_s=120, timeout_s=3)
    result = client.watch(job_id)
    assert result.state == pb.JOB_STATE_TIMED_OUT and "timeout of 3 s" in result.error
    assert time.monotonic() - started < 60
    assert worker_processes(agent.process.pid) == []
    client.collect(job_id)


def test_upload_over_the_size_limit(tmp_path, tiny_onnx):
    from edgebench.controller.link.local_agent import start_local_agent

    limit_mb = 0.001  # ~1 KB: the tiny model is larger
    assert tiny_onnx.stat().st_size > limit_mb * (1 << 20)
    with start_local_agent(str(tmp_path / "state"), ["--max-model-mb", str(limit_mb)]) as small:
        # Nothing could run: exit 2 and one line (with several models, the others would still run: exit 1).
        proc = run_controller("bench", "--target", small.address, str(tiny_onnx), "--runs", "1", "--no-progress",
                              "--no-store", check_rc=2)
        assert "over this agent's limit" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert list((tmp_path / "state" / "models").iterdir()) == []


def test_external_delegate_that_cannot_load(agent, client, tiny_tflite, tmp_path):
    fake = tmp_path / "libnot_a_delegate.so"
    fake.write_bytes(b"\x7fELF but not really")
    error = failed_run_error(agent, tiny_tflite, "--ep", "external", "--delegate-path", str(fake))
    assert f"cannot load TFLite delegate {fake}" in error
    proc = run_controller("bench", "--target", agent.address, str(tiny_tflite), "--ep", "external", "--no-store",
                          check_rc=2)  # caught before upload now; the agent's own check stays
    assert "--ep external needs --delegate-path" in proc.stderr
    assert "needs a path" in agent_job_error(client, tiny_tflite, execution_provider="external")
