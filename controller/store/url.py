"""Where the results store lives: `--db URL`, else `$EDGEBENCH_DB`, else SQLite in the user's data directory.

    sqlite:///abs/path/results.sqlite      (also a bare file path)
    postgresql://user:pass@host:5432/db    (also postgres://)
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ControllerError
from ..paths import data_dir

DB_ENV = "EDGEBENCH_DB"
DEFAULT_FILE = "results.sqlite"


class StoreError(ControllerError):
    """The store cannot be used as asked: unreachable, newer schema, locked, bad URL."""


@dataclass(frozen=True)
class StoreURL:
    kind: str  # "sqlite" or "postgresql"
    target: str  # the SQLite file path, or the libpq URL
    shown: str  # for messages: the password masked

    def __str__(self) -> str:
        return self.shown


def resolve_url(text: str | None = None) -> StoreURL:
    """The store named by `text` (a --db value), else by $EDGEBENCH_DB, else the default SQLite file."""
    text = (text or os.environ.get(DB_ENV) or "").strip()
    if not text:
        path = data_dir() / DEFAULT_FILE
        return StoreURL("sqlite", str(path), f"sqlite://{path}")
    if text.startswith(("postgresql://", "postgres://")):
        return StoreURL("postgresql", text, re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", text))
    if text.startswith("sqlite://"):
        path = text[len("sqlite://"):]
        if not path.startswith("/") or path == "/":
            raise StoreError(f"bad store URL {text!r}: use sqlite:///path/to/results.sqlite")
        return StoreURL("sqlite", path, text)
    if "://" in text:
        raise StoreError(f"unsupported store URL {text!r}: use sqlite:///PATH or postgresql://USER@HOST/DB")
    path = str(Path(text).expanduser().resolve())
    return StoreURL("sqlite", path, f"sqlite://{path}")
