"""`controller deploy --offline` to an aarch64 board, end to end: the network-namespace board at 10.0.0.5 with its
real sshd (tests/netns.py), whose user's sessions run chrooted in the arm64 rootfs through qemu-user. Deploy
asks the board's Python (aarch64, 3.11, glibc 2.36), builds the aarch64 wheelhouse on this x86 host, copies
it, installs with the board's own pip (emulated), starts the agent; bench runs through it; undeploy removes it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
import pytest

from tests.e2e.test_deploy import WHEELHOUSE, _fill_wheelhouse, agent_pid, controller, deploy_args
from tests.netns import BOARD_ADDR, NetnsBoard

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def board(tmp_path_factory, rootfs):
    # No skip when namespaces are refused: scripts/test-aarch64.sh runs this only as root, where they work.
    test_board = NetnsBoard(tmp_path_factory.mktemp("aarch64-board"), rootfs=rootfs).start()
    try:
        yield test_board
    finally:
        test_board.close()


@pytest.fixture(scope="module")
def env(board, tmp_path_factory) -> dict:
    board.python = _fill_wheelhouse(board)
    assert (board.python.machine, board.python.libc) == ("aarch64", "glibc-2.36"), board.python
    return {**os.environ, "EDGEBENCH_CONFIG_DIR": str(tmp_path_factory.mktemp("controller-config"))}


def test_deploy_bench_undeploy(board, env):
    # Emulated pip and an emulated agent start are slow: a longer wait for the agent to serve.
    proc = controller(board, env, *deploy_args(board, "--wait", "300"), timeout=1200, check_rc=0)
    assert f"edgebench-agent 0.1.0 on {board.target}: installed; service: detached" in proc.stdout
    assert "runtimes: onnxruntime" in proc.stdout
    house = sorted(p.name for p in (WHEELHOUSE / board.python.key).glob("*.whl"))
    assert any(n.startswith("onnxruntime-") and "aarch64" in n for n in house), house
    pid = agent_pid(board)
    # The deployed agent is an arm64 process: the kernel runs it through qemu's binfmt interpreter.
    assert "qemu" in Path(psutil.Process(pid).exe()).name
    assert (board.prefix / "current" / ".complete").is_file()

    for model, runtime in (("zoo:tiny_cnn", "onnxruntime"), ("zoo:tiny_cnn_int8_tflite", "tflite")):
        proc = controller(board, env, "bench", "--target", board.target, model, "--threads", "1", "--runs", "3",
                          "--json", "-", "--no-progress", timeout=600, check_rc=0)
        run = json.loads(proc.stdout)["runs"][0]
        assert run["status"] == "ok" and run["runtime"] == runtime and run["latency_ms"]["count"] == 3
        assert run["board"]["machine"] == "aarch64" and run["board"]["agent_version"] == "0.1.0"
        assert run["target"] == board.target

    proc = controller(board, env, "undeploy", "--target", board.target, timeout=300, check_rc=0)
    assert f"removed the agent from {board.target}" in proc.stdout
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not board.prefix.exists()
    assert not (Path(env["EDGEBENCH_CONFIG_DIR"]) / "targets" / f"{BOARD_ADDR}.toml").exists()


def test_board_sessions_run_in_the_rootfs(board):
    """The board is what it claims: its shell and Python are the rootfs's arm64 ones, not this machine's."""
    script = "uname -m; python3 -c 'import platform; print(platform.machine())'; cat /etc/debian_version"
    proc = board.in_host(["ssh", "-F", str(board.ssh_config), board.target, script], timeout=120)
    machine, python_machine, debian = proc.stdout.split()
    assert machine == python_machine == "aarch64" and debian.startswith("12.")
