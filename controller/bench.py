"""`controller bench`: send models to an agent, run them, and collect one run record per job."""
from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import json_format

from edgebench.v1 import agent_pb2 as pb

from .calibration.choose import ProfileChoice, choose_profile
from .calibration.predicted import predicted_for_run
from .client import AgentClient, UploadOutcome
from .costmodel import CostModelError
from .errors import ControllerError
from .local_agent import start_local_agent
from .models import ModelArg, resolve_model, runtime_for
from .progress import ProgressBar
from .records import RunRecord, board_record, failed_run, run_from_result
from .target import Target, parse_target

RUNTIME_ENUM = {"onnxruntime": pb.RUNTIME_ONNXRUNTIME, "tflite": pb.RUNTIME_TFLITE}


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
    device: str | None = None  # cost-model profile; None: the board's calibration, else a matched built-in
    predict: bool = True
    keep_trace: bool = False  # ask the agent to keep the power/temperature time series (stored for reports)
    cooldown_to_c: float = 0.0  # wait until the board is below this temperature before each job (0: don't)


@dataclass
class PlannedJob:
    model: ModelArg
    runtime: str
    threads: int
    upload: UploadOutcome | None = None
    job_id: str = ""
    error: str = ""
    spec: pb.JobSpec | None = None


@contextlib.contextmanager
def connect(target: Target, connect_timeout_s: float = 10.0) -> Iterator[AgentClient]:
    """A client for the target; `local` starts an agent on loopback for the duration."""
    if target.is_local:
        with start_local_agent() as local, AgentClient(local.address, connect_timeout_s) as client:
            yield client
    else:
        from .targets_config import (
            credentials_for,  # the token and TLS stored for this target, or given as flags
        )

        with AgentClient(target.grpc_address, connect_timeout_s, credentials_for(target)) as client:
            yield client


def build_spec(opts: BenchOptions, job: PlannedJob) -> pb.JobSpec:
    spec = pb.JobSpec(
        model_sha256=job.upload.sha256 if job.upload else "",
        model_name=job.model.name,
        runtime=RUNTIME_ENUM[job.runtime],
        execution_provider=opts.ep,
        threads=job.threads,
        warmup_runs=opts.warmup,
        runs=opts.runs,
        min_duration_s=opts.duration_s,
        input_seed=opts.seed,
        timeout_s=opts.timeout_s,
        profile_ops=opts.profile_ops,
        delegate_path=opts.delegate_path,
        keep_trace=opts.keep_trace,
        cooldown_to_c=opts.cooldown_to_c,
    )
    for name, dims in opts.input_shapes.items():
        spec.input_shapes.add(name=name, dims=dims)
    for name, path in opts.input_files.items():
        spec.inputs.add(name=name, npy=path.read_bytes())
    return spec


def spec_record(spec: pb.JobSpec) -> dict:
    """The job spec as stored with the run: input arrays by size and sha256, not their bytes."""
    out = json_format.MessageToDict(spec, preserving_proto_field_name=True,
                                    always_print_fields_with_no_presence=True)
    out["inputs"] = [{"name": i.name, "npy_bytes": len(i.npy), "npy_sha256": hashlib.sha256(i.npy).hexdigest()}
                     for i in spec.inputs]
    return out


def plan_models(opts: BenchOptions) -> tuple[list[ModelArg], dict[str, str]]:
    """The models and the runtime for each, checked before anything connects."""
    models = [resolve_model(m) for m in opts.models]
    for name, path in opts.input_files.items():
        if not path.is_file():
            raise ControllerError(f"input file for {name!r} not found: {path}")
    runtimes = {m.text: runtime_for(m, opts.runtime) for m in models}
    for runtime in runtimes.values():
        if runtime not in RUNTIME_ENUM:
            raise ControllerError(f"unknown runtime {runtime!r} (use onnxruntime, tflite or auto)")
    return models, runtimes


def run_bench(opts: BenchOptions, progress: ProgressBar | None = None) -> list[RunRecord]:
    target = parse_target(opts.target)
    models, runtimes = plan_models(opts)
    with connect(target, opts.connect_timeout_s) as client:
        return bench_on_client(client, target, opts, models, runtimes, progress)


def bench_on_client(client: AgentClient, target: Target, opts: BenchOptions, models: list[ModelArg],
                    runtimes: dict[str, str], progress: ProgressBar | None = None,
                    desc: pb.BoardDescription | None = None) -> list[RunRecord]:
    """Run opts' jobs through an open client (regress calls this once per benchmark on a held connection)."""
    desc = desc if desc is not None else client.describe()
    board = board_record(desc)
    choice = _choose_profile(board, opts) if opts.predict else None
    thread_counts = opts.threads or [desc.cpu_count or 1]
    jobs = [PlannedJob(m, runtimes[m.text], t) for m in models for t in thread_counts]
    progress = progress or ProgressBar(len(jobs), enabled=False)
    # Submit everything first: the agent runs the jobs back to back, and a controller that goes away
    # leaves them running with their results kept on the board.
    uploads: dict[str, UploadOutcome] = {}
    for job in jobs:
        try:
            if job.model.text not in uploads:
                uploads[job.model.text] = client.ensure_model(job.model.path, job.model.name)
            job.upload = uploads[job.model.text]
            job.spec = build_spec(opts, job)
            job.job_id = client.submit(job.spec).job_id
        except ControllerError as exc:
            job.error = str(exc)
    records: list[RunRecord] = []
    for index, job in enumerate(jobs, start=1):
        label = f"{job.model.name} {job.runtime} threads={job.threads}"
        progress.start_job(index, label)
        if job.error:
            records.append(failed_run(target.text, board, job.model, job.runtime, opts.ep, job.threads,
                                      job.error, job.upload))
            progress.finish_job(f"failed: {job.error}")
            continue
        result = client.watch(job.job_id, on_progress=progress.update)
        records.append(run_from_result(target.text, board, job.model, job.upload, result))
        client.collect(job.job_id)
        status = records[-1].status
        progress.finish_job(status if status != "failed" else f"failed: {result.error}")
    for job, record in zip(jobs, records, strict=True):
        record.job_spec = spec_record(job.spec) if job.spec is not None else None
    if choice is not None:
        cache: dict = {}
        for job, record in zip(jobs, records, strict=True):
            attach_prediction(record, choice, str(job.model.path), opts.input_shapes, cache)
    return records


def _choose_profile(board: dict, opts: BenchOptions) -> ProfileChoice:
    try:
        return choose_profile(board, opts.device)
    except CostModelError as exc:
        raise ControllerError(str(exc)) from None


def attach_prediction(record: RunRecord, choice: ProfileChoice, model_path: str,
                      input_shapes: dict[str, list[int]], cache: dict) -> None:
    if not record.inputs and input_shapes:  # a failed run: the shapes the user asked for
        record.inputs = [{"name": k, "dtype": "", "shape": v} for k, v in input_shapes.items()]
        predicted, prediction = predicted_for_run(record, choice.profile, choice.note, model_path, cache)
        record.inputs = []
    else:
        predicted, prediction = predicted_for_run(record, choice.profile, choice.note, model_path, cache)
    record.predicted = predicted
    record.prediction = prediction
    if choice.profile is None:
        record.warnings.append(f"no prediction: {choice.note}")
