#!/usr/bin/env python3
"""edgebench beside the peer on this machine: LiteRT's own `litert-benchmark` (shipped in the ai-edge-litert
wheel) and `controller bench` on the same TFLite models, same threads, runs and warm-up, interleaved round by
round so that a machine getting busier or cooler affects both alike. Prints the median latency of each and the
ratio edgebench / litert-benchmark (median over the rounds, with its range).

    python scripts/bench_vs_litert.py                       # the zoo's TFLite models, 1 thread, 5 rounds
    python scripts/bench_vs_litert.py --threads 2 --rounds 3 model.tflite zoo:mobilenet_v2_tflite

What is compared: litert-benchmark's "median_ms" (its CompiledModel API on the CPU accelerator) and
edgebench's p50 (the Interpreter with XNNPACK, invoke() alone, timed in the agent's worker). Both exclude
model loading and warm-up.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ["zoo:mobilenet_v2_tflite", "zoo:tiny_cnn_tflite", "zoo:tiny_cnn_int8_tflite"]
TIMEOUT_S = 600  # one benchmark process, either tool
LITERT_RESOLUTION_MS = 0.01  # its JSON rounds every figure to two decimals


def litert_tool() -> str:
    """litert-benchmark beside this Python (the venv's bin), else on PATH."""
    here = Path(sys.executable).parent / "litert-benchmark"
    found = str(here) if here.is_file() else shutil.which("litert-benchmark")
    if not found:
        sys.exit("bench_vs_litert: litert-benchmark not found: install ai-edge-litert (it ships the tool)")
    return found


def run_litert(tool: str, model: Path, threads: int, runs: int, warmup: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        proc = subprocess.run([tool, "--model", str(model), "--num_threads", str(threads), "--num_runs", str(runs),
                               "--warmup_runs", str(warmup), "--result_json", str(out)],
                              capture_output=True, text=True, timeout=TIMEOUT_S)
        if proc.returncode != 0 or not out.is_file():
            sys.exit(f"bench_vs_litert: litert-benchmark failed on {model}: {proc.stderr.strip()[-500:]}")
        return float(json.loads(out.read_text())["latency"]["median_ms"])


def run_edgebench(target: str, model: str, threads: int, runs: int, warmup: int) -> float:
    proc = subprocess.run([sys.executable, "-m", "edgebench.controller.cli", "bench", "--target", target, model,
                           "--threads", str(threads), "--runs", str(runs), "--warmup", str(warmup), "--json", "-",
                           "--no-progress", "--no-store", "--device", "x86-host"],
                          capture_output=True, text=True, timeout=TIMEOUT_S, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"bench_vs_litert: controller bench failed on {model}: {proc.stderr.strip()[-500:]}")
    return float(json.loads(proc.stdout)["runs"][0]["latency_ms"]["p50"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS, help="TFLite files or zoo:NAME")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (each runs both tools once)")
    args = parser.parse_args()

    from edgebench.controller.link.local_agent import start_local_agent
    from edgebench.controller.models import resolve_model

    tool = litert_tool()
    files = {m: resolve_model(m).path for m in args.models}
    litert: dict[str, list[float]] = {m: [] for m in args.models}
    ours: dict[str, list[float]] = {m: [] for m in args.models}
    with tempfile.TemporaryDirectory() as state, start_local_agent(state) as agent:  # one agent for every round
        for round_no in range(1, args.rounds + 1):
            for m in args.models:
                # Alternate which tool goes first, so neither always runs on a machine the other just warmed.
                first_litert = (round_no % 2) == 1
                if first_litert:
                    litert[m].append(run_litert(tool, files[m], args.threads, args.runs, args.warmup))
                ours[m].append(run_edgebench(agent.address, m, args.threads, args.runs, args.warmup))
                if not first_litert:
                    litert[m].append(run_litert(tool, files[m], args.threads, args.runs, args.warmup))
            print(f"round {round_no}/{args.rounds} done", file=sys.stderr)
    print(f"threads {args.threads}, {args.runs} runs after {args.warmup} warm-up, {args.rounds} interleaved rounds")
    print(f"{'model':<26} {'litert-benchmark ms':>20} {'edgebench p50 ms':>17} {'ratio':>7}  {'ratio range':>13}")
    coarse = False
    for m in args.models:
        ratios = [o / lr for o, lr in zip(ours[m], litert[m], strict=True)]
        mark = "*" if statistics.median(litert[m]) < 100 * LITERT_RESOLUTION_MS else ""
        coarse = coarse or bool(mark)
        print(f"{m:<26} {statistics.median(litert[m]):>19.4f}{mark:1} {statistics.median(ours[m]):>17.4f} "
              f"{statistics.median(ratios):>7.3f}  {min(ratios):>6.3f}-{max(ratios):<6.3f}")
    print("ratio = edgebench p50 / litert-benchmark median, per round; the median of the rounds is shown")
    if coarse:
        print(f"* litert-benchmark reports {LITERT_RESOLUTION_MS} ms steps: under 1 ms its figure, and so the ratio, "
              "is that coarse")
    return 0


if __name__ == "__main__":
    sys.exit(main())
