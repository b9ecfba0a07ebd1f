"""`controller export`: stored runs as JSON (full run objects, samples included) or CSV (one row per run)."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

import numpy as np

from ..store import StoredRun

CSV_COLUMNS = [
    "id", "created_unix_s", "session_id", "target", "board_fingerprint", "board_model", "model_name",
    "model_sha256", "runtime", "runtime_version", "ep", "threads", "input_shapes", "status", "error",
    "latency_mean_ms", "latency_p50_ms", "latency_count", "peak_rss_mb", "energy_j_per_inference", "power_avg_w",
    "temp_max_c", "throttled", "predicted_latency_ms", "agent_version", "controller_version", "verdict", "labels",
]


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
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for r in runs:
        row = {c: getattr(r, c) for c in CSV_COLUMNS if c not in ("labels", "throttled")}
        row["throttled"] = "" if r.throttled is None else int(r.throttled)
        row["labels"] = ";".join(f"{k}={v}" for k, v in sorted(r.labels.items()))
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()
