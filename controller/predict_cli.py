"""`controller predict MODEL... --device PROFILE`: what models should cost on a board, offline, no agent.

    controller predict zoo:mobilenet_v2 model.tflite --device rpi4
    controller predict model.onnx --device jetson-orin-nano --input-shape input=1x3x224x224 --per-op
    controller predict model.onnx --device my_board.json --json out.json

The lead wires this in with `add_parser(subparsers)` and dispatches to `run(args)`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from .calibration.choose import load_device
from .costmodel import (
    CONVENTIONS,
    CostModelError,
    Prediction,
    analyze_model,
    list_profiles,
    parse_input_shapes,
    predict_cost,
)
from .costmodel.reader import ZOO_PREFIX, input_names, resolve_model
from .costmodel.report import device_line, footnote, node_table, op_type_table, summary_table

_MODEL_SUFFIXES = (".onnx", ".tflite")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "predict",
        help="predict what models cost on a board (offline: FLOPs, memory traffic, roofline latency)",
        description="Count MACs, parameters, memory traffic and peak activation memory of ONNX/TFLite models "
                    "and predict latency, memory and energy on a device profile. Works offline, no agent.",
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="a .onnx or .tflite file, or zoo:NAME")
    p.add_argument("--device", metavar="PROFILE",
                   help="built-in profile (see --list-devices) or a profile .json file")
    p.add_argument("--target", metavar="T",
                   help="use the stored calibrated profile of this agent's board ([user@]host[:port] or local)")
    p.add_argument("--list-devices", action="store_true", help="list the built-in device profiles and exit")
    p.add_argument("--per-op", action="store_true", help="add a table per op type and per node")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE|-",
                   help="write JSON to FILE, or to stdout with '-' (the default when no FILE is given)")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS",
                   help="fix a dynamic input, e.g. input=1x3x224x224 (repeatable)")
    p.add_argument("--threads", type=_positive_int, metavar="N",
                   help="CPU threads the runtime will use (default: all the profile's cores)")
    p.add_argument("--flops", action="store_true", help="print FLOPs (2×MACs) instead of MACs in the tables")
    p.set_defaults(func=run)
    return p


def _split_json_arg(args: argparse.Namespace) -> None:
    # `--json model.onnx` would swallow the model as the JSON file: a model-looking value is a model.
    value = args.json
    if value and value != "-" and (value.startswith(ZOO_PREFIX) or value.lower().endswith(_MODEL_SUFFIXES)):
        args.models = [value, *args.models]
        args.json = "-"


def _list_devices(out: TextIO) -> None:
    for prof in list_profiles():
        aliases = f" (also: {', '.join(prof.aliases)})" if prof.aliases else ""
        out.write(f"{prof.name}{aliases}\n  {prof.description}\n")


def run(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    if getattr(args, "list_devices", False):
        _list_devices(out)
        return 0
    _split_json_arg(args)
    if not args.models:
        err.write("controller predict: error: give at least one MODEL (a .onnx/.tflite file or zoo:NAME)\n")
        return 2
    if not args.device and getattr(args, "target", None):
        try:
            args.device = _calibrated_for_target(args.target)
        except Exception as exc:  # unreachable agent, never calibrated: one clear line
            err.write(f"controller predict: error: {exc}\n")
            return 2
    if not args.device:
        names = ", ".join(p.name for p in list_profiles())
        err.write(f"controller predict: error: --device is required (built-in: {names}, or a .json file)\n")
        return 2
    try:
        profile = load_device(args.device)
        shapes = parse_input_shapes(args.input_shape)
    except CostModelError as exc:
        err.write(f"controller predict: error: {exc}\n")
        return 2

    predictions: list[Prediction] = []
    failures: list[dict[str, str]] = []
    used_names: set[str] = set()
    for ref in args.models:
        try:
            path = resolve_model(ref)
            model = analyze_model(ref, _shapes_for(path, shapes, strict=len(args.models) == 1))
            used_names.update(n for n in shapes if n in model.input_shapes)
            # Calibrated efficiencies were fitted on the graph onnxruntime runs (fusions modelled).
            predictions.append(predict_cost(model, profile, args.threads, fusion=profile.calibration is not None))
        except CostModelError as exc:
            err.write(f"controller predict: {ref}: {exc}\n")
            failures.append({"model": ref, "error": str(exc)})
        except Exception as exc:  # a bug in the cost model must not take the other models down with it
            message = f"internal error in the cost model ({type(exc).__name__}: {exc}); please report it"
            err.write(f"controller predict: {ref}: {message}\n")
            failures.append({"model": ref, "error": message})
    for name in sorted(set(shapes) - used_names):
        if len(args.models) > 1:
            err.write(f"controller predict: warning: --input-shape {name}=... matched no model's inputs\n")

    to_stdout = args.json == "-"
    if predictions:
        # Like `bench`: with JSON on stdout the human table goes to stderr, so stdout stays parseable.
        table_stream = err if to_stdout else out
        table_stream.write(render_text(predictions, per_op=args.per_op, flops=args.flops) + "\n")
    if args.json:
        document = json_document(predictions, failures, profile, args.threads)
        text = json.dumps(document, indent=2) + "\n"
        if to_stdout:
            out.write(text)
        else:
            Path(args.json).write_text(text, encoding="utf-8")
    return 1 if failures else 0


def _calibrated_for_target(target: str) -> str:
    from .bench import connect
    from .calibration.store import profile_path
    from .records import board_record
    from .target import parse_target

    with connect(parse_target(target)) as client:
        board = board_record(client.describe())
    path = profile_path(board["fingerprint"])
    if not path.is_file():
        raise CostModelError(f"board {board['model']!r} at {target} has no calibrated profile ({path}); "
                             f"run: controller calibrate --target {target}")
    return f"calibrated:{path}"


def _shapes_for(path: Path, shapes: dict[str, list[int]], strict: bool) -> dict[str, list[int]]:
    """With several models, each gets only the overrides that name one of its inputs."""
    if strict or not shapes:
        return shapes
    names = set(input_names(path))
    return {k: v for k, v in shapes.items() if k in names}


def render_text(predictions: list[Prediction], per_op: bool = False, flops: bool = False) -> str:
    parts = [device_line(predictions[0].profile, predictions[0].threads), "", summary_table(predictions, flops)]
    for p in predictions:
        for warning in p.warnings:
            parts.append(f"warning: {p.model.name}: {warning}")
    if per_op:
        for p in predictions:
            parts += ["", f"{p.model.name}: per op type", op_type_table(p, flops),
                      "", f"{p.model.name}: per node", node_table(p, flops)]
    parts += ["", footnote(flops)]
    return "\n".join(parts)


def json_document(
    predictions: list[Prediction], failures: list[dict[str, str]], profile: Any, threads: int | None
) -> dict[str, Any]:
    return {
        "schema": "edgebench.predict/1",
        "conventions": CONVENTIONS,
        "device": profile.to_dict(),
        "threads": predictions[0].threads if predictions else threads,
        "models": [p.to_dict() for p in predictions],
        "errors": failures,
    }


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (`python -m controller.predict_cli ...`) until the lead wires it into the CLI."""
    parser = argparse.ArgumentParser(prog="controller")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
