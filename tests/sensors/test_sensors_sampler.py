"""The sampler on fixture boards whose files a writer process changes at a known rate.

Tolerances come from what the run measured (the writer's largest gap between writes, the sample counts),
never from assumptions about how fast this machine is.
"""
from __future__ import annotations

import json
import select
import subprocess
import time
from itertools import pairwise

import pytest
from sensor_fixtures import run_writer

from edgebench.agent.sensors import (
    Reading,
    Sampler,
    Sensor,
    SensorInfo,
    discover_all,
    idle_baseline,
    now_ns,
    summarize,
)
from edgebench.agent.sensors.sources import hwmon_ina2xx, rapl, rpi_pmic, rpi_vcgencmd, thermal

PKG = "sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/energy_uj"
INA = "sys/class/hwmon/hwmon2/power1_input"
MAX = 262143328850


def _line(proc: subprocess.Popen, timeout_s: float = 15.0) -> dict:
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    assert ready, "writer process said nothing"
    return json.loads(proc.stdout.readline())


def _sleep_until(t_ns: int) -> None:
    while now_ns() < t_ns:
        time.sleep(min(0.01, max(0.0, (t_ns - now_ns()) / 1e9)))


def _run_window(board, target: str, writer_args: list[str], sensors, rate_hz: float = 50.0):
    """Writer running, sampler running, a 0.8 s window in the middle; returns (summary, writer stats, sampler)."""
    proc = subprocess.Popen(run_writer(str(board.path(target)), *writer_args), stdout=subprocess.PIPE, text=True)
    try:
        start = _line(proc)
        sampler = Sampler(sensors, rate_hz=rate_hz).start()
        w0 = now_ns() + 200_000_000
        w1 = w0 + 800_000_000
        _sleep_until(w1 + 100_000_000)  # a reading after the window to interpolate to its edge
        sampler.stop()
        board.path(target + ".stop").write_text("")
        end = _line(proc)
    finally:
        if proc.poll() is None:
            board.path(target + ".stop").write_text("")
        proc.wait(timeout=10)
        proc.stdout.close()
    assert end["t_end_ns"] > w1, "writer stopped before the window ended"
    return sampler.samples_between(w0, w1), w0, w1, start, end, sampler


def test_rapl_counter_written_at_known_power_through_a_wrap(board, capsys):
    b = board("x86-rapl")
    (sensor,) = rapl.discover(b.config).found
    # Package at 4.5 W starting 2 J below the wrap: the counter wraps about 0.45 s in, inside the window.
    power_w = 4.5
    samples, w0, w1, start, end, sampler = _run_window(
        b, PKG, ["counter", str(power_w), str(MAX - 2_000_000), str(MAX)], [sensor])
    # dram does not move: the package is the whole total.
    s = summarize(samples, w0, w1)
    window_s = (w1 - w0) / 1e9
    truth_j = power_w * window_s
    # A read can see a value up to one writer gap old at each edge.
    tol = 2 * end["max_gap_ns"] / 1e9 / window_s + 1e-3
    assert s.power_source == "rapl" and s.energy_method == "counter"
    assert s.power_samples >= 2
    assert s.energy_j == pytest.approx(truth_j, rel=tol), (s.energy_j, truth_j, tol)
    assert s.avg_power_w == pytest.approx(power_w, rel=tol)
    assert s.coverage == pytest.approx(1.0)
    with capsys.disabled():
        print(f"\nrapl counter: {s.energy_j:.4f} J vs truth {truth_j:.4f} J "
              f"({(s.energy_j / truth_j - 1) * 100:+.3f}%, allowed {tol * 100:.2f}%), {s.power_samples} samples")
    readings = samples["rapl"].readings
    assert any(r.counters.get("package-0", MAX) < 10**9 for r in readings)  # the wrap happened in view
    assert any(r.counters.get("package-0", 0) > MAX - 3_000_000 for r in readings)


def test_ina219_power_ramp_trapezoid_energy(board, capsys):
    b = board("pi4-ina219")
    (sensor,) = hwmon_ina2xx.discover(b.config).found
    p0, slope = 2.0, 1.5  # W, W/s
    samples, w0, w1, start, end, sampler = _run_window(b, INA, ["ramp", str(p0), str(slope)], [sensor])
    s = summarize(samples, w0, w1)
    t0 = start["t0_ns"]

    def energy(t_ns: int) -> float:  # integral of p0 + slope * t from t0
        x = (t_ns - t0) / 1e9
        return p0 * x + slope * x * x / 2

    truth_j = energy(w1) - energy(w0)
    window_s = (w1 - w0) / 1e9
    # A stale read under-reads the ramp by at most slope x gap, all along the window.
    tol_j = slope * end["max_gap_ns"] / 1e9 * window_s + 1e-3 * truth_j
    assert s.power_source == "hwmon-ina219" and s.energy_method == "trapezoid"
    assert s.energy_j == pytest.approx(truth_j, abs=tol_j), (s.energy_j, truth_j, tol_j)
    with capsys.disabled():
        print(f"\nina219 ramp: {s.energy_j:.4f} J vs truth {truth_j:.4f} J "
              f"({(s.energy_j / truth_j - 1) * 100:+.3f}%, allowed {tol_j / truth_j * 100:.2f}%), "
              f"{s.power_samples} samples")
    assert s.avg_power_w == pytest.approx(truth_j / window_s, abs=tol_j / window_s)
    peak_truth = p0 + slope * (w1 - t0) / 1e9
    assert s.peak_power_w == pytest.approx(peak_truth, abs=slope * end["max_gap_ns"] / 1e9 + 1e-6)
    st = sampler.stats()["hwmon-ina219"]
    assert st.failed == 0 and st.ok == st.readings
    in_window = sum(1 for r in samples["hwmon-ina219"].readings if w0 <= r.t_ns <= w1)
    assert s.power_samples == in_window


def test_file_vanishing_mid_run_makes_the_rest_unavailable_without_escaping(board):
    b = board("pi4-ina219")
    found = discover_all(b.config, sources=[hwmon_ina2xx, thermal])
    sampler = Sampler(found.sensors, rate_hz=50).start()
    try:
        t_a = now_ns()
        time.sleep(0.3)
        t_gone = now_ns()
        b.path(INA).unlink()
        b.path("sys/class/thermal/thermal_zone0/temp").unlink()
        time.sleep(0.3)
        t_b = now_ns()
    finally:
        t_stop = time.monotonic()
        sampler.stop()
        assert time.monotonic() - t_stop < 1.0
    stats = sampler.stats()
    for name in ("hwmon-ina219", "thermal"):
        assert stats[name].ok >= 2 and stats[name].failed >= 2, stats[name]
        assert "missing:" in stats[name].last_reason
    samples = sampler.samples_between(t_a, t_b)
    after = [r for r in samples["hwmon-ina219"].readings if r.t_ns > t_gone + 50_000_000]
    assert after and all(not r.ok and r.total is None for r in after)
    s = summarize(samples, t_a, t_b)
    assert s.avg_power_w is None and s.energy_j is None
    assert "readings cover" in s.unavailable["power"] and "missing:" in s.unavailable["power"]
    # Temperature before the file vanished is still reported, with its source.
    assert s.temp_source == "thermal" and s.temp_max_c == 48.686
    found.close()


def test_pi5_sources_achieved_rates(board, capsys):
    b = board("pi5")
    found = discover_all(b.config)
    sampler = Sampler(found.for_sampling(), rate_hz=20).start()
    time.sleep(1.0)
    sampler.stop()
    stats = sampler.stats()
    assert set(stats) == {"rpi5-pmic", "rpi-temp", "rpi-arm-clock", "rpi-throttle", "thermal", "cpufreq"}
    for name, st in stats.items():
        assert st.failed == 0, (name, st.last_reason)
        assert st.ok >= 2, name
        # Never faster than asked; the rate is computed from the stored readings' own timestamps.
        assert st.achieved_rate_hz is not None and st.achieved_rate_hz <= st.target_rate_hz * 1.15
        trace = sampler.samples_between(0, now_ns())[name]
        assert len(trace.readings) == st.readings
    with capsys.disabled():
        print("\nachieved sampling rates on the pi5 fixture (target 20 Hz):")
        for name, st in stats.items():
            print(f"  {name:14s} {st.achieved_rate_hz:6.1f} Hz  mean read {st.mean_read_s * 1e3:6.2f} ms")
    found.close()


def test_sampler_stops_promptly_with_a_hung_command(board):
    b = board("pi5", command_timeout_s=1.0)
    found = discover_all(b.config, sources=[rpi_vcgencmd])
    b.path("vcgencmd/SLEEP").write_text("5")
    sampler = Sampler(found.sensors, rate_hz=20).start()
    time.sleep(0.2)
    t0 = time.monotonic()
    sampler.stop(timeout_s=3.0)
    assert time.monotonic() - t0 < 3.5
    time.sleep(1.2)  # the hung call hits its own 1 s limit and every thread ends
    assert not sampler.running


class _Raising(Sensor):
    """A sensor with a bug: the sampler must keep going and record it."""

    def __init__(self) -> None:
        self.info = SensorInfo(name="buggy", kind="power", unit="W")
        self.calls = 0

    def read(self) -> Reading:
        self.calls += 1
        raise RuntimeError("boom")


def test_a_raising_sensor_costs_its_samples_not_the_thread():
    bug = _Raising()
    with Sampler([bug], rate_hz=100) as sampler:
        time.sleep(0.2)
    st = sampler.stats()["buggy"]
    assert bug.calls >= 3 and st.failed == bug.calls and st.ok == 0
    assert st.last_reason == "sensor raised RuntimeError: boom"
    assert st.achieved_rate_hz is None


def test_history_is_bounded_and_window_brackets(board):
    b = board("pi4-ina219")
    found = discover_all(b.config, sources=[hwmon_ina2xx])
    with Sampler(found.sensors, rate_hz=100, max_samples=5) as sampler:
        time.sleep(0.3)
    readings = sampler.samples_between(0, now_ns())["hwmon-ina219"].readings
    assert len(readings) == 5
    t = [r.t_ns for r in readings]
    # A window between two readings brings the one before and the one after.
    mid = sampler.samples_between(t[1] + 1, t[2] - 1)["hwmon-ina219"].readings
    assert [r.t_ns for r in mid] == [t[1], t[2]]
    sampler.discard_before(t[3])
    assert len(sampler.samples_between(0, now_ns())["hwmon-ina219"].readings) == 2
    found.close()


def test_idle_then_load_on_a_board_whose_power_steps(board):
    """Idle 2 W, then 6 W under load: above-idle energy per inference comes out of the step."""
    b = board("pi4-ina219")
    b.write(INA, "2000000")
    found = discover_all(b.config, sources=[hwmon_ina2xx, thermal, rpi_pmic])
    with Sampler(found.for_sampling(), rate_hz=50) as sampler:
        time.sleep(0.1)
        i0 = now_ns()
        time.sleep(0.4)
        i1 = now_ns()
        b.write(INA, "6000000")
        time.sleep(0.1)
        w0 = now_ns()
        time.sleep(0.5)
        w1 = now_ns()
        time.sleep(0.1)
    idle_samples = sampler.samples_between(i0, i1)
    idle = idle_baseline(idle_samples, i0, i1)
    s = summarize(sampler.samples_between(w0, w1), w0, w1, idle, inferences=250)

    def edge_share(samples, a: int, b: int) -> float:
        """Share of [a, b] in the intervals that straddle its edges: where the step can leak in."""
        t = [r.t_ns for r in samples["hwmon-ina219"].readings]
        straddling = [(x, y) for x, y in pairwise(t) if x <= a < y or x < b <= y]
        return sum(min(y, b) - max(x, a) for x, y in straddling) / (b - a)

    # The step is 4 W; interpolation across it can only touch the intervals that straddle an edge.
    assert idle.power_w("hwmon-ina219") == pytest.approx(2.0, abs=4.0 * edge_share(idle_samples, i0, i1) + 1e-9)
    assert idle.power_w("hwmon-ina219") >= 2.0
    w_share = edge_share(sampler.samples_between(w0, w1), w0, w1)
    assert s.avg_power_w == pytest.approx(6.0, abs=4.0 * w_share + 1e-9)
    idle_w = idle.power_w("hwmon-ina219")
    assert s.idle_power_w == idle_w
    duration = (w1 - w0) / 1e9
    assert s.energy_j == pytest.approx(s.avg_power_w * duration)
    assert s.energy_per_inference_j == pytest.approx(s.energy_j / 250)
    assert s.energy_above_idle_j == pytest.approx(s.energy_j - idle_w * duration)
    assert s.energy_above_idle_per_inference_j == pytest.approx(s.energy_above_idle_j / 250)
    leak_w = 4.0 * (w_share + edge_share(idle_samples, i0, i1))
    assert s.energy_above_idle_per_inference_j == pytest.approx(4.0 * duration / 250,
                                                                abs=leak_w * duration / 250 + 1e-12)
    assert "rpi5-pmic" not in s.by_source  # not on a Pi 4
    found.close()


def test_rate_capped_by_the_chip_update_interval_not_by_command_timing(board):
    b = board("orin-nano-jp6")
    hw = "sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040/hwmon/hwmon1/update_interval"
    b.write(hw, "40")  # the INA3221 refreshes every 40 ms: 25 Hz
    found = discover_all(b.config, sources=[hwmon_ina2xx])
    (ina,) = found.sensors
    assert ina.rate_limit_hz == 25.0 and ina.info.max_rate_hz == 25.0
    pi = board("pi5")
    (temp,) = [s for s in rpi_vcgencmd.discover(pi.config).found if s.name == "rpi-temp"]
    assert temp.rate_limit_hz is None and temp.info.max_rate_hz > 0  # measured, reported, not a cap
    sampler = Sampler([ina, temp], rate_hz=200)
    assert sampler.stats()["hwmon-ina3221"].target_rate_hz == 25.0
    assert sampler.stats()["rpi-temp"].target_rate_hz == 200
    found.close()
