#!/usr/bin/env python3
"""One controller against N agents on loopback: jobs per second and the controller's own CPU per job.

    python scripts/bench_fleet.py                       # N = 1, 10, 50; 4 jobs per agent; zoo:tiny_cnn
    python scripts/bench_fleet.py --agents 50 --jobs-per-agent 10 --threads 16

The controller is this process: a bounded pool of threads, one client per agent (the fan-out regress uses),
each uploading the model once, then submitting, watching and collecting its jobs. Controller CPU is this
process's CPU time (time.process_time(), all its threads) over the timed part, divided by the jobs run;
+threads is the peak number of threads the fan-out added (the local agents' output readers excluded);
the agents and their workers are other processes and are not counted. Agent start-up is not timed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edgebench.controller import zoo  # noqa: E402
from edgebench.controller.link.client import AgentClient  # noqa: E402
from edgebench.controller.link.local_agent import start_local_agent  # noqa: E402
from edgebench.v1 import agent_pb2 as pb  # noqa: E402


def run_board(address: str, model: Path, jobs: int) -> int:
    ok = 0
    with AgentClient(address) as client:
        sha = client.ensure_model(model).sha256
        ids = [client.submit(pb.JobSpec(model_sha256=sha, threads=1, runs=1, warmup_runs=0)).job_id
               for _ in range(jobs)]
        for job_id in ids:
            ok += client.watch(job_id).state == pb.JOB_STATE_SUCCEEDED
            client.collect(job_id)
    return ok


def one_size(n: int, model: Path, jobs_per_agent: int, threads: int) -> dict:
    me = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="edgebench-fleet-") as root, ExitStack() as stack:
        agents = [stack.enter_context(start_local_agent(os.path.join(root, str(i)), ["--no-sensors"]))
                  for i in range(n)]
        threads_before = me.num_threads()
        rss_before = me.memory_info().rss
        cpu0, wall0 = time.process_time(), time.perf_counter()
        peak_threads = threads_before
        with ThreadPoolExecutor(min(threads, n)) as pool:
            futures = [pool.submit(run_board, a.address, model, jobs_per_agent) for a in agents]
            while not all(f.done() for f in futures):
                peak_threads = max(peak_threads, me.num_threads())
                time.sleep(0.05)
            ok = sum(f.result() for f in futures)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        total = n * jobs_per_agent
        return {"agents": n, "jobs": total, "ok": ok, "wall_s": wall, "jobs_per_s": total / wall,
                "cpu_ms_per_job": cpu / total * 1e3, "cpu_s": cpu, "extra_threads": peak_threads - threads_before,
                "rss_growth_mb": (me.memory_info().rss - rss_before) / (1 << 20)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agents", default="1,10,50", help="comma list of fleet sizes (default 1,10,50)")
    p.add_argument("--jobs-per-agent", type=int, default=4)
    p.add_argument("--threads", type=int, default=16, help="controller threads (bounded fan-out)")
    p.add_argument("--model", default="zoo:tiny_cnn")
    args = p.parse_args()
    model = zoo.resolve(args.model)
    print(f"bench_fleet: {args.model}, runs=1 warmup=0 threads=1, {args.jobs_per_agent} jobs per agent, "
          f"controller pool {args.threads} threads, {os.cpu_count()} CPUs")
    print(f"{'agents':>6} {'jobs':>5} {'ok':>5} {'wall s':>7} {'jobs/s':>7} {'ctl CPU s':>9} {'ctl ms/job':>10} "
          f"{'+threads':>8} {'RSS +MB':>7}")
    failed = False
    for n in [int(x) for x in args.agents.split(",")]:
        r = one_size(n, model, args.jobs_per_agent, args.threads)
        failed |= r["ok"] != r["jobs"]
        print(f"{r['agents']:6d} {r['jobs']:5d} {r['ok']:5d} {r['wall_s']:7.1f} {r['jobs_per_s']:7.2f} "
              f"{r['cpu_s']:9.2f} {r['cpu_ms_per_job']:10.2f} {r['extra_threads']:8d} {r['rss_growth_mb']:7.1f}",
              flush=True)
    print("aim: controller CPU under 20 ms per job at 50 agents")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
