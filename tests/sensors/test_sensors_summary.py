"""Window figures on readings whose exact answer is known by hand."""
from __future__ import annotations

import pytest

from edgebench.agent.sensors import Reading, SensorInfo, ThrottleState, Trace, idle_baseline, summarize

S = 1_000_000_000  # ns per s
MS = 1_000_000


def power_trace(name: str, points: list[tuple[float, float | None]], fallback: bool = False) -> Trace:
    """(t in s, W or None for an unreadable sample)."""
    readings = [Reading(int(t * S), values={} if w is None else {"rail": w}, total=w,
                        reason="" if w is not None else "missing: /sys/x") for t, w in points]
    return Trace(SensorInfo(name=name, kind="power", unit="W", note=f"{name} note"), readings, fallback)


def counter_trace(name: str, points: list[tuple[float, float]], epochs: list[int] | None = None) -> Trace:
    readings = [Reading(int(t * S), energy_j=e, epoch=(epochs[i] if epochs else 0)) for i, (t, e) in enumerate(points)]
    return Trace(SensorInfo(name=name, kind="energy", unit="J"), readings)


def series(kind: str, name: str, points: list[tuple[float, dict[str, float]]]) -> Trace:
    return Trace(SensorInfo(name=name, kind=kind, unit=""), [Reading(int(t * S), values=v) for t, v in points])


def test_constant_power_window_between_samples():
    tr = power_trace("hwmon-ina219", [(i / 10, 5.0) for i in range(21)])
    s = summarize({"hwmon-ina219": tr}, int(0.25 * S), int(1.75 * S), inferences=30)
    assert s.energy_j == pytest.approx(7.5) and s.avg_power_w == pytest.approx(5.0)
    assert s.peak_power_w == 5.0 and s.coverage == pytest.approx(1.0)
    assert s.power_samples == 15  # 0.3 ... 1.7
    assert s.energy_per_inference_j == pytest.approx(0.25)
    assert s.unavailable["idle_power_w"] == "no idle baseline measured"
    assert s.energy_above_idle_j is None and "energy_above_idle_per_inference_j" in s.unavailable


def test_ramp_is_integrated_exactly_with_edges_cut_by_interpolation():
    # P = 1 + 2t sampled every 0.1 s; window [0.35, 1.15]: integral = [t + t^2] = 0.8 + (1.3225 - 0.1225)
    tr = power_trace("rpi5-pmic", [(i / 10, 1 + 2 * i / 10) for i in range(21)])
    s = summarize({"rpi5-pmic": tr}, int(0.35 * S), int(1.15 * S))
    assert s.energy_j == pytest.approx(0.8 + 1.2)
    assert s.avg_power_w == pytest.approx(2.0 / 0.8)
    assert s.peak_power_w == pytest.approx(1 + 2 * 1.15)  # the interpolated value at the end edge
    assert s.power_note == "rpi5-pmic note"


def test_triangle_between_samples_trapezoid_rule():
    # 2 W, 6 W, 2 W at 0, 1, 2 s: a trapezoid over [0.5, 1.5] sees 4 W at both cut points and 6 W in the middle.
    tr = power_trace("m", [(0, 2.0), (1, 6.0), (2, 2.0)])
    s = summarize({"m": tr}, int(0.5 * S), int(1.5 * S))
    assert s.energy_j == pytest.approx(5.0)
    assert s.peak_power_w == 6.0


def test_window_inside_one_interval():
    tr = power_trace("m", [(0, 2.0), (1, 4.0)])
    s = summarize({"m": tr}, int(0.25 * S), int(0.75 * S))
    assert s.avg_power_w == pytest.approx(3.0) and s.power_samples == 0 and s.coverage == pytest.approx(1.0)


def test_counter_energy_is_the_interpolated_difference():
    tr = counter_trace("rapl", [(i / 10, 3.0 * i / 10) for i in range(11)])
    s = summarize({"rapl": tr}, int(0.05 * S), int(0.95 * S))
    assert s.energy_method == "counter"
    assert s.energy_j == pytest.approx(2.7) and s.avg_power_w == pytest.approx(3.0)
    assert s.peak_power_w == pytest.approx(3.0)


def test_counter_peak_is_the_highest_interval():
    tr = counter_trace("rapl", [(0, 0.0), (1, 2.0), (2, 10.0), (3, 12.0)])
    s = summarize({"rapl": tr}, int(0.5 * S), int(2.5 * S))
    assert s.energy_j == pytest.approx(11.0 - 1.0)
    assert s.peak_power_w == pytest.approx(8.0)


def test_counter_reset_inside_the_window_is_unavailable_not_wrong():
    tr = counter_trace("nvml", [(0, 0.0), (1, 5.0), (2, 0.5), (3, 5.5)], epochs=[0, 0, 1, 1])
    s = summarize({"nvml": tr}, int(0.5 * S), int(2.5 * S))
    assert s.energy_j is None and "counter reset" in s.unavailable["power"]


def test_low_coverage_withholds_power():
    # The sensor died at 1 s: the window [0.5, 3] is only 20% covered.
    tr = power_trace("m", [(0, 5.0), (0.5, 5.0), (1, 5.0), (1.5, None), (2, None), (2.5, None), (3, None)])
    s = summarize({"m": tr}, int(0.5 * S), int(3 * S))
    assert s.avg_power_w is None and s.energy_j is None
    assert s.coverage == pytest.approx(0.2)
    assert "readings cover 20% of the window" in s.unavailable["power"]
    assert "4 unreadable samples in the window, e.g. missing: /sys/x" in s.unavailable["power"]


def test_a_long_gap_is_not_covered():
    # Median interval 0.1 s: a 1 s hole in a 2 s window is half uncovered.
    pts = [(i / 10, 1.0) for i in range(6)] + [(1.5 + i / 10, 1.0) for i in range(6)]
    s = summarize({"m": power_trace("m", pts)}, 0, 2 * S)
    assert s.coverage == pytest.approx(1.0 / 2, abs=0.01)
    assert s.avg_power_w is None


def test_one_missing_sample_is_bridged_and_noted():
    pts = [(i / 10, None if i == 5 else 4.0) for i in range(11)]
    s = summarize({"m": power_trace("m", pts)}, int(0.1 * S), int(0.9 * S))
    assert s.avg_power_w == pytest.approx(4.0)
    assert "1 unreadable samples in the window" in s.by_source["m"].note


def test_no_power_sensor_at_all():
    s = summarize({}, 0, S, inferences=10)
    assert s.power_source is None and s.avg_power_w is None
    assert s.unavailable["power"] == "no power or energy sensor"
    assert s.unavailable["temperature"] == "no thermal sensor"
    assert s.unavailable["frequency"] == "no CPU frequency sensor"
    assert s.throttled is None and "Raspberry Pi only" in s.unavailable["throttled"]


def test_source_of_record_meter_then_onboard_then_fallback():
    flat = [(i / 10, 3.0) for i in range(11)]
    traces = {
        "tegrastats-power": power_trace("tegrastats-power", [(t, 9.0) for t, _ in flat], fallback=True),
        "rapl": counter_trace("rapl", [(t, 1.0 * t) for t, _ in flat]),
        "hwmon-ina3221": power_trace("hwmon-ina3221", flat),
        "external-meter": power_trace("external-meter", [(t, 4.0) for t, _ in flat]),
    }
    s = summarize(traces, int(0.1 * S), int(0.9 * S))
    assert s.power_source == "external-meter" and s.avg_power_w == pytest.approx(4.0)
    assert set(s.by_source) == set(traces)
    assert s.by_source["rapl"].avg_w == pytest.approx(1.0)
    del traces["external-meter"]
    assert summarize(traces, int(0.1 * S), int(0.9 * S)).power_source == "hwmon-ina3221"
    del traces["hwmon-ina3221"]
    assert summarize(traces, int(0.1 * S), int(0.9 * S)).power_source == "rapl"
    del traces["rapl"]
    assert summarize(traces, int(0.1 * S), int(0.9 * S)).power_source == "tegrastats-power"
    forced = summarize({**traces, "rapl": counter_trace("rapl", [(t, t) for t, _ in flat])}, int(0.1 * S),
                       int(0.9 * S), power_source="tegrastats-power")
    assert forced.power_source == "tegrastats-power" and forced.avg_power_w == pytest.approx(9.0)


def test_dead_primary_falls_back_to_a_working_source():
    pts = [(i / 10, None) for i in range(11)]
    traces = {"rpi5-pmic": power_trace("rpi5-pmic", pts),
              "hwmon-ina219": power_trace("hwmon-ina219", [(t, 5.0) for t, _ in pts])}
    s = summarize(traces, int(0.1 * S), int(0.9 * S))
    assert s.power_source == "hwmon-ina219"
    assert s.by_source["rpi5-pmic"].reason.startswith("9 unreadable samples")


def test_idle_baseline_and_above_idle_energy():
    tr = power_trace("m", [(i / 10, 2.0 if i <= 10 else 7.0) for i in range(31)])
    traces = {"m": tr}
    idle = idle_baseline(traces, 0, S)
    s = summarize(traces, int(1.5 * S), int(2.5 * S), idle, inferences=100)
    assert idle.power_w("m") == pytest.approx(2.0)
    assert s.idle_power_w == 2.0 and s.energy_j == pytest.approx(7.0)
    assert s.energy_above_idle_j == pytest.approx(5.0)
    assert s.energy_above_idle_per_inference_j == pytest.approx(0.05)
    assert s.energy_per_inference_j == pytest.approx(0.07)
    assert not {"power", "idle_power_w", "energy_above_idle_j", "energy_per_inference_j",
                "energy_above_idle_per_inference_j"} & set(s.unavailable)


def test_idle_baseline_without_the_primary_source():
    idle = idle_baseline({"other": power_trace("other", [(0, 1.0), (1, 1.0)])}, 0, S)
    s = summarize({"m": power_trace("m", [(0, 3.0), (1, 3.0)])}, 0, S, idle, inferences=3)
    assert s.idle_power_w is None and "not sampled during the baseline" in s.unavailable["idle_power_w"]
    assert s.energy_per_inference_j == pytest.approx(1.0)


def test_temperature_start_max_end_and_zones():
    tr = series("thermal", "thermal", [
        (0.0, {"cpu": 40.0, "gpu": 38.0}),
        (0.5, {"cpu": 41.0, "gpu": 39.0}),
        (1.0, {"cpu": 47.0, "gpu": 49.0}),
        (1.5, {"cpu": 44.0, "gpu": 43.0}),
        (2.0, {"cpu": 42.0, "gpu": 41.0}),
    ])
    s = summarize({"thermal": tr}, int(0.6 * S), int(1.6 * S))
    assert s.temp_source == "thermal"
    assert (s.temp_start_c, s.temp_max_c, s.temp_end_c) == (41.0, 49.0, 42.0)  # hottest zone per reading
    assert s.temp_max_by_zone_c == {"cpu": 47.0, "gpu": 49.0}


def test_frequency_min_max_prefers_the_firmware_clock():
    traces = {
        "cpufreq": series("frequency", "cpufreq", [(t, {"cpu0": 2.4e9, "cpu1": 2.4e9}) for t in (0, 0.5, 1)]),
        "rpi-arm-clock": series("frequency", "rpi-arm-clock",
                                [(0, {"arm": 2.4e9}), (0.5, {"arm": 1.5e9}), (1, {"arm": 2.4e9})]),
    }
    s = summarize(traces, int(0.2 * S), int(0.8 * S))
    assert s.freq_source == "rpi-arm-clock"
    assert (s.freq_min_hz, s.freq_max_hz) == (1.5e9, 1.5e9)  # only the reading inside the window
    s = summarize(traces, 0, S)
    assert (s.freq_min_hz, s.freq_max_hz) == (1.5e9, 2.4e9)


def throttle(points: list[tuple[float, int]]) -> dict[str, Trace]:
    return {"rpi-throttle": series("throttle", "rpi-throttle", [(t, {"flags": float(f)}) for t, f in points])}


def test_throttled_now_bit_inside_the_window():
    s = summarize(throttle([(0, 0x0), (1, 0x40004), (2, 0x40000)]), int(0.5 * S), int(1.5 * S))
    assert s.throttled is True
    assert s.throttle_before == ThrottleState(0) and s.throttle_after == ThrottleState(0x40000)
    assert s.throttle_during == ThrottleState(0x4)
    assert s.throttle_flags == ["throttled", "throttled since boot"]


def test_sticky_bit_appearing_between_samples_flags_the_run():
    # The throttling happened between two samples: only the sticky bit tells.
    s = summarize(throttle([(0, 0x0), (1, 0x0), (2, 0x80000)]), int(0.5 * S), int(1.5 * S))
    assert s.throttled is True and s.throttle_flags == ["soft temperature limit since boot"]


def test_old_sticky_bits_do_not_flag_a_clean_run():
    s = summarize(throttle([(0, 0x50000), (1, 0x50000), (2, 0x50000)]), int(0.5 * S), int(1.5 * S))
    assert s.throttled is False and s.throttle_flags == [] and "throttled" not in s.unavailable


def test_throttle_unmeasured_after_the_window_is_none():
    s = summarize(throttle([(0, 0x0), (1, 0x0)]), int(0.5 * S), int(1.5 * S))
    assert s.throttled is None and "no throttle reading after the window" in s.unavailable["throttled"]


def test_to_dict_is_plain_data():
    s = summarize(throttle([(0, 0x0), (1, 0x4), (2, 0x0)]), int(0.5 * S), int(1.5 * S))
    d = s.to_dict()
    assert d["throttle_during"] == "0x4" and d["throttled"] is True and d["window_start_ns"] == S // 2


def test_window_starting_just_before_the_first_reading_holds_its_value():
    # Readings from 0.5 s; the window starts 0.05 s earlier: that sliver is held at the first value and
    # counted as uncovered (0.05 of 0.55 s).
    tr = power_trace("m", [(0.5 + i / 10, 3.0) for i in range(16)])
    s = summarize({"m": tr}, int(0.45 * S), int(1.0 * S))
    assert s.coverage == pytest.approx(0.5 / 0.55)
    assert s.energy_j == pytest.approx(3.0 * 0.55) and s.avg_power_w == pytest.approx(3.0)
    late = summarize({"m": tr}, int(0.2 * S), int(1.0 * S))
    assert late.energy_j is None and "readings cover 62% of the window" in late.unavailable["power"]
