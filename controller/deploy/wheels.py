"""The wheels a board needs: edgebench itself, built here, and for --offline every dependency of the agent,
downloaded for the board's machine, Python and C library (not this host's)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from edgebench.agent import __version__
from edgebench.agent.model_store import file_sha256

from ..errors import ControllerError
from .wheel_writer import write_wheel

AGENT_EXTRA = "agent"


class WheelError(ControllerError):
    pass


@dataclass(frozen=True)
class BoardPython:
    machine: str  # uname -m: aarch64, x86_64, armv7l
    version: str  # 3.11.2
    libc: str  # glibc-2.36, musl-..., unknown-0
    implementation: str = "cpython"

    @property
    def tag(self) -> str:
        major, minor = self.version.split(".")[:2]
        return f"cp{major}{minor}"

    @property
    def key(self) -> str:
        """The wheelhouse folder name: one per machine, Python minor version and C library."""
        return f"{self.tag}-{self.machine}-{self.libc}"


def project_root() -> Path | None:
    """The source checkout this controller runs from, or None when it was installed from a wheel."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "agent" / "__init__.py").is_file() else None


def _pip(args: list[str], what: str, timeout_s: float = 900) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise WheelError(f"{what}: pip did not finish within {timeout_s:g} s") from None
    return proc


def _pip_failure(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip() and "WARNING" not in ln]
    return " / ".join(lines[-3:]) if lines else f"exit status {proc.returncode}"


def build_wheel(out_dir: Path) -> Path:
    """A wheel of this project (pip wheel --no-deps), from a clean copy of the sources so that stale build
    folders never leak into it. Without a checkout, the released wheel of this version from the index."""
    out_dir.mkdir(parents=True, exist_ok=True)
    root = project_root()
    if root is None:
        proc = _pip(["download", "--no-deps", "--only-binary=:all:", "-d", str(out_dir), f"edgebench=={__version__}"],
                    "download the edgebench wheel")
        if proc.returncode != 0:
            raise WheelError(f"this controller was installed without its sources and cannot download edgebench "
                             f"{__version__}: {_pip_failure(proc)}")
    else:
        with tempfile.TemporaryDirectory(prefix="edgebench-wheel-") as tmp:
            src = Path(tmp) / "src"
            src.mkdir()
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
            for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "setup.cfg"):
                if (root / name).is_file():
                    shutil.copy2(root / name, src / name)
            for package in ("agent", "controller", "protos"):  # the folders setup.py maps onto edgebench.*
                shutil.copytree(root / package, src / package, ignore=ignore)
            if can_build_here():
                proc = _pip(["wheel", "--no-deps", "-q", "-w", str(out_dir), "--no-build-isolation", str(src)],
                            "build the edgebench wheel")
                if proc.returncode != 0:
                    raise WheelError(f"cannot build a wheel of {root}: {_pip_failure(proc)}")
            else:  # a stock venv's setuptools 65 (or none): no build backend needed, nor the package index
                try:
                    write_wheel(src, out_dir)
                except (OSError, KeyError, ValueError) as exc:
                    raise WheelError(f"cannot write a wheel of {root}: {exc}") from None
    wheels = sorted(out_dir.glob("edgebench-*.whl"))
    if not wheels:
        raise WheelError("pip made no edgebench wheel")
    return wheels[-1]


# pyproject.toml's SPDX `license = "..."` string needs setuptools 77 (which also builds wheels by itself).
SPDX_LICENSE_SETUPTOOLS = (77,)


def setuptools_version() -> tuple[int, ...] | None:
    """The setuptools of this environment (the one pip builds with under --no-build-isolation), or None."""
    try:
        text = metadata.version("setuptools")
    except metadata.PackageNotFoundError:
        return None
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def can_build_here() -> bool:
    """Whether pip can build the checkout with this environment's own setuptools, without the index."""
    version = setuptools_version()
    return version is not None and version >= SPDX_LICENSE_SETUPTOOLS


def platform_tags(board: BoardPython) -> list[str]:
    """The binary platforms the board can install, newest first (pip does not widen them by itself)."""
    machine = board.machine
    if machine in ("armv7l", "armv6l", "armv8l"):
        machine = "armv7l"
    libc, _, version = board.libc.partition("-")
    tags: list[str] = []
    if libc == "glibc":
        match = re.match(r"(\d+)\.(\d+)", version)
        major, minor = (int(match.group(1)), int(match.group(2))) if match else (2, 17)
        tags += [f"manylinux_{major}_{m}_{machine}" for m in range(minor, 4, -1)]
        tags += [f"manylinux2014_{machine}", f"manylinux2010_{machine}", f"manylinux1_{machine}"]
    elif libc == "musl":
        tags += [f"musllinux_1_{m}_{machine}" for m in (2, 1)]
    tags.append(f"linux_{machine}")
    return tags


def download_wheelhouse(board: BoardPython, edgebench_wheel: Path, cache_root: Path,
                        log=lambda line: None) -> list[Path]:
    """The wheels of edgebench[agent]'s dependencies for the board (not edgebench itself), cached per kind of
    board under cache_root: a later deploy to the same kind of board downloads nothing."""
    if board.implementation != "cpython":
        raise WheelError(f"--offline needs CPython on the board; it has {board.implementation}")
    house = cache_root / board.key
    house.mkdir(parents=True, exist_ok=True)
    major, minor = board.version.split(".")[:2]
    target = ["--only-binary=:all:", "--python-version", f"{major}.{minor}", "--implementation", "cp",
              "--abi", board.tag, "--abi", "abi3", "--abi", "none"]
    for tag in platform_tags(board):
        target += ["--platform", tag]
    requirement = f"{edgebench_wheel}[{AGENT_EXTRA}]"
    with tempfile.TemporaryDirectory(prefix="edgebench-wh-") as tmp:
        # From the cache alone first (no network); when something is missing, from the package index.
        proc = _pip(["download", "-q", "--no-index", "--find-links", str(house), *target, "-d", tmp, requirement],
                    "prepare the wheelhouse")
        if proc.returncode != 0:
            log(f"downloading the agent's wheels for {board.machine}, Python {major}.{minor} ({board.libc}) "
                f"into {house}")
            proc = _pip(["download", "-q", "--find-links", str(house), *target, "-d", tmp, requirement],
                        "download the wheelhouse")
            if proc.returncode != 0:
                raise WheelError(f"cannot download the agent's wheels for {board.machine} with Python "
                                 f"{major}.{minor} ({board.libc}): {_pip_failure(proc)}")
        needed = []
        for wheel in sorted(Path(tmp).glob("*.whl")):
            if wheel.name.startswith("edgebench-"):
                continue
            cached = house / wheel.name
            if not cached.exists():
                part = cached.with_name(cached.name + ".part")
                shutil.copyfile(wheel, part)
                os.replace(part, cached)
            needed.append(cached)
    return needed


def write_sha256sums(path: Path, wheels: list[Path]) -> dict[str, str]:
    """SHA256SUMS for the wheels (install-agent.sh checks it before installing); returns name -> digest."""
    digests = {w.name: file_sha256(w) for w in wheels}
    path.write_text("".join(f"{digest}  {name}\n" for name, digest in digests.items()))
    return digests


def total_mb(paths: list[Path]) -> float:
    return sum(os.path.getsize(p) for p in paths) / (1 << 20)
