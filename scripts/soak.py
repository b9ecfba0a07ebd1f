#!/usr/bin/env python3
"""Soak: one real agent serving back-to-back jobs for N minutes, its memory sampled all along.

    python scripts/soak.py                 # 60 minutes, zoo:tiny_cnn and zoo:tiny_cnn_tflite alternating
    python scripts/soak.py --minutes 10 --sample-s 10

Prints the agent's RSS over time (its own process, not the workers: each job runs in a fresh worker),
its thread and open-file counts, and the least-squares slope of RSS after a warm-up, in MB per hour.
Not part of CI: the figures go in the README.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edgebench.controller import zoo  # noqa: E402
from edgebench.controller.link.client import AgentClient  # noqa: E402
from edgebench.controller.link.local_agent import start_local_agent  # noqa: E402
from edgebench.v1 import agent_pb2 as pb  # noqa: E402


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    return 0.0 if var == 0 else sum((t - mx) * (v - my) for t, v in points) / var * 3600


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--sample-s", type=float, default=30.0, help="seconds between memory samples")
    p.add_argument("--warmup-min", type=float, default=1.0, help="minutes left out of the slope")
    p.add_argument("--models", default="zoo:tiny_cnn,zoo:tiny_cnn_tflite")
    p.add_argument("--gap-s", type=float, default=0.0,
                   help="idle seconds between jobs (a board's real duty cycle; leaves CPU for other work)")
    args = p.parse_args()

    models = [zoo.resolve(m) for m in args.models.split(",")]
    with tempfile.TemporaryDirectory(prefix="edgebench-soak-") as state, \
            start_local_agent(state, ["--no-sensors", "--max-queue", "8"]) as agent, \
            AgentClient(agent.address) as client:
        proc = psutil.Process(agent.process.pid)
        shas = [client.ensure_model(m).sha256 for m in models]
        start = time.monotonic()
        end = start + args.minutes * 60
        next_sample = start
        samples: list[tuple[float, float, int, int]] = []
        jobs = failed = 0
        print(f"soak: agent pid {proc.pid} on {agent.address}, {args.minutes:g} min, models {args.models}, "
              f"{args.gap_s:g} s between jobs",
              flush=True)
        print(f"{'t_min':>7} {'rss_mb':>8} {'threads':>7} {'fds':>5} {'jobs':>7}", flush=True)
        while True:
            now = time.monotonic()
            if now >= next_sample:
                rss = proc.memory_info().rss / (1 << 20)
                samples.append((now - start, rss, proc.num_threads(), proc.num_fds()))
                print(f"{(now - start) / 60:7.1f} {rss:8.1f} {proc.num_threads():7d} {proc.num_fds():5d} {jobs:7d}",
                      flush=True)
                next_sample += args.sample_s
            if now >= end:
                break
            sha = shas[jobs % len(shas)]
            job = client.submit(pb.JobSpec(model_sha256=sha, threads=1, runs=20, warmup_runs=2))
            result = client.watch(job.job_id)
            client.collect(job.job_id)
            jobs += 1
            failed += result.state != pb.JOB_STATE_SUCCEEDED
            if args.gap_s:
                time.sleep(min(args.gap_s, max(0.0, end - time.monotonic())))
        elapsed = time.monotonic() - start
        steady = [(t, rss) for t, rss, _, _ in samples if t >= args.warmup_min * 60] or [(t, r) for t, r, _, _ in samples]
        rss_values = [r for _, r in steady]
        print(f"\nsummary: {jobs} jobs in {elapsed / 60:.1f} min ({jobs / elapsed:.2f} jobs/s), {failed} failed")
        print(f"agent RSS: start {samples[0][1]:.1f} MB, after warm-up min {min(rss_values):.1f} / "
              f"max {max(rss_values):.1f} / last {samples[-1][1]:.1f} MB")
        print(f"RSS slope after the first {args.warmup_min:g} min: {slope_per_hour(steady):+.2f} MB/hour "
              f"({len(steady)} samples)")
        print(f"threads: {samples[0][2]} -> {samples[-1][2]}, open fds: {samples[0][3]} -> {samples[-1][3]}")
        print(f"jobs left on the agent: {len(client.list_jobs())}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
