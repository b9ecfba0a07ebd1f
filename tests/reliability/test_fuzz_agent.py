"""Bad input to a real agent: mutated models uploaded and run, absurd shapes under a memory limit, raw bytes
that are not a proto, oversized messages and fields. The agent answers each with a clear error and serves on."""
from __future__ import annotations

import random
import time
from pathlib import Path

import grpc
import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from edgebench.controller.link.client import AgentClient
from edgebench.v1 import agent_pb2 as pb
from tests.e2e.helpers import submit
from tests.reliability.helpers import quiet_agent, scale

pytestmark = pytest.mark.slow

AGENT_CASES = scale("agent_fuzz_cases", 16)
AGENT_FUZZ_BUDGET_S = 60.0
METHODS = ["Describe", "HasModel", "Submit", "Cancel", "ListJobs", "Collect"]


@pytest.fixture(scope="module")
def fuzz_agent(tmp_path_factory):
    with quiet_agent(tmp_path_factory.mktemp("fuzz-state"), "--job-timeout", "30",
                     "--worker-memory-mb", "2048") as agent:
        yield agent


@pytest.fixture(scope="module")
def fuzz_client(fuzz_agent):
    with AgentClient(fuzz_agent.address) as client:
        yield client


def serves(client: AgentClient, model: Path) -> None:
    result = client.watch(submit(client, model, threads=1, runs=1, warmup_runs=0))
    assert result.state == pb.JOB_STATE_SUCCEEDED, result.error


def one_line_error(result: pb.JobResult) -> None:
    assert result.state in (pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED), pb.JobState.Name(result.state)
    if result.state == pb.JOB_STATE_FAILED:
        assert result.error and "\n" not in result.error


def test_mutated_models_uploaded_and_run(fuzz_agent, fuzz_client, tiny_onnx, tiny_tflite):
    seeds = [tiny_onnx.read_bytes(), tiny_tflite.read_bytes()]
    started = time.monotonic()
    workdir = Path(fuzz_agent.state_dir).parent / "mutants"
    workdir.mkdir(exist_ok=True)

    @settings(max_examples=AGENT_CASES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, 1), st.integers(0, 2**32 - 1), st.integers(1, 24), st.booleans())
    def case(which: int, seed: int, flips: int, truncate: bool) -> None:
        if time.monotonic() - started > AGENT_FUZZ_BUDGET_S:
            return  # bounded in time as well as in count
        rng = random.Random(seed)
        data = bytearray(seeds[which])
        for _ in range(flips):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if truncate:
            data = data[: rng.randrange(len(data))]
        path = workdir / f"mutant-{seed}{'.onnx' if which == 0 else '.tflite'}"
        path.write_bytes(bytes(data))
        one_line_error(fuzz_client.watch(submit(fuzz_client, path, threads=1, runs=1, warmup_runs=0, timeout_s=30)))
        assert fuzz_agent.process.poll() is None

    case()
    serves(fuzz_client, tiny_onnx)


def upload_raw(client: AgentClient, chunks: list[pb.UploadChunk]) -> grpc.StatusCode:
    try:
        client.stub.UploadModel(iter(chunks), timeout=30)
    except grpc.RpcError as exc:
        assert exc.details() and "\n" not in exc.details()
        return exc.code()
    return grpc.StatusCode.OK


def test_upload_header_lies(fuzz_agent, fuzz_client, tiny_onnx):
    data = tiny_onnx.read_bytes()
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    other = hashlib.sha256(b"other").hexdigest()
    header = pb.UploadHeader
    cases = {
        "no header": ([pb.UploadChunk(data=data)], grpc.StatusCode.INVALID_ARGUMENT),
        "not a sha": ([pb.UploadChunk(header=header(sha256="../../etc/passwd", size_bytes=len(data)))],
                      grpc.StatusCode.INVALID_ARGUMENT),
        "short": ([pb.UploadChunk(header=header(sha256=other, size_bytes=len(data) + 5)), pb.UploadChunk(data=data)],
                  grpc.StatusCode.INVALID_ARGUMENT),
        "long": ([pb.UploadChunk(header=header(sha256=other, size_bytes=3)), pb.UploadChunk(data=data)],
                 grpc.StatusCode.INVALID_ARGUMENT),
        "wrong hash": ([pb.UploadChunk(header=header(sha256=other, size_bytes=len(data))), pb.UploadChunk(data=data)],
                       grpc.StatusCode.DATA_LOSS),
        "two headers": ([pb.UploadChunk(header=header(sha256=other, size_bytes=len(data))),
                         pb.UploadChunk(header=header(sha256=other, size_bytes=1))], grpc.StatusCode.INVALID_ARGUMENT),
        "over the limit": ([pb.UploadChunk(header=header(sha256=other, size_bytes=1 << 40))],
                           grpc.StatusCode.RESOURCE_EXHAUSTED),
        "huge name": ([pb.UploadChunk(header=header(sha256=sha, size_bytes=len(data), name="n" * 100_000)),
                       pb.UploadChunk(data=data)], grpc.StatusCode.INVALID_ARGUMENT),
    }
    for name, (chunks, code) in cases.items():
        assert upload_raw(fuzz_client, chunks) == code, name
    models = Path(fuzz_agent.state_dir) / "models"
    assert [p for p in models.iterdir() if p.name.endswith(".part")] == []
    assert other not in {p.name for p in models.iterdir()}


def huge_tensor_model(path: Path) -> Path:
    """A model that declares a 16 GiB intermediate tensor (ConstantOfShape of [65536, 65536] float32)."""
    shape = numpy_helper.from_array(np.array([65536, 65536], dtype=np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("ConstantOfShape", ["shape"], ["big"],
                          value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
         helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0),
         helper.make_node("Add", ["x", "s"], ["y"])],
        "huge", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], [shape])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def huge_input_model(path: Path) -> Path:
    """A fixed input of 2^42 floats: the agent would have to build a 16 TiB random input."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "huge_input",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 1 << 20, 1 << 20])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 1 << 20, 1 << 20])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_absurd_shapes_fail_cleanly_under_the_worker_memory_limit(fuzz_agent, fuzz_client, tiny_onnx, tmp_path):
    import psutil

    agent_rss = psutil.Process(fuzz_agent.process.pid).memory_info().rss
    for model in (huge_tensor_model(tmp_path / "huge.onnx"), huge_input_model(tmp_path / "huge_input.onnx")):
        result = fuzz_client.watch(submit(fuzz_client, model, threads=1, runs=1, warmup_runs=0))
        assert result.state == pb.JOB_STATE_FAILED and "\n" not in result.error
        assert any(w in result.error.lower() for w in ("memory", "alloc", "absurd", "too large")), result.error
    assert psutil.Process(fuzz_agent.process.pid).memory_info().rss < agent_rss + (64 << 20)
    serves(fuzz_client, tiny_onnx)


def test_raw_bytes_that_are_not_a_proto(fuzz_agent, fuzz_client, tiny_onnx):
    channel = grpc.insecure_channel(fuzz_agent.address)
    garbage = [b"\xff" * 7, b"\x0a\xff\xff\xff\xff\x0f", bytes(range(256)), b"\x12" * 1000]
    try:
        for method in METHODS:
            call = channel.unary_unary(f"/edgebench.v1.Agent/{method}")  # no serializer: raw bytes go out
            for raw in garbage:
                # Bytes that happen to parse (unknown fields) get a normal answer; the rest a clear refusal.
                try:
                    call(raw, timeout=10)
                    continue
                except grpc.RpcError as exc:
                    code = exc.code()
                assert code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT,
                                grpc.StatusCode.NOT_FOUND), (method, raw[:8], code)
            with pytest.raises(grpc.RpcError):  # a length that runs past the end never parses
                call(b"\x0a\xff\xff\xff\xff\x0f", timeout=10)
        watch = channel.unary_stream("/edgebench.v1.Agent/Watch")
        with pytest.raises(grpc.RpcError):
            list(watch(b"\xff\xff\xff", timeout=10))
        upload = channel.stream_unary("/edgebench.v1.Agent/UploadModel")
        with pytest.raises(grpc.RpcError):
            upload(iter([b"\xff\xff", b"\x0a\x05abc"]), timeout=10)
    finally:
        channel.close()
    serves(fuzz_client, tiny_onnx)


def test_oversized_messages_and_fields(fuzz_agent, fuzz_client, tiny_onnx):
    sha = fuzz_client.ensure_model(tiny_onnx).sha256
    big_channel = grpc.insecure_channel(fuzz_agent.address, options=[("grpc.max_send_message_length", 128 << 20)])
    try:
        submit_raw = big_channel.unary_unary("/edgebench.v1.Agent/Submit")
        huge = pb.JobSpec(model_sha256=sha, inputs=[pb.InputData(name="input", npy=b"\0" * (65 << 20))])
        with pytest.raises(grpc.RpcError) as err:
            submit_raw(huge.SerializeToString(), timeout=60)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        big_channel.close()
    long = "x" * 100_000
    specs = {
        "model_name": pb.JobSpec(model_sha256=sha, model_name=long),
        "client_id": pb.JobSpec(model_sha256=sha, client_id=long),
        "execution_provider": pb.JobSpec(model_sha256=sha, execution_provider=long),
        "delegate option": pb.JobSpec(model_sha256=sha, delegate_options={"k": long}),
        "input name": pb.JobSpec(model_sha256=sha, input_shapes=[pb.InputShape(name=long, dims=[1])]),
        "rank": pb.JobSpec(model_sha256=sha, input_shapes=[pb.InputShape(name="input", dims=[1] * 10_000)]),
        "delegate options": pb.JobSpec(model_sha256=sha, delegate_options={str(i): "" for i in range(5000)}),
        "elements": pb.JobSpec(model_sha256=sha, input_shapes=[pb.InputShape(name="input", dims=[1 << 20] * 3)]),
        "threads": pb.JobSpec(model_sha256=sha, threads=1 << 30),
    }
    for what, spec in specs.items():
        with pytest.raises(grpc.RpcError) as err:
            fuzz_client.stub.Submit(spec, timeout=30)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, what
        assert len(err.value.details()) < 500 and "\n" not in err.value.details(), what
    with pytest.raises(grpc.RpcError) as err:  # an absurd job id is answered briefly, not echoed back whole
        list(fuzz_client.stub.Watch(pb.WatchRequest(job_id="j" * (1 << 20)), timeout=30))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert all(len(j.model_name) <= 4096 for j in fuzz_client.list_jobs())
    serves(fuzz_client, tiny_onnx)
