"""External power meters: the plug-in point, and a meter that streams one reading per line.

A meter is a `Sensor` made from the URL in `SensorConfig.meter`. Register a factory for a new scheme with
`register_meter("joulescope", factory)`; the factory gets the URL and the config and returns a Sensor
(or raises ValueError with the reason). Built in:

- `tcp://HOST:PORT`: a meter (or a bridge script next to it) that streams one reading per line.
- `serial:///dev/ttyUSB0?baud=115200`: the same over a serial port; a plain file or FIFO path works too.

A line is a power in W (`12.34`, `12.34 W`, `850 mW`) or key=value tokens: `W=12.34`, `P=12.34`, `mW=850`,
or `V=5.1 A=0.9` (`mA=` too). Each line is stamped with CLOCK_MONOTONIC on arrival. A meter that stops
streaming makes its samples unavailable (with the reason) after `stream_timeout_s`; nothing waits on it.
"""
from __future__ import annotations

import os
import re
import select
import socket
import threading
from collections import deque
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from ..base import KIND_POWER, Discovery, Reading, Sensor, SensorConfig, SensorInfo, absent, now_ns

NAME = "external-meter"
MeterFactory = Callable[[str, SensorConfig], Sensor]
_FACTORIES: dict[str, MeterFactory] = {}
_BUFFER = 100_000  # readings kept between two drains (a 5 kHz meter drained at 10 Hz needs 500)
_MAX_LINE = 4096
_RETRY_S = 0.5

_BARE = re.compile(r"^([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(mW|W)?$")
_PAIR = re.compile(r"([A-Za-z]+)\s*=\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)")


def register_meter(scheme: str, factory: MeterFactory) -> None:
    _FACTORIES[scheme] = factory


def parse_meter_line(line: str) -> tuple[float, dict[str, float]]:
    """(watts, extra) from one line; ValueError when the line holds no power."""
    text = line.strip()
    m = _BARE.match(text)
    if m:
        value = float(m.group(1))
        return (value / 1000.0 if m.group(2) == "mW" else value), {}
    pairs = {k: float(v) for k, v in _PAIR.findall(text)}
    extra = {k: v for k, v in pairs.items() if k in ("V", "A", "mA")}
    if "W" in pairs:
        return pairs["W"], extra
    if "P" in pairs:
        return pairs["P"], extra
    if "mW" in pairs:
        return pairs["mW"] / 1000.0, extra
    amps = pairs["A"] if "A" in pairs else pairs["mA"] / 1000.0 if "mA" in pairs else None
    if "V" in pairs and amps is not None:
        return pairs["V"] * amps, extra
    raise ValueError(f"no power in meter line {text[:60]!r}")


class _Connection:
    """A readable fd for the meter: a TCP socket, a tty set to raw at the baud rate, or a file/FIFO."""

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        self.sock: socket.socket | None = None
        self.fd: int
        self.is_file = False
        if parts.scheme == "tcp":
            if not parts.hostname or not parts.port:
                raise ValueError(f"tcp meter URL needs HOST:PORT: {url}")
            self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout_s)
            self.fd = self.sock.fileno()
        elif parts.scheme == "serial":
            path = parts.path
            self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
            if os.isatty(self.fd):
                baud = int(parse_qs(parts.query).get("baud", ["115200"])[0])
                _set_raw(self.fd, baud)
            else:
                import stat

                self.is_file = stat.S_ISREG(os.fstat(self.fd).st_mode)
        else:
            raise ValueError(f"unknown meter URL scheme: {url}")

    def read(self) -> bytes:
        if self.sock is not None:
            return self.sock.recv(65536)
        return os.read(self.fd, 65536)

    def close(self) -> None:
        try:
            if self.sock is not None:
                self.sock.close()
            else:
                os.close(self.fd)
        except OSError:
            pass


def _set_raw(fd: int, baud: int) -> None:
    import termios
    import tty

    tty.setraw(fd)
    speed = getattr(termios, f"B{baud}", None)
    if speed is None:
        raise ValueError(f"unsupported baud rate {baud}")
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = speed
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


class LineStreamMeter(Sensor):
    streaming = True

    def __init__(self, url: str, config: SensorConfig, info: SensorInfo | None = None) -> None:
        urlsplit(url)  # raises ValueError on a malformed URL
        self.url = url
        self.stale_s = config.stream_timeout_s
        self.connect_timeout_s = config.command_timeout_s
        self.info = info or SensorInfo(
            name=NAME, kind=KIND_POWER, unit="W", rails=["meter"], source=url,
            note="external meter streaming one reading per line; measures whatever it is wired to (wall or 5 V "
                 "input); check its current range against the board (Pi 5 draws up to about 5 A at 5 V)")
        self._queue: deque[Reading] = deque(maxlen=_BUFFER)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.latest: Reading | None = None
        self.error = ""  # the last connection or parse problem
        self.lines = 0

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            self._queue.clear()  # lines left from an earlier run (the discovery probe) are not this run's
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name="meter-reader", daemon=True)
        self._thread.start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                conn = _Connection(self.url, self.connect_timeout_s)
            except (OSError, ValueError) as err:
                self.error = f"cannot open meter {self.url}: {getattr(err, 'strerror', None) or err}"
                stop.wait(_RETRY_S)
                continue
            try:
                self._pump(conn, stop)
            finally:
                conn.close()
            stop.wait(_RETRY_S)  # then reconnect: a meter restarted by hand comes back on its own

    def _pump(self, conn: _Connection, stop: threading.Event) -> None:
        buf = b""
        while not stop.is_set():
            try:
                ready, _, _ = select.select([conn.fd], [], [], 0.2)  # bounded: stop is seen within 0.2 s
                chunk = conn.read() if ready else None
            except BlockingIOError:
                continue
            except OSError as err:
                self.error = f"meter {self.url}: {err.strerror or err}"
                return
            if chunk is None:
                continue
            if not chunk:
                if conn.is_file:  # a plain file: wait for more to be appended, like tail -f
                    stop.wait(0.05)
                    continue
                self.error = f"meter {self.url} closed the connection"
                return
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                self._handle(raw.decode("ascii", "replace"))
            if len(buf) > _MAX_LINE:
                self.error = f"meter {self.url}: no newline in {_MAX_LINE} bytes"
                buf = b""

    def _handle(self, line: str) -> None:
        if not line.strip():
            return
        t = now_ns()
        try:
            watts, extra = parse_meter_line(line)
        except ValueError as err:
            self.error = str(err)
            reading = Reading(t, missing={"meter": str(err)}, reason=str(err))
        else:
            reading = Reading(t, values={"meter": watts}, total=watts, extra=extra)
        with self._lock:
            self.lines += 1
            self.latest = reading
            self._queue.append(reading)

    def stale_reason(self, t_ns: int) -> str:
        latest = self.latest
        if latest is None:
            return self.error or f"no reading from meter {self.url} yet"
        age = (t_ns - latest.t_ns) / 1e9
        if age > self.stale_s:
            why = f"meter stopped streaming: no line for {age:.1f} s"
            return f"{why} ({self.error})" if self.error else why
        return ""

    def read(self) -> Reading:
        self.start()
        t = now_ns()
        why = self.stale_reason(t)
        if why or self.latest is None:
            return Reading(t, reason=why or "no reading yet")
        return self.latest

    def drain(self) -> list[Reading]:
        self.start()
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
        if items:
            return items
        t = now_ns()
        why = self.stale_reason(t)
        return [Reading(t, reason=why)] if why else []

    def stop(self) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None


register_meter("tcp", LineStreamMeter)
register_meter("serial", LineStreamMeter)


def discover(config: SensorConfig) -> Discovery:
    if not config.meter:
        return Discovery(absent=[absent(NAME, KIND_POWER, "W",
                                        "not configured (SensorConfig.meter, e.g. tcp://HOST:PORT)")])
    scheme = urlsplit(config.meter).scheme
    factory = _FACTORIES.get(scheme)
    if factory is None:
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", f"unknown meter URL scheme {scheme!r}: "
                                        f"known {', '.join(sorted(_FACTORIES))}", config.meter)])
    try:
        meter = factory(config.meter, config)
    except (ValueError, OSError) as err:
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", f"meter {config.meter}: {err}", config.meter)])
    # Probe: the meter must deliver a reading within the stream timeout (bounded wait, then stop streaming).
    meter.start()
    deadline = now_ns() + int(config.stream_timeout_s * 1e9)
    first: Reading | None = None
    while now_ns() < deadline:
        first = next((r for r in meter.drain() if r.ok), None)
        if first is not None:
            break
        threading.Event().wait(0.02)
    meter.close()
    if first is None:
        why = getattr(meter, "error", "") or f"no reading within {config.stream_timeout_s:g} s"
        return Discovery(absent=[absent(NAME, KIND_POWER, "W", why, config.meter)])
    return Discovery(found=[meter])
