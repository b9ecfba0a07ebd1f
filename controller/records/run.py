"""Run records: one per job, the shape of `bench --json`'s `runs` entries (documented in the README), and what
the results store keeps of them. `to_json` and `from_json` are each other's inverse."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, NamedTuple

from .board import Board

SCHEMA = "edgebench.bench/1"
KIB_PER_MB = 1024  # the *_mb fields are MiB (2^20 bytes), and every table says MiB
# The sensors' headline figures of a run (also inside `energy`); null where the board did not measure them.
TOP_KEYS = ("power_avg_w", "power_idle_w", "energy_j_per_inference", "energy_j_per_inference_above_idle",
            "power_source", "temp_max_c", "throttled")
# A kept time series in long format (one row per reading per figure): the trace CSVs' columns.
TRACE_HEADER = ("t_s", "sensor", "kind", "figure", "value", "unit", "in_window")


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
class ModelRecord:
    name: str = ""
    source: str = ""  # as the user gave it: a path, zoo:NAME, or sha256:HEX for a job re-attached by id
    format: str = ""  # "onnx" / "tflite"
    sha256: str | None = None
    size_bytes: int = 0


@dataclass
class TensorRecord:
    name: str
    dtype: str  # "" where only the shape is known (the shapes a failed run was asked for)
    shape: list[int]


@dataclass
class OpProfileEntry:
    """One kernel of onnxruntime's per-node profile: what `--profile-ops` measured."""

    node: str
    op_type: str
    provider: str
    mean_us: float
    count: int
    median_us: float = 0.0  # over the steady-state runs only (0 from agents before API 1.1)
    order: int = 0  # where the node first ran in an inference

    @property
    def node_name(self) -> str:  # what the profile join reads
        return self.node

    @classmethod
    def of(cls, entry: OpProfileEntry | Mapping[str, Any]) -> OpProfileEntry:
        """An entry, or its JSON form (a stored run's `op_profile`)."""
        return entry if isinstance(entry, OpProfileEntry) else from_mapping(cls, entry)

    def __getitem__(self, key: str) -> Any:
        # Read like its JSON form too (entry["mean_us"]), as code written against stored runs does.
        if key not in _OP_FIELDS:
            raise KeyError(key)
        return getattr(self, key)


_OP_FIELDS = frozenset(f.name for f in fields(OpProfileEntry))


class BenchmarkKey(NamedTuple):
    """Like with like: two runs are compared only when all of this is equal (the store's `runs_key` index)."""

    board_fingerprint: str
    model_sha256: str
    runtime: str
    ep: str
    threads: int
    input_shapes: str


def from_mapping(cls: type, data: Mapping[str, Any]) -> Any:
    """A record from its JSON form; keys this version does not know (a newer writer's) are left out."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


def _tensor(t: TensorRecord | Mapping[str, Any]) -> TensorRecord:
    return t if isinstance(t, TensorRecord) else from_mapping(TensorRecord, t)


def input_shapes_key(inputs: Sequence[TensorRecord | Mapping[str, Any]]) -> str:
    """`name=1x3x224x224;...`: part of the comparison key (same model, other shapes is other work)."""
    tensors = [_tensor(t) for t in inputs]
    return ";".join(f"{t.name}={'x'.join(str(d) for d in t.shape)}" for t in sorted(tensors, key=lambda t: t.name))


@dataclass
class IsolatedKernel:
    """One distinct kernel of a TFLite model, measured alone on the board as a one-op model (`bench --per-op`)."""

    label: str
    count: int  # how many of the model's ops share this configuration
    measured_ms: float | None  # per op, net of the runtime's per-invoke cost; None when it could not run alone
    reason: str = ""  # why not measured
    per_kernel_ms: dict[str, float] = field(default_factory=dict)  # the model's op (node) name -> measured ms


@dataclass
class BatchItemResult:
    """What one model of a batch job measured."""

    model_name: str
    model_sha256: str
    error: str = ""  # "" when measured
    latency_ms: LatencyRecord | None = None
    samples_ms: list[float] = field(default_factory=list)
    op_profile: list[OpProfileEntry] = field(default_factory=list)
    runtime_version: str = ""
    load_ms: float | None = None
    optimized_model: bytes = b""


@dataclass
class RunRecord:
    target: str
    board: Board
    model: ModelRecord
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
    inputs: list[TensorRecord] = field(default_factory=list)
    outputs: list[TensorRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    job_id: str = ""
    window_monotonic_ns: list[int] = field(default_factory=list)
    op_profile: list[OpProfileEntry] = field(default_factory=list)
    # Filled by the cost model and the energy samplers; null until they have something measured or computed.
    predicted: dict[str, Any] | None = None  # the cost model's figures for this run (prediction/predicted.py)
    energy: dict[str, Any] | None = None  # the sensors' detail (link/energy.py), with the kept `trace`
    # The sensors' headline figures (TOP_KEYS); null where the board did not measure them.
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
    rss_before_load_mb: float | None = None  # the worker with its runtime imported, before the model's load
    # What else used the worker's CPUs during the window (the agent's /proc readings), null when not measured;
    # a contended run is not comparable, like a throttled one.
    contention: dict[str, Any] | None = None
    contended: bool | None = None
    # Real-time mode (bench --rate): deadline misses, jitter and response times (RealTimeStats' fields).
    realtime: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # The JSON form of the nested records (a stored run read back) becomes the records themselves.
        if isinstance(self.board, Mapping):
            self.board = from_mapping(Board, self.board)
        if isinstance(self.model, Mapping):
            self.model = from_mapping(ModelRecord, self.model)
        if isinstance(self.latency_ms, Mapping):  # {} in a record of a run that measured nothing
            self.latency_ms = from_mapping(LatencyRecord, self.latency_ms) if self.latency_ms else None
        self.inputs = [_tensor(t) for t in self.inputs]
        self.outputs = [_tensor(t) for t in self.outputs]
        self.op_profile = [OpProfileEntry.of(e) for e in self.op_profile]
        # The cost model's full Prediction (per node) for the per-op tables; not a field, so not in JSON.
        self.prediction: Any = None
        # onnxruntime's optimized graph of this run (JobSpec.return_optimized_model): bytes, not in JSON.
        self.optimized_model: bytes = b""
        # The kernel-level prediction (prediction/kernel_level.py) behind `predicted`, for per-op tables.
        self.kernel_prediction: Any = None
        # TFLite `--per-op`: the model's unique kernels measured on the board one at a time.
        self.isolated_kernels: list[Any] = []

    @property
    def key(self) -> BenchmarkKey:
        return BenchmarkKey(self.board.fingerprint or "", self.model.sha256 or "", self.runtime, self.ep,
                            self.threads, input_shapes_key(self.inputs))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        """A record from its JSON form (`to_json`'s, or an older or newer writer's: missing identity fields
        read as empty, keys this version does not know are left out)."""
        return from_mapping(cls, {**_EMPTY_IDENTITY, **data})


_EMPTY_IDENTITY: dict[str, Any] = {"target": "", "board": {}, "model": {}, "runtime": "", "runtime_version": "",
                                   "ep": "", "threads": 0, "status": "failed"}
