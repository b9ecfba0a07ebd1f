"""One CSV row per run, the same columns and the same numbers for `bench --csv` and `export --format csv`:
a run measured now and the same run read back from the store are one row. Floats are written as Python
writes them (full precision); a figure not measured is an empty cell."""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from edgebench.agent import __version__

from ..records import RunRecord, input_shapes_key

CSV_COLUMNS = [
    "run_id", "stored_unix_s", "session_id", "target", "board_model", "board_fingerprint", "model",
    "model_sha256", "runtime", "runtime_version", "ep", "providers_used", "threads", "input_shapes", "status",
    "error", "load_ms", "first_inference_ms", "latency_min_ms", "latency_mean_ms", "latency_std_ms",
    "latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "latency_max_ms", "latency_count",
    "throughput_ips", "peak_rss_mb", "rss_after_load_mb", "energy_j_per_inference", "power_avg_w", "temp_max_c",
    "throttled", "predicted_device", "predicted_method", "predicted_latency_ms", "latency_error_pct",
    "predicted_memory_bytes", "memory_error_pct", "rt_rate_hz", "rt_deadline_ms", "rt_deadline_misses",
    "rt_miss_share", "rt_jitter_ms", "agent_version", "controller_version", "verdict", "labels",
]
_LATENCY = ("min", "mean", "std", "p50", "p90", "p95", "p99", "max")
_PREDICTED = {"predicted_device": "device", "predicted_method": "method",
              "predicted_latency_ms": "predicted_latency_ms", "latency_error_pct": "latency_error_pct",
              "predicted_memory_bytes": "predicted_memory_bytes", "memory_error_pct": "memory_error_pct"}
_REALTIME = {"rt_rate_hz": "rate_hz", "rt_deadline_ms": "deadline_ms", "rt_deadline_misses": "deadline_misses",
             "rt_miss_share": "miss_share", "rt_jitter_ms": "jitter_ms"}


@dataclass
class StoreColumns:
    """What only the store knows of a run: written when the run was read back (or has just been stored)."""

    stored_unix_s: float | None = None
    session_id: int | None = None
    controller_version: str | None = None
    verdict: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


def run_row(r: RunRecord, store: StoreColumns | None = None) -> dict[str, Any]:
    lat = r.latency_ms
    row: dict[str, Any] = {
        "run_id": r.run_id, "target": r.target, "board_model": r.board.model,
        "board_fingerprint": r.board.fingerprint, "model": r.model.name, "model_sha256": r.model.sha256,
        "runtime": r.runtime, "runtime_version": r.runtime_version, "ep": r.ep,
        "providers_used": ";".join(r.providers_used), "threads": r.threads, "input_shapes": input_shapes_key(r.inputs),
        "status": r.status, "error": r.error, "load_ms": r.load_ms, "first_inference_ms": r.first_inference_ms,
        "latency_count": lat.count if lat else None, "throughput_ips": r.throughput_ips,
        "peak_rss_mb": r.peak_rss_mb, "rss_after_load_mb": r.rss_after_load_mb,
        "energy_j_per_inference": r.energy_j_per_inference, "power_avg_w": r.power_avg_w,
        "temp_max_c": r.temp_max_c, "throttled": None if r.throttled is None else int(r.throttled),
        "agent_version": r.board.agent_version, "controller_version": __version__,
    }
    for key in _LATENCY:
        row[f"latency_{key}_ms"] = getattr(lat, key) if lat else None
    predicted = r.predicted if r.predicted and not r.predicted.get("error") else {}
    row.update({col: predicted.get(key) for col, key in _PREDICTED.items()})
    row.update({col: (r.realtime or {}).get(key) for col, key in _REALTIME.items()})
    if store is not None:
        row.update(stored_unix_s=store.stored_unix_s, session_id=store.session_id, verdict=store.verdict,
                   controller_version=store.controller_version or row["controller_version"],
                   labels=";".join(f"{k}={v}" for k, v in sorted(store.labels.items())))
    return row


def runs_csv(rows: Sequence[tuple[RunRecord, StoreColumns | None]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for record, store in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in run_row(record, store).items()})
    return out.getvalue()
