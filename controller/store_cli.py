"""CLI wiring for the results store: `--db`/`--label` on measuring commands, and the commands that read it
(history, compare, export, report) or run against it (regress, schedule, registered from their modules)."""
from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .records import RunRecord
from .store import DB_ENV, NewRun, RunFilter, open_store

_LABEL_KEY = re.compile(r"^[A-Za-z0-9_.\-/]+$")


def parse_label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not _LABEL_KEY.match(key):
        raise argparse.ArgumentTypeError(f"--label must look like KEY=VALUE (KEY of letters, digits, _.-/), "
                                         f"got {text!r}")
    return key, value


def parse_when(text: str) -> float:
    """An absolute UTC date/time (2026-01-31, 2026-01-31T02:00) or an age (90m, 12h, 7d) as unix seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", text.strip())
    if m:
        scale = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        return time.time() - float(m.group(1)) * scale
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return time.mktime(time.strptime(text.strip(), fmt)) - time.timezone
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"expected a UTC date like 2026-01-31[T02:00] or an age like 7d/12h, "
                                     f"got {text!r}")


def add_db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL",
                   help=f"results store: sqlite:///PATH or postgresql://USER@HOST/DB (default: ${DB_ENV}, else "
                        "results.sqlite in $EDGEBENCH_DATA_DIR or the user's data directory)")


def add_store_args(p: argparse.ArgumentParser) -> None:
    """For commands that measure: where to store the runs and what to label them with."""
    add_db_arg(p)
    p.add_argument("--label", type=parse_label, action="append", default=[], metavar="KEY=VALUE",
                   help="label the stored runs, e.g. git=$(git rev-parse --short HEAD) (repeatable)")
    p.add_argument("--no-store", action="store_true", help="do not store the runs")


def add_filter_args(p: argparse.ArgumentParser, limit: int | None = 50) -> None:
    add_db_arg(p)
    p.add_argument("--model", help="model name or sha256 prefix")
    p.add_argument("--board", help="board fingerprint prefix or part of the board's model name")
    p.add_argument("--target", help="target as given to bench / in the fleet file")
    p.add_argument("--runtime", choices=["onnxruntime", "tflite"])
    p.add_argument("--ep", help="execution provider (CPU or CPUExecutionProvider, xnnpack, ...)")
    p.add_argument("--threads", type=int)
    p.add_argument("--status", choices=["ok", "failed", "timed_out", "cancelled", "interrupted"])
    p.add_argument("--verdict", choices=["regression", "improvement", "same", "new", "excluded", "error",
                                         "insufficient"])
    p.add_argument("--session", type=int, help="runs of one regress session")
    p.add_argument("--label", type=parse_label, action="append", default=[], metavar="KEY=VALUE",
                   help="only runs with this label (repeatable: all must match)")
    p.add_argument("--since", type=parse_when, help="UTC date/time or age (7d, 12h)")
    p.add_argument("--until", type=parse_when, help="UTC date/time or age")
    p.add_argument("--limit", type=int, default=limit, help=f"at most N runs (default {limit or 'all'}; 0: all)")


def run_filter(args: argparse.Namespace) -> RunFilter:
    return RunFilter(model=args.model, board=args.board, target=args.target, runtime=args.runtime, ep=args.ep,
                     threads=args.threads, status=args.status, verdict=args.verdict, session_id=args.session,
                     labels=dict(args.label), since_unix_s=args.since, until_unix_s=args.until,
                     limit=args.limit or None)


def _write(dest: str, text: str) -> None:
    if dest == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        Path(dest).write_text(text)


# -- bench -------------------------------------------------------------------------------------------------
def bench_store_check(args: argparse.Namespace) -> None:
    """Before anything runs: a store that cannot be used (unreachable, newer schema) stops the command
    before it measures. Opening also creates or migrates it."""
    if not args.no_store:
        open_store(args.db).close()


def bench_store_save(records: Sequence[RunRecord], args: argparse.Namespace) -> str:
    """Store the runs in one transaction, set their run_id, and return a line for the user."""
    if args.no_store or not records:
        return ""
    with open_store(args.db) as store:
        ids = store.add_runs([NewRun(r.to_json(), dict(args.label)) for r in records])
    for record, run_id in zip(records, ids, strict=True):
        record.run_id = run_id
    span = f"{ids[0]}" if len(ids) == 1 else f"{ids[0]}-{ids[-1]}"
    return f"stored {len(ids)} run{'s' if len(ids) != 1 else ''} (id {span}) in {store.url}"


# -- history / compare / export ----------------------------------------------------------------------------
def cmd_history(args: argparse.Namespace) -> int:
    from .history import history_json, history_table

    with open_store(args.db) as store:
        runs = store.query(run_filter(args))
        if args.json:
            _write(args.json, history_json(runs))
        else:
            print(history_table(runs) if runs else f"no stored runs match (store {store.url})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    import json

    from .compare import compare_runs, comparison_json, comparison_text
    from .regress.verdict import Thresholds

    th = Thresholds(alpha=args.alpha, min_effect=args.min_effect, noise_floor_ms=args.noise_floor_ms)
    with open_store(args.db) as store:
        c = compare_runs(store, args.run_a, args.run_b, th)
    if args.json:
        _write(args.json, json.dumps(comparison_json(c), indent=2))
    out = sys.stderr if args.json == "-" else sys.stdout
    print(comparison_text(c), file=out)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_csv, export_json

    with open_store(args.db) as store:
        runs = store.query(run_filter(args))
        text = export_json(store, runs, samples=not args.no_samples) if args.format == "json" else export_csv(runs)
    _write(args.output, text)
    if args.output != "-":
        print(f"exported {len(runs)} runs to {args.output}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report_html import write_report

    with open_store(args.db) as store:
        n = write_report(store, run_filter(args), Path(args.html))
    print(f"wrote {args.html} ({n} runs)", file=sys.stderr)
    return 0


def add_threshold_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alpha", type=float, default=0.002, help="Mann-Whitney U p-value below which a change is "
                                                              "significant (default 0.002, as asv)")
    p.add_argument("--min-effect", type=float, default=0.10,
                   help="smallest relative change of the median latency that counts (default 0.10 = 10%%)")
    p.add_argument("--noise-floor-ms", type=float, default=0.02,
                   help="smallest absolute change of the median that counts, in ms (default 0.02)")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="list stored runs", description="Stored runs, newest first.")
    add_filter_args(p)
    p.add_argument("--json", metavar="FILE", help="write them as JSON to FILE ('-' for stdout)")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("compare", help="compare two stored runs metric by metric",
                       description="Compare two stored runs: latency with a Mann-Whitney U test on the raw "
                                   "samples, other figures as a plain change. B is compared against A.")
    p.add_argument("run_a", type=int, metavar="RUN_A")
    p.add_argument("run_b", type=int, metavar="RUN_B")
    add_db_arg(p)
    add_threshold_args(p)
    p.add_argument("--json", metavar="FILE", help="write the comparison as JSON to FILE ('-' for stdout)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("export", help="export stored runs as JSON or CSV")
    add_filter_args(p, limit=None)
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.add_argument("--output", "-o", default="-", help="file to write (default stdout)")
    p.add_argument("--no-samples", action="store_true", help="JSON without the raw samples")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="write a self-contained HTML report with charts",
                       description="One HTML page (nothing fetched from the network): latency distributions, "
                                   "measured vs predicted, power and temperature traces, trends with "
                                   "regressions marked.")
    add_filter_args(p, limit=2000)
    p.add_argument("--html", required=True, metavar="FILE", help="the page to write")
    p.set_defaults(func=cmd_report)

    from . import schedule
    from .regress import cli as regress_cli

    regress_cli.add_parser(sub)
    schedule.add_parser(sub)
