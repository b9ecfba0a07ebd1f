"""Known targets on this host: one small TOML file per agent, holding its token and TLS settings.

    ~/.config/edgebench/targets/10.0.0.5.toml          ($EDGEBENCH_CONFIG_DIR, else $XDG_CONFIG_HOME/edgebench)
    ~/.config/edgebench/targets/10.0.0.5/ca.crt ...    (TLS files `controller deploy --tls` made for it)

A file is keyed by the agent's host (and port, when not the default), not by the SSH user, so
`controller bench --target 10.0.0.5` finds what `controller deploy --target pi@10.0.0.5` stored. Files and
folders are private to the user (0600 / 0700) and replaced atomically.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from edgebench.agent import DEFAULT_PORT

from ..atomic_write import write_atomic
from ..errors import ControllerError
from ..paths import config_dir
from .target import Target, parse_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: tomli, required by the host extra there
    import tomli as tomllib


@dataclass(frozen=True)
class AgentCredentials:
    """How to talk to one agent: its token, and TLS when set (CA to trust, client certificate for mutual TLS)."""

    token: str = ""
    tls: bool = False  # TLS even without a CA file (the system's trusted roots then)
    tls_ca: str = ""  # PEM the agent's certificate must chain to (for a self-signed agent: the certificate)
    tls_cert: str = ""  # client certificate (mutual TLS)
    tls_key: str = ""
    tls_server_name: str = ""  # the name in the agent's certificate, when it is not the address dialled

    @property
    def uses_tls(self) -> bool:
        return self.tls or bool(self.tls_ca or self.tls_cert)

    def summary(self) -> str:
        parts = ["token" if self.token else "no token"]
        if self.uses_tls:
            parts.append("mutual TLS" if self.tls_cert else "TLS")
        return ", ".join(parts)


@dataclass
class TargetConfig:
    target: str  # as written when it was stored, e.g. pi@10.0.0.5
    host: str
    port: int = DEFAULT_PORT
    ssh: str = ""  # [user@]host for SSH (deploy, undeploy)
    token: str = ""
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_server_name: str = ""
    ssh_config: str = ""  # the -F file deploy used, reused by undeploy
    remote_prefix: str = ""  # where the agent lives on the board
    service: str = ""  # systemd-system, systemd-user or detached
    agent_version: str = ""
    deployed_unix_s: float = 0.0

    def credentials(self) -> AgentCredentials:
        return AgentCredentials(token=self.token, tls_ca=self.tls_ca, tls_cert=self.tls_cert, tls_key=self.tls_key,
                                tls_server_name=self.tls_server_name)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def targets_dir() -> Path:
    return config_dir() / "targets"


def target_key(host: str, port: int) -> str:
    """A file name for host[:port]: hostnames and IPv4 as they are, ':' of IPv6 as '_'."""
    key = host.lower().replace(":", "_")
    if not re.fullmatch(r"[a-z0-9._\-]+", key) or key.startswith("."):
        raise ControllerError(f"cannot store a target named {host!r}")
    return key if port == DEFAULT_PORT else f"{key}~{port}"


def config_path(target: Target) -> Path:
    return targets_dir() / f"{target_key(target.host, target.port)}.toml"


def files_dir(target: Target) -> Path:
    """A private folder for the target's TLS files."""
    return targets_dir() / target_key(target.host, target.port)


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, data: bytes | str) -> Path:
    """Write a 0600 file atomically (temp file in the same folder, then rename)."""
    private_dir(path.parent)
    write_atomic(path, data, mode=0o600)
    return path


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def dumps(cfg: TargetConfig) -> str:
    lines = ["# edgebench target: written by `controller deploy` / `controller targets add`. Keep it private:",
             "# the token lets anyone run code on the board.", ""]
    for key, value in asdict(cfg).items():
        if value in ("", 0, 0.0) and key not in ("target", "host", "port"):
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def loads(text: str, source: str) -> TargetConfig:
    try:
        data = tomllib.loads(text)
    except ValueError as exc:
        raise ControllerError(f"the target file {source} is not valid TOML: {exc}") from None
    known = {f.name for f in fields(TargetConfig)}
    try:
        return TargetConfig(**{k: v for k, v in data.items() if k in known})
    except TypeError as exc:
        raise ControllerError(f"the target file {source} is incomplete: {exc}") from None


def load(target: Target | str) -> TargetConfig | None:
    target = parse_target(target) if isinstance(target, str) else target
    if target.is_local:
        return None
    path = config_path(target)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ControllerError(f"cannot read the target file {path}: {exc.strerror or exc}") from None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        print(f"controller: warning: {path} is readable by other users (mode {mode:o}): it holds the agent's "
              "token; chmod 600 it", file=sys.stderr)
    return loads(text, str(path))


def save(cfg: TargetConfig) -> Path:
    return write_private(config_path(parse_target(cfg.target)), dumps(cfg))


def remove(target: Target) -> bool:
    """Forget a target: its file and its TLS folder."""
    path = config_path(target)
    existed = path.exists()
    path.unlink(missing_ok=True)
    shutil.rmtree(files_dir(target), ignore_errors=True)
    return existed


def all_targets() -> list[tuple[Path, TargetConfig | None, str]]:
    """Every stored target: (file, config or None, error when it cannot be read)."""
    out = []
    for path in sorted(targets_dir().glob("*.toml")) if targets_dir().is_dir() else []:
        try:
            out.append((path, loads(path.read_text(), str(path)), ""))
        except (OSError, ControllerError) as exc:
            out.append((path, None, str(exc)))
    return out


def ssh_destination(target: Target) -> str:
    """[user@]host as ssh takes it."""
    return f"{target.user}@{target.host}" if target.user else target.host


def new_config(target: Target, **values) -> TargetConfig:
    return TargetConfig(target=target.text, host=target.host, port=target.port, ssh=ssh_destination(target),
                        deployed_unix_s=time.time(), **values)


@dataclass(frozen=True)
class CredentialFlags:
    """--token-file and the TLS flags of bench, calibrate and predict: they win over the stored target file."""

    token_file: str | None = None
    tls: bool = False
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_server_name: str | None = None
    no_tls: bool = False


def credentials_for(target: Target, flags: CredentialFlags | None = None) -> AgentCredentials:
    """What to present to the agent at target: the command line's flags over the stored target file."""
    flags = flags or CredentialFlags()
    stored = load(target) if not target.is_local else None
    base = stored.credentials() if stored else AgentCredentials()
    values = asdict(base)
    if flags.token_file:
        try:
            values["token"] = Path(flags.token_file).read_text().strip()
        except OSError as exc:
            raise ControllerError(f"cannot read the token file {flags.token_file}: {exc.strerror or exc}") from None
    for key in ("tls", "tls_ca", "tls_cert", "tls_key", "tls_server_name"):
        if getattr(flags, key):
            values[key] = getattr(flags, key)
    if flags.no_tls:
        values.update(tls=False, tls_ca="", tls_cert="", tls_key="", tls_server_name="")
    creds = AgentCredentials(**values)
    if bool(creds.tls_cert) != bool(creds.tls_key):
        raise ControllerError("--tls-cert and --tls-key go together (the client certificate for mutual TLS)")
    return creds
