"""`controller bench`: run models on a board and print (and store) what they cost."""
from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from edgebench.agent import DEFAULT_PORT

from .. import pending
from ..bench import BenchOptions, run_bench
from ..errors import ControllerError
from ..output.bench import bench_csv, bench_json, bench_table, bench_trace_csv
from ..output.per_op import per_op_report
from ..output.progress import ProgressBar
from ..pending import Journal
from ..records import RunRecord
from ..store import NewRun, open_store
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("bench", help="run models on a board and print what they cost",
                       description="Run models on a board through its agent and report latency and memory.")
    p.add_argument("models", nargs="+", metavar="MODEL", help="a .onnx or .tflite file, or zoo:NAME")
    p.add_argument("--target", required=True,
                   help=f"[user@]host[:port] of an agent (default port {DEFAULT_PORT}), or 'local' to start one here")
    p.add_argument("--runtime", default="auto", choices=["auto", "onnxruntime", "tflite"],
                   help="auto: by file type")
    p.add_argument("--ep", default="", help="ORT execution provider (cpu, cuda, ...) or TFLite delegate "
                                             "(xnnpack, none, external)")
    p.add_argument("--delegate-path", default="", help="TFLite external delegate .so on the board")
    p.add_argument("--threads", type=options.parse_threads, default=[],
                   help="comma list, e.g. 1,2,4 (default: all cores)")
    p.add_argument("--runs", type=int, default=None, help="steady-state inferences (default 50)")
    p.add_argument("--duration", type=float, default=0.0, help="run for at least S seconds")
    p.add_argument("--warmup", type=int, default=5, help="untimed inferences before measuring (default 5)")
    p.add_argument("--input-shape", type=options.input_shape, action="append", default=[],
                   metavar="NAME=DIMS", help="fix a dynamic input, e.g. input=1x3x224x224 (repeatable)")
    p.add_argument("--input-file", type=options.parse_input_file, action="append", default=[],
                   metavar="NAME=FILE.npy", help="feed this array instead of random data (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input data")
    p.add_argument("--timeout", type=float, default=0.0, help="per-job timeout in seconds (default: the agent's)")
    p.add_argument("--profile-ops", action="store_true", help="per-op timings (onnxruntime profiling)")
    p.add_argument("--per-op", action="store_true",
                   help="profile ops and add measured-versus-predicted tables per op type and per node")
    p.add_argument("--device", metavar="PROFILE",
                   help="cost-model profile for the predicted columns: built-in name, .json file or "
                        "calibrated:<fingerprint> (default: the board's calibration, else a matched built-in)")
    p.add_argument("--json", metavar="FILE", help="write the runs as JSON to FILE ('-' for stdout)")
    p.add_argument("--csv", metavar="FILE", help="write one CSV row per run to FILE ('-' for stdout)")
    p.add_argument("--no-progress", action="store_true", help="no progress output on stderr")
    p.add_argument("--trace", metavar="FILE", help="write each run's power/temperature/frequency time series "
                                                    "(CSV, seconds from the measurement window's start)")
    p.add_argument("--cooldown-to", type=options.parse_temperature, default=0.0, metavar="TEMP",
                   help="before each job, wait until the board is below TEMP, e.g. 50C (bounded by the agent)")
    options.add_store_args(p)
    options.add_connection_flags(p)
    p.set_defaults(run=run)


def bench_options(args: argparse.Namespace) -> BenchOptions:
    if args.runs is not None and args.runs < 1:
        raise ControllerError("--runs must be at least 1")
    if not 0 <= args.duration < float("inf") or not 0 <= args.timeout < float("inf") or args.warmup < 0:
        raise ControllerError("--duration, --timeout and --warmup must be finite and not negative")
    return BenchOptions(
        target=args.target, models=args.models, runtime=args.runtime, ep=args.ep, threads=args.threads,
        runs=args.runs if args.runs is not None else (0 if args.duration else 50), duration_s=args.duration,
        warmup=args.warmup, input_shapes=dict(args.input_shape), input_files=dict(args.input_file), seed=args.seed,
        timeout_s=args.timeout, delegate_path=args.delegate_path, profile_ops=args.profile_ops or args.per_op,
        credentials=options.credential_flags(args), device=args.device, keep_trace=bool(args.trace),
        cooldown_to_c=args.cooldown_to,
    )


def run(args: argparse.Namespace) -> int:
    opts = bench_options(args)
    if not args.no_store:
        # A store that cannot be used (unreachable, newer schema) stops the command before it measures;
        # opening also creates or migrates it.
        open_store(args.db).close()
    total = len(opts.models) * max(1, len(opts.threads))
    journal = Journal(opts.target, opts.device, opts.predict, opts.input_shapes, dict(args.label), args.db,
                      store=not args.no_store)
    outcome = {"stored": "", "error": ""}

    def keep(records: list[RunRecord]) -> bool:
        try:
            outcome["stored"] = store_runs(records, args.db, dict(args.label))
        except ControllerError as exc:  # measured but not stored: still print and write everything
            outcome["error"] = str(exc)
            return False
        return True

    try:
        records = run_bench(opts, ProgressBar(total, enabled=not args.no_progress),
                            keep=None if args.no_store else keep, journal=journal.submitted)
    except KeyboardInterrupt:
        print(interrupted_help(opts.target, journal.job_ids), file=sys.stderr)
        if opts.target == "local":
            _forget(journal.job_ids)
        return 130
    stored, store_error = outcome["stored"], outcome["error"]
    if store_error and opts.target != "local":
        kept = [r.job_id for r in records if r.job_id]
        store_error += f"; the results stay on the board: {watch_command(opts.target, kept)}"
    else:  # stored and collected (or not to be stored): nothing is left to re-attach to
        _forget(journal.job_ids)
    table_stream = sys.stderr if "-" in (args.json, args.csv) else sys.stdout
    print(bench_table(records), file=table_stream)
    if args.per_op:
        print(per_op_report(records), file=table_stream)
    if args.json:
        options.write_output(args.json, bench_json(records))
    if args.csv:
        options.write_output(args.csv, bench_csv(records))
    if args.trace:
        options.write_output(args.trace, bench_trace_csv(records))
    if stored:
        print(stored, file=table_stream)
    if store_error:
        print(f"controller: error: the runs were not stored: {store_error}", file=sys.stderr)
        return 2
    return 0 if all(r.status == "ok" for r in records) else 1


def store_runs(records: Sequence[RunRecord], db: str | None, labels: dict[str, str]) -> str:
    """Store the runs in one transaction, set their run_id, and return a line for the user."""
    if not records:
        return ""
    with open_store(db) as store:
        ids = store.add_runs([NewRun(r.to_json(), labels) for r in records])
    for record, run_id in zip(records, ids, strict=True):
        record.run_id = run_id
        if record.job_id:
            pending.mark_stored(record.job_id, run_id)
    span = f"{ids[0]}" if len(ids) == 1 else f"{ids[0]}-{ids[-1]}"
    return f"stored {len(ids)} run{'s' if len(ids) != 1 else ''} (id {span}) in {store.url}"


def _forget(job_ids: Sequence[str]) -> None:
    for job_id in job_ids:
        pending.remove(job_id)


def watch_command(target: str, job_ids: Sequence[str]) -> str:
    return shlex.join(["controller", "watch", "--target", target, *job_ids])


def interrupted_help(target: str, job_ids: Sequence[str]) -> str:
    """What Ctrl-C during bench leaves, and the one command that gets it back."""
    if not job_ids:
        return "controller: interrupted before any job was submitted: nothing runs on the board"
    if target == "local":
        return (f"controller: interrupted: the local agent stopped with this command, and its {len(job_ids)} "
                "job(s) with it")
    return (f"controller: interrupted: {len(job_ids)} job(s) keep running on the board, their results kept there "
            f"({', '.join(job_ids)}). Get them back, measured, predicted and stored as bench would have:\n"
            f"  {watch_command(target, job_ids)}")
