"""`controller report --html` and `regress --html`: one self-contained page (inline SVG and CSS, no script,
nothing fetched), laid out for a person reading one night:

    the summary          what ran where, and what needs a look (regressions, errors, excluded runs)
    regressions          each one's evidence: the baseline's latency distribution and now's, on the same bins
    trends               one chart per benchmark that has a history (dated axis, regressions marked)
    measured/predicted   one labelled point per benchmark
    power, temperature   the traces of the latest runs that kept one

A benchmark is the board (by its fleet name), the model by name (every version of its file), runtime,
execution provider, threads and input shapes: as regress compares them.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from html import escape
from pathlib import Path

import numpy as np

from ..atomic_write import write_atomic
from ..store import RunFilter, Store, StoredRun, Verdict
from . import charts
from .history import board_name, when

MAX_REGRESSIONS = 24
MAX_TRACES = 3
MAX_TRENDS = 60
TREND_RUNS = 60
VERDICT_COLOR = {"regression": charts.RED, "improvement": charts.GREEN, "excluded": charts.GREY,
                 "error": charts.GREY}
NEEDS_A_LOOK = ("regression", "error", "excluded")

CSS = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:20px 0 8px;border-bottom:1px solid #ddd}
.sub{color:#666;margin:0 0 10px} .headline{font-size:16px;margin:6px 0 12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(430px,1fr));gap:12px}
figure.chart{margin:0;background:#fff;border:1px solid #ddd;padding:4px}
figure.chart svg{display:block;width:100%;height:auto} .grid.wide{grid-template-columns:1fr}
figcaption{font-size:12px;color:#555;padding:2px 4px}
table{border-collapse:collapse;background:#fff;width:100%} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums} .regression{color:#d62728;font-weight:bold}
.improvement{color:#2ca02c} .excluded,.error{color:#7f7f7f;font-weight:bold} .empty{color:#777;font-style:italic}
svg .t{font-size:13px;font-weight:600} svg .k{font-size:10px;fill:#444} svg .a{font-size:11px;fill:#333}
"""


def benchmark_id(run: StoredRun) -> tuple:
    """What regress compares like with like: the model by name, whatever version of its file."""
    return (run.target, run.board_fingerprint, run.model_name, run.runtime, run.ep, run.threads, run.input_shapes)


def _board(run: StoredRun) -> str:
    """The board as the team names it (the fleet's name, or the target bench was given)."""
    return run.target or board_name(run)


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def _figure(svg: str, caption: str, chart_id: str) -> str:
    return (f'<figure class="chart" data-chart="{escape(chart_id)}">{svg}'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _latest(runs: Sequence[StoredRun]) -> dict[tuple, StoredRun]:
    latest: dict[tuple, StoredRun] = {}
    for r in sorted(runs, key=lambda r: (r.created_unix_s, r.id)):
        latest[benchmark_id(r)] = r
    return dict(sorted(latest.items(), key=lambda kv: (_board(kv[1]), kv[1].benchmark)))


def _outcome(r: StoredRun) -> str:
    if r.verdict:
        return r.verdict
    return "error" if r.status != "ok" else "-"


def _headline(latest: dict[tuple, StoredRun]) -> str:
    outcomes = [_outcome(r) for r in latest.values()]
    boards = {_board(r) for r in latest.values()}
    parts = [_count(outcomes.count(v), v) for v in NEEDS_A_LOOK if outcomes.count(v)]
    quiet = len(outcomes) - sum(outcomes.count(v) for v in NEEDS_A_LOOK)
    needs = ", ".join(parts) if parts else "nothing needs a look"
    return (f'<p class="headline"><b>{_count(len(latest), "benchmark")} on {_count(len(boards), "board")}</b> '
            f"(latest run of each): {escape(needs)}; {quiet} fine.</p>")


def _count(n: int, what: str) -> str:
    plural = {"regression": "regressions", "error": "errors", "excluded": "excluded"}.get(what, what + "s")
    return f"{n} {what if n == 1 else plural}"


def _noise_cell(v: Verdict | None) -> str:
    if v is None or v.detail.get("min_effect") is None:
        return "-"
    cv = v.detail.get("noise_cv")
    noise = "-" if cv is None else f"{cv:.1%}/{v.detail.get('noise_runs', 0)}"
    return f"{noise} &rarr; {v.detail['min_effect']:.0%}"


def _summary(latest: dict[tuple, StoredRun], verdicts: dict[int, Verdict | None], counts: dict[tuple, int]) -> str:
    rows = []
    for bid, r in latest.items():
        v = verdicts.get(r.id)
        change = "-" if not v or v.change is None else f"{v.change:+.1%}"
        outcome = _outcome(r)
        flags = " THROTTLED" if r.throttled else ""
        flags += " CONTENDED" if r.contended else ""
        rows.append(f"<tr><td title='{escape(board_name(r))}'>{escape(_board(r))}</td><td>{escape(r.benchmark)}</td>"
                    f"<td class=n>{counts[bid]}</td><td>{when(r.created_unix_s)}</td>"
                    f"<td class=n>{_ms(r.latency_p50_ms)}</td><td class=n>{_ms(r.predicted_latency_ms)}</td>"
                    f"<td class=n>{change}</td><td class=n>{_noise_cell(v)}</td>"
                    f"<td class='{escape(outcome)}'>{escape(outcome)}</td><td>{escape(r.status)}{flags}</td>"
                    f"<td class=n>{r.id}</td></tr>")
    return ("<table><tr><th>board</th><th>benchmark</th><th>runs</th><th>latest (UTC)</th><th>p50 ms</th>"
            "<th>predicted ms</th><th>change</th><th>noise &rarr; min effect</th><th>verdict</th><th>status</th>"
            "<th>run</th></tr>" + "".join(rows) + "</table>")


def _regressions(store: Store, latest: dict[tuple, StoredRun], verdicts: dict[int, Verdict | None]) -> str:
    figs = []
    flagged = [r for r in latest.values() if r.verdict == "regression"][:MAX_REGRESSIONS]
    for r in flagged:
        v = verdicts.get(r.id)
        base_ids = list(v.baseline_ids) if v else []
        data = store.samples([r.id, *base_ids])
        baseline = [data[i] for i in base_ids if i in data and len(data[i])]
        if r.id not in data or not baseline:
            figs.append(f'<p class="empty">{escape(_board(r))} {escape(r.benchmark)}: run {r.id} is a regression, '
                        "but its samples or its baseline's are no longer stored</p>")
            continue
        pooled = np.concatenate(baseline)
        ids = ", ".join(f"#{i}" for i in base_ids)
        svg = charts.histogram_pair(pooled, data[r.id], f"{_board(r)}: {r.benchmark}",
                                    f"baseline: run{'s' if len(base_ids) > 1 else ''} {ids} (n={len(pooled)})",
                                    f"now: run #{r.id} (n={len(data[r.id])})")
        why = (v.detail.get("reason") if v else "") or ""
        figs.append(_figure(svg, f"{when(r.created_unix_s)} UTC: {why}", f"regression-{r.id}"))
    if not figs:
        return '<p class="empty">no regression among the latest runs</p>'
    return '<div class="grid">' + "".join(figs) + "</div>"


def _date_ticks(times: Sequence[float]) -> tuple[list[float], dict[float, str]]:
    """Up to six ticks over the runs' times, always with the date (and the time when a day has several)."""
    distinct = sorted(set(times))
    n = min(6, len(distinct))
    ticks = [float(t) for t in np.linspace(distinct[0], distinct[-1], n)] if n > 1 else [float(distinct[0])]
    days = [time.gmtime(t)[:3] for t in distinct]
    span = distinct[-1] - distinct[0]
    if len(set(days)) == len(days) and span >= 3 * 86400:
        fmt = "%Y-%m-%d"  # one run a day: the dates say it all
    else:  # several a day: the time too, to the second when they are minutes apart
        fmt = "%m-%d %H:%M" if span / max(1, n - 1) >= 120 else "%m-%d %H:%M:%S"
    return ticks, {t: time.strftime(fmt, time.gmtime(t)) for t in ticks}


def _trends(store: Store, latest: dict[tuple, StoredRun], since: float | None) -> str:
    figs, single = [], []
    for r in latest.values():
        runs = [x for x in store.series(r.key, TREND_RUNS, since, model_name=r.model_name)
                if x.status == "ok" and x.latency_p50_ms is not None and x.target == r.target]
        if len(runs) < 2 or len(figs) >= MAX_TRENDS:
            single.append(f"{_board(r)} {r.benchmark}")
            continue
        xs = [x.created_unix_s for x in runs]
        unstable = [i for i, x in enumerate(runs) if x.throttled or x.contended]
        marks = [(i, VERDICT_COLOR["excluded" if i in unstable else x.verdict],
                  f"run {x.id} {when(x.created_unix_s)}: {x.verdict or ''}{' throttled' if x.throttled else ''}"
                  f"{' contended' if x.contended else ''} p50 {_ms(x.latency_p50_ms)} ms")
                 for i, x in enumerate(runs) if i in unstable or x.verdict in VERDICT_COLOR]
        series = charts.Series("p50", xs, [x.latency_p50_ms for x in runs], charts.PALETTE[0], marks)
        ticks, labels = _date_ticks(xs)
        svg = charts.lines([series], f"{_board(r)}: {r.benchmark}", "run date (UTC)", "p50 latency (ms)", labels,
                           ticks, zero=False)
        flagged = sum(1 for x in runs if x.verdict == "regression")
        figs.append(_figure(svg, f"{len(runs)} runs, {when(xs[0])} to {when(xs[-1])} UTC; red: regression "
                                 f"({flagged}), green: improvement, grey: excluded (throttled or contended)",
                            f"trend-{r.id}"))
    out = ('<div class="grid">' + "".join(figs) + "</div>") if figs else \
        '<p class="empty">no benchmark has a history yet (one run each)</p>'
    if single and figs:
        out += f'<p class="empty">one run so far, no trend yet: {escape("; ".join(single))}</p>'
    return out


def _short(r: StoredRun) -> str:
    return f"{r.model_name} t{r.threads}"


def _predicted(latest: dict[tuple, StoredRun]) -> str:
    boards = sorted({_board(r) for r in latest.values()})
    color = {b: charts.PALETTE[i % len(charts.PALETTE)] for i, b in enumerate(boards)}
    points = [charts.Point(r.predicted_latency_ms, r.latency_p50_ms,
                           f"{_board(r)} {r.benchmark}: predicted {_ms(r.predicted_latency_ms)} ms, measured p50 "
                           f"{_ms(r.latency_p50_ms)} ms", color[_board(r)],
                           _short(r) + (f" ({_board(r)})" if len(boards) > 1 else ""))
              for r in latest.values() if r.predicted_latency_ms and r.latency_p50_ms]
    if not points:
        return '<p class="empty">no run with both a prediction and a measurement</p>'
    big = len(points) > 6  # many points: the whole width, so their labels find room
    svg, key = charts.scatter_log(points, "measured vs predicted latency (latest runs)", "predicted (ms)",
                                  "measured p50 (ms)", width=1120 if big else charts.W, height=440 if big else charts.H)
    caption = ("one point per benchmark, labelled model and threads; on the dashed line prediction equals "
               "measurement" + (f"; colours: {', '.join(boards)}" if len(boards) > 1 else ""))
    if key:
        caption += "; numbered: " + ", ".join(f"{n} {name}" for n, name in key)
    return f'<div class="grid{" wide" if big else ""}">' + _figure(svg, caption, "predicted") + "</div>"


def _traces(store: Store, latest: dict[tuple, StoredRun]) -> str:
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
            svg = charts.lines(series, f"{title}: {_board(r)} {r.benchmark}", "seconds from the measurement "
                               "window's start", f"{title} ({unit})")
            figs.append(_figure(svg, f"run {r.id}, {when(r.created_unix_s)} UTC; negative time is the idle "
                                     "baseline before the timed loop", f"{kind}-{r.id}"))
    if not figs:
        return ('<p class="empty">no stored power or temperature trace (boards without sensors, or runs that '
                'kept none)</p>')
    return '<div class="grid">' + "".join(figs) + "</div>"


def build_report(store: Store, runs: Sequence[StoredRun], title: str, subtitle: str,
                 since: float | None = None) -> str:
    latest = _latest(runs)
    counts: dict[tuple, int] = {}
    for r in runs:
        counts[benchmark_id(r)] = counts.get(benchmark_id(r), 0) + 1
    verdicts = {r.id: store.verdict(r.id) for r in latest.values()}
    body = [f"<h1>{escape(title)}</h1>", f'<p class="sub">{escape(subtitle)}</p>']
    if not runs:
        body.append('<p class="empty">no stored runs match</p>')
    else:
        body += ['<h2 id="summary">Summary</h2>', _headline(latest), _summary(latest, verdicts, counts),
                 '<h2 id="regressions">Regressions and their evidence</h2>', _regressions(store, latest, verdicts),
                 '<h2 id="trend">Trends (benchmarks with a history)</h2>', _trends(store, latest, since),
                 '<h2 id="predicted">Measured vs predicted</h2>', _predicted(latest),
                 '<h2 id="power">Power and temperature</h2>', _traces(store, latest)]
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
