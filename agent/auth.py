"""Who may use the agent: a bearer token checked on every call, and the listen-address rule.

The controller sends `authorization: Bearer <token>` as call metadata. A call without it, or with another
token, is refused with UNAUTHENTICATED before its handler runs: no upload is stored, no job is queued.
The standard health check stays open (it says SERVING or NOT_SERVING and nothing else), so a deploy or a
load balancer can wait for the agent without holding its token; its streaming Watch, Describe, which tells
what the board is, and everything else need the token. A refused call is refused before its request body is
read, so callers without the token cannot make the agent buffer their messages (tests/e2e/test_auth_attacks.py).
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import sys
import threading
import time
from pathlib import Path

import grpc

METADATA_KEY = "authorization"
SCHEME = "Bearer "
MIN_TOKEN_CHARS = 16
ENV_TOKEN = "EDGEBENCH_AGENT_TOKEN"
# Open without a token: the health check only (see the module docstring). Its request is read only a few at a
# time (max_open_calls), so callers without the token cannot make the agent buffer much: every other refusal
# happens before the request's body is read.
OPEN_METHODS = frozenset({"/grpc.health.v1.Health/Check"})


class TokenError(ValueError):
    """The token cannot be used (file missing, empty, too short); the agent does not start."""


def read_token_file(path: str) -> str:
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise TokenError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    check_token(token, f"the token in {path}")
    mode = os.stat(path).st_mode
    if mode & 0o077:
        print(f"edgebench-agent: warning: the token file {path} is readable by other users "
              f"(mode {mode & 0o777:o}); chmod 600 it", file=sys.stderr, flush=True)
    return token


def check_token(token: str, what: str = "the token") -> str:
    if len(token) < MIN_TOKEN_CHARS:
        raise TokenError(f"{what} is {len(token)} characters; use at least {MIN_TOKEN_CHARS} "
                         "(controller deploy makes a 43-character random one)")
    if any(c.isspace() or not c.isprintable() for c in token):
        raise TokenError(f"{what} must be one printable word without spaces")
    return token


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; any other name or address counts as reachable from outside."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refusal(message: str, response_streaming: bool) -> grpc.RpcMethodHandler:
    """A handler that refuses without reading the request: it is request-streaming whatever the method is, so
    gRPC never receives the caller's message (a unary handler would get it whole, up to the receive limit,
    before it could refuse: 60 MiB per call for anyone who reaches the port). On the wire a unary request is a
    stream of one message, and a refusal sends no response, so the caller sees the method it called."""

    def refuse(request_iterator, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    if response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse)
    return grpc.stream_unary_rpc_method_handler(refuse)


class TokenAuthInterceptor(grpc.ServerInterceptor):
    """Refuses every call but the health service's unless it carries the agent's token."""

    def __init__(self, token: str, log_every_s: float = 10.0, max_open_calls: int = 4) -> None:
        self._expected = (SCHEME + check_token(token)).encode()
        self._lock = threading.Lock()
        self._open_slots = threading.BoundedSemaphore(max_open_calls)
        self._log_every_s = log_every_s
        self._last_log = 0.0
        self.rejected = 0  # calls refused since start (tests read it; the log line reports it)

    def intercept_service(self, continuation, handler_call_details):
        if handler_call_details.method in OPEN_METHODS:
            return self._bounded(continuation(handler_call_details))
        presented = ""
        for key, value in handler_call_details.invocation_metadata or ():
            if key == METADATA_KEY:
                presented = value if isinstance(value, str) else value.decode("latin-1")
        if presented and hmac.compare_digest(presented.encode("utf-8", "replace"), self._expected):
            return continuation(handler_call_details)
        why = "no token was presented" if not presented else "the token is wrong"
        self._note_rejection(handler_call_details.method, why)
        message = (f"this edgebench agent needs its token and {why}: use the token `controller deploy` stored "
                   "for this target, or pass --token-file")
        # The real handler is only looked up (for the response's shape), never called.
        handler = continuation(handler_call_details)
        return _refusal(message, handler is not None and handler.response_streaming)

    def _bounded(self, handler: grpc.RpcMethodHandler | None) -> grpc.RpcMethodHandler | None:
        """The open unary method, reading its request only while it holds one of a few slots: as a plain unary
        handler gRPC would receive every caller's message whole (up to the receive limit) before it runs."""
        if handler is None or handler.request_streaming or handler.response_streaming:
            return handler
        behaviour = handler.unary_unary

        def bounded(request_iterator, context):
            if not self._open_slots.acquire(blocking=False):
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many health checks at once; try again")
            try:
                request = next(request_iterator, None)
            finally:
                self._open_slots.release()
            if request is None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no request message")
            return behaviour(request, context)

        return grpc.stream_unary_rpc_method_handler(bounded, request_deserializer=handler.request_deserializer,
                                                    response_serializer=handler.response_serializer)

    def _note_rejection(self, method: str, why: str) -> None:
        with self._lock:
            self.rejected += 1
            now = time.monotonic()
            if now - self._last_log < self._log_every_s:
                return
            self._last_log = now
            count = self.rejected
        print(f"edgebench-agent: refused {method}: {why} ({count} refused since start)", file=sys.stderr,
              flush=True)
