#!/usr/bin/env python3
"""What sampling the sensors costs the measurement: the same model with sampling off, at 100 Hz and at 1 kHz.

A real agent on a fixture board (sysfs sources; the default x86-rapl board has RAPL, thermal zones and
cpufreq) runs the model in interleaved rounds (off, 100, 1000, off, ...), so drift of the machine hits every
mode alike. Prints the median p50-latency ratio of each rate against "off" (aim: <= 1.01) and the rate each
source really achieved (aim: >= 95% of the requested rate for sysfs sources).

    python scripts/bench_sampler.py [--model zoo:mobilenet_v2] [--rounds 5] [--duration 2] [--board x86-rapl]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgebench.controller import zoo  # noqa: E402
from edgebench.controller.link.client import AgentClient  # noqa: E402
from edgebench.controller.link.local_agent import start_local_agent  # noqa: E402
from edgebench.v1 import agent_pb2 as pb  # noqa: E402

BOARDS = ROOT / "tests" / "fixtures" / "boards"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="zoo:mobilenet_v2")
    p.add_argument("--board", default="x86-rapl", help="fixture board under tests/fixtures/boards")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=float, default=2.0, help="seconds of timed loop per job")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rates", default="100,1000", help="sampling rates to compare with off (Hz)")
    args = p.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    model = zoo.resolve(args.model)

    with tempfile.TemporaryDirectory(prefix="bench-sampler-") as tmp:
        board = Path(tmp) / args.board
        shutil.copytree(BOARDS / args.board, board, symlinks=True)
        bin_dir = board / "bin"
        extra = ["--sysfs-root", str(board), "--idle-baseline", "0",
                 "--vcgencmd", str(bin_dir / "vcgencmd"), "--tegrastats", str(bin_dir / "tegrastats")]
        with start_local_agent(str(Path(tmp) / "state"), extra_args=extra) as agent, \
                AgentClient(agent.address) as client:
            sampled = [s.name for s in client.describe().sensors if s.available and s.kind != "memory"]
            sha = client.ensure_model(model).sha256
            base = dict(model_sha256=sha, model_name=model.stem, runs=0, min_duration_s=args.duration,
                        threads=args.threads, warmup_runs=20, idle_baseline_s=0.0)
            client.watch(client.submit(pb.JobSpec(**base, no_sampling=True)).job_id)  # warm the caches
            p50: dict[str, list[float]] = {"off": [], **{f"{r:g} Hz": [] for r in rates}}
            achieved: dict[str, dict[str, list[float]]] = {f"{r:g} Hz": {} for r in rates}
            requested: dict[str, dict[str, float]] = {f"{r:g} Hz": {} for r in rates}
            for i in range(args.rounds):
                for mode in p50:
                    spec = pb.JobSpec(**base, no_sampling=mode == "off",
                                      sample_rate_hz=0 if mode == "off" else float(mode.split()[0]))
                    result = client.watch(client.submit(spec).job_id)
                    if result.state != pb.JOB_STATE_SUCCEEDED:
                        print(f"round {i} {mode}: {result.error}", file=sys.stderr)
                        return 1
                    p50[mode].append(result.latency.p50_ms)
                    for r in result.measurement.rates:
                        if r.HasField("achieved_hz"):
                            achieved[mode].setdefault(r.sensor, []).append(r.achieved_hz)
                        requested[mode][r.sensor] = r.requested_hz
                print(f"round {i + 1}/{args.rounds}: " + "  ".join(f"{m} p50 {v[-1]:.3f} ms" for m, v in p50.items()),
                      flush=True)

    print(f"\n{args.model} on fixture board {args.board} (sources: {', '.join(sampled)}), {args.rounds} "
          f"interleaved rounds of {args.duration:g} s, {args.threads} thread(s)")
    off = p50["off"]
    print(f"  {'off':>8}: median p50 {statistics.median(off):.3f} ms")
    ok = True
    for mode in list(p50)[1:]:
        ratios = [m / o for m, o in zip(p50[mode], off, strict=True)]
        ratio = statistics.median(ratios)
        ok &= ratio <= 1.01
        print(f"  {mode:>8}: median p50 {statistics.median(p50[mode]):.3f} ms, median ratio vs off "
              f"{ratio:.4f} ({'ok' if ratio <= 1.01 else 'ABOVE 1.01'}); per round "
              + " ".join(f"{x:.3f}" for x in ratios))
        for sensor, values in sorted(achieved[mode].items()):
            want = requested[mode][sensor]
            got = statistics.median(values)
            share = got / want if want else 0.0
            ok &= share >= 0.95
            print(f"      {sensor:<14} requested {want:7.1f} Hz  achieved {got:8.1f} Hz  ({share:.1%})")
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
