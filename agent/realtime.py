"""Real-time mode (JobSpec.rate_hz): frames arrive at a fixed rate, as from a camera, and each is inferred once it
has arrived and the runtime is free. What a board does under that load is not what it does flat out: caches
go cold between frames, clocks drop, and a frame that comes while the previous one still runs waits.

The loop sleeps until each frame's arrival (never busy-waits: the idle time between frames is part of what is
measured, power included), then times invoke() alone, as the flat-out loop does. A late runtime never skips a
frame: the next one starts at once and its wait counts in its response time.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edgebench.v1 import agent_pb2 as pb

# A sleep() that overshoots lands a frame late; ending the sleep this early and spinning the rest keeps the
# start on time without burning a core between frames.
SPIN_NS = 200_000


@dataclass
class FrameTimes:
    """Per frame, on the loop's clock (ns): when it arrived, when invoke() started and ended."""

    arrival: list[int]
    start: list[int]
    end: list[int]

    @property
    def latency_ns(self) -> list[int]:
        return [e - s for s, e in zip(self.start, self.end, strict=True)]


def paced_loop(invoke: Callable[[], None], rate_hz: float, frames: int, min_duration_s: float,
               max_duration_s: float, clock: Callable[[], int], on_frame: Callable[[int, int], None]) -> FrameTimes:
    """At least `frames` frames and at least `min_duration_s` (frames keep arriving until both hold), at most
    `max_duration_s` when set; on_frame(done, end_ns) after each, for progress."""
    period_ns = 1e9 / rate_hz
    times = FrameTimes([], [], [])
    start = clock()
    min_ns = int(min_duration_s * 1e9)
    max_ns = int(max(max_duration_s, min_duration_s) * 1e9) if max_duration_s > 0 else 0
    index = 0
    while True:
        arrival = start + int(index * period_ns)
        _sleep_until(arrival, clock)
        t0 = clock()
        invoke()
        t1 = clock()
        times.arrival.append(arrival)
        times.start.append(t0)
        times.end.append(t1)
        index += 1
        on_frame(index, t1)
        if index >= frames and (min_ns == 0 or t1 - start >= min_ns):
            break
        if max_ns and t1 - start >= max_ns:
            break
    return times


def _sleep_until(when_ns: int, clock: Callable[[], int]) -> None:
    remaining = when_ns - clock()
    if remaining > SPIN_NS:
        time.sleep((remaining - SPIN_NS) / 1e9)
    while clock() < when_ns:
        pass


def realtime_stats(times: FrameTimes, rate_hz: float, deadline_ms: float) -> pb.RealTimeStats:
    """JobResult.realtime, from the frame times alone."""
    period_ms = 1e3 / rate_hz
    deadline = deadline_ms if deadline_ms > 0 else period_ms
    arrival, start, end = (np.asarray(x, dtype=np.int64) for x in (times.arrival, times.start, times.end))
    response = (end - arrival) / 1e6
    # A frame starts late when it had to wait for the previous one (not for sleep()'s own wake-up slack).
    late = int(np.count_nonzero(end[:-1] > arrival[1:]))
    misses = int(np.count_nonzero(response > deadline))
    p50, p99 = np.percentile(response, [50, 99])  # linear interpolation, as the latency percentiles
    window_ns = int(end[-1] - arrival[0])
    busy = float((end - start).sum()) / window_ns if window_ns > 0 else 1.0
    return pb.RealTimeStats(
        rate_hz=rate_hz, deadline_ms=deadline, frames=int(response.size), deadline_misses=misses,
        miss_share=misses / response.size, late_starts=late, response_p50_ms=float(p50),
        response_p99_ms=float(p99), response_max_ms=float(response.max()),
        jitter_ms=float(response.std(ddof=1)) if response.size > 1 else 0.0,
        start_delay_max_ms=float(((start - arrival) / 1e6).max()), busy_share=min(busy, 1.0))
