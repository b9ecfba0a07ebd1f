"""`controller targets` (known boards, with health, agent version, board and sensors) and the connection flags
that bench, calibrate and predict take (token, TLS) over what is stored per target."""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent import futures
from pathlib import Path

from . import targets_config
from .errors import ControllerError
from .target import parse_target

# ----------------------------------------------------------------------------- connection flags

def add_connection_flags(p: argparse.ArgumentParser) -> None:
    """--token-file and the TLS flags; they win over the target's stored file. Wraps the parser's func."""
    g = p.add_argument_group("authentication and TLS (default: what `controller deploy` stored for the target)")
    g.add_argument("--token-file", metavar="FILE", help="the agent's token (its PREFIX/agent.token)")
    g.add_argument("--tls", action="store_true", help="connect with TLS, trusting the system's CAs")
    g.add_argument("--tls-ca", metavar="PEM", help="connect with TLS, trusting this CA (or self-signed certificate)")
    g.add_argument("--tls-cert", metavar="PEM", help="client certificate, for an agent that wants mutual TLS")
    g.add_argument("--tls-key", metavar="PEM", help="key of --tls-cert")
    g.add_argument("--tls-server-name", metavar="NAME", help="the name in the agent's certificate, when it is "
                                                              "not the address dialled")
    g.add_argument("--no-tls", action="store_true", help="plaintext, even if the target's file says TLS")
    func = p.get_default("func")

    def with_connection_flags(args: argparse.Namespace) -> int:
        apply_connection_flags(args)
        return func(args)

    p.set_defaults(func=with_connection_flags)


def apply_connection_flags(args: argparse.Namespace) -> None:
    targets_config.set_overrides(
        token_file=getattr(args, "token_file", None), tls=getattr(args, "tls", False),
        tls_ca=getattr(args, "tls_ca", None), tls_cert=getattr(args, "tls_cert", None),
        tls_key=getattr(args, "tls_key", None), tls_server_name=getattr(args, "tls_server_name", None),
        no_tls=getattr(args, "no_tls", False))


# ----------------------------------------------------------------------------- controller targets

def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("targets", help="list known boards: health, agent version, board, sensors",
                       description="Boards this host knows (stored by `controller deploy` or `targets add`), each "
                                   "asked for its health and description. Files: "
                                   "$EDGEBENCH_CONFIG_DIR/targets, default ~/.config/edgebench/targets.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each agent (default 5)")
    p.set_defaults(func=cmd_targets_list)
    actions = p.add_subparsers(dest="targets_command")
    ls = actions.add_parser("list", help="the default: list known targets")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each agent (default 5)")
    ls.set_defaults(func=cmd_targets_list)

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
    from .deploy.cli import add_ssh_flags

    add_ssh_flags(add)
    add.set_defaults(func=cmd_targets_add)

    rm = actions.add_parser("remove", help="forget a target here (the board is not touched; see undeploy)")
    rm.add_argument("target", help="[user@]host[:port]")
    rm.set_defaults(func=cmd_targets_remove)


def probe_target(cfg: targets_config.TargetConfig, timeout_s: float) -> dict:
    """What one agent says about itself; errors become the `error` field, never an exception."""
    from .client import AgentAuthError, AgentClient, AgentTLSError
    from .errors import AgentVersionError

    row: dict = {"target": cfg.target, "address": cfg.address, "auth": cfg.credentials().summary(),
                 "health": "unreachable", "agent_version": None, "board": None, "machine": None,
                 "sensors": [], "deployed_version": cfg.agent_version or None, "service": cfg.service or None,
                 "error": None}
    try:
        with AgentClient(cfg.address, timeout_s, cfg.credentials()) as client:
            row["health"] = client.health_status(timeout_s)
            desc = client.describe(timeout_s=max(timeout_s, 20.0))
            row["agent_version"] = desc.agent_version
            row["board"] = desc.board_model or desc.hostname
            row["machine"] = desc.machine
            row["sensors"] = [s.name for s in desc.sensors if s.available]
    except ControllerError as exc:
        row["error"] = str(exc)
        if isinstance(exc, AgentTLSError):
            row["health"] = "TLS failed"
        elif isinstance(exc, AgentAuthError):
            row["health"] = f"{row['health']}, token refused"
        elif isinstance(exc, AgentVersionError):
            row["health"] = f"{row['health']}, needs upgrade"
    return row


def table(rows: list[dict]) -> str:
    headers = ["target", "address", "health", "agent", "board", "sensors", "auth"]
    cells = [[r["target"], r["address"], r["health"], r["agent_version"] or "-", r["board"] or "-",
              ", ".join(r["sensors"]) or "-", r["auth"]] for r in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *cells, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [headers, *cells]]
    for r in rows:
        if r["error"]:
            lines.append(f"{r['target']}: {r['error']}")
    return "\n".join(lines)


def cmd_targets_list(args: argparse.Namespace) -> int:
    known = targets_config.all_targets()
    configs = [cfg for _, cfg, _ in known if cfg is not None]
    broken = [(path, error) for path, cfg, error in known if cfg is None]
    with futures.ThreadPoolExecutor(max_workers=min(16, max(1, len(configs)))) as pool:
        rows = list(pool.map(lambda c: probe_target(c, args.timeout), configs))
    if args.json:
        print(json.dumps({"config_dir": str(targets_config.targets_dir()), "targets": rows,
                          "unreadable": [{"file": str(p), "error": e} for p, e in broken]}, indent=2))
    else:
        if not rows and not broken:
            print(f"no known targets in {targets_config.targets_dir()}: `controller deploy --target USER@HOST` "
                  "adds one, `controller targets add` one installed by hand")
        elif rows:
            print(table(rows))
        for path, error in broken:
            print(f"cannot read {path}: {error}", file=sys.stderr)
    return 0 if all(r["health"] == "SERVING" and not r["error"] for r in rows) and not broken else 1


def fetch_token(target_text: str, args: argparse.Namespace) -> str:
    from .deploy.cli import ssh_options
    from .deploy.ssh import Ssh

    dest = targets_config.ssh_destination(parse_target(target_text))
    folders = [args.remote_dir] if args.remote_dir else ["~/.local/share/edgebench", "/opt/edgebench"]
    script = ('for d in "$@"; do case "$d" in "~/"*) d="$HOME/${d#??}" ;; esac; '
              'if [ -r "$d/agent.token" ]; then cat "$d/agent.token"; exit 0; '
              'elif [ -f "$d/agent.token" ] && sudo -n true 2>/dev/null; then sudo -n cat "$d/agent.token"; exit 0; '
              'fi; done; exit 3')
    result = Ssh(dest, ssh_options(args)).run(["sh", "-c", script, "fetch-token", *folders], timeout_s=60)
    token = result.stdout.strip()
    if result.returncode != 0 or not token:
        raise ControllerError(f"no agent token on {dest} in {' or '.join(folders)} (is the agent installed there? "
                              "pass --remote-dir for another folder)")
    return token


def cmd_targets_add(args: argparse.Namespace) -> int:
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
        cfg.token = fetch_token(args.target, args)
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
    if row["error"]:
        print(f"but the agent does not answer as it should: {row['error']}", file=sys.stderr)
        return 1
    print(f"{cfg.address}: {row['health']}, edgebench-agent {row['agent_version']}, {row['board']}")
    return 0


def cmd_targets_remove(args: argparse.Namespace) -> int:
    target = parse_target(args.target)
    if targets_config.remove(target):
        print(f"forgot {args.target} ({targets_config.config_path(target)} removed)")
        return 0
    print(f"{args.target} was not known here", file=sys.stderr)
    return 1
