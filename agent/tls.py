"""TLS for the agent's port: a certificate and key, and optionally a CA that client certificates must chain to."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc


class TlsConfigError(ValueError):
    pass


@dataclass(frozen=True)
class TlsFiles:
    cert: str  # PEM certificate chain of the agent
    key: str  # PEM private key
    client_ca: str = ""  # PEM CA bundle: when set, every client must present a certificate it signed (mutual TLS)

    @property
    def mutual(self) -> bool:
        return bool(self.client_ca)


def _read_pem(path: str, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN " not in data:
        raise TlsConfigError(f"the {what} {path} is not PEM (no -----BEGIN line)")
    return data


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    cert = _read_pem(files.cert, "TLS certificate")
    key = _read_pem(files.key, "TLS private key")
    if b"PRIVATE KEY" not in key:
        raise TlsConfigError(f"the TLS private key {files.key} holds no PRIVATE KEY block")
    ca = _read_pem(files.client_ca, "client CA") if files.client_ca else None
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=ca is not None)
