"""`controller deploy`: install the agent on a board over SSH, start it, and store its token here."""
from __future__ import annotations

import argparse
import sys

from edgebench.agent import DEFAULT_PORT

from ..deploy.deploy import DeployOptions, deploy
from ..deploy.ssh import SshOptions
from ..output.board import describe_lines
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser(
        "deploy", help="install the agent on a board over SSH and start it",
        description="Build a wheel of edgebench here, install it on the board into a fresh virtual environment, "
                    "run it as a systemd service (or, without systemd, as a detached process), wait until it "
                    "answers, and store its token (and TLS files) for this target. Running it again changes "
                    "nothing unless --upgrade.")
    p.add_argument("--target", required=True,
                   help=f"[user@]host[:port] (SSH user and host; the agent's port, default {DEFAULT_PORT})")
    p.add_argument("--offline", action="store_true",
                   help="the board needs no package index: this host downloads the wheels for the board's "
                        "machine and Python and copies them")
    p.add_argument("--wheelhouse", metavar="DIR",
                   help="where --offline keeps the wheels per kind of board (default ~/.cache/edgebench/wheelhouse)")
    p.add_argument("--system-site-packages", action="store_true",
                   help="let the agent see the board's system packages (a Jetson's onnxruntime-gpu)")
    p.add_argument("--upgrade", action="store_true", help="reinstall the agent even when one is installed")
    p.add_argument("--python", default="python3", help="the board's Python (default python3 on its PATH)")
    p.add_argument("--remote-dir", metavar="DIR", help="install folder on the board (default ~/.local/share/edgebench)")
    p.add_argument("--state-dir", metavar="DIR", help="the agent's model cache and results on the board "
                                                     "(default ~/.local/state/edgebench)")
    p.add_argument("--listen-host", default="0.0.0.0", help="address the agent binds on the board (default 0.0.0.0)")
    p.add_argument("--tls", action="store_true",
                   help="serve TLS with a certificate made here for this target (openssl); the controller pins it")
    p.add_argument("--mtls", action="store_true", help="mutual TLS: --tls, and the agent requires this "
                                                       "controller's client certificate")
    p.add_argument("--agent-args", default="", metavar="ARGS",
                   help='more edgebench-agent options, e.g. "--max-model-mb 256 --sample-rate 5"')
    p.add_argument("--wait", type=float, default=90.0, help="seconds to wait for the agent to serve (default 90)")
    p.add_argument("--min-free-mb", type=int, default=None,
                   help="free space to insist on in the install folder (default: estimated from the wheels)")
    p.add_argument("--json", metavar="FILE", help="write the agent's Describe as JSON to FILE ('-' for stdout)")
    options.add_ssh_flags(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    opts = DeployOptions(
        target=args.target, offline=args.offline, system_site_packages=args.system_site_packages,
        upgrade=args.upgrade, ssh=options.ssh_options(args) or SshOptions(), python=args.python,
        remote_dir=args.remote_dir or "", state_dir=args.state_dir or "", listen_host=args.listen_host,
        wheelhouse=args.wheelhouse or "", tls=args.tls or args.mtls, mtls=args.mtls, agent_args=args.agent_args,
        wait_s=args.wait, min_free_mb=args.min_free_mb,
    )
    result = deploy(opts, log=options.log_line)
    out = sys.stderr if args.json == "-" else sys.stdout
    verb = {"installed": "installed", "kept": "already installed, left as is"}.get(result.action, result.action)
    print(f"edgebench-agent {result.installed} on {result.target.text}: {verb}; service: {result.service}; "
          f"serving at {result.target.grpc_address}; token and settings in {result.config_path}", file=out)
    for line in describe_lines(result.description):
        print(f"  {line}", file=out)
    if args.json:
        if args.json == "-":
            print(result.description.as_json)
        else:
            with open(args.json, "w") as f:
                f.write(result.description.as_json + "\n")
    return 0
