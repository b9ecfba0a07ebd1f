"""Targets as a user types them: `[user@]host[:port]`, `[user@][v6addr]:port`, or `local`."""
from __future__ import annotations

import re
from dataclasses import dataclass

from edgebench.agent import DEFAULT_PORT

_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-_]*[A-Za-z0-9])?$")


class TargetError(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    text: str  # as the user wrote it, for tables and JSON
    host: str  # "" for local
    port: int
    user: str = ""  # for SSH (deploy); gRPC does not use it

    @property
    def is_local(self) -> bool:
        return self.text == "local"

    @property
    def grpc_address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_target(text: str) -> Target:
    text = text.strip()
    if text == "local":
        return Target("local", "", 0)
    user, _, hostport = text.rpartition("@")
    if "@" in text and not user:
        raise TargetError(f"bad target {text!r}: empty user before '@'")
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        if not rest.startswith(":") and rest:
            raise TargetError(f"bad target {text!r}: expected [ADDRESS]:PORT")
        port_text = rest[1:]
    elif hostport.count(":") > 1:
        host, port_text = hostport, ""  # a bare IPv6 address
    else:
        host, _, port_text = hostport.partition(":")
    if not host or (":" not in host and not _HOSTNAME.match(host)):
        raise TargetError(f"bad target {text!r}: expected [user@]host[:port] or 'local'")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise TargetError(f"bad target {text!r}: port must be a number from 1 to 65535")
        port = int(port_text)
    else:
        port = DEFAULT_PORT
    return Target(text, host, port, user)
