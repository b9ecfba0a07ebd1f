"""`--target local`: an agent started on loopback for the duration of one command."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ControllerError

_LISTENING = re.compile(r"listening on (\S+):(\d+) ")


class LocalAgentError(ControllerError):
    pass


@dataclass
class LocalAgent:
    process: subprocess.Popen
    port: int
    state_dir: Path
    _own_state_dir: bool

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> LocalAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_local_agent(state_dir: str | None = None, extra_args: list[str] | None = None,
                      start_timeout_s: float = 30.0, python: str = sys.executable) -> LocalAgent:
    """Start `python -m agent.cli` on a free loopback port (another interpreter may be given)."""
    own = state_dir is None
    state = Path(state_dir or tempfile.mkdtemp(prefix="edgebench-local-"))
    cmd = [python, "-m", "edgebench.agent.cli", "--listen", "127.0.0.1:0", "--state-dir", str(state),
           *(extra_args or [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line_box: list[str] = []
    reader = threading.Thread(target=lambda: line_box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(start_timeout_s)
    match = _LISTENING.search(line_box[0]) if line_box else None
    if match is None:
        proc.kill()
        _, err = proc.communicate(timeout=5)
        if own:
            shutil.rmtree(state, ignore_errors=True)
        raise LocalAgentError(f"the local agent did not start: {(err or '').strip()[-500:] or 'no output'}")
    # Drain the rest of stdout so the agent never blocks on a full pipe.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return LocalAgent(proc, int(match.group(2)), state, own)
