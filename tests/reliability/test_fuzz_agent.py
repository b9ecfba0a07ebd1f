"""Bad input to a real agent: mutated models uploaded and run, absurd shapes under a memory limit, raw bytes
that are not a proto, oversized messages and fields. The agent answers each with a clear error and serves on."""
from __future__ import annotations

import collections
import dataclasses
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
AGENT_FUZZ_BUDGET_S = 240.0  # a bound, not a pass: every case must run within it
ZOO_MUTANTS = scale("agent_zoo_mutants", 200)
ZOO_SEEDS = ["zoo:tiny_cnn", "zoo:mlp", "zoo:tiny_cnn_tflite", "zoo:tiny_cnn_int8_tflite"]
BATCH_ITEMS = 25
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
    outcomes: collections.Counter[str] = collections.Counter()

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
        result = fuzz_client.watch(submit(fuzz_client, path, threads=1, runs=1, warmup_runs=0, timeout_s=30))
        one_line_error(result)
        outcomes["measured" if result.state == pb.JOB_STATE_SUCCEEDED else "clear error"] += 1
        assert fuzz_agent.process.poll() is None

    case()
    print(f"\n{sum(outcomes.values())} mutated models run as single jobs: {dict(outcomes)}")
    # Counted, not assumed: a slow machine that spends the budget fails here instead of passing with no cases.
    assert sum(outcomes.values()) >= AGENT_CASES * 3 // 4, dict(outcomes)
    serves(fuzz_client, tiny_onnx)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """Byte overwrites, a splice of random bytes, a truncation, or several at once (as the readers' fuzzing)."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 24)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    if rng.random() < 0.3:
        at = rng.randrange(len(out) + 1)
        out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    if rng.random() < 0.1:
        out = out[: rng.randrange(len(out))]
    return bytes(out)


@dataclasses.dataclass
class FuzzTally:
    measured: int = 0
    clear_errors: int = 0  # a model error in one line: the agent refused the model and said why
    worker_crashes: int = 0  # the runtime killed its worker: reported as such, the batch's rest run again
    timeouts: int = 0
    unclear: list[str] = dataclasses.field(default_factory=list)  # an empty or multi-line error
    agent_crashes: int = 0
    kinds: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)

    @property
    def total(self) -> int:
        return self.measured + self.clear_errors + self.worker_crashes + self.timeouts + len(self.unclear)


def tally_item(tally: FuzzTally, item: pb.BatchResult) -> None:
    if item.state == pb.JOB_STATE_SUCCEEDED:
        tally.measured += 1
    elif not item.error or "\n" in item.error or item.error.startswith("worker error"):
        tally.unclear.append(item.error)
    elif item.state == pb.JOB_STATE_TIMED_OUT:
        tally.timeouts += 1
    elif "while this item ran" in item.error:
        tally.worker_crashes += 1
    else:
        tally.clear_errors += 1
        tally.kinds[item.error.split(":")[0][:60]] += 1


def test_mutated_zoo_models_through_the_agent(fuzz_agent, fuzz_client, tmp_path):
    """200 mutated copies of the zoo's ONNX and TFLite models uploaded to a real agent and run (in batch jobs:
    one worker per batch, and a batch a crash stopped is resubmitted from the item after it). Counted: no
    agent crash, and every model either measured or refused in one clear line."""
    from edgebench.controller import zoo

    rng = random.Random(20240611)
    seeds = [zoo.resolve(name) for name in ZOO_SEEDS]
    items = []
    for index in range(ZOO_MUTANTS):
        seed = seeds[index % len(seeds)]
        path = tmp_path / f"mutant-{index}{seed.suffix}"
        path.write_bytes(mutate(seed.read_bytes(), rng))
        sha = fuzz_client.ensure_model(path).sha256
        items.append(pb.BatchModel(model_sha256=sha, model_name=path.name))
    tally = FuzzTally()
    pending = list(items)
    started = time.monotonic()
    for _ in range(2 * ZOO_MUTANTS):  # bounded: each round finishes at least one item
        if not pending:
            break
        chunk, pending = pending[:BATCH_ITEMS], pending[BATCH_ITEMS:]
        job = fuzz_client.submit(pb.JobSpec(batch=chunk, threads=1, warmup_runs=0, runs=1, timeout_s=120))
        result = fuzz_client.watch(job.job_id)
        fuzz_client.collect(job.job_id)
        assert [b.model_sha256 for b in result.batch] == [i.model_sha256 for i in chunk]
        finished = [b for b in result.batch if not b.error.startswith("not run")]
        for item in finished:
            tally_item(tally, item)
        pending = chunk[len(finished):] + pending  # what a crash or timeout left unrun goes again
        if fuzz_agent.process.poll() is not None:
            tally.agent_crashes += 1
            break
    elapsed = time.monotonic() - started
    print(f"\n{tally.total} mutated zoo models through the agent in {elapsed:.0f} s: {tally.measured} measured, "
          f"{tally.clear_errors} clear errors, {tally.worker_crashes} worker crashes (reported), {tally.timeouts} "
          f"timeouts, {len(tally.unclear)} unclear errors, {tally.agent_crashes} agent crashes; "
          f"the clear errors: {dict(tally.kinds.most_common(6))}")
    assert tally.agent_crashes == 0 and fuzz_agent.process.poll() is None
    assert tally.unclear == []
    assert tally.total == ZOO_MUTANTS and not pending  # every case counted, none skipped
    health = fuzz_client.health_status()
    assert health == "SERVING"


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
