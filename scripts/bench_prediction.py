#!/usr/bin/env python3
"""How good is the cost model on this machine? Calibrate the local target, then predict models it never saw.

    python scripts/bench_prediction.py [--quick] [--threads N] [--runs N] [--keep-profile]

1. `controller calibrate --target local` on a calibration subset of the zoo's reference suite.
2. Bench every model not used in calibration (the zoo's "heldout" suite plus the reference models left out)
   and compare predicted latency with the measured median: median |error|, share within ±10/20/25 %.
3. Time `predict` on zoo:resnet50 and, in the same run, onnx-tool's profile of the same file (if importable).

Measured figures depend on this machine and on whatever else runs on it: nothing here is hard-coded.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Fitted on these (a subset of the "reference" suite in which every kind of kernel the others use appears:
# dense, pointwise, depthwise and grouped convolutions, SE blocks, channel shuffles); every other reference
# model and the whole "heldout" suite (8 models) are evaluated.
CALIBRATION_SUBSET = ["mobilenet_v2", "resnet18", "shufflenet_v2_x1_0", "efficientnet_b0", "mobilenet_v3_small",
                      "regnet_x_400mf"]


def evaluation_models() -> list[str]:
    from edgebench.controller import zoo

    return [e.name for e in zoo.list_models()
            if e.format == "onnx" and e.suite in ("reference", "heldout") and e.name not in CALIBRATION_SUBSET]


def share(errors: list[float], bound: float) -> float:
    return sum(abs(e) <= bound for e in errors) / len(errors) * 100


def time_predict(path: str, profile) -> tuple[float, int]:
    from edgebench.controller.costmodel import predict_model

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        p = predict_model(path, profile)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), p.model.macs


def time_onnx_tool(path: str) -> tuple[float, float, int] | str:
    try:
        import numpy as np
        import onnx_tool
    except ImportError:
        return "onnx-tool is not installed (pip install onnx-tool to compare; it is not an edgebench dependency)"
    times, macs, params = [], 0.0, 0
    for _ in range(3):
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            model = onnx_tool.Model(path)
            model.graph.shape_infer({"input": np.zeros((1, 3, 224, 224), dtype=np.float32)})
            model.graph.profile()
        times.append(time.perf_counter() - t0)
        macs = model.graph.macs[0] if isinstance(model.graph.macs, (list, tuple)) else model.graph.macs
        params = int(model.graph.params)
    return statistics.median(times), float(macs), params


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=0, help="threads for calibration and bench (default: all cores)")
    ap.add_argument("--runs", type=int, default=30, help="timed inferences per evaluated model (default 30)")
    ap.add_argument("--keep-profile", action="store_true",
                    help="store the calibration in the user's data dir (default: a temporary one)")
    args = ap.parse_args()

    tmp = None
    if not args.keep_profile:
        tmp = tempfile.TemporaryDirectory(prefix="edgebench-bench-prediction-")
        os.environ["EDGEBENCH_DATA_DIR"] = tmp.name

    from edgebench.controller.bench import BenchOptions, run_bench
    from edgebench.controller.calibration.run import CalibrateOptions, calibrate
    from edgebench.controller.output.calibration import summary

    t0 = time.perf_counter()
    cal = calibrate(CalibrateOptions("local", threads=[args.threads] if args.threads else [],
                                     suite=CALIBRATION_SUBSET), log=print)
    print(summary(cal))
    print(f"calibration wall time: {time.perf_counter() - t0:.1f} s\n")

    models = evaluation_models()
    opts = BenchOptions(target="local", models=[f"zoo:{m}" for m in models], runtime="onnxruntime",
                        threads=[cal.profile.calibration["threads"]], runs=args.runs, warmup=5,
                        device=f"calibrated:{cal.path}")
    records = run_bench(opts)
    print(f"held out of calibration ({len(models)} models), threads={opts.threads[0]}, measured = median of "
          f"{args.runs} inferences, predicted with {cal.profile.name} ({cal.profile.source}):")
    print(f"  {'model':22s} {'measured ms':>11s} {'predicted ms':>12s} {'error %':>8s}")
    errors: list[float] = []
    errors_min: list[float] = []  # against the fastest inference: less sensitive to other load on the machine
    for r in records:
        pred = r.predicted or {}
        if r.status != "ok" or pred.get("error") or r.latency_ms is None:
            print(f"  {r.model.name:22s} not compared: {r.error or pred.get('error')}")
            continue
        measured, predicted = r.latency_ms.p50, pred["predicted_latency_ms"]
        err = (predicted - measured) / measured * 100
        errors.append(err)
        errors_min.append((predicted - r.latency_ms.min) / r.latency_ms.min * 100)
        print(f"  {r.model.name:22s} {measured:11.2f} {predicted:12.2f} {err:+8.1f}")
    if errors:
        print(f"models compared: {len(errors)}")
        print(f"median |error|: {statistics.median(abs(e) for e in errors):.1f} %")
        print(f"within ±10 %: {share(errors, 10):.0f} %   within ±20 %: {share(errors, 20):.0f} %   "
              f"within ±25 %: {share(errors, 25):.0f} %")
        print(f"mean signed error: {statistics.mean(errors):+.1f} % (positive: predicted slower than measured)")
        print(f"against the fastest inference instead of the median: median |error| "
              f"{statistics.median(abs(e) for e in errors_min):.1f} %, within ±20 %: {share(errors_min, 20):.0f} %")
    print(f"machine load average while measuring: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
          "(other processes share the cores: measured latencies move with them)")

    from edgebench.controller import zoo

    path = str(zoo.resolve("zoo:resnet50"))  # built once; building is not part of predict's time
    seconds, macs = time_predict(path, cal.profile)
    print(f"\npredict zoo:resnet50 (read + count + roofline, in-process, median of 3): {seconds * 1e3:.0f} ms, "
          f"{macs / 1e9:.3f} GMACs (conv+linear)")
    other = time_onnx_tool(path)
    if isinstance(other, str):
        print(f"onnx-tool: skipped: {other}")
    else:
        ot_s, ot_macs, ot_params = other
        print(f"onnx-tool profile of the same file (median of 3): {ot_s * 1e3:.0f} ms, {ot_macs / 1e9:.3f} GMACs "
              f"(its MACs include element-wise ops: BN, ReLU, adds), {ot_params:,} params")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
