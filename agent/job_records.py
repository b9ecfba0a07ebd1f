"""Reading one job's directory back after a restart, saying precisely what is damaged instead of guessing.

A record is spec.pb + meta.json, plus result.pb once the job finished. A disk can damage any of them; the
result is what matters (a measurement cannot be taken again for free), so a damaged spec or meta never
costs an intact result, and a record that cannot be trusted to run is reported, never silently dropped.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import DecodeError

from edgebench.v1 import agent_pb2 as pb

from .job_files import META_FILE, RESULT_FILE, SPEC_FILE
from .model_store import UploadError, check_sha256


@dataclass
class JobRecord:
    job_id: str
    spec: pb.JobSpec | None = None  # None: missing or damaged
    state: int | None = None  # the state meta.json recorded; None: missing or damaged
    submitted_unix_s: float | None = None
    result: pb.JobResult | None = None  # an intact result.pb
    result_damage: str = ""  # why result.pb, which exists, cannot be used
    problems: list[str] = field(default_factory=list)  # what is damaged in spec.pb / meta.json, in words

    @property
    def empty(self) -> bool:
        """Nothing but temp files: a submission cut off before it was acknowledged."""
        return self.spec is None and self.state is None and self.result is None and not self.result_damage


def read_record(job_dir: Path) -> JobRecord:
    record = JobRecord(job_dir.name)
    present = {name: (job_dir / name).exists() for name in (SPEC_FILE, META_FILE, RESULT_FILE)}
    if present[SPEC_FILE]:
        record.spec, problem = _read_spec(job_dir / SPEC_FILE)
        if problem:
            record.problems.append(problem)
    elif present[META_FILE] or present[RESULT_FILE]:
        record.problems.append(f"{SPEC_FILE} is missing")
    if present[META_FILE]:
        problem = _read_meta(job_dir / META_FILE, record)
        if problem:
            record.problems.append(problem)
    elif present[SPEC_FILE] or present[RESULT_FILE]:
        record.problems.append(f"{META_FILE} is missing")
    if present[RESULT_FILE]:
        record.result, record.result_damage = _read_result(job_dir / RESULT_FILE, job_dir.name)
    return record


def _read_spec(path: Path) -> tuple[pb.JobSpec | None, str]:
    try:
        spec = pb.JobSpec.FromString(path.read_bytes())
    except OSError as exc:
        return None, f"{SPEC_FILE} cannot be read ({exc.strerror or exc})"
    except DecodeError:
        return None, f"{SPEC_FILE} does not parse as a JobSpec"
    # Random bytes can parse as a message of unknown fields: a spec the agent accepted names its model(s).
    try:
        for sha in [item.model_sha256 for item in spec.batch] or [spec.model_sha256]:
            check_sha256(sha)
    except UploadError:
        return None, f"{SPEC_FILE} parses but names no valid model: it is not the spec the agent accepted"
    return spec, ""


def _read_meta(path: Path, record: JobRecord) -> str:
    try:
        meta = json.loads(path.read_text())
    except OSError as exc:
        return f"{META_FILE} cannot be read ({exc.strerror or exc})"
    except (ValueError, UnicodeDecodeError) as exc:
        return f"{META_FILE} is not valid JSON ({str(exc).splitlines()[0][:120]})"
    if not isinstance(meta, dict):
        return f"{META_FILE} holds {type(meta).__name__ if meta is not None else 'null'}, not a record"
    state, submitted = meta.get("state"), meta.get("submitted_unix_s")
    if isinstance(state, bool) or not isinstance(state, int) or state not in pb.JobState.values():
        return f"{META_FILE} has no valid job state (state = {str(state)[:40]})"
    if isinstance(submitted, bool) or not isinstance(submitted, (int, float)) or not math.isfinite(submitted):
        return f"{META_FILE} has no valid submission time (submitted_unix_s = {str(submitted)[:40]})"
    record.state, record.submitted_unix_s = state, float(submitted)
    return ""


def _read_result(path: Path, job_id: str) -> tuple[pb.JobResult | None, str]:
    try:
        result = pb.JobResult.FromString(path.read_bytes())
    except OSError as exc:
        return None, f"{RESULT_FILE} cannot be read ({exc.strerror or exc})"
    except DecodeError:
        return None, f"{RESULT_FILE} does not parse"
    if result.job_id != job_id:  # the agent writes its job id into every result it stores
        return None, f"{RESULT_FILE} parses but is not this job's result"
    return result, ""
