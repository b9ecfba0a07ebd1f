"""tegrastats: the three reference line formats, and the long-running process behind the sensors."""
from __future__ import annotations

import time
from itertools import pairwise

import pytest

from edgebench.agent.sensors.sources import tegrastats
from edgebench.agent.sensors.sources.tegrastats import parse_tegrastats_line

JP4 = ("RAM 2462/3964MB (lfb 2x4MB) SWAP 362/1982MB (cached 6MB) CPU [53%@1479,42%@1479,45%@1479,35%@1479] "
       "EMC_FREQ 0% GR3D_FREQ 9% PLL@23.5C CPU@26C PMIC@100C GPU@24C AO@28.5C thermal@24.75C "
       "POM_5V_IN 3410/3410 POM_5V_GPU 451/451 POM_5V_CPU 1353/1354")
JP5 = ("07-09-2024 13:31:31 RAM 3168/6851MB (lfb 2x4MB) SWAP 161/3426MB (cached 0MB) "
       "CPU [23%@1397,17%@1192,16%@1190,13%@1190,23%@1190,10%@1190] EMC_FREQ 2%@204 GR3D_FREQ 0%@[114] "
       "VIC_FREQ 115 APE 150 AUX@45C CPU@46.5C thermal@45.6C AO@45C GPU@45.5C PMIC@50C "
       "VDD_IN 2763mW/2846mW VDD_CPU_GPU_CV 650mW/670mW VDD_SOC 650mW/711mW")
JP6 = ("05-09-2026 18:42:06 RAM 18207/62841MB (lfb 466x4MB) SWAP 86/31420MB (cached 0MB) CPU [14%@2188,off,off] "
       "EMC_FREQ 3%@2133 GR3D_FREQ 0%@[0,0] NVENC 79%@166 NVDEC off APE 174 cpu@52.562C soc2@48.437C "
       "tj@52.562C VDD_GPU_SOC 2412mW/2412mW VDD_CPU_CV 1607mW/1607mW VIN_SYS_5V0 4707mW/4707mW")


def test_parse_jp4_line_units_implied_upper_case_temps():
    s = parse_tegrastats_line(JP4)
    assert s.rails_mw == {"POM_5V_IN": 3410, "POM_5V_GPU": 451, "POM_5V_CPU": 1353}
    assert s.rails_avg_mw["POM_5V_CPU"] == 1354
    assert s.temps_c == {"PLL": 23.5, "CPU": 26.0, "PMIC": 100.0, "GPU": 24.0, "AO": 28.5, "thermal": 24.75}
    assert s.cpu_load_pct == [53, 42, 45, 35] and s.cpu_freq_mhz == [1479] * 4
    assert s.gpu_load_pct == 9 and s.gpu_freq_mhz == [] and s.emc_freq_mhz is None
    assert (s.ram_used_mb, s.ram_total_mb) == (2462, 3964)
    assert "RAM" not in s.rails_mw and "SWAP" not in s.rails_mw  # "2462/3964MB" is not a rail


def test_parse_jp5_line_date_prefix_mw_units():
    s = parse_tegrastats_line(JP5)
    assert s.rails_mw == {"VDD_IN": 2763, "VDD_CPU_GPU_CV": 650, "VDD_SOC": 650}
    assert s.rails_avg_mw == {"VDD_IN": 2846, "VDD_CPU_GPU_CV": 670, "VDD_SOC": 711}
    assert s.temps_c["CPU"] == 46.5 and s.temps_c["thermal"] == 45.6 and len(s.temps_c) == 6
    assert s.cpu_freq_mhz == [1397, 1192, 1190, 1190, 1190, 1190]
    assert s.gpu_freq_mhz == [114] and s.emc_freq_mhz == 204
    assert "VIC_FREQ" not in s.rails_mw and "APE" not in s.rails_mw


def test_parse_jp6_line_off_cores_lower_case_temps_gpc_list():
    s = parse_tegrastats_line(JP6)
    assert s.cpu_load_pct == [14, None, None] and s.cpu_freq_mhz == [2188, None, None]
    assert s.gpu_freq_mhz == [0, 0] and s.emc_freq_mhz == 2133
    assert s.temps_c == {"cpu": 52.562, "soc2": 48.437, "tj": 52.562}
    assert s.rails_mw == {"VDD_GPU_SOC": 2412, "VDD_CPU_CV": 1607, "VIN_SYS_5V0": 4707}
    assert "NVENC" not in s.rails_mw and "NVDEC" not in s.rails_mw


def test_minus_256_is_unavailable_not_a_temperature():
    s = parse_tegrastats_line(JP5.replace("PMIC@50C", "PMIC@-256C"))
    assert "PMIC" not in s.temps_c and s.temps_unavailable == ["PMIC"]
    r = tegrastats.thermal_reading(1, s)
    assert "PMIC" in r.missing and "PMIC" not in r.values


def test_views_of_a_line():
    jp4 = parse_tegrastats_line(JP4)
    assert tegrastats.power_reading(1, jp4).total == 3.41  # POM_5V_IN is the total, rails not added
    jp6 = parse_tegrastats_line(JP6)
    p = tegrastats.power_reading(1, jp6)
    assert p.total == pytest.approx(2.412 + 1.607 + 4.707)  # no module-input rail: the sum
    f = tegrastats.freq_reading(1, jp6)
    assert f.values == {"cpu0": 2188e6} and f.missing == {"cpu1": "core off", "cpu2": "core off"}
    assert f.extra == {"gpu_hz": 0.0, "emc_hz": 2133e6}
    empty = tegrastats.power_reading(1, parse_tegrastats_line("RAM 1/2MB"))
    assert not empty.ok and empty.total is None


def test_garbage_line_parses_to_nothing():
    assert parse_tegrastats_line("Segmentation fault").empty
    assert parse_tegrastats_line("").empty


@pytest.mark.parametrize("name, total, rails", [
    ("nano-jp4", 3.41, ["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"]),
    ("orin-nano-jp6", 2.763, ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]),
    ("agx-jp6-tegrastats", 2.412 + 1.607 + 4.707, ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"]),
])
def test_tegrastats_process_streams_lines_at_its_interval(board, name, total, rails):
    b = board(name)
    disc = tegrastats.discover(b.config)
    by_name = {s.name: s for s in disc.found}
    assert set(by_name) == {"tegrastats-power", "tegrastats-thermal", "tegrastats-freq"}
    power = by_name["tegrastats-power"]
    assert power.info.rails == rails and power.info.max_rate_hz == 20.0 and power.fallback
    try:
        power.start()
        readings = []
        deadline = time.monotonic() + 5
        while len(readings) < 4 and time.monotonic() < deadline:  # bounded in count and time
            readings += [r for r in power.drain() if r.ok]
            time.sleep(0.02)
        assert len(readings) >= 4
        assert all(r.total == pytest.approx(total) for r in readings)
        gaps = [(b2.t_ns - b1.t_ns) / 1e6 for b1, b2 in pairwise(readings)]
        assert all(g > 20 for g in gaps)  # one line per --interval 50 ms, not a burst of buffered lines
    finally:
        for s in disc.found:
            s.close()


def test_tegrastats_that_goes_silent_is_unavailable_without_hanging(board):
    b = board("orin-nano-jp6", stream_timeout_s=0.3)
    b.path("tegrastats.count").write_text("3")
    b.path("tegrastats.hang").write_text("")
    (power,) = [s for s in tegrastats.discover(b.config).found if s.name == "tegrastats-power"]
    power.start()
    try:
        deadline = time.monotonic() + 5
        seen: list = []
        while time.monotonic() < deadline:
            seen += power.drain()
            if seen and not seen[-1].ok:
                break
            time.sleep(0.05)
        assert sum(r.ok for r in seen) == 3
        assert not seen[-1].ok and "stopped streaming" in seen[-1].reason
        assert "stopped streaming" in power.read().reason
    finally:
        t0 = time.monotonic()
        power.close()
        assert time.monotonic() - t0 < 3  # the silent process (and its sleeping child) is killed


def test_tegrastats_that_exits_says_so(board):
    b = board("nano-jp4")
    (power,) = [s for s in tegrastats.discover(b.config).found if s.name == "tegrastats-power"]
    b.path("tegrastats.count").write_text("2")
    power.start()
    try:
        deadline = time.monotonic() + 5
        last = None
        while time.monotonic() < deadline:
            out = power.drain()
            if out and not out[-1].ok:
                last = out[-1]
                break
            time.sleep(0.05)
        assert last is not None and last.reason == "tegrastats exited (status 0)"
    finally:
        power.close()


def test_tegrastats_missing_or_silent_at_discovery(board):
    b = board("pi5")
    disc = tegrastats.discover(b.config)
    assert disc.found == [] and all(i.reason.startswith("command not found") for i in disc.absent)
    b = board("nano-jp4", stream_timeout_s=0.3)
    b.path("tegrastats.line").write_text("tegrastats: permission denied\n")
    disc = tegrastats.discover(b.config)
    assert disc.found == []
    assert all("permission denied" in i.reason for i in disc.absent), disc.absent[0].reason


def _tegrastats_children() -> list:
    import psutil

    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if any("tegrastats" in part for part in p.cmdline()):
                out.append(p)
        except psutil.Error:  # exited while we looked
            pass
    return out


def test_three_sensors_share_one_process_that_ends_with_the_sampler(board):
    from edgebench.agent.sensors import Sampler, discover_all

    b = board("orin-nano-jp6")
    found = discover_all(b.config, sources=[tegrastats])
    assert _tegrastats_children() == []  # the discovery probe is gone
    with Sampler(found.for_sampling(include_fallbacks=True), rate_hz=10) as sampler:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and min(st.ok for st in sampler.stats().values()) < 3:
            time.sleep(0.05)
        assert len(_tegrastats_children()) == 1  # one tegrastats for power, thermal and clocks
    stats = sampler.stats()
    assert set(stats) == {"tegrastats-power", "tegrastats-thermal", "tegrastats-freq"}
    assert all(st.ok >= 3 and st.failed == 0 for st in stats.values()), stats
    assert _tegrastats_children() == []
    found.close()
