"""Running suite models on the board as ordinary agent jobs: batches of many models in one worker.

`BoardSuiteRunner` turns suite items into batch jobs over a board connection (one worker per batch, so hundreds
of tiny models do not each pay a worker start) and their results into plain records; memory is measured in
single-model jobs (one worker each: its peak is that model's alone).
"""
from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from ..records import BatchItem, JobSpec, OpProfileEntry
from .suite.models import SuiteModel

MAX_BATCH = 96  # items per job: a crash or a timeout loses at most this many measurements
UPLOAD_THREADS = 4  # suite models are small: the round trips dominate, so a few go at once


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
class ItemResult:
    key: str
    error: str = ""
    p50_us: float = 0.0
    spread: float = 0.0  # (p90 - p10) / p50 of the timed runs: how noisy the measurement was
    op_times: list[OpProfileEntry] = field(default_factory=list)
    optimized_model: bytes = b""
    runtime_version: str = ""
    peak_rss_load_kib: int = 0
    peak_rss_steady_kib: int = 0
    rss_before_load_kib: int = 0


class SuiteRunner(Protocol):
    def submit(self, items: Sequence[ItemRequest], settings: RunSettings, batch: bool = True) -> list[str]: ...

    def results(self, job_id: str) -> list[ItemResult]: ...


def _spread(samples_ms: Sequence[float], p50_ms: float) -> float:
    if len(samples_ms) < 3 or p50_ms <= 0:
        return 0.0
    ordered = sorted(samples_ms)
    lo, hi = ordered[len(ordered) // 10], ordered[min(len(ordered) - 1, (len(ordered) * 9) // 10)]
    return (hi - lo) / p50_ms


def _kib(mb: float | None) -> int:
    return int(round(mb * 1024)) if mb else 0


class BoardSuiteRunner:
    """SuiteRunner over a link.BoardConnection (upload once by sha256, submit, watch, collect)."""

    def __init__(self, connection) -> None:
        self._board = connection
        self._uploaded: dict[str, str] = {}  # path -> sha256
        self._jobs: dict[str, tuple[list[str], bool]] = {}  # job id -> (item keys in order, batch?)

    def upload(self, models: Sequence[SuiteModel]) -> None:
        todo = list({str(m.path): m for m in models if str(m.path) not in self._uploaded}.values())
        if not todo:
            return
        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            shas = pool.map(lambda m: self._board.upload(m.path, m.key).sha256, todo)
            for model, sha in zip(todo, shas, strict=True):
                self._uploaded[str(model.path)] = sha

    def submit(self, items: Sequence[ItemRequest], settings: RunSettings, batch: bool = True) -> list[str]:
        """Job ids; with batch=False one job per item (its own worker: what memory is measured in)."""
        self.upload([i.model for i in items])
        groups = [items[i:i + MAX_BATCH] for i in range(0, len(items), MAX_BATCH)] if batch else [[i] for i in items]
        ids = []
        for group in groups:
            spec = JobSpec("", "kernel-suite", settings.runtime, execution_provider=settings.ep,
                           threads=settings.threads, warmup_runs=settings.warmup, runs=settings.runs,
                           timeout_s=settings.timeout_s, max_duration_s=settings.max_duration_s, no_sampling=True,
                           idle_baseline_s=0.0)
            if batch:
                spec.batch = [BatchItem(self._uploaded[str(i.model.path)], i.model.key, i.profile, i.optimized)
                              for i in group]
            else:
                item = group[0]
                spec.model_sha256 = self._uploaded[str(item.model.path)]
                spec.model_name = item.model.key
                spec.profile_ops = item.profile
                spec.return_optimized_model = item.optimized
            job_id = self._board.submit(spec)
            self._jobs[job_id] = ([i.model.key for i in group], batch)
            ids.append(job_id)
        return ids

    def results(self, job_id: str) -> list[ItemResult]:
        keys, batch = self._jobs.pop(job_id)
        try:
            if not batch:
                run = self._board.watch(job_id)
                if run.status != "ok" or run.latency_ms is None:
                    return [ItemResult(keys[0], error=run.error or run.status)]
                p50 = run.latency_ms.p50
                return [ItemResult(keys[0], p50_us=p50 * 1e3, spread=_spread(run.samples_ms, p50),
                                   op_times=run.op_profile, optimized_model=run.optimized_model,
                                   runtime_version=run.runtime_version,
                                   peak_rss_load_kib=_kib(run.peak_rss_load_mb),
                                   peak_rss_steady_kib=_kib(run.peak_rss_steady_mb),
                                   rss_before_load_kib=_kib(run.rss_before_load_mb))]
            _, items = self._board.watch_batch(job_id)
        finally:
            self._board.collect(job_id)
        out = []
        for key, item in zip(keys, items, strict=False):
            if item.error or item.latency_ms is None:
                out.append(ItemResult(key, error=item.error or "not measured"))
                continue
            p50 = item.latency_ms.p50
            out.append(ItemResult(key, p50_us=p50 * 1e3, spread=_spread(item.samples_ms, p50),
                                  op_times=item.op_profile, optimized_model=item.optimized_model,
                                  runtime_version=item.runtime_version))
        out.extend(ItemResult(k, error="not run") for k in keys[len(items):])
        return out
