"""`controller deploy` and `controller undeploy` on the command line."""
from __future__ import annotations

import argparse
import sys

from edgebench.agent import DEFAULT_PORT

from .ssh import SshOptions


def add_ssh_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("SSH (the system's ssh: your ~/.ssh/config, keys and known_hosts apply)")
    g.add_argument("--ssh-config", metavar="FILE", help="ssh -F FILE: another ssh config file")
    g.add_argument("--ssh-option", metavar="OPTION", action="append", default=[],
                   help="ssh -o OPTION, e.g. Port=2222 (repeatable)")


def ssh_options(args: argparse.Namespace) -> SshOptions | None:
    if not args.ssh_config and not args.ssh_option:
        return None
    return SshOptions(config_file=args.ssh_config or "", options=list(args.ssh_option))


def add_parsers(sub: argparse._SubParsersAction) -> None:
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
    add_ssh_flags(p)
    p.set_defaults(func=cmd_deploy)

    u = sub.add_parser("undeploy", help="stop the agent on a board and remove it",
                       description="Stop and remove the agent, its service and its token from the board, and "
                                   "forget the target here. The model cache and results stay unless --purge.")
    u.add_argument("--target", required=True, help="[user@]host[:port], as given to deploy")
    u.add_argument("--purge", action="store_true", help="also remove the agent's state directory on the board")
    u.add_argument("--keep-config", action="store_true", help="keep this host's target file")
    add_ssh_flags(u)
    u.set_defaults(func=cmd_undeploy)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def describe_lines(desc) -> list[str]:
    memory = f"{desc.memory_total_bytes / (1 << 20):.0f} MB" if desc.memory_total_bytes else "? MB"
    lines = [f"board: {desc.board_model or '(no model name)'}; {desc.machine}, {desc.cpu_count} cores, {memory}, "
             f"governor {desc.cpu_governor or '?'}; {desc.os}; Python {desc.python_version}",
             f"agent: edgebench-agent {desc.agent_version} (API {desc.api_version}), fingerprint {desc.fingerprint[:12]}"]
    runtimes = [f"{r.name} {r.version} ({', '.join(r.execution_providers) or r.package})" if r.available
                else f"{r.name}: unavailable ({r.reason})" for r in desc.runtimes]
    lines.append("runtimes: " + ("; ".join(runtimes) or "none found"))
    sensors = [s.name for s in desc.sensors if s.available]
    lines.append("sensors: " + (", ".join(sensors) or "none"))
    return lines


def cmd_deploy(args: argparse.Namespace) -> int:
    from .deploy import DeployOptions, deploy

    opts = DeployOptions(
        target=args.target, offline=args.offline, system_site_packages=args.system_site_packages,
        upgrade=args.upgrade, ssh=ssh_options(args) or SshOptions(), python=args.python,
        remote_dir=args.remote_dir or "", state_dir=args.state_dir or "", listen_host=args.listen_host,
        wheelhouse=args.wheelhouse or "", tls=args.tls or args.mtls, mtls=args.mtls, agent_args=args.agent_args,
        wait_s=args.wait, min_free_mb=args.min_free_mb,
    )
    result = deploy(opts, log=_log)
    out = sys.stderr if args.json == "-" else sys.stdout
    verb = {"installed": "installed", "kept": "already installed, left as is"}.get(result.action, result.action)
    print(f"edgebench-agent {result.installed} on {result.target.text}: {verb}; service: {result.service}; "
          f"serving at {result.target.grpc_address}; token and settings in {result.config_path}", file=out)
    for line in describe_lines(result.description):
        print(f"  {line}", file=out)
    if args.json:
        from google.protobuf import json_format

        text = json_format.MessageToJson(result.description, preserving_proto_field_name=True)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    return 0


def cmd_undeploy(args: argparse.Namespace) -> int:
    from .deploy import undeploy

    removed = undeploy(args.target, ssh_options(args), purge=args.purge, keep_config=args.keep_config, log=_log)
    print(f"removed the agent from {args.target}" if removed else f"no agent was installed on {args.target}")
    return 0
