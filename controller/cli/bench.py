"""`controller bench`: run models on a board and print (and store) what they cost."""
from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from edgebench.agent import DEFAULT_PORT

from .. import pending
from ..bench import BenchOptions, run_bench
from ..errors import ControllerError
from ..output.bench import bench_csv, bench_json, bench_table, bench_trace_csv
from ..output.model_explorer import write_model_explorer
from ..output.per_op import measured_ops_report, per_op_report
from ..output.progress import ProgressBar
from ..pending import Journal
from ..records import RunRecord
from ..store import NewRun, open_store
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("bench", help="run models on a board and print what they cost",
                       description="Run models on a board through its agent and report latency and memory. "
                                   "benchmark_model's and onnxruntime_perf_test's spellings of the common flags "
                                   "are accepted too (--num_threads, --num_runs, --warmup_runs, --min_secs, "
                                   "--max_secs, --enable_op_profiling, -o).")
    p.add_argument("models", nargs="+", metavar="MODEL", help="a .onnx or .tflite file, or zoo:NAME")
    p.add_argument("--target", required=True,
                   help=f"[user@]host[:port] of an agent (default port {DEFAULT_PORT}), or 'local' to start one here")
    p.add_argument("--runtime", default="auto", choices=["auto", "onnxruntime", "tflite"],
                   help="auto: by file type")
    p.add_argument("--ep", default="", help="ORT execution provider (cpu, cuda, ...) or TFLite delegate "
                                             "(xnnpack, none, external)")
    p.add_argument("--ep-option", type=options.parse_key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the onnxruntime execution provider, e.g. device_id=0 (repeatable)")
    p.add_argument("--delegate-path", default="", help="TFLite external delegate .so on the board")
    p.add_argument("--delegate-option", type=options.parse_key_value, action="append", default=[],
                   metavar="KEY=VALUE", help="an option of the TFLite external delegate (repeatable)")
    p.add_argument("--threads", "--num_threads", type=options.parse_threads, default=[],
                   help="comma list, e.g. 1,2,4 (default: all cores)")
    p.add_argument("--inter-op-threads", type=options.positive_int, default=0, metavar="N",
                   help="onnxruntime: threads of the inter-op pool (more than 1 runs independent nodes in parallel)")
    p.add_argument("--graph-optimization-level", "-o", type=options.parse_optimization_level, default=None,
                   metavar="LEVEL", help="onnxruntime: disable, basic, extended, layout or all (default: all); "
                                         "onnxruntime_perf_test's 0, 1, 2, 3, 99 too")
    p.add_argument("--runs", "--num_runs", type=int, default=None, help="steady-state inferences (default 50)")
    p.add_argument("--duration", "--min_secs", type=float, default=0.0, help="run for at least S seconds")
    p.add_argument("--max-duration", "--max_secs", type=float, default=0.0, metavar="S",
                   help="stop the timed loop after S seconds, even before --runs (at least one run)")
    p.add_argument("--warmup", "--warmup_runs", type=int, default=5,
                   help="untimed inferences before measuring (default 5)")
    p.add_argument("--rate", type=float, default=0.0, metavar="HZ",
                   help="real time: frames arrive at HZ per second and each is inferred as it comes (--runs, "
                        "--duration count frames); reports deadline misses, jitter and energy per frame")
    p.add_argument("--deadline-ms", type=float, default=0.0, metavar="MS",
                   help="with --rate: a frame misses when it is done later than MS after it arrived "
                        "(default: one period)")
    p.add_argument("--input-shape", type=options.input_shape, action="append", default=[],
                   metavar="NAME=DIMS", help="fix a dynamic input, e.g. input=1x3x224x224 (repeatable)")
    p.add_argument("--input-file", type=options.parse_input_file, action="append", default=[],
                   metavar="NAME=FILE.npy", help="feed this array instead of random data (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input data")
    p.add_argument("--timeout", type=float, default=0.0, help="per-job timeout in seconds (default: the agent's)")
    p.add_argument("--profile-ops", action="store_true",
                   help="per-op timings (onnxruntime's profiler; TFLite: each distinct kernel measured alone)")
    p.add_argument("--enable_op_profiling", nargs="?", const="true", default=None, metavar="true|false",
                   help=argparse.SUPPRESS)  # benchmark_model's spelling of --profile-ops
    p.add_argument("--per-op", action="store_true",
                   help="profile ops and add measured-versus-predicted tables per op type and per node")
    p.add_argument("--model-explorer", metavar="FILE.json",
                   help="with --per-op: write measured, predicted and error per node as Model Explorer node data "
                        "(FILE.json: error %%, beside it FILE.measured.json and FILE.predicted.json)")
    p.add_argument("--device", metavar="PROFILE",
                   help="cost-model profile for the predicted columns: built-in name, .json file or "
                        "calibrated:<fingerprint> (default: the board's calibration, else a matched built-in)")
    p.add_argument("--json", metavar="FILE", help="write the runs as JSON to FILE ('-' for stdout)")
    p.add_argument("--csv", metavar="FILE", help="write one CSV row per run to FILE ('-' for stdout)")
    p.add_argument("--no-progress", action="store_true", help="no progress output on stderr")
    p.add_argument("--trace", metavar="FILE", help="write each run's power/temperature/frequency time series "
                                                    "(CSV, seconds from the measurement window's start)")
    sensors = p.add_argument_group("sensors (default: the agent's own settings)")
    sensors.add_argument("--sample-rate", type=float, default=0.0, metavar="HZ",
                         help="sampling rate of the board's power/temperature sensors")
    sensors.add_argument("--idle-baseline", type=float, default=None, metavar="S",
                         help="seconds of idle power measured before each job (0: none)")
    sensors.add_argument("--cooldown-to", type=options.parse_temperature, default=0.0, metavar="TEMP",
                         help="before each job, wait until the board is below TEMP, e.g. 50C (bounded by the agent)")
    sensors.add_argument("--cooldown-timeout", type=float, default=0.0, metavar="S",
                         help="give up waiting for --cooldown-to after S seconds")
    options.add_store_args(p)
    options.add_connection_flags(p)
    p.set_defaults(run=run)


def _profile_ops(args: argparse.Namespace) -> bool:
    """--profile-ops, --per-op, or benchmark_model's --enable_op_profiling[=true|false]."""
    word = args.enable_op_profiling
    if word is not None and word.lower() not in options.BOOL_WORDS:
        args.models.append(word)  # `--enable_op_profiling model.tflite`: the word is a model, not a value
        word = "true"
    return args.profile_ops or args.per_op or (word is not None and options.BOOL_WORDS[word.lower()])


def bench_options(args: argparse.Namespace) -> BenchOptions:
    if args.runs is not None and args.runs < 1:
        raise ControllerError("--runs must be at least 1")
    finite = (args.duration, args.timeout, args.max_duration, args.rate, args.deadline_ms, args.sample_rate,
              args.cooldown_timeout, args.idle_baseline or 0.0)
    if not all(0 <= v < float("inf") for v in finite) or args.warmup < 0:
        raise ControllerError("--duration, --timeout and --warmup must be finite and not negative (so must "
                              "--max-duration, --rate, --deadline-ms, --sample-rate, --idle-baseline and "
                              "--cooldown-timeout)")
    if args.deadline_ms and not args.rate:
        raise ControllerError("--deadline-ms needs --rate (the frame rate the deadline is for)")
    if args.model_explorer and not args.per_op:
        raise ControllerError("--model-explorer writes the per-node figures of --per-op: give --per-op too")
    profile_ops = _profile_ops(args)
    return BenchOptions(
        target=args.target, models=args.models, runtime=args.runtime, ep=args.ep, threads=args.threads,
        runs=args.runs if args.runs is not None else (0 if args.duration else 50), duration_s=args.duration,
        warmup=args.warmup, input_shapes=dict(args.input_shape), input_files=dict(args.input_file), seed=args.seed,
        timeout_s=args.timeout, delegate_path=args.delegate_path, profile_ops=profile_ops,
        credentials=options.credential_flags(args), device=args.device, keep_trace=bool(args.trace),
        cooldown_to_c=args.cooldown_to, cooldown_timeout_s=args.cooldown_timeout, sample_rate_hz=args.sample_rate,
        idle_baseline_s=args.idle_baseline, max_duration_s=args.max_duration,
        graph_optimization_level=args.graph_optimization_level or "", provider_options=dict(args.ep_option),
        delegate_options=dict(args.delegate_option), inter_op_threads=args.inter_op_threads, rate_hz=args.rate,
        deadline_ms=args.deadline_ms,
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
        with ProgressBar(total, enabled=not args.no_progress) as progress:
            records = run_bench(opts, progress, keep=None if args.no_store else keep, journal=journal.submitted)
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
    width = shutil.get_terminal_size().columns if table_stream.isatty() else None
    print(bench_table(records, width), file=table_stream)
    if args.per_op or opts.profile_ops:
        print("", file=table_stream)
        print(per_op_report(records) if args.per_op else measured_ops_report(records), file=table_stream)
    if args.model_explorer:
        for line in write_model_explorer(records, Path(args.model_explorer)):
            print(line, file=table_stream)
    if args.json:
        options.write_output(args.json, bench_json(records))
    if args.csv:
        options.write_output(args.csv, bench_csv(records, dict(args.label)))
    if args.trace:
        options.write_output(args.trace, bench_trace_csv(records))
        if not any((r.energy or {}).get("trace") for r in records):
            print(f"controller: note: {args.trace} has the header only: the board sampled no sensor time series "
                  f"({_why_no_trace(records)})", file=sys.stderr)
    if stored:
        print(stored, file=table_stream)
    if store_error:
        print(f"controller: error: the runs were not stored: {store_error}", file=sys.stderr)
        return 2
    return 0 if all(r.status == "ok" for r in records) else 1


def _why_no_trace(records: Sequence[RunRecord]) -> str:
    unavailable = {k: v for r in records for k, v in ((r.energy or {}).get("unavailable") or {}).items()}
    if unavailable:
        return "; ".join(f"{k}: {v}" for k, v in sorted(unavailable.items()))
    if all(r.energy is None for r in records):
        return "it has no power, temperature or frequency sensor the agent can read"
    return "no sensor delivered readings inside the measurement window"


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
