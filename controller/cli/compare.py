"""`controller compare RUN_A RUN_B`: two stored runs metric by metric, B against A."""
from __future__ import annotations

import argparse
import json
import sys

from ..compare import compare_runs
from ..output.compare import comparison_json, comparison_text
from ..store import open_store
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("compare", help="compare two stored runs metric by metric",
                       description="Compare two stored runs: latency with a Mann-Whitney U test on the raw "
                                   "samples, other figures as a plain change. B is compared against A.")
    p.add_argument("run_a", type=int, metavar="RUN_A")
    p.add_argument("run_b", type=int, metavar="RUN_B")
    options.add_db_arg(p)
    options.add_threshold_args(p)
    p.add_argument("--json", metavar="FILE", help="write the comparison as JSON to FILE ('-' for stdout)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with open_store(args.db, create=False) as store:
        c = compare_runs(store, args.run_a, args.run_b, options.thresholds(args))
    if args.json:
        options.write_output(args.json, json.dumps(comparison_json(c), indent=2))
    out = sys.stderr if args.json == "-" else sys.stdout
    print(comparison_text(c), file=out)
    return 0
