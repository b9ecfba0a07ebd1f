"""`controller regress`: parser, options and the summary it prints."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import ControllerError
from ..report import render_table
from .baseline import BaselineSpec
from .config import load_fleet, load_suite
from .run import RegressOptions, RegressResult, run_regress
from .verdict import Thresholds


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..store_cli import add_db_arg, add_threshold_args, parse_label

    p = sub.add_parser("regress", help="run a suite on a fleet of boards and flag real regressions",
                       description="Run every benchmark of the suite on every board of the fleet (boards in "
                                   "parallel, one job at a time per board), store the runs and compare each "
                                   "with its baseline on the raw samples. Exit status: 0 no regression and no "
                                   "error, 1 a regression or an error (an unreachable board is not a pass), "
                                   "2 nothing could run (bad files, store unusable, another regress running).")
    p.add_argument("--fleet", required=True, help="fleet TOML: [[targets]] name, address, labels")
    p.add_argument("--suite", required=True, help="suite TOML: [[benchmarks]] model, runtime, ep, threads, "
                                                  "runs/duration")
    p.add_argument("--baseline", default="recent", type=BaselineSpec.parse,
                   help="recent[:N] (default: the 3 most recent good runs), label:KEY=VALUE[:N], session:ID")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML for CI")
    p.add_argument("--html", metavar="FILE", help="write the HTML report of this session")
    p.add_argument("--json", metavar="FILE", help="write the cases as JSON ('-' for stdout)")
    add_db_arg(p)
    p.add_argument("--label", type=parse_label, action="append", default=[], metavar="KEY=VALUE",
                   help="label every stored run (repeatable), e.g. git=$(git rev-parse --short HEAD)")
    p.add_argument("--parallel", type=int, default=4, help="boards measured at once (default 4)")
    p.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to reach a board (default 10)")
    p.add_argument("--rerun-throttled", type=int, default=1,
                   help="re-runs of a job whose board throttled before it is excluded (default 1)")
    add_threshold_args(p)
    p.set_defaults(func=cmd_regress)


def cmd_regress(args: argparse.Namespace) -> int:
    if args.parallel < 1:
        raise ControllerError("--parallel must be at least 1")
    fleet, suite = load_fleet(args.fleet), load_suite(args.suite)  # every file error before anything runs
    opts = RegressOptions(
        fleet=fleet, suite=suite, db=args.db, baseline=args.baseline,
        thresholds=Thresholds(alpha=args.alpha, min_effect=args.min_effect, noise_floor_ms=args.noise_floor_ms),
        parallel=args.parallel, connect_timeout_s=args.connect_timeout, rerun_throttled=args.rerun_throttled,
        labels=dict(args.label),
        config={"fleet": str(Path(args.fleet).resolve()), "suite": str(Path(args.suite).resolve()),
                "baseline": args.baseline.describe(), "alpha": args.alpha, "min_effect": args.min_effect,
                "noise_floor_ms": args.noise_floor_ms, "labels": dict(args.label)},
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    result = run_regress(opts)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(summary(result), file=out)
    if args.junit:
        from .junit import write_junit

        write_junit(result, args.junit)
    if args.json:
        text = json.dumps(result_json(result), indent=2)
        sys.stdout.write(text + "\n") if args.json == "-" else Path(args.json).write_text(text)
    if args.html:
        from ..report_html import write_session_report

        write_session_report(result.store_url, result.session_id, Path(args.html))
    return result.exit_code


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.1%}"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def summary(result: RegressResult) -> str:
    rows = [[c.target.name, c.job.name, c.verdict.upper() if c.outcome != "pass" else c.verdict, _ms(c.median_ms),
             _ms(c.baseline_median_ms), _pct(c.change), "-" if c.p_value is None else f"{c.p_value:.2g}",
             "-" if c.run_id is None else str(c.run_id)] for c in result.cases]
    table = render_table(["board", "benchmark", "verdict", "median ms", "baseline ms", "change", "p", "run"], rows)
    lines = [f"regress session {result.session_id} ({result.store_url}):", table]
    for c in result.cases:
        if c.outcome != "pass":
            lines.append(f"! {c.target.name} {c.job.name}: {c.message}")
    lines.append(f"{result.count('failure')} regressions, {result.count('error')} errors, "
                 f"{result.count('skipped')} excluded, {result.count('pass')} passed")
    return "\n".join(lines)


def result_json(result: RegressResult) -> dict:
    return {"schema": "edgebench.regress/1", "session": result.session_id, "store": result.store_url,
            "exit_code": result.exit_code,
            "cases": [{"board": c.target.name, "address": c.target.address, "benchmark": c.job.name,
                       "model": c.job.model, "runtime": c.job.runtime, "ep": c.job.ep, "threads": c.job.threads,
                       "verdict": c.verdict, "outcome": c.outcome, "message": c.message, "run_id": c.run_id,
                       "attempts": c.attempts, "median_ms": c.median_ms, "baseline_median_ms": c.baseline_median_ms,
                       "change": c.change, "p_value": c.p_value, "baseline_ids": c.baseline_ids}
                      for c in result.cases]}
