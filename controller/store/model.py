"""What the store hands back: one StoredRun per stored job, and the filters history/export/report take."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..records import BenchmarkKey, RunRecord

# Row columns in SELECT order (runs table), then the joined verdict.
RUN_COLUMNS = (
    "id", "created_unix_s", "session_id", "target", "board_fingerprint", "board_model", "model_name",
    "model_sha256", "runtime", "runtime_version", "ep", "threads", "input_shapes", "status", "error",
    "latency_mean_ms", "latency_p50_ms", "latency_count", "peak_rss_mb", "energy_j_per_inference", "power_avg_w",
    "temp_max_c", "throttled", "predicted_latency_ms", "agent_version", "controller_version", "labels_json",
    "contended",
)


@dataclass
class StoredRun:
    id: int
    created_unix_s: float
    session_id: int | None
    target: str
    board_fingerprint: str
    board_model: str | None
    model_name: str
    model_sha256: str
    runtime: str
    runtime_version: str | None
    ep: str
    threads: int
    input_shapes: str
    status: str
    error: str | None
    latency_mean_ms: float | None
    latency_p50_ms: float | None
    latency_count: int | None
    peak_rss_mb: float | None
    energy_j_per_inference: float | None
    power_avg_w: float | None
    temp_max_c: float | None
    throttled: bool | None
    predicted_latency_ms: float | None
    agent_version: str | None
    controller_version: str | None
    labels: dict[str, str] = field(default_factory=dict)
    verdict: str | None = None  # from a regress comparison, if any
    contended: bool | None = None  # others took the worker's CPU during the window (None: not measured)
    # Loaded by Store.get only: the full run object (bench --json shape, as stored) and the job spec.
    record: dict[str, Any] | None = None
    spec: dict[str, Any] | None = None

    @property
    def key(self) -> BenchmarkKey:
        return BenchmarkKey(self.board_fingerprint, self.model_sha256, self.runtime, self.ep, self.threads,
                            self.input_shapes)

    @property
    def run(self) -> RunRecord | None:
        """The stored run object as a record (None unless loaded by Store.get)."""
        return RunRecord.from_json(self.record) if self.record is not None else None

    def column_values(self) -> tuple[Any, ...]:
        """This run's row of the `runs` table, in RUN_COLUMNS order (labels as JSON, throttled as 0/1)."""
        values = {name: getattr(self, name) for name in RUN_COLUMNS if name != "labels_json"}
        values["labels_json"] = json.dumps(self.labels, sort_keys=True)
        values["throttled"] = None if self.throttled is None else int(self.throttled)
        values["contended"] = None if self.contended is None else int(self.contended)
        return tuple(values[name] for name in RUN_COLUMNS)

    @property
    def benchmark(self) -> str:
        """A short human name for the comparison key (without the board)."""
        shapes = f" {self.input_shapes}" if self.input_shapes else ""
        return f"{self.model_name} {self.runtime} {short_ep(self.ep)} threads={self.threads}{shapes}"


def short_ep(ep: str) -> str:
    return (ep or "-").replace("ExecutionProvider", "")


@dataclass
class RunFilter:
    model: str | None = None  # model name or sha256 prefix
    board: str | None = None  # fingerprint prefix or part of the board model
    target: str | None = None
    runtime: str | None = None
    ep: str | None = None
    threads: int | None = None
    status: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    since_unix_s: float | None = None
    until_unix_s: float | None = None
    session_id: int | None = None
    verdict: str | None = None
    ids: list[int] | None = None
    limit: int | None = 50
    oldest_first: bool = False


@dataclass
class Verdict:
    """A regress comparison as stored beside its run."""
    verdict: str  # regression / improvement / same / new / excluded / error
    p_value: float | None = None
    change: float | None = None  # relative change of the median: +0.2 = 20% slower
    median_ms: float | None = None
    baseline_median_ms: float | None = None
    baseline_ids: list[int] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Acceptance:
    """A regression accepted as the new normal."""
    run_id: int
    accepted_unix_s: float
    reason: str
    accepted_by: str | None


@dataclass
class Session:
    id: int
    kind: str
    started_unix_s: float
    finished_unix_s: float | None
    status: str
    config: dict[str, Any] | None
    summary: dict[str, Any] | None
