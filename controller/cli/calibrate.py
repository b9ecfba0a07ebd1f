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
                       description="Run the kernel suite (generated one-kernel models and random networks, for "
                                   "every runtime the board has, fp32 and int8) and GEMM, memory-traffic and "
                                   "dispatch microbenchmarks on a board, fit a cost model per kernel type, and "
                                   "store the board's profile (used by bench and predict afterwards). "
                                   "Measurements are kept per board, runtime version and thread count: calibrating "
                                   "again measures only what is missing.")
    p.add_argument("--target", required=True, help="[user@]host[:port] of an agent, or 'local'")
    p.add_argument("--quick", action="store_true",
                   help="a smaller suite (about a third of the kernels, no adaptive round): faster, coarser")
    p.add_argument("--threads", type=options.parse_threads, default=[],
                   help="thread counts to calibrate (default: 1 and all cores); other counts are interpolated")
    p.add_argument("--runtime", action="append", choices=["onnxruntime", "tflite"], default=[],
                   help="calibrate only this runtime (repeatable; default: every runtime the board has)")
    p.add_argument("--dtype", action="append", choices=["fp32", "int8", "fp16"], default=[],
                   help="calibrate only this dtype's kernels (repeatable; default: fp32, int8 and, for onnxruntime, "
                        "fp16)")
    p.add_argument("--kernels", type=options.positive_int, metavar="N",
                   help="one-kernel models sampled per runtime and dtype (default: 200; --quick: 60); more is "
                        "slower and fits better")
    p.add_argument("--replace", action="store_true",
                   help="let --quick replace the board's full calibration (refused without it)")
    p.add_argument("--remeasure", action="store_true",
                   help="measure every kernel again instead of keeping earlier calibrations' measurements")
    p.add_argument("--json", metavar="FILE", help="also write the stored profile to FILE ('-' for stdout)")
    options.add_connection_flags(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    opts = CalibrateOptions(args.target, quick=args.quick, threads=args.threads, runtimes=args.runtime,
                            dtypes=args.dtype or ["fp32", "int8", "fp16"], remeasure=args.remeasure,
                            kernels=args.kernels, replace_full=args.replace,
                            credentials=options.credential_flags(args))
    out = sys.stderr if args.json == "-" else sys.stdout
    result = calibrate(opts, log=lambda line: print(line, file=out))
    print(summary(result), file=out)
    if args.json:
        options.write_output(args.json, json.dumps(result.profile.to_dict(), indent=2))
    return 0
