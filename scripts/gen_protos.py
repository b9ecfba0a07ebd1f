#!/usr/bin/env python3
"""Generate the Python gRPC stubs beside the .proto files in protos/ (installed as `edgebench.v1`).

Run after editing a .proto:   python scripts/gen_protos.py
Check they are current (CI):  python scripts/gen_protos.py --check

The stubs are committed so a board installs without grpcio-tools. protoc's absolute imports
(`from edgebench.v1 import agent_pb2`) are right as they are: protos/edgebench/v1 is the package `edgebench.v1`,
which the agent and the controller both import.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT_DIR = PROTO_ROOT / "edgebench" / "v1"
PROTOS = ["edgebench/v1/agent.proto"]
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out_dir: Path) -> list[Path]:
    from grpc_tools import protoc  # only needed by developers, not on a board

    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{Path(protoc.__file__).parent / '_proto'}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *[str(PROTO_ROOT / p) for p in PROTOS],
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        written = []
        out_dir.mkdir(parents=True, exist_ok=True)
        for produced in sorted(Path(tmp).rglob("*")):
            if not produced.name.endswith(GENERATED_SUFFIXES):
                continue
            text = produced.read_text()
            target = out_dir / produced.name
            target.write_text(text)
            written.append(target)
        return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed stubs differ")
    args = parser.parse_args()
    if not args.check:
        for path in generate(OUT_DIR):
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        stale = []
        for fresh in generate(Path(tmp)):
            committed = OUT_DIR / fresh.name
            if not committed.exists() or committed.read_text() != fresh.read_text():
                stale.append(committed.relative_to(ROOT))
        if stale:
            print("stale generated stubs (run python scripts/gen_protos.py):", *stale, sep="\n  ")
            return 1
    print("generated stubs are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
