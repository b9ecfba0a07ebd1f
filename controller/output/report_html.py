"""`controller report --html` and `regress --html`: one self-contained page (inline SVG and CSS, no script,
nothing fetched) with the latency distribution of each benchmark, measured against predicted, the power and
temperature trace of recent runs, and each benchmark's trend over the nights with regressions marked."""
from __future__ import annotations

import time
from collections.abc import Sequence
from html import escape
from pathlib import Path

from ..atomic_write import write_atomic
from ..records import BenchmarkKey
from ..store import RunFilter, Store, StoredRun
from . import charts
from .history import board_name, when

MAX_DISTRIBUTIONS = 24
MAX_TRACES = 3
TREND_RUNS = 60
VERDICT_COLOR = {"regression": charts.RED, "improvement": charts.GREEN, "excluded": charts.GREY}

CSS = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.sub{color:#666;margin:0 0 12px} .grid{display:flex;flex-wrap:wrap;gap:12px}
figure.chart{margin:0;background:#fff;border:1px solid #ddd;padding:4px}
figcaption{font-size:12px;color:#555;max-width:560px;padding:2px 4px}
table{border-collapse:collapse;background:#fff} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums} .regression{color:#d62728;font-weight:bold}
.improvement{color:#2ca02c} .excluded,.error{color:#7f7f7f} .empty{color:#777;font-style:italic}
svg .t{font-size:13px;font-weight:600} svg .k{font-size:10px;fill:#444} svg .a{font-size:11px;fill:#333}
"""


def _label(run: StoredRun) -> str:
    return f"{board_name(run)} · {run.benchmark}"


def _title(prefix: str, run: StoredRun) -> str:
    """A chart title that fits its width; the board goes in the caption."""
    text = f"{prefix}{run.benchmark}"
    return text if len(text) <= 72 else text[:71] + "…"


def _tick_format(times: Sequence[float]) -> str:
    span = max(times) - min(times) if times else 0
    return "%H:%M:%S" if span < 3600 else "%m-%d %H:%M" if span < 2 * 86400 else "%Y-%m-%d"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def _figure(svg: str, caption: str, chart_id: str) -> str:
    return (f'<figure class="chart" data-chart="{escape(chart_id)}">{svg}'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _latest_per_key(runs: Sequence[StoredRun]) -> dict[BenchmarkKey, StoredRun]:
    latest: dict[BenchmarkKey, StoredRun] = {}
    for r in sorted(runs, key=lambda r: (r.created_unix_s, r.id)):
        latest[r.key] = r
    return latest


def _summary(store: Store, latest: dict[BenchmarkKey, StoredRun], counts: dict[BenchmarkKey, int]) -> str:
    rows = []
    for key, r in sorted(latest.items(), key=lambda kv: _label(kv[1])):
        v = store.verdict(r.id)
        change = "-" if not v or v.change is None else f"{v.change:+.1%}"
        verdict = r.verdict or "-"
        rows.append(f"<tr><td>{escape(board_name(r))}</td><td>{escape(r.benchmark)}</td><td class=n>{counts[key]}</td>"
                    f"<td>{when(r.created_unix_s)}</td><td class=n>{_ms(r.latency_p50_ms)}</td>"
                    f"<td class=n>{_ms(r.predicted_latency_ms)}</td><td class=n>{change}</td>"
                    f"<td class='{escape(verdict)}'>{escape(verdict)}</td><td>{escape(r.status)}"
                    f"{' THROTTLED' if r.throttled else ''}</td><td class=n>{r.id}</td></tr>")
    return ("<table><tr><th>board</th><th>benchmark</th><th>runs</th><th>latest (UTC)</th><th>p50 ms</th>"
            "<th>predicted ms</th><th>change</th><th>verdict</th><th>status</th><th>run</th></tr>"
            + "".join(rows) + "</table>")


def _distributions(store: Store, latest: dict[BenchmarkKey, StoredRun]) -> str:
    ok = [r for r in latest.values() if r.status == "ok"][:MAX_DISTRIBUTIONS]
    samples = store.samples([r.id for r in ok])
    figs = [_figure(charts.histogram(samples[r.id], _title("", r)),
                    f"{board_name(r)}: run {r.id}, {len(samples[r.id])} inferences, {when(r.created_unix_s)} UTC",
                    f"latency-{r.id}")
            for r in ok if r.id in samples and len(samples[r.id]) >= 2]
    return "".join(figs) or '<p class="empty">no run with latency samples</p>'


def _predicted(latest: dict[BenchmarkKey, StoredRun]) -> str:
    boards = sorted({board_name(r) for r in latest.values()})
    color = {b: charts.PALETTE[i % len(charts.PALETTE)] for i, b in enumerate(boards)}
    points = [charts.Point(r.predicted_latency_ms, r.latency_mean_ms,
                           f"{_label(r)}: predicted {_ms(r.predicted_latency_ms)} ms, measured {_ms(r.latency_mean_ms)} ms",
                           color[board_name(r)])
              for r in latest.values() if r.predicted_latency_ms and r.latency_mean_ms]
    if not points:
        return '<p class="empty">no run with both a prediction and a measurement</p>'
    svg = charts.scatter_log(points, "measured vs predicted latency", "predicted (ms)", "measured mean (ms)")
    return _figure(svg, "one point per benchmark (latest run); on the dashed line prediction equals measurement",
                   "predicted")


def _traces(store: Store, latest: dict[BenchmarkKey, StoredRun]) -> str:
    newest = sorted(latest.values(), key=lambda r: -r.created_unix_s)
    with_trace = store.runs_with_trace([r.id for r in newest])
    figs = []
    for r in [r for r in newest if r.id in with_trace][:MAX_TRACES]:
        trace = store.trace(r.id) or []
        for kind, unit, title in (("power", "W", "power"), ("thermal", "C", "temperature")):
            picked = [s for s in trace if s["kind"] == kind and len(s["t_s"]) >= 2]
            if not picked:
                continue
            series = [charts.Series(f"{s['sensor']} {s['figure']}", s["t_s"], s["values"],
                                    charts.PALETTE[i % len(charts.PALETTE)]) for i, s in enumerate(picked[:6])]
            svg = charts.lines(series, _title(f"{title}: ", r), "seconds from the measurement window's start",
                               f"{title} ({unit})")
            figs.append(_figure(svg, f"{board_name(r)}: run {r.id}, {when(r.created_unix_s)} UTC; negative time "
                                     "is the idle baseline before the timed loop", f"{kind}-{r.id}"))
    return "".join(figs) or '<p class="empty">no stored power or temperature trace (boards without sensors, or ' \
                            'runs that kept none)</p>'


def _trends(store: Store, latest: dict[BenchmarkKey, StoredRun], since: float | None) -> str:
    figs = []
    for key, r in sorted(latest.items(), key=lambda kv: _label(kv[1])):
        runs = [x for x in store.series(key, TREND_RUNS, since) if x.status == "ok" and x.latency_p50_ms is not None]
        if len(runs) < 1:
            continue
        xs = list(range(len(runs)))
        marks = [(i, VERDICT_COLOR["excluded" if x.throttled else x.verdict],
                  f"run {x.id}: {x.verdict or ''}{' throttled' if x.throttled else ''} p50 {_ms(x.latency_p50_ms)} ms")
                 for i, x in enumerate(runs) if x.throttled or x.verdict in VERDICT_COLOR]
        series = charts.Series("p50", xs, [x.latency_p50_ms for x in runs], charts.PALETTE[0], marks)
        step = max(1, len(runs) // 5)
        ticks = xs[::step]
        fmt = _tick_format([x.created_unix_s for x in runs])
        svg = charts.lines([series], _title("trend: ", r), "run (UTC)", "p50 latency (ms)",
                           {i: time.strftime(fmt, time.gmtime(runs[i].created_unix_s)) for i in ticks},
                           ticks, zero=False)
        flagged = sum(1 for x in runs if x.verdict == "regression")
        figs.append(_figure(svg, f"{board_name(r)}: {len(runs)} runs; red: regression ({flagged}), green: "
                                 "improvement, grey: throttled/excluded", f"trend-{r.id}"))
    return "".join(figs) or '<p class="empty">no successful runs</p>'


def build_report(store: Store, runs: Sequence[StoredRun], title: str, subtitle: str,
                 since: float | None = None) -> str:
    latest = _latest_per_key(runs)
    counts: dict[BenchmarkKey, int] = {}
    for r in runs:
        counts[r.key] = counts.get(r.key, 0) + 1
    body = [f"<h1>{escape(title)}</h1>", f'<p class="sub">{escape(subtitle)}</p>']
    if not runs:
        body.append('<p class="empty">no stored runs match</p>')
    else:
        body += ['<h2 id="summary">Benchmarks</h2>', _summary(store, latest, counts),
                 '<h2 id="trend">Trend over the nights</h2><div class="grid">', _trends(store, latest, since),
                 '</div><h2 id="latency">Latency distribution (latest run)</h2><div class="grid">',
                 _distributions(store, latest),
                 '</div><h2 id="predicted">Measured vs predicted</h2><div class="grid">', _predicted(latest),
                 '</div><h2 id="power">Power and temperature</h2><div class="grid">', _traces(store, latest),
                 "</div>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>" + "".join(body) + "</body></html>\n")


def write_report(store: Store, f: RunFilter, path: Path) -> int:
    runs = store.query(f)
    subtitle = (f"{len(runs)} runs from {store.url}, generated {when(time.time())} UTC"
                + (f" (at most {f.limit}, newest first)" if f.limit and len(runs) == f.limit else ""))
    write_atomic(path, build_report(store, runs, "edgebench report", subtitle, f.since_unix_s))  # world-readable
    return len(runs)


def write_session_report(store: Store, session_id: int, path: Path) -> int:
    runs = store.query(RunFilter(session_id=session_id, limit=None))
    bad = [r for r in runs if r.verdict == "regression"]
    subtitle = (f"regress session {session_id}: {len(runs)} runs, {len(bad)} regressions; store {store.url}; "
                f"generated {when(time.time())} UTC")
    write_atomic(path, build_report(store, runs, f"edgebench regress session {session_id}", subtitle))
    return len(runs)
