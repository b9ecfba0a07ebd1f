"""`controller export`: stored runs as JSON (full run objects, samples included) or CSV (one row per run)."""
from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from ..store import StoredRun
from .runs_csv import StoreColumns, runs_csv


def export_json(runs: Sequence[StoredRun], samples: dict[int, np.ndarray] | None = None) -> str:
    """The bench --json run objects (runs as Store.get reads them), each with its store id, labels, verdict
    and, when `samples` is given, its raw samples."""
    out = []
    for r in runs:
        run = dict(r.record or {})
        run.update({"run_id": r.id, "stored_unix_s": r.created_unix_s, "session_id": r.session_id,
                    "labels": r.labels, "verdict": r.verdict, "job_spec": r.spec})
        if samples is not None:
            run["samples_ms"] = samples[r.id].tolist() if r.id in samples else []
        out.append(run)
    return json.dumps({"schema": "edgebench.export/1", "runs": out}, indent=2)


def export_csv(runs: Sequence[StoredRun]) -> str:
    """One row per stored run (loaded with Store.get: the full record), as bench --csv wrote it."""
    rows = []
    for r in runs:
        record = r.run
        if record is None:
            continue
        record.run_id = r.id
        rows.append((record, StoreColumns(r.created_unix_s, r.session_id, r.controller_version, r.verdict,
                                          r.labels)))
    return runs_csv(rows)
