"""A test board on a private network: two network namespaces joined by a veth pair, a real sshd, a throwaway user.

    netns  eb-host-<pid>   10.0.0.1/24   the controller runs here (`ip netns exec`), as a user's laptop
    netns  eb-board-<pid>  10.0.0.5/24   sshd (Debian's /usr/sbin/sshd, own config and host key), and whatever
                                         the deploy starts over SSH: the agent listens on 10.0.0.5:47311 here

Nothing is added to the machine's own network namespace, so two test sessions at once cannot collide and the
machine's routes stay untouched. The board shares this machine's file system: the throwaway user's home is
the board's disk, /usr/bin/python3 is the board's Python. Everything is torn down in `close()` (processes
by pid, namespaces, user, mounts), bounded in time, even after a failure half-way through `start()`.

With `rootfs` (an arm64 root file system made by scripts/test-aarch64.sh) the board is an aarch64 one: sshd's
ChrootDirectory puts every session of the user in that rootfs, run through qemu-user, so its /bin/sh and
python3 are the arm64 ones. sshd starts under scripts/aarch64/rootfs-exec.sh --no-chroot, which mounts
/proc, /dev, /tmp, the user's home (a folder of the test's, `board_home`) and a passwd/group naming the user
into the rootfs in sshd's own mount namespace: they vanish with it and the cached rootfs is never changed.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

HOST_ADDR = "10.0.0.1"
BOARD_ADDR = "10.0.0.5"
SSHD = "/usr/sbin/sshd"
ROOTFS_EXEC = Path(__file__).resolve().parent.parent / "scripts" / "aarch64" / "rootfs-exec.sh"


class NamespaceUnavailable(Exception):
    """The kernel (or missing privileges) refuses network namespaces: the caller skips, loudly."""


def _run(cmd: list[str], timeout: float = 30, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def _wait_until(predicate, timeout_s: float, interval_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())


@dataclass
class NetnsBoard:
    workdir: Path
    tag: str = field(default_factory=lambda: str(os.getpid()))
    host_ns: str = ""
    board_ns: str = ""
    user: str = ""
    home: Path = Path("/nonexistent")
    uid: int = -1
    ssh_config: Path = Path("/nonexistent")
    known_hosts: Path = Path("/nonexistent")
    _sshd: subprocess.Popen | None = None
    _mounts: list[Path] = field(default_factory=list)
    _created_user: bool = False
    _veth: str = ""
    python: object = None  # the board's Python (BoardPython), once a test has asked
    rootfs: Path | None = None  # an arm64 rootfs: the user's sessions run chrooted in it (see above)

    # ------------------------------------------------------------------ set-up

    def start(self) -> NetnsBoard:
        if os.geteuid() != 0:
            raise NamespaceUnavailable("needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to create network namespaces")
        if shutil.which("ip") is None:
            raise NamespaceUnavailable("the `ip` command (iproute2) is not installed")
        self.host_ns, self.board_ns = f"eb-host-{self.tag}", f"eb-board-{self.tag}"
        probe = _run(["ip", "netns", "add", self.host_ns], check=False)
        if probe.returncode != 0:
            raise NamespaceUnavailable(f"`ip netns add` failed: {probe.stderr.strip()}")
        try:
            self._network()
            self._user()
            self._sshd_start()
        except BaseException:
            self.close()
            raise
        return self

    def _network(self) -> None:
        _run(["ip", "netns", "add", self.board_ns])
        self._veth = f"ebh{self.tag[-8:]}"
        peer = f"ebb{self.tag[-8:]}"
        _run(["ip", "link", "add", self._veth, "netns", self.host_ns, "type", "veth", "peer", "name", peer,
              "netns", self.board_ns])
        for ns, dev, addr in ((self.host_ns, self._veth, HOST_ADDR), (self.board_ns, peer, BOARD_ADDR)):
            _run(["ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev])
            _run(["ip", "-n", ns, "link", "set", dev, "up"])
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def _user(self) -> None:
        self.user = f"ebe2e{self.tag[-8:]}"
        self.home = Path("/home") / self.user
        # '*' as the password: no password login, but not a locked account (sshd refuses locked ones).
        _run(["useradd", "--create-home", "--home-dir", str(self.home), "--shell", "/bin/sh", "--password", "*",
              "--comment", "edgebench deploy e2e (temporary)", self.user])
        self._created_user = True
        self.uid = pwd.getpwnam(self.user).pw_uid
        key = self.workdir / "id_ed25519"
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edgebench-e2e", "-f", str(key)])
        ssh_dir = self.home / ".ssh"
        ssh_dir.mkdir(mode=0o700)
        (ssh_dir / "authorized_keys").write_text((self.workdir / "id_ed25519.pub").read_text())
        os.chmod(ssh_dir / "authorized_keys", 0o600)
        for path in (ssh_dir, ssh_dir / "authorized_keys"):
            os.chown(path, self.uid, self.uid)
        if self.rootfs is not None:
            self._rootfs_user()

    def _rootfs_user(self) -> None:
        """The user as the rootfs sees it: a passwd and group line, and a home of the test's (sshd reads the
        key from the home on this machine before it chroots)."""
        gid = pwd.getpwnam(self.user).pw_gid
        for name, line in (("passwd", f"{self.user}:x:{self.uid}:{gid}::/home/{self.user}:/bin/sh\n"),
                           ("group", f"{self.user}:x:{gid}:\n")):
            (self.workdir / f"board-{name}").write_text((self.rootfs / "etc" / name).read_text() + line)
            os.chmod(self.workdir / f"board-{name}", 0o644)
        self.board_home.mkdir(parents=True)
        os.chown(self.board_home, self.uid, gid)

    def _sshd_start(self) -> None:
        host_key = self.workdir / "ssh_host_ed25519_key"
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)])
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation folder
        config = self.workdir / "sshd_config"
        config.write_text(f"""\
ListenAddress {BOARD_ADDR}:22
HostKey {host_key}
PidFile {self.workdir / 'sshd.pid'}
AuthorizedKeysFile .ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
AllowUsers {self.user}
StrictModes yes
# The "board without Python" test sets PATH for the user in ~/.ssh/environment.
PermitUserEnvironment PATH
Subsystem sftp internal-sftp
LogLevel VERBOSE
{f"ChrootDirectory {self.rootfs}" if self.rootfs is not None else ""}
""")
        sshd = [SSHD, "-D", "-e", "-f", str(config)]
        if self.rootfs is not None:
            sshd = [str(ROOTFS_EXEC), "--no-chroot", "--bind", f"{self.board_home.parent}:home",
                    "--bind", f"{self.workdir / 'board-passwd'}:etc/passwd",
                    "--bind", f"{self.workdir / 'board-group'}:etc/group", str(self.rootfs), *sshd]
        self._sshd_log = open(self.workdir / "sshd.log", "w")  # noqa: SIM115 (closed in close())
        self._sshd = subprocess.Popen(["ip", "netns", "exec", self.board_ns, *sshd],
                                      stdout=self._sshd_log, stderr=subprocess.STDOUT)
        self.known_hosts = self.workdir / "known_hosts"
        self.known_hosts.write_text(f"{BOARD_ADDR} {(self.workdir / 'ssh_host_ed25519_key.pub').read_text()}")
        self.ssh_config = self.workdir / "ssh_config"
        self.ssh_config.write_text(f"""\
# What a user's ~/.ssh/config says about the board; deploy is given it with --ssh-config.
Host {BOARD_ADDR}
    User {self.user}
    IdentityFile {self.workdir / 'id_ed25519'}
    IdentitiesOnly yes
    UserKnownHostsFile {self.known_hosts}
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    ConnectTimeout 10
""")
        ok = _wait_until(lambda: self._sshd.poll() is not None or self.in_host(
            ["ssh", "-F", str(self.ssh_config), "-o", "BatchMode=yes", f"{self.user}@{BOARD_ADDR}", "true"],
            timeout=15, check=False).returncode == 0, timeout_s=30, interval_s=0.3)
        if not ok or self._sshd.poll() is not None:
            raise RuntimeError(f"sshd in {self.board_ns} did not accept the test key:\n{self.sshd_log()}")

    # ------------------------------------------------------------------ use

    @property
    def target(self) -> str:
        return f"{self.user}@{BOARD_ADDR}"

    @property
    def board_home(self) -> Path:
        """The user's home as the board's sessions see it (on this machine's file system)."""
        return self.workdir / "board-home" / self.user if self.rootfs is not None else self.home

    @property
    def prefix(self) -> Path:
        return self.board_home / ".local" / "share" / "edgebench"

    def in_host(self, cmd: list[str], timeout: float = 300, check: bool = True, **kw) -> subprocess.CompletedProcess:
        """Run cmd on the test's "laptop" (the host namespace)."""
        return _run(["ip", "netns", "exec", self.host_ns, *cmd], timeout=timeout, check=check, **kw)

    def popen_in_host(self, cmd: list[str], **kw) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.host_ns, *cmd], **kw)

    def user_processes(self) -> list[psutil.Process]:
        out = []
        for proc in psutil.process_iter(["uids"]):
            try:
                if proc.info["uids"] and proc.info["uids"].real == self.uid:
                    out.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return out

    def kill_user_processes(self) -> None:
        """SIGKILL every process of the throwaway user, by pid (they all come from this test's sshd)."""
        for _ in range(20):
            procs = self.user_processes()
            if not procs:
                return
            for proc in procs:
                try:
                    proc.send_signal(signal.SIGKILL)
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(procs, timeout=2)

    def on_board(self, cmd: list[str], timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        """Run cmd as root in the board's namespaces (network and mounts: `ip netns exec` gave sshd its own
        mount namespace, so a file system mounted for the board is visible only there)."""
        return _run(["nsenter", "--target", str(self._sshd.pid), "--mount", "--net", "--", *cmd], timeout=timeout,
                    check=check)

    def mount_tmpfs(self, path: Path, size_mb: int) -> None:
        """A small file system owned by the user at path, on the board: a board whose disk is (nearly) full."""
        path.mkdir(parents=True, exist_ok=True)
        for part in [path, *path.parents]:  # the folders just made belong to the user, as on a board
            if part == self.home or self.home not in part.parents:
                break
            os.chown(part, self.uid, self.uid)
        self.on_board(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700,uid={self.uid},gid={self.uid}",
                       "tmpfs", str(path)])
        self._mounts.append(path)

    def umount(self, path: Path) -> None:
        if path in self._mounts:
            if self.on_board(["umount", str(path)], check=False).returncode != 0:
                self.on_board(["umount", "-l", str(path)], check=False)
            self._mounts.remove(path)

    def chown_tree(self, path: Path) -> None:
        for root, dirs, files in os.walk(path):
            for name in [root, *[os.path.join(root, d) for d in dirs], *[os.path.join(root, f) for f in files]]:
                os.lchown(name, self.uid, self.uid)

    def sshd_log(self) -> str:
        try:
            return (self.workdir / "sshd.log").read_text()[-4000:]
        except OSError:
            return ""

    # ------------------------------------------------------------------ tear-down

    def close(self) -> None:
        if self._created_user:
            self.kill_user_processes()
        for path in list(self._mounts):
            self.umount(path)
        if self._sshd is not None and self._sshd.poll() is None:
            self._sshd.terminate()
            try:
                self._sshd.wait(10)
            except subprocess.TimeoutExpired:
                self._sshd.kill()
                self._sshd.wait(10)
        if getattr(self, "_sshd_log", None) is not None:
            self._sshd_log.close()
        for ns in (self.board_ns, self.host_ns):
            if not ns:
                continue
            pids = _run(["ip", "netns", "pids", ns], check=False).stdout.split()
            for pid in pids:  # anything still running inside a namespace this test made
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        for ns in (self.board_ns, self.host_ns):
            if ns:
                _run(["ip", "netns", "del", ns], check=False)
        if self._created_user:
            _run(["userdel", "--remove", "--force", self.user], check=False)
            shutil.rmtree(self.home, ignore_errors=True)
            self._created_user = False
