"""`controller export`: stored runs as JSON (full run objects, samples included) or CSV (one row per run)."""
from __future__ import annotations

import argparse
import sys

from ..output.export import export_csv, export_json
from ..store import open_store
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("export", help="export stored runs as JSON or CSV")
    options.add_filter_args(p, limit=None)
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.add_argument("--output", "-o", default="-", help="file to write (default stdout)")
    p.add_argument("--no-samples", action="store_true", help="JSON without the raw samples")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with open_store(args.db, create=False) as store:
        runs = store.query(options.run_filter(args))
        if args.format == "json":
            samples = None if args.no_samples else store.samples([r.id for r in runs])
            text = export_json([store.get(r.id) for r in runs], samples)
        else:
            text = export_csv([store.get(r.id) for r in runs])
    options.write_output(args.output, text)
    if args.output != "-":
        print(f"exported {len(runs)} runs to {args.output}", file=sys.stderr)
    return 0
