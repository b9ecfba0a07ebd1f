"""Bench output: the terminal table, the JSON document, the CSV rows and the trace CSV."""
from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Sequence
from typing import Any

from edgebench.agent import __version__

from ..records import SCHEMA, TRACE_HEADER, RunRecord
from .table import render_table


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def bench_table(records: Sequence[RunRecord]) -> str:
    headers = ["model", "runtime", "ep", "thr", "load ms", "first ms", "mean ms", "pred ms", "err %", "p50 ms",
               "p90 ms", "p99 ms", "std ms", "n", "inf/s", "peak MB", "pred MB", "err %", "status"]
    rows = []
    for r in records:
        lat = r.latency_ms
        ep = ",".join(p.replace("ExecutionProvider", "") for p in r.providers_used) or r.ep or "-"
        pred = _usable_prediction(r)
        pred_mb = pred.get("predicted_memory_bytes")
        rows.append([
            r.model.name, r.runtime, ep, str(r.threads), _fmt(r.load_ms, 1), _fmt(r.first_inference_ms),
            _fmt(lat and lat.mean, 3), _fmt(pred.get("predicted_latency_ms"), 3), _pct(pred.get("latency_error_pct")),
            _fmt(lat and lat.p50, 3), _fmt(lat and lat.p90, 3), _fmt(lat and lat.p99, 3),
            _fmt(lat and lat.std, 3), _fmt(lat and lat.count), _fmt(r.throughput_ips, 1), _fmt(r.peak_rss_mb, 1),
            _fmt(pred_mb / (1 << 20) if pred_mb else None, 1), _pct(pred.get("memory_error_pct")), r.status,
        ])
    if any(_has_sensor_figures(r) for r in records):
        headers += ["power W", "mJ/inf", "pred mJ", "above idle mJ", "temp max C", "throttled"]
        for row, r in zip(rows, records, strict=True):
            pred_j = _usable_prediction(r).get("predicted_energy_j")
            row += [_fmt(r.power_avg_w, 2), _fmt(_milli(r.energy_j_per_inference), 3), _fmt(_milli(pred_j), 3),
                    _fmt(_milli(r.energy_j_per_inference_above_idle), 3), _fmt(r.temp_max_c, 1),
                    {True: "YES", False: "no", None: "-"}[r.throttled]]
    text = render_table(headers, rows)
    board = records[0].board if records else None
    header = (f"target {records[0].target}: {board.model} ({board.soc}, {board.cpu_count} cores, "
              f"governor {board.governor or 'n/a'})") if board else ""
    notes = [f"!!! THROTTLED: {r.model.name} threads={r.threads} ran while the board throttled, capped its "
             "clock or saw under-voltage: its figures are not comparable and regressions ignore it"
             for r in records if r.throttled]
    notes += [f"!!! CONTENDED: {r.model.name} threads={r.threads}: {_contention_reason(r)}: its figures are not "
              "comparable and regressions ignore it" for r in records if r.contended]
    devices = {(r.predicted["device"], r.predicted["source"]) for r in records if r.predicted}
    for device, source in sorted(devices):
        notes.append(f"predicted with device profile {device} ({source}); err % = (predicted - measured) / measured, latency against the p50 of the timed runs, memory against the peak RSS")
    for r in records:
        if r.predicted and r.predicted.get("error"):
            notes.append(f"! {r.model.name} threads={r.threads}: no prediction: {r.predicted['error']}")
        if r.error:
            notes.append(f"! {r.model.name} {r.runtime} threads={r.threads}: {r.error}")
        for w in r.warnings:
            notes.append(f"  note: {r.model.name} threads={r.threads}: {w}")
    return "\n".join(x for x in [header, text, *notes] if x)


def _contention_reason(r: RunRecord) -> str:
    return (r.contention or {}).get("reason") or "other processes took the worker's CPU"


def _usable_prediction(r: RunRecord) -> dict[str, Any]:
    return r.predicted if r.predicted and not r.predicted.get("error") else {}


def _has_sensor_figures(r: RunRecord) -> bool:
    return any(v is not None for v in (r.power_avg_w, r.temp_max_c, r.throttled))


def _milli(joules: float | None) -> float | None:
    return None if joules is None else joules * 1e3


def bench_document(records: Sequence[RunRecord]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "controller_version": __version__,
        "created_unix_s": round(time.time(), 3),
        "runs": [r.to_json() for r in records],
    }


def bench_json(records: Sequence[RunRecord]) -> str:
    return json.dumps(bench_document(records), indent=2)


CSV_COLUMNS = [
    "target", "board_model", "board_fingerprint", "model", "model_sha256", "runtime", "runtime_version", "ep",
    "providers_used", "threads", "status", "error", "load_ms", "first_inference_ms", "latency_min_ms",
    "latency_mean_ms", "latency_std_ms", "latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms",
    "latency_max_ms", "latency_count", "throughput_ips", "peak_rss_mb", "rss_after_load_mb",
    "predicted_device", "predicted_latency_ms", "predicted_memory_bytes",
]


def bench_csv(records: Sequence[RunRecord]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for r in records:
        lat = r.latency_ms
        row = {
            "target": r.target, "board_model": r.board.model, "board_fingerprint": r.board.fingerprint,
            "model": r.model.name, "model_sha256": r.model.sha256, "runtime": r.runtime,
            "runtime_version": r.runtime_version, "ep": r.ep, "providers_used": ";".join(r.providers_used),
            "threads": r.threads, "status": r.status, "error": r.error or "", "load_ms": r.load_ms,
            "first_inference_ms": r.first_inference_ms, "throughput_ips": r.throughput_ips,
            "peak_rss_mb": r.peak_rss_mb, "rss_after_load_mb": r.rss_after_load_mb,
        }
        if r.predicted and not r.predicted.get("error"):
            row["predicted_device"] = r.predicted["device"]
            row["predicted_latency_ms"] = r.predicted["predicted_latency_ms"]
            row["predicted_memory_bytes"] = r.predicted["predicted_memory_bytes"]
        if lat is not None:
            for key in ("min", "mean", "std", "p50", "p90", "p95", "p99", "max"):
                row[f"latency_{key}_ms"] = getattr(lat, key)
            row["latency_count"] = lat.count
        writer.writerow(row)
    return out.getvalue()


TRACE_COLUMNS = ["model", "threads", "job_id", *TRACE_HEADER]


def bench_trace_csv(records: Sequence[RunRecord]) -> str:
    """Every run's kept time series, long format: one row per reading per figure."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TRACE_COLUMNS)
    for r in records:
        energy = r.energy or {}
        window_s = energy.get("duration_s") or 0.0
        for series in energy.get("trace", []):
            for t, value in zip(series["t_s"], series["values"], strict=True):
                writer.writerow([r.model.name, r.threads, r.job_id, f"{t:.6f}", series["sensor"], series["kind"],
                                 series["figure"], repr(value), series["unit"], int(0 <= t <= window_s)])
    return out.getvalue()
