"""Board identity: what this machine is, read from /proc and /sys through a configurable root."""
from __future__ import annotations

import hashlib
import os
import platform
import socket
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass
class BoardIdentity:
    hostname: str
    board_model: str
    soc: str
    machine: str
    os: str
    kernel: str
    python_version: str
    cpu_count: int
    memory_total_bytes: int
    cpu_governor: str
    machine_id: str
    # What the fingerprint reads as the board's model: "unknown" where there is neither a device tree nor DMI,
    # so that naming such a board by its CPU (board_model) keeps the fingerprints calibrations are stored by.
    model_key: str = ""

    def fingerprint(self) -> str:
        """Same board, same fingerprint: what a regression compares like with like by."""
        key = "|".join([self.machine_id, self.model_key or self.board_model, self.soc, self.machine,
                        str(self.cpu_count),
                        str(self.memory_total_bytes // (64 << 20))])  # rounded: the kernel's reserve moves
        return hashlib.sha256(key.encode()).hexdigest()[:16]


def _read(root: Path, relative: str) -> str:
    try:
        return (root / relative).read_text(errors="replace").replace("\x00", "\n").strip()
    except OSError:
        return ""


def _cpuinfo_field(cpuinfo: str, *names: str) -> str:
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in names and value.strip():
            return value.strip()
    return ""


def _last_compatible(compatible: str) -> str:
    # NUL-separated, most specific first: "raspberrypi,5-model-b", "brcm,bcm2712" -> "bcm2712"
    entries = compatible.splitlines()
    return entries[-1].split(",")[-1] if entries else ""


def _os_name(root: Path) -> str:
    for line in _read(root, "etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


def read_identity(root: str = "/") -> BoardIdentity:
    base = Path(root)
    cpuinfo = _read(base, "proc/cpuinfo")
    board = _read(base, "proc/device-tree/model")
    if not board:
        vendor, product = _read(base, "sys/class/dmi/id/sys_vendor"), _read(base, "sys/class/dmi/id/product_name")
        board = " ".join(p for p in (vendor, product) if p)
    soc = (
        _cpuinfo_field(cpuinfo, "model name", "Model name")
        or _cpuinfo_field(cpuinfo, "Hardware")
        or _last_compatible(_read(base, "proc/device-tree/compatible"))
        or platform.processor()
        or "unknown"
    )
    cpu_count = os.cpu_count() or 0
    # No device tree and no DMI (a VM, a container): name the board by what is known of it, its CPU.
    model_key = "" if board else "unknown"
    board = board or (f"{soc}, {cpu_count} cores" if soc != "unknown" else "unknown")
    return BoardIdentity(
        hostname=socket.gethostname(),
        board_model=board,
        soc=soc,
        machine=platform.machine(),
        os=_os_name(base),
        kernel=platform.release(),
        python_version=platform.python_version(),
        cpu_count=cpu_count,
        memory_total_bytes=psutil.virtual_memory().total,
        cpu_governor=_read(base, "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        machine_id=_read(base, "etc/machine-id"),
        model_key=model_key,
    )
