"""Bench output: the terminal table, the JSON document, the CSV rows and the trace CSV."""
from __future__ import annotations

import csv
import io
import json
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from edgebench.agent import __version__

from ..records import SCHEMA, TRACE_HEADER, RunRecord
from .runs_csv import StoreColumns, runs_csv


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def _ms(value: float | None) -> str:
    """Milliseconds with three significant figures at least (0.0213, 1.42, 153.2), never an exponent."""
    if value is None:
        return "-"
    return f"{value:.{max(1, min(4, 3 - _magnitude(value)))}f}"


def _magnitude(value: float) -> int:
    return len(str(int(abs(value)))) if abs(value) >= 1 else 0


@dataclass(frozen=True)
class Column:
    group: str  # "run", "measured", "predicted"
    header: str
    cell: Callable[[RunRecord], str]
    keep: int  # when the table is too wide, the columns with the lowest `keep` go first
    justify: str = "right"


def _pred(r: RunRecord, key: str) -> Any:
    return _usable_prediction(r).get(key)


def _pred_mib(r: RunRecord) -> str:
    value = _pred(r, "predicted_memory_bytes")
    return _fmt(value / (1 << 20) if value else None, 1)


def _uncertainty(r: RunRecord) -> str:
    value = _pred(r, "latency_uncertainty_pct")
    return "-" if value is None else f"{value:.0f}"


def _ep(r: RunRecord) -> str:
    return ",".join(p.replace("ExecutionProvider", "") for p in r.providers_used) or r.ep or "-"


def _lat(key: str) -> Callable[[RunRecord], str]:
    return lambda r: _ms(getattr(r.latency_ms, key)) if r.latency_ms is not None else "-"


RUN_COLUMNS = [
    Column("run", "model", lambda r: r.model.name, 100, "left"),
    Column("run", "runtime", lambda r: r.runtime, 40, "left"),
    Column("run", "ep", _ep, 45, "left"),
    Column("run", "thr", lambda r: str(r.threads), 95),
    Column("run", "status", lambda r: r.status, 99, "left"),
]
MEASURED_COLUMNS = [
    Column("measured", "load ms", lambda r: _ms(r.load_ms), 30),
    Column("measured", "first ms", lambda r: _ms(r.first_inference_ms), 20),
    Column("measured", "p50 ms", _lat("p50"), 98),
    Column("measured", "p90 ms", _lat("p90"), 35),
    Column("measured", "p99 ms", _lat("p99"), 80),
    Column("measured", "mean ms", _lat("mean"), 50),
    Column("measured", "std ms", _lat("std"), 25),
    Column("measured", "n", lambda r: _fmt(r.latency_ms and r.latency_ms.count), 15),
    Column("measured", "inf/s", lambda r: _fmt(r.throughput_ips, 1), 60),
    Column("measured", "peak MiB", lambda r: _fmt(r.peak_rss_mb, 1), 85),
]
SENSOR_COLUMNS = [
    Column("measured", "power W", lambda r: _fmt(r.power_avg_w, 2), 70),
    Column("measured", "mJ/inf", lambda r: _fmt(_milli(r.energy_j_per_inference), 3), 75),
    Column("measured", "above idle mJ", lambda r: _fmt(_milli(r.energy_j_per_inference_above_idle), 3), 45),
    Column("measured", "temp max C", lambda r: _fmt(r.temp_max_c, 1), 55),
    Column("measured", "throttled", lambda r: {True: "YES", False: "no", None: "-"}[r.throttled], 90),
]


def _rt(key: str, fmt: Callable[[Any], str]) -> Callable[[RunRecord], str]:
    return lambda r: fmt(r.realtime[key]) if r.realtime else "-"


REALTIME_COLUMNS = [
    Column("measured", "frames", _rt("frames", str), 30),
    Column("measured", "misses", _rt("deadline_misses", str), 92),
    Column("measured", "miss %", _rt("miss_share", lambda v: f"{v * 100:.1f}"), 93),
    Column("measured", "resp p99 ms", _rt("response_p99_ms", _ms), 88),
    Column("measured", "jitter ms", _rt("jitter_ms", _ms), 87),
    Column("measured", "busy %", _rt("busy_share", lambda v: f"{v * 100:.0f}"), 40),
]
PREDICTED_COLUMNS = [
    Column("predicted", "latency ms", lambda r: _ms(_pred(r, "predicted_latency_ms")), 97),
    Column("predicted", "±%", _uncertainty, 65),
    Column("predicted", "lat err %", lambda r: _pct(_pred(r, "latency_error_pct")), 96),
    Column("predicted", "MiB", _pred_mib, 56),
    Column("predicted", "mem err %", lambda r: _pct(_pred(r, "memory_error_pct")), 57),
]
PREDICTED_ENERGY = Column("predicted", "mJ (nominal)", lambda r: _fmt(_milli(_pred(r, "predicted_energy_j")), 3), 20)
METHODS = {"kernel": "the board's fitted kernel models", "roofline": "the roofline (no calibrated kernel models)"}
GROUP_TITLES = {"run": "", "measured": "measured", "predicted": "predicted"}


def bench_columns(records: Sequence[RunRecord]) -> list[Column]:
    columns = [*RUN_COLUMNS, *MEASURED_COLUMNS]
    if any(r.realtime for r in records):
        columns += REALTIME_COLUMNS
    if any(_has_sensor_figures(r) for r in records):
        columns += SENSOR_COLUMNS
    if any(_usable_prediction(r) for r in records):
        uncertain = any(_pred(r, "latency_uncertainty_pct") is not None for r in records)
        columns += [c for c in PREDICTED_COLUMNS if c.header != "±%" or uncertain]
        if any(r.energy_j_per_inference is not None for r in records):
            columns.append(PREDICTED_ENERGY)  # beside a measured energy only: alone it would pass for one
    return columns


def _grouped_table(columns: Sequence[Column], records: Sequence[RunRecord], predicted_title: str) -> Table:
    """One inner table per group under a header that spans it: rich has no column spans, so the groups are
    tables side by side in one row of an outer table, their rows aligned because no cell ever wraps."""
    outer = Table(box=box.MINIMAL, show_edge=False, pad_edge=False, padding=0)
    inner_tables = []
    for group in ("run", "measured", "predicted"):
        cols = [c for c in columns if c.group == group]
        if not cols:
            continue
        inner = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 0, 0, 1))
        for c in cols:
            inner.add_column(c.header, justify=c.justify, no_wrap=True)
        for r in records:
            inner.add_row(*(c.cell(r) for c in cols))
        title = predicted_title if group == "predicted" else GROUP_TITLES[group]
        outer.add_column(title, justify="center", no_wrap=True)
        inner_tables.append(inner)
    outer.add_row(*inner_tables)
    return outer


def _render(renderable: Any, width: int) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, legacy_windows=False, soft_wrap=False).print(renderable)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines())


def _natural_width(renderable: Any) -> int:
    return Console(file=io.StringIO(), width=10_000).measure(renderable).maximum


def bench_table(records: Sequence[RunRecord], width: int | None = None) -> str:
    """The runs, grouped "measured | predicted". `width` (the terminal's): columns least needed are left out
    until the table fits, and the footer names them; None: every column."""
    columns = bench_columns(records)
    devices = sorted({r.predicted["device"] for r in records if _usable_prediction(r)})
    predicted_title = f"predicted ({', '.join(devices)})" if devices else "predicted"
    dropped: list[str] = []
    table = _grouped_table(columns, records, predicted_title)
    while width is not None and _natural_width(table) > width and len(columns) > 3:
        least = min(columns, key=lambda c: c.keep)
        columns = [c for c in columns if c is not least]
        dropped.append(least.header if least.group != "predicted" else f"predicted {least.header}")
        table = _grouped_table(columns, records, predicted_title)
    text = _render(table, max(width or 0, _natural_width(table)))
    notes = bench_notes(records, columns, dropped)
    if width:  # a terminal: the footer wraps at its width, continuation lines indented
        notes = [textwrap.fill(n, width, subsequent_indent="    ", break_on_hyphens=False) for n in notes]
    return "\n".join(x for x in [board_line(records), text, *notes] if x)


def board_line(records: Sequence[RunRecord]) -> str:
    if not records:
        return ""
    board = records[0].board
    cpu = "" if board.soc and board.soc in board.model else f"{board.soc}, {board.cpu_count} cores, "
    return f"target {records[0].target}: {board.model} ({cpu}governor {board.governor or 'n/a'})"


def bench_notes(records: Sequence[RunRecord], columns: Sequence[Column], dropped: Sequence[str]) -> list[str]:
    notes = [f"!!! THROTTLED: {r.model.name} threads={r.threads} ran while the board throttled, capped its "
             "clock or saw under-voltage: its figures are not comparable and regressions ignore it"
             for r in records if r.throttled]
    notes += [f"!!! CONTENDED: {r.model.name} threads={r.threads}: {_contention_reason(r)}: its figures are not "
              "comparable and regressions ignore it" for r in records if r.contended]
    shown = {c.header for c in columns}
    if any(_usable_prediction(r) for r in records):
        sources = sorted({(r.predicted["device"], r.predicted["source"]) for r in records if _usable_prediction(r)})
        methods = sorted({_pred(r, "method") or "roofline" for r in records if _usable_prediction(r)})
        notes.append("predicted with " + "; ".join(f"device profile {d} ({s})" for d, s in sources)
                     + f", {' and '.join(METHODS.get(m, m) for m in methods)}. lat err % = (predicted - measured)"
                     " / measured, against the measured p50; mem err % against the peak RSS (VmHWM). "
                     + ("±%: the kernel models' own spread. " if "±%" in shown else "") + "MiB = 2^20 bytes.")
        for r in records:
            if r.predicted and r.predicted.get("foreign_profile"):
                notes.append(f"! {r.model.name}: {r.predicted['foreign_profile']}")
                break
    if PREDICTED_ENERGY.header in shown:
        notes.append("mJ (nominal): predicted latency x the profile's nominal active power, not a figure "
                     "measured on this board")
    if "miss %" in shown:
        rt = next(r.realtime for r in records if r.realtime)
        notes.append(f"real time: frames at {rt['rate_hz']:g}/s, deadline {rt['deadline_ms']:g} ms after each "
                     "frame's arrival; resp = completion - arrival (a late frame's wait included), jitter = its "
                     "standard deviation; latency columns are invoke() alone; mJ/inf is per frame, idle gaps "
                     "included")
    if dropped:
        notes.append(f"left out to fit {', '.join(dropped)} (a wider terminal shows them; --json and --csv "
                     "have every figure)")
    for r in records:
        where = f"{r.model.name} {r.runtime} threads={r.threads}"
        if r.error:
            notes.append(f"! {where}: {r.error}")
        elif r.predicted and r.predicted.get("error"):  # a failed run's prediction says nothing new
            notes.append(f"! {where}: no prediction: {r.predicted['error']}")
        for w in r.warnings:
            notes.append(f"  note: {where}: {w}")
    return notes


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


def bench_csv(records: Sequence[RunRecord], labels: dict[str, str] | None = None) -> str:
    """The runs as `export --format csv` writes them once stored (the same columns, the same numbers)."""
    return runs_csv([(r, StoreColumns(labels=labels or {}) if r.run_id is not None else None) for r in records])


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
