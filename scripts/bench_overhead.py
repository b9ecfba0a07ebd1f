#!/usr/bin/env python3
"""Does the agent add cost to the per-inference figure it reports?

For the same model and thread count, interleaved over several rounds:
  bare   - a plain runtime loop in its own process (what a user would write by hand)
  agent  - the same model through a local agent + controller client (a job, its worker, gRPC)
prints the median per-inference latency of each and their ratio (aim: within 1.02), then the idle
agent's RSS (aim: under 60 MB, no runtime imported) and its start-up time.

    python scripts/bench_overhead.py [--model zoo:mobilenet_v2] [--threads 1] [--runs 200] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgebench.agent.procmem import read_proc_memory  # noqa: E402
from edgebench.controller.link.client import AgentClient  # noqa: E402
from edgebench.controller.link.local_agent import start_local_agent  # noqa: E402
from edgebench.controller.models import resolve_model, runtime_for  # noqa: E402
from edgebench.v1 import agent_pb2 as pb  # noqa: E402

# The bare loop: the runtime's own API and nothing else, timed exactly like the worker times it.
BARE_LOOP = r"""
import json, sys, time
import numpy as np
path, runtime, threads, warmup, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = np.random.default_rng(0)
if runtime == "onnxruntime":
    import onnxruntime as ort
    so = ort.SessionOptions(); so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])
    feeds = {i.name: rng.standard_normal([d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)
             for i in sess.get_inputs()}
    call = lambda: sess.run(None, feeds)
else:
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path, num_threads=threads); it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], rng.standard_normal(d["shape"]).astype(d["dtype"]))
    call = it.invoke
call()
for _ in range(warmup): call()
samples = []
for _ in range(runs):
    t0 = time.perf_counter_ns(); call(); samples.append(time.perf_counter_ns() - t0)
print(json.dumps(samples))
"""


def bare_median_ms(path: Path, runtime: str, threads: int, warmup: int, runs: int) -> float:
    out = subprocess.run([sys.executable, "-c", BARE_LOOP, str(path), runtime, str(threads), str(warmup), str(runs)],
                         capture_output=True, text=True, check=True, timeout=600)
    return statistics.median(json.loads(out.stdout)) / 1e6


def agent_median_ms(client: AgentClient, sha: str, name: str, runtime: str, threads: int, warmup: int,
                    runs: int) -> float:
    enum = pb.RUNTIME_ONNXRUNTIME if runtime == "onnxruntime" else pb.RUNTIME_TFLITE
    job = client.submit(pb.JobSpec(model_sha256=sha, model_name=name, runtime=enum, threads=threads,
                                   warmup_runs=warmup, runs=runs))
    result = client.watch(job.job_id)
    if result.state != pb.JOB_STATE_SUCCEEDED:
        raise SystemExit(f"agent job failed: {result.error}")
    client.collect(job.job_id)
    return statistics.median(result.samples_ns) / 1e6


def idle_agent_figures() -> tuple[float, float, float]:
    """Start-up to listening, start-up to SERVING health, and idle RSS after a Describe."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    t0 = time.perf_counter()
    with start_local_agent() as agent:
        listening_s = time.perf_counter() - t0
        with grpc.insecure_channel(agent.address) as channel:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=30,
                                                       wait_for_ready=True)
        serving_s = time.perf_counter() - t0
        with AgentClient(agent.address) as client:
            client.describe()  # the runtime probe has run (in a child) by now
        time.sleep(1.0)
        rss_mb = (read_proc_memory(agent.process.pid).rss_kib or 0) / 1024
    return listening_s, serving_s, rss_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="zoo:mobilenet_v2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    model = resolve_model(args.model)
    runtime = runtime_for(model, "auto")
    print(f"model {args.model} ({runtime}), threads {args.threads}, {args.runs} runs x {args.rounds} rounds, "
          "interleaved")
    bare: list[float] = []
    via_agent: list[float] = []
    with start_local_agent() as agent, AgentClient(agent.address) as client:
        sha = client.ensure_model(model.path, model.name).sha256
        for round_no in range(args.rounds):
            # Alternate which goes first so drift on a shared machine hits both alike.
            order = ("bare", "agent") if round_no % 2 == 0 else ("agent", "bare")
            for which in order:
                if which == "bare":
                    bare.append(bare_median_ms(model.path, runtime, args.threads, args.warmup, args.runs))
                else:
                    via_agent.append(agent_median_ms(client, sha, model.name, runtime, args.threads, args.warmup,
                                                     args.runs))
            print(f"  round {round_no + 1}: bare {bare[-1]:.3f} ms  agent {via_agent[-1]:.3f} ms  "
                  f"ratio {via_agent[-1] / bare[-1]:.3f}")
    b, a = statistics.median(bare), statistics.median(via_agent)
    # Rounds are side by side in time, so the median of per-round ratios cancels most machine drift.
    ratio = statistics.median(x / y for x, y in zip(via_agent, bare, strict=True))
    print(f"median per-inference latency: bare {b:.3f} ms, through agent {a:.3f} ms; "
          f"median per-round ratio agent/bare {ratio:.3f} (aim <= 1.02)")
    listening_s, serving_s, rss_mb = idle_agent_figures()
    print(f"agent start-up: listening after {listening_s:.2f} s, health SERVING after {serving_s:.2f} s")
    print(f"idle agent RSS after Describe: {rss_mb:.1f} MB (aim < 60 MB; runtimes are imported only in workers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
