"""Certificates for `controller deploy --tls` / `--mtls`, made with the `openssl` command on this host.

Per target, in its private folder next to the target file:
    ca.key, ca.crt          a CA of its own, the only one the controller trusts for this agent
    agent.key, agent.crt    the agent's certificate (signed by ca.crt, naming the board's address), copied there
    client-ca.key/.crt      (--mtls) the CA the agent requires client certificates to chain to
    client.key, client.crt  (--mtls) this controller's client certificate
Existing files are reused, so a second deploy changes nothing.
"""
from __future__ import annotations

import ipaddress
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ControllerError
from ..link.targets_config import private_dir

DAYS = 3650


class CertError(ControllerError):
    pass


@dataclass(frozen=True)
class TargetCerts:
    ca_crt: Path
    agent_crt: Path
    agent_key: Path
    client_ca_crt: Path | None = None
    client_crt: Path | None = None
    client_key: Path | None = None


def _openssl(args: list[str], what: str) -> None:
    try:
        proc = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise CertError("--tls needs the `openssl` command on this host (apt install openssl)") from None
    if proc.returncode != 0:
        raise CertError(f"openssl could not {what}: {proc.stderr.strip().splitlines()[-1:]}")


def subject_alt_name(host: str) -> str:
    try:
        ipaddress.ip_address(host)
        return f"IP:{host}"
    except ValueError:
        return f"DNS:{host}"


def make_ca(folder: Path, name: str, common_name: str) -> tuple[Path, Path]:
    key, crt = folder / f"{name}.key", folder / f"{name}.crt"
    if not (key.exists() and crt.exists()):
        _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", str(key), "-out", str(crt), "-days", str(DAYS), "-subj", f"/CN={common_name}",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"], f"make the CA {crt}")
    key.chmod(0o600)
    return key, crt


def make_leaf(folder: Path, name: str, ca: tuple[Path, Path], common_name: str, usage: str,
              san: str = "") -> tuple[Path, Path]:
    """A certificate signed by ca; usage is serverAuth or clientAuth."""
    key, crt = folder / f"{name}.key", folder / f"{name}.crt"
    if key.exists() and crt.exists():
        return key, crt
    with tempfile.TemporaryDirectory() as tmp:
        csr = Path(tmp) / "req.csr"
        ext = Path(tmp) / "ext.cnf"
        lines = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
                 f"extendedKeyUsage={usage}"]
        if san:
            lines.append(f"subjectAltName={san}")
        ext.write_text("\n".join(lines) + "\n")
        _openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={common_name}"], f"make the key {key}")
        _openssl(["x509", "-req", "-in", str(csr), "-CA", str(ca[1]), "-CAkey", str(ca[0]), "-set_serial",
                  str(int.from_bytes(os.urandom(8), "big")), "-out", str(crt), "-days", str(DAYS),
                  "-extfile", str(ext)], f"sign {crt}")
    key.chmod(0o600)
    return key, crt


def ensure_target_certs(folder: Path, host: str, mutual: bool) -> TargetCerts:
    private_dir(folder)
    ca = make_ca(folder, "ca", f"edgebench CA for {host}")
    agent_key, agent_crt = make_leaf(folder, "agent", ca, "edgebench-agent", "serverAuth",
                                     f"{subject_alt_name(host)},DNS:edgebench-agent")
    if not mutual:
        return TargetCerts(ca[1], agent_crt, agent_key)
    client_ca = make_ca(folder, "client-ca", f"edgebench client CA for {host}")
    client_key, client_crt = make_leaf(folder, "client", client_ca, "edgebench-controller", "clientAuth")
    return TargetCerts(ca[1], agent_crt, agent_key, client_ca[1], client_crt, client_key)
