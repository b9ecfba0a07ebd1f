"""Progress of bench's jobs on stderr: a live rich progress bar on a terminal, one line per finished job otherwise
(a log or CI output wants the outcome of each job, not every phase it went through)."""
from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ..records import JobProgress


class ProgressBar:
    def __init__(self, total_jobs: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.total_jobs = total_jobs
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self._label = ""
        self._job_index = 0
        self._started = 0.0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _prefix(self) -> str:
        # Index 0: work after the jobs (TFLite kernels measured alone), not one of the counted jobs.
        return f"[{self._job_index}/{self.total_jobs}] {self._label}" if self._job_index else self._label

    def start_job(self, index: int, label: str) -> None:
        self._job_index, self._label, self._started = index, label, time.monotonic()
        if not self.tty:
            return
        if self._progress is None:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(bar_width=24),
                                      MofNCompleteColumn(), TextColumn("{task.fields[phase]}"), TimeElapsedColumn(),
                                      console=Console(file=self.stream), transient=True)
            self._progress.start()
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(self._prefix(), total=None, phase="submitted")

    def update(self, p: JobProgress) -> None:
        if self._progress is None or self._task is None:
            return
        phase = f"queued (position {p.queue_position})" if p.phase == "queued" else p.phase
        self._progress.update(self._task, completed=p.done, total=p.total or None, phase=phase)

    def finish_job(self, status: str) -> None:
        if not self.enabled:
            return
        line = f"{self._prefix()}: {status} ({time.monotonic() - self._started:.1f} s)"
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None
