#!/usr/bin/env python3
"""Insert and query 100,000 stored runs (each with its raw latency samples) on SQLite and PostgreSQL, and time
what users wait for: `history` queries and `regress` comparisons (baseline lookup + samples + Mann-Whitney U).

    python scripts/bench_store.py                      # both backends, a temporary PostgreSQL server
    python scripts/bench_store.py --runs 20000 --backends sqlite
    python scripts/bench_store.py --pg postgresql://me@db/edgebench_bench   # an existing (empty) database

The runs are shaped exactly like `bench --json` runs: 10 boards x 25 models x 2 runtimes x 2 thread counts =
1,000 benchmarks, one run each per night, 100 samples per run.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgebench.controller.regress.baseline import BaselineSpec, find_baseline  # noqa: E402
from edgebench.controller.stats.verdict import compare_samples  # noqa: E402
from edgebench.controller.store import NewRun, RunFilter, Verdict, open_store  # noqa: E402

BOARDS, MODELS, RUNTIMES, THREADS = 10, 25, ("onnxruntime", "tflite"), (1, 4)
BATCH = 1000


def template() -> dict:
    return {
        "target": "", "board": {"model": "Raspberry Pi 5 Model B Rev 1.0", "soc": "BCM2712", "hostname": "pi",
                                "machine": "aarch64", "os": "Debian GNU/Linux 12", "cpu_count": 4,
                                "memory_total_mb": 8063, "governor": "ondemand", "fingerprint": "",
                                "agent_version": "0.1.0"},
        "model": {"name": "", "source": "", "format": "onnx", "sha256": "", "size_bytes": 14_000_000},
        "runtime": "", "runtime_version": "1.32.0", "ep": "CPUExecutionProvider",
        "providers_used": ["CPUExecutionProvider"], "threads": 1, "warmup": 5, "status": "ok", "error": None,
        "latency_ms": {}, "throughput_ips": 0.0, "load_ms": 210.0, "first_inference_ms": 30.0, "peak_rss_mb": 95.0,
        "rss_after_load_mb": 80.0, "peak_rss_load_mb": 90.0, "peak_rss_steady_mb": 95.0, "samples_ms": [],
        "inputs": [{"name": "input", "dtype": "float32", "shape": [1, 3, 224, 224]}],
        "outputs": [{"name": "output", "dtype": "float32", "shape": [1, 1000]}], "warnings": [], "job_id": "",
        "window_monotonic_ns": [0, 0], "op_profile": [],
        "predicted": {"device": "rpi5", "source": "built-in rpi5", "macs": 300_000_000, "params": 3_500_000,
                      "predicted_latency_ms": 0.0, "predicted_memory_bytes": 60_000_000, "error": None},
        "energy": {"power_avg_w": 6.5, "power_idle_w": 3.1, "energy_j_per_inference": 0.05,
                   "energy_j_per_inference_above_idle": 0.03, "power_source": "rpi5-pmic", "temp_max_c": 61.0,
                   "throttled": False},
        "job_spec": {"threads": 1, "runs": 100, "warmup_runs": 5},
    }


def keys() -> list[tuple[int, int, str, int]]:
    return [(b, m, rt, t) for b in range(BOARDS) for m in range(MODELS) for rt in RUNTIMES for t in THREADS]


def make_runs(first: int, n: int, samples: int, t0: float, rng: np.random.Generator) -> list[NewRun]:
    """Runs number first .. first+n-1: run i is night i // 1000 of benchmark i % 1000."""
    base = template()
    all_keys = keys()
    out = []
    for i in range(first, first + n):
        night, (b, m, rt, t) = divmod(i, len(all_keys))[0], all_keys[i % len(all_keys)]
        r = copy.deepcopy(base)
        r["target"] = f"board-{b:02d}"
        r["board"]["fingerprint"] = f"{b:016x}"
        r["model"].update(name=f"model_{m:02d}", source=f"zoo:model_{m:02d}", sha256=f"{m:064x}")
        r["runtime"], r["threads"] = rt, t
        scale = (1 + m) * (1.0 if t == 4 else 2.6)
        s = scale * (1 + rng.gamma(2.0, 0.02, samples))
        r["samples_ms"] = s.tolist()
        q = np.percentile(s, [50, 90, 95, 99])
        r["latency_ms"] = {"min": float(s.min()), "mean": float(s.mean()), "std": float(s.std()),
                           "p50": float(q[0]), "p90": float(q[1]), "p95": float(q[2]), "p99": float(q[3]),
                           "max": float(s.max()), "count": samples}
        r["predicted"]["predicted_latency_ms"] = scale * 0.9
        r["job_id"] = f"job-{i}"
        labels = {"git": f"rev-{night:04d}", "suite": "nightly"}
        verdict = Verdict("same", 0.5, 0.01, float(q[0]), float(q[0]), [max(1, i - len(all_keys) + 1)])
        out.append(NewRun(r, labels, None, t0 + night * 86400 + i % len(all_keys), verdict if night else None))
    return out


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bench_backend(name: str, url: str, n: int, samples: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(1)
    rows: list[tuple[str, str]] = []
    t0 = time.time() - (n // len(keys()) + 1) * 86400
    with open_store(url) as store:
        insert_s = 0.0
        for start in range(0, n, BATCH):
            batch = make_runs(start, min(BATCH, n - start), samples, t0, rng)
            began = time.perf_counter()
            store.add_runs(batch)
            insert_s += time.perf_counter() - began
        rows.append(("insert (1,000 runs per transaction)", f"{insert_s:.1f} s total, {n / insert_s:,.0f} runs/s"))
        store.db.execute("ANALYZE")  # planner statistics, as autovacuum / a periodic ANALYZE would keep them
        rows.append(("stored runs", f"{store.count():,}"))
        last_night = (n - 1) // len(keys())
        queries = {
            "history (newest 50)": RunFilter(limit=50),
            "history --model model_07": RunFilter(model="model_07", limit=50),
            "history --label git=rev-0042": RunFilter(labels={"git": f"rev-{min(42, last_night):04d}"}, limit=50),
            "history --board 0000000000000003 --threads 4 --since 7d":
                RunFilter(board="0000000000000003", threads=4, since_unix_s=time.time() - 7 * 86400, limit=50),
            "history --verdict regression (none stored)": RunFilter(verdict="regression", limit=50),
        }
        for label, f in queries.items():
            seconds, result = timed(lambda f=f: store.query(f))
            rows.append((label, f"{seconds * 1000:.1f} ms ({len(result)} runs)"))
        latest = store.query(RunFilter(limit=1))[0]
        spec = BaselineSpec("any", 3)  # these runs are not from regress sessions: any run is a baseline here
        current = latest.latency_p50_ms * (1 + rng.gamma(2.0, 0.02, samples))

        def compare_one():
            base = find_baseline(store, spec, latest.key, current_session=-1)
            return compare_samples(current, base.samples)

        seconds, result = timed(compare_one, repeat=20)
        rows.append(("regress comparison (baseline: 3 recent runs, 300 samples; U test)",
                     f"{seconds * 1000:.1f} ms per benchmark ({result.verdict})"))
        night_keys = [r.key for r in store.query(RunFilter(limit=len(keys())))]
        began = time.perf_counter()
        for key in night_keys:
            base = find_baseline(store, spec, key, current_session=-1)
            compare_samples(current, base.samples)
        rows.append((f"regress comparisons for one night ({len(night_keys)} benchmarks)",
                     f"{time.perf_counter() - began:.2f} s"))
    cli = [sys.executable, "-m", "edgebench.controller.cli", "history", "--db", url, "--model", "model_07", "--limit", "20"]
    seconds, _ = timed(lambda: subprocess.run(cli, capture_output=True, check=True, cwd=ROOT), repeat=3)
    rows.append(("`controller history --model model_07` (whole command)", f"{seconds * 1000:.0f} ms"))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=100_000)
    p.add_argument("--samples", type=int, default=100, help="latency samples per run (default 100)")
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--pg", help="PostgreSQL URL of an empty database (default: start a temporary server)")
    args = p.parse_args()
    print(f"{args.runs:,} runs x {args.samples} samples, {len(keys()):,} benchmarks", flush=True)
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            if backend == "sqlite":
                url = f"sqlite://{Path(tmp) / 'results.sqlite'}"
            else:
                if args.pg:
                    url = args.pg
                else:
                    from tests.store.pg import server

                    url = server().create_database()
            print(f"\n## {backend}", flush=True)
            for label, value in bench_backend(backend, url, args.runs, args.samples):
                print(f"{label:<72} {value}", flush=True)
            if backend == "sqlite":
                size = (Path(tmp) / "results.sqlite").stat().st_size
                print(f"{'database file':<72} {size / 2**20:.0f} MiB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
