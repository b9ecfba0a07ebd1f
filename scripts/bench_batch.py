#!/usr/bin/env python3
"""What a batch job saves: N small models as N jobs (one worker start each) against one batch job.

Both ways run the same models with the same runs through one local agent, interleaved over rounds, and the
script prints the wall time per model of each and their ratio, plus the per-item figures that must agree
(median latency of the same model measured both ways).

    python scripts/bench_batch.py [--models 40] [--runs 20] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgebench.controller.link.client import AgentClient
from edgebench.controller.link.local_agent import start_local_agent
from edgebench.v1 import agent_pb2 as pb


def kernel_model(path: Path, channels: int) -> Path:
    """One pointwise convolution: the size of one kernel-suite item."""
    w = numpy_helper.from_array(np.random.default_rng(channels).standard_normal(
        (channels, channels, 1, 1)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"])], f"pw{channels}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 14, 14])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, 14, 14])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def one_job_each(client: AgentClient, shas: list[str], runs: int) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    medians = []
    for sha in shas:
        job = client.submit(pb.JobSpec(model_sha256=sha, threads=1, warmup_runs=2, runs=runs))
        result = client.watch(job.job_id)
        if result.state != pb.JOB_STATE_SUCCEEDED:
            raise SystemExit(f"job failed: {result.error}")
        client.collect(job.job_id)
        medians.append(result.latency.p50_ms)
    return time.perf_counter() - t0, medians


def one_batch(client: AgentClient, shas: list[str], runs: int) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    job = client.submit(pb.JobSpec(batch=[pb.BatchModel(model_sha256=s) for s in shas], threads=1,
                                   warmup_runs=2, runs=runs, timeout_s=3600))
    result = client.watch(job.job_id)
    client.collect(job.job_id)
    if result.state != pb.JOB_STATE_SUCCEEDED or any(b.error for b in result.batch):
        raise SystemExit(f"batch failed: {result.error or [b.error for b in result.batch if b.error]}")
    return time.perf_counter() - t0, [b.latency.p50_ms for b in result.batch]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=40)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, start_local_agent(None, ["--no-sensors"]) as agent, \
            AgentClient(agent.address) as client:
        paths = [kernel_model(Path(tmp) / f"pw{c}.onnx", c) for c in range(8, 8 + 4 * args.models, 4)]
        shas = [client.ensure_model(p).sha256 for p in paths]
        print(f"{args.models} single-Conv ONNX models, {args.runs} runs each, {args.rounds} rounds interleaved")
        ratios, separate_s, batched_s, latency_ratios = [], [], [], []
        for round_no in range(args.rounds):
            order = ("jobs", "batch") if round_no % 2 == 0 else ("batch", "jobs")
            for which in order:
                if which == "jobs":
                    wall_jobs, lat_jobs = one_job_each(client, shas, args.runs)
                else:
                    wall_batch, lat_batch = one_batch(client, shas, args.runs)
            separate_s.append(wall_jobs)
            batched_s.append(wall_batch)
            ratios.append(wall_jobs / wall_batch)
            latency_ratios.append(statistics.median(b / j for b, j in zip(lat_batch, lat_jobs, strict=True)))
            print(f"  round {round_no + 1}: {args.models} jobs {wall_jobs:.2f} s "
                  f"({1000 * wall_jobs / args.models:.0f} ms/model), one batch {wall_batch:.2f} s "
                  f"({1000 * wall_batch / args.models:.0f} ms/model), ratio {wall_jobs / wall_batch:.2f}")
        print(f"median wall ratio jobs/batch {statistics.median(ratios):.2f}; per model "
              f"{1000 * statistics.median(separate_s) / args.models:.0f} ms as jobs, "
              f"{1000 * statistics.median(batched_s) / args.models:.0f} ms in a batch")
        print(f"median per-model p50 latency ratio batch/jobs {statistics.median(latency_ratios):.3f} "
              "(the same kernels measured both ways: about 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
