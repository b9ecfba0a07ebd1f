"""Where zoo files live, and how they get there without anyone seeing half a file."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def default_cache_dir() -> Path:
    """`$EDGEBENCH_CACHE_DIR/zoo`, else `~/.cache/edgebench/zoo`."""
    root = os.environ.get("EDGEBENCH_CACHE_DIR")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "edgebench"
    return base / "zoo"


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same directory, then rename over `path`.

    os.replace is atomic on one filesystem: a reader sees the old file, no file, or the whole new
    one. Two processes racing write identical bytes, so whichever rename lands last is fine.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a cache is for everyone who can read the dir
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
