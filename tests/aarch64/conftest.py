"""The native controller against agents in the arm64 rootfs that scripts/test-aarch64.sh made and runs these with.

The script passes the rootfs (EDGEBENCH_AARCH64_ROOTFS) and the Python inside it that holds the agent and its
runtimes (EDGEBENCH_AARCH64_PYTHON, a path inside the rootfs). Run without them (the ordinary test command),
these tests are skipped, saying why: only the script can build the rootfs and register binfmt.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgebench.controller.link.local_agent import LocalAgent, start_local_agent
from tests.netns import ROOTFS_EXEC

ROOTFS_ENV, PYTHON_ENV = "EDGEBENCH_AARCH64_ROOTFS", "EDGEBENCH_AARCH64_PYTHON"
BOARD_SRC = Path("/opt/edgebench/src")  # this checkout's sources inside the rootfs (copied by the script)
# An emulated agent imports numpy, onnxruntime and LiteRT through qemu: slower to start than a native one.
START_TIMEOUT_S = 240.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(ROOTFS_ENV) and os.environ.get(PYTHON_ENV):
        return
    skip = pytest.mark.skip(reason=f"needs the arm64 rootfs: run scripts/test-aarch64.sh ({ROOTFS_ENV} unset)")
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def rootfs() -> Path:
    path = Path(os.environ[ROOTFS_ENV])
    assert (path / "usr" / "bin" / "python3").exists(), f"{path} is not the arm64 rootfs"
    return path


@pytest.fixture(scope="session")
def board_python(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An executable that is the rootfs's agent Python, run in the rootfs (what start_local_agent needs)."""
    inside = os.environ[PYTHON_ENV]
    assert (rootfs / inside.lstrip("/")).exists(), f"no {inside} in {rootfs}"
    wrapper = tmp_path_factory.mktemp("aarch64") / "board-python"
    # env -i inside rootfs-exec drops the caller's environment: the agent's stdout must stay unbuffered so
    # its "listening on" line reaches start_local_agent.
    wrapper.write_text(f'#!/bin/sh\nexec "{ROOTFS_EXEC}" -e PYTHONUNBUFFERED=1 "{rootfs}" "{inside}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper)


@pytest.fixture
def rootfs_agent(board_python: str) -> Iterator:
    """start(*agent_args) -> a LocalAgent running in the rootfs on loopback (this machine's network)."""
    started: list[LocalAgent] = []

    def start(*args: str) -> LocalAgent:
        # The state folder is inside the rootfs, on the tmpfs /tmp of this agent's own mount namespace.
        agent = start_local_agent("/tmp/agent-state", extra_args=list(args), start_timeout_s=START_TIMEOUT_S,
                                  python=board_python)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop(timeout_s=60)
