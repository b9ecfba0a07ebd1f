"""`controller watch` without a job id: the jobs an agent holds."""
from __future__ import annotations

import time
from collections.abc import Sequence

from ..records import JobInfo
from .table import render_table


def jobs_table(jobs: Sequence[JobInfo]) -> str:
    rows = [[j.job_id, j.state, j.model_name or "-", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(j.submitted_unix_s)),
             j.error or ""] for j in jobs]
    return render_table(["job id", "state", "model", "submitted", "error"], rows) if rows else "no jobs on the agent"
