"""`controller undeploy`: stop the agent on a board and remove it (and, unless told, forget the target)."""
from __future__ import annotations

import argparse

from ..deploy.deploy import undeploy
from . import options


def add_parser(sub: options.Subparsers) -> None:
    u = sub.add_parser("undeploy", help="stop the agent on a board and remove it",
                       description="Stop and remove the agent, its service and its token from the board, and "
                                   "forget the target here. The model cache and results stay unless --purge.")
    u.add_argument("--target", required=True, help="[user@]host[:port], as given to deploy")
    u.add_argument("--purge", action="store_true", help="also remove the agent's state directory on the board")
    u.add_argument("--keep-config", action="store_true", help="keep this host's target file")
    options.add_ssh_flags(u)
    u.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    removed = undeploy(args.target, options.ssh_options(args), purge=args.purge, keep_config=args.keep_config,
                       log=options.log_line)
    print(f"removed the agent from {args.target}" if removed else f"no agent was installed on {args.target}")
    return 0
