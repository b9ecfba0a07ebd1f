"""Who may use the agent: a bearer token checked on every call, and the listen-address rule.

The controller sends `authorization: Bearer <token>` as call metadata. A call without it, or with another
token, is refused with UNAUTHENTICATED before its handler runs: no upload is stored, no job is queued.
The standard health service stays open (it says SERVING or NOT_SERVING and nothing else), so a deploy or a
load balancer can wait for the agent without holding its token; Describe, which tells what the board is,
needs the token like everything else.
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
# Open without a token: the health service only (see the module docstring).
OPEN_METHODS = frozenset({"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"})


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


def _reject(message: str):
    def unary(request, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    def streaming(request_iterator, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return unary, streaming


class TokenAuthInterceptor(grpc.ServerInterceptor):
    """Refuses every call but the health service's unless it carries the agent's token."""

    def __init__(self, token: str, log_every_s: float = 10.0) -> None:
        self._expected = (SCHEME + check_token(token)).encode()
        self._lock = threading.Lock()
        self._log_every_s = log_every_s
        self._last_log = 0.0
        self.rejected = 0  # calls refused since start (tests read it; the log line reports it)

    def intercept_service(self, continuation, handler_call_details):
        if handler_call_details.method in OPEN_METHODS:
            return continuation(handler_call_details)
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
        unary, streaming = _reject(message)
        # The refusal must have the same shape (streaming or not) as the method it stands in for; the real
        # handler is only looked up here, never called.
        handler = continuation(handler_call_details)
        if handler is not None and handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(streaming)
        if handler is not None and handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(streaming)
        if handler is not None and handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(unary)
        return grpc.unary_unary_rpc_method_handler(unary)

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
