"""Runs one job's worker child process: starts it, relays its progress, enforces the timeout, kills it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import DecodeError

from edgebench.v1 import agent_pb2 as pb

from .job_files import WORKER_CONFIG_FILE, WORKER_STDERR_FILE
from .worker_channel import BATCH_ITEM, PROGRESS, RESULT, read_frames

STDERR_TAIL_BYTES = 4096


@dataclass
class WorkerOutcome:
    result: pb.JobResult | None  # what the worker wrote, if it got that far
    exit_code: int  # negative: killed by that signal
    timed_out: bool
    cancelled: bool
    stderr_tail: str
    batch: list[pb.BatchResult] = field(default_factory=list)  # batch items the worker finished, in order


class WorkerRun:
    """One worker process. `wait()` blocks until it exits, is killed at its timeout, or is cancelled."""

    def __init__(
        self,
        job_dir: Path,
        spec: pb.JobSpec,
        model_paths: list[Path],
        on_progress: Callable[[dict], None],
        memory_limit_bytes: int = 0,
        input_paths: dict[str, Path] | None = None,
    ) -> None:
        """`model_paths`: the job's model, or one per batch item (spec.batch); `input_paths`: the cached file of
        each input array given by npy_sha256."""
        self.job_dir = job_dir
        self._on_progress = on_progress
        self._cancelled = threading.Event()
        self.batch: list[pb.BatchResult] = []
        config: dict = {"memory_limit_bytes": memory_limit_bytes,
                        "input_paths": {name: str(path) for name, path in (input_paths or {}).items()}}
        if spec.batch:
            config["model_paths"] = [str(p) for p in model_paths]
        else:
            config["model_path"] = str(model_paths[0])
        # The worker applies the memory limit to itself: a preexec_fn would run in a fork of this
        # multi-threaded process, where gRPC's fork handlers can abort the child before it execs.
        (job_dir / WORKER_CONFIG_FILE).write_text(json.dumps(config))
        self._final: pb.JobResult | None = None
        self._stderr = open(job_dir / WORKER_STDERR_FILE, "wb")
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edgebench.agent.worker", str(job_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=job_dir,
            env=env,
            # Own process group: a timeout or cancel kills the runtime's helper processes too.
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read_progress, name="worker-progress", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_progress(self) -> None:
        assert self.process.stdout is not None
        for kind, payload in read_frames(self.process.stdout):
            if kind == RESULT:
                try:
                    self._final = pb.JobResult.FromString(payload)
                except DecodeError:
                    pass
                continue
            if kind == BATCH_ITEM:
                try:
                    self.batch.append(pb.BatchResult.FromString(payload))
                except DecodeError:
                    continue
                continue
            if kind != PROGRESS:
                continue
            try:
                event = json.loads(payload)
            except ValueError:
                continue
            if isinstance(event, dict):
                try:
                    self._on_progress(event)
                except Exception:  # a bad progress line costs that line, never the items after it
                    continue

    def cancel(self) -> None:
        self._cancelled.set()
        self._kill()

    def _kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout_s: float) -> WorkerOutcome:
        timed_out = False
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            self._kill()
            self.process.wait()
        self._reader.join(timeout=5)
        self._stderr.close()
        if self.process.stdout:
            self.process.stdout.close()
        result = None if timed_out or self._cancelled.is_set() else self._final
        return WorkerOutcome(result, self.process.returncode, timed_out, self._cancelled.is_set(),
                             self._stderr_tail(), list(self.batch))

    def _stderr_tail(self) -> str:
        try:
            with open(self.job_dir / WORKER_STDERR_FILE, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - STDERR_TAIL_BYTES))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the worker was killed by {name}"
    return f"the worker exited with code {code}"


def last_error_line(stderr_tail: str) -> str:
    lines = [line.strip() for line in stderr_tail.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
