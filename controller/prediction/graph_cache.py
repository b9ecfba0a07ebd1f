"""onnxruntime's optimized graphs as boards returned them, kept per board, model, runtime version and level.

A graph is a property of the model and the board's onnxruntime (not of the run): once a board returned it,
`bench` stops asking for it again, which spares the board a session per job.

    <cache dir>/optimized-graphs/<fingerprint>/<model sha256>-<onnxruntime version>-<level>.onnx
"""
from __future__ import annotations

import re
from pathlib import Path

from ..atomic_write import write_atomic
from ..paths import cache_dir


def _path(fingerprint: str, model_sha256: str, version: str, level: str) -> Path:
    safe = [re.sub(r"[^A-Za-z0-9._-]+", "_", v) for v in (fingerprint, model_sha256, version, level or "all")]
    return cache_dir() / "optimized-graphs" / safe[0] / f"{safe[1]}-{safe[2]}-{safe[3]}.onnx"


def cached_graph(fingerprint: str, model_sha256: str, version: str, level: str = "") -> bytes | None:
    if not (fingerprint and model_sha256 and version):
        return None
    path = _path(fingerprint, model_sha256, version, level)
    try:
        return path.read_bytes()
    except OSError:
        return None


def keep_graph(fingerprint: str, model_sha256: str, version: str, graph: bytes, level: str = "") -> None:
    if fingerprint and model_sha256 and version and graph:
        write_atomic(_path(fingerprint, model_sha256, version, level), graph)
