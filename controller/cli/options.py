"""Options several commands share (argument types, store and filter flags, connection and SSH flags) and the
option records built from them. Commands import this module; it imports no command."""
from __future__ import annotations

import argparse
import difflib
import re
import sys
import time
from pathlib import Path
from typing import NoReturn

from ..costmodel import CostModelError, parse_input_shape
from ..deploy.ssh import SshOptions
from ..link.targets_config import CredentialFlags
from ..stats.verdict import Thresholds
from ..store import DB_ENV, RunFilter

Subparsers = argparse._SubParsersAction  # what add_parser(sub) of every command module takes
_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem, a "did you mean" for a misspelt word, and where the usage
    is, instead of the whole usage block (15 lines for bench) above the one line that matters."""

    def error(self, message: str) -> NoReturn:
        match = _INVALID_CHOICE.search(message)
        if match:
            word, choices = match.group(1), re.findall(r"'([^']*)'", match.group(2))
            close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
            message = message[:match.start()] + f"invalid choice {word!r}" + (
                f": did you mean {close[0]!r}?" if close else f" (choose from {', '.join(choices)})")
        elif message.startswith("unrecognized arguments: "):
            known = [s for a in self._actions for s in a.option_strings if s.startswith("--")]
            unknown = message.removeprefix("unrecognized arguments: ").split()
            guesses = [g for u in unknown if u.startswith("--")
                       for g in difflib.get_close_matches(u.split("=")[0], known, n=1, cutoff=0.7)]
            if guesses:
                message += f" (did you mean {', '.join(guesses)}?)"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

_LABEL_KEY = re.compile(r"^[A-Za-z0-9_.\-/]+$")


# -- argument types ------------------------------------------------------------------------------------------
def parse_threads(text: str) -> list[int]:
    try:
        values = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a comma-separated list of whole numbers such as 1,2,4, "
                                         f"got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"thread counts must be at least 1, got {text!r}")
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"a thread count is given twice in {text!r}")
    return values


BOOL_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# onnxruntime_perf_test's -o numbers beside the level names JobSpec.graph_optimization_level takes.
OPTIMIZATION_LEVELS = {"0": "disable", "1": "basic", "2": "extended", "3": "layout", "99": "all"}


def parse_optimization_level(text: str) -> str:
    word = text.strip().lower()
    level = OPTIMIZATION_LEVELS.get(word, word)
    if level not in OPTIMIZATION_LEVELS.values():
        raise argparse.ArgumentTypeError(f"use disable, basic, extended, layout or all (or 0, 1, 2, 3, 99), "
                                         f"got {text!r}")
    return level


def parse_key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_named(text: str, what: str) -> tuple[str, str]:
    # Split on the last '=': TFLite input names may contain ':' but not '='.
    name, sep, value = text.rpartition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"{what} must look like NAME=VALUE, got {text!r}")
    return name, value


def input_shape(text: str) -> tuple[str, list[int]]:
    """--input-shape NAME=1x3x224x224, read by the cost model's parser (predict takes the same spelling)."""
    try:
        return parse_input_shape(text)
    except CostModelError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_input_file(text: str) -> tuple[str, Path]:
    name, path = parse_named(text, "--input-file")
    return name, Path(path)


def parse_temperature(text: str) -> float:
    value = text.strip().upper().removesuffix("C").removesuffix("°").strip()
    try:
        celsius = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a temperature looks like 50C, got {text!r}") from None
    if not 0 < celsius < 150:
        raise argparse.ArgumentTypeError(f"a board temperature between 0C and 150C, got {text!r}")
    return celsius


def parse_label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not _LABEL_KEY.match(key):
        raise argparse.ArgumentTypeError(f"--label must look like KEY=VALUE (KEY of letters, digits, _.-/), "
                                         f"got {text!r}")
    return key, value


def parse_when(text: str) -> float:
    """An absolute UTC date/time (2026-01-31, 2026-01-31T02:00) or an age (90m, 12h, 7d) as unix seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", text.strip())
    if m:
        scale = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        return time.time() - float(m.group(1)) * scale
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return time.mktime(time.strptime(text.strip(), fmt)) - time.timezone
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"expected a UTC date like 2026-01-31[T02:00] or an age like 7d/12h, "
                                     f"got {text!r}")


# -- the results store ---------------------------------------------------------------------------------------
def add_db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL",
                   help=f"results store: sqlite:///PATH or postgresql://USER@HOST/DB (default: ${DB_ENV}, else "
                        "results.sqlite in $EDGEBENCH_DATA_DIR or the user's data directory)")


def add_label_arg(p: argparse.ArgumentParser, help_text: str | None = None) -> None:
    p.add_argument("--label", type=parse_label, action="append", default=[], metavar="KEY=VALUE", help=help_text)


def add_store_args(p: argparse.ArgumentParser) -> None:
    """For commands that measure: where to store the runs and what to label them with."""
    add_db_arg(p)
    add_label_arg(p, "label the stored runs, e.g. git=$(git rev-parse --short HEAD) (repeatable)")
    p.add_argument("--no-store", action="store_true", help="do not store the runs")


def add_filter_args(p: argparse.ArgumentParser, limit: int | None = 50) -> None:
    """For commands that read stored runs: which ones."""
    add_db_arg(p)
    p.add_argument("--model", help="model name or sha256 prefix")
    p.add_argument("--board", help="board fingerprint prefix or part of the board's model name")
    p.add_argument("--target", help="target as given to bench / in the fleet file")
    p.add_argument("--runtime", choices=["onnxruntime", "tflite"])
    p.add_argument("--ep", help="execution provider (CPU or CPUExecutionProvider, xnnpack, ...)")
    p.add_argument("--threads", type=int)
    p.add_argument("--status", choices=["ok", "failed", "timed_out", "cancelled", "interrupted"])
    p.add_argument("--verdict", choices=["regression", "improvement", "same", "new", "excluded", "error",
                                         "insufficient"])
    p.add_argument("--session", type=int, help="runs of one regress session")
    add_label_arg(p, "only runs with this label (repeatable: all must match)")
    p.add_argument("--since", type=parse_when, help="UTC date/time or age (7d, 12h)")
    p.add_argument("--until", type=parse_when, help="UTC date/time or age")
    p.add_argument("--limit", type=int, default=limit, help=f"at most N runs (default {limit or 'all'}; 0: all)")


def run_filter(args: argparse.Namespace) -> RunFilter:
    return RunFilter(model=args.model, board=args.board, target=args.target, runtime=args.runtime, ep=args.ep,
                     threads=args.threads, status=args.status, verdict=args.verdict, session_id=args.session,
                     labels=dict(args.label), since_unix_s=args.since, until_unix_s=args.until,
                     limit=args.limit or None)


def add_threshold_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alpha", type=float, default=0.002, help="Mann-Whitney U p-value below which a change is "
                                                              "significant (default 0.002, as asv)")
    p.add_argument("--min-effect", type=float, default=0.10,
                   help="smallest relative change of the median latency that counts (default 0.10 = 10%%)")
    p.add_argument("--noise-floor-ms", type=float, default=0.02,
                   help="smallest absolute change of the median that counts, in ms (default 0.02)")


def thresholds(args: argparse.Namespace) -> Thresholds:
    return Thresholds(alpha=args.alpha, min_effect=args.min_effect, noise_floor_ms=args.noise_floor_ms)


# -- reaching a board ----------------------------------------------------------------------------------------
def add_connection_flags(p: argparse.ArgumentParser) -> None:
    """--token-file and the TLS flags; they win over the target's stored file (credential_flags reads them)."""
    g = p.add_argument_group("authentication and TLS (default: what `controller deploy` stored for the target)")
    g.add_argument("--token-file", metavar="FILE", help="the agent's token (its PREFIX/agent.token)")
    g.add_argument("--tls", action="store_true", help="connect with TLS, trusting the system's CAs")
    g.add_argument("--tls-ca", metavar="PEM", help="connect with TLS, trusting this CA (or self-signed certificate)")
    g.add_argument("--tls-cert", metavar="PEM", help="client certificate, for an agent that wants mutual TLS")
    g.add_argument("--tls-key", metavar="PEM", help="key of --tls-cert")
    g.add_argument("--tls-server-name", metavar="NAME", help="the name in the agent's certificate, when it is "
                                                              "not the address dialled")
    g.add_argument("--no-tls", action="store_true", help="plaintext, even if the target's file says TLS")


def credential_flags(args: argparse.Namespace) -> CredentialFlags:
    return CredentialFlags(token_file=args.token_file, tls=args.tls, tls_ca=args.tls_ca, tls_cert=args.tls_cert,
                           tls_key=args.tls_key, tls_server_name=args.tls_server_name, no_tls=args.no_tls)


def add_ssh_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("SSH (the system's ssh: your ~/.ssh/config, keys and known_hosts apply)")
    g.add_argument("--ssh-config", metavar="FILE", help="ssh -F FILE: another ssh config file")
    g.add_argument("--ssh-option", metavar="OPTION", action="append", default=[],
                   help="ssh -o OPTION, e.g. Port=2222 (repeatable)")


def ssh_options(args: argparse.Namespace) -> SshOptions | None:
    if not args.ssh_config and not args.ssh_option:
        return None
    return SshOptions(config_file=args.ssh_config or "", options=list(args.ssh_option))


# -- output --------------------------------------------------------------------------------------------------
def log_line(line: str) -> None:
    """A progress line of a long command, on stderr (stdout stays for what the command reports)."""
    print(line, file=sys.stderr, flush=True)


def write_output(dest: str, text: str) -> None:
    """Write a document to a file, or to stdout for '-'."""
    if dest == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        Path(dest).write_text(text)
