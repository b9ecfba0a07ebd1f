"""The worker: a child process of the agent that loads one model and runs the timed loop.

    python -m agent.worker JOB_DIR

Reads the JobSpec and the model path from JOB_DIR, prints progress as JSON lines on
stdout, and writes its JobResult there atomically. A runtime crash kills this process,
never the agent. Everything the per-inference figure includes is the runtime's invoke() and nothing else.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from edgebench.v1 import agent_pb2 as pb

from .inputs import build_feeds
from .job_files import SPEC_FILE, WORKER_CONFIG_FILE, WORKER_RESULT_FILE
from .model_format import TFLITE, sniff_file
from .procmem import read_proc_memory, reset_peak_rss
from .runtimes import LoadOptions, ModelError, get_runtime
from .stats import summarize_latency

PROGRESS_INTERVAL_NS = 200_000_000  # five progress lines a second at most: printing is outside the timed call
EXIT_MODEL_ERROR = 3


def monotonic_ns() -> int:
    # The samplers in the agent stamp with the same clock, so power can be integrated over this window.
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def runtime_name(spec: pb.JobSpec, model_path: str) -> str:
    if spec.runtime == pb.RUNTIME_ONNXRUNTIME:
        return "onnxruntime"
    if spec.runtime == pb.RUNTIME_TFLITE:
        return "tflite"
    return "tflite" if sniff_file(model_path).format == TFLITE else "onnxruntime"


class ProgressWriter:
    def __init__(self, stream=sys.stdout) -> None:
        self._stream = stream
        self._start = time.monotonic()

    def emit(self, phase: str, done: int = 0, total: int = 0, message: str = "") -> None:
        line = {"phase": phase, "done": done, "total": total,
                "elapsed_s": round(time.monotonic() - self._start, 3), "message": message}
        self._stream.write(json.dumps(line) + "\n")
        self._stream.flush()


def run_job(spec: pb.JobSpec, model_path: str, job_dir: Path, progress: ProgressWriter) -> pb.JobResult:
    result = pb.JobResult()
    name = runtime_name(spec, model_path)
    result.runtime = name
    result.threads = spec.threads
    result.warmup_runs = spec.warmup_runs
    result.execution_provider_requested = spec.execution_provider

    progress.emit("loading", message=f"loading with {name}")
    runtime = get_runtime(name)
    result.runtime_version = runtime.version()
    options = LoadOptions(
        threads=spec.threads,
        execution_provider=spec.execution_provider,
        delegate_path=spec.delegate_path,
        delegate_options=dict(spec.delegate_options),
        profile_ops=spec.profile_ops,
        profile_dir=str(job_dir),
    )
    load_start = time.perf_counter_ns()
    model = runtime.load(model_path, options)
    result.execution_provider_requested = model.provider_requested
    overrides = {s.name: list(s.dims) for s in spec.input_shapes}
    files = {i.name: i.npy for i in spec.inputs}
    feeds, resolved, warnings = build_feeds(model.inputs, overrides, files, spec.input_seed)
    model.resize_inputs({r.spec.name: r.shape for r in resolved})
    model.bind_inputs(feeds)
    result.load_ms = (time.perf_counter_ns() - load_start) / 1e6
    result.warnings.extend(model.warnings + warnings)
    after_load = read_proc_memory()
    result.rss_after_load_kib = after_load.rss_kib or 0
    result.peak_rss_load_kib = after_load.hwm_kib or 0
    for r in resolved:
        result.inputs.add(name=r.spec.name, dtype=r.spec.dtype, shape=r.shape)

    t0 = time.perf_counter_ns()
    model.invoke()
    result.first_inference_ms = (time.perf_counter_ns() - t0) / 1e6
    for out in model.output_specs():
        result.outputs.add(name=out.name, dtype=out.dtype, shape=[d if isinstance(d, int) else -1 for d in out.shape])

    for i in range(spec.warmup_runs):
        if i % 10 == 0:
            progress.emit("warmup", i, spec.warmup_runs)
        model.invoke()

    steady_hwm_known = reset_peak_rss()
    samples = _timed_loop(model, spec.runs, spec.min_duration_s, progress, result)
    progress.emit("finishing", len(samples), len(samples))
    end_mem = read_proc_memory()
    result.peak_rss_kib = max(end_mem.hwm_kib or 0, result.peak_rss_load_kib)
    if steady_hwm_known and end_mem.hwm_kib:
        result.peak_rss_steady_kib = end_mem.hwm_kib
    else:
        result.warnings.append("could not reset VmHWM after load: peak RSS includes the load phase only as a whole")
    result.samples_ns.extend(samples)
    stats = summarize_latency(samples, result.window_end_ns - result.window_start_ns)
    result.latency.CopyFrom(pb.LatencyStats(**vars(stats)))
    result.providers_used.extend(model.providers_used())
    if spec.profile_ops:
        result.warnings.append("per-op profiling was on: latency includes the profiler's overhead")
        for op in model.op_profile(skip_runs=1 + spec.warmup_runs):
            result.op_profile.add(node_name=op.node_name, op_type=op.op_type, provider=op.provider,
                                  mean_us=op.mean_us, count=op.count, median_us=op.median_us,
                                  steady_count=op.steady_count, order=op.order)
    model.close()
    result.state = pb.JOB_STATE_SUCCEEDED
    return result


def _timed_loop(model, runs: int, min_duration_s: float, progress: ProgressWriter, result: pb.JobResult) -> list[int]:
    """Run at least `runs` inferences and for at least `min_duration_s` (benchmark_model's rule)."""
    if runs <= 0 and min_duration_s <= 0:
        runs = 1
    min_duration_ns = int(min_duration_s * 1e9)
    samples: list[int] = []
    append = samples.append
    invoke = model.invoke
    clock = time.perf_counter_ns
    next_report = 0
    progress.emit("measuring", 0, runs if min_duration_ns == 0 else 0)
    result.window_start_ns = monotonic_ns()
    deadline = clock() + min_duration_ns  # on the loop's own clock, whatever clock the window uses
    while True:
        t0 = clock()
        invoke()
        t1 = clock()
        append(t1 - t0)
        done = len(samples)
        if done >= runs and (min_duration_ns == 0 or t1 >= deadline):
            break
        if t1 >= next_report:
            next_report = t1 + PROGRESS_INTERVAL_NS
            progress.emit("measuring", done, runs if min_duration_ns == 0 else 0)
    result.window_end_ns = monotonic_ns()
    return samples


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
    job_dir = Path(argv[0])
    spec = pb.JobSpec.FromString((job_dir / SPEC_FILE).read_bytes())
    config = json.loads((job_dir / WORKER_CONFIG_FILE).read_text())
    model_path = config["model_path"]
    limit = int(config.get("memory_limit_bytes") or 0)
    if limit:  # before any runtime is imported or model loaded: address space, as --worker-memory-mb says
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    progress = ProgressWriter()
    exit_code = 0
    try:
        result = run_job(spec, model_path, job_dir, progress)
    except ModelError as exc:
        result = pb.JobResult(state=pb.JOB_STATE_FAILED, error=str(exc))
        exit_code = EXIT_MODEL_ERROR
    except MemoryError:
        result = pb.JobResult(state=pb.JOB_STATE_FAILED, error="the worker ran out of memory (worker memory limit?)")
        exit_code = EXIT_MODEL_ERROR
    except ImportError as exc:
        result = pb.JobResult(state=pb.JOB_STATE_FAILED, error=f"runtime not installed on this board: {exc}")
        exit_code = EXIT_MODEL_ERROR
    except Exception as exc:  # a bug or an unexpected runtime error: say what it was, keep the traceback
        import traceback

        traceback.print_exc()
        result = pb.JobResult(state=pb.JOB_STATE_FAILED, error=f"worker error: {type(exc).__name__}: {exc}")
        exit_code = EXIT_MODEL_ERROR
    tmp = job_dir / (WORKER_RESULT_FILE + ".tmp")
    tmp.write_bytes(result.SerializeToString())
    os.replace(tmp, job_dir / WORKER_RESULT_FILE)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
