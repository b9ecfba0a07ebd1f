"""The committed stubs must be what protoc makes of protos/ today."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_stubs_are_current():
    proc = subprocess.run([sys.executable, "scripts/gen_protos.py", "--check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "current" in proc.stdout


def test_stubs_import_without_grpc_tools():
    # A board installs without grpcio-tools: the stubs must stand alone.
    code = "import sys; sys.modules['grpc_tools'] = None; from edgebench.v1 import agent_pb2_grpc; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
