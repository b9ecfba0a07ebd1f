"""A progress line on stderr while jobs run: redrawn in place on a terminal, one line per phase otherwise."""
from __future__ import annotations

import sys
import time
from typing import TextIO

from ..records import JobProgress

BAR_WIDTH = 24


class ProgressBar:
    def __init__(self, total_jobs: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.total_jobs = total_jobs
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self._label = ""
        self._job_index = 0
        self._last_phase = ""
        self._last_draw = 0.0

    def start_job(self, index: int, label: str) -> None:
        self._job_index, self._label, self._last_phase = index, label, ""

    def update(self, p: JobProgress) -> None:
        if not self.enabled:
            return
        prefix = f"[{self._job_index}/{self.total_jobs}] {self._label}"
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw < 0.1 and p.phase == self._last_phase:
                return
            self._last_draw = now
            if p.total:
                filled = int(BAR_WIDTH * min(p.done, p.total) / p.total)
                bar = "#" * filled + "." * (BAR_WIDTH - filled)
                detail = f"{p.phase:<9} [{bar}] {p.done}/{p.total}"
            elif p.phase == "queued":
                detail = f"queued (position {p.queue_position})"
            else:
                detail = f"{p.phase:<9} {p.done} done, {p.elapsed_s:.1f}s"
            self.stream.write(f"\r\033[K{prefix}  {detail}")
            self.stream.flush()
        elif p.phase != self._last_phase:
            self.stream.write(f"{prefix}: {p.phase}\n")
            self.stream.flush()
        self._last_phase = p.phase

    def finish_job(self, status: str) -> None:
        if not self.enabled:
            return
        prefix = f"[{self._job_index}/{self.total_jobs}] {self._label}"
        self.stream.write(("\r\033[K" if self.tty else "") + f"{prefix}: {status}\n")
        self.stream.flush()
