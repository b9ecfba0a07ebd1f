"""Run records: one per job, the shape of `bench --json`'s `runs` entries (documented in the README)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from edgebench.v1 import agent_pb2 as pb

from .client import UploadOutcome
from .energy import TOP_KEYS, energy_json, energy_notes
from .models import ModelArg

SCHEMA = "edgebench.bench/1"
KIB_PER_MB = 1024  # memory is printed in MiB ("MB" in tables, as top and jtop do)

RUNTIME_NAMES = {pb.RUNTIME_ONNXRUNTIME: "onnxruntime", pb.RUNTIME_TFLITE: "tflite"}

STATUS_NAMES = {
    pb.JOB_STATE_SUCCEEDED: "ok",
    pb.JOB_STATE_FAILED: "failed",
    pb.JOB_STATE_CANCELLED: "cancelled",
    pb.JOB_STATE_TIMED_OUT: "timed_out",
    pb.JOB_STATE_INTERRUPTED: "interrupted",
}


@dataclass
class LatencyRecord:
    min: float
    mean: float
    std: float
    p50: float
    p90: float
    p95: float
    p99: float
    max: float
    count: int


@dataclass
class RunRecord:
    target: str
    board: dict[str, Any]
    model: dict[str, Any]
    runtime: str
    runtime_version: str
    ep: str
    threads: int
    status: str
    error: str | None = None
    providers_used: list[str] = field(default_factory=list)
    warmup: int = 0
    latency_ms: LatencyRecord | None = None
    throughput_ips: float | None = None
    load_ms: float | None = None
    first_inference_ms: float | None = None
    peak_rss_mb: float | None = None
    rss_after_load_mb: float | None = None
    peak_rss_load_mb: float | None = None
    peak_rss_steady_mb: float | None = None
    samples_ms: list[float] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    job_id: str = ""
    window_monotonic_ns: list[int] = field(default_factory=list)
    op_profile: list[dict[str, Any]] = field(default_factory=list)
    # Filled by the cost model and the energy samplers; null until they have something measured or computed.
    predicted: dict[str, Any] | None = None
    energy: dict[str, Any] | None = None
    # The sensors' headline figures (controller.energy.TOP_KEYS); null where the board did not measure them.
    power_avg_w: float | None = None
    power_idle_w: float | None = None
    energy_j_per_inference: float | None = None
    energy_j_per_inference_above_idle: float | None = None
    power_source: str | None = None
    temp_max_c: float | None = None
    throttled: bool | None = None
    # For the results store: when the board ran the job, the spec it ran, and the stored run's id.
    started_unix_s: float | None = None
    finished_unix_s: float | None = None
    job_spec: dict[str, Any] | None = None
    run_id: int | None = None

    def __post_init__(self) -> None:
        # The cost model's full Prediction (per node) for the per-op tables; not a field, so not in JSON.
        self.prediction: Any = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def board_record(desc: pb.BoardDescription) -> dict[str, Any]:
    return {
        "model": desc.board_model,
        "soc": desc.soc,
        "hostname": desc.hostname,
        "machine": desc.machine,
        "os": desc.os,
        "cpu_count": desc.cpu_count,
        "memory_total_mb": round(desc.memory_total_bytes / (1 << 20)),
        "governor": desc.cpu_governor or None,
        "fingerprint": desc.fingerprint,
        "agent_version": desc.agent_version,
    }


def energy_record(result: pb.JobResult) -> dict[str, Any] | None:
    """The sensors' figures for a run (energy.py's keys, flattened), with the kept time series as `trace`;
    None when nothing was sampled, so `energy` stays null rather than made up."""
    if not result.HasField("measurement"):
        return None
    figures = energy_json(result)
    out = {**(figures.pop("energy") or {}), **figures}
    m = result.measurement
    if m.trace:  # seconds from the measurement window's start (negative during the idle baseline)
        out["trace"] = [{"sensor": s.sensor, "kind": s.kind, "figure": s.figure, "unit": s.unit,
                         "t_s": [(t - m.window_start_ns) / 1e9 for t in s.t_ns], "values": list(s.values)}
                        for s in m.trace]
    return out


def _model_record(model: ModelArg, upload: UploadOutcome | None) -> dict[str, Any]:
    return {
        "name": model.name,
        "source": model.text,
        "format": model.format,
        "sha256": upload.sha256 if upload else None,
        "size_bytes": upload.size_bytes if upload else model.path.stat().st_size,
    }


def _mb(kib: int) -> float | None:
    return round(kib / KIB_PER_MB, 2) if kib else None


def _tensors(items) -> list[dict[str, Any]]:
    return [{"name": t.name, "dtype": t.dtype, "shape": list(t.shape)} for t in items]


def failed_run(target: str, board: dict[str, Any], model: ModelArg, runtime: str, ep: str, threads: int,
               error: str, upload: UploadOutcome | None) -> RunRecord:
    return RunRecord(target, board, _model_record(model, upload), runtime, "", ep, threads, "failed", error)


def run_from_result(target: str, board: dict[str, Any], model: ModelArg, upload: UploadOutcome | None,
                    result: pb.JobResult) -> RunRecord:
    status = STATUS_NAMES.get(result.state, "failed")
    record = RunRecord(
        target=target,
        board=board,
        model=_model_record(model, upload),
        runtime=result.runtime or RUNTIME_NAMES.get(result.spec.runtime, ""),
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
    )
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
    record.op_profile = [
        {"node": o.node_name, "op_type": o.op_type, "provider": o.provider, "mean_us": o.mean_us, "count": o.count}
        for o in result.op_profile
    ]
    return record
