"""`controller`: the host side of edgebench. One module per command, each with the same shape:
`add_parser(sub)` adds its arguments and sets `run`; `run(args)` builds the command's typed options record
and calls the core, then prints or writes what the core returned. Shared options live in `options`.

    controller bench --target pi@10.0.0.5 model.onnx
    controller bench --target local zoo:mobilenet_v2 --threads 1,2 --json -
"""
from __future__ import annotations

import argparse
import os
import sys

from edgebench.agent import __version__

from ..errors import ControllerError
from ..link.target import TargetError
from . import (
    bench,
    calibrate,
    compare,
    deploy,
    export,
    history,
    options,
    predict,
    regress,
    report,
    schedule,
    targets,
    undeploy,
    watch,
)

# In the order `controller --help` lists them.
COMMANDS = (bench, predict, calibrate, deploy, undeploy, targets, history, compare, export, report, regress,
            schedule, watch)


def build_parser() -> argparse.ArgumentParser:
    parser = options.Parser(prog="controller", description="edgebench host controller")
    parser.add_argument("--version", action="version", version=f"edgebench controller {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The arguments; one a command does not know is reported by that command's parser (its own name, its
    own options to suggest), not by the top-level one."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        commands.choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    try:
        return args.run(args)
    except (ControllerError, TargetError) as exc:
        print(f"controller: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("controller: interrupted (jobs already submitted keep running on the agent)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `controller history | head`: the reader has what it wanted
        _silence_stdout()
        return 141  # as a process killed by SIGPIPE, which is what a shell expects of a cut pipe


def _silence_stdout() -> None:
    # Python flushes stdout again at exit: point it at /dev/null so that flush cannot raise a second time.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
