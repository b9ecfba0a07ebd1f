"""`controller targets`: the boards this host knows, with health, agent version, board and sensors; `targets
add` remembers an agent installed by hand, `targets remove` forgets one."""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent import futures
from dataclasses import asdict
from pathlib import Path

from ..deploy.token import fetch_token
from ..errors import ControllerError
from ..link import targets_config
from ..link.probe import probe_target
from ..link.target import parse_target
from ..output.targets import targets_table
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("targets", help="list known boards: health, agent version, board, sensors",
                       description="Boards this host knows (stored by `controller deploy` or `targets add`), each "
                                   "asked for its health and description. Files: "
                                   "$EDGEBENCH_CONFIG_DIR/targets, default ~/.config/edgebench/targets.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each agent (default 5)")
    p.set_defaults(run=run_list)
    actions = p.add_subparsers(dest="targets_command")
    ls = actions.add_parser("list", help="the default: list known targets")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each agent (default 5)")
    ls.set_defaults(run=run_list)

    add = actions.add_parser("add", help="remember an agent installed by hand (install-agent.sh, first boot)",
                             description="Store a target's token and TLS settings (0600), then check it answers.")
    add.add_argument("target", help="[user@]host[:port]")
    source = add.add_mutually_exclusive_group()
    source.add_argument("--token-file", metavar="FILE", help="a copy of the board's agent.token")
    source.add_argument("--fetch-token", action="store_true",
                        help="read the token over SSH from the board (PREFIX/agent.token)")
    add.add_argument("--remote-dir", metavar="DIR", default="",
                     help="the agent's install folder on the board, for --fetch-token "
                          "(default ~/.local/share/edgebench, then /opt/edgebench via sudo)")
    add.add_argument("--tls-ca", metavar="PEM", help="TLS: the CA (or certificate) the agent's certificate chains to")
    add.add_argument("--tls-cert", metavar="PEM", help="mutual TLS: this controller's client certificate")
    add.add_argument("--tls-key", metavar="PEM", help="key of --tls-cert")
    add.add_argument("--tls-server-name", metavar="NAME", help="the name in the agent's certificate")
    add.add_argument("--no-check", action="store_true", help="store without asking the agent")
    options.add_ssh_flags(add)
    add.set_defaults(run=run_add)

    rm = actions.add_parser("remove", help="forget a target here (the board is not touched; see undeploy)")
    rm.add_argument("target", help="[user@]host[:port]")
    rm.set_defaults(run=run_remove)


def run_list(args: argparse.Namespace) -> int:
    known = targets_config.all_targets()
    configs = [cfg for _, cfg, _ in known if cfg is not None]
    broken = [(path, error) for path, cfg, error in known if cfg is None]
    with futures.ThreadPoolExecutor(max_workers=min(16, max(1, len(configs)))) as pool:
        rows = list(pool.map(lambda c: probe_target(c, args.timeout), configs))
    if args.json:
        print(json.dumps({"config_dir": str(targets_config.targets_dir()), "targets": [asdict(r) for r in rows],
                          "unreadable": [{"file": str(p), "error": e} for p, e in broken]}, indent=2))
    else:
        if not rows and not broken:
            print(f"no known targets in {targets_config.targets_dir()}: `controller deploy --target USER@HOST` "
                  "adds one, `controller targets add` one installed by hand")
        elif rows:
            print(targets_table(rows))
        for path, error in broken:
            print(f"cannot read {path}: {error}", file=sys.stderr)
    return 0 if all(r.health == "SERVING" and not r.error for r in rows) and not broken else 1


def run_add(args: argparse.Namespace) -> int:
    target = parse_target(args.target)
    if target.is_local:
        raise ControllerError("`local` needs no target file")
    cfg = targets_config.load(target) or targets_config.new_config(target)
    if args.token_file:
        try:
            cfg.token = Path(args.token_file).read_text().strip()
        except OSError as exc:
            raise ControllerError(f"cannot read {args.token_file}: {exc.strerror or exc}") from None
    elif args.fetch_token:
        cfg.token = fetch_token(target, options.ssh_options(args), args.remote_dir)
    for key in ("tls_ca", "tls_cert", "tls_key", "tls_server_name"):
        value = getattr(args, key)
        if value:
            setattr(cfg, key, str(Path(value).resolve()) if key != "tls_server_name" else value)
    if args.ssh_config:
        cfg.ssh_config = str(Path(args.ssh_config).resolve())
    cfg.deployed_unix_s = cfg.deployed_unix_s or time.time()
    path = targets_config.save(cfg)
    print(f"stored {cfg.target} in {path} ({cfg.credentials().summary()})")
    if args.no_check:
        return 0
    row = probe_target(cfg, 10.0)
    if row.error:
        print(f"but the agent does not answer as it should: {row.error}", file=sys.stderr)
        return 1
    print(f"{cfg.address}: {row.health}, edgebench-agent {row.agent_version}, {row.board}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    target = parse_target(args.target)
    if targets_config.remove(target):
        print(f"forgot {args.target} ({targets_config.config_path(target)} removed)")
        return 0
    print(f"{args.target} was not known here", file=sys.stderr)
    return 1
