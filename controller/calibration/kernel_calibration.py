"""Kernel-level calibration: measure the suite on the board, fit per-kernel models, check them held out.

For each cell (runtime x dtype x thread count) the suite's sampled one-kernel models run as batch jobs;
onnxruntime's are profiled (each node of the board's optimized graph is one kernel sample, joined by name),
TFLite's are timed end to end one op per model (minus the invoke cost of a tiny op). The random networks run
unprofiled for the composition terms and in their own workers for memory. Then:

1. a forest per family per (runtime, threads) on every dtype's samples, with out-of-fold errors;
2. where the out-of-fold error is worst, or a kernel's runs spread too much, more samples are measured and
   the fit is redone (`ADAPTIVE_ROUNDS`);
3. composition (per run, per kernel) is fitted on half of the networks and checked on the other half, then
   refitted on all; memory likewise per runtime.

Measurements are kept per cell (kernel_store), so a second calibration measures only what is missing.
"""
from __future__ import annotations

import hashlib
import math
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..costmodel.analysis import analyze
from ..costmodel.kernel_model import KernelFit, RuntimeModels, predicted_latency_us
from ..costmodel.kernels import Kernel, kernels_of
from ..costmodel.memory_model import held_weight_bytes
from ..costmodel.profile_join import node_times
from ..costmodel.reader import read_model
from .kernel_fit import KernelSample, fit_cache, fit_kernels
from .kernel_store import Cell, CellMeasurements, ModelTiming, load_cell, save_cell
from .memory_fit import MemorySample, fit_memory
from .suite import sampling
from .suite.composite import cold_chain_key, composite_specs, memory_specs
from .suite.models import (
    SuiteModel,
    cold_chain_model,
    composite_model,
    onnx_kernel_model,
    tflite_kernel_model,
)
from .suite.spec import KernelSpec
from .suite_runner import ItemRequest, ItemResult, RunSettings, SuiteRunner

MAX_ITEM_S = 0.08  # a kernel's timed runs stop after this (3 runs of a 30 ms kernel), so one slow kernel
# (a reference-kernel grouped conv) cannot take the suite's budget; its median is still of >= 1 run
NOISY_SPREAD = 0.35  # (p90 - p10) / p50 above this: the runs disagree, measure the kernel again
ADAPTIVE_TARGET = 0.08  # a family whose time-weighted out-of-fold error is above this gets more samples


@dataclass(frozen=True)
class SuiteSize:
    kernels: int  # first draw per (runtime, dtype)
    extra: int  # per adaptive round and family that needs it
    rounds: int
    composites: int
    runs: int
    warmup: int
    passes: int  # every kernel and network measured this many times, spread over the calibration; fastest kept


# Sized for the budget (the whole suite in minutes on a Pi 4-class board, see the README); --kernels N and
# calibrating again (only what is missing is measured) buy more samples.
FULL = SuiteSize(kernels=150, extra=30, rounds=1, composites=8, runs=8, warmup=2, passes=1)
QUICK = SuiteSize(kernels=50, extra=0, rounds=0, composites=5, runs=5, warmup=1, passes=1)
NOISY_LIMIT = 0.1  # at most this share of a cell's kernels is measured again for noise in one round


@dataclass
class RuntimeTarget:
    runtime: str
    version: str
    ep: str  # what the kernels run on: "CPUExecutionProvider", "xnnpack"


@dataclass
class KernelCalibrationOptions:
    threads: list[int]
    runtimes: list[RuntimeTarget]
    dtypes: list[str] = field(default_factory=lambda: ["fp32", "int8", "fp16"])
    quick: bool = False
    remeasure: bool = False
    seed: int = 0
    kernels: int | None = None  # overrides the suite size's first draw


@dataclass
class KernelCalibrationResult:
    models: dict[str, RuntimeModels]  # runtime name -> models
    seconds: float
    measured_items: int  # suite models measured this time (not reused from an earlier calibration)
    reused_items: int
    board_seconds: float  # time the board spent running suite jobs (what a slower board scales)
    cells: dict[Cell, CellMeasurements] = field(default_factory=dict)  # what was measured (and kept)
    item_us: list[tuple[int, float]] = field(default_factory=list)  # (threads, p50) of each item measured
    runs_per_item: int = 0  # first inference + warm-up + timed runs, before the per-item time cap


# ------------------------------------------------------------------------------------------ the suite


def _supported(runtime: str) -> Callable[[KernelSpec], bool]:
    if runtime == "onnxruntime":
        from .suite.onnx_kernels import onnx_supported

        return onnx_supported
    from .suite.tflite_kernels import tflite_supported

    return tflite_supported


def _kernel_model(runtime: str, spec: KernelSpec) -> SuiteModel:
    return onnx_kernel_model(spec) if runtime == "onnxruntime" else tflite_kernel_model(spec)


def _baseline_specs(dtype: str) -> list[KernelSpec]:
    """Tiny ops whose whole time is the runtime's per-invoke cost (subtracted from TFLite's kernel times)."""
    return [KernelSpec.make("binary", dtype, h=1, w=1, c=8, op="add", bcast="same"),
            KernelSpec.make("unary", dtype, h=1, w=1, c=8, op="relu"),
            KernelSpec.make("binary", dtype, h=1, w=2, c=8, op="add", bcast="same")]


def _items(runtime: str, models: Sequence[SuiteModel]) -> list[ItemRequest]:
    onnx = runtime == "onnxruntime"
    out = []
    for m in models:
        if onnx:  # kernels profiled (one sample per node), networks timed whole; both return their graph
            out.append(ItemRequest(m, profile=not m.composite, optimized=True))
        else:
            for part in (m.parts or [m]):
                out.append(ItemRequest(part))
            if m.parts:  # the whole multi-op kernel too: a small network, for composition
                out.append(ItemRequest(m))
    return out


# -------------------------------------------------------------------------------- results -> samples


_EXECUTED: dict[str, tuple[Any, list[Kernel]]] = {}  # graph bytes' sha256 (or model path) -> analysis


def _executed(model: SuiteModel, result: ItemResult, runtime: str) -> tuple[Any, list[Kernel]]:
    """The graph the runtime ran and its kernels: onnxruntime's optimized graph, or the TFLite file. The same
    graph comes back for every pass and thread count: analysed once."""
    if runtime == "onnxruntime":
        if not result.optimized_model:
            raise ValueError(f"{model.key}: the board returned no optimized graph")
        key = hashlib.sha256(result.optimized_model).hexdigest()
    else:
        key = str(model.path)
    if key not in _EXECUTED:
        if runtime == "onnxruntime":
            with tempfile.NamedTemporaryFile(suffix=".onnx") as tmp:
                tmp.write(result.optimized_model)
                tmp.flush()
                graph = read_model(tmp.name)
                cost = analyze(graph, tmp.name)
        else:
            graph = read_model(model.path)
            cost = analyze(graph, str(model.path))
        _EXECUTED[key] = ((graph, cost), kernels_of(graph, cost))
    return _EXECUTED[key]


def _record(meas: CellMeasurements, model: SuiteModel, result: ItemResult, runtime: str, baseline_us: float,
            memory: bool = False, again: bool = False) -> None:
    """Add what one measured suite item says to the cell's measurements. `again`: measured before in this
    calibration; the faster of the two is kept (other work on a board only ever slows a kernel down)."""
    meas.measured_keys.add(model.key)
    if result.error:
        return
    if result.spread > NOISY_SPREAD:
        meas.noisy_keys.add(model.key)
    else:
        meas.noisy_keys.discard(model.key)
    (graph, cost), kernels = _executed(model, result, runtime)
    if model.composite or memory:
        source = _memory_key(model.key) if memory else model.key
        if again and any(m.source == source and 0 < m.latency_us <= result.p50_us for m in meas.models):
            return
        meas.models = [m for m in meas.models if m.source != source]
        held_float, held_int = held_weight_bytes(graph)
        meas.models.append(ModelTiming(source, result.p50_us, kernels, result.peak_rss_load_kib,
                                       result.peak_rss_steady_kib, result.rss_before_load_kib,
                                       held_float + held_int, _file_weight_bytes(model), cost.peak_activation_bytes,
                                       held_int))
        return
    before = {s.kernel.name: s.time_us for s in meas.samples if s.source == model.key} if again else {}
    meas.samples = [s for s in meas.samples if s.source != model.key]
    if runtime == "onnxruntime":
        # Steady-state medians; an agent that predates them gives the mean over all profiled runs.
        times = node_times(graph, [replace(o, median_us=o.median_us or o.mean_us) for o in result.op_times])
    elif len(kernels) == 1:  # one op per TFLite suite model: its time is the invoke minus the runtime's own
        times = {kernels[0].name: max(result.p50_us - baseline_us, 0.05)}
    else:
        times = {}
    for k in kernels:
        t = min(times.get(k.name) or math.inf, before.get(k.name) or math.inf)
        if math.isfinite(t) and t > 0:
            meas.samples.append(KernelSample(k, t, model.key))


def _file_weight_bytes(model: SuiteModel) -> int:
    graph = read_model(model.path)
    return int(sum(t.bytes or 0 for t in graph.tensors.values() if t.is_weight))


# ------------------------------------------------------------------------------------------- running


@dataclass
class _Pending:
    cell: Cell
    models: dict[str, SuiteModel]
    job_ids: list[str]
    memory: bool = False


class _Session:
    """One calibration's bookkeeping: what is measured, kept, and how long the board spent on it."""

    def __init__(self, runner: SuiteRunner, opts: KernelCalibrationOptions, size: SuiteSize,
                 cells: dict[Cell, CellMeasurements], log: Callable[[str], None]) -> None:
        self.runner, self.opts, self.size, self.cells, self.log = runner, opts, size, cells, log
        self.measured = 0
        self.board_seconds = 0.0
        self.baselines: dict[Cell, float] = {}
        self.fresh: set[tuple[Cell, str]] = set()  # measured in this calibration (a second pass keeps the min)
        # onnxruntime's optimized graph of each suite model (runtime version, dtype, key): asked for once, the
        # same for every thread count and pass (each request costs the board a session of its own).
        self.graphs: dict[tuple[str, str, str], bytes] = {}
        self.item_us: list[tuple[int, float]] = []  # (threads, p50) of every item measured: the budget estimate

    def measure(self, plan: dict[Cell, list[SuiteModel]], memory: bool = False) -> None:
        """Submit every cell's items first (the board runs them back to back), then collect, the fewest
        threads first (those return the optimized graphs the other thread counts reuse)."""
        pending = []
        asked: set[tuple[str, str, str]] = set()
        for cell, models in sorted(plan.items(), key=lambda kv: kv[0].threads):
            if not models:
                continue
            settings = RunSettings(cell.runtime, cell.ep, cell.threads, self.size.runs, self.size.warmup,
                                   max_duration_s=MAX_ITEM_S)
            items = []
            for item in _items(cell.runtime, models):
                graph_key = (cell.runtime_version, cell.dtype, item.model.key)
                wanted = item.optimized and graph_key not in self.graphs and graph_key not in asked
                asked.add(graph_key)
                items.append(replace(item, optimized=wanted))
            by_key = {i.model.key: i.model for i in items}
            ids = self.runner.submit(items, settings, batch=not memory)
            pending.append(_Pending(cell, by_key, ids, memory))
        started = time.monotonic()
        for p in pending:
            meas = self.cells[p.cell]
            for job_id in p.job_ids:
                for result in self.runner.results(job_id):
                    model = p.models[result.key]
                    self.measured += 1
                    if not result.error:
                        self.item_us.append((p.cell.threads, result.p50_us))
                    graph_key = (p.cell.runtime_version, p.cell.dtype, result.key)
                    if result.optimized_model:
                        self.graphs[graph_key] = result.optimized_model
                    elif p.cell.runtime == "onnxruntime":
                        result.optimized_model = self.graphs.get(graph_key, b"")
                    tag = (p.cell, f"{result.key}#memory" if p.memory else result.key)
                    try:
                        _record(meas, model, result, p.cell.runtime, self.baselines.get(p.cell, 0.0), p.memory,
                                again=tag in self.fresh)
                        self.fresh.add(tag)
                    except Exception as exc:  # one unreadable suite result must not end the calibration
                        self.log(f"  skipped {model.key}: {type(exc).__name__}: {exc}")
            save_cell(meas)
        self.board_seconds += time.monotonic() - started


def _cells(board_fingerprint: str, opts: KernelCalibrationOptions) -> list[Cell]:
    # TFLite's float16 weights are dequantized to float32 at load: its fp32 kernels are the ones that run.
    return [Cell(board_fingerprint, rt.runtime, rt.version, rt.ep, dtype, threads)
            for rt in opts.runtimes for dtype in opts.dtypes for threads in opts.threads
            if not (dtype == "fp16" and rt.runtime == "tflite")]


def calibrate_kernels(runner: SuiteRunner, board_fingerprint: str, opts: KernelCalibrationOptions,
                      log: Callable[[str], None] = print) -> KernelCalibrationResult:
    started = time.monotonic()
    size = QUICK if opts.quick else FULL
    if opts.kernels:
        size = replace(size, kernels=opts.kernels)
    cells = {c: (CellMeasurements(c) if opts.remeasure else load_cell(c)) for c in _cells(board_fingerprint, opts)}
    session = _Session(runner, opts, size, cells, log)
    reused = sum(len(m.measured_keys) for m in cells.values())

    # 1. baselines (TFLite invoke cost) and the first draw of kernels, for every cell at once
    plan: dict[Cell, list[SuiteModel]] = {}
    specs: dict[Cell, list[KernelSpec]] = {}
    for cell, meas in cells.items():
        supported = _supported(cell.runtime)
        drawn = sampling.initial_suite(size.kernels, cell.dtype, seed=opts.seed, supported=supported)
        if cell.runtime == "tflite":
            drawn = _baseline_specs(cell.dtype) + drawn
        specs[cell] = drawn
        plan[cell] = [m for m in (_kernel_model(cell.runtime, s) for s in drawn) if _wanted(m, meas)]
    log(f"  kernel suite: {sum(len(p) for p in plan.values())} models to measure "
        f"({reused} kept from earlier calibrations)")
    _measure_baselines(session, plan)
    for _ in range(size.passes):  # whole passes, one after the other: a busy spell hits only one of them
        session.measure(plan)

    # 2. fit, then sample more where the fit is worst or the runs were noisy
    groups = _fit_groups(cells)
    fits = {g: _fit(cells, group) for g, group in groups.items()}
    for round_no in range(size.rounds):
        plan = {}
        for (runtime, threads), fit in fits.items():
            for cell in groups[(runtime, threads)]:
                meas = cells[cell]
                worst = [s for s in specs[cell] if any(s.key == w for f in fit.families.values()
                                                       if f.cv_time_weighted_err > ADAPTIVE_TARGET for w in f.worst)]
                extra = sampling.more_like(worst, size.extra, seed=opts.seed + round_no, supported=_supported(runtime),
                                           exclude=meas.measured_keys) if worst else []
                noisy = [s for s in specs[cell] if s.key in meas.noisy_keys][:max(1, int(len(specs[cell]) * NOISY_LIMIT))]
                specs[cell] += extra
                plan[cell] = [_kernel_model(runtime, s) for s in noisy + extra]
        if not any(plan.values()):
            break
        log(f"  adaptive round {round_no + 1}: {sum(len(p) for p in plan.values())} more kernels "
            "(worst-fitted families and noisy runs)")
        session.measure(plan)
        fits = {g: _fit(cells, group) for g, group in groups.items()}

    # 3. networks: end to end for composition, each in its own worker for memory
    comps = composite_specs(size.composites, seed=opts.seed)
    plan = {c: [m for m in [*(composite_model(s, _fmt(c.runtime), c.dtype) for s in comps),
                            cold_chain_model(_fmt(c.runtime), c.dtype)] if _wanted(m, cells[c])]
            for c in cells}
    for _ in range(size.passes):
        session.measure(plan)
    top = max(opts.threads)
    memory_nets = [*comps, *memory_specs(opts.seed)]
    memory_plan = {c: [m for m in [*(composite_model(s, _fmt(c.runtime), c.dtype) for s in memory_nets),
                                   cold_chain_model(_fmt(c.runtime), c.dtype)]  # the largest weights of all
                       if not _has_memory(cells[c], m.key)]
                   for c in cells if c.threads == top}
    session.measure(memory_plan, memory=True)

    models: dict[str, RuntimeModels] = {}
    for rt in opts.runtimes:
        rt_fits: dict[int, KernelFit] = {}
        check: dict[str, Any] = {"threads": {}}
        for threads in opts.threads:
            fit = fits.get((rt.runtime, threads))
            if fit is None:
                continue
            group = groups[(rt.runtime, threads)]
            _fit_cold(fit, [m for c in group for m in cells[c].models if m.source == cold_chain_key(c.dtype)])
            nets = [m for c in group for m in cells[c].models if m.latency_us > 0
                    and not m.source.endswith("#memory") and not m.source.startswith("coldchain")]
            check["threads"][str(threads)] = _check_composition(fit, nets)
            rt_fits[threads] = fit
        mem_samples = [_memory_sample(m) for c in cells if c.runtime == rt.runtime and c.threads == top
                       for m in cells[c].models if m.source.endswith("#memory") and m.peak_rss_load_kib > 0]
        memory = fit_memory(mem_samples)
        check["memory"] = memory.to_dict() if memory else None
        models[rt.runtime] = RuntimeModels(rt.runtime, rt.version, rt.ep, rt_fits, memory, check)
    return KernelCalibrationResult(models, time.monotonic() - started, session.measured, reused,
                                   session.board_seconds, cells, session.item_us, 1 + size.warmup + size.runs)


def _fmt(runtime: str) -> str:
    return "onnx" if runtime == "onnxruntime" else "tflite"


def _wanted(model: SuiteModel, meas: CellMeasurements) -> bool:
    # Noisy kernels are measured again in the adaptive round of the calibration that found them, not forever.
    return model.key not in meas.measured_keys


def _memory_key(key: str) -> str:
    return f"{key}#memory"


def _has_memory(meas: CellMeasurements, key: str) -> bool:
    return any(m.source == _memory_key(key) and m.peak_rss_load_kib > 0 for m in meas.models)


def _measure_baselines(session: _Session, plan: dict[Cell, list[SuiteModel]]) -> None:
    """TFLite's per-invoke cost first, so its kernel times can be taken net of it."""
    tiny = {c: [_kernel_model(c.runtime, s) for s in _baseline_specs(c.dtype)] for c in plan if c.runtime == "tflite"}
    if not tiny:
        return
    probe = {c: models for c, models in tiny.items()}
    for cell, models in probe.items():
        ids = session.runner.submit([ItemRequest(m) for m in models],
                                    RunSettings(cell.runtime, cell.ep, cell.threads, 30, 5))
        times = [r.p50_us for j in ids for r in session.runner.results(j) if not r.error and r.p50_us > 0]
        session.baselines[cell] = min(times) if times else 0.0
        session.log(f"  {cell.runtime} {cell.dtype} threads={cell.threads}: invoke cost "
                    f"{session.baselines[cell]:.1f} us (tiny ops)")
        keys = {m.key for m in models}
        plan[cell] = [m for m in plan[cell] if m.key not in keys]


def _fit_groups(cells: dict[Cell, CellMeasurements]) -> dict[tuple[str, int], list[Cell]]:
    groups: dict[tuple[str, int], list[Cell]] = defaultdict(list)
    for cell in cells:
        groups[(cell.runtime, cell.threads)].append(cell)
    return groups


def _fit(cells: dict[Cell, CellMeasurements], group: list[Cell]) -> KernelFit:
    samples = [s for c in group for s in cells[c].samples]
    return fit_kernels(samples, group[0].threads)


def _fit_cold(fit: KernelFit, chains: list[ModelTiming]) -> None:
    """The cold-weight rate: the chain's weight bytes over its time (its activations are a few KB)."""
    rates = [m.weight_bytes / (m.latency_us * 1e-6) for m in chains if m.latency_us > 0 and m.weight_bytes > 0]
    if rates:
        fit.cold_bytes_per_s = float(np.median(rates))


def _check_composition(fit: KernelFit, nets: list[ModelTiming]) -> dict[str, Any]:
    """Fit per-run / per-kernel terms on half of the networks, report the other half, then fit on all."""
    nets = sorted(nets, key=lambda m: m.source)
    held_out: list[dict[str, Any]] = []
    if len(nets) >= 4:
        train, test = nets[0::2], nets[1::2]
        fit_cache(fit, [(m.latency_us, m.kernels) for m in train])
        held_out = [_net_row(fit, m) for m in test]
    fit_cache(fit, [(m.latency_us, m.kernels) for m in nets])
    families = {name: {"samples": f.samples, "cv_median_abs_err": round(f.cv_median_abs_err, 4),
                       "cv_time_weighted_err": round(f.cv_time_weighted_err, 4)} for name, f in fit.families.items()}
    return {"families": families, "held_out_networks": held_out,
            "in_sample_networks": [_net_row(fit, m) for m in nets],
            "per_run_us": round(fit.per_run_us, 2), "per_kernel_us": round(fit.per_kernel_us, 3),
            "cold_gbs": round(fit.cold_bytes_per_s / 1e9, 2), "cache_mib": round(fit.cache_bytes / 2**20, 2)}


def _net_row(fit: KernelFit, m: ModelTiming) -> dict[str, Any]:
    predicted, spread, _ = predicted_latency_us(fit, m.kernels)
    return {"network": m.source, "measured_ms": round(m.latency_us / 1e3, 4), "predicted_ms": round(predicted / 1e3, 4),
            "error_pct": round((predicted / m.latency_us - 1) * 100, 1) if m.latency_us else None,
            "uncertainty_pct": round(spread * 100, 1)}


def _memory_sample(m: ModelTiming) -> MemorySample:
    return MemorySample(m.rss_before_load_kib * 1024.0, float(m.weight_bytes - m.int_weight_bytes),
                        float(m.int_weight_bytes), float(m.file_weight_bytes), float(m.activation_bytes),
                        m.peak_rss_load_kib * 1024.0, m.peak_rss_steady_kib * 1024.0)


def check_summary(result: KernelCalibrationResult) -> list[str]:
    """The held-out and in-sample figures, ending in one verdict line a newcomer can read."""
    lines = []
    held_errors: list[float] = []
    kernel_errors: list[float] = []
    for rt, models in result.models.items():
        for threads, c in sorted(models.check.get("threads", {}).items(), key=lambda kv: int(kv[0])):
            fams = ", ".join(f"{n} {v['cv_time_weighted_err'] * 100:.0f}% ({v['samples']})"
                             for n, v in c["families"].items())
            lines.append(f"  {rt} threads={threads}: kernels held out (time-weighted |error|, samples): {fams}")
            kernel_errors += [v["cv_time_weighted_err"] for v in c["families"].values()]
            rows = c["held_out_networks"]
            if rows:
                errs = [abs(r["error_pct"]) for r in rows if r["error_pct"] is not None]
                held_errors += errs
                lines.append(f"  {rt} threads={threads}: networks held out: "
                             + ", ".join(f"{r['error_pct']:+.1f}%" for r in rows)
                             + f"; overhead {c['per_run_us']:.0f} us per run + {c['per_kernel_us']:.1f} us per kernel")
        if models.memory:
            m = models.memory
            lines.append(f"  {rt} memory (in-sample, {m.samples} networks): load peak median |error| "
                         f"{m.load_median_abs_err * 100:.1f}%, steady {m.steady_median_abs_err * 100:.1f}%")
    worst_kernel = max(kernel_errors, default=math.nan)
    within = sum(1 for e in held_errors if e <= 10)
    if held_errors and within == len(held_errors) and worst_kernel <= 0.15:
        verdict = (f"verdict: GOOD — {within}/{len(held_errors)} held-out networks within ±10%, kernel families "
                   f"within {worst_kernel * 100:.0f}%")
    elif held_errors and within >= 0.75 * len(held_errors):
        verdict = (f"verdict: USABLE — {within}/{len(held_errors)} held-out networks within ±10%; expect some "
                   f"models off by more (worst kernel family {worst_kernel * 100:.0f}%)")
    else:
        median = f" (median |error| {statistics.median(held_errors):.0f}%)" if held_errors else ""
        verdict = (f"verdict: ROUGH — only {within}/{len(held_errors)} held-out networks within ±10%{median}: "
                   "take the predictions as indicative; if the board was busy, calibrate again when it is idle "
                   "(and without --quick)")
    lines.append(verdict)
    return lines


def kernels_for_model(path: str | Path, optimized_model: bytes | None = None) -> list[Kernel]:
    """The kernels of a user's model as the runtime runs them (onnxruntime: from its optimized graph)."""
    if optimized_model:
        with tempfile.NamedTemporaryFile(suffix=".onnx") as tmp:
            tmp.write(optimized_model)
            tmp.flush()
            graph = read_model(tmp.name)
            return kernels_of(graph, analyze(graph, tmp.name))
    graph = read_model(path)
    return kernels_of(graph, analyze(graph, str(path)))


@dataclass
class BudgetEstimate:
    here_s: float  # the board time this calibration took
    there_s: float  # the same suite on the other board, estimated
    overhead_share: float  # of `here_s`, the part that is per-item overhead (sessions, workers), not kernels
    how: str


def estimate_board_time(result: KernelCalibrationResult, here_gflops_per_core: float, other) -> BudgetEstimate:
    """What the suite measured here would take on the board of the DeviceProfile `other`: every item's timed
    runs (capped, as the worker caps them) scaled by the ratio of per-core compute rates, and the per-item
    overhead (a session, a worker, the host round trips) by the ratio of the two profiles' dispatch costs."""
    from ..costmodel import load_profile

    host = load_profile("x86-host")
    compute = here_gflops_per_core / (other.peak("fp32") / other.cores.value)
    overhead_ratio = other.dispatch_overhead_us.value / host.dispatch_overhead_us.value
    cap = MAX_ITEM_S * 1e6

    def runs_time(t_us: float) -> float:  # one item's inference time, the worker's cap applied
        timed = max(0, result.runs_per_item - 3)
        untimed = result.runs_per_item - timed
        return untimed * t_us + max(1, min(timed, int(cap // max(t_us, 1e-3)))) * t_us

    here_runs = sum(runs_time(t) for _, t in result.item_us) / 1e6
    there_runs = sum(runs_time(t * compute) for _, t in result.item_us) / 1e6
    overhead = max(0.0, result.board_seconds - here_runs)
    there = there_runs + overhead * overhead_ratio
    how = (f"kernel time x {compute:.1f} (this board's {here_gflops_per_core:.0f} GFLOP/s per core against "
           f"{other.name}'s {other.peak('fp32') / other.cores.value:.0f}), per-item overhead x {overhead_ratio:.1f} "
           f"(the {other.name} and x86-host profiles' dispatch cost)")
    return BudgetEstimate(result.board_seconds, there, overhead / result.board_seconds if result.board_seconds
                          else 0.0, how)
