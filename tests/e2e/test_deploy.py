"""The real thing: `controller deploy` over SSH onto a test board at 10.0.0.5, bench through it, undeploy.

The board is a network namespace with a real sshd and a throwaway user (tests/netns.py); the controller runs
in a second namespace at 10.0.0.1 with the exact command lines a user types. SSH settings come from a test
ssh config given with --ssh-config (as a user's ~/.ssh/config would): the user, the test key and a
known_hosts file holding the board's host key, with StrictHostKeyChecking yes.

--offline needs the agent's wheels for the board's Python. The controller namespace has no route to the
internet, so the fixture fills the wheelhouse first from this machine's own namespace (pip's cache or PyPI,
only the agent extra's wheels for the board's Python) into ~/.cache/edgebench/wheelhouse, kept between runs;
deploy then finds every wheel there, exactly as it does on a second deploy to the same kind of board.

The tests run in file order on one board: first the failures on a clean board (SSH refused, host key changed,
no Python, no space), then deploy, bench, re-deploy, an upgrade killed half-way and repaired, mutual TLS,
undeploy.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT
from tests.netns import BOARD_ADDR, NamespaceUnavailable, NetnsBoard

pytestmark = pytest.mark.slow
WHEELHOUSE = Path(os.environ.get("EDGEBENCH_TEST_WHEELHOUSE", Path.home() / ".cache" / "edgebench" / "wheelhouse"))


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("netns-board")
    try:
        test_board = NetnsBoard(workdir).start()
    except NamespaceUnavailable as exc:
        reason = (f"NETNS DEPLOY E2E DID NOT RUN: this kernel or sandbox refuses network namespaces ({exc}); "
                  "deploy over SSH was not tested end to end")
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    try:
        yield test_board
    finally:
        test_board.close()


@pytest.fixture(scope="module")
def env(board, tmp_path_factory) -> dict:
    config = tmp_path_factory.mktemp("controller-config")
    out = {**os.environ, "EDGEBENCH_CONFIG_DIR": str(config)}
    board.python = _fill_wheelhouse(board)
    return out


def _fill_wheelhouse(board: NetnsBoard):
    """The board's Python, asked over SSH as deploy asks it; its wheels fetched from this namespace."""
    import tempfile

    from edgebench.controller.deploy.deploy import parse_report
    from edgebench.controller.deploy.wheels import BoardPython, build_wheel, download_wheelhouse

    code = ("import platform; print('EDGEBENCH machine=' + platform.machine()); "
            "print('EDGEBENCH python=' + platform.python_version()); "
            "print('EDGEBENCH libc=' + '-'.join(platform.libc_ver()))")
    proc = board.in_host(["ssh", "-F", str(board.ssh_config), board.target, shlex.join(["python3", "-c", code])],
                         timeout=60)
    facts = parse_report(proc.stdout)
    python = BoardPython(facts.get("machine"), facts.get("python"), facts.get("libc"))
    with tempfile.TemporaryDirectory() as tmp:
        download_wheelhouse(python, build_wheel(Path(tmp)), WHEELHOUSE)
    return python


def controller(board: NetnsBoard, env: dict, *args: str, timeout: float = 300,
               check_rc: int | None = None) -> subprocess.CompletedProcess:
    """`controller ARGS` on the test's laptop (the host namespace), as a user runs it."""
    proc = board.in_host([sys.executable, "-m", "edgebench.controller.cli", *args], timeout=timeout, check=False, cwd=ROOT,
                         env=env)
    if check_rc is not None:
        assert proc.returncode == check_rc, f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def deploy_args(board: NetnsBoard, *extra: str) -> list[str]:
    return ["deploy", "--target", board.target, "--offline", "--ssh-config", str(board.ssh_config),
            "--wheelhouse", str(WHEELHOUSE), *extra]


def agent_pid(board: NetnsBoard) -> int:
    return int((board.prefix / "agent.pid").read_text())


def live_venv(board: NetnsBoard) -> str:
    return os.readlink(board.prefix / "current")


# ----------------------------------------------------------------------------- failures on a clean board

def test_ssh_refused_names_the_host(board, env):
    proc = controller(board, env, *deploy_args(board, "--ssh-option", "Port=2222"), timeout=120, check_rc=2)
    assert f"SSH to {board.target} failed: {BOARD_ADDR} refused the connection" in proc.stderr
    assert not board.prefix.exists()


def test_changed_host_key_is_refused(board, env, tmp_path):
    impostor = tmp_path / "impostor_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)], check=True, timeout=30)
    known = tmp_path / "known_hosts"
    known.write_text(f"{BOARD_ADDR} {(tmp_path / 'impostor_key.pub').read_text()}")
    proc = controller(board, env, *deploy_args(board, "--ssh-option", f"UserKnownHostsFile={known}"),
                      timeout=120, check_rc=2)
    assert f"the host key of {BOARD_ADDR} has CHANGED" in proc.stderr
    assert f"ssh-keygen -R {BOARD_ADDR}" in proc.stderr
    assert not board.prefix.exists()


def test_board_without_python(board, env, tmp_path):
    """Simulated honestly: the board user's PATH (set by sshd from ~/.ssh/environment) holds every command of
    this machine except Python, so `python3` is not found there, as on a board without it."""
    nopython = board.home / "nopython-bin"
    nopython.mkdir()
    for name in os.listdir("/usr/bin"):
        if not name.startswith("python"):
            os.symlink(f"/usr/bin/{name}", nopython / name)
    environment = board.home / ".ssh" / "environment"
    environment.write_text(f"PATH={nopython}\n")
    board.chown_tree(nopython)
    board.chown_tree(environment)
    try:
        proc = controller(board, env, *deploy_args(board), timeout=120, check_rc=2)
    finally:
        environment.unlink()
    assert f"{board.target} has no `python3` on its PATH" in proc.stderr
    assert "sudo apt install python3 python3-venv" in proc.stderr
    assert not (board.prefix / "current").exists() and not (board.prefix / "venvs").exists()


def test_board_without_space(board, env):
    """A real small file system (tmpfs, 100 MB) where the agent is installed: first the estimate refuses it;
    forced past the estimate, the wheels fit but the environment does not, and pip meets ENOSPC."""
    board.mount_tmpfs(board.prefix, 100)
    try:
        proc = controller(board, env, *deploy_args(board), timeout=300, check_rc=2)
        assert f"not enough space on {board.target} in {board.prefix}:" in proc.stderr
        assert "MB free, the agent needs about" in proc.stderr
        proc = controller(board, env, *deploy_args(board, "--min-free-mb", "1"), timeout=300, check_rc=2)
        assert f"{board.target} has not enough space: the board ran out of space in {board.prefix}" in proc.stderr
        # On the board (its mount namespace): no `current`, and the unfinished environment was removed.
        listing = board.on_board(["ls", "-A", str(board.prefix), str(board.prefix / "venvs")]).stdout
        assert "current" not in listing and "wheelhouse" in listing
        assert listing.rstrip().endswith("venvs:"), listing
    finally:
        board.umount(board.prefix)


# ----------------------------------------------------------------------------- deploy, bench, re-deploy

def test_deploy_offline(board, env):
    proc = controller(board, env, *deploy_args(board), timeout=600, check_rc=0)
    assert "no systemd on this board" in proc.stderr  # the test board runs no systemd: detached, with a pid file
    assert f"edgebench-agent 0.1.0 on {board.target}: installed; service: detached" in proc.stdout
    assert "runtimes: onnxruntime" in proc.stdout
    psutil.Process(agent_pid(board))  # running
    assert (board.prefix / "current" / ".complete").is_file()
    # The token: 0600 on both sides, and the same.
    config = Path(env["EDGEBENCH_CONFIG_DIR"]) / "targets" / f"{BOARD_ADDR}.toml"
    board_token = board.prefix / "agent.token"
    assert config.stat().st_mode & 0o777 == 0o600 and board_token.stat().st_mode & 0o777 == 0o600
    assert f'token = "{board_token.read_text().strip()}"' in config.read_text()
    assert not (board.prefix / "incoming").exists()


def test_bench_through_the_deployed_agent(board, env):
    proc = controller(board, env, "bench", "--target", board.target, "zoo:tiny_cnn", "--runs", "5",
                      "--json", "-", "--no-progress", timeout=300, check_rc=0)
    run = json.loads(proc.stdout)["runs"][0]
    assert run["status"] == "ok" and run["target"] == board.target and run["latency_ms"]["count"] == 5
    assert run["board"]["agent_version"] == "0.1.0"
    # Without the token the same agent refuses, naming why.
    wrong = Path(env["EDGEBENCH_CONFIG_DIR"]) / "wrong.token"
    wrong.write_text("not-the-token-not-the-token\n")
    proc = controller(board, env, "bench", "--target", BOARD_ADDR, "zoo:tiny_cnn", "--token-file", str(wrong),
                      timeout=120, check_rc=2)
    assert "refused our token" in proc.stderr


def test_targets_lists_the_board(board, env):
    proc = controller(board, env, "targets", "--json", timeout=120, check_rc=0)
    (row,) = json.loads(proc.stdout)["targets"]
    assert row["target"] == board.target and row["health"] == "SERVING" and row["agent_version"] == "0.1.0"
    assert row["auth"] == "token" and row["service"] == "detached" and "worker-memory" in row["sensors"]
    table = controller(board, env, "targets", timeout=120, check_rc=0).stdout
    assert board.target in table and "SERVING" in table


def test_targets_add_fetches_the_token_over_ssh(board, env):
    """An agent the host does not know (installed by hand, or the target file lost): forget it, then add it back
    with the token read over SSH."""
    controller(board, env, "targets", "remove", board.target, timeout=60, check_rc=0)
    proc = controller(board, env, "bench", "--target", board.target, "zoo:tiny_cnn", timeout=120, check_rc=2)
    assert "requires a token and this controller has none" in proc.stderr
    proc = controller(board, env, "targets", "add", board.target, "--fetch-token", "--ssh-config",
                      str(board.ssh_config), timeout=120, check_rc=0)
    assert f"{BOARD_ADDR}:47311: SERVING, edgebench-agent 0.1.0" in proc.stdout


def test_redeploy_changes_nothing(board, env):
    pid, venv = agent_pid(board), live_venv(board)
    proc = controller(board, env, *deploy_args(board), timeout=300, check_rc=0)
    assert "already installed, left as is" in proc.stdout
    assert "deploy: copying" not in proc.stderr  # every wheel was already on the board
    assert agent_pid(board) == pid and live_venv(board) == venv


def test_upgrade_killed_half_way_is_repaired(board, env):
    """Kill the controller and its SSH session while pip fills the new environment (a dropped link): the old
    agent keeps serving from the old environment, and the next deploy removes the half-built one."""
    old_pid, old_venv = agent_pid(board), live_venv(board)
    deploying = board.popen_in_host([sys.executable, "-m", "edgebench.controller.cli", *deploy_args(board, "--upgrade")],
                                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        half_built = _wait_for_half_built_venv(board, old_venv, timeout_s=240)
    finally:
        deploying.kill()
        deploying.wait(30)
    keep = {old_pid, *(p.pid for p in psutil.Process(old_pid).children(recursive=True))}
    for proc in board.user_processes():  # the remote side of the dropped session: sh, pip, sshd's session
        if proc.pid not in keep:
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
    assert half_built.exists() and not (half_built / ".complete").exists()
    assert live_venv(board) == old_venv and agent_pid(board) == old_pid
    row = json.loads(controller(board, env, "targets", "--json", timeout=120, check_rc=0).stdout)["targets"][0]
    assert row["health"] == "SERVING"

    proc = controller(board, env, *deploy_args(board, "--upgrade"), timeout=600, check_rc=0)
    assert f"removing an unfinished install left by an interrupted run: {half_built}" in proc.stderr
    assert "installed; service: detached" in proc.stdout
    assert live_venv(board) != old_venv and agent_pid(board) != old_pid
    assert [p.name for p in (board.prefix / "venvs").iterdir()] == [Path(live_venv(board)).name]


@pytest.fixture(scope="module")
def quick_start_venv(tmp_path_factory) -> Path:
    """The environment the README's own commands make: `python3 -m venv .venv && .venv/bin/pip install -e
    '.[host]'`, with the setuptools Python's venv brings (65.5 on 3.10/3.11, none on 3.12) and no `wheel`.
    Made from this machine's own namespace (pip's cache or PyPI), as a user's laptop would."""
    venv = tmp_path_factory.mktemp("quick-start") / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[host]"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return venv


def test_upgrade_from_the_quick_starts_own_venv(board, env, quick_start_venv):
    """Deploy builds the edgebench wheel with that venv's stock setuptools (too old for pyproject.toml's license
    string, and without `wheel`) and no package index (the controller's namespace has no route out)."""
    probe = subprocess.run([str(quick_start_venv / "bin" / "python"), "-c",
                            "from edgebench.controller.deploy.wheels import setuptools_version as v; print(v())"],
                           capture_output=True, text=True, timeout=60, check=True)
    version = eval(probe.stdout)  # noqa: S307 - a tuple of ints or None, printed by the line above
    if version is not None and version >= (77,):
        warnings.warn(f"this Python's venv brings setuptools {version}: the stock-setuptools path is not the one "
                      "tested here", stacklevel=1)
    old_venv = live_venv(board)
    proc = board.in_host([str(quick_start_venv / "bin" / "controller"), *deploy_args(board, "--upgrade")],
                         timeout=600, check=False, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "installed; service: detached" in proc.stdout and live_venv(board) != old_venv
    proc = board.in_host([str(quick_start_venv / "bin" / "controller"), "bench", "--target", board.target,
                          "zoo:tiny_cnn", "--runs", "3", "--json", "-", "--no-progress", "--no-store"],
                         timeout=300, check=False, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["runs"][0]["board"]["agent_version"] == "0.1.0"


def _wait_for_half_built_venv(board: NetnsBoard, old_venv: str, timeout_s: float) -> Path:
    """The new environment once pip has put a package into it (bounded in time)."""
    deadline = time.monotonic() + timeout_s
    base = {"pip", "setuptools", "_distutils_hack", "pkg_resources", "__pycache__", "distutils-precedence.pth"}
    while time.monotonic() < deadline:
        for venv in (board.prefix / "venvs").glob("*"):
            if f"venvs/{venv.name}" == old_venv:
                continue
            for site in venv.glob("lib/python3*/site-packages"):
                try:
                    names = {n for n in os.listdir(site) if not n.startswith(("pip-", "setuptools-"))}
                except FileNotFoundError:
                    continue
                if names - base:
                    return venv
        time.sleep(0.05)
    raise AssertionError(f"no half-built environment appeared in {timeout_s:g} s")


def test_mutual_tls_redeploy(board, env):
    proc = controller(board, env, *deploy_args(board, "--mtls"), timeout=300, check_rc=0)
    assert "already installed, left as is" in proc.stdout  # reconfigured and restarted, not reinstalled
    config = (Path(env["EDGEBENCH_CONFIG_DIR"]) / "targets" / f"{BOARD_ADDR}.toml").read_text()
    assert "tls_ca = " in config and "tls_cert = " in config
    proc = controller(board, env, "bench", "--target", board.target, "zoo:tiny_cnn", "--runs", "3",
                      "--json", "-", "--no-progress", timeout=300, check_rc=0)
    assert json.loads(proc.stdout)["runs"][0]["status"] == "ok"
    proc = controller(board, env, "bench", "--target", board.target, "zoo:tiny_cnn", "--no-tls", timeout=120,
                      check_rc=2)
    assert "closes them without answering" in proc.stderr and f"{BOARD_ADDR}:47311" in proc.stderr


def test_undeploy(board, env):
    pid = agent_pid(board)
    proc = controller(board, env, "undeploy", "--target", board.target, timeout=300, check_rc=0)
    assert f"removed the agent from {board.target}" in proc.stdout
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not board.prefix.exists()
    assert not (Path(env["EDGEBENCH_CONFIG_DIR"]) / "targets" / f"{BOARD_ADDR}.toml").exists()
    proc = controller(board, env, "undeploy", "--target", board.target, "--ssh-config", str(board.ssh_config),
                      timeout=300, check_rc=0)
    assert "no agent was installed" in proc.stdout


def test_first_boot_hook(board, env, tmp_path):
    """A "freshly written SD card" (a boot folder with cmdline.txt) prepared by prepare_sd.py --offline; then
    the board's first boot, simulated by running the hook it installs, firstboot.sh, as root on the board.
    Without systemd on the test board it starts the agent detached; the host bench finds the token it stored."""
    import tempfile

    boot = Path(tempfile.mkdtemp(prefix="eb-bootfs-", dir="/tmp"))  # readable by the board user, like FAT
    boot.chmod(0o755)
    try:
        (boot / "cmdline.txt").write_text("console=serial0,115200 root=PARTUUID=0a1b2c3d-02 rootwait\n")
        py = board.python
        proc = subprocess.run([sys.executable, "scripts/firstboot/prepare_sd.py", str(boot), "--user", board.user,
                               "--target", board.target, "--offline", "--machine", py.machine, "--python",
                               py.version, "--libc", py.libc, "--wheelhouse", str(WHEELHOUSE)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "systemd.run=/boot/firmware/firstrun.sh" in (boot / "cmdline.txt").read_text()
        assert "systemctl enable edgebench-firstboot.service" in (boot / "firstrun.sh").read_text()
        log = tmp_path / "firstboot.log"
        board.on_board(["env", f"EDGEBENCH_FIRSTBOOT_LOG={log}", "sh", str(boot / "edgebench" / "firstboot.sh"),
                        board.user], timeout=600)
        assert "edgebench firstboot: done" in log.read_text(), log.read_text()
        assert (boot / "edgebench" / "installed").exists() and not (boot / "edgebench" / "agent.token").exists()
        proc = controller(board, env, "bench", "--target", board.target, "zoo:tiny_cnn", "--runs", "3", "--json",
                          "-", "--no-progress", timeout=300, check_rc=0)
        assert json.loads(proc.stdout)["runs"][0]["status"] == "ok"
        # A second boot does nothing.
        board.on_board(["env", f"EDGEBENCH_FIRSTBOOT_LOG={log}", "sh", str(boot / "edgebench" / "firstboot.sh")])
        assert log.read_text().rstrip().endswith(f"already done ({boot}/edgebench/installed)")
    finally:
        controller(board, env, "undeploy", "--target", board.target, "--ssh-config", str(board.ssh_config),
                   timeout=300)
        shutil.rmtree(boot, ignore_errors=True)
