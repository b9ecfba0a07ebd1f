"""`controller report --html FILE`: one self-contained HTML page of the stored runs."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..output.report_html import write_report
from ..store import open_store
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("report", help="write a self-contained HTML report with charts",
                       description="One HTML page (nothing fetched from the network): latency distributions, "
                                   "measured vs predicted, power and temperature traces, trends with "
                                   "regressions marked.")
    options.add_filter_args(p, limit=2000)
    p.add_argument("--html", required=True, metavar="FILE", help="the page to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with open_store(args.db, create=False) as store:
        n = write_report(store, options.run_filter(args), Path(args.html))
    print(f"wrote {args.html} ({n} runs)", file=sys.stderr)
    return 0
