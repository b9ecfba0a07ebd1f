"""`controller history`: the stored runs, newest first, as a table or JSON."""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from ..store import StoredRun, short_ep
from .table import render_table


def when(unix_s: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(unix_s)) if unix_s else "-"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def board_name(run: StoredRun) -> str:
    model = run.board_model if run.board_model and run.board_model != "unknown" else ""
    return f"{model} {run.board_fingerprint[:8]}".strip() if model else run.board_fingerprint[:12] or "-"


def history_table(runs: Sequence[StoredRun]) -> str:
    headers = ["id", "finished (UTC)", "target", "board", "model", "runtime", "ep", "thr", "mean ms", "p50 ms",
               "n", "peak MiB", "pred ms", "throttled", "status", "verdict", "labels"]
    rows = [[str(r.id), when(r.created_unix_s), r.target, board_name(r), r.model_name, r.runtime, short_ep(r.ep),
             str(r.threads), _num(r.latency_mean_ms), _num(r.latency_p50_ms),
             "-" if r.latency_count is None else str(r.latency_count), _num(r.peak_rss_mb, 1),
             _num(r.predicted_latency_ms), "-" if r.throttled is None else ("YES" if r.throttled else "no"),
             r.status + (" CONTENDED" if r.contended else ""), r.verdict or "-", ",".join(f"{k}={v}" for k, v in sorted(r.labels.items())) or "-"]
            for r in runs]
    return render_table(headers, rows)


def run_summary(run: StoredRun) -> dict[str, Any]:
    out = asdict(run)
    for key in ("record", "spec"):
        if out[key] is None:
            out.pop(key)
    return out


def history_json(runs: Sequence[StoredRun]) -> str:
    return json.dumps({"schema": "edgebench.history/1", "runs": [run_summary(r) for r in runs]}, indent=2)
