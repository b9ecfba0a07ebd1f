"""Shared fixtures: a real agent process on loopback, real models, the real controller CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Zoo models are built into a fresh cache per test session, exactly as on a new machine.
    os.environ["EDGEBENCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    # Runs are stored in a fresh results store too, never in the user's own.
    os.environ["EDGEBENCH_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))


# This machine is shared: other processes take the agent's CPU at any time, and an agent would rightly mark its
# runs contended (regress then re-runs and excludes them). Tests of anything else use agents that record the
# contention but never flag it; tests/e2e/test_contention.py flags it with a real CPU hog.
STEADY_AGENT_ARGS = ["--contended-above", "1"]


def run_controller(*args: str, timeout: float = 300, check_rc: int | None = None) -> subprocess.CompletedProcess:
    """The controller exactly as a user runs it: a separate process, real arguments."""
    proc = subprocess.run([sys.executable, "-m", "edgebench.controller.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    if check_rc is not None:
        assert proc.returncode == check_rc, f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def bench_json(*args: str, check_rc: int | None = 0, timeout: float = 300) -> dict:
    proc = run_controller("bench", *args, "--json", "-", "--no-progress", check_rc=check_rc, timeout=timeout)
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def agent(tmp_path_factory: pytest.TempPathFactory):
    """One real agent for the session, on a free loopback port."""
    from edgebench.controller.link.local_agent import start_local_agent

    state = tmp_path_factory.mktemp("agent-state")
    with start_local_agent(str(state), STEADY_AGENT_ARGS) as running:
        yield running


@pytest.fixture
def client(agent):
    from edgebench.controller.link.client import AgentClient

    with AgentClient(agent.address) as c:
        yield c


@pytest.fixture(scope="session")
def tiny_onnx() -> Path:
    from edgebench.controller import zoo

    return zoo.resolve("zoo:tiny_cnn")


@pytest.fixture(scope="session")
def tiny_tflite() -> Path:
    from edgebench.controller import zoo

    return zoo.resolve("zoo:tiny_cnn_tflite")
