"""`controller calibrate`: measure a board and store its cost-model profile."""
from __future__ import annotations

import argparse
import json
import sys

from ..calibration.run import CalibrateOptions, calibrate
from ..output.calibration import summary
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("calibrate", help="measure a board and store its cost-model profile",
                       description="Run GEMM, memory-traffic and dispatch microbenchmarks and the zoo's reference "
                                   "models on a board, fit per-op efficiencies, and store the board's profile "
                                   "(used by bench and predict --target afterwards).")
    p.add_argument("--target", required=True, help="[user@]host[:port] of an agent, or 'local'")
    p.add_argument("--quick", action="store_true", help="fewer sizes and 3 reference models (seconds, coarser)")
    p.add_argument("--threads", type=options.parse_threads, default=[], help="thread counts to measure GEMM at "
                                                                             "(default: all cores)")
    p.add_argument("--json", metavar="FILE", help="also write the stored profile to FILE ('-' for stdout)")
    options.add_connection_flags(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    opts = CalibrateOptions(args.target, quick=args.quick, threads=args.threads,
                            credentials=options.credential_flags(args))
    out = sys.stderr if args.json == "-" else sys.stdout
    result = calibrate(opts, log=lambda line: print(line, file=out))
    print(summary(result), file=out)
    if args.json:
        options.write_output(args.json, json.dumps(result.profile.to_dict(), indent=2))
    return 0
