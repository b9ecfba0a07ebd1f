"""External meter plug-in: a real TCP meter stream and a serial-like file, with their faults."""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from edgebench.agent.sensors import Sampler, SensorConfig, now_ns, register_meter, summarize
from edgebench.agent.sensors.sources import external_meter
from edgebench.agent.sensors.sources.external_meter import parse_meter_line


class LineServer:
    """A meter on loopback: one client, one line every `period_s` until told to go quiet."""

    def __init__(self, lines: list[str], period_s: float = 0.01) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lines = lines
        self.period_s = period_s
        self.quiet = threading.Event()
        self.done = threading.Event()
        self.sent: list[int] = []  # lines sent on each connection
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        for _ in range(200):  # bounded: about 40 s of accepting at most
            if self.done.is_set():
                return
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                self.sent.append(0)
                i = 0
                while not self.done.is_set():
                    if not self.quiet.is_set():
                        try:
                            conn.sendall((self.lines[i % len(self.lines)] + "\n").encode())
                        except OSError:
                            break
                        self.sent[-1] += 1
                        i += 1
                    time.sleep(self.period_s)

    def close(self) -> None:
        self.done.set()
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.mark.parametrize("line, watts", [
    ("12.34", 12.34),
    ("12.34 W", 12.34),
    ("850 mW", 0.85),
    ("W=12.34", 12.34),
    ("P=3.5", 3.5),
    ("mW=2500", 2.5),
    ("V=5.1 A=0.9", 5.1 * 0.9),
    ("V=5.0,mA=900", 4.5),
    ("  7e-1\r", 0.7),
])
def test_parse_meter_lines(line, watts):
    assert parse_meter_line(line)[0] == pytest.approx(watts)


@pytest.mark.parametrize("line", ["", "V=5.0", "hello", "W=", "12.3 A"])
def test_parse_meter_garbage(line):
    with pytest.raises(ValueError):
        parse_meter_line(line)


def test_tcp_meter_streams_then_goes_quiet_and_says_so():
    server = LineServer(["W=5.00", "V=5.0 A=1.2"])
    config = SensorConfig(meter=server.url, stream_timeout_s=0.3)
    try:
        (meter,) = external_meter.discover(config).found
        assert meter.info.name == "external-meter" and meter.info.kind == "power" and meter.streaming
        sampler = Sampler([meter], rate_hz=10).start()
        time.sleep(0.4)
        t_quiet = now_ns()
        server.quiet.set()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "stopped streaming" not in sampler.stats()["external-meter"].last_reason:
            time.sleep(0.05)
        t0 = time.monotonic()
        sampler.stop()
        assert time.monotonic() - t0 < 1.5  # a quiet meter never holds the sampler
        st = sampler.stats()["external-meter"]
        # drained at 10 Hz, yet every line the meter sent on the sampler's connection was kept
        assert len(server.sent) == 2  # the discovery probe's connection, then the sampler's
        assert st.ok == server.sent[-1] and st.ok >= 2, (st, server.sent)
        assert "meter stopped streaming: no line for" in st.last_reason
        readings = sampler.samples_between(0, t_quiet)["external-meter"].readings
        values = {round(r.total, 6) for r in readings if r.ok}
        assert values == {5.0, 6.0}
        assert readings[-1].extra in ({}, {"V": 5.0, "A": 1.2})
        s = summarize(sampler.samples_between(0, now_ns()), t_quiet, now_ns())
        assert s.avg_power_w is None and "readings cover" in s.unavailable["power"]
        meter.close()
    finally:
        server.close()


def test_tcp_meter_refusing_connections_is_absent_with_reason():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    t0 = time.monotonic()
    (info,) = external_meter.discover(SensorConfig(meter=f"tcp://127.0.0.1:{port}", stream_timeout_s=0.5)).absent
    assert time.monotonic() - t0 < 2.5
    assert "Connection refused" in info.reason and info.source.endswith(str(port))


def test_meter_garbage_lines_are_unavailable_samples_not_zero():
    server = LineServer(["W=4.0", "OVERLOAD", "W=4.0"])
    try:
        (meter,) = external_meter.discover(SensorConfig(meter=server.url, stream_timeout_s=0.5)).found
        meter.start()
        readings = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(readings) < 9:
            readings += meter.drain()
            time.sleep(0.02)
        meter.close()
    finally:
        server.close()
    bad = [r for r in readings if not r.ok]
    assert bad and all(r.total is None and "OVERLOAD" in r.reason for r in bad)
    assert all(r.total == 4.0 for r in readings if r.ok)


def test_serial_url_on_a_plain_file_follows_appended_lines(tmp_path):
    path = tmp_path / "ttyUSB0"
    path.write_text("3.25\n")
    (meter,) = external_meter.discover(SensorConfig(meter=f"serial://{path}?baud=115200",
                                                    stream_timeout_s=0.5)).found
    meter.start()
    try:
        with open(path, "a") as f:
            for _ in range(3):
                f.write("W=3.75\n")
                f.flush()
                time.sleep(0.05)
        got = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sum(r.ok for r in got) < 4:
            got += meter.drain()
            time.sleep(0.02)
        assert [r.total for r in got if r.ok] == [3.25, 3.75, 3.75, 3.75]
    finally:
        meter.close()


def test_serial_fifo_meter_that_never_speaks(tmp_path):
    fifo = tmp_path / "ttyACM0"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    (info,) = external_meter.discover(SensorConfig(meter=f"serial://{fifo}", stream_timeout_s=0.3)).absent
    assert time.monotonic() - t0 < 2
    assert info.reason == "no reading within 0.3 s"  # a port that stays silent: waited for, bounded


def test_meter_not_configured_or_unknown():
    (info,) = external_meter.discover(SensorConfig()).absent
    assert info.reason.startswith("not configured")
    (info,) = external_meter.discover(SensorConfig(meter="joulescope://js220")).absent
    assert "unknown meter URL scheme 'joulescope'" in info.reason


def test_register_a_new_meter_kind():
    class Fixed(external_meter.LineStreamMeter):
        """A meter made by a registered factory (here: a line stream under another scheme)."""

    server = LineServer(["1.5"])
    try:
        register_meter("mymeter", lambda url, cfg: Fixed(url.replace("mymeter", "tcp"), cfg))
        (meter,) = external_meter.discover(SensorConfig(meter=server.url.replace("tcp", "mymeter"))).found
        assert isinstance(meter, Fixed)
        meter.close()
    finally:
        external_meter._FACTORIES.pop("mymeter", None)
        server.close()
