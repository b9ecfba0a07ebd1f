#!/usr/bin/env python3
"""How well edgebench predicts models it never saw: calibrate this machine, bench the evaluation corpus, compare.

    python scripts/make_eval_corpus.py           # once: models made by real exporters (see the README)
    python scripts/bench_prediction.py           # calibrate (fresh) + bench every corpus model at 1 and all cores
    python scripts/bench_prediction.py --threads 1 --only resnet18 mobilenet_v2_tflite --runs 20

Everything goes through the controller as a user runs it: `controller calibrate --target local` in a fresh data
directory (timed: the calibration's wall time is part of the result), then `controller bench --target local ...
--json`, whose runs carry the measured p50 and peak memory beside the prediction. No corpus model is used to fit or
tune anything: calibration measures only the generated kernel suite. The table reports, for ONNX and TFLite apart,
per dtype and thread count: models within ±5/10/20%, the median and the worst error (error = predicted / measured
p50 - 1; memory: predicted peak / measured VmHWM - 1).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("EDGEBENCH_CACHE_DIR", Path.home() / ".cache" / "edgebench")) / "eval-corpus"


def controller(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgebench.controller.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def load_corpus(directory: Path, only: list[str]) -> tuple[list[dict], list[dict]]:
    manifest = json.loads((directory / "manifest.json").read_text())
    entries = manifest["entries"] if isinstance(manifest, dict) else manifest
    usable, excluded = [], []
    for e in entries:
        if only and e["name"] not in only:
            continue
        if not e.get("built") or not e.get("runs", True) or e.get("excluded"):
            excluded.append(e)
        else:
            usable.append(e)
    return usable, excluded


def shape_args(entry: dict) -> list[str]:
    """--input-shape for the inputs the manifest gives a bench shape that differs from the declared one."""
    out = []
    for i in entry.get("inputs", []):
        bench = i.get("bench_shape")
        if bench and bench != i.get("shape"):
            out += ["--input-shape", f"{i['name']}={'x'.join(str(d) for d in bench)}"]
    return out


def group(entry: dict) -> tuple[str, str]:
    return ("ONNX" if entry["format"] == "onnx" else "TFLite", entry.get("dtype", "fp32"))


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:+.1f}%"


def summarize(rows: list[dict], key: str) -> dict:
    errs = [abs(r[key]) for r in rows if r.get(key) is not None]
    if not errs:
        return {"n": 0}
    return {"n": len(errs), "w5": sum(e <= 0.05 for e in errs), "w10": sum(e <= 0.10 for e in errs),
            "w20": sum(e <= 0.20 for e in errs), "median": statistics.median(errs), "worst": max(errs)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"corpus folder (default {DEFAULT_CORPUS})")
    parser.add_argument("--threads", default="", help="comma list (default: 1 and all cores)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per model (default 30)")
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME", help="only these corpus models")
    parser.add_argument("--data-dir", type=Path, help="reuse this data dir (its calibration) instead of a fresh one")
    parser.add_argument("--skip-calibrate", action="store_true", help="use the data dir's existing calibration")
    parser.add_argument("--calibrate-args", default="", help="extra arguments for controller calibrate")
    parser.add_argument("--json", type=Path, help="write every row and the summary here")
    parser.add_argument("--repeatability", action="store_true",
                        help="instead of benching: calibrate twice from scratch and compare the two calibrations' "
                             "predictions of every corpus model (controller predict, offline)")
    args = parser.parse_args()

    if not (args.corpus / "manifest.json").is_file():
        print(f"no corpus at {args.corpus}: run python scripts/make_eval_corpus.py first", file=sys.stderr)
        return 2
    models, excluded = load_corpus(args.corpus, args.only)
    threads = args.threads or f"1,{os.cpu_count() or 1}"
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="edgebench-bench-prediction-"))
    env = {**os.environ, "EDGEBENCH_DATA_DIR": str(data_dir)}
    print(f"corpus: {len(models)} models ({len(excluded)} excluded: they do not run or were not built); "
          f"threads {threads}; data dir {data_dir}", flush=True)

    if args.repeatability:
        return repeatability(models, args, threads)

    calibrate_s = None
    if not args.skip_calibrate:
        started = time.monotonic()
        proc = controller("calibrate", "--target", "local", "--threads", threads, *args.calibrate_args.split(),
                          env=env, timeout=3600)
        calibrate_s = time.monotonic() - started
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n", file=sys.stderr)
            return 1
        verdict = next((line for line in proc.stdout.splitlines() if line.startswith("verdict:")), "")
        print(f"calibration: {calibrate_s:.0f} s wall; {verdict}", flush=True)
        print(pi4_estimate(proc.stdout), flush=True)

    rows: list[dict] = []
    for entry in models:
        path = args.corpus / entry["path"]
        proc = controller("bench", "--target", "local", str(path), "--threads", threads, "--runs", str(args.runs),
                          "--warmup", "5", *shape_args(entry), "--json", "-", "--no-progress", "--no-store",
                          env=env, timeout=1800)
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            print(f"  {entry['name']}: bench failed: {proc.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        for run in json.loads(proc.stdout)["runs"]:
            pred = run.get("predicted") or {}
            lat = run.get("latency_ms") or {}
            if run["status"] != "ok" or not lat or pred.get("predicted_latency_ms") is None:
                print(f"  {entry['name']} threads={run['threads']}: {run['status']} {run.get('error') or ''} "
                      f"{pred.get('error') or ''}", flush=True)
                continue
            measured, predicted = lat["p50"], pred["predicted_latency_ms"]
            mem_meas = run.get("peak_rss_mb")
            mem_pred = pred.get("predicted_memory_bytes")
            row = {"model": entry["name"], "format": entry["format"], "dtype": entry.get("dtype", "fp32"),
                   "exporter": entry.get("exporter"), "threads": run["threads"], "measured_ms": measured,
                   "predicted_ms": predicted, "method": pred.get("method"),
                   "uncertainty_pct": pred.get("latency_uncertainty_pct"),
                   "latency_err": predicted / measured - 1 if measured else None,
                   "measured_mb": mem_meas, "predicted_mb": mem_pred / 2**20 if mem_pred else None,
                   "memory_err": (mem_pred / 2**20) / mem_meas - 1 if mem_pred and mem_meas else None}
            rows.append(row)
            print(f"  {entry['name'][:34]:34s} {entry.get('dtype', ''):5s} t={run['threads']} measured "
                  f"{measured:9.3f} ms predicted {predicted:9.3f} ({pct(row['latency_err'])}, {row['method']})  "
                  f"memory {mem_meas or 0:7.1f} MB predicted {row['predicted_mb'] or 0:7.1f} "
                  f"({pct(row['memory_err'])})", flush=True)

    print()
    print("| runtime | dtype | threads | models | latency ±5% | ±10% | ±20% | median | worst | memory ±10% | ±20% "
          "| median | worst |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    summary = []
    cells: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        cells[(*group({"format": r["format"], "dtype": r["dtype"]}), r["threads"])].append(r)
    for (runtime, dtype, t), items in sorted(cells.items()):
        lat, mem = summarize(items, "latency_err"), summarize(items, "memory_err")
        summary.append({"runtime": runtime, "dtype": dtype, "threads": t, "latency": lat, "memory": mem})

        def share(s: dict, k: str) -> str:
            return f"{s[k]}/{s['n']} ({s[k] / s['n'] * 100:.0f}%)" if s.get("n") else "-"

        print(f"| {runtime} | {dtype} | {t} | {len(items)} | {share(lat, 'w5')} | {share(lat, 'w10')} | "
              f"{share(lat, 'w20')} | {lat.get('median', 0) * 100:.1f}% | {lat.get('worst', 0) * 100:.0f}% | "
              f"{share(mem, 'w10')} | {share(mem, 'w20')} | {mem.get('median', 0) * 100:.1f}% | "
              f"{mem.get('worst', 0) * 100:.0f}% |")
    overall = summarize(rows, "latency_err")
    if overall.get("n"):
        print(f"\nall: {overall['w10']}/{overall['n']} within ±10% latency, {overall['w20']}/{overall['n']} within "
              f"±20%; calibration {calibrate_s or 0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary, "calibrate_s": calibrate_s,
                                         "excluded": [e["name"] for e in excluded]}, indent=2))
    return 0


def _predictions(models: list[dict], args: argparse.Namespace, threads: str, env: dict[str, str]) -> dict:
    out = {}
    for entry in models:
        for t in threads.split(","):
            proc = controller("predict", str(args.corpus / entry["path"]), "--threads", t, *shape_args(entry),
                              "--json", "-", env=env, timeout=600)
            if proc.returncode == 0:
                (m,) = json.loads(proc.stdout)["models"]
                out[(entry["name"], int(t))] = m["predicted_latency_ms"]
    return out


def pi4_estimate(calibrate_log: str) -> str:
    """calibrate's own lines on the suite's board time here and its estimate for a Raspberry Pi 4."""
    lines = [line.strip() for line in calibrate_log.splitlines()
             if line.startswith("kernel suite:") or "on a Raspberry Pi 4" in line]
    return "  " + "\n  ".join(lines) if lines else "  (calibrate printed no board-time estimate)"


def repeatability(models: list[dict], args: argparse.Namespace, threads: str) -> int:
    """Two calibrations of the same board, each from scratch, minutes apart: how far apart are their
    predictions of the corpus? (Aim: every model within ±3%.)"""
    runs = []
    for i in (1, 2):
        data_dir = Path(tempfile.mkdtemp(prefix=f"edgebench-repeat{i}-"))
        env = {**os.environ, "EDGEBENCH_DATA_DIR": str(data_dir)}
        started = time.monotonic()
        proc = controller("calibrate", "--target", "local", "--threads", threads, *args.calibrate_args.split(),
                          env=env, timeout=3600)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return 1
        print(f"calibration {i}: {time.monotonic() - started:.0f} s ({data_dir})", flush=True)
        print(pi4_estimate(proc.stdout), flush=True)
        runs.append(_predictions(models, args, threads, env))
    diffs = {k: runs[1][k] / runs[0][k] - 1 for k in runs[0] if k in runs[1] and runs[0][k] > 0}
    for (name, t), d in sorted(diffs.items(), key=lambda kv: -abs(kv[1]))[:15]:
        print(f"  {name:34s} t={t} {runs[0][(name, t)]:9.3f} ms vs {runs[1][(name, t)]:9.3f} ms ({d * 100:+.1f}%)")
    within = sum(abs(d) <= 0.03 for d in diffs.values())
    print(f"\nrepeatability: {within}/{len(diffs)} model predictions within ±3% of each other; median difference "
          f"{statistics.median(abs(d) for d in diffs.values()) * 100:.1f}%, worst {max(abs(d) for d in diffs.values()) * 100:.1f}%")
    if args.json:
        args.json.write_text(json.dumps({"differences": {f"{n}@{t}": d for (n, t), d in diffs.items()}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
