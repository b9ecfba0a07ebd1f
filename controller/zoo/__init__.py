"""The built-in model zoo: reference architectures with seeded random weights, no download needed.

`zoo:NAME` anywhere a model path is accepted resolves to a file built on first use and cached.
ONNX models mirror torchvision's architectures layer for layer; TFLite models are written as
flatbuffers directly (ai-edge-litert provides the schema), so neither TensorFlow nor PyTorch is needed.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..atomic_write import write_atomic
from ..paths import cache_dir as edgebench_cache_dir
from .catalog import RECIPES, ZOO_VERSION, ZooEntry

__all__ = ["ZOO_PREFIX", "ZOO_VERSION", "ZooEntry", "build", "build_bytes", "cached_path", "get",
           "is_zoo_ref", "list_models", "resolve"]

ZOO_PREFIX = "zoo:"  # `zoo:NAME` wherever a model path is accepted (the one spelling of the prefix)


def list_models() -> list[ZooEntry]:
    return [r.entry for r in RECIPES.values()]


def get(name: str) -> ZooEntry:
    """The entry for `name` (with or without the `zoo:` prefix); ValueError naming the known ones."""
    return _recipe(name).entry


def is_zoo_ref(s: object) -> bool:
    return isinstance(s, str) and s.startswith(ZOO_PREFIX)


def build_bytes(name: str) -> bytes:
    """The model file's content. Deterministic: the same name always gives the same bytes."""
    return _recipe(name).make()


def build(name: str, path: str | os.PathLike[str]) -> Path:
    """Build `name` into `path` (atomically) and return the path. Built models are shared by every process that
    can read the cache dir; two processes racing write identical bytes, so whichever rename lands last is fine."""
    path = Path(path)
    write_atomic(path, build_bytes(name), mode=0o644)
    return path


def cached_path(name: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where `resolve` keeps `name`; the zoo version in the file name makes a new builder rebuild."""
    entry = get(name)
    directory = Path(cache_dir) if cache_dir is not None else edgebench_cache_dir() / "zoo"
    return directory / f"{entry.name}-v{ZOO_VERSION}.{entry.format}"


def resolve(ref: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the built file for `zoo:NAME`, building it into the cache on first use."""
    if not is_zoo_ref(ref):
        raise ValueError(f"not a zoo reference: {ref!r} (expected {ZOO_PREFIX}NAME)")
    path = cached_path(ref, cache_dir)
    if not path.is_file():
        build(ref, path)
    return path


def _recipe(name: str):
    bare = name[len(ZOO_PREFIX):] if name.startswith(ZOO_PREFIX) else name
    try:
        return RECIPES[bare]
    except KeyError:
        raise ValueError(f"unknown zoo model {bare!r}; known: {', '.join(RECIPES)}") from None
