"""An open connection to one board's agent, spoken in the controller's records: what bench, watch, regress,
calibrate and predict use. The gRPC client below it (client.py) speaks the wire contract."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import ControllerError
from ..records import (
    BatchItemResult,
    Board,
    BoardDescription,
    JobInfo,
    JobProgress,
    JobSpec,
    ModelRecord,
    RunRecord,
)
from .board import board_description
from .client import AgentClient, UploadOutcome
from .job_spec import job_spec_message
from .local_agent import start_local_agent
from .results import batch_results, job_info, job_progress, model_of_result, run_record
from .target import Target
from .targets_config import CredentialFlags, credentials_for


class BoardConnection:
    def __init__(self, client: AgentClient, target: Target) -> None:
        self.client = client
        self.target = target
        self._description: BoardDescription | None = None

    def describe(self) -> BoardDescription:
        """The agent's self-description, asked once per connection (the version handshake included)."""
        if self._description is None:
            self._description = board_description(self.client.describe())
        return self._description

    @property
    def board(self) -> Board:
        return self.describe().board

    def upload(self, path: Path, name: str) -> UploadOutcome:
        """The model in the agent's cache (sent only when the agent does not have it yet)."""
        return self.client.ensure_model(path, name)

    def submit(self, spec: JobSpec) -> str:
        return self.client.submit(job_spec_message(spec)).job_id

    def watch(self, job_id: str, model: ModelRecord | None = None,
              on_progress: Callable[[JobProgress], None] | None = None) -> RunRecord:
        """Follow a job to its run record. Without `model`, the model is the one the board ran (its name and
        sha256 there), as for a job re-attached by id."""

        def progress(event) -> None:
            update = job_progress(event)
            if update is not None and on_progress is not None:
                on_progress(update)

        result = self.client.watch(job_id, on_progress=progress)
        if model is None:
            model = model_of_result(result, self._model_size(result.model_sha256 or result.spec.model_sha256))
        return run_record(result, self.target.text, self.board, model)

    def watch_batch(self, job_id: str) -> tuple[RunRecord, list[BatchItemResult]]:
        """Follow a batch job to its end: the job's record (state, error, memory) and one result per item."""
        result = self.client.watch(job_id)
        model = model_of_result(result, 0)
        return run_record(result, self.target.text, self.board, model), batch_results(result)

    def _model_size(self, sha256: str) -> int:
        try:
            return self.client.model_status(sha256).size_bytes
        except ControllerError:  # the size is informational only
            return 0

    def collect(self, job_id: str) -> None:
        self.client.collect(job_id)

    def list_jobs(self) -> list[JobInfo]:
        return [job_info(j) for j in self.client.list_jobs()]


@contextlib.contextmanager
def connect(target: Target, connect_timeout_s: float = 10.0,
            flags: CredentialFlags | None = None) -> Iterator[BoardConnection]:
    """A connection to the target; `local` starts an agent on loopback for the duration. The credentials are
    the target's stored ones, with `flags` (the command line's) winning."""
    if target.is_local:
        with start_local_agent() as local, AgentClient(local.address, connect_timeout_s) as client:
            yield BoardConnection(client, target)
    else:
        with AgentClient(target.grpc_address, connect_timeout_s, credentials_for(target, flags)) as client:
            yield BoardConnection(client, target)
