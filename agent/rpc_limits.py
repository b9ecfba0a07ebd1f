"""How many long-lived calls the agent serves at once, so short ones always find a thread.

A Watch or an upload holds one of gRPC's server threads for as long as it lasts. Without a cap, 16 of them
took every thread and the health check, Describe, ListJobs and Cancel waited behind them until their
deadline: a working agent looked dead. Streams are capped in total and per caller (by address) and refused
at once with RESOURCE_EXHAUSTED over the cap, and the server has `unary_threads` threads beyond the streams'.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

import grpc


@dataclass
class RpcLimits:
    unary_threads: int = 16  # threads always left for short calls (health, Describe, ListJobs, Cancel, ...)
    max_streams: int = 32  # Watch and UploadModel calls at once, all callers together
    max_streams_per_peer: int = 16  # the same from one address
    max_open_calls: int = 2  # unauthenticated health checks being read at once (agent/auth.py)

    @property
    def threads(self) -> int:
        return self.unary_threads + self.max_streams

    @property
    def max_concurrent_rpcs(self) -> int:
        # Beyond this gRPC answers RESOURCE_EXHAUSTED itself; the margin lets short calls queue briefly.
        return self.threads + self.unary_threads


def peer_host(peer: str) -> str:
    """`ipv4:10.0.0.1:51234` -> `ipv4:10.0.0.1`; `ipv6:[::1]:5000` -> `ipv6:[::1]`."""
    host, sep, port = peer.rpartition(":")
    return host if sep and port.isdigit() else peer


class StreamLimiter:
    def __init__(self, max_streams: int, max_per_peer: int) -> None:
        self.max_streams = max_streams
        self.max_per_peer = max_per_peer
        self._lock = threading.Lock()
        self._by_peer: Counter[str] = Counter()
        self.refused = 0

    @property
    def open(self) -> int:
        with self._lock:
            return sum(self._by_peer.values())

    def admit(self, context: grpc.ServicerContext, what: str) -> None:
        """Count this call as a stream until it ends, or abort it with RESOURCE_EXHAUSTED over the caps."""
        peer = peer_host(context.peer() or "")
        with self._lock:
            total = sum(self._by_peer.values())
            if total >= self.max_streams or self._by_peer[peer] >= self.max_per_peer:
                self.refused += 1
                over = (f"{self._by_peer[peer]} from this caller (limit {self.max_per_peer})"
                        if self._by_peer[peer] >= self.max_per_peer else f"{total} in all (limit {self.max_streams})")
                problem = (f"the agent has too many streams open ({over}): this {what} is refused; close a watch "
                           "or an upload, or try again")
            else:
                self._by_peer[peer] += 1
                problem = ""
        if problem:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, problem)
        released = threading.Event()

        def release() -> None:
            if released.is_set():
                return
            released.set()
            with self._lock:
                self._by_peer[peer] -= 1
                if self._by_peer[peer] <= 0:
                    del self._by_peer[peer]

        if not context.add_callback(release):  # the call already ended
            release()
