"""`controller calibrate --target T`: measure the board through its agent and store its profile.

Everything runs as ordinary agent jobs: generated microbenchmark models (GEMM, element-wise traffic, a
chain of tiny nodes) and the zoo's "reference" suite with onnxruntime profiling. The "heldout" suite is never
used here: it is what scripts/bench_prediction.py evaluates on.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import zoo
from ..costmodel import DeviceProfile, Figure, analyze_model, load_profile, predict_cost
from ..costmodel.profiles import profile_from_dict
from ..errors import ControllerError
from ..link.connection import BoardConnection, connect
from ..link.target import parse_target
from ..link.targets_config import CredentialFlags
from ..models import resolve_model
from ..prediction.calibrated import save_profile
from ..prediction.choose import builtin_for_board
from ..records import Board, JobSpec, RunRecord
from .fit import (
    fit_bandwidth_scale,
    fit_efficiency,
    normalize_to_peak,
    samples_from,
    scale_measured,
    scale_memory,
)
from .microbench import DISPATCH_CHAIN, dispatch_model, kernels_model
from .opjoin import join_profile

QUICK_SUITE = ["mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x1_0"]
# Activation-sized traffic (a 64x56x56 fp32 map is 0.8 M elements) is what CNN element-wise nodes see;
# the large one is DRAM streaming, recorded for reference.
COPY_ELEMS = [802_816, 8_388_608]


def reference_suite() -> list[str]:
    return [e.name for e in zoo.list_models() if e.suite == "reference" and e.format == "onnx"]


@dataclass
class CalibrateOptions:
    target: str
    quick: bool = False
    threads: list[int] = field(default_factory=list)  # default: all the board's cores
    suite: list[str] | None = None  # reference models to fit on (default: the zoo's reference suite)
    connect_timeout_s: float = 10.0
    credentials: CredentialFlags = field(default_factory=CredentialFlags)  # over the target's stored file


@dataclass
class CalibrationResult:
    profile: DeviceProfile
    path: Path
    board: Board
    measurements: dict[str, Any]
    fit: dict[str, dict]
    in_sample: list[dict[str, Any]]
    seconds: float


def _job(board: BoardConnection, path: Path, name: str, threads: int, runs: int, warmup: int,
         profile_ops: bool) -> str:
    up = board.upload(path, name)
    return board.submit(JobSpec(model_sha256=up.sha256, model_name=name, runtime="onnxruntime",
                                execution_provider="CPUExecutionProvider", threads=threads, warmup_runs=warmup,
                                runs=runs, profile_ops=profile_ops))


def _result(board: BoardConnection, job_id: str, what: str) -> RunRecord:
    result = board.watch(job_id)
    board.collect(job_id)
    if result.status != "ok" or result.latency_ms is None:
        raise ControllerError(f"calibration job {what} failed on the board: {result.error or result.status}")
    return result


def calibrate(opts: CalibrateOptions, log: Callable[[str], None] = print) -> CalibrationResult:
    started = time.monotonic()
    suite = opts.suite or (QUICK_SUITE if opts.quick else reference_suite())
    gemm_sizes = [128, 256, 512] if opts.quick else [128, 256, 512, 1024]
    runs = 5 if opts.quick else 10
    with tempfile.TemporaryDirectory(prefix="edgebench-calibrate-") as tmp:
        kernels_bytes, kernels = kernels_model(gemm_sizes, COPY_ELEMS)
        kpath, dpath = Path(tmp) / "kernels.onnx", Path(tmp) / "dispatch.onnx"
        kpath.write_bytes(kernels_bytes)
        dpath.write_bytes(dispatch_model())
        refs = {name: resolve_model(f"{zoo.ZOO_PREFIX}{name}") for name in suite}
        with connect(parse_target(opts.target), opts.connect_timeout_s, opts.credentials) as client:
            board = client.board
            cores = board.cpu_count or 1
            threads = sorted(set(opts.threads or [cores]))
            top = max(threads)
            log(f"calibrating {opts.target}: {board.model} ({board.soc}, {cores} cores), "
                f"threads {','.join(map(str, threads))}, {len(suite)} reference models"
                f"{' (quick)' if opts.quick else ''}")
            # Submit everything, then collect: the agent runs the jobs back to back.
            kjobs = {t: _job(client, kpath, "calibration_kernels", t, runs, 2, True) for t in threads}
            djob = _job(client, dpath, "calibration_dispatch", top, 300 if opts.quick else 1000, 20, False)
            rjobs = {name: _job(client, m.path, name, top, runs, 2, True) for name, m in refs.items()}
            # The same models without the profiler: the end-to-end latency the dispatch term is fitted to.
            ejobs = {name: _job(client, m.path, name, top, runs, 2, False) for name, m in refs.items()}
            kres = {t: _result(client, j, f"kernels threads={t}") for t, j in kjobs.items()}
            dres = _result(client, djob, "dispatch")
            rres = {name: _result(client, j, name) for name, j in rjobs.items()}
            eres = {name: _result(client, j, name) for name, j in ejobs.items()}

    measurements = _measure(kres, dres, kernels, cores)
    template_name = builtin_for_board(board) or "x86-host"
    base = _calibrated_base(load_profile(template_name), board, measurements, cores, top)
    unit = dataclasses.replace(base, efficiency={"default": 1.0})
    samples: dict[str, list] = {}
    predictions = {}
    for name, result in rres.items():
        model = analyze_model(str(refs[name].path))
        prediction = predict_cost(model, unit, top, fusion=True)
        # The profiler slows every kernel down; what `bench` compares with is the unprofiled run.
        unprofiled = eres[name].latency_ms.p50 / result.latency_ms.p50 if result.latency_ms.p50 else 1.0
        model_samples = scale_measured(samples_from(prediction, join_profile(prediction, result.op_profile), unit),
                                       min(unprofiled, 1.0))
        for kind, items in model_samples.items():
            samples.setdefault(kind, []).extend(items)
        predictions[name] = model
    bw_scale = fit_bandwidth_scale(samples)
    table, fit_info = fit_efficiency(scale_memory(samples, bw_scale))
    table, peak_scale = normalize_to_peak(table)
    for kind, value in table.items():  # report what is stored, as fractions of the (raised) peak
        fit_info[kind]["efficiency"] = value
    if peak_scale > 1.0:
        base = _raise_peaks(base, peak_scale)
        fit_info["_peak_scale"] = {"efficiency": round(peak_scale, 4), "kernels": 0, "measured_ms": 0.0,
                                   "predicted_ms": 0.0}
    bw = base.memory_bandwidth_gbs
    base = dataclasses.replace(base, memory_bandwidth_gbs=Figure(
        round(bw.value * bw_scale, 2),
        f"{bw.source}, x {bw_scale:.2f} fitted so the memory-bound kernels of {', '.join(suite)} match "
        "(their activations are cache-resident)"))
    fit_info["_bandwidth_scale"] = {"efficiency": bw_scale, "kernels": 0, "measured_ms": 0.0, "predicted_ms": 0.0}
    source = (f"fitted by controller calibrate on {dt.date.today().isoformat()}: per-kind total kernel time of "
              f"{', '.join(suite)} (onnxruntime profiling, threads={top}) matched; other kinds keep the "
              f"{template_name} estimates")
    profile = base.with_efficiency(table, source)
    profile = _fit_dispatch(profile, predictions, eres, top, meas_us=measurements["dispatch_us"])
    in_sample = []
    for name, model in predictions.items():
        p = predict_cost(model, profile, top, fusion=True)
        measured = eres[name].latency_ms.p50
        in_sample.append({"model": name, "measured_ms": round(measured, 3),
                          "predicted_ms": round(p.predicted_latency_ms, 3),
                          "error_pct": round((p.predicted_latency_ms - measured) / measured * 100, 1)})
    profile = dataclasses.replace(profile, calibration={**profile.calibration, "fit": fit_info,
                                                         "in_sample": in_sample})
    path = save_profile(profile, board.fingerprint)
    return CalibrationResult(profile, path, board, measurements, fit_info, in_sample, time.monotonic() - started)


def _raise_peaks(profile: DeviceProfile, factor: float) -> DeviceProfile:
    """Some kernels beat the GEMM microbenchmark: the peak is at least what they reached."""
    peaks = {k: Figure(round(f.value * factor, 2), f"{f.source}; x {factor:.3f}: the fastest kind of kernel in "
                       "the calibration suite ran that much above the GEMM microbenchmark")
             for k, f in profile.peak_gflops.items()}
    return dataclasses.replace(profile, peak_gflops=peaks)


def _fit_dispatch(profile: DeviceProfile, models: dict, eres: dict, threads: int, meas_us: float) -> DeviceProfile:
    """Per-node overhead that best explains end-to-end latency beyond the fitted kernels.

    The tiny-Add chain measures the executor's floor; real models also pay per-kernel thread-pool wake-ups
    and the session's per-run work, which only end-to-end runs of real models show. Least squares on the
    relative error (k_i + d·n_i - e_i) / e_i, so small models, where the per-node term matters, count as
    much as big ones, whose kernel error would otherwise leak into it.
    """
    zero = dataclasses.replace(profile, dispatch_overhead_us=Figure(0.0, "-"))
    num = den = 0.0
    for name, model in models.items():
        p = predict_cost(model, zero, threads, fusion=True)
        executed = sum(1 for t in p.node_times if t.bound not in ("folded", "fused"))
        measured = eres[name].latency_ms.p50
        if executed and measured > 0:
            a = (p.predicted_latency_ms - measured) / measured  # kernels alone, relative error
            b = executed / measured  # ms of latency per ms of per-node overhead, relative
            num -= a * b
            den += b * b
    if den == 0:
        return profile
    fitted = max(num / den * 1e3, meas_us)  # ms -> us; never below the measured floor
    return dataclasses.replace(profile, dispatch_overhead_us=Figure(round(fitted, 3), (
        f"fitted by controller calibrate: least squares on the relative end-to-end error of {', '.join(models)} "
        f"(p50, unprofiled), at least the {meas_us:.2f} us of a tiny-node chain")))


def _measure(kres: dict[int, RunRecord], dres: RunRecord, kernels, cores: int) -> dict[str, Any]:
    gemm: dict[str, dict[str, float]] = {}
    bandwidth: dict[str, float] = {}
    for t, result in kres.items():
        times = {o.node: o.mean_us for o in result.op_profile}
        for k in kernels:
            if k.node not in times or times[k.node] <= 0:
                continue
            seconds = times[k.node] * 1e-6
            if k.kind.startswith("gemm"):
                gemm.setdefault(f"{k.kind}@{t}", {})[k.node.rsplit("_", 1)[1]] = round(k.ops / seconds / 1e9, 2)
            elif t == max(kres):
                bandwidth[k.node.rsplit("_", 1)[1]] = round(k.bytes / seconds / 1e9, 2)
    per_node_us = dres.latency_ms.mean * 1e3 / DISPATCH_CHAIN
    return {
        "gemm_gflops": gemm,  # "<dtype>@<threads>" → matrix size → GFLOP/s (or GOP/s for int8)
        "bandwidth_gbs": bandwidth,  # elements per operand → GB/s of an Add (2 reads + 1 write)
        "dispatch_us": round(per_node_us, 3),
        "runtime_rss_mb": dres.peak_rss_mb,
        "cores": cores,
    }


def _best(gemm: dict[str, dict[str, float]], dtype: str, threads: int) -> float | None:
    values = gemm.get(f"{dtype}@{threads}", {})
    return max(values.values()) if values else None


def _calibrated_base(template: DeviceProfile, board: Board, meas: dict[str, Any], cores: int,
                     threads: int) -> DeviceProfile:
    d = template.to_dict()
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    day = date[:10]
    scale = cores / threads  # the roofline scales peak by threads/cores: store the all-core figure
    fp32 = _best(meas["gemm_gflops"], "gemm_fp32", threads)
    int8 = _best(meas["gemm_gflops"], "gemm_int8", threads)
    if fp32 is None:
        raise ControllerError("calibration measured no fp32 GEMM time (onnxruntime profile was empty)")
    where = f"measured by controller calibrate {day}"
    d["name"] = f"calibrated-{board.fingerprint[:12]}"
    d["description"] = f"{board.model} ({board.soc}), calibrated {day}"
    d["aliases"] = []
    d["cores"] = {"value": cores, "source": f"{where}: the agent's cpu_count"}
    old32 = template.peak("fp32")
    d["peak_gflops"] = {
        "fp32": {"value": round(fp32 * scale, 2),
                 "source": f"{where}: best onnxruntime MatMul GFLOP/s at {threads} threads x {cores}/{threads}"},
        "fp16": {"value": round(fp32 * scale * template.peak("fp16") / old32, 2),
                 "source": f"derived: measured fp32 x the {template.name} fp16/fp32 ratio (fp16 not measured)"},
        "int8": ({"value": round(int8 * scale, 2),
                  "source": f"{where}: best onnxruntime MatMulInteger GOP/s at {threads} threads"}
                 if int8 else {"value": round(fp32 * scale * template.peak("int8") / old32, 2),
                               "source": f"derived: measured fp32 x the {template.name} int8/fp32 ratio"}),
    }
    bw = meas["bandwidth_gbs"].get(str(COPY_ELEMS[0]))
    if bw:
        d["memory_bandwidth_gbs"] = {"value": bw, "source": f"{where}: Add of two {COPY_ELEMS[0]}-element fp32 "
                                                            "tensors (activation-sized: what CNN layers see)"}
    d["dispatch_overhead_us"] = {"value": meas["dispatch_us"],
                                 "source": f"{where}: latency of a {DISPATCH_CHAIN}-node chain of tiny Adds / "
                                           f"{DISPATCH_CHAIN}"}
    if meas["runtime_rss_mb"]:
        d["runtime_overhead_mb"]["onnx"] = {"value": round(meas["runtime_rss_mb"], 1),
                                            "source": f"{where}: peak RSS of the worker running the tiny "
                                                      "dispatch model"}
    d["efficiency_source"] = f"{template.name} estimates (replaced by the fit below)"
    d["notes"] = (f"Written by controller calibrate from {template.name}; power figures are {template.name}'s "
                  "estimates (not measured).")
    d["calibration"] = {"date": date, "fingerprint": board.fingerprint, "board": dataclasses.asdict(board),
                        "template": template.name, "threads": threads, "measurements": meas}
    d.pop("clock_ghz", None)
    return profile_from_dict(d, f"calibrated:{board.fingerprint}")
