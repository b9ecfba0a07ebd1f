"""`controller`: the host side of edgebench.

    controller bench --target pi@10.0.0.5 model.onnx
    controller bench --target local zoo:mobilenet_v2 --threads 1,2 --json -
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgebench.agent import DEFAULT_PORT, __version__

from . import store_cli
from .errors import ControllerError
from .progress import ProgressBar
from .target import TargetError


def parse_threads(text: str) -> list[int]:
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads takes a comma-separated list of numbers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"--threads values must be at least 1, got {text!r}")
    return values


def parse_named(text: str, what: str) -> tuple[str, str]:
    # Split on the last '=': TFLite input names may contain ':' but not '='.
    name, sep, value = text.rpartition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"{what} must look like NAME=VALUE, got {text!r}")
    return name, value


def parse_input_shape(text: str) -> tuple[str, list[int]]:
    name, dims = parse_named(text, "--input-shape")
    try:
        values = [int(d) for d in dims.lower().replace(",", "x").split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--input-shape dims must be numbers like 1x3x224x224, got {dims!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"--input-shape dims must be positive, got {dims!r}")
    return name, values


def parse_temperature(text: str) -> float:
    value = text.strip().upper().removesuffix("C").removesuffix("°").strip()
    try:
        celsius = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a temperature looks like 50C, got {text!r}") from None
    if not 0 < celsius < 150:
        raise argparse.ArgumentTypeError(f"a board temperature between 0C and 150C, got {text!r}")
    return celsius


def parse_input_file(text: str) -> tuple[str, Path]:
    name, path = parse_named(text, "--input-file")
    return name, Path(path)


def add_bench_parser(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument("--threads", type=parse_threads, default=[], help="comma list, e.g. 1,2,4 (default: all cores)")
    p.add_argument("--runs", type=int, default=None, help="steady-state inferences (default 50)")
    p.add_argument("--duration", type=float, default=0.0, help="run for at least S seconds")
    p.add_argument("--warmup", type=int, default=5, help="untimed inferences before measuring (default 5)")
    p.add_argument("--input-shape", type=parse_input_shape, action="append", default=[],
                   metavar="NAME=DIMS", help="fix a dynamic input, e.g. input=1x3x224x224 (repeatable)")
    p.add_argument("--input-file", type=parse_input_file, action="append", default=[],
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
    p.add_argument("--cooldown-to", type=parse_temperature, default=0.0, metavar="TEMP",
                   help="before each job, wait until the board is below TEMP, e.g. 50C (bounded by the agent)")
    store_cli.add_store_args(p)
    p.set_defaults(func=cmd_bench)


def _write(dest: str, text: str) -> None:
    if dest == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        Path(dest).write_text(text)


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import BenchOptions, run_bench
    from .report import bench_csv, bench_json, bench_table, bench_trace_csv

    if args.runs is not None and args.runs < 1:
        raise ControllerError("--runs must be at least 1")
    if args.duration < 0 or args.warmup < 0:
        raise ControllerError("--duration and --warmup must not be negative")
    runs = args.runs if args.runs is not None else (0 if args.duration else 50)
    opts = BenchOptions(
        target=args.target, models=args.models, runtime=args.runtime, ep=args.ep, threads=args.threads,
        runs=runs, duration_s=args.duration, warmup=args.warmup, input_shapes=dict(args.input_shape),
        input_files=dict(args.input_file), seed=args.seed, timeout_s=args.timeout, delegate_path=args.delegate_path,
        profile_ops=args.profile_ops or args.per_op, device=args.device, keep_trace=bool(args.trace),
        cooldown_to_c=args.cooldown_to,
    )
    total = len(args.models) * max(1, len(args.threads))
    store_cli.bench_store_check(args)
    records = run_bench(opts, ProgressBar(total, enabled=not args.no_progress))
    try:
        stored, store_error = store_cli.bench_store_save(records, args), ""
    except ControllerError as exc:  # measured but not stored: still print and write everything
        stored, store_error = "", str(exc)
    table_stream = sys.stderr if "-" in (args.json, args.csv) else sys.stdout
    print(bench_table(records), file=table_stream)
    if args.per_op:
        from .calibration.perop_report import per_op_report

        print(per_op_report(records), file=table_stream)
    if args.json:
        _write(args.json, bench_json(records))
    if args.csv:
        _write(args.csv, bench_csv(records))
    if args.trace:
        _write(args.trace, bench_trace_csv(records))
    if stored:
        print(stored, file=table_stream)
    if store_error:
        print(f"controller: error: the runs were not stored: {store_error}", file=sys.stderr)
        return 2
    return 0 if all(r.status == "ok" for r in records) else 1


def add_calibrate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="measure a board and store its cost-model profile",
                       description="Run GEMM, memory-traffic and dispatch microbenchmarks and the zoo's reference "
                                   "models on a board, fit per-op efficiencies, and store the board's profile "
                                   "(used by bench and predict --target afterwards).")
    p.add_argument("--target", required=True, help="[user@]host[:port] of an agent, or 'local'")
    p.add_argument("--quick", action="store_true", help="fewer sizes and 3 reference models (seconds, coarser)")
    p.add_argument("--threads", type=parse_threads, default=[], help="thread counts to measure GEMM at "
                                                                     "(default: all cores)")
    p.add_argument("--json", metavar="FILE", help="also write the stored profile to FILE ('-' for stdout)")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    import json

    from .calibration.run import CalibrateOptions, calibrate, summary

    out = sys.stderr if args.json == "-" else sys.stdout
    result = calibrate(CalibrateOptions(args.target, quick=args.quick, threads=args.threads),
                       log=lambda line: print(line, file=out))
    print(summary(result), file=out)
    if args.json:
        _write(args.json, json.dumps(result.profile.to_dict(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="controller", description="edgebench host controller")
    parser.add_argument("--version", action="version", version=f"edgebench controller {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_bench_parser(sub)
    from . import predict_cli

    predict_cli.add_parser(sub)
    add_calibrate_parser(sub)
    from . import targets_cli
    from .deploy import cli as deploy_cli

    deploy_cli.add_parsers(sub)
    targets_cli.add_parser(sub)
    for name in ("bench", "calibrate", "predict"):  # --token-file and the TLS flags, over the stored target file
        targets_cli.add_connection_flags(sub.choices[name])
    store_cli.add_parsers(sub)
    from . import watch_cli

    watch_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ControllerError, TargetError) as exc:
        print(f"controller: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("controller: interrupted (jobs already submitted keep running on the agent)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
