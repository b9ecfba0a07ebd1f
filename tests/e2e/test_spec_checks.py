"""Numbers in a JobSpec that no range check can catch: NaN and infinities, refused by name on both sides."""
from __future__ import annotations

import grpc

from edgebench.v1 import agent_pb2 as pb
from tests.conftest import run_controller

FLOAT_FIELDS = ["timeout_s", "min_duration_s", "sample_rate_hz", "idle_baseline_s", "cooldown_to_c",
                "cooldown_timeout_s", "max_duration_s", "rate_hz", "deadline_ms"]


def test_every_float_field_of_the_spec_is_listed_here():
    """A new double in JobSpec joins FLOAT_FIELDS, so the test below covers it (the agent checks all of them)."""
    doubles = [f.name for f in pb.JobSpec.DESCRIPTOR.fields if f.type == f.TYPE_DOUBLE]
    assert sorted(doubles) == sorted(FLOAT_FIELDS)


def test_non_finite_numbers_are_refused_by_name(client, tiny_onnx):
    sha = client.ensure_model(tiny_onnx).sha256
    for field in FLOAT_FIELDS:
        for value in (float("nan"), float("inf"), float("-inf")):
            try:
                client.stub.Submit(pb.JobSpec(model_sha256=sha, runs=1, **{field: value}), timeout=30)
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT, (field, value)
                assert exc.details() == f"{field} must be a finite number, not {value}", exc.details()
            else:
                raise AssertionError(f"{field} = {value} was accepted")
    assert client.list_jobs() == [] or all(j.state != pb.JOB_STATE_QUEUED for j in client.list_jobs())


def test_controller_refuses_a_nan_timeout_or_duration(agent, tiny_onnx):
    for flag in ("--timeout", "--duration"):
        proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), flag, "nan", "--no-progress",
                              "--no-store", timeout=60)
        assert proc.returncode != 0 and "must be finite and not negative" in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_inputs_over_the_message_limit_go_by_upload(client, tmp_path):
    import io

    import numpy as np

    from tests.e2e.models import dynamic_conv

    model = dynamic_conv(tmp_path / "dynamic.onnx")
    sha = client.ensure_model(model).sha256
    array = np.random.default_rng(0).standard_normal((1, 3, 640, 640)).astype(np.float32)  # 4.9 MB
    buf = io.BytesIO()
    np.save(buf, array)
    npy = tmp_path / "x.npy"
    npy.write_bytes(buf.getvalue())
    # Inline, the spec is over the agent's 4 MiB message limit: refused by gRPC before any handler.
    try:
        client.stub.Submit(pb.JobSpec(model_sha256=sha, inputs=[pb.InputData(name="x", npy=npy.read_bytes())]),
                           timeout=30)
        raise AssertionError("a 4.9 MB spec was accepted")
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Uploaded like a model and named by its hash, it is what the worker feeds.
    array_sha = client.ensure_model(npy).sha256
    job = client.submit(pb.JobSpec(model_sha256=sha, threads=1, runs=1,
                                   inputs=[pb.InputData(name="x", npy_sha256=array_sha)]))
    result = client.watch(job.job_id)
    assert result.state == pb.JOB_STATE_SUCCEEDED, result.error
    assert [list(i.shape) for i in result.inputs] == [[1, 3, 640, 640]]
    for bad, code, text in (
        (pb.InputData(name="x", npy_sha256="ab" * 32), grpc.StatusCode.NOT_FOUND, "is not on this agent"),
        (pb.InputData(name="x", npy_sha256="nope"), grpc.StatusCode.INVALID_ARGUMENT, "not a sha256"),
        (pb.InputData(name="x", npy=b"x", npy_sha256=array_sha), grpc.StatusCode.INVALID_ARGUMENT, "not both"),
    ):
        try:
            client.stub.Submit(pb.JobSpec(model_sha256=sha, inputs=[bad]), timeout=30)
            raise AssertionError(f"accepted: {bad}")
        except grpc.RpcError as exc:
            assert exc.code() == code and text in exc.details(), exc.details()
