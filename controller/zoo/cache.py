"""Where zoo files live, and how they get there without anyone seeing half a file."""
from __future__ import annotations

import os
from pathlib import Path

from ..atomic_write import write_atomic as _write_atomic


def default_cache_dir() -> Path:
    """`$EDGEBENCH_CACHE_DIR/zoo`, else `~/.cache/edgebench/zoo`."""
    root = os.environ.get("EDGEBENCH_CACHE_DIR")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "edgebench"
    return base / "zoo"


def write_atomic(path: Path, data: bytes) -> None:
    """Built models are shared by every process that can read the cache dir; two processes racing write
    identical bytes, so whichever rename lands last is fine."""
    _write_atomic(path, data, mode=0o644)
