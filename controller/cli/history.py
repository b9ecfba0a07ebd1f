"""`controller history`: the stored runs, newest first, as a table or JSON."""
from __future__ import annotations

import argparse

from ..output.history import history_json, history_table
from ..store import open_store
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("history", help="list stored runs", description="Stored runs, newest first.")
    options.add_filter_args(p)
    p.add_argument("--json", metavar="FILE", help="write them as JSON to FILE ('-' for stdout)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with open_store(args.db, create=False) as store:
        runs = store.query(options.run_filter(args))
        if args.json:
            options.write_output(args.json, history_json(runs))
        else:
            print(history_table(runs) if runs else f"no stored runs match (store {store.url})")
    return 0
