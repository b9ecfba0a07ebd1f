"""Hostile input to an authenticated agent: names that try to leave the state dir, crafted hashes and job ids,
uploads over the limit or lying about their size. The agent derives every path from a sha256 or its own job
id; these tests prove it by walking the whole folder around the state dir afterwards."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import grpc
import numpy as np
import pytest

from edgebench.controller.link.local_agent import start_local_agent
from edgebench.v1 import agent_pb2 as pb
from edgebench.v1 import agent_pb2_grpc

TOKEN = "attack-tests-token-0123456789abcdef"
AUTH = [("authorization", f"Bearer {TOKEN}")]
LIMIT_BYTES = 64 * 1024  # the tiny zoo model (~7 KB) fits


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """An agent whose state dir is board/state; anything written elsewhere under board/ is an escape."""
    root = tmp_path_factory.mktemp("board")
    token = root / "agent.token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    with start_local_agent(str(root / "state"), ["--token-file", str(token),
                                                 "--max-model-mb", str(LIMIT_BYTES / (1 << 20))]) as agent:
        yield root, agent


@pytest.fixture
def stub(board):
    _, agent = board
    with grpc.insecure_channel(agent.address) as channel:
        yield agent_pb2_grpc.AgentStub(channel)


def files_under(root: Path) -> list[Path]:
    return sorted(Path(d) / f for d, _, names in os.walk(root) for f in names)


def assert_nothing_escaped(root: Path) -> None:
    state = root / "state"
    for path in files_under(root):
        if path.name == "agent.token" and path.parent == root:
            continue
        rel = path.relative_to(state)  # raises if the file is outside the state dir
        assert ".." not in rel.parts
        top = rel.parts[0]
        if top == "models":
            assert len(rel.parts) == 2 and len(rel.parts[1]) == 64 and int(rel.parts[1], 16) >= 0, rel
        else:
            assert top == "jobs" and len(rel.parts) == 3, rel
    for name in ("escaped_upload", "escaped_job", "escaped_abs", "escaped_input", "x"):
        assert not (root / name).exists() and not (root.parent / name).exists()


def upload(stub, data: bytes, name: str, declared: int | None = None, sha: str | None = None,
           metadata=AUTH) -> pb.ModelStatus:
    sha = hashlib.sha256(data).hexdigest() if sha is None else sha

    def chunks():
        yield pb.UploadChunk(header=pb.UploadHeader(sha256=sha, size_bytes=len(data) if declared is None else declared,
                                                    name=name))
        for i in range(0, len(data), 1024):
            yield pb.UploadChunk(data=data[i:i + 1024])

    return stub.UploadModel(chunks(), metadata=metadata, timeout=30)


def run_job(stub, spec: pb.JobSpec) -> pb.JobResult:
    job_id = stub.Submit(spec, metadata=AUTH, timeout=30).job_id
    for event in stub.Watch(pb.WatchRequest(job_id=job_id), metadata=AUTH, timeout=120):
        if event.WhichOneof("kind") == "result":
            return event.result
    raise AssertionError("no result")


def test_crafted_upload_names_stay_in_the_model_cache(board, stub, tiny_onnx):
    root, _ = board
    data = tiny_onnx.read_bytes()
    assert len(data) < LIMIT_BYTES
    for name in ("../escaped_upload", "../../../../../../tmp/escaped_upload", str(root / "escaped_abs"),
                 "models/../../escaped_upload", "x\x00y", "\u202e/etc/passwd"):
        status = upload(stub, data, name)
        assert status.present and status.sha256 == hashlib.sha256(data).hexdigest()
    assert not Path("/tmp/escaped_upload").exists()
    assert_nothing_escaped(root)


def test_crafted_model_and_input_names_stay_in_the_job_dir(board, stub, tiny_onnx):
    root, _ = board
    sha = upload(stub, tiny_onnx.read_bytes(), "tiny.onnx").sha256
    for model_name in ("../../etc/x", "../escaped_job", str(root / "escaped_abs"), "a/../../escaped_job"):
        result = run_job(stub, pb.JobSpec(model_sha256=sha, model_name=model_name, runs=2, threads=1,
                                          profile_ops=True))
        assert result.state == pb.JOB_STATE_SUCCEEDED, result.error
        assert result.model_name == model_name  # a label, echoed back, never a path
        stub.Collect(pb.JobRef(job_id=result.job_id), metadata=AUTH, timeout=30)
    # An input named like a path: refused as an unknown input, nothing written for it.
    buf = io.BytesIO()
    np.save(buf, np.zeros((1, 3, 32, 32), np.float32))
    spec = pb.JobSpec(model_sha256=sha, model_name="x", runs=1, threads=1)
    spec.inputs.add(name="../escaped_input", npy=buf.getvalue())
    result = run_job(stub, spec)
    assert result.state == pb.JOB_STATE_FAILED and "unknown input '../escaped_input'" in result.error
    assert not Path("/etc/x").exists()
    assert_nothing_escaped(root)


@pytest.mark.parametrize("sha", ["../../etc/passwd", "../models", "/etc/passwd", "A" * 64, "0" * 63, ""])
def test_crafted_hashes_are_refused(board, stub, sha):
    root, _ = board
    with pytest.raises(grpc.RpcError) as info:
        stub.HasModel(pb.ModelRef(sha256=sha), metadata=AUTH, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        stub.Submit(pb.JobSpec(model_sha256=sha, runs=1), metadata=AUTH, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        upload(stub, b"not a model", "m.onnx", sha=sha)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert_nothing_escaped(root)


@pytest.mark.parametrize("job_id", ["../models", "../../", "..", "/", "jobs/../../models"])
def test_crafted_job_ids_touch_nothing(board, stub, job_id, tiny_onnx):
    root, _ = board
    upload(stub, tiny_onnx.read_bytes(), "tiny.onnx")
    before = files_under(root)
    for call in (stub.Collect, stub.Cancel):
        with pytest.raises(grpc.RpcError) as info:
            call(pb.JobRef(job_id=job_id), metadata=AUTH, timeout=10)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        list(stub.Watch(pb.WatchRequest(job_id=job_id), metadata=AUTH, timeout=10))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert files_under(root) == before


def test_uploads_over_the_limit(board, stub):
    root, _ = board
    models = root / "state" / "models"
    before = sorted(models.iterdir())
    big = os.urandom(LIMIT_BYTES * 4)
    # Declared over the limit: refused before a byte is stored.
    with pytest.raises(grpc.RpcError) as info:
        upload(stub, big, "big.onnx")
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "over this agent's limit" in info.value.details()
    # Declared small, streamed big: cut off as soon as the stream passes the declared size.
    with pytest.raises(grpc.RpcError) as info:
        upload(stub, big, "liar.onnx", declared=100)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "longer than its declared" in info.value.details()
    # Declared at the limit, streamed past it: cut off at the limit.
    with pytest.raises(grpc.RpcError) as info:
        upload(stub, big, "liar2.onnx", declared=LIMIT_BYTES)
    assert info.value.code() in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INVALID_ARGUMENT)
    # Over the limit without the token: refused for the token first, nothing read.
    with pytest.raises(grpc.RpcError) as info:
        upload(stub, big, "big.onnx", metadata=[("authorization", "Bearer not-the-token-0123456789")])
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert sorted(models.iterdir()) == before  # no model, no .part file left behind
    assert_nothing_escaped(root)
