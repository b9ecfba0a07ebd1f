"""`controller bench`: send models to an agent, run them, and collect one run record per job."""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .costmodel import CostModelError
from .costmodel.tflite_extract import unique_kernels
from .errors import ControllerError
from .link.client import UploadOutcome
from .link.connection import BoardConnection, connect
from .link.job_spec import stored_spec
from .link.target import parse_target
from .link.targets_config import CredentialFlags
from .models import ModelArg, resolve_model, runtime_for
from .prediction.choose import ProfileChoice, choose_profile, foreign_profile
from .prediction.graph_cache import cached_graph, keep_graph
from .prediction.predicted import attach_prediction
from .preflight import ModelPlan, check_board, check_models
from .records import (
    RUNTIMES,
    BatchItem,
    Board,
    InputArray,
    IsolatedKernel,
    JobProgress,
    JobSpec,
    ModelRecord,
    RunRecord,
)


@dataclass
class BenchOptions:
    target: str
    models: list[str]
    runtime: str = "auto"
    ep: str = ""
    threads: list[int] = field(default_factory=list)  # empty: the board's core count
    runs: int = 50
    duration_s: float = 0.0
    warmup: int = 5
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    input_files: dict[str, Path] = field(default_factory=dict)
    seed: int = 0
    timeout_s: float = 0.0
    delegate_path: str = ""
    profile_ops: bool = False
    connect_timeout_s: float = 10.0
    credentials: CredentialFlags = field(default_factory=CredentialFlags)  # over the target's stored file
    device: str | None = None  # cost-model profile; None: the board's calibration, else a matched built-in
    predict: bool = True
    keep_trace: bool = False  # ask the agent to keep the power/temperature time series (stored for reports)
    cooldown_to_c: float = 0.0  # wait until the board is below this temperature before each job (0: don't)
    cooldown_timeout_s: float = 0.0  # bound of that wait (0: the agent's)
    sample_rate_hz: float = 0.0  # sensor sampling (0: the agent's)
    idle_baseline_s: float | None = None  # None: the agent's default
    max_duration_s: float = 0.0  # stop the timed loop after this long (benchmark_model's --max_secs)
    graph_optimization_level: str = ""  # onnxruntime's; "" its default
    provider_options: dict[str, str] = field(default_factory=dict)  # --ep-option
    delegate_options: dict[str, str] = field(default_factory=dict)  # --delegate-option
    inter_op_threads: int = 0
    rate_hz: float = 0.0  # > 0: real-time mode
    deadline_ms: float = 0.0


class ProgressReport(Protocol):
    """Where bench tells how its jobs go (the CLI's progress bar on stderr)."""

    def start_job(self, index: int, label: str) -> None: ...
    def update(self, progress: JobProgress) -> None: ...
    def finish_job(self, status: str) -> None: ...


class _Silent:
    def start_job(self, index: int, label: str) -> None:
        pass

    def update(self, progress: JobProgress) -> None:
        pass

    def finish_job(self, status: str) -> None:
        pass


@dataclass
class PlannedJob:
    model: ModelArg
    runtime: str
    threads: int
    plan: ModelPlan | None = None
    upload: UploadOutcome | None = None
    job_id: str = ""
    error: str = ""
    spec: JobSpec | None = None


def build_spec(opts: BenchOptions, job: PlannedJob) -> JobSpec:
    # Each model gets the shapes and arrays that name its own inputs (several models, one command line).
    shapes = job.plan.input_shapes if job.plan is not None else dict(opts.input_shapes)
    files = {n: p for n, p in opts.input_files.items() if job.plan is None or n in job.plan.input_files}
    ort = job.runtime == "onnxruntime"
    return JobSpec(
        model_sha256=job.upload.sha256 if job.upload else "",
        model_name=job.model.name,
        runtime=job.runtime,
        execution_provider=opts.ep,
        threads=job.threads,
        warmup_runs=opts.warmup,
        runs=opts.runs,
        min_duration_s=opts.duration_s,
        input_shapes=dict(shapes),
        input_seed=opts.seed,
        inputs=[InputArray(name, path.read_bytes()) for name, path in files.items()],
        timeout_s=opts.timeout_s,
        profile_ops=opts.profile_ops and ort,  # TFLite: kernels measured alone instead
        delegate_path=opts.delegate_path,
        keep_trace=opts.keep_trace,
        cooldown_to_c=opts.cooldown_to_c,
        cooldown_timeout_s=opts.cooldown_timeout_s,
        sample_rate_hz=opts.sample_rate_hz,
        idle_baseline_s=opts.idle_baseline_s,
        max_duration_s=opts.max_duration_s,
        graph_optimization_level=opts.graph_optimization_level if ort else "",
        provider_options=dict(opts.provider_options) if ort else {},
        delegate_options=dict(opts.delegate_options) if not ort else {},
        inter_op_threads=opts.inter_op_threads if ort else 0,
        rate_hz=opts.rate_hz,
        deadline_ms=opts.deadline_ms,
    )


def model_record(model: ModelArg, upload: UploadOutcome | None) -> ModelRecord:
    return ModelRecord(model.name, model.text, model.format, upload.sha256 if upload else None,
                       upload.size_bytes if upload else model.path.stat().st_size)


def plan_models(opts: BenchOptions) -> tuple[list[ModelArg], dict[str, str]]:
    """The models and the runtime for each, checked before anything connects."""
    models = [resolve_model(m) for m in opts.models]
    for name, path in opts.input_files.items():
        if not path.is_file():
            raise ControllerError(f"input file for {name!r} not found: {path}")
    runtimes = {m.text: runtime_for(m, opts.runtime) for m in models}
    for runtime in runtimes.values():
        if runtime not in RUNTIMES:
            raise ControllerError(f"unknown runtime {runtime!r} (use onnxruntime, tflite or auto)")
    return models, runtimes


def plan_checks(opts: BenchOptions, models: list[ModelArg], runtimes: dict[str, str]) -> list[ModelPlan]:
    """What can be checked on this machine (format, runtime, input names, open dims); a name no model has
    raises at once."""
    return check_models(models, runtimes, opts.input_shapes, list(opts.input_files))


# Told of each job bench submits (the pending-jobs journal): job id, model as given, its name, its file, its
# sha256, runtime, threads, the spec as stored.
SubmitJournal = Callable[[str, str, str, Path, str, str, int, "dict | None"], None]


def run_bench(opts: BenchOptions, progress: ProgressReport | None = None,
              keep: Callable[[list[RunRecord]], bool] | None = None,
              journal: SubmitJournal | None = None) -> list[RunRecord]:
    """bench's jobs on the target. With `keep` (store them), the board lets go of each result only once `keep`
    returned True: a run that could not be stored stays on the board for `controller watch`. ControllerError
    (exit 2) when not one job could even be submitted: every model refused before upload, or every upload /
    submit refused."""
    target = parse_target(opts.target)
    models, runtimes = plan_models(opts)
    plans = plan_checks(opts, models, runtimes)
    refuse_if_nothing_runs([p.problem for p in plans])  # before a local agent is even started
    with connect(target, opts.connect_timeout_s, opts.credentials) as board:
        records = bench_on(board, opts, models, runtimes, progress, plans, collect=keep is None, journal=journal)
        refuse_if_nothing_runs([r.error or "refused" if not r.job_id else "" for r in records])
        if keep is not None and keep(records):
            collect_runs(board, records)
        return records


def refuse_if_nothing_runs(problems: list[str]) -> None:
    if problems and all(problems):
        distinct = list(dict.fromkeys(problems))
        raise ControllerError(distinct[0] if len(distinct) == 1 else "nothing could run: " + "; ".join(distinct))


def collect_runs(board: BoardConnection, records: list[RunRecord]) -> None:
    for record in records:
        if record.job_id:
            board.collect(record.job_id)


def prediction_choice(board: Board, opts: BenchOptions) -> ProfileChoice | None:
    """The cost-model profile bench predicts with on this board (None with predict off)."""
    return _choose_profile(board, opts) if opts.predict else None


def attach_predictions(choice: ProfileChoice, runs: list[tuple[Path, RunRecord, dict[str, list[int]]]]) -> None:
    """Each run's `predicted`, from its model file and input shapes: what bench does after measuring (watch
    does the same)."""
    cache: dict = {}
    for path, record, input_shapes in runs:
        attach_prediction(record, choice, str(path), input_shapes, cache)


def bench_on(board: BoardConnection, opts: BenchOptions, models: list[ModelArg], runtimes: dict[str, str],
             progress: ProgressReport | None = None, plans: list[ModelPlan] | None = None, collect: bool = True,
             journal: SubmitJournal | None = None) -> list[RunRecord]:
    """Run opts' jobs through an open connection (regress calls this once per benchmark on a held one).
    A job refused by the checks is a failed record that never reached the board. `collect=False` leaves the
    results on the board (the caller collects them once stored)."""
    described = board.board
    choice = prediction_choice(described, opts)
    ort_version = next((r.version for r in board.describe().runtimes if r.name == "onnxruntime"), "")
    thread_counts = opts.threads or [described.cpu_count or 1]
    if plans is None:
        plans = plan_checks(opts, models, runtimes)
    option_kinds = {"provider": opts.provider_options, "delegate": opts.delegate_options}
    for plan in plans:
        plan.problem = plan.problem or check_board(plan, board.describe(), opts.ep, opts.delegate_path, option_kinds)
    jobs = [PlannedJob(p.model, p.runtime, t, p, error=p.problem) for p in plans for t in thread_counts]
    if all(job.error for job in jobs):  # nothing to run: the caller says why, once (run_bench: exit 2)
        return [_failed_run(board.target.text, described, job, opts.ep) for job in jobs]
    progress = progress or _Silent()
    # Submit everything first: the agent runs the jobs back to back, and a controller that goes away
    # leaves them running with their results kept on the board.
    uploads: dict[str, UploadOutcome] = {}
    for job in jobs:
        if job.error:
            continue
        try:
            if job.model.text not in uploads:
                uploads[job.model.text] = board.upload(job.model.path, job.model.name)
            job.upload = uploads[job.model.text]
            job.spec = build_spec(opts, job)
            # The fitted kernel models read onnxruntime's optimized graph: the board's own (asked once per model).
            job.spec.return_optimized_model = (job.runtime == "onnxruntime" and choice is not None
                                               and choice.kernel_models_for("onnxruntime") is not None
                                               and cached_graph(described.fingerprint, job.upload.sha256,
                                                                ort_version, job.spec.graph_optimization_level)
                                               is None)
            job.job_id = board.submit(job.spec)
        except ControllerError as exc:
            job.error = str(exc)
            continue
        if journal is not None:
            journal(job.job_id, job.model.text, job.model.name, job.model.path, job.upload.sha256, job.runtime,
                    job.threads, stored_spec(job.spec))
    records: list[RunRecord] = []
    for index, job in enumerate(jobs, start=1):
        label = f"{job.model.name} {job.runtime} threads={job.threads}"
        progress.start_job(index, label)
        if job.error:
            records.append(_failed_run(board.target.text, described, job, opts.ep))
            progress.finish_job("refused before upload (the table says why)" if job.plan and job.plan.problem
                                else "failed (the table says why)")
            continue
        record = board.watch(job.job_id, model_record(job.model, job.upload), on_progress=progress.update)
        records.append(record)
        if collect:
            board.collect(job.job_id)
        progress.finish_job(_outcome(record))
    for job, record in zip(jobs, records, strict=True):
        record.job_spec = stored_spec(job.spec) if job.spec is not None else None
        if job.runtime == "onnxruntime" and job.upload is not None:
            level = job.spec.graph_optimization_level if job.spec is not None else ""
            if record.optimized_model:
                keep_graph(described.fingerprint, job.upload.sha256, record.runtime_version, record.optimized_model,
                           level)
            elif record.status == "ok":
                record.optimized_model = cached_graph(described.fingerprint, job.upload.sha256,
                                                      record.runtime_version, level) or b""
    if choice is not None:
        ran = [(job, record) for job, record in zip(jobs, records, strict=True) if job.job_id]
        # a job refused before it ran has nothing to compare a prediction with
        attach_predictions(choice, [(job.model.path, record, job.plan.input_shapes if job.plan else opts.input_shapes)
                                    for job, record in ran])
        for _, record in ran:
            _say_whose_profile(record, described, choice)
    if opts.profile_ops:  # TFLite has no op profiler: measure its distinct kernels one at a time instead
        for job, record in zip(jobs, records, strict=True):
            if job.runtime == "tflite" and record.status == "ok":
                _measure_isolated(board, opts, job, record, progress)
    return records


def _outcome(record: RunRecord) -> str:
    """One job's line of progress: its status and headline figure (the error is in the table's notes)."""
    if record.status != "ok" or record.latency_ms is None:
        return f"{record.status} (the table says why)" if record.error else record.status
    return f"ok, p50 {record.latency_ms.p50:.3g} ms over {record.latency_ms.count} runs"


def _invoke_probe() -> bytes:
    """The per-invoke cost of LiteRT (the worker times invoke() alone): a one-element ADD is nothing but that."""
    from .zoo.tflite_net import TfliteNet  # the zoo's TFLite writer, only needed here
    from .zoo.weights import Weights

    net = TfliteNet(Weights("invoke-probe"), [1, 1], "invoke-probe")
    return net.finish(net.add(net.input, net.input), "edgebench: the per-invoke cost of the runtime")


def _measure_isolated(board: BoardConnection, opts: BenchOptions, job: PlannedJob, record: RunRecord,
                      progress: ProgressReport) -> None:
    """The model's distinct TFLite kernels, each alone as a one-op model, in one batch job on the board; the
    per-op figure is the median invoke net of the invoke cost of a one-element ADD in the same batch."""
    try:
        kernels = unique_kernels(job.model.path)
    except ControllerError as exc:
        record.warnings.append(f"per-op: {exc}")
        return
    standalone = [k for k in kernels if k.model is not None]
    record.isolated_kernels = [IsolatedKernel(k.label, k.count, None, k.reason) for k in kernels if k.model is None]
    if not standalone:
        return
    with tempfile.TemporaryDirectory(prefix="edgebench-isolated-") as tmp:
        paths = []
        for i, k in enumerate([None, *standalone]):
            path = Path(tmp) / f"op{i}.tflite"
            path.write_bytes(_invoke_probe() if k is None else k.model)
            paths.append(path)
        items = [BatchItem(board.upload(p, f"{job.model.name}-op{i}").sha256, f"{job.model.name}-op{i}")
                 for i, p in enumerate(paths)]
    spec = JobSpec("", f"{job.model.name} kernels", "tflite", execution_provider=opts.ep, threads=job.threads,
                   warmup_runs=2, runs=max(5, min(opts.runs, 20)), timeout_s=opts.timeout_s, no_sampling=True,
                   idle_baseline_s=0.0, max_duration_s=0.5, delegate_path=opts.delegate_path, batch=items)
    progress.start_job(0, f"{job.model.name}: {len(standalone)} kernels in isolation")
    job_id = board.submit(spec)
    _, results = board.watch_batch(job_id)
    board.collect(job_id)
    progress.finish_job("ok")
    probe, measured = results[0], results[1:]
    invoke_ms = probe.latency_ms.p50 if probe.latency_ms is not None else 0.0
    if record.kernel_prediction is not None:
        names = [n.name for n in record.kernel_prediction.graph.nodes]
    else:  # uncalibrated: the roofline prediction read the same ops, in the same order
        names = [c.name for c, _ in record.prediction.per_node()] if record.prediction is not None else []
    for k, r in zip(standalone, measured, strict=False):
        if r.latency_ms is None:
            record.isolated_kernels.append(IsolatedKernel(k.label, k.count, None, r.error or "not measured"))
            continue
        ms = max(r.latency_ms.p50 - invoke_ms, 0.0)
        record.isolated_kernels.append(IsolatedKernel(
            k.label, k.count, ms, per_kernel_ms={names[i]: ms for i in k.op_indices if i < len(names)}))


def _failed_run(target: str, board: Board, job: PlannedJob, ep: str) -> RunRecord:
    """The record of a job that never ran (the upload or the submit was refused)."""
    return RunRecord(target, board, model_record(job.model, job.upload), job.runtime, "", ep, job.threads, "failed",
                     job.error)


def _say_whose_profile(record: RunRecord, board: Board, choice: ProfileChoice) -> None:
    """A --device profile of another kind of board predicts that board, not this one: say so in the run."""
    if record.predicted and not record.predicted.get("error") and choice.profile is not None:
        mismatch = foreign_profile(board, choice.profile)
        if mismatch:
            record.predicted["foreign_profile"] = mismatch


def _choose_profile(board: Board, opts: BenchOptions) -> ProfileChoice:
    try:
        return choose_profile(board, opts.device)
    except CostModelError as exc:
        raise ControllerError(str(exc)) from None
