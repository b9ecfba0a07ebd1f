"""Batch jobs (many models in one worker) and the optimized graph, against a real agent over gRPC on loopback."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import grpc
import onnx
import pytest

from edgebench.controller.link.client import AgentClient
from edgebench.v1 import agent_pb2 as pb
from tests.e2e.helpers import submit, worker_processes
from tests.e2e.models import conv_relu, slow_matmul, unsupported_op

pytestmark = pytest.mark.slow


def batch_item(client: AgentClient, model: Path, **fields) -> pb.BatchModel:
    sha = client.ensure_model(model).sha256
    return pb.BatchModel(model_sha256=sha, model_name=fields.pop("name", model.stem), **fields)


def watch_all(client: AgentClient, job_id: str, timeout_s: float = 240) -> tuple[pb.JobResult, list[pb.Progress]]:
    """The result and every progress snapshot seen on the way (bounded in time)."""
    seen: list[pb.Progress] = []
    for event in client.stub.Watch(pb.WatchRequest(job_id=job_id), timeout=timeout_s):
        if event.WhichOneof("kind") == "result":
            return event.result, seen
        seen.append(event.progress)
    raise AssertionError(f"the watch of {job_id} ended without a result")


def test_batch_of_onnx_and_tflite_with_a_bad_item(client, agent, tiny_onnx, tiny_tflite, tmp_path):
    bad = unsupported_op(tmp_path / "bad.onnx")
    items = [
        batch_item(client, tiny_onnx, name="onnx-plain"),
        batch_item(client, tiny_onnx, name="onnx-profiled", profile_ops=True),
        batch_item(client, bad, name="bad"),
        batch_item(client, tiny_tflite, name="tflite"),
        batch_item(client, tiny_onnx, name="onnx-after-the-bad-one"),
    ]
    spec = pb.JobSpec(model_name="suite", batch=items, threads=1, warmup_runs=1, runs=7)
    result, progress = watch_all(client, client.submit(spec).job_id)

    assert result.state == pb.JOB_STATE_SUCCEEDED, result.error
    assert [b.model_name for b in result.batch] == [i.model_name for i in items]
    assert [b.model_sha256 for b in result.batch] == [i.model_sha256 for i in items]
    by_name = {b.model_name: b for b in result.batch}
    for name in ("onnx-plain", "onnx-profiled", "tflite", "onnx-after-the-bad-one"):
        item = by_name[name]
        assert item.state == pb.JOB_STATE_SUCCEEDED and item.error == "", (name, item.error)
        assert item.latency.count == 7 == len(item.samples_ns) and all(s > 0 for s in item.samples_ns)
        assert item.latency.p50_ms > 0 and item.load_ms > 0 and item.first_inference_ms > 0
        assert item.inputs and item.outputs and item.providers_used
        assert item.rss_after_load_kib > 0 and item.peak_rss_kib >= item.rss_after_load_kib
        assert item.window_end_ns > item.window_start_ns
    assert by_name["tflite"].runtime == "tflite" and by_name["tflite"].providers_used == ["xnnpack"]
    assert by_name["onnx-plain"].runtime == "onnxruntime"
    assert by_name["onnx-plain"].providers_used == ["CPUExecutionProvider"]
    # Profiles per item: only the item that asked for one has it.
    profiled = by_name["onnx-profiled"].op_profile
    assert profiled and all(op.mean_us > 0 and op.count >= 7 and op.op_type for op in profiled)
    assert {op.op_type for op in profiled} & {"Conv", "FusedConv", "Relu", "Gemm", "MatMul"}
    assert not by_name["onnx-plain"].op_profile and not by_name["tflite"].op_profile
    # The bad item says why in one line, and the batch went on past it.
    bad_item = by_name["bad"]
    assert bad_item.state == pb.JOB_STATE_FAILED and "onnxruntime cannot load" in bad_item.error
    assert "\n" not in bad_item.error and not bad_item.samples_ns
    assert any("1 of 5 batch items failed" in w for w in result.warnings)
    # Back to back in one worker: the items' timed windows are in order and within the job's window.
    windows = [(b.window_start_ns, b.window_end_ns) for b in result.batch if b.state == pb.JOB_STATE_SUCCEEDED]
    assert windows == sorted(windows)
    assert result.window_start_ns == windows[0][0] and result.window_end_ns == windows[-1][1]
    assert result.runtime == "mixed" and not result.samples_ns and result.worker_exit_code == 0
    assert {p.batch_total for p in progress if p.batch_total} == {5}
    # The profiles were removed from the job dir once read.
    assert not list((agent.state_dir / "jobs" / result.job_id).glob("ort_profile*"))
    client.collect(result.job_id)


def test_batch_submit_is_checked_up_front(client, tiny_onnx):
    good = batch_item(client, tiny_onnx)
    absent = "ab" * 32
    cases = {
        "missing model": (pb.JobSpec(batch=[good, pb.BatchModel(model_sha256=absent)]), grpc.StatusCode.NOT_FOUND,
                          f"batch item 1: model {absent}"),
        "too many": (pb.JobSpec(batch=[good] * 4097), grpc.StatusCode.INVALID_ARGUMENT, "at most 4096"),
        "not a sha": (pb.JobSpec(batch=[good, pb.BatchModel(model_sha256="../x")]),
                      grpc.StatusCode.INVALID_ARGUMENT, "batch item 1"),
        "job-level model too": (pb.JobSpec(model_sha256=good.model_sha256, batch=[good]),
                                grpc.StatusCode.INVALID_ARGUMENT, "model_sha256"),
        "job-level profile": (pb.JobSpec(profile_ops=True, batch=[good]), grpc.StatusCode.INVALID_ARGUMENT,
                              "profile_ops"),
        "item shapes": (pb.JobSpec(batch=[pb.BatchModel(model_sha256=good.model_sha256,
                                                        input_shapes=[pb.InputShape(name="x", dims=[0])])]),
                        grpc.StatusCode.INVALID_ARGUMENT, "batch item 0"),
    }
    for what, (spec, code, text) in cases.items():
        with pytest.raises(grpc.RpcError) as err:
            client.stub.Submit(spec, timeout=30)
        assert err.value.code() == code, what
        assert text in err.value.details() and "\n" not in err.value.details(), (what, err.value.details())
    # 4096 items is allowed: the bound is the limit, not below it.
    handle = client.submit(pb.JobSpec(batch=[good] * 4096, runs=1, threads=1))
    client.cancel(handle.job_id)


def test_batch_worker_killed_midway_keeps_finished_items(client, agent, tmp_path):
    slow = slow_matmul(tmp_path / "slow.onnx", n=192)
    items = [batch_item(client, slow, name=f"slow-{i}") for i in range(6)]
    spec = pb.JobSpec(batch=items, threads=1, warmup_runs=0, runs=1, min_duration_s=0.4, timeout_s=120)
    job_id = client.submit(spec).job_id
    deadline = time.monotonic() + 120
    killed = False
    for event in client.stub.Watch(pb.WatchRequest(job_id=job_id), timeout=120):
        if event.WhichOneof("kind") == "result":
            break
        if not killed and event.progress.batch_done >= 2:
            workers = worker_processes(agent.process.pid)
            assert workers, "no worker process to kill"
            for worker in workers:
                os.kill(worker.pid, signal.SIGSEGV)  # what a runtime's crash looks like to the agent
            killed = True
        assert time.monotonic() < deadline
    assert killed
    result = client.watch(job_id)
    assert result.state == pb.JOB_STATE_FAILED and result.worker_exit_code == -signal.SIGSEGV
    assert len(result.batch) == 6
    done = [b for b in result.batch if b.state == pb.JOB_STATE_SUCCEEDED]
    at = len(done)
    assert 2 <= at < 6 and result.batch[:at] == done  # the finished ones come first and are whole
    for item in done:
        assert item.latency.count == len(item.samples_ns) >= 1 and item.window_end_ns > item.window_start_ns
    crashed = result.batch[at]
    assert crashed.state == pb.JOB_STATE_FAILED and "SIGSEGV" in crashed.error, crashed.error
    assert all(b.state == pb.JOB_STATE_FAILED and b.error.startswith("not run") for b in result.batch[at + 1:])
    assert f"batch item {at} (slow-{at})" in result.error and "SIGSEGV" in result.error
    assert f"the {at} items before it are kept" in result.error and "\n" not in result.error
    # The agent serves on.
    assert client.watch(submit(client, slow, threads=1, runs=1)).state == pb.JOB_STATE_SUCCEEDED


def graph_of(data: bytes) -> onnx.ModelProto:
    assert data, "no optimized graph came back"
    return onnx.load_model_from_string(data)  # the weights are external and not needed to parse it


def test_optimized_graph_at_each_level(client, agent, tmp_path):
    model = conv_relu(tmp_path / "conv_relu.onnx", channels=32)
    weights_bytes = 32 * 32 * 3 * 3 * 4
    graphs = {}
    for level in ("all", "extended", "disable"):
        result = client.watch(submit(client, model, threads=1, runs=2, return_optimized_model=True,
                                     graph_optimization_level=level))
        assert result.state == pb.JOB_STATE_SUCCEEDED, result.error
        assert result.latency.count == 2 and result.load_ms > 0
        graphs[level] = graph_of(result.optimized_model)
        # Small: the weights went to a side file that did not come back.
        assert len(result.optimized_model) < weights_bytes / 8
        external = [t for t in graphs[level].graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
        assert any(list(t.dims) == [32, 32, 3, 3] for t in external)
        assert not list((agent.state_dir / "jobs" / result.job_id).glob("*optimized*"))
        client.collect(result.job_id)
    ops = {level: [(n.domain, n.op_type) for n in g.graph.node] for level, g in graphs.items()}
    assert ops["disable"] == [("", "Conv"), ("", "Relu")]
    assert ("com.microsoft", "FusedConv") in ops["extended"] and ("", "Relu") not in ops["extended"]
    fused_at_all = {("com.microsoft", "FusedConv"), ("com.microsoft.nchwc", "Conv")}
    assert fused_at_all & set(ops["all"]) and ("", "Relu") not in ops["all"], ops["all"]
    # The runtime's default level is "all".
    default = client.watch(submit(client, model, threads=1, runs=1, return_optimized_model=True))
    assert [(n.domain, n.op_type) for n in graph_of(default.optimized_model).graph.node] == ops["all"]


def test_optimized_graph_in_batch_items_and_tflite_says_none(client, tiny_tflite, tmp_path):
    model = conv_relu(tmp_path / "conv_relu.onnx", channels=16, size=14)
    items = [batch_item(client, model, name="with-graph", return_optimized_model=True),
             batch_item(client, model, name="without"),
             batch_item(client, tiny_tflite, name="tflite", return_optimized_model=True)]
    result = client.watch(client.submit(pb.JobSpec(batch=items, threads=1, runs=2,
                                                   graph_optimization_level="extended")).job_id)
    assert result.state == pb.JOB_STATE_SUCCEEDED, result.error
    with_graph, without, tflite = result.batch
    assert with_graph.state == without.state == tflite.state == pb.JOB_STATE_SUCCEEDED
    assert ("com.microsoft", "FusedConv") in [(n.domain, n.op_type) for n in graph_of(with_graph.optimized_model)
                                              .graph.node]
    assert without.optimized_model == b""
    assert tflite.optimized_model == b"" and tflite.latency.count == 2
    assert any("no runtime-optimized graph" in w for w in tflite.warnings), tflite.warnings
    assert any("graph_optimization_level applies to onnxruntime only" in w for w in tflite.warnings)


def test_invalid_optimization_level_is_refused(client, tiny_onnx):
    sha = client.ensure_model(tiny_onnx).sha256
    with pytest.raises(grpc.RpcError) as err:
        client.stub.Submit(pb.JobSpec(model_sha256=sha, graph_optimization_level="max"), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "graph_optimization_level 'max'" in err.value.details()


def test_a_result_too_large_to_send_keeps_its_statistics():
    """The guard on the result's size (a job of many millions of runs, or a huge batch), on a real message."""
    from edgebench.agent.job_results import fit_in_a_message

    result = pb.JobResult(samples_ns=range(1_000_000, 1_050_000), latency=pb.LatencyStats(count=50_000, p50_ms=1.0))
    result.batch.add(model_name="item", samples_ns=range(1_000_000, 1_050_000), latency=pb.LatencyStats(count=50_000))
    small = pb.JobResult(samples_ns=[1, 2, 3])
    fit_in_a_message(small, limit=100_000)
    assert list(small.samples_ns) == [1, 2, 3] and not small.warnings
    fit_in_a_message(result, limit=100_000)
    assert not result.samples_ns and not result.batch[0].samples_ns
    assert result.latency.count == 50_000 and result.batch[0].latency.count == 50_000
    assert result.ByteSize() < 100_000 and "its 100000 raw samples were dropped" in result.warnings[0]
