"""`controller regress`: run a suite on a fleet of boards, store every run, flag real regressions."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import ControllerError
from ..output.junit import write_junit
from ..output.regress import accepted_lines, result_json, summary
from ..output.report_html import write_session_report
from ..regress.accept import AcceptRequest, accept
from ..regress.baseline import BaselineSpec
from ..regress.config import load_fleet, load_suite
from ..regress.run import RegressOptions, run_regress
from ..store import open_store
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("regress", help="run a suite on a fleet of boards and flag real regressions",
                       description="Run every benchmark of the suite on every board of the fleet (boards in "
                                   "parallel, one job at a time per board), store the runs and compare each "
                                   "with its baseline on the raw samples. Exit status: 0 no regression and no "
                                   "error, 1 a regression or an error (an unreachable board is not a pass), "
                                   "2 nothing could run (bad files, store unusable, another regress running).")
    p.add_argument("--fleet", help="fleet TOML: [[targets]] name, address, labels (required)")
    p.add_argument("--suite", help="suite TOML: [[benchmarks]] model, runtime, ep, threads, runs/duration "
                                   "(required)")
    p.add_argument("--baseline", default="recent", type=BaselineSpec.parse,
                   help="recent[:N] (default: the 3 most recent good runs made by regress, or accepted), any[:N] "
                        "(bench runs too), label:KEY=VALUE[:N], session:ID; a baseline that cannot be used is "
                        "an error")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML for CI")
    p.add_argument("--html", metavar="FILE", help="write the HTML report of this session")
    p.add_argument("--json", metavar="FILE", help="write the cases as JSON ('-' for stdout)")
    options.add_db_arg(p)
    options.add_label_arg(p, "label every stored run (repeatable), e.g. git=$(git rev-parse --short HEAD)")
    p.add_argument("--parallel", type=int, default=4, help="boards measured at once (default 4)")
    p.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to reach a board (default 10)")
    p.add_argument("--rerun-throttled", type=int, default=1,
                   help="re-runs of a job whose board throttled or was contended (other processes took the "
                        "worker's CPU) before it is excluded (default 1)")
    p.add_argument("--rerun-wait", type=float, default=0.0, metavar="S",
                   help="seconds to wait before such a re-run (default 0)")
    p.add_argument("--confirm", type=int, default=1, metavar="N",
                   help="re-runs that must agree before a regression or improvement is reported (default 1; 0: "
                        "report the first attempt's verdict)")
    options.add_threshold_args(p)
    p.set_defaults(run=run)
    sub_accept = p.add_subparsers(dest="regress_command", metavar="{accept}")
    a = sub_accept.add_parser("accept", help="accept regressions as the new normal (with a stored reason)",
                              description="Accept flagged regressions: from the accepted run on, it is its "
                                          "benchmark's baseline. Until then a regression fails every night.")
    a.add_argument("--run", dest="run_ids", type=int, action="append", default=[], metavar="ID", help="a regression's run id "
                                                                                       "(repeatable)")
    a.add_argument("--session", type=int, metavar="ID", help="every regression of this regress session")
    a.add_argument("--benchmark", metavar="MODEL", help="the latest regression of this model (by name) on each "
                                                        "board")
    a.add_argument("--board", metavar="NAME", help="with --benchmark: only this board (its fleet name)")
    a.add_argument("--reason", required=True, help="why this is the new normal (stored beside the run)")
    options.add_db_arg(a)
    a.set_defaults(run=run_accept)


def regress_options(args: argparse.Namespace) -> RegressOptions:
    if not args.fleet or not args.suite:
        raise ControllerError("regress needs --fleet FILE and --suite FILE (or: controller regress accept ...)")
    if args.parallel < 1:
        raise ControllerError("--parallel must be at least 1")
    if not 0 <= args.rerun_wait < float("inf") or args.rerun_throttled < 0 or args.confirm < 0:
        raise ControllerError("--rerun-wait, --rerun-throttled and --confirm must be finite and not negative")
    fleet, suite = load_fleet(args.fleet), load_suite(args.suite)  # every file error before anything runs
    return RegressOptions(
        fleet=fleet, suite=suite, db=args.db, baseline=args.baseline, thresholds=options.thresholds(args),
        parallel=args.parallel, connect_timeout_s=args.connect_timeout, rerun_throttled=args.rerun_throttled,
        rerun_wait_s=args.rerun_wait, confirm=args.confirm,
        labels=dict(args.label),
        config={"fleet": str(Path(args.fleet).resolve()), "suite": str(Path(args.suite).resolve()),
                "baseline": args.baseline.describe(), "alpha": args.alpha, "min_effect": args.min_effect,
                "noise_floor_ms": args.noise_floor_ms, "labels": dict(args.label)},
        log=options.log_line,
    )


def run(args: argparse.Namespace) -> int:
    opts = regress_options(args)
    result = run_regress(opts)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(summary(result), file=out)
    if args.junit:
        write_junit(result, args.junit)
    if args.json:
        options.write_output(args.json, json.dumps(result_json(result), indent=2))
    if args.html:
        with open_store(opts.db) as store:
            write_session_report(store, result.session_id, Path(args.html))
    return result.exit_code


def run_accept(args: argparse.Namespace) -> int:
    if args.board and not args.benchmark:
        raise ControllerError("--board goes with --benchmark MODEL")
    req = AcceptRequest(args.reason, list(args.run_ids), args.session, args.benchmark, args.board)
    with open_store(args.db) as store:
        runs, accepted = accept(store, req)
        verdicts = {r.id: store.verdict(r.id) for r in runs}
    print(accepted_lines(runs, accepted, verdicts, args.reason))
    return 0
