"""A thin client over the agent's v1 gRPC API, with the checks and retries a user expects."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from agent import API_VERSION
from agent.model_store import file_sha256
from agent.proto import agent_pb2 as pb
from agent.proto import agent_pb2_grpc

from .errors import AgentUnreachable, AgentVersionError, ControllerError

UPLOAD_CHUNK_BYTES = 1 << 20
MAX_MESSAGE_BYTES = 64 << 20
SUPPORTED_API_VERSIONS = frozenset({API_VERSION})


@dataclass
class UploadOutcome:
    sha256: str
    size_bytes: int
    uploaded: bool  # False when the agent already had it


class AgentClient:
    def __init__(self, address: str, connect_timeout_s: float = 10.0) -> None:
        self.address = address
        self._channel = grpc.insecure_channel(address, options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ])
        try:
            grpc.channel_ready_future(self._channel).result(timeout=connect_timeout_s)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise AgentUnreachable(
                f"cannot reach an edgebench agent at {address} (no connection within {connect_timeout_s:g} s): "
                "is edgebench-agent running there and is the port open?"
            ) from None
        self.stub = agent_pb2_grpc.AgentStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, what: str, fn: Callable, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except grpc.RpcError as exc:
            raise rpc_error(what, self.address, exc) from None

    def describe(self, timeout_s: float = 150.0) -> pb.BoardDescription:
        desc = self._call("describe", self.stub.Describe, pb.DescribeRequest(), timeout=timeout_s)
        if desc.api_version not in SUPPORTED_API_VERSIONS:
            raise AgentVersionError(
                f"the agent at {self.address} (edgebench-agent {desc.agent_version or '?'}) speaks API version "
                f"{desc.api_version}; this controller understands {', '.join(map(str, sorted(SUPPORTED_API_VERSIONS)))}. "
                "Install the same edgebench version on the host and the board (pip install -U 'edgebench[agent]')."
            )
        return desc

    def ensure_model(self, path: Path, name: str = "") -> UploadOutcome:
        sha = file_sha256(path)
        status = self._call("check the model cache", self.stub.HasModel, pb.ModelRef(sha256=sha), timeout=30)
        if status.present:
            return UploadOutcome(sha, status.size_bytes, False)
        size = path.stat().st_size

        def chunks() -> Iterator[pb.UploadChunk]:
            yield pb.UploadChunk(header=pb.UploadHeader(sha256=sha, size_bytes=size, name=name or path.name))
            with open(path, "rb") as f:
                while block := f.read(UPLOAD_CHUNK_BYTES):
                    yield pb.UploadChunk(data=block)

        status = self._call(f"upload {path.name}", self.stub.UploadModel, chunks(), timeout=max(60.0, size / 1e6))
        return UploadOutcome(sha, status.size_bytes, not status.already_present)

    def submit(self, spec: pb.JobSpec) -> pb.JobHandle:
        return self._call("submit the job", self.stub.Submit, spec, timeout=30)

    def cancel(self, job_id: str) -> pb.JobStatus:
        return self._call("cancel the job", self.stub.Cancel, pb.JobRef(job_id=job_id), timeout=30)

    def collect(self, job_id: str) -> None:
        self._call("collect the result", self.stub.Collect, pb.JobRef(job_id=job_id), timeout=30)

    def list_jobs(self) -> list[pb.JobStatus]:
        return list(self._call("list jobs", self.stub.ListJobs, pb.ListJobsRequest(), timeout=30).jobs)

    def watch(self, job_id: str, on_progress: Callable[[pb.JobEvent], None] | None = None,
              reattach_for_s: float = 60.0) -> pb.JobResult:
        """Follow a job to its result. A dropped stream is re-attached by job id, with backoff."""
        backoff = 0.2
        gave_up_at = None
        while True:
            try:
                for event in self.stub.Watch(pb.WatchRequest(job_id=job_id)):
                    gave_up_at = None
                    if event.WhichOneof("kind") == "result":
                        return event.result
                    if on_progress is not None:
                        on_progress(event)
                raise ControllerError(f"the agent at {self.address} ended the watch of job {job_id} without a result")
            except grpc.RpcError as exc:
                if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                    raise rpc_error(f"watch job {job_id}", self.address, exc) from None
                now = time.monotonic()
                gave_up_at = gave_up_at or now + reattach_for_s
                if now >= gave_up_at:
                    raise AgentUnreachable(
                        f"lost the agent at {self.address} while watching job {job_id} and could not re-attach "
                        f"for {reattach_for_s:g} s; the result stays on the board: "
                        f"re-attach later with the job id"
                    ) from None
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)


def rpc_error(what: str, address: str, exc: grpc.RpcError) -> ControllerError:
    code = exc.code()
    detail = exc.details() or code.name
    if code == grpc.StatusCode.UNAVAILABLE:
        return AgentUnreachable(f"cannot {what}: the agent at {address} is unreachable ({detail})")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return AgentVersionError(
            f"cannot {what}: the server at {address} does not implement it — not an edgebench agent, or one "
            "older than this controller (upgrade it: pip install -U 'edgebench[agent]')"
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ControllerError(f"cannot {what}: the agent at {address} did not answer in time")
    return ControllerError(f"cannot {what}: {detail}")
