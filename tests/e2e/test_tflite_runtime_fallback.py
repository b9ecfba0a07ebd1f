"""The agent on a board that only has tflite-runtime 2.14 (NumPy < 2): a real second environment.

It uses Python 3.10 when this machine has it (JetPack 6's system Python), so the agent's code is proven on the
oldest Python it supports as well.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgebench.controller.link.client import AgentClient
from edgebench.controller.link.local_agent import start_local_agent
from tests.conftest import ROOT, bench_json

VENV = ROOT / ".venv-tflite-runtime"
PACKAGES = ["numpy<2", "tflite-runtime==2.14.0", "grpcio", "grpcio-health-checking", "protobuf>=7.35.1,<8",
            "psutil"]


def _python310() -> str | None:
    # pyenv's shim only answers when 3.10 is selected, so look for the interpreter itself first.
    for candidate in sorted(Path.home().glob(".pyenv/versions/3.10*/bin/python3.10")):
        return str(candidate)
    found = shutil.which("python3.10")
    if found and subprocess.run([found, "-c", "pass"], capture_output=True, timeout=60).returncode == 0:
        return found
    return None


@pytest.fixture(scope="module")
def legacy_python() -> str:
    prepared = os.environ.get("EDGEBENCH_TFLITE_RUNTIME_PYTHON")
    if prepared:
        # Made with exactly PACKAGES by scripts/test-aarch64.sh inside the arm64 rootfs, by this machine's pip
        # (pip itself run emulated would take minutes). Checked below like the one made here.
        return _without_litert(prepared)
    python = VENV / "bin" / "python"
    if not python.exists():
        base = _python310() or sys.executable
        subprocess.run([base, "-m", "venv", str(VENV)], check=True, timeout=120)
    # Only the agent's needs, as on a board: no LiteRT, no onnx; the project itself without its extras.
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PACKAGES], check=True, timeout=600)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(ROOT)], check=True,
                   timeout=300)
    return _without_litert(str(python))


def _without_litert(python: str) -> str:
    out = subprocess.run([python, "-c", "import ai_edge_litert"], capture_output=True, timeout=60)
    assert out.returncode != 0, "this environment must not have LiteRT"
    return python


@pytest.mark.slow
def test_agent_falls_back_to_tflite_runtime(legacy_python: str, tiny_tflite: Path, tmp_path: Path):
    with start_local_agent(str(tmp_path / "state"), python=legacy_python) as agent:
        with AgentClient(agent.address) as client:
            runtimes = {r.name: r for r in client.describe().runtimes}
        assert runtimes["tflite"].available and runtimes["tflite"].package == "tflite-runtime"
        assert runtimes["tflite"].version == "2.14.0"
        assert not runtimes["onnxruntime"].available and "onnxruntime" in runtimes["onnxruntime"].reason
        doc = bench_json("--target", agent.address, str(tiny_tflite), "--threads", "1", "--runs", "10")
    run = doc["runs"][0]
    assert run["status"] == "ok" and run["runtime"] == "tflite" and run["runtime_version"] == "2.14.0"
    assert run["latency_ms"]["count"] == 10
    print(f"agent ran under {subprocess.run([legacy_python, '--version'], capture_output=True, text=True).stdout}")
