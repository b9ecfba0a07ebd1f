"""Running suite models on the board as ordinary agent jobs: batches of many models in one worker.

`AgentSuiteRunner` turns suite items into batch jobs (one worker per batch, so hundreds of tiny models do not
each pay a worker start) and their results into plain records. Everything protobuf stays in this module.
"""
from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from edgebench.v1 import agent_pb2 as pb

from .suite.models import SuiteModel

MAX_BATCH = 96  # items per job: a crash or a timeout loses at most this many measurements
UPLOAD_THREADS = 4
RUNTIME_ENUM = {"onnxruntime": pb.RUNTIME_ONNXRUNTIME, "tflite": pb.RUNTIME_TFLITE}


@dataclass(frozen=True)
class RunSettings:
    runtime: str
    ep: str
    threads: int
    runs: int
    warmup: int
    timeout_s: float = 0.0  # 0: the agent's default
    max_duration_s: float = 0.0  # per model: a slow kernel stops early (at least one run)


@dataclass(frozen=True)
class ItemRequest:
    model: SuiteModel
    profile: bool = False  # onnxruntime per-node profile (kernel times)
    optimized: bool = False  # return onnxruntime's optimized graph


@dataclass
class OpTime:
    node_name: str
    op_type: str
    median_us: float
    order: int


@dataclass
class ItemResult:
    key: str
    error: str = ""
    p50_us: float = 0.0
    spread: float = 0.0  # (p90 - p10) / p50 of the timed runs: how noisy the measurement was
    op_times: list[OpTime] = field(default_factory=list)
    optimized_model: bytes = b""
    runtime_version: str = ""
    peak_rss_load_kib: int = 0
    peak_rss_steady_kib: int = 0
    rss_before_load_kib: int = 0


class SuiteRunner(Protocol):
    def submit(self, items: Sequence[ItemRequest], settings: RunSettings, batch: bool = True) -> list[str]: ...

    def results(self, job_id: str) -> list[ItemResult]: ...


def _spread(samples_ns: Sequence[int], p50_ms: float) -> float:
    if len(samples_ns) < 3 or p50_ms <= 0:
        return 0.0
    ordered = sorted(samples_ns)
    lo, hi = ordered[len(ordered) // 10], ordered[min(len(ordered) - 1, (len(ordered) * 9) // 10)]
    return (hi - lo) / 1e6 / p50_ms


def _op_times(entries) -> list[OpTime]:
    return [OpTime(o.node_name, o.op_type, o.median_us or o.mean_us, o.order) for o in entries]


class AgentSuiteRunner:
    """SuiteRunner over an AgentClient (upload once by sha256, submit, watch, collect)."""

    def __init__(self, client) -> None:
        self._client = client
        self._uploaded: dict[str, str] = {}  # path -> sha256
        self._jobs: dict[str, list[str]] = {}  # job id -> item keys, in order

    def _sha(self, model: SuiteModel) -> str:
        path = str(model.path)
        if path not in self._uploaded:
            self._uploaded[path] = self._client.ensure_model(model.path, model.key).sha256
        return self._uploaded[path]

    def upload(self, models: Sequence[SuiteModel]) -> None:
        """Every model the board lacks, a few at a time (each is small: the round trips dominate)."""
        todo = list({str(m.path): m for m in models if str(m.path) not in self._uploaded}.values())
        if not todo:
            return
        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            for model, sha in zip(todo, pool.map(lambda m: self._client.ensure_model(m.path, m.key).sha256, todo),
                                  strict=True):
                self._uploaded[str(model.path)] = sha

    def submit(self, items: Sequence[ItemRequest], settings: RunSettings, batch: bool = True) -> list[str]:
        """Job ids; with batch=False one job per item (its own worker: what memory is measured in)."""
        self.upload([i.model for i in items])
        ids = []
        groups = [items[i:i + MAX_BATCH] for i in range(0, len(items), MAX_BATCH)] if batch else [[i] for i in items]
        for group in groups:
            spec = pb.JobSpec(runtime=RUNTIME_ENUM[settings.runtime], execution_provider=settings.ep,
                              threads=settings.threads, warmup_runs=settings.warmup, runs=settings.runs,
                              timeout_s=settings.timeout_s, no_sampling=True, idle_baseline_s=0.0,
                              max_duration_s=settings.max_duration_s,
                              model_name="kernel-suite")
            if batch:
                for item in group:
                    spec.batch.add(model_sha256=self._sha(item.model), model_name=item.model.key,
                                   profile_ops=item.profile, return_optimized_model=item.optimized)
            else:
                item = group[0]
                spec.model_sha256 = self._sha(item.model)
                spec.model_name = item.model.key
                spec.profile_ops = item.profile
                spec.return_optimized_model = item.optimized
            job_id = self._client.submit(spec).job_id
            self._jobs[job_id] = [i.model.key for i in group]
            ids.append(job_id)
        return ids

    def results(self, job_id: str) -> list[ItemResult]:
        keys = self._jobs.pop(job_id)
        result = self._client.watch(job_id)
        self._client.collect(job_id)
        if not result.batch:  # a single-model job
            if result.state != pb.JOB_STATE_SUCCEEDED:
                return [ItemResult(keys[0], error=result.error or pb.JobState.Name(result.state))]
            return [ItemResult(keys[0], p50_us=result.latency.p50_ms * 1e3,
                               spread=_spread(result.samples_ns, result.latency.p50_ms),
                               op_times=_op_times(result.op_profile), optimized_model=result.optimized_model,
                               runtime_version=result.runtime_version, peak_rss_load_kib=result.peak_rss_load_kib,
                               peak_rss_steady_kib=result.peak_rss_steady_kib,
                               rss_before_load_kib=result.rss_before_load_kib)]
        out = []
        for key, item in zip(keys, result.batch, strict=False):
            if item.error or item.state != pb.JOB_STATE_SUCCEEDED:
                out.append(ItemResult(key, error=item.error or pb.JobState.Name(item.state)))
                continue
            out.append(ItemResult(key, p50_us=item.latency.p50_ms * 1e3,
                                  spread=_spread(item.samples_ns, item.latency.p50_ms),
                                  op_times=_op_times(item.op_profile), optimized_model=item.optimized_model,
                                  runtime_version=item.runtime_version or result.runtime_version))
        out.extend(ItemResult(k, error=result.error or "not run") for k in keys[len(result.batch):])
        return out
