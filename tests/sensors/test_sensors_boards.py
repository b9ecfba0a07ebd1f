"""Discovery and one reading on each fixture board, in the exact formats the real boards use."""
from __future__ import annotations

import pytest

from edgebench.agent.sensors import ThrottleState, discover_all
from edgebench.agent.sensors.sources import hwmon_ina2xx, jetson_iio, rpi_pmic, thermal

# Pi 5 pmic_read_adc fixture, rail -> (A, V), typed in from the fixture independently of the parser.
PI5_RAILS = {
    "3V7_WL_SW": (0.09368929, 3.69977600),
    "3V3_SYS": (0.05174400, 3.31709400),
    "1V8_SYS": (0.17289940, 1.79633800),
    "DDR_VDD2": (0.02049600, 1.11086600),
    "DDR_VDDQ": (0.00000000, 0.60854200),
    "1V1_SYS": (0.18542690, 1.10256400),
    "0V8_SW": (0.35231780, 0.80219800),
    "VDD_CORE": (6.22421000, 0.86173300),
    "3V3_DAC": (0.00012210, 3.31221000),
    "3V3_ADC": (0.00024420, 3.31465200),
    "0V8_AON": (0.00305250, 0.80000000),
    "HDMI": (0.02136300, 5.09430000),
}


def names(sensor_set, available: bool) -> set[str]:
    return {i.name for i in sensor_set.infos() if i.available is available}


def test_pi5_discovers_pmic_firmware_thermal_and_clocks(board):
    b = board("pi5")
    found = discover_all(b.config)
    try:
        assert names(found, True) == {"rpi5-pmic", "rpi-temp", "rpi-arm-clock", "rpi-throttle", "thermal", "cpufreq"}
        absent = {i.name: i.reason for i in found.infos() if not i.available}
        assert absent["hwmon-ina2xx"].startswith("missing:")
        assert absent["rapl"].startswith("missing:")
        assert absent["tegrastats-power"].startswith("command not found:")
        assert absent["external-meter"].startswith("not configured")
        pmic = found.get("rpi5-pmic")
        assert pmic is not None
        assert sorted(pmic.info.rails) == sorted(PI5_RAILS)
        assert "below wall power" in pmic.info.note
        assert pmic.info.max_rate_hz > 0  # measured from one timed call
        proto = pmic.info.to_proto_fields()
        assert proto["name"] == "rpi5-pmic" and proto["kind"] == "power" and proto["unit"] == "W"
        assert proto["available"] is True and proto["rails"] == pmic.info.rails
    finally:
        found.close()


def test_pi5_pmic_pairs_rails_by_name_and_sums_them(board):
    b = board("pi5")
    (pmic,) = rpi_pmic.discover(b.config).found
    r = pmic.read()
    assert r.ok, r.reason
    for rail, (amps, volts) in PI5_RAILS.items():
        assert r.values[rail] == pytest.approx(amps * volts, rel=1e-9), rail
    # current(7) pairs with volt(15) by name: index pairing would give 6.22421 x 0.80219800.
    assert r.values["VDD_CORE"] == pytest.approx(6.22421 * 0.861733)
    assert r.total == pytest.approx(sum(a * v for a, v in PI5_RAILS.values()), rel=1e-9)
    assert r.extra == {"EXT5V_V": pytest.approx(5.09066), "BATT_V": pytest.approx(0.0)}  # voltage-only rails
    assert "EXT5V" not in r.values and "BATT" not in r.values


def test_pi5_pmic_nan_rail_voids_the_total_not_zero(board):
    b = board("pi5")
    (pmic,) = rpi_pmic.discover(b.config).found
    text = b.path("vcgencmd/pmic_read_adc").read_text().replace("volt(15)=0.86173300V", "volt(15)=nan")
    b.path("vcgencmd/pmic_read_adc").write_text(text)
    r = pmic.read()
    assert not r.ok and r.total is None
    assert "VDD_CORE" in r.reason and "nan" in r.reason
    assert "VDD_CORE" in r.missing and "VDD_CORE" not in r.values


def test_pi5_pmic_rail_nan_at_discovery_is_left_out_and_said(board):
    b = board("pi5")
    text = b.path("vcgencmd/pmic_read_adc").read_text().replace("current(22)=0.02136300A", "current(22)=nan")
    b.path("vcgencmd/pmic_read_adc").write_text(text)
    (pmic,) = rpi_pmic.discover(b.config).found
    assert "HDMI" not in pmic.info.rails and "HDMI" in pmic.info.note
    r = pmic.read()
    assert r.ok
    assert r.total == pytest.approx(sum(a * v for k, (a, v) in PI5_RAILS.items() if k != "HDMI"))


def test_pi5_firmware_figures(board):
    b = board("pi5")
    found = discover_all(b.config)
    try:
        assert found.get("rpi-temp").read().values == {"soc": 52.1}
        assert found.get("rpi-arm-clock").read().values == {"arm": 2400023808.0}
        assert found.get("rpi-throttle").read().values == {"flags": 0.0}
        assert found.get("thermal").read().values == {"cpu-thermal": 52.1}
        freq = found.get("cpufreq").read()
        assert freq.values == {f"cpu{n}": 2.4e9 for n in range(4)}
        assert "ondemand" in found.get("cpufreq").info.note
    finally:
        found.close()


def test_pi4_has_no_pmic_but_an_ina219(board):
    b = board("pi4-ina219")
    found = discover_all(b.config)
    try:
        absent = {i.name: i.reason for i in found.infos() if not i.available}
        assert "Command not registered" in absent["rpi5-pmic"]
        ina = found.get("hwmon-ina219")
        assert ina is not None and ina.info.rails == ["ina219"]
        r = ina.read()
        assert r.values == {"ina219": pytest.approx(6.268)} and r.total == pytest.approx(6.268)
        assert found.get("rpi-arm-clock").read().values == {"arm": 1500398464.0}
        state = ThrottleState(int(found.get("rpi-throttle").read().values["flags"]))
        assert state.raw == 0x50005 and state.under_voltage and state.throttled and not state.freq_capped
        # cpu_thermal and rpi_volt hwmon devices are not power monitors
        assert [s.name for s in found.of_kind("power")] == ["hwmon-ina219"]
    finally:
        found.close()


def test_ina219_without_power_file_multiplies_bus_voltage_and_current(board):
    b = board("pi4-ina219")
    b.path("sys/class/hwmon/hwmon2/power1_input").unlink()
    disc = hwmon_ina2xx.discover(b.config)
    (ina,) = disc.found
    assert "in1_input (mV) x curr1_input (mA)" in ina.info.note
    assert ina.read().total == pytest.approx(5.080 * 1.234)


def test_orin_ina3221_found_once_through_three_paths_total_is_vdd_in(board):
    b = board("orin-nano-jp6")
    disc = hwmon_ina2xx.discover(b.config)
    (ina,) = disc.found  # class/hwmon, drivers/ina3221 and devices/*/name all lead to the same chip
    assert ina.info.name == "hwmon-ina3221"
    assert ina.info.rails == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
    assert ina.info.max_rate_hz == 100.0  # update_interval 10 ms
    r = ina.read()
    assert r.values == {
        "VDD_IN": pytest.approx(5.064 * 0.544),
        "VDD_CPU_GPU_CV": pytest.approx(5.072 * 0.128),
        "VDD_SOC": pytest.approx(5.056 * 0.136),
    }
    assert r.total == pytest.approx(5.064 * 0.544)  # VDD_IN already includes the rails: not added
    assert "ina2xx" in {i.name.replace("hwmon-", "") for i in disc.absent}


def test_ina3221_skips_nc_and_sums_without_a_module_input_rail(board):
    b = board("orin-nano-jp6")
    hw = "sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040/hwmon/hwmon1"
    b.write(f"{hw}/in1_label", "NC")
    (ina,) = hwmon_ina2xx.discover(b.config).found
    assert ina.info.rails == ["VDD_CPU_GPU_CV", "VDD_SOC"]
    assert "sum" in ina.info.note
    assert ina.read().total == pytest.approx(5.072 * 0.128 + 5.056 * 0.136)


def test_ina3221_total_unavailable_when_vdd_in_unreadable(board):
    b = board("orin-nano-jp6")
    hw = "sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040/hwmon/hwmon1"
    (ina,) = hwmon_ina2xx.discover(b.config).found
    b.write(f"{hw}/curr1_input", "garbage")
    r = ina.read()
    assert r.total is None and "garbage" in r.reason
    assert "VDD_SOC" in r.values  # the other rails still read


def test_orin_thermal_zone_answering_eagain(board):
    b = board("orin-nano-jp6")
    (zones,) = thermal.discover(b.config).found
    assert zones.info.rails == ["cpu-thermal", "gpu-thermal", "cv0-thermal", "cv1-thermal", "cv2-thermal",
                                "soc0-thermal", "soc1-thermal", "soc2-thermal", "tj-thermal"]
    r = zones.read()
    assert r.ok
    assert r.values["cpu-thermal"] == 46.5 and r.values["tj-thermal"] == 46.5
    assert "EAGAIN" in r.missing["cv0-thermal"] and "cv0-thermal" not in r.values
    # The zone answers once a value is there: the reader is not stuck on the earlier error.
    b.feed_fifo("sys/class/thermal/thermal_zone2/temp", "47125")
    assert zones.read().values["cv0-thermal"] == 47.125
    assert "EAGAIN" in zones.read().missing["cv0-thermal"]
    zones.close()


def test_nano_jp4_iio_rails_total_is_pom_5v_in(board):
    b = board("nano-jp4")
    (iio,) = jetson_iio.discover(b.config).found
    assert iio.info.rails == ["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"]
    r = iio.read()
    assert r.values == {"POM_5V_IN": 3.41, "POM_5V_GPU": 0.451, "POM_5V_CPU": 1.353}
    assert r.total == 3.41
    temps = discover_all(b.config, sources=[thermal]).get("thermal").read()
    assert temps.values["PMIC-Die"] == 100.0 and temps.values["CPU-therm"] == 26.0


def test_sensors_on_x86_rapl_board(board):
    b = board("x86-rapl")
    found = discover_all(b.config, sources=[hwmon_ina2xx, thermal, rpi_pmic])
    absent = {i.name: i.reason for i in found.infos() if not i.available}
    assert absent["rpi5-pmic"].startswith("command not found")
    assert found.get("thermal").read().values == {"x86_pkg_temp": 54.0, "acpitz": 27.8}
    found.close()


def test_absent_sensor_is_absent_not_zero(board):
    b = board("pi5")
    b.path("sys/class/thermal/thermal_zone0/temp").unlink()
    found = discover_all(b.config, sources=[thermal])
    (info,) = found.infos()
    assert info.name == "thermal" and not info.available
    assert info.reason == f"cpu-thermal: missing: {b.path('sys/class/thermal/thermal_zone0/temp')}"
    assert found.sensors == []
