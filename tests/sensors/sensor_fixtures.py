"""Fixture boards: a copy of tests/fixtures/boards/<name> per test, with its fake commands wired in.

Every test gets its own copy so it can change files (a counter moving, a file vanishing) without touching
the checked-in tree. `temp.EAGAIN` markers become FIFOs with a writer held open and no data: the kernel
answers a read of those with EAGAIN, exactly the error an Orin thermal zone returns.
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from edgebench.agent.sensors import SensorConfig

BOARDS = Path(__file__).resolve().parent.parent / "fixtures" / "boards"
HERE = Path(__file__).resolve().parent


@dataclass
class Board:
    root: Path
    config: SensorConfig
    fifos: dict[str, int] = field(default_factory=dict)  # path relative to root -> writer fd

    def path(self, rel: str) -> Path:
        return self.root / rel.lstrip("/")

    def write(self, rel: str, text: str) -> None:
        """Change a file in place (same inode), as the kernel changes a sysfs value."""
        with open(self.path(rel), "r+") as f:
            f.write(text + "\n")
            f.truncate()

    def feed_fifo(self, rel: str, text: str) -> None:
        os.write(self.fifos[rel], (text + "\n").encode())


def make_board(name: str, dest: Path, **overrides: object) -> Board:
    root = dest / name
    shutil.copytree(BOARDS / name, root, symlinks=True)
    fifos = {}
    for marker in sorted(root.rglob("*.EAGAIN")):
        fifo = marker.with_suffix("")
        os.mkfifo(fifo)
        # O_RDWR never blocks on a FIFO and keeps a writer attached: readers get EAGAIN, not EOF.
        fifos[str(fifo.relative_to(root))] = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    vcgencmd = root / "bin" / "vcgencmd"
    tegrastats = root / "bin" / "tegrastats"
    settings: dict[str, object] = {
        "sysfs_root": str(root),
        # A board without the tool gets a path that does not exist: never whatever is on this machine's PATH.
        "vcgencmd": str(vcgencmd if vcgencmd.exists() else root / "bin" / "no-vcgencmd"),
        "tegrastats": str(tegrastats if tegrastats.exists() else root / "bin" / "no-tegrastats"),
        "tegrastats_interval_ms": 50,
        "command_timeout_s": 2.0,
        "stream_timeout_s": 1.0,
    }
    settings.update(overrides)
    return Board(root, SensorConfig(**settings), fifos)  # type: ignore[arg-type]


def run_writer(*args: str) -> list[str]:
    """argv for the fixture writer process (tests/sensors/writer.py)."""
    return [sys.executable, str(HERE / "writer.py"), *args]
