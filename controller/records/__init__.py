"""The controller's records: plain dataclasses every layer shares (link/ builds them from the wire, the store
keeps them, output/ renders them). Nothing here imports the rest of the controller."""
from .board import Board, BoardDescription, RuntimeInfo, SensorInfo, TargetStatus
from .job import RUNTIMES, BatchItem, InputArray, JobInfo, JobProgress, JobSpec
from .run import (
    KIB_PER_MB,
    SCHEMA,
    TOP_KEYS,
    TRACE_HEADER,
    BatchItemResult,
    BenchmarkKey,
    IsolatedKernel,
    LatencyRecord,
    ModelRecord,
    OpProfileEntry,
    RunRecord,
    TensorRecord,
    input_shapes_key,
)

__all__ = ["KIB_PER_MB", "RUNTIMES", "SCHEMA", "TOP_KEYS", "TRACE_HEADER", "BatchItem", "BatchItemResult",
           "BenchmarkKey", "Board", "IsolatedKernel",
           "BoardDescription", "InputArray", "JobInfo", "JobProgress", "JobSpec", "LatencyRecord", "ModelRecord",
           "OpProfileEntry", "RunRecord", "RuntimeInfo", "SensorInfo", "TargetStatus", "TensorRecord", "input_shapes_key"]
