"""A thin client over the agent's v1 gRPC API, with the checks and retries a user expects."""
from __future__ import annotations

import collections
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from edgebench.agent import API_VERSION, DEFAULT_PORT
from edgebench.agent.auth import METADATA_KEY, SCHEME
from edgebench.agent.model_store import file_sha256
from edgebench.v1 import agent_pb2 as pb
from edgebench.v1 import agent_pb2_grpc

from ..errors import AgentUnreachable, AgentVersionError, ControllerError
from .targets_config import AgentCredentials

UPLOAD_CHUNK_BYTES = 1 << 20
MAX_MESSAGE_BYTES = 64 << 20
SUPPORTED_API_VERSIONS = frozenset({API_VERSION})
# The oldest agent this controller works with: older ones are refused with how to upgrade them.
MIN_AGENT_VERSION = "0.1.0"


class AgentAuthError(ControllerError):
    """The agent refused our credentials (UNAUTHENTICATED)."""


class AgentTLSError(ControllerError):
    """The TLS handshake failed, or one side speaks TLS and the other does not."""


def version_tuple(text: str) -> tuple[int, ...]:
    """`0.1.0`, `0.2.0rc1`, `1.0.dev3` -> (0, 1, 0), (0, 2, 0), (1, 0): leading numbers of each dotted part."""
    parts = []
    for piece in text.strip().split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


class _TokenMetadata(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                     grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds `authorization: Bearer <token>` to every call on the channel."""

    def __init__(self, token: str) -> None:
        self._pair = (METADATA_KEY, SCHEME + token)

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        return _CallDetails(details.method, details.timeout, [*(details.metadata or ()), self._pair],
                            details.credentials, details.wait_for_ready, details.compression)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)


class _CallDetails(
    collections.namedtuple("_CallDetails", "method timeout metadata credentials wait_for_ready compression"),
    grpc.ClientCallDetails,
):
    pass


def open_channel(address: str, credentials: AgentCredentials) -> grpc.Channel:
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        # A board that drops off the network mid-watch is noticed within ~15 s (then re-attach or a clear
        # error) instead of a stream that waits forever on a dead TCP connection.
        ("grpc.keepalive_time_ms", 10_000),
        ("grpc.keepalive_timeout_ms", 5_000),
        ("grpc.keepalive_permit_without_calls", 1),
        # Re-attach quickly after an agent restart instead of backing off for minutes.
        ("grpc.initial_reconnect_backoff_ms", 500),
        ("grpc.max_reconnect_backoff_ms", 5000),
    ]
    if credentials.uses_tls:
        def read(path: str, what: str) -> bytes:
            try:
                return Path(path).read_bytes()
            except OSError as exc:
                raise AgentTLSError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None

        ssl = grpc.ssl_channel_credentials(
            root_certificates=read(credentials.tls_ca, "TLS CA file") if credentials.tls_ca else None,
            private_key=read(credentials.tls_key, "client key") if credentials.tls_key else None,
            certificate_chain=read(credentials.tls_cert, "client certificate") if credentials.tls_cert else None,
        )
        if credentials.tls_server_name:
            options.append(("grpc.ssl_target_name_override", credentials.tls_server_name))
        channel = grpc.secure_channel(address, ssl, options=options)
    else:
        channel = grpc.insecure_channel(address, options=options)
    return channel


@dataclass
class UploadOutcome:
    sha256: str
    size_bytes: int
    uploaded: bool  # False when the agent already had it


class AgentClient:
    def __init__(self, address: str, connect_timeout_s: float = 10.0,
                 credentials: AgentCredentials | None = None) -> None:
        self.address = address
        self.credentials = credentials or AgentCredentials()
        self._raw_channel = open_channel(address, self.credentials)
        try:
            self._wait_connected(connect_timeout_s)
        except BaseException:
            self._raw_channel.close()
            raise
        self._channel = (grpc.intercept_channel(self._raw_channel, _TokenMetadata(self.credentials.token))
                         if self.credentials.token else self._raw_channel)
        self.stub = agent_pb2_grpc.AgentStub(self._channel)
        self.health = health_pb2_grpc.HealthStub(self._channel)

    def _wait_connected(self, timeout_s: float) -> None:
        """Until something answers on the port (bounded); a TLS failure is reported at once, not retried."""
        health = health_pb2_grpc.HealthStub(self._raw_channel)
        started = time.monotonic()
        deadline = started + timeout_s
        closed = 0
        last = ""
        while True:
            remaining = deadline - time.monotonic()
            try:
                health.Check(health_pb2.HealthCheckRequest(), timeout=max(0.2, min(remaining, 5.0)),
                             wait_for_ready=False)
                return
            except grpc.RpcError as exc:
                if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    return  # the transport works and a server answered (one without a health service, say)
                last = exc.details() or exc.code().name
            problem = tls_problem(self.address, last, self.credentials)
            if problem:
                raise AgentTLSError(problem)
            closed = closed + 1 if "Socket closed" in last else 0
            if closed >= 3:  # accepted, then closed before any answer: a TLS port spoken to in plaintext
                raise AgentTLSError(closed_connection_hint(self.address, self.credentials))
            refusal = definite_refusal(self.address, last, time.monotonic() - started)
            if refusal:
                raise AgentUnreachable(refusal)
            if time.monotonic() >= deadline:
                reason = last.rsplit(": ", 1)[-1].rstrip("]") if last else "no answer"
                raise AgentUnreachable(
                    f"cannot reach an edgebench agent at {self.address} (no connection within {timeout_s:g} s: "
                    f"{reason}): is edgebench-agent running there and is the port open?"
                )
            time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        self._raw_channel.close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, what: str, fn: Callable, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except grpc.RpcError as exc:
            raise rpc_error(what, self.address, exc, self.credentials) from None

    def health_status(self, timeout_s: float = 5.0) -> str:
        """SERVING, NOT_SERVING, ... as the standard health service says (open without a token)."""
        reply = self._call("check health", self.health.Check, health_pb2.HealthCheckRequest(), timeout=timeout_s)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def describe(self, timeout_s: float = 150.0) -> pb.BoardDescription:
        desc = self._call("describe", self.stub.Describe, pb.DescribeRequest(), timeout=timeout_s)
        check_agent_version(self.address, desc)
        return desc

    def model_status(self, sha256: str) -> pb.ModelStatus:
        return self._call("check the model cache", self.stub.HasModel, pb.ModelRef(sha256=sha256), timeout=30)

    def ensure_model(self, path: Path, name: str = "") -> UploadOutcome:
        sha = file_sha256(path)
        status = self.model_status(sha)
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

    def submit(self, spec: pb.JobSpec, queue_full_wait_s: float = 300.0) -> pb.JobHandle:
        """Queue a job. A full queue (RESOURCE_EXHAUSTED) is retried with jittered backoff while the agent
        works through it, for up to `queue_full_wait_s`; any other refusal is reported at once."""
        give_up = time.monotonic() + queue_full_wait_s
        backoff = 0.05
        while True:
            try:
                return self.stub.Submit(spec, timeout=30)
            except grpc.RpcError as exc:
                full = exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "queue is full" in (exc.details() or "")
                if not full or time.monotonic() + backoff > give_up:
                    raise rpc_error("submit the job", self.address, exc) from None
            time.sleep(backoff * random.uniform(0.5, 1.0))
            backoff = min(backoff * 2, 2.0)

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
                    raise rpc_error(f"watch job {job_id}", self.address, exc, self.credentials) from None
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


def upgrade_hint(address: str) -> str:
    host, _, port = address.rpartition(":")
    target = host if port == str(DEFAULT_PORT) else address
    return (f"upgrade it from this host with `controller deploy --target [USER@]{target} --upgrade`, or on the "
            "board with `pip install -U 'edgebench[agent]'` in the agent's environment")


def check_agent_version(address: str, desc: pb.BoardDescription) -> None:
    """The handshake: an API this controller speaks, from an agent at least MIN_AGENT_VERSION."""
    if desc.api_version not in SUPPORTED_API_VERSIONS:
        raise AgentVersionError(
            f"the agent at {address} (edgebench-agent {desc.agent_version or '?'}) speaks API version "
            f"{desc.api_version}; this controller understands {', '.join(map(str, sorted(SUPPORTED_API_VERSIONS)))}. "
            "Install the same edgebench version on the host and the board: " + upgrade_hint(address) + "."
        )
    if version_tuple(desc.agent_version or "0") < version_tuple(MIN_AGENT_VERSION):
        raise AgentVersionError(
            f"the agent at {address} is edgebench-agent {desc.agent_version or '(unknown version)'}, older than "
            f"this controller needs ({MIN_AGENT_VERSION} or newer): " + upgrade_hint(address) + "."
        )


def tls_problem(address: str, detail: str, credentials: AgentCredentials) -> str:
    """One clear sentence for a failed TLS handshake, or "" when the error is not about TLS."""
    if "WRONG_VERSION_NUMBER" in detail or "wrong version number" in detail:
        return (f"TLS handshake with {address} failed: the agent there does not speak TLS (a plaintext agent?). "
                "Drop --tls-ca/--tls for this target, or start the agent with --tls-cert and --tls-key")
    if "Hostname Verification" in detail or "No match found for server name" in detail:
        return (f"TLS handshake with {address} failed: the agent's certificate does not name "
                f"{credentials.tls_server_name or address.rpartition(':')[0]}; pass --tls-server-name with a name "
                "it holds, or make the certificate for this address")
    if "CERTIFICATE_VERIFY_FAILED" in detail or "certificate verify failed" in detail:
        trusted = f"the CA in {credentials.tls_ca}" if credentials.tls_ca else "the system's trusted CAs"
        return (f"TLS handshake with {address} failed: the agent's certificate is not signed by {trusted} "
                "(wrong --tls-ca, or the agent's certificate was replaced)")
    if "handshake" in detail.lower() or "SSL_ERROR" in detail:
        return f"TLS handshake with {address} failed: {detail.rsplit(': ', 2)[-2] if ': ' in detail else detail}"
    return ""


REFUSED_GRACE_S = 1.0  # an agent restarting rebinds its port within this; a refusal after it is final


def definite_refusal(address: str, detail: str, waited_s: float) -> str:
    """A connect failure that waiting will not cure: a host name that does not resolve (at once), a port
    that refuses connections (after REFUSED_GRACE_S). "" for the others, which are retried to the timeout."""
    host = address.rsplit(":", 1)[0]
    if "Domain name not found" in detail or "Name or service not known" in detail:
        return f"cannot reach an edgebench agent at {address}: the host name {host} does not resolve"
    if "Connection refused" in detail and waited_s >= REFUSED_GRACE_S:
        return (f"cannot reach an edgebench agent at {address}: the connection was refused (nothing listens on "
                "that port: is edgebench-agent running there, on this port?)")
    return ""


def closed_connection_hint(address: str, credentials: AgentCredentials) -> str:
    if credentials.uses_tls and not credentials.tls_cert:
        return (f"the agent at {address} closed the TLS connection during the handshake: it probably requires a "
                "client certificate (mutual TLS); pass --tls-cert and --tls-key signed by its client CA")
    if credentials.uses_tls:
        return (f"the agent at {address} closed the TLS connection during the handshake: it does not accept this "
                "client certificate (not signed by its --tls-client-ca?)")
    return (f"the server at {address} accepts connections but closes them without answering: if the agent serves "
            "TLS, give the controller its CA (--tls-ca, or the target file `controller deploy --tls` wrote)")


def rpc_error(what: str, address: str, exc: grpc.RpcError,
              credentials: AgentCredentials | None = None) -> ControllerError:
    code = exc.code()
    detail = exc.details() or code.name
    if code == grpc.StatusCode.UNAUTHENTICATED:
        if credentials is not None and not credentials.token:
            return AgentAuthError(
                f"cannot {what}: the agent at {address} requires a token and this controller has none for it: "
                "`controller deploy` stores one per target; for an agent installed by hand use "
                "`controller targets add TARGET --token-file FILE` or pass --token-file"
            )
        return AgentAuthError(f"cannot {what}: the agent at {address} refused our token ({detail})")
    if code == grpc.StatusCode.UNAVAILABLE:
        problem = tls_problem(address, detail, credentials or AgentCredentials())
        if problem:
            return AgentTLSError(problem)
        return AgentUnreachable(f"cannot {what}: the agent at {address} is unreachable ({detail})")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return AgentVersionError(
            f"cannot {what}: the server at {address} does not implement it — not an edgebench agent, or one "
            "older than this controller (" + upgrade_hint(address) + ")"
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ControllerError(f"cannot {what}: the agent at {address} did not answer in time")
    return ControllerError(f"cannot {what}: {detail}")
