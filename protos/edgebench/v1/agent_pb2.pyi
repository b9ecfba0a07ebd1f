from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Runtime(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUNTIME_UNSPECIFIED: _ClassVar[Runtime]
    RUNTIME_ONNXRUNTIME: _ClassVar[Runtime]
    RUNTIME_TFLITE: _ClassVar[Runtime]

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]
    JOB_STATE_TIMED_OUT: _ClassVar[JobState]
    JOB_STATE_INTERRUPTED: _ClassVar[JobState]
RUNTIME_UNSPECIFIED: Runtime
RUNTIME_ONNXRUNTIME: Runtime
RUNTIME_TFLITE: Runtime
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
JOB_STATE_TIMED_OUT: JobState
JOB_STATE_INTERRUPTED: JobState

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RuntimeInfo(_message.Message):
    __slots__ = ("name", "version", "available", "reason", "execution_providers", "package")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    available: bool
    reason: str
    execution_providers: _containers.RepeatedScalarFieldContainer[str]
    package: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., available: _Optional[bool] = ..., reason: _Optional[str] = ..., execution_providers: _Optional[_Iterable[str]] = ..., package: _Optional[str] = ...) -> None: ...

class SensorInfo(_message.Message):
    __slots__ = ("name", "kind", "unit", "available", "reason", "rails", "max_rate_hz", "source", "note")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RAILS_FIELD_NUMBER: _ClassVar[int]
    MAX_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    unit: str
    available: bool
    reason: str
    rails: _containers.RepeatedScalarFieldContainer[str]
    max_rate_hz: float
    source: str
    note: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., unit: _Optional[str] = ..., available: _Optional[bool] = ..., reason: _Optional[str] = ..., rails: _Optional[_Iterable[str]] = ..., max_rate_hz: _Optional[float] = ..., source: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class BoardDescription(_message.Message):
    __slots__ = ("agent_version", "api_version", "hostname", "board_model", "soc", "machine", "os", "kernel", "python_version", "cpu_count", "memory_total_bytes", "cpu_governor", "runtimes", "sensors", "fingerprint", "max_model_bytes", "max_queue", "default_tflite_delegate")
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    BOARD_MODEL_FIELD_NUMBER: _ClassVar[int]
    SOC_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    OS_FIELD_NUMBER: _ClassVar[int]
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    CPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    CPU_GOVERNOR_FIELD_NUMBER: _ClassVar[int]
    RUNTIMES_FIELD_NUMBER: _ClassVar[int]
    SENSORS_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    MAX_MODEL_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TFLITE_DELEGATE_FIELD_NUMBER: _ClassVar[int]
    agent_version: str
    api_version: int
    hostname: str
    board_model: str
    soc: str
    machine: str
    os: str
    kernel: str
    python_version: str
    cpu_count: int
    memory_total_bytes: int
    cpu_governor: str
    runtimes: _containers.RepeatedCompositeFieldContainer[RuntimeInfo]
    sensors: _containers.RepeatedCompositeFieldContainer[SensorInfo]
    fingerprint: str
    max_model_bytes: int
    max_queue: int
    default_tflite_delegate: str
    def __init__(self, agent_version: _Optional[str] = ..., api_version: _Optional[int] = ..., hostname: _Optional[str] = ..., board_model: _Optional[str] = ..., soc: _Optional[str] = ..., machine: _Optional[str] = ..., os: _Optional[str] = ..., kernel: _Optional[str] = ..., python_version: _Optional[str] = ..., cpu_count: _Optional[int] = ..., memory_total_bytes: _Optional[int] = ..., cpu_governor: _Optional[str] = ..., runtimes: _Optional[_Iterable[_Union[RuntimeInfo, _Mapping]]] = ..., sensors: _Optional[_Iterable[_Union[SensorInfo, _Mapping]]] = ..., fingerprint: _Optional[str] = ..., max_model_bytes: _Optional[int] = ..., max_queue: _Optional[int] = ..., default_tflite_delegate: _Optional[str] = ...) -> None: ...

class ModelRef(_message.Message):
    __slots__ = ("sha256",)
    SHA256_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    def __init__(self, sha256: _Optional[str] = ...) -> None: ...

class ModelStatus(_message.Message):
    __slots__ = ("sha256", "present", "size_bytes", "already_present")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ALREADY_PRESENT_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    present: bool
    size_bytes: int
    already_present: bool
    def __init__(self, sha256: _Optional[str] = ..., present: _Optional[bool] = ..., size_bytes: _Optional[int] = ..., already_present: _Optional[bool] = ...) -> None: ...

class UploadHeader(_message.Message):
    __slots__ = ("sha256", "size_bytes", "name")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    size_bytes: int
    name: str
    def __init__(self, sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class UploadChunk(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: UploadHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class InputShape(_message.Message):
    __slots__ = ("name", "dims")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIMS_FIELD_NUMBER: _ClassVar[int]
    name: str
    dims: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., dims: _Optional[_Iterable[int]] = ...) -> None: ...

class InputData(_message.Message):
    __slots__ = ("name", "npy", "npy_sha256")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NPY_FIELD_NUMBER: _ClassVar[int]
    NPY_SHA256_FIELD_NUMBER: _ClassVar[int]
    name: str
    npy: bytes
    npy_sha256: str
    def __init__(self, name: _Optional[str] = ..., npy: _Optional[bytes] = ..., npy_sha256: _Optional[str] = ...) -> None: ...

class JobSpec(_message.Message):
    __slots__ = ("model_sha256", "model_name", "runtime", "execution_provider", "threads", "warmup_runs", "runs", "min_duration_s", "input_shapes", "input_seed", "inputs", "timeout_s", "profile_ops", "delegate_path", "delegate_options", "client_id", "sample_rate_hz", "idle_baseline_s", "cooldown_to_c", "keep_trace", "no_sampling", "cooldown_timeout_s", "batch", "return_optimized_model", "graph_optimization_level", "max_duration_s", "provider_options", "inter_op_threads", "rate_hz", "deadline_ms")
    class DelegateOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ProviderOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_SHA256_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    WARMUP_RUNS_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    MIN_DURATION_S_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHAPES_FIELD_NUMBER: _ClassVar[int]
    INPUT_SEED_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    PROFILE_OPS_FIELD_NUMBER: _ClassVar[int]
    DELEGATE_PATH_FIELD_NUMBER: _ClassVar[int]
    DELEGATE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    IDLE_BASELINE_S_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_TO_C_FIELD_NUMBER: _ClassVar[int]
    KEEP_TRACE_FIELD_NUMBER: _ClassVar[int]
    NO_SAMPLING_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    RETURN_OPTIMIZED_MODEL_FIELD_NUMBER: _ClassVar[int]
    GRAPH_OPTIMIZATION_LEVEL_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_S_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    INTER_OP_THREADS_FIELD_NUMBER: _ClassVar[int]
    RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    model_sha256: str
    model_name: str
    runtime: Runtime
    execution_provider: str
    threads: int
    warmup_runs: int
    runs: int
    min_duration_s: float
    input_shapes: _containers.RepeatedCompositeFieldContainer[InputShape]
    input_seed: int
    inputs: _containers.RepeatedCompositeFieldContainer[InputData]
    timeout_s: float
    profile_ops: bool
    delegate_path: str
    delegate_options: _containers.ScalarMap[str, str]
    client_id: str
    sample_rate_hz: float
    idle_baseline_s: float
    cooldown_to_c: float
    keep_trace: bool
    no_sampling: bool
    cooldown_timeout_s: float
    batch: _containers.RepeatedCompositeFieldContainer[BatchModel]
    return_optimized_model: bool
    graph_optimization_level: str
    max_duration_s: float
    provider_options: _containers.ScalarMap[str, str]
    inter_op_threads: int
    rate_hz: float
    deadline_ms: float
    def __init__(self, model_sha256: _Optional[str] = ..., model_name: _Optional[str] = ..., runtime: _Optional[_Union[Runtime, str]] = ..., execution_provider: _Optional[str] = ..., threads: _Optional[int] = ..., warmup_runs: _Optional[int] = ..., runs: _Optional[int] = ..., min_duration_s: _Optional[float] = ..., input_shapes: _Optional[_Iterable[_Union[InputShape, _Mapping]]] = ..., input_seed: _Optional[int] = ..., inputs: _Optional[_Iterable[_Union[InputData, _Mapping]]] = ..., timeout_s: _Optional[float] = ..., profile_ops: _Optional[bool] = ..., delegate_path: _Optional[str] = ..., delegate_options: _Optional[_Mapping[str, str]] = ..., client_id: _Optional[str] = ..., sample_rate_hz: _Optional[float] = ..., idle_baseline_s: _Optional[float] = ..., cooldown_to_c: _Optional[float] = ..., keep_trace: _Optional[bool] = ..., no_sampling: _Optional[bool] = ..., cooldown_timeout_s: _Optional[float] = ..., batch: _Optional[_Iterable[_Union[BatchModel, _Mapping]]] = ..., return_optimized_model: _Optional[bool] = ..., graph_optimization_level: _Optional[str] = ..., max_duration_s: _Optional[float] = ..., provider_options: _Optional[_Mapping[str, str]] = ..., inter_op_threads: _Optional[int] = ..., rate_hz: _Optional[float] = ..., deadline_ms: _Optional[float] = ...) -> None: ...

class RealTimeStats(_message.Message):
    __slots__ = ("rate_hz", "deadline_ms", "frames", "deadline_misses", "miss_share", "late_starts", "response_p50_ms", "response_p99_ms", "response_max_ms", "jitter_ms", "start_delay_max_ms", "busy_share")
    RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MISSES_FIELD_NUMBER: _ClassVar[int]
    MISS_SHARE_FIELD_NUMBER: _ClassVar[int]
    LATE_STARTS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_P50_MS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_P99_MS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_MAX_MS_FIELD_NUMBER: _ClassVar[int]
    JITTER_MS_FIELD_NUMBER: _ClassVar[int]
    START_DELAY_MAX_MS_FIELD_NUMBER: _ClassVar[int]
    BUSY_SHARE_FIELD_NUMBER: _ClassVar[int]
    rate_hz: float
    deadline_ms: float
    frames: int
    deadline_misses: int
    miss_share: float
    late_starts: int
    response_p50_ms: float
    response_p99_ms: float
    response_max_ms: float
    jitter_ms: float
    start_delay_max_ms: float
    busy_share: float
    def __init__(self, rate_hz: _Optional[float] = ..., deadline_ms: _Optional[float] = ..., frames: _Optional[int] = ..., deadline_misses: _Optional[int] = ..., miss_share: _Optional[float] = ..., late_starts: _Optional[int] = ..., response_p50_ms: _Optional[float] = ..., response_p99_ms: _Optional[float] = ..., response_max_ms: _Optional[float] = ..., jitter_ms: _Optional[float] = ..., start_delay_max_ms: _Optional[float] = ..., busy_share: _Optional[float] = ...) -> None: ...

class BatchModel(_message.Message):
    __slots__ = ("model_sha256", "model_name", "input_shapes", "profile_ops", "return_optimized_model")
    MODEL_SHA256_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHAPES_FIELD_NUMBER: _ClassVar[int]
    PROFILE_OPS_FIELD_NUMBER: _ClassVar[int]
    RETURN_OPTIMIZED_MODEL_FIELD_NUMBER: _ClassVar[int]
    model_sha256: str
    model_name: str
    input_shapes: _containers.RepeatedCompositeFieldContainer[InputShape]
    profile_ops: bool
    return_optimized_model: bool
    def __init__(self, model_sha256: _Optional[str] = ..., model_name: _Optional[str] = ..., input_shapes: _Optional[_Iterable[_Union[InputShape, _Mapping]]] = ..., profile_ops: _Optional[bool] = ..., return_optimized_model: _Optional[bool] = ...) -> None: ...

class JobHandle(_message.Message):
    __slots__ = ("job_id", "queue_position")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    queue_position: int
    def __init__(self, job_id: _Optional[str] = ..., queue_position: _Optional[int] = ...) -> None: ...

class JobRef(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class JobStatus(_message.Message):
    __slots__ = ("job_id", "state", "error", "model_name", "submitted_unix_s")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_UNIX_S_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    error: str
    model_name: str
    submitted_unix_s: float
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., error: _Optional[str] = ..., model_name: _Optional[str] = ..., submitted_unix_s: _Optional[float] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JobList(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[JobStatus]
    def __init__(self, jobs: _Optional[_Iterable[_Union[JobStatus, _Mapping]]] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("phase", "done", "total", "elapsed_s", "message", "queue_position", "batch_done", "batch_total")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_S_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    BATCH_DONE_FIELD_NUMBER: _ClassVar[int]
    BATCH_TOTAL_FIELD_NUMBER: _ClassVar[int]
    phase: str
    done: int
    total: int
    elapsed_s: float
    message: str
    queue_position: int
    batch_done: int
    batch_total: int
    def __init__(self, phase: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., elapsed_s: _Optional[float] = ..., message: _Optional[str] = ..., queue_position: _Optional[int] = ..., batch_done: _Optional[int] = ..., batch_total: _Optional[int] = ...) -> None: ...

class LatencyStats(_message.Message):
    __slots__ = ("min_ms", "mean_ms", "std_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "count", "throughput_ips")
    MIN_MS_FIELD_NUMBER: _ClassVar[int]
    MEAN_MS_FIELD_NUMBER: _ClassVar[int]
    STD_MS_FIELD_NUMBER: _ClassVar[int]
    P50_MS_FIELD_NUMBER: _ClassVar[int]
    P90_MS_FIELD_NUMBER: _ClassVar[int]
    P95_MS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_MS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_IPS_FIELD_NUMBER: _ClassVar[int]
    min_ms: float
    mean_ms: float
    std_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    count: int
    throughput_ips: float
    def __init__(self, min_ms: _Optional[float] = ..., mean_ms: _Optional[float] = ..., std_ms: _Optional[float] = ..., p50_ms: _Optional[float] = ..., p90_ms: _Optional[float] = ..., p95_ms: _Optional[float] = ..., p99_ms: _Optional[float] = ..., max_ms: _Optional[float] = ..., count: _Optional[int] = ..., throughput_ips: _Optional[float] = ...) -> None: ...

class TensorInfo(_message.Message):
    __slots__ = ("name", "dtype", "shape")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class OpProfile(_message.Message):
    __slots__ = ("node_name", "op_type", "provider", "mean_us", "count", "median_us", "steady_count", "order")
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    OP_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MEAN_US_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_US_FIELD_NUMBER: _ClassVar[int]
    STEADY_COUNT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    op_type: str
    provider: str
    mean_us: float
    count: int
    median_us: float
    steady_count: int
    order: int
    def __init__(self, node_name: _Optional[str] = ..., op_type: _Optional[str] = ..., provider: _Optional[str] = ..., mean_us: _Optional[float] = ..., count: _Optional[int] = ..., median_us: _Optional[float] = ..., steady_count: _Optional[int] = ..., order: _Optional[int] = ...) -> None: ...

class JobResult(_message.Message):
    __slots__ = ("job_id", "state", "error", "runtime", "runtime_version", "execution_provider_requested", "providers_used", "threads", "warmup_runs", "load_ms", "first_inference_ms", "latency", "samples_ns", "window_start_ns", "window_end_ns", "rss_after_load_kib", "peak_rss_load_kib", "peak_rss_kib", "inputs", "outputs", "warnings", "model_sha256", "model_name", "spec", "worker_exit_code", "op_profile", "started_unix_s", "finished_unix_s", "agent_version", "peak_rss_steady_kib", "measurement", "batch", "optimized_model", "rss_before_load_kib", "realtime")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PROVIDER_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    PROVIDERS_USED_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    WARMUP_RUNS_FIELD_NUMBER: _ClassVar[int]
    LOAD_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_INFERENCE_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_NS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_NS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_NS_FIELD_NUMBER: _ClassVar[int]
    RSS_AFTER_LOAD_KIB_FIELD_NUMBER: _ClassVar[int]
    PEAK_RSS_LOAD_KIB_FIELD_NUMBER: _ClassVar[int]
    PEAK_RSS_KIB_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_SHA256_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    WORKER_EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    OP_PROFILE_FIELD_NUMBER: _ClassVar[int]
    STARTED_UNIX_S_FIELD_NUMBER: _ClassVar[int]
    FINISHED_UNIX_S_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    PEAK_RSS_STEADY_KIB_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZED_MODEL_FIELD_NUMBER: _ClassVar[int]
    RSS_BEFORE_LOAD_KIB_FIELD_NUMBER: _ClassVar[int]
    REALTIME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    error: str
    runtime: str
    runtime_version: str
    execution_provider_requested: str
    providers_used: _containers.RepeatedScalarFieldContainer[str]
    threads: int
    warmup_runs: int
    load_ms: float
    first_inference_ms: float
    latency: LatencyStats
    samples_ns: _containers.RepeatedScalarFieldContainer[int]
    window_start_ns: int
    window_end_ns: int
    rss_after_load_kib: int
    peak_rss_load_kib: int
    peak_rss_kib: int
    inputs: _containers.RepeatedCompositeFieldContainer[TensorInfo]
    outputs: _containers.RepeatedCompositeFieldContainer[TensorInfo]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    model_sha256: str
    model_name: str
    spec: JobSpec
    worker_exit_code: int
    op_profile: _containers.RepeatedCompositeFieldContainer[OpProfile]
    started_unix_s: float
    finished_unix_s: float
    agent_version: str
    peak_rss_steady_kib: int
    measurement: Measurement
    batch: _containers.RepeatedCompositeFieldContainer[BatchResult]
    optimized_model: bytes
    rss_before_load_kib: int
    realtime: RealTimeStats
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., error: _Optional[str] = ..., runtime: _Optional[str] = ..., runtime_version: _Optional[str] = ..., execution_provider_requested: _Optional[str] = ..., providers_used: _Optional[_Iterable[str]] = ..., threads: _Optional[int] = ..., warmup_runs: _Optional[int] = ..., load_ms: _Optional[float] = ..., first_inference_ms: _Optional[float] = ..., latency: _Optional[_Union[LatencyStats, _Mapping]] = ..., samples_ns: _Optional[_Iterable[int]] = ..., window_start_ns: _Optional[int] = ..., window_end_ns: _Optional[int] = ..., rss_after_load_kib: _Optional[int] = ..., peak_rss_load_kib: _Optional[int] = ..., peak_rss_kib: _Optional[int] = ..., inputs: _Optional[_Iterable[_Union[TensorInfo, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[TensorInfo, _Mapping]]] = ..., warnings: _Optional[_Iterable[str]] = ..., model_sha256: _Optional[str] = ..., model_name: _Optional[str] = ..., spec: _Optional[_Union[JobSpec, _Mapping]] = ..., worker_exit_code: _Optional[int] = ..., op_profile: _Optional[_Iterable[_Union[OpProfile, _Mapping]]] = ..., started_unix_s: _Optional[float] = ..., finished_unix_s: _Optional[float] = ..., agent_version: _Optional[str] = ..., peak_rss_steady_kib: _Optional[int] = ..., measurement: _Optional[_Union[Measurement, _Mapping]] = ..., batch: _Optional[_Iterable[_Union[BatchResult, _Mapping]]] = ..., optimized_model: _Optional[bytes] = ..., rss_before_load_kib: _Optional[int] = ..., realtime: _Optional[_Union[RealTimeStats, _Mapping]] = ...) -> None: ...

class BatchResult(_message.Message):
    __slots__ = ("model_sha256", "model_name", "error", "load_ms", "first_inference_ms", "latency", "samples_ns", "op_profile", "inputs", "outputs", "providers_used", "warnings", "optimized_model", "state", "runtime", "runtime_version", "execution_provider_requested", "window_start_ns", "window_end_ns", "rss_before_load_kib", "rss_after_load_kib", "peak_rss_load_kib", "peak_rss_kib", "peak_rss_steady_kib", "realtime")
    MODEL_SHA256_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LOAD_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_INFERENCE_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_NS_FIELD_NUMBER: _ClassVar[int]
    OP_PROFILE_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    PROVIDERS_USED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZED_MODEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PROVIDER_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_NS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_NS_FIELD_NUMBER: _ClassVar[int]
    RSS_BEFORE_LOAD_KIB_FIELD_NUMBER: _ClassVar[int]
    RSS_AFTER_LOAD_KIB_FIELD_NUMBER: _ClassVar[int]
    PEAK_RSS_LOAD_KIB_FIELD_NUMBER: _ClassVar[int]
    PEAK_RSS_KIB_FIELD_NUMBER: _ClassVar[int]
    PEAK_RSS_STEADY_KIB_FIELD_NUMBER: _ClassVar[int]
    REALTIME_FIELD_NUMBER: _ClassVar[int]
    model_sha256: str
    model_name: str
    error: str
    load_ms: float
    first_inference_ms: float
    latency: LatencyStats
    samples_ns: _containers.RepeatedScalarFieldContainer[int]
    op_profile: _containers.RepeatedCompositeFieldContainer[OpProfile]
    inputs: _containers.RepeatedCompositeFieldContainer[TensorInfo]
    outputs: _containers.RepeatedCompositeFieldContainer[TensorInfo]
    providers_used: _containers.RepeatedScalarFieldContainer[str]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    optimized_model: bytes
    state: JobState
    runtime: str
    runtime_version: str
    execution_provider_requested: str
    window_start_ns: int
    window_end_ns: int
    rss_before_load_kib: int
    rss_after_load_kib: int
    peak_rss_load_kib: int
    peak_rss_kib: int
    peak_rss_steady_kib: int
    realtime: RealTimeStats
    def __init__(self, model_sha256: _Optional[str] = ..., model_name: _Optional[str] = ..., error: _Optional[str] = ..., load_ms: _Optional[float] = ..., first_inference_ms: _Optional[float] = ..., latency: _Optional[_Union[LatencyStats, _Mapping]] = ..., samples_ns: _Optional[_Iterable[int]] = ..., op_profile: _Optional[_Iterable[_Union[OpProfile, _Mapping]]] = ..., inputs: _Optional[_Iterable[_Union[TensorInfo, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[TensorInfo, _Mapping]]] = ..., providers_used: _Optional[_Iterable[str]] = ..., warnings: _Optional[_Iterable[str]] = ..., optimized_model: _Optional[bytes] = ..., state: _Optional[_Union[JobState, str]] = ..., runtime: _Optional[str] = ..., runtime_version: _Optional[str] = ..., execution_provider_requested: _Optional[str] = ..., window_start_ns: _Optional[int] = ..., window_end_ns: _Optional[int] = ..., rss_before_load_kib: _Optional[int] = ..., rss_after_load_kib: _Optional[int] = ..., peak_rss_load_kib: _Optional[int] = ..., peak_rss_kib: _Optional[int] = ..., peak_rss_steady_kib: _Optional[int] = ..., realtime: _Optional[_Union[RealTimeStats, _Mapping]] = ...) -> None: ...

class PowerSourceFigures(_message.Message):
    __slots__ = ("sensor", "method", "samples_in_window", "coverage", "avg_w", "peak_w", "energy_j", "reason", "note", "idle_w")
    SENSOR_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_IN_WINDOW_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    AVG_W_FIELD_NUMBER: _ClassVar[int]
    PEAK_W_FIELD_NUMBER: _ClassVar[int]
    ENERGY_J_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    IDLE_W_FIELD_NUMBER: _ClassVar[int]
    sensor: str
    method: str
    samples_in_window: int
    coverage: float
    avg_w: float
    peak_w: float
    energy_j: float
    reason: str
    note: str
    idle_w: float
    def __init__(self, sensor: _Optional[str] = ..., method: _Optional[str] = ..., samples_in_window: _Optional[int] = ..., coverage: _Optional[float] = ..., avg_w: _Optional[float] = ..., peak_w: _Optional[float] = ..., energy_j: _Optional[float] = ..., reason: _Optional[str] = ..., note: _Optional[str] = ..., idle_w: _Optional[float] = ...) -> None: ...

class SourceRate(_message.Message):
    __slots__ = ("sensor", "kind", "requested_hz", "achieved_hz", "readings_ok", "readings_failed", "last_reason", "mean_read_s", "max_read_s")
    SENSOR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_HZ_FIELD_NUMBER: _ClassVar[int]
    ACHIEVED_HZ_FIELD_NUMBER: _ClassVar[int]
    READINGS_OK_FIELD_NUMBER: _ClassVar[int]
    READINGS_FAILED_FIELD_NUMBER: _ClassVar[int]
    LAST_REASON_FIELD_NUMBER: _ClassVar[int]
    MEAN_READ_S_FIELD_NUMBER: _ClassVar[int]
    MAX_READ_S_FIELD_NUMBER: _ClassVar[int]
    sensor: str
    kind: str
    requested_hz: float
    achieved_hz: float
    readings_ok: int
    readings_failed: int
    last_reason: str
    mean_read_s: float
    max_read_s: float
    def __init__(self, sensor: _Optional[str] = ..., kind: _Optional[str] = ..., requested_hz: _Optional[float] = ..., achieved_hz: _Optional[float] = ..., readings_ok: _Optional[int] = ..., readings_failed: _Optional[int] = ..., last_reason: _Optional[str] = ..., mean_read_s: _Optional[float] = ..., max_read_s: _Optional[float] = ...) -> None: ...

class TraceSeries(_message.Message):
    __slots__ = ("sensor", "kind", "figure", "unit", "t_ns", "values")
    SENSOR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FIGURE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    T_NS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    sensor: str
    kind: str
    figure: str
    unit: str
    t_ns: _containers.RepeatedScalarFieldContainer[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, sensor: _Optional[str] = ..., kind: _Optional[str] = ..., figure: _Optional[str] = ..., unit: _Optional[str] = ..., t_ns: _Optional[_Iterable[int]] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class Measurement(_message.Message):
    __slots__ = ("power_source", "power_note", "energy_method", "power_samples", "coverage", "power_avg_w", "power_peak_w", "energy_j", "power_idle_w", "energy_per_inference_j", "energy_above_idle_j", "energy_per_inference_above_idle_j", "by_source", "temp_source", "temp_start_c", "temp_max_c", "temp_end_c", "temp_max_by_zone_c", "freq_source", "freq_min_hz", "freq_max_hz", "throttle_before", "throttle_during", "throttle_after", "throttled", "throttle_flags", "unavailable", "rates", "sample_rate_hz", "window_start_ns", "window_end_ns", "duration_s", "inferences", "idle_start_ns", "idle_end_ns", "cooldown_start_c", "cooldown_waited_s", "cooldown_reached", "trace", "contention")
    class TempMaxByZoneCEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class UnavailableEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    POWER_SOURCE_FIELD_NUMBER: _ClassVar[int]
    POWER_NOTE_FIELD_NUMBER: _ClassVar[int]
    ENERGY_METHOD_FIELD_NUMBER: _ClassVar[int]
    POWER_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    POWER_AVG_W_FIELD_NUMBER: _ClassVar[int]
    POWER_PEAK_W_FIELD_NUMBER: _ClassVar[int]
    ENERGY_J_FIELD_NUMBER: _ClassVar[int]
    POWER_IDLE_W_FIELD_NUMBER: _ClassVar[int]
    ENERGY_PER_INFERENCE_J_FIELD_NUMBER: _ClassVar[int]
    ENERGY_ABOVE_IDLE_J_FIELD_NUMBER: _ClassVar[int]
    ENERGY_PER_INFERENCE_ABOVE_IDLE_J_FIELD_NUMBER: _ClassVar[int]
    BY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    TEMP_SOURCE_FIELD_NUMBER: _ClassVar[int]
    TEMP_START_C_FIELD_NUMBER: _ClassVar[int]
    TEMP_MAX_C_FIELD_NUMBER: _ClassVar[int]
    TEMP_END_C_FIELD_NUMBER: _ClassVar[int]
    TEMP_MAX_BY_ZONE_C_FIELD_NUMBER: _ClassVar[int]
    FREQ_SOURCE_FIELD_NUMBER: _ClassVar[int]
    FREQ_MIN_HZ_FIELD_NUMBER: _ClassVar[int]
    FREQ_MAX_HZ_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_BEFORE_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_DURING_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_AFTER_FIELD_NUMBER: _ClassVar[int]
    THROTTLED_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_FLAGS_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_NS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_NS_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    INFERENCES_FIELD_NUMBER: _ClassVar[int]
    IDLE_START_NS_FIELD_NUMBER: _ClassVar[int]
    IDLE_END_NS_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_START_C_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_WAITED_S_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_REACHED_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    CONTENTION_FIELD_NUMBER: _ClassVar[int]
    power_source: str
    power_note: str
    energy_method: str
    power_samples: int
    coverage: float
    power_avg_w: float
    power_peak_w: float
    energy_j: float
    power_idle_w: float
    energy_per_inference_j: float
    energy_above_idle_j: float
    energy_per_inference_above_idle_j: float
    by_source: _containers.RepeatedCompositeFieldContainer[PowerSourceFigures]
    temp_source: str
    temp_start_c: float
    temp_max_c: float
    temp_end_c: float
    temp_max_by_zone_c: _containers.ScalarMap[str, float]
    freq_source: str
    freq_min_hz: float
    freq_max_hz: float
    throttle_before: int
    throttle_during: int
    throttle_after: int
    throttled: bool
    throttle_flags: _containers.RepeatedScalarFieldContainer[str]
    unavailable: _containers.ScalarMap[str, str]
    rates: _containers.RepeatedCompositeFieldContainer[SourceRate]
    sample_rate_hz: float
    window_start_ns: int
    window_end_ns: int
    duration_s: float
    inferences: int
    idle_start_ns: int
    idle_end_ns: int
    cooldown_start_c: float
    cooldown_waited_s: float
    cooldown_reached: bool
    trace: _containers.RepeatedCompositeFieldContainer[TraceSeries]
    contention: Contention
    def __init__(self, power_source: _Optional[str] = ..., power_note: _Optional[str] = ..., energy_method: _Optional[str] = ..., power_samples: _Optional[int] = ..., coverage: _Optional[float] = ..., power_avg_w: _Optional[float] = ..., power_peak_w: _Optional[float] = ..., energy_j: _Optional[float] = ..., power_idle_w: _Optional[float] = ..., energy_per_inference_j: _Optional[float] = ..., energy_above_idle_j: _Optional[float] = ..., energy_per_inference_above_idle_j: _Optional[float] = ..., by_source: _Optional[_Iterable[_Union[PowerSourceFigures, _Mapping]]] = ..., temp_source: _Optional[str] = ..., temp_start_c: _Optional[float] = ..., temp_max_c: _Optional[float] = ..., temp_end_c: _Optional[float] = ..., temp_max_by_zone_c: _Optional[_Mapping[str, float]] = ..., freq_source: _Optional[str] = ..., freq_min_hz: _Optional[float] = ..., freq_max_hz: _Optional[float] = ..., throttle_before: _Optional[int] = ..., throttle_during: _Optional[int] = ..., throttle_after: _Optional[int] = ..., throttled: _Optional[bool] = ..., throttle_flags: _Optional[_Iterable[str]] = ..., unavailable: _Optional[_Mapping[str, str]] = ..., rates: _Optional[_Iterable[_Union[SourceRate, _Mapping]]] = ..., sample_rate_hz: _Optional[float] = ..., window_start_ns: _Optional[int] = ..., window_end_ns: _Optional[int] = ..., duration_s: _Optional[float] = ..., inferences: _Optional[int] = ..., idle_start_ns: _Optional[int] = ..., idle_end_ns: _Optional[int] = ..., cooldown_start_c: _Optional[float] = ..., cooldown_waited_s: _Optional[float] = ..., cooldown_reached: _Optional[bool] = ..., trace: _Optional[_Iterable[_Union[TraceSeries, _Mapping]]] = ..., contention: _Optional[_Union[Contention, _Mapping]] = ...) -> None: ...

class Contention(_message.Message):
    __slots__ = ("span_s", "cpus", "need_cores", "worker_cpu_s", "other_cpu_s", "steal_s", "agent_cpu_s", "load_avg_1m_start", "load_avg_1m_end", "psi_cpu_some", "psi_memory_some", "psi_memory_full", "contention", "threshold", "contended", "reason", "unavailable", "readings")
    class UnavailableEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SPAN_S_FIELD_NUMBER: _ClassVar[int]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    NEED_CORES_FIELD_NUMBER: _ClassVar[int]
    WORKER_CPU_S_FIELD_NUMBER: _ClassVar[int]
    OTHER_CPU_S_FIELD_NUMBER: _ClassVar[int]
    STEAL_S_FIELD_NUMBER: _ClassVar[int]
    AGENT_CPU_S_FIELD_NUMBER: _ClassVar[int]
    LOAD_AVG_1M_START_FIELD_NUMBER: _ClassVar[int]
    LOAD_AVG_1M_END_FIELD_NUMBER: _ClassVar[int]
    PSI_CPU_SOME_FIELD_NUMBER: _ClassVar[int]
    PSI_MEMORY_SOME_FIELD_NUMBER: _ClassVar[int]
    PSI_MEMORY_FULL_FIELD_NUMBER: _ClassVar[int]
    CONTENTION_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    CONTENDED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    READINGS_FIELD_NUMBER: _ClassVar[int]
    span_s: float
    cpus: _containers.RepeatedScalarFieldContainer[int]
    need_cores: float
    worker_cpu_s: float
    other_cpu_s: float
    steal_s: float
    agent_cpu_s: float
    load_avg_1m_start: float
    load_avg_1m_end: float
    psi_cpu_some: float
    psi_memory_some: float
    psi_memory_full: float
    contention: float
    threshold: float
    contended: bool
    reason: str
    unavailable: _containers.ScalarMap[str, str]
    readings: int
    def __init__(self, span_s: _Optional[float] = ..., cpus: _Optional[_Iterable[int]] = ..., need_cores: _Optional[float] = ..., worker_cpu_s: _Optional[float] = ..., other_cpu_s: _Optional[float] = ..., steal_s: _Optional[float] = ..., agent_cpu_s: _Optional[float] = ..., load_avg_1m_start: _Optional[float] = ..., load_avg_1m_end: _Optional[float] = ..., psi_cpu_some: _Optional[float] = ..., psi_memory_some: _Optional[float] = ..., psi_memory_full: _Optional[float] = ..., contention: _Optional[float] = ..., threshold: _Optional[float] = ..., contended: _Optional[bool] = ..., reason: _Optional[str] = ..., unavailable: _Optional[_Mapping[str, str]] = ..., readings: _Optional[int] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "state", "progress", "result")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    progress: Progress
    result: JobResult
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., result: _Optional[_Union[JobResult, _Mapping]] = ...) -> None: ...
