"""What the agent reports about jobs (results, progress, its job list) as the controller's records."""
from __future__ import annotations

from typing import Any

from edgebench.v1 import agent_pb2 as pb

from ..records import (
    KIB_PER_MB,
    TOP_KEYS,
    BatchItemResult,
    Board,
    JobInfo,
    JobProgress,
    LatencyRecord,
    ModelRecord,
    OpProfileEntry,
    RunRecord,
    TensorRecord,
)
from .energy import energy_json, energy_notes
from .job_spec import RUNTIME_NAMES

STATUS_NAMES = {
    pb.JOB_STATE_SUCCEEDED: "ok",
    pb.JOB_STATE_FAILED: "failed",
    pb.JOB_STATE_CANCELLED: "cancelled",
    pb.JOB_STATE_TIMED_OUT: "timed_out",
    pb.JOB_STATE_INTERRUPTED: "interrupted",
}


def energy_record(result: pb.JobResult) -> dict[str, Any] | None:
    """The sensors' figures for a run (energy.py's keys, flattened), with the kept time series as `trace`;
    None when nothing was sampled, so `energy` stays null rather than made up."""
    if not result.HasField("measurement") or result.measurement.sample_rate_hz <= 0:
        return None
    figures = energy_json(result)
    out = {**(figures.pop("energy") or {}), **figures}
    m = result.measurement
    if m.trace:  # seconds from the measurement window's start (negative during the idle baseline)
        out["trace"] = [{"sensor": s.sensor, "kind": s.kind, "figure": s.figure, "unit": s.unit,
                         "t_s": [(t - m.window_start_ns) / 1e9 for t in s.t_ns], "values": list(s.values)}
                        for s in m.trace]
    return out


def contention_record(result: pb.JobResult) -> dict[str, Any] | None:
    """What else used the worker's CPUs during the window (agent/contention.py), or None when the agent did
    not measure it (an older agent, a failed run, --no-contention)."""
    if not result.HasField("measurement") or not result.measurement.HasField("contention"):
        return None
    c = result.measurement.contention
    if not c.span_s:  # measured nothing: only the reason why
        return {"contended": None, "unavailable": dict(c.unavailable)}

    def opt(name: str) -> float | None:
        return getattr(c, name) if c.HasField(name) else None

    return {"contended": c.contended, "contention": c.contention, "threshold": c.threshold, "reason": c.reason or None,
            "span_s": c.span_s, "cpus": list(c.cpus), "need_cores": c.need_cores, "worker_cpu_s": c.worker_cpu_s,
            "other_cpu_s": c.other_cpu_s, "steal_s": c.steal_s, "agent_cpu_s": opt("agent_cpu_s"),
            "load_avg_1m_start": opt("load_avg_1m_start"), "load_avg_1m_end": opt("load_avg_1m_end"),
            "psi_cpu_some": opt("psi_cpu_some"), "psi_memory_some": opt("psi_memory_some"),
            "psi_memory_full": opt("psi_memory_full"), "readings": c.readings, "unavailable": dict(c.unavailable)}


def _mb(kib: int) -> float | None:
    return round(kib / KIB_PER_MB, 2) if kib else None


def _tensors(items) -> list[TensorRecord]:
    return [TensorRecord(t.name, t.dtype, list(t.shape)) for t in items]


def result_runtime(result: pb.JobResult) -> str:
    return result.runtime or RUNTIME_NAMES.get(result.spec.runtime, "")


def model_of_result(result: pb.JobResult, size_bytes: int) -> ModelRecord:
    """The model of a job known only by its result (re-attached by id): its name and sha256 on the board."""
    sha = result.model_sha256 or result.spec.model_sha256
    name = result.model_name or result.spec.model_name or sha[:12]
    fmt = "tflite" if result_runtime(result) == "tflite" else "onnx"
    return ModelRecord(name, f"sha256:{sha}", fmt, sha, size_bytes)


def run_record(result: pb.JobResult, target: str, board: Board, model: ModelRecord) -> RunRecord:
    status = STATUS_NAMES.get(result.state, "failed")
    record = RunRecord(
        target=target,
        board=board,
        model=model,
        runtime=result_runtime(result),
        runtime_version=result.runtime_version,
        ep=result.execution_provider_requested or result.spec.execution_provider,
        threads=result.spec.threads,
        status=status,
        error=result.error or None,
        providers_used=list(result.providers_used),
        warmup=result.spec.warmup_runs,
        warnings=list(result.warnings),
        job_id=result.job_id,
        started_unix_s=result.started_unix_s or None,
        finished_unix_s=result.finished_unix_s or None,
        energy=energy_record(result),
        contention=contention_record(result),
    )
    record.contended = record.contention["contended"] if record.contention else None
    headline = energy_json(result)
    for key in TOP_KEYS:
        setattr(record, key, headline[key])
    record.warnings.extend(n for n in energy_notes(result) if n not in record.warnings)
    if status != "ok":
        return record
    lat = result.latency
    record.latency_ms = LatencyRecord(lat.min_ms, lat.mean_ms, lat.std_ms, lat.p50_ms, lat.p90_ms, lat.p95_ms,
                                      lat.p99_ms, lat.max_ms, lat.count)
    record.throughput_ips = lat.throughput_ips
    record.load_ms = result.load_ms
    record.first_inference_ms = result.first_inference_ms
    record.peak_rss_mb = _mb(result.peak_rss_kib)
    record.rss_after_load_mb = _mb(result.rss_after_load_kib)
    record.peak_rss_load_mb = _mb(result.peak_rss_load_kib)
    record.peak_rss_steady_mb = _mb(result.peak_rss_steady_kib)
    record.samples_ms = [s / 1e6 for s in result.samples_ns]
    record.inputs = _tensors(result.inputs)
    record.outputs = _tensors(result.outputs)
    record.window_monotonic_ns = [result.window_start_ns, result.window_end_ns]
    record.op_profile = _op_profile(result.op_profile)
    record.rss_before_load_mb = _mb(result.rss_before_load_kib)
    record.optimized_model = result.optimized_model
    if result.HasField("realtime"):
        # Field by field: MessageToDict would write the uint64 counts as strings.
        record.realtime = {f.name: getattr(result.realtime, f.name) for f in result.realtime.DESCRIPTOR.fields}
    return record


def _op_profile(entries) -> list[OpProfileEntry]:
    return [OpProfileEntry(o.node_name, o.op_type, o.provider, o.mean_us, o.count, o.median_us, o.order)
            for o in entries]


def batch_results(result: pb.JobResult) -> list[BatchItemResult]:
    """One record per item of a batch job, in the job's order; items the job did not reach say why."""
    out = []
    for item in result.batch:
        error = item.error or ("" if item.state == pb.JOB_STATE_SUCCEEDED else pb.JobState.Name(item.state))
        lat = item.latency
        out.append(BatchItemResult(
            item.model_name, item.model_sha256, error,
            LatencyRecord(lat.min_ms, lat.mean_ms, lat.std_ms, lat.p50_ms, lat.p90_ms, lat.p95_ms, lat.p99_ms,
                          lat.max_ms, lat.count) if not error else None,
            [s / 1e6 for s in item.samples_ns], _op_profile(item.op_profile),
            item.runtime_version or result.runtime_version, item.load_ms or None, item.optimized_model))
    for spec_item in list(result.spec.batch)[len(result.batch):]:
        out.append(BatchItemResult(spec_item.model_name, spec_item.model_sha256,
                                   result.error or "not run: the job ended before this item"))
    return out


def job_progress(event: pb.JobEvent) -> JobProgress | None:
    """The progress of a watch event; None for the other kinds of event."""
    if event.WhichOneof("kind") != "progress":
        return None
    p = event.progress
    return JobProgress(p.phase, p.done, p.total, p.elapsed_s, p.queue_position)


def job_info(status: pb.JobStatus) -> JobInfo:
    return JobInfo(status.job_id, pb.JobState.Name(status.state).removeprefix("JOB_STATE_").lower(),
                   status.model_name, status.submitted_unix_s, status.error)
