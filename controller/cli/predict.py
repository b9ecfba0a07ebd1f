"""`controller predict MODEL... --device PROFILE`: what models should cost on a board, offline, no agent.

    controller predict zoo:mobilenet_v2 model.tflite --device rpi4
    controller predict model.onnx --device jetson-orin-nano --input-shape input=1x3x224x224 --per-op
    controller predict model.onnx --device my_board.json --json out.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..costmodel import CostModelError, list_profiles, parse_input_shapes
from ..output.prediction import json_document, render_text
from ..prediction.calibrated import kernel_models_for
from ..prediction.choose import load_device
from ..prediction.offline import (
    PredictOptions,
    calibrated_for_target,
    calibrated_for_this_machine,
    predict_models,
)
from ..zoo import ZOO_PREFIX
from . import options

_MODEL_SUFFIXES = (".onnx", ".tflite")


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser(
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
    # Kept as text: the cost model's parser also refuses one name given twice with other dims.
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS",
                   help="fix a dynamic input, e.g. input=1x3x224x224 (repeatable)")
    p.add_argument("--threads", type=options.positive_int, metavar="N",
                   help="CPU threads the runtime will use (default: all the profile's cores)")
    p.add_argument("--flops", action="store_true", help="print FLOPs (2×MACs) instead of MACs in the tables")
    options.add_connection_flags(p)
    p.set_defaults(run=run)


def _split_json_arg(args: argparse.Namespace) -> None:
    # `--json model.onnx` would swallow the model as the JSON file: a model-looking value is a model.
    value = args.json
    if value and value != "-" and (value.startswith(ZOO_PREFIX) or value.lower().endswith(_MODEL_SUFFIXES)):
        args.models = [value, *args.models]
        args.json = "-"


def _fail(message: str) -> int:
    sys.stderr.write(f"controller predict: error: {message}\n")
    return 2


def run(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    if args.list_devices:
        for prof in list_profiles():
            aliases = f" (also: {', '.join(prof.aliases)})" if prof.aliases else ""
            out.write(f"{prof.name}{aliases}\n  {prof.description}\n")
        return 0
    _split_json_arg(args)
    if not args.models:
        return _fail("give at least one MODEL (a .onnx/.tflite file or zoo:NAME)")
    device = args.device
    if not device and args.target:
        try:
            device = calibrated_for_target(args.target, options.credential_flags(args))
        except Exception as exc:  # unreachable agent, never calibrated: one clear line
            return _fail(str(exc))
    if not device:
        try:
            device = calibrated_for_this_machine()
        except CostModelError as exc:
            return _fail(str(exc))
        if device is None:
            names = ", ".join(p.name for p in list_profiles())
            return _fail(f"--device is required: this machine has no calibrated profile (run controller calibrate "
                         f"--target local), and built-in profiles are: {names}, or give a .json file")
    try:
        profile = load_device(device)
        opts = PredictOptions(args.models, profile, parse_input_shapes(args.input_shape), args.threads,
                              kernel_models_for(profile))
    except CostModelError as exc:
        return _fail(str(exc))
    if not args.device and not args.target:
        err.write(f"controller predict: using this machine's calibrated profile {profile.name} "
                  f"({profile.source}, {device.removeprefix('calibrated:')})\n")

    outcome = predict_models(opts)
    for failure in outcome.failures:
        # The readers name the file themselves: say it once.
        where = "" if failure["model"] in failure["error"] else f"{failure['model']}: "
        err.write(f"controller predict: error: {where}{failure['error']}\n")
    for name in outcome.unused_shapes:
        err.write(f"controller predict: warning: --input-shape {name}=... matched no model's inputs\n")
    to_stdout = args.json == "-"
    if outcome.predictions:
        # Like `bench`: with JSON on stdout the human table goes to stderr, so stdout stays parseable.
        table_stream = err if to_stdout else out
        table_stream.write(render_text(outcome.predictions, per_op=args.per_op, flops=args.flops,
                                       kernel=outcome.kernel) + "\n")
    if args.json:
        document = json_document(outcome.predictions, outcome.failures, opts.profile, opts.threads, outcome.kernel)
        text = json.dumps(document, indent=2) + "\n"
        if to_stdout:
            out.write(text)
        else:
            Path(args.json).write_text(text, encoding="utf-8")
    if outcome.failures:
        return 1 if outcome.predictions else 2  # as bench: 2 when nothing could be predicted at all
    return 0
