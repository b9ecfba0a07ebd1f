"""The job queue: one job at a time (the board is the instrument), results persisted until collected.

State on disk, per job: jobs/<id>/spec.pb, meta.json (state, submission time) and, once finished,
result.pb. Every file is written to a temp name and renamed, so a crash never leaves half a record.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from edgebench.v1 import agent_pb2 as pb

from . import __version__
from .job_files import META_FILE, RESULT_FILE, SPEC_FILE
from .job_records import JobRecord, read_record
from .job_results import complete_batch, fit_in_a_message
from .model_store import ModelStore
from .worker_runner import WorkerRun, describe_exit, last_error_line

TERMINAL_STATES = frozenset(
    {pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED, pb.JOB_STATE_TIMED_OUT,
     pb.JOB_STATE_INTERRUPTED}
)


MEMORY_ONLY_WARNING = "the agent could not store this result on disk"
PERSIST_RETRY_S = 2.0  # how often a result kept in memory is tried on disk again

class QueueFull(Exception):
    pass


class UnknownJob(Exception):
    pass


class JobNotFinished(Exception):
    pass


@dataclass
class JobLimits:
    max_queue: int = 64
    default_timeout_s: float = 600.0
    max_timeout_s: float = 24 * 3600.0
    worker_memory_bytes: int = 0  # 0: no limit


@dataclass
class Job:
    job_id: str
    spec: pb.JobSpec
    submitted_unix_s: float
    state: int = pb.JOB_STATE_QUEUED
    result: pb.JobResult | None = None
    # The latest event and a counter: a watcher sends the newest snapshot, never a backlog.
    last_event: pb.JobEvent | None = None
    seq: int = 0
    run: WorkerRun | None = None
    cancel_requested: bool = False
    extra_warnings: list[str] = field(default_factory=list)

    def status(self) -> pb.JobStatus:
        return pb.JobStatus(
            job_id=self.job_id, state=self.state, error=self.result.error if self.result else "",
            model_name=self.spec.model_name, submitted_unix_s=self.submitted_unix_s,
        )


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:  # disk full, say: the old record (if any) stays whole, no temp file stays behind
        tmp.unlink(missing_ok=True)
        raise


def _log(message: str) -> None:
    print(f"edgebench-agent: {message}", file=sys.stderr, flush=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _disk_full_note(path: Path) -> str:
    try:
        st = os.statvfs(path)
    except OSError:
        return ""
    return "the agent's state dir is out of space" if st.f_bavail * st.f_frsize < (1 << 20) else ""


# Hooks the measurement add-ons (sensors) attach to: called around the worker with the job and result.
JobHook = Callable[[Job, pb.JobResult], None]


class JobManager:
    def __init__(self, state_dir: Path, models: ModelStore, limits: JobLimits) -> None:
        self.jobs_dir = state_dir / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.models = models
        self.limits = limits
        self._jobs: dict[str, Job] = {}
        self._queue: collections.deque[Job] = collections.deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._unsaved: set[str] = set()  # finished jobs whose result is in memory only (the disk was full)
        self.before_worker: list[Callable[[Job], None]] = []
        self.after_worker: list[JobHook] = []
        self._recover()
        self._runner = threading.Thread(target=self._run_forever, name="job-runner", daemon=True)

    def start(self) -> None:
        self._runner.start()

    # ------------------------------------------------------------------ recovery

    def _recover(self) -> None:
        """Reload jobs after a restart: finished stay, queued are queued again, running become interrupted.

        A damaged record is never dropped: an intact result stays collectable whatever happened to spec.pb or
        meta.json, and a record that cannot be trusted to run again is kept as failed, saying what is damaged
        (its files stay until it is collected). Each is logged."""
        recovered: list[Job] = []
        for job_dir in sorted(self.jobs_dir.iterdir()):
            if not job_dir.is_dir():
                continue
            record = read_record(job_dir)
            if record.empty:  # a submission cut off before it was acknowledged: nothing to keep
                shutil.rmtree(job_dir, ignore_errors=True)
                _log(f"removed {job_dir.name}: a submission cut off before it was recorded")
                continue
            recovered.append(self._recovered_job(record, job_dir))
        recovered.sort(key=lambda j: (j.submitted_unix_s, j.job_id))
        with self._cond:
            for job in recovered:
                self._jobs[job.job_id] = job
                if job.state == pb.JOB_STATE_QUEUED:
                    self._queue.append(job)
                self._set_event(job, self._terminal_or_state_event(job))

    def _recovered_job(self, record: JobRecord, job_dir: Path) -> Job:
        spec = record.spec or (record.result.spec if record.result is not None else None) or pb.JobSpec()
        submitted = record.submitted_unix_s
        if submitted is None:  # meta.json lost it: the result's start, else the record's own time on disk
            submitted = (record.result.started_unix_s if record.result is not None else 0.0) or _mtime(job_dir)
        job = Job(record.job_id, spec, submitted)
        damage = "; ".join(record.problems)
        if record.result is not None:
            job.result, job.state = record.result, record.result.state
            if damage:
                note = f"the agent's record of this job was damaged ({damage}); its result is intact"
                job.result.warnings.append(note)
                _log(f"job {record.job_id}: {note} and kept")
        elif record.result_damage:
            error = f"the agent's stored result of this job is unreadable ({record.result_damage})"
            if damage:
                error += f"; its record is damaged too ({damage})"
            self._finish(job, pb.JobResult(state=pb.JOB_STATE_FAILED, error=error), notify=False, persist=False)
            _log(f"job {record.job_id}: {error}; kept as failed until collected")
        elif damage:
            error = (f"the agent's record of this job is damaged ({damage}); it was not run again and its files "
                     "are kept until it is collected")
            self._finish(job, pb.JobResult(state=pb.JOB_STATE_FAILED, error=error), notify=False, persist=False)
            _log(f"job {record.job_id}: {error}")
        elif record.state == pb.JOB_STATE_RUNNING:
            self._finish(job, pb.JobResult(
                state=pb.JOB_STATE_INTERRUPTED,
                error="the agent stopped while this job was running; it was not completed",
            ), notify=False)
        else:
            job.state = pb.JOB_STATE_QUEUED
        return job

    # ------------------------------------------------------------------ API used by the gRPC service

    def submit(self, spec: pb.JobSpec) -> tuple[Job, int]:
        with self._cond:
            if self._stopping:
                raise QueueFull("the agent is shutting down")
            if len(self._queue) >= self.limits.max_queue:
                raise QueueFull(f"the job queue is full ({self.limits.max_queue} jobs waiting); try again later")
            job_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
            job = Job(job_id, spec, time.time())
            job_dir = self.jobs_dir / job_id
            job_dir.mkdir()
            try:
                _write_atomic(job_dir / SPEC_FILE, spec.SerializeToString())
                self._write_meta(job)
            except OSError:  # not acknowledged: leave nothing behind
                shutil.rmtree(job_dir, ignore_errors=True)
                raise
            self._jobs[job_id] = job
            self._queue.append(job)
            position = len(self._queue) if self._running_job() else len(self._queue) - 1
            self._set_event(job, pb.JobEvent(
                job_id=job_id, state=pb.JOB_STATE_QUEUED,
                progress=pb.Progress(phase="queued", queue_position=position),
            ))
            self._cond.notify_all()
            return job, position

    def get(self, job_id: str) -> Job:
        with self._cond:
            job = self._jobs.get(job_id)
        if job is None:
            shown = job_id if len(job_id) <= 80 else job_id[:80] + "..."  # never echo megabytes back
            raise UnknownJob(f"no job {shown!r} on this agent (finished results are kept until collected)")
        return job

    def list(self) -> list[Job]:
        with self._cond:
            return sorted(self._jobs.values(), key=lambda j: (j.submitted_unix_s, j.job_id))

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        with self._cond:
            if job.state in TERMINAL_STATES:
                return job
            job.cancel_requested = True
            if job in self._queue:
                self._queue.remove(job)
                self._finish(job, pb.JobResult(state=pb.JOB_STATE_CANCELLED, error="cancelled before it started"))
                return job
            run = job.run
        if run is not None:
            run.cancel()
        return job

    def collect(self, job_id: str) -> Job:
        """The controller has the result: forget the job and delete its files."""
        job = self.get(job_id)
        with self._cond:
            if job.state not in TERMINAL_STATES:
                raise JobNotFinished(f"job {job_id} has not finished (state {pb.JobState.Name(job.state)})")
            self._jobs.pop(job_id, None)
            self._unsaved.discard(job_id)
        shutil.rmtree(self.jobs_dir / job_id, ignore_errors=True)
        return job

    def watch(self, job_id: str, is_active: Callable[[], bool], poll_s: float = 1.0) -> Iterator[pb.JobEvent]:
        """Yield the newest event whenever it changes, until the job ends or the client goes away."""
        job = self.get(job_id)
        seen = -1
        while True:
            with self._cond:
                self._cond.wait_for(lambda last=seen: job.seq != last or self._stopping, timeout=poll_s)
                event, seq, stopping = job.last_event, job.seq, self._stopping
            if not is_active():
                return
            if seq != seen and event is not None:
                seen = seq
                yield event
                if event.state in TERMINAL_STATES:
                    return
            if stopping:
                return

    def shutdown(self, timeout_s: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            running = self._running_job()
            self._cond.notify_all()
        if running is not None and running.run is not None:
            running.run.cancel()  # the job is recorded as interrupted below, not as cancelled
        self._runner.join(timeout=timeout_s)

    # ------------------------------------------------------------------ internals

    def _running_job(self) -> Job | None:
        return next((j for j in self._jobs.values() if j.state == pb.JOB_STATE_RUNNING), None)

    def _write_meta(self, job: Job) -> None:
        meta = {"state": job.state, "submitted_unix_s": job.submitted_unix_s, "model_name": job.spec.model_name}
        _write_atomic(self.jobs_dir / job.job_id / META_FILE, json.dumps(meta).encode())

    def _set_event(self, job: Job, event: pb.JobEvent) -> None:
        # Caller holds the lock.
        job.last_event = event
        job.seq += 1
        self._cond.notify_all()

    def _terminal_or_state_event(self, job: Job) -> pb.JobEvent:
        if job.result is not None:
            return pb.JobEvent(job_id=job.job_id, state=job.state, result=job.result)
        return pb.JobEvent(job_id=job.job_id, state=job.state, progress=pb.Progress(phase="queued"))

    def _finish(self, job: Job, result: pb.JobResult, notify: bool = True, persist: bool = True) -> None:
        result.job_id = job.job_id
        result.model_sha256 = job.spec.model_sha256
        result.model_name = job.spec.model_name
        result.spec.CopyFrom(job.spec)
        result.agent_version = __version__
        result.finished_unix_s = result.finished_unix_s or time.time()
        job_dir = self.jobs_dir / job.job_id
        stored = False
        if persist and job_dir.exists():
            try:
                _write_atomic(job_dir / RESULT_FILE, result.SerializeToString())
                stored = True
                job.state = result.state
                self._write_meta(job)  # if only this fails, the stored result still wins at the next start
            except OSError as exc:  # disk full: the result is still delivered, from memory
                if not stored:
                    result.warnings.append(f"{MEMORY_ONLY_WARNING} ({exc}); it is kept in memory only and is lost "
                                           "if the agent restarts before it is collected or the disk has room")
                    self._unsaved.add(job.job_id)
        job.result = result
        job.state = result.state
        event = pb.JobEvent(job_id=job.job_id, state=job.state, result=result)
        if notify:
            self._set_event(job, event)
        else:
            job.last_event = event

    def _persist_unsaved(self) -> None:
        """Results kept in memory because the state dir was full, written as soon as it has room (the caller
        holds the lock). Each then says it was written late instead of warning that it may be lost."""
        for job_id in sorted(self._unsaved):
            job = self._jobs.get(job_id)
            job_dir = self.jobs_dir / job_id
            if job is None or job.result is None or not job_dir.exists():  # collected meanwhile
                self._unsaved.discard(job_id)
                continue
            late = pb.JobResult()
            late.CopyFrom(job.result)
            kept = [w for w in late.warnings if not w.startswith(MEMORY_ONLY_WARNING)]
            late.ClearField("warnings")
            late.warnings.extend([*kept, f"{MEMORY_ONLY_WARNING} when the job ended (the disk was full); it was "
                                         "kept in memory and written once space was freed"])
            try:
                _write_atomic(job_dir / RESULT_FILE, late.SerializeToString())
            except OSError:
                return  # still full: try again later
            self._unsaved.discard(job_id)
            job.result = late
            job.last_event = pb.JobEvent(job_id=job_id, state=job.state, result=late)
            try:
                self._write_meta(job)
            except OSError:
                pass  # the stored result decides at the next start
            _log(f"job {job_id}: its result, kept in memory while the disk was full, is now stored")

    def _run_forever(self) -> None:
        while True:
            with self._cond:
                while not (self._queue or self._stopping):
                    self._cond.wait(timeout=PERSIST_RETRY_S if self._unsaved else None)
                    if self._unsaved:
                        self._persist_unsaved()
                if self._stopping:
                    return
                job = self._queue.popleft()
                job.state = pb.JOB_STATE_RUNNING
                try:
                    self._write_meta(job)
                    not_recorded = None
                except OSError as exc:
                    # Never run a job whose start is not on disk: after a restart it would run a second time.
                    not_recorded = pb.JobResult(
                        state=pb.JOB_STATE_FAILED,
                        error=f"the agent cannot record the job's start in its state dir ({exc}); it did not run")
                self._set_event(job, pb.JobEvent(
                    job_id=job.job_id, state=job.state, progress=pb.Progress(phase="starting")))
                for position, waiting in enumerate(self._queue, start=1):
                    self._set_event(waiting, pb.JobEvent(
                        job_id=waiting.job_id, state=waiting.state,
                        progress=pb.Progress(phase="queued", queue_position=position)))
            try:
                result = not_recorded or self._execute(job)
            except Exception as exc:  # a bug here must not stop the queue
                result = pb.JobResult(state=pb.JOB_STATE_FAILED, error=f"agent error: {type(exc).__name__}: {exc}")
            with self._cond:
                if self._unsaved:
                    self._persist_unsaved()
                try:
                    self._finish(job, result)
                except Exception as exc:  # the queue goes on, and a watcher still gets an answer
                    self._finish(job, pb.JobResult(
                        state=pb.JOB_STATE_FAILED, error=f"agent error: {type(exc).__name__}: {exc}"))

    def _cached_paths(self, spec: pb.JobSpec) -> tuple[list[Path], dict[str, Path], str]:
        """The cached file of the job's model (or of each batch item) and of each uploaded input array; or why
        one is missing."""
        shas = [item.model_sha256 for item in spec.batch] if spec.batch else [spec.model_sha256]
        arrays = {data.name: data.npy_sha256 for data in spec.inputs if data.npy_sha256}
        paths: dict[str, Path] = {}
        for sha in [*shas, *arrays.values()]:
            if sha not in paths:
                stored = self.models.get(sha)
                if stored is None:
                    return [], {}, f"{'model' if sha in shas else 'input array'} {sha} is no longer in the agent's cache"
                paths[sha] = stored.path
        return [paths[sha] for sha in shas], {name: paths[sha] for name, sha in arrays.items()}, ""

    def _execute(self, job: Job) -> pb.JobResult:
        model_paths, input_paths, missing = self._cached_paths(job.spec)
        if missing:
            return pb.JobResult(state=pb.JOB_STATE_FAILED, error=missing)
        started = time.time()
        timeout_s = job.spec.timeout_s or self.limits.default_timeout_s

        def on_progress(line: dict) -> None:
            progress = pb.Progress(
                phase=str(line.get("phase", "")), done=int(line.get("done", 0)), total=int(line.get("total", 0)),
                elapsed_s=float(line.get("elapsed_s", 0.0)), message=str(line.get("message", "")),
                batch_done=int(line.get("batch_done", 0)), batch_total=int(line.get("batch_total", 0)),
            )
            with self._cond:
                self._set_event(job, pb.JobEvent(job_id=job.job_id, state=job.state, progress=progress))

        for hook in self.before_worker:
            hook(job)
        with self._cond:
            stopped = self._stopping or job.cancel_requested
        if stopped:
            result = self._stopped_result(job)
            for hook in self.after_worker:  # let the add-ons release what before_worker took
                hook(job, result)
            return result
        with self._cond:
            job.run = WorkerRun(self.jobs_dir / job.job_id, job.spec, model_paths, on_progress,
                                self.limits.worker_memory_bytes, input_paths)
        outcome = job.run.wait(timeout_s)
        if outcome.timed_out:
            result = pb.JobResult(
                state=pb.JOB_STATE_TIMED_OUT,
                error=f"the job ran past its timeout of {timeout_s:g} s; the worker was killed",
            )
        elif outcome.cancelled:
            result = self._stopped_result(job)
        elif outcome.result is not None:
            result = outcome.result
        else:
            detail = last_error_line(outcome.stderr_tail) or _disk_full_note(self.jobs_dir)
            result = pb.JobResult(
                state=pb.JOB_STATE_FAILED,
                error=describe_exit(outcome.exit_code) + (f" ({detail})" if detail else "")
                + " before it reported a result: the runtime crashed or ran out of memory",
            )
        if job.spec.batch:
            complete_batch(result, job.spec, outcome.batch)
        fit_in_a_message(result)
        result.worker_exit_code = outcome.exit_code
        result.started_unix_s = started
        result.warnings.extend(job.extra_warnings)
        for hook in self.after_worker:
            hook(job, result)
        return result

    def _stopped_result(self, job: Job) -> pb.JobResult:
        if self._stopping and not job.cancel_requested:
            return pb.JobResult(state=pb.JOB_STATE_INTERRUPTED, error="the agent shut down while this job ran")
        return pb.JobResult(state=pb.JOB_STATE_CANCELLED, error="cancelled while running")

