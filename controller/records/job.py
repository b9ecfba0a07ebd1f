"""A job as the controller asks for it and follows it: the spec, its progress, the agent's list of jobs."""
from __future__ import annotations

from dataclasses import dataclass, field

RUNTIMES = ("onnxruntime", "tflite")


@dataclass(frozen=True)
class InputArray:
    """An input fed from a .npy file instead of random data (its bytes travel; the store keeps their hash)."""

    name: str
    npy: bytes


@dataclass(frozen=True)
class BatchItem:
    """One model of a batch job: many models in one worker, each with the job's settings."""

    model_sha256: str
    model_name: str
    profile_ops: bool = False
    return_optimized_model: bool = False


@dataclass
class JobSpec:
    """One job: `bench` builds it from BenchOptions, link/ sends it and writes the form stored with the run."""

    model_sha256: str
    model_name: str
    runtime: str  # one of RUNTIMES
    execution_provider: str = ""
    threads: int = 0  # 0: the runtime's default
    warmup_runs: int = 5
    runs: int = 50  # 0 with min_duration_s: by time
    min_duration_s: float = 0.0
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    input_seed: int = 0
    inputs: list[InputArray] = field(default_factory=list)
    timeout_s: float = 0.0  # 0: the agent's default
    profile_ops: bool = False
    delegate_path: str = ""
    keep_trace: bool = False
    cooldown_to_c: float = 0.0
    # onnxruntime: also return the graph the board's session optimized (what the kernel-level cost model reads)
    return_optimized_model: bool = False
    graph_optimization_level: str = ""  # "" = onnxruntime's default (all)
    max_duration_s: float = 0.0  # > 0: stop the timed loop after this long (benchmark_model's --max_secs)
    no_sampling: bool = False  # latency only: no sensor thread during the job
    idle_baseline_s: float | None = None  # None: the agent's default
    batch: list[BatchItem] = field(default_factory=list)  # a batch job (model_sha256 then stays "")
    delegate_options: dict[str, str] = field(default_factory=dict)  # TFLite external delegate's options
    provider_options: dict[str, str] = field(default_factory=dict)  # onnxruntime execution provider's options
    inter_op_threads: int = 0  # onnxruntime's inter-op pool (0: its default)
    sample_rate_hz: float = 0.0  # sensors; 0: the agent's default
    cooldown_timeout_s: float = 0.0  # bound of the cooldown wait; 0: the agent's default
    rate_hz: float = 0.0  # > 0: real-time mode, frames at this rate
    deadline_ms: float = 0.0  # real-time mode: a frame's deadline after its arrival (0: one period)


@dataclass(frozen=True)
class JobProgress:
    """One progress event of a running job."""

    phase: str  # "queued", "loading", "warmup", "measuring", "finishing"
    done: int
    total: int  # 0 when running by duration
    elapsed_s: float
    queue_position: int = 0


@dataclass(frozen=True)
class JobInfo:
    """A job the agent holds (queued, running, or finished and not yet collected)."""

    job_id: str
    state: str  # "queued", "running", "succeeded", ...
    model_name: str
    submitted_unix_s: float
    error: str = ""
