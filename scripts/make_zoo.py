#!/usr/bin/env python3
"""Write zoo models to a directory: `python scripts/make_zoo.py OUTDIR [NAMES...]` (default: all).

Prints one line per model: name, path, size in bytes, sha256.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

# Runnable from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edgebench.controller.zoo import build, get, list_models  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("names", nargs="*", help="zoo model names, with or without 'zoo:' (default: all)")
    args = parser.parse_args(argv)
    names = args.names or [e.name for e in list_models()]
    try:
        entries = [get(n) for n in names]  # reject typos before building anything
    except ValueError as e:
        parser.error(str(e))
    for entry in entries:
        path = build(entry.name, args.outdir / f"{entry.name}.{entry.format}")
        data = path.read_bytes()
        print(f"{entry.name}\t{path}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
