"""Jobs submitted to a board whose runs are not stored yet: what `controller watch` needs to store a run it
re-attaches to exactly as `bench` would have (the model file for the prediction, the options, the labels,
the store). One small JSON file per job in DATA_DIR/pending/, written when the job is submitted; marked
stored once its run is in the store, removed once the board has let go of the result.

    journal = Journal(opts, labels, db, store=True)     # bench: one entry per submitted job
    entry = load(job_id)                                # watch: how bench would have finished it
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .atomic_write import write_atomic
from .paths import data_dir

_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


@dataclass
class PendingJob:
    job_id: str
    target: str  # as given to bench
    model_text: str  # as given: a path or zoo:NAME
    model_name: str
    model_path: str  # the file bench uploaded (its sha256 below): the cost model reads it
    model_sha256: str
    runtime: str
    threads: int
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    device: str | None = None
    predict: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    db: str | None = None
    store: bool = True  # bench was asked to store (not --no-store)
    spec: dict[str, Any] | None = None  # the job spec as stored with the run
    submitted_unix_s: float = 0.0
    stored_run_id: int | None = None  # set once the run is in the store (only the collect is left)


def pending_dir() -> Path:
    return data_dir() / "pending"


def _path(job_id: str) -> Path | None:
    return pending_dir() / f"{job_id}.json" if _JOB_ID.match(job_id) else None


def save(entry: PendingJob) -> None:
    path = _path(entry.job_id)
    if path is not None:
        write_atomic(path, json.dumps(asdict(entry), indent=1), mode=0o600)


def load(job_id: str) -> PendingJob | None:
    """The entry of this job, or None (never submitted from this host, or unreadable: then watch says so)."""
    path = _path(job_id)
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return PendingJob(**{k: v for k, v in data.items() if k in PendingJob.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


def mark_stored(job_id: str, run_id: int) -> None:
    entry = load(job_id)
    if entry is not None:
        entry.stored_run_id = run_id
        save(entry)


def remove(job_id: str) -> None:
    path = _path(job_id)
    if path is not None:
        path.unlink(missing_ok=True)


class Journal:
    """bench's entries: one per job it submits (`submitted` is bench_on's journal callback)."""

    def __init__(self, target: str, device: str | None, predict: bool, input_shapes: dict[str, list[int]],
                 labels: dict[str, str], db: str | None, store: bool) -> None:
        self.target, self.device, self.predict, self.input_shapes = target, device, predict, input_shapes
        self.labels, self.db, self.store = labels, db, store
        self.job_ids: list[str] = []

    def submitted(self, job_id: str, model_text: str, model_name: str, model_path: Path, sha256: str,
                  runtime: str, threads: int, spec: dict[str, Any] | None) -> None:
        self.job_ids.append(job_id)
        entry = PendingJob(job_id, self.target, model_text, model_name, str(model_path.resolve()), sha256, runtime,
                           threads, dict(self.input_shapes), self.device, self.predict, dict(self.labels), self.db,
                           self.store, spec, time.time())
        try:
            try:
                save(entry)
            except KeyboardInterrupt:  # Ctrl-C mid-write: the printed watch command needs this entry whole
                save(entry)
                raise
        except OSError:  # a journal that cannot be written costs the re-attach's extras, never the bench
            pass
