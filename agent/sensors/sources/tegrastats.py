"""`tegrastats --interval MS` on Jetson: a fallback for power and a cross-check for thermal and clocks.

One long-running tegrastats process feeds up to three sensors (power, thermal, CPU frequency). It writes
to a pseudo-terminal so its stdio flushes every line (a pipe would be block-buffered and every line would
arrive late, stamped with the wrong time). Lines are parsed token by token because the format changed
between JetPack releases (see SENSORS.md for the three reference lines).
"""
from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from ..base import (
    KIND_FREQUENCY,
    KIND_POWER,
    KIND_THERMAL,
    Discovery,
    Reading,
    Sensor,
    SensorConfig,
    SensorInfo,
    absent,
    now_ns,
)
from ..io.command import resolve
from .hwmon_ina2xx import TOTAL_RAILS

_DATE = re.compile(r"^\d{2}-\d{2}-\d{4}$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}$")
_TEMP = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)@(-?\d+(?:\.\d+)?)C$")
_RAIL_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_RAIL_VALUE = re.compile(r"^(\d+)(?:mW)?/(\d+)(?:mW)?$")
_CPU_CORE = re.compile(r"^(\d+)%(?:@(\d+))?$")
UNAVAILABLE_TEMP_C = -256.0  # tegrastats prints -256C for a sensor it cannot read
_BUFFER = 10_000  # readings kept per subscriber between two drains


@dataclass
class TegraStats:
    """One tegrastats line. Absent figures are absent (not in the dicts / None), never 0."""

    rails_mw: dict[str, float] = field(default_factory=dict)  # current value
    rails_avg_mw: dict[str, float] = field(default_factory=dict)  # average since tegrastats started
    temps_c: dict[str, float] = field(default_factory=dict)
    temps_unavailable: list[str] = field(default_factory=list)  # printed as -256C
    cpu_load_pct: list[float | None] = field(default_factory=list)  # per core; None: core off
    cpu_freq_mhz: list[int | None] = field(default_factory=list)  # per core; None: core off or not shown
    gpu_load_pct: float | None = None
    gpu_freq_mhz: list[int] = field(default_factory=list)  # one per GPC on JP6 (`@[F,F]`)
    emc_freq_mhz: int | None = None
    ram_used_mb: int | None = None
    ram_total_mb: int | None = None

    @property
    def empty(self) -> bool:
        return not (self.rails_mw or self.temps_c or self.temps_unavailable or self.cpu_load_pct)


def _parse_used_total(token: str) -> tuple[int, int] | None:
    m = re.match(r"^(\d+)/(\d+)MB$", token)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _parse_freq(token: str) -> tuple[float | None, list[int]]:
    """`9%`, `0%@204`, `0%@[114]`, `0%@[0,0]`, `115` -> (load %, [MHz...])."""
    if "%" not in token:
        return None, [int(token)] if token.isdigit() else []
    load_text, _, freq_text = token.partition("@")
    try:
        load = float(load_text.rstrip("%"))
    except ValueError:
        load = None
    freqs = [int(f) for f in freq_text.strip("[]").split(",") if f.isdigit()]
    return load, freqs


def parse_tegrastats_line(line: str) -> TegraStats:
    stats = TegraStats()
    tokens = line.split()
    i = 0
    if len(tokens) >= 2 and _DATE.match(tokens[0]) and _TIME.match(tokens[1]):
        i = 2  # JP5/6 prefix the date and time
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok.startswith("("):  # "(lfb 2x4MB)", "(cached 6MB)": skip to the closing token
            while i < len(tokens) and not tokens[i].endswith(")"):
                i += 1
            i += 1
            continue
        if tok == "RAM" and (used := _parse_used_total(nxt)):
            stats.ram_used_mb, stats.ram_total_mb = used
            i += 2
            continue
        if tok == "CPU" and nxt.startswith("["):
            for core in nxt.strip("[]").split(","):
                m = _CPU_CORE.match(core)
                if m:
                    stats.cpu_load_pct.append(float(m.group(1)))
                    stats.cpu_freq_mhz.append(int(m.group(2)) if m.group(2) else None)
                else:  # "off" (or anything unparsable): the core is not running
                    stats.cpu_load_pct.append(None)
                    stats.cpu_freq_mhz.append(None)
            i += 2
            continue
        if tok.endswith("_FREQ") and nxt:
            load, freqs = _parse_freq(nxt)
            if tok == "GR3D_FREQ":
                stats.gpu_load_pct, stats.gpu_freq_mhz = load, freqs
            elif tok == "EMC_FREQ" and freqs:
                stats.emc_freq_mhz = freqs[0]
            i += 2
            continue
        m = _TEMP.match(tok)
        if m:
            celsius = float(m.group(2))
            if celsius <= UNAVAILABLE_TEMP_C:
                stats.temps_unavailable.append(m.group(1))
            else:
                stats.temps_c[m.group(1)] = celsius
            i += 1
            continue
        if _RAIL_NAME.match(tok) and (m := _RAIL_VALUE.match(nxt)):
            stats.rails_mw[tok] = float(m.group(1))
            stats.rails_avg_mw[tok] = float(m.group(2))
            i += 2
            continue
        i += 1  # a figure we do not use (APE 150, NVENC 79%@166, NVDEC off, ...)
    return stats


# ---------------------------------------------------------------- the three views of one line


def power_reading(t_ns: int, stats: TegraStats) -> Reading:
    values = {rail: mw / 1000.0 for rail, mw in stats.rails_mw.items()}
    reading = Reading(t_ns, values=values)
    total = next((r for r in TOTAL_RAILS if r in values), None)
    if total is not None:
        reading.total = values[total]
    elif values:
        reading.total = sum(values.values())
    else:
        reading.reason = "no power rails in tegrastats line"
    return reading


def thermal_reading(t_ns: int, stats: TegraStats) -> Reading:
    reading = Reading(t_ns, values=dict(stats.temps_c),
                      missing={name: "tegrastats prints -256C (unavailable)" for name in stats.temps_unavailable})
    if not reading.values:
        reading.reason = "no readable temperature in tegrastats line"
    return reading


def freq_reading(t_ns: int, stats: TegraStats) -> Reading:
    reading = Reading(t_ns)
    for n, mhz in enumerate(stats.cpu_freq_mhz):
        if mhz is None:
            reading.missing[f"cpu{n}"] = "core off" if stats.cpu_load_pct[n] is None else "no clock shown"
        else:
            reading.values[f"cpu{n}"] = mhz * 1e6
    if stats.gpu_freq_mhz:
        reading.extra["gpu_hz"] = max(stats.gpu_freq_mhz) * 1e6
    if stats.emc_freq_mhz is not None:
        reading.extra["emc_hz"] = stats.emc_freq_mhz * 1e6
    if not reading.values:
        reading.reason = "no CPU clock in tegrastats line"
    return reading


# ---------------------------------------------------------------- the process


class TegrastatsStream:
    """One `tegrastats --interval MS` process read by a thread; parsed lines fan out to subscribers."""

    def __init__(self, exe: str, interval_ms: int, stale_s: float) -> None:
        self.exe = exe
        self.interval_ms = interval_ms
        self.stale_s = stale_s
        self._lock = threading.Lock()  # subscribers and latest line
        self._life = threading.Lock()  # starting and stopping the process (never held by the reader)
        self._subscribers: list[deque[tuple[int, TegraStats]]] = []
        self._users = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._master: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.latest: tuple[int, TegraStats] | None = None
        self.error = ""  # why the stream is not running (exited, could not start)
        self.last_garbage = ""

    @property
    def command(self) -> str:
        return f"{self.exe} --interval {self.interval_ms}"

    def subscribe(self) -> deque[tuple[int, TegraStats]]:
        q: deque[tuple[int, TegraStats]] = deque(maxlen=_BUFFER)
        with self._lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: deque[tuple[int, TegraStats]]) -> None:
        with self._lock:
            self._subscribers = [x for x in self._subscribers if x is not q]  # by identity: deques compare by value

    def acquire(self) -> None:
        with self._life:
            self._users += 1
            if self._proc is not None and self._proc.poll() is None:
                return
            self._teardown()  # a process that exited: collect it before starting a new one
            self._start_locked()

    def release(self) -> None:
        with self._life:
            self._users = max(0, self._users - 1)
            if not self._users:
                self._teardown()  # the last user gone: no tegrastats running while the agent idles

    def stop(self) -> None:
        with self._life:
            self._teardown()

    def _start_locked(self) -> None:
        import pty  # Unix only; imported here so the module imports anywhere

        self._stop = threading.Event()
        self.error = ""
        master, slave = pty.openpty()
        try:
            self._proc = subprocess.Popen(
                [self.exe, "--interval", str(self.interval_ms)],
                stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, start_new_session=True,
            )
        except OSError as err:
            os.close(master)
            self.error = f"cannot run {self.exe}: {err.strerror or err}"
            return
        finally:
            os.close(slave)
        self._master = master
        self._thread = threading.Thread(target=self._pump, args=(self._proc, master, self._stop),
                                        name="tegrastats-reader", daemon=True)
        self._thread.start()

    def _pump(self, proc: subprocess.Popen[bytes], master: int, stop: threading.Event) -> None:
        buf = b""
        while not stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.2)  # bounded: stop is seen within 0.2 s
            except (OSError, ValueError):
                break
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once the child side of the pty is closed
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                self._handle(raw.decode("ascii", "replace").strip())
            if len(buf) > 65536:  # no newline in 64 KiB: not tegrastats output
                self.last_garbage, buf = buf[:80].decode("ascii", "replace"), b""
        if not stop.is_set():
            try:
                code = proc.wait(timeout=1.0)
                self.error = f"tegrastats exited (status {code})"
            except subprocess.TimeoutExpired:
                self.error = "tegrastats closed its output"
            if self.last_garbage:
                self.error += f": {self.last_garbage}"

    def _handle(self, line: str) -> None:
        if not line:
            return
        t = now_ns()
        stats = parse_tegrastats_line(line)
        if stats.empty:
            self.last_garbage = line[:120]
            return
        with self._lock:
            self.latest = (t, stats)
            for q in self._subscribers:
                q.append((t, stats))

    def stale_reason(self, t_ns: int) -> str:
        """"" while lines keep coming, else why not."""
        if self.error:
            return self.error
        if self._proc is None:
            return "tegrastats not started"
        latest = self.latest
        if latest is None:
            return f"no line from {self.command} yet"
        age = (t_ns - latest[0]) / 1e9
        if age > self.stale_s:
            return f"tegrastats stopped streaming: no line for {age:.1f} s"
        return ""

    def _teardown(self) -> None:
        self._stop.set()
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            for sig, wait_s in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 1.0)):
                try:
                    os.killpg(proc.pid, sig)  # the whole group: a script's children too
                except (ProcessLookupError, PermissionError):
                    break
                try:
                    proc.wait(timeout=wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        if self._master is not None:
            os.close(self._master)
            self._master = None


class TegrastatsSensor(Sensor):
    streaming = True
    fallback = True

    def __init__(self, info: SensorInfo, stream: TegrastatsStream,
                 convert: Callable[[int, TegraStats], Reading]) -> None:
        self.info = info
        self.stream = stream
        self.convert = convert
        self._queue = stream.subscribe()
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._queue.clear()  # lines from an earlier run are not this run's
            self.stream.acquire()

    def read(self) -> Reading:
        self.start()
        t = now_ns()
        why = self.stream.stale_reason(t)
        latest = self.stream.latest
        if why or latest is None:
            return Reading(t, reason=why or "no line yet")
        return self.convert(*latest)

    def drain(self) -> list[Reading]:
        self.start()
        items = []
        while self._queue and len(items) < _BUFFER:
            items.append(self._queue.popleft())
        if items:
            return [self.convert(t, stats) for t, stats in items]
        t = now_ns()
        why = self.stream.stale_reason(t)
        return [Reading(t, reason=why)] if why else []

    def stop(self) -> None:
        self.close()

    def close(self) -> None:
        if self._started:
            self._started = False
            self.stream.release()


def _probe(stream: TegrastatsStream) -> tuple[TegraStats | None, str]:
    """Run tegrastats until its first line (bounded), then stop it."""
    q = stream.subscribe()
    stream.acquire()
    deadline = now_ns() + int(max(stream.stale_s, 3 * stream.interval_ms / 1000) * 1e9)
    try:
        while now_ns() < deadline and not q and not stream.error:
            threading.Event().wait(0.02)
    finally:
        stream.release()
        stream.unsubscribe(q)
    if q:
        return q[0][1], ""
    return None, stream.error or f"no line from {stream.command} within {stream.stale_s:g} s" + (
        f" (output: {stream.last_garbage})" if stream.last_garbage else "")


def discover(config: SensorConfig) -> Discovery:
    names = (("tegrastats-power", KIND_POWER, "W"), ("tegrastats-thermal", KIND_THERMAL, "C"),
             ("tegrastats-freq", KIND_FREQUENCY, "Hz"))
    exe = resolve(config.tegrastats)
    if exe is None:
        return Discovery(absent=[absent(n, k, u, f"command not found: {config.tegrastats}", config.tegrastats)
                                 for n, k, u in names])
    interval = max(10, int(config.tegrastats_interval_ms))
    stale_s = max(config.stream_timeout_s, 3 * interval / 1000)
    stream = TegrastatsStream(exe, interval, stale_s)
    first, why = _probe(stream)
    if first is None:
        return Discovery(absent=[absent(n, k, u, why, stream.command) for n, k, u in names])
    out = Discovery()
    rate = round(1000.0 / interval, 1)
    views: list[tuple[str, str, str, list[str], Callable[[int, TegraStats], Reading], str]] = [
        ("tegrastats-power", KIND_POWER, "W", list(first.rails_mw), power_reading,
         "tegrastats current rail power (mW); VDD_IN/POM_5V_IN is the module total, else the sum of rails; "
         "a cross-check of the INA3221 files"),
        ("tegrastats-thermal", KIND_THERMAL, "C", list(first.temps_c) + first.temps_unavailable, thermal_reading,
         "tegrastats temperatures; -256C means unavailable"),
        ("tegrastats-freq", KIND_FREQUENCY, "Hz", [f"cpu{n}" for n in range(len(first.cpu_freq_mhz))],
         freq_reading, "tegrastats CPU clocks per core (offline cores absent); GPU/EMC clocks in extra"),
    ]
    for name, kind, unit, rails, convert, note in views:
        if not rails:
            out.absent.append(absent(name, kind, unit, "not in tegrastats output", stream.command))
            continue
        info = SensorInfo(name=name, kind=kind, unit=unit, rails=rails, max_rate_hz=rate, source=stream.command,
                          note=note)
        out.found.append(TegrastatsSensor(info, stream, convert))
    return out
