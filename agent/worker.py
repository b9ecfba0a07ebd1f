"""The worker: a child process of the agent that loads a model (or a batch of them) and runs the timed loop.

    python -m edgebench.agent.worker JOB_DIR

Reads the JobSpec and the model path(s) from JOB_DIR and reports to the agent over its stdout pipe in frames
(agent/worker_channel.py): progress, each finished batch item at once, and last its JobResult; nothing it
measured goes through the disk, so a full state dir cannot lose it. A runtime crash kills this process, never
the agent, and loses no item already sent.
Everything the per-inference figure includes is the runtime's invoke() and nothing else.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from edgebench.v1 import agent_pb2 as pb

from .inputs import build_feeds
from .job_files import SPEC_FILE, WORKER_CONFIG_FILE
from .model_format import TFLITE, sniff_file
from .procmem import read_proc_memory, reset_peak_rss
from .realtime import paced_loop, realtime_stats
from .runtimes import LoadOptions, ModelError, get_runtime
from .stats import summarize_latency
from .worker_channel import BATCH_ITEM, PROGRESS, RESULT, ChannelWriter

PROGRESS_INTERVAL_NS = 200_000_000  # five progress lines a second at most: printing is outside the timed call
EXIT_MODEL_ERROR = 3
OPTIMIZED_GRAPH_FILE = "optimized.onnx"


def monotonic_ns() -> int:
    # The samplers in the agent stamp with the same clock, so power can be integrated over this window.
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def runtime_name(spec: pb.JobSpec, model_path: str) -> str:
    if spec.runtime == pb.RUNTIME_ONNXRUNTIME:
        return "onnxruntime"
    if spec.runtime == pb.RUNTIME_TFLITE:
        return "tflite"
    try:
        return "tflite" if sniff_file(model_path).format == TFLITE else "onnxruntime"
    except OSError as exc:
        raise ModelError(f"cannot read the cached model: {exc.strerror or exc}") from None


class ProgressWriter:
    """Progress frames to the agent; inside a batch they carry the item count too."""

    def __init__(self, channel: ChannelWriter) -> None:
        self.channel = channel
        self._start = time.monotonic()
        self.batch_done = 0
        self.batch_total = 0

    def emit(self, phase: str, done: int = 0, total: int = 0, message: str = "") -> None:
        line = {"phase": phase, "done": done, "total": total,
                "elapsed_s": round(time.monotonic() - self._start, 3), "message": message}
        if self.batch_total:
            line.update(batch_done=self.batch_done, batch_total=self.batch_total)
        self.channel.send_json(PROGRESS, line)


@dataclass
class ModelRequest:
    """One model to measure: the job's own, or one batch item."""

    model_path: str
    input_shapes: list[pb.InputShape]
    inputs: list[pb.InputData]
    profile_ops: bool
    return_optimized_model: bool
    work_dir: Path
    tag: str  # names this model's files in the job dir (profiles, optimized graph)
    fresh_peak: bool  # reset VmHWM before the load: in a batch, earlier items must not count


def measure_into(out: pb.JobResult | pb.BatchResult, req: ModelRequest, spec: pb.JobSpec,
                 progress: ProgressWriter) -> None:
    """Load one model and run the timed loop, filling the fields JobResult and BatchResult share."""
    name = runtime_name(spec, req.model_path)
    out.runtime = name
    out.execution_provider_requested = spec.execution_provider
    progress.emit("loading", message=f"loading with {name}")
    runtime = get_runtime(name)
    out.runtime_version = runtime.version()
    options = LoadOptions(
        threads=spec.threads,
        execution_provider=spec.execution_provider,
        delegate_path=spec.delegate_path,
        delegate_options=dict(spec.delegate_options),
        profile_ops=req.profile_ops,
        profile_dir=str(req.work_dir),
        profile_prefix=f"ort_profile_{req.tag}",
        graph_optimization_level=spec.graph_optimization_level,
        provider_options=dict(spec.provider_options),
        inter_op_threads=spec.inter_op_threads,
    )
    for what, given in (("graph_optimization_level", spec.graph_optimization_level),
                        ("provider_options", spec.provider_options), ("inter_op_threads", spec.inter_op_threads)):
        if given and name != "onnxruntime":
            out.warnings.append(f"{what} applies to onnxruntime only; {name} ignored it")
    fresh_peak = req.fresh_peak
    if fresh_peak and not reset_peak_rss():
        out.warnings.append("could not reset VmHWM before load: the load peak includes what ran before it")
    out.rss_before_load_kib = read_proc_memory().rss_kib or 0
    load_start = time.perf_counter_ns()
    model = runtime.load(req.model_path, options)
    out.execution_provider_requested = model.provider_requested
    overrides = {s.name: list(s.dims) for s in req.input_shapes}
    files = {i.name: i.npy for i in req.inputs}
    feeds, resolved, warnings = build_feeds(model.inputs, overrides, files, spec.input_seed)
    model.resize_inputs({r.spec.name: r.shape for r in resolved})
    model.bind_inputs(feeds)
    out.load_ms = (time.perf_counter_ns() - load_start) / 1e6
    out.warnings.extend(model.warnings + warnings)
    after_load = read_proc_memory()
    out.rss_after_load_kib = after_load.rss_kib or 0
    out.peak_rss_load_kib = after_load.hwm_kib or 0
    for r in resolved:
        out.inputs.add(name=r.spec.name, dtype=r.spec.dtype, shape=r.shape)

    t0 = time.perf_counter_ns()
    model.invoke()
    out.first_inference_ms = (time.perf_counter_ns() - t0) / 1e6
    for spec_out in model.output_specs():
        out.outputs.add(name=spec_out.name, dtype=spec_out.dtype,
                        shape=[d if isinstance(d, int) else -1 for d in spec_out.shape])

    for i in range(spec.warmup_runs):
        if i % 10 == 0:
            progress.emit("warmup", i, spec.warmup_runs)
        model.invoke()

    steady_hwm_known = reset_peak_rss()
    if spec.rate_hz > 0:
        samples = _paced_loop(model, spec, progress, out)
    else:
        samples = _timed_loop(model, spec.runs, spec.min_duration_s, progress, out, spec.max_duration_s)
    progress.emit("finishing", len(samples), len(samples))
    end_mem = read_proc_memory()
    out.peak_rss_kib = max(end_mem.hwm_kib or 0, out.peak_rss_load_kib)
    if steady_hwm_known and end_mem.hwm_kib:
        out.peak_rss_steady_kib = end_mem.hwm_kib
    else:
        out.warnings.append("could not reset VmHWM after load: peak RSS includes the load phase only as a whole")
    out.samples_ns.extend(samples)
    stats = summarize_latency(samples, out.window_end_ns - out.window_start_ns)
    out.latency.CopyFrom(pb.LatencyStats(**vars(stats)))
    out.providers_used.extend(model.providers_used())
    if req.profile_ops:
        out.warnings.append("per-op profiling was on: latency includes the profiler's overhead")
        for op in model.op_profile(skip_runs=1 + spec.warmup_runs):
            out.op_profile.add(node_name=op.node_name, op_type=op.op_type, provider=op.provider,
                               mean_us=op.mean_us, count=op.count, median_us=op.median_us,
                               steady_count=op.steady_count, order=op.order)
    model.close()
    if req.return_optimized_model:
        # Its own session, after every measured figure (time and memory alike) was taken: the job measures
        # exactly what it would without it.
        graph = runtime.write_optimized_graph(req.model_path, options,
                                              str(req.work_dir / f"{req.tag}.{OPTIMIZED_GRAPH_FILE}"))
        if graph is None:
            out.warnings.append(f"{name} has no runtime-optimized graph to return (LiteRT applies its delegate "
                                "at load and writes no graph)")
        else:
            out.optimized_model = graph
    out.state = pb.JOB_STATE_SUCCEEDED


def run_job(spec: pb.JobSpec, model_path: str, job_dir: Path, progress: ProgressWriter,
            input_paths: dict[str, str] | None = None) -> pb.JobResult:
    result = pb.JobResult(threads=spec.threads, warmup_runs=spec.warmup_runs)
    inputs = [_input_bytes(data, input_paths or {}) for data in spec.inputs]
    req = ModelRequest(model_path, list(spec.input_shapes), inputs, spec.profile_ops,
                       spec.return_optimized_model, job_dir, "job", fresh_peak=False)
    measure_into(result, req, spec, progress)
    return result


def run_batch(spec: pb.JobSpec, model_paths: list[str], job_dir: Path, progress: ProgressWriter) -> pb.JobResult:
    """Every item in turn, each sent to the agent as soon as it is done; one item's error is that item's only."""
    result = pb.JobResult(threads=spec.threads, warmup_runs=spec.warmup_runs,
                          execution_provider_requested=spec.execution_provider)
    progress.batch_total = len(spec.batch)
    runtimes: set[tuple[str, str]] = set()
    failed = 0
    for index, (item, path) in enumerate(zip(spec.batch, model_paths, strict=True)):
        progress.batch_done = index
        out = pb.BatchResult(model_sha256=item.model_sha256, model_name=item.model_name)
        req = ModelRequest(path, list(item.input_shapes), [], item.profile_ops, item.return_optimized_model,
                           job_dir, f"item{index}", fresh_peak=True)
        try:
            measure_into(out, req, spec, progress)
        except Exception as exc:  # this item only: the batch goes on with the next
            if not isinstance(exc, ModelError):
                traceback.print_exc()
            out.state = pb.JOB_STATE_FAILED
            out.error = _error_text(exc)
            failed += 1
        if out.runtime:
            runtimes.add((out.runtime, out.runtime_version))
        if out.window_end_ns:
            result.window_start_ns = result.window_start_ns or out.window_start_ns
            result.window_end_ns = out.window_end_ns
        result.peak_rss_kib = max(result.peak_rss_kib, out.peak_rss_kib)
        progress.channel.send(BATCH_ITEM, out.SerializeToString())
    progress.batch_done = len(spec.batch)
    progress.emit("finishing", message=f"{len(spec.batch) - failed} of {len(spec.batch)} batch items measured")
    names = sorted(runtimes)
    if len(names) == 1:
        result.runtime, result.runtime_version = names[0]
    elif names:
        result.runtime = "mixed"  # each item says which runtime ran it
    if failed:
        result.warnings.append(f"{failed} of {len(spec.batch)} batch items failed; each says why")
    result.state = pb.JOB_STATE_SUCCEEDED
    return result


def _input_bytes(data: pb.InputData, paths: dict[str, str]) -> pb.InputData:
    """An input array sent by upload (npy_sha256) read from the cache, as if it had come in the spec."""
    if not data.npy_sha256:
        return data
    try:
        return pb.InputData(name=data.name, npy=Path(paths[data.name]).read_bytes())
    except (KeyError, OSError) as exc:
        raise ModelError(f"input {data.name!r}: the uploaded array {data.npy_sha256} cannot be read ({exc})") from None


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ModelError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "the worker ran out of memory (worker memory limit?)"
    if isinstance(exc, ImportError):
        return f"runtime not installed on this board: {exc}"
    return f"worker error: {type(exc).__name__}: {exc}"


def _timed_loop(model, runs: int, min_duration_s: float, progress: ProgressWriter,
                result: pb.JobResult | pb.BatchResult, max_duration_s: float = 0.0) -> list[int]:
    """Run at least `runs` inferences and for at least `min_duration_s` (benchmark_model's rule); with
    `max_duration_s`, stop after that long whatever `runs` says (benchmark_model's --max_secs)."""
    if runs <= 0 and min_duration_s <= 0:
        runs = 1
    min_duration_ns = int(min_duration_s * 1e9)
    max_duration_ns = int(max(max_duration_s, min_duration_s) * 1e9) if max_duration_s > 0 else 0
    samples: list[int] = []
    append = samples.append
    invoke = model.invoke
    clock = time.perf_counter_ns
    next_report = 0
    progress.emit("measuring", 0, runs if min_duration_ns == 0 else 0)
    result.window_start_ns = monotonic_ns()
    start = clock()
    deadline = start + min_duration_ns  # on the loop's own clock, whatever clock the window uses
    cutoff = start + max_duration_ns
    while True:
        t0 = clock()
        invoke()
        t1 = clock()
        append(t1 - t0)
        done = len(samples)
        if done >= runs and (min_duration_ns == 0 or t1 >= deadline):
            break
        if max_duration_ns and t1 >= cutoff:
            break
        if t1 >= next_report:
            next_report = t1 + PROGRESS_INTERVAL_NS
            progress.emit("measuring", done, runs if min_duration_ns == 0 else 0)
    result.window_end_ns = monotonic_ns()
    return samples


def _paced_loop(model, spec: pb.JobSpec, progress: ProgressWriter,
                result: pb.JobResult | pb.BatchResult) -> list[int]:
    """Real-time mode: frames at spec.rate_hz (agent/realtime.py); latency is still invoke() alone, and the
    window spans every frame, the sleeps between them included (so energy per inference is per frame)."""
    frames = spec.runs if spec.runs > 0 or spec.min_duration_s > 0 else 1
    total = frames if spec.min_duration_s == 0 else 0
    next_report = 0

    def on_frame(done: int, end_ns: int) -> None:
        nonlocal next_report
        if end_ns >= next_report:
            next_report = end_ns + PROGRESS_INTERVAL_NS
            progress.emit("measuring", done, total)

    progress.emit("measuring", 0, total)
    result.window_start_ns = monotonic_ns()
    times = paced_loop(model.invoke, spec.rate_hz, frames, spec.min_duration_s, spec.max_duration_s,
                       time.perf_counter_ns, on_frame)
    result.window_end_ns = monotonic_ns()
    result.realtime.CopyFrom(realtime_stats(times, spec.rate_hz, spec.deadline_ms))
    return times.latency_ns


def die_with_parent() -> None:
    """Linux: if the agent is killed, its worker goes too, instead of running on as an orphan."""
    try:
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the agent's timeout still bounds the job


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parent = os.getppid()
    die_with_parent()
    if os.getppid() != parent:  # the agent died before prctl took effect
        return 1
    # The pipe to the agent is ours alone: whatever a runtime prints to stdout goes to the stderr log instead.
    channel = ChannelWriter(os.fdopen(os.dup(1), "wb"))
    os.dup2(2, 1)
    job_dir = Path(argv[0])
    spec = pb.JobSpec.FromString((job_dir / SPEC_FILE).read_bytes())
    config = json.loads((job_dir / WORKER_CONFIG_FILE).read_text())
    limit = int(config.get("memory_limit_bytes") or 0)
    if limit:  # before any runtime is imported or model loaded: address space, as --worker-memory-mb says
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    progress = ProgressWriter(channel)
    exit_code = 0
    try:
        if spec.batch:
            result = run_batch(spec, list(config["model_paths"]), job_dir, progress)
        else:
            result = run_job(spec, config["model_path"], job_dir, progress, config.get("input_paths"))
    except Exception as exc:  # the one answer of this process: say what it was
        if not isinstance(exc, (ModelError, MemoryError, ImportError)):
            traceback.print_exc()  # a bug or an unexpected runtime error: keep the traceback
        result = pb.JobResult(state=pb.JOB_STATE_FAILED, error=_error_text(exc))
        exit_code = EXIT_MODEL_ERROR
    # Through the pipe, not a file: a full state dir must not cost the measurement.
    channel.send(RESULT, result.SerializeToString())
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
