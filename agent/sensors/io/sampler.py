"""Background sampling of every sensor, each reading stamped with CLOCK_MONOTONIC ns.

One daemon thread per sensor: a slow source (vcgencmd spawns a process per read) or a stuck one never
delays the others, and never the agent. Each thread runs at its own rate (the configured rate, capped by
what the sensor says it can do), keeps a bounded history, and counts what it really achieved.

    sampler = Sampler(sensor_set.for_sampling(), rate_hz=20).start()
    ...                                   # idle baseline window, then the worker's measurement window
    sampler.stop()
    summary = summarize(sampler.samples_between(t0, t1), t0, t1, idle, inferences=n)

Command-backed sources (vcgencmd) spawn a process per reading and run as fast as that allows when asked
for more; on a Pi give the firmware figures a low rate (`rates={"rpi-temp": 2, "rpi-arm-clock": 2,
"rpi-throttle": 2}`) so the sampler does not load the CPU it is measuring.
"""
from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Sequence

from ..base import Reading, Sensor, Trace, now_ns

_MAX_EXTRA = 10_000  # readings looked back past a window edge for the last good one


@dataclass
class SourceStats:
    name: str
    kind: str
    target_rate_hz: float
    calls: int = 0  # read()/drain() calls
    readings: int = 0  # readings stored
    ok: int = 0  # readings with a value
    failed: int = 0  # readings with a reason
    first_ns: int | None = None
    last_ns: int | None = None
    read_s_total: float = 0.0
    read_s_max: float = 0.0
    last_reason: str = ""

    @property
    def achieved_rate_hz(self) -> float | None:
        """Good readings per second between the first and last reading (None before two)."""
        if self.first_ns is None or self.last_ns is None or self.last_ns <= self.first_ns or self.ok < 2:
            return None
        return (self.ok - 1) / ((self.last_ns - self.first_ns) / 1e9)

    @property
    def mean_read_s(self) -> float | None:
        return self.read_s_total / self.calls if self.calls else None


class _Source:
    def __init__(self, sensor: Sensor, rate_hz: float, max_samples: int) -> None:
        self.sensor = sensor
        self.rate_hz = rate_hz
        self.lock = threading.Lock()
        self.readings: deque[Reading] = deque(maxlen=max_samples)
        self.stats = SourceStats(sensor.name, sensor.info.kind, rate_hz)

    def record(self, readings: list[Reading], read_s: float) -> None:
        with self.lock:
            st = self.stats
            st.calls += 1
            st.read_s_total += read_s
            st.read_s_max = max(st.read_s_max, read_s)
            last_t = self.readings[-1].t_ns if self.readings else None
            for r in readings:
                if last_t is not None and r.t_ns <= last_t:
                    continue  # the same streamed line seen twice, or out of order: keep time increasing
                last_t = r.t_ns
                self.readings.append(r)
                st.readings += 1
                if r.ok:
                    st.ok += 1
                    if st.first_ns is None:
                        st.first_ns = r.t_ns
                    st.last_ns = r.t_ns
                else:
                    st.failed += 1
                    st.last_reason = r.reason


class Sampler:
    """Samples sensors in background threads until `stop()` (or `max_duration_s`): one thread per rate for
    the quick sources, one per blocking (command) source.

    History is bounded per sensor by `max_samples` (oldest dropped). A stored reading costs about 0.5 KiB
    with one value and about 1.8 KiB with twelve rails (Pi 5 PMIC): 20 000 readings of that sensor are
    ~36 MiB, so an agent on a small board samples only around jobs and calls `discard_before` after each.
    """

    def __init__(
        self,
        sensors: Sequence[Sensor],
        rate_hz: float = 10.0,
        *,
        rates: dict[str, float] | None = None,
        max_samples: int = 20_000,
        max_duration_s: float | None = None,
    ) -> None:
        if rate_hz <= 0:
            raise ValueError("rate_hz must be positive")
        rates = rates or {}
        self.max_duration_s = max_duration_s
        self._sources: list[_Source] = []
        for s in sensors:
            rate = rates.get(s.name, rate_hz)
            if s.rate_limit_hz and not s.streaming:
                rate = min(rate, s.rate_limit_hz)  # faster than the chip refreshes reads the same value again
            self._sources.append(_Source(s, rate, max_samples))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started_ns: int | None = None
        self.stopped_ns: int | None = None

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> Sampler:
        if self.running:
            return self
        self._stop = threading.Event()
        self.started_ns = now_ns()
        self.stopped_ns = None
        for src in self._sources:  # rates are per run; readings from an earlier run are kept
            with src.lock:
                src.stats = SourceStats(src.sensor.name, src.sensor.info.kind, src.rate_hz)
        self._threads = [
            threading.Thread(target=self._loop, args=(group, self._stop),
                             name="sampler-" + "+".join(src.sensor.name for src in group), daemon=True)
            for group in self._thread_groups()
        ]
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout_s: float = 3.0) -> None:
        """Stop every thread; waits at most `timeout_s` in all (a thread stuck in a read is abandoned)."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        self.stopped_ns = now_ns()

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _thread_groups(self) -> list[list[_Source]]:
        """Quick sources at the same rate share a thread; each blocking (command) source has its own."""
        shared: dict[float, list[_Source]] = {}
        groups: list[list[_Source]] = []
        for src in self._sources:
            if src.sensor.blocking:
                groups.append([src])
            else:
                shared.setdefault(src.rate_hz, []).append(src)
        return groups + list(shared.values())

    def _loop(self, group: list[_Source], stop: threading.Event) -> None:
        for src in group:
            try:
                src.sensor.start()
            except Exception as err:
                src.record([Reading(now_ns(), reason=f"start failed: {type(err).__name__}: {err}")], 0.0)
        period = 1.0 / group[0].rate_hz
        t_start = time.monotonic()
        next_t = t_start
        while not stop.is_set():
            now = time.monotonic()
            for src in group:
                t0 = now
                sensor = src.sensor
                try:
                    readings = sensor.drain() if sensor.streaming else [sensor.read()]
                except Exception as err:  # a reader bug costs that sample, not the thread
                    readings = [Reading(now_ns(), reason=f"sensor raised {type(err).__name__}: {err}")]
                now = time.monotonic()
                src.record(readings, now - t0)
            if self.max_duration_s is not None and now - t_start >= self.max_duration_s:
                break
            next_t += period
            if next_t < now:
                next_t = now  # a read slower than the period: go on at once, do not burst to catch up
            stop.wait(next_t - now)
        for src in group:
            try:
                src.sensor.stop()
            except Exception:
                pass

    # ------------------------------------------------------------ results

    def stats(self) -> dict[str, SourceStats]:
        out = {}
        for src in self._sources:
            with src.lock:
                out[src.sensor.name] = SourceStats(**vars(src.stats))
        return out

    def samples_between(self, t0_ns: int, t1_ns: int) -> dict[str, Trace]:
        """Per sensor, the readings in [t0, t1] plus the last good one before t0 and the first good one
        after t1 (when there are such), so a summary can interpolate exactly to the window edges."""
        out: dict[str, Trace] = {}
        for src in self._sources:
            with src.lock:
                readings = list(src.readings)
            out[src.sensor.name] = Trace(src.sensor.info, _window(readings, t0_ns, t1_ns), src.sensor.fallback)
        return out

    def discard_before(self, t_ns: int) -> None:
        """Forget readings older than `t_ns` (after a job's results are built)."""
        for src in self._sources:
            with src.lock:
                while src.readings and src.readings[0].t_ns < t_ns:
                    src.readings.popleft()


def _window(readings: list[Reading], t0_ns: int, t1_ns: int) -> list[Reading]:
    keys = [r.t_ns for r in readings]
    lo = bisect.bisect_left(keys, t0_ns)
    hi = bisect.bisect_right(keys, t1_ns)
    start = lo
    for i in range(lo - 1, max(-1, lo - 1 - _MAX_EXTRA), -1):
        start = i
        if readings[i].ok:
            break
    end = hi
    for i in range(hi, min(len(readings), hi + _MAX_EXTRA)):
        end = i + 1
        if readings[i].ok:
            break
    return readings[start:end]
