"""The system's `ssh` and `scp`, so deploy logs in exactly as `ssh` would: ~/.ssh/config, keys, agent, known_hosts."""
from __future__ import annotations

import shlex
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ControllerError


class SshError(ControllerError):
    """SSH itself failed (refused, unreachable, host key, login), as opposed to a command on the board."""


@dataclass
class SshOptions:
    config_file: str = ""  # ssh -F FILE
    options: list[str] = field(default_factory=list)  # ssh -o OPTION, as given by the user
    connect_timeout_s: int = 15

    def args(self) -> list[str]:
        out: list[str] = []
        if self.config_file:
            out += ["-F", self.config_file]
        # The user's -o come first: for ssh the first value given for an option wins.
        for option in self.options:
            out += ["-o", option]
        # Never prompt (deploy runs unattended); keys in an ssh-agent still work.
        out += ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={self.connect_timeout_s}",
                "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
        return out


@dataclass
class RemoteResult:
    returncode: int
    stdout: str
    stderr: str


def host_of(destination: str) -> str:
    return destination.rpartition("@")[2]


def explain_ssh_failure(destination: str, stderr: str) -> str:
    """One sentence naming the host for what ssh printed when it exited 255."""
    host = host_of(destination)
    text = stderr.strip()
    last = text.splitlines()[-1] if text else "no message"
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text or ("Host key for" in text and "has changed" in text):
        return (f"SSH to {destination} refused: the host key of {host} has CHANGED since it was recorded in "
                "known_hosts. Someone may be impersonating the board, or it was reinstalled; if you reinstalled "
                f"it, remove the old key (ssh-keygen -R {host}) and check the new one with `ssh {destination}`")
    if "Host key verification failed" in text or "No ED25519 host key is known" in text \
            or "host key is known" in text:
        return (f"SSH to {destination} failed: the host key of {host} is not known here; connect once with "
                f"`ssh {destination}` to check and accept it, then deploy again")
    if "Connection refused" in text:
        return (f"SSH to {destination} failed: {host} refused the connection (is sshd running there, and on the "
                "port your ssh config names?)")
    if "Permission denied" in text:
        return (f"SSH to {destination} failed: {host} did not accept the login ({last}); is your public key in "
                "~/.ssh/authorized_keys of that user on the board?")
    if "timed out" in text:
        return f"SSH to {destination} failed: no answer from {host} (connection timed out)"
    if "No route to host" in text or "Network is unreachable" in text:
        return f"SSH to {destination} failed: {host} is unreachable ({last})"
    if "Could not resolve hostname" in text:
        return f"SSH to {destination} failed: cannot resolve the host name {host}"
    return f"SSH to {destination} failed: {last}"


class Ssh:
    def __init__(self, destination: str, options: SshOptions | None = None) -> None:
        self.destination = destination
        self.options = options or SshOptions()

    def run(self, argv: list[str], timeout_s: float, on_line: Callable[[str], None] | None = None) -> RemoteResult:
        """Run argv on the board (quoted for its login shell); stdout lines go to on_line as they come."""
        command = " ".join(shlex.quote(a) for a in argv)
        cmd = ["ssh", *self.options.args(), self.destination, "--", command]
        return self._run(cmd, timeout_s, on_line)

    def script(self, script: str, args: list[str], timeout_s: float,
               on_line: Callable[[str], None] | None = None) -> RemoteResult:
        """Run a POSIX sh script on the board; it is given as `sh -c SCRIPT NAME ARGS`, never on stdin, so
        nothing it starts can read the rest of it."""
        return self.run(["sh", "-c", script, "install-agent.sh", *args], timeout_s, on_line)

    def copy(self, files: list[Path], remote_dir: str, timeout_s: float) -> None:
        if not files:
            return
        user, at, host = self.destination.rpartition("@")
        host = f"[{host}]" if ":" in host else host
        dest = f"{user}{at}{host}:{remote_dir.rstrip('/')}/"
        cmd = ["scp", "-q", "-p", *self.options.args(), *[str(f) for f in files], dest]
        result = self._run(cmd, timeout_s, None)
        if result.returncode != 0:
            text = result.stderr.strip()
            if "No space left on device" in text:
                raise SshError(f"copying to {self.destination}:{remote_dir} failed: the board has no space left "
                               "there (No space left on device)")
            if result.returncode == 255 or "Connection" in text or "host key" in text.lower():
                raise SshError(explain_ssh_failure(self.destination, text))
            raise SshError(f"copying to {self.destination}:{remote_dir} failed: "
                           f"{text.splitlines()[-1] if text else f'scp exit status {result.returncode}'}")

    def _run(self, cmd: list[str], timeout_s: float, on_line: Callable[[str], None] | None) -> RemoteResult:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, errors="replace")
        except FileNotFoundError:
            raise SshError(f"`{cmd[0]}` is not installed on this host (deploy uses the system's OpenSSH client)") \
                from None
        out: list[str] = []
        err: list[str] = []

        def pump_out() -> None:
            for line in proc.stdout:
                out.append(line)
                if on_line is not None:
                    on_line(line.rstrip("\n"))

        def pump_err() -> None:
            err.extend(proc.stderr)

        readers = [threading.Thread(target=pump_out, daemon=True), threading.Thread(target=pump_err, daemon=True)]
        for reader in readers:
            reader.start()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise SshError(f"{cmd[0]} to {self.destination} did not finish within {timeout_s:g} s") from None
        finally:
            for reader in readers:
                reader.join(5)
        result = RemoteResult(proc.returncode, "".join(out), "".join(err))
        if result.returncode == 255 and cmd[0] == "ssh":
            raise SshError(explain_ssh_failure(self.destination, result.stderr))
        return result
