"""vcgencmd sources under faults: missing, failing, hanging, garbage. Real fake-vcgencmd scripts only."""
from __future__ import annotations

import time

import pytest

from edgebench.agent.sensors import ThrottleState, discover_all
from edgebench.agent.sensors.sources import rpi_pmic, rpi_vcgencmd
from edgebench.agent.sensors.sources.rpi_vcgencmd import parse_measure_clock, parse_measure_temp


def test_vcgencmd_missing_every_firmware_sensor_absent_with_reason(board):
    b = board("pi5")
    b.path("bin/vcgencmd").unlink()
    found = discover_all(b.config, sources=[rpi_pmic, rpi_vcgencmd])
    assert found.sensors == []
    reasons = {i.name: i.reason for i in found.infos()}
    assert set(reasons) == {"rpi5-pmic", "rpi-temp", "rpi-arm-clock", "rpi-throttle"}
    assert all(r == f"command not found: {b.config.vcgencmd}" for r in reasons.values())


def test_vcgencmd_failing_at_discovery_says_why_and_how_to_fix(board):
    b = board("pi5")
    b.path("vcgencmd/FAIL").write_text("")
    found = discover_all(b.config, sources=[rpi_pmic, rpi_vcgencmd])
    assert found.sensors == []
    for info in found.infos():
        assert "exit 255" in info.reason and "VCHI initialization failed" in info.reason
        assert "video group" in info.reason


def test_vcgencmd_failing_mid_run_marks_samples_unavailable(board):
    b = board("pi5")
    found = discover_all(b.config, sources=[rpi_pmic, rpi_vcgencmd])
    assert len(found.sensors) == 4
    b.path("vcgencmd/FAIL").write_text("")
    for sensor in found.sensors:
        r = sensor.read()
        assert not r.ok and "VCHI" in r.reason and r.values == {} and r.total is None
    b.path("vcgencmd/FAIL").unlink()
    assert all(s.read().ok for s in found.sensors)  # and back once the firmware answers again


def test_vcgencmd_hanging_is_killed_at_the_timeout(board):
    b = board("pi5", command_timeout_s=0.3)
    (temp,) = [s for s in rpi_vcgencmd.discover(b.config).found if s.name == "rpi-temp"]
    b.path("vcgencmd/SLEEP").write_text("5")
    t0 = time.monotonic()
    r = temp.read()
    elapsed = time.monotonic() - t0
    assert not r.ok and r.reason.startswith("timed out after 0.3 s")
    assert elapsed < 3.0  # killed, not waited for


def test_vcgencmd_garbage_output(board):
    b = board("pi5")
    found = rpi_vcgencmd.discover(b.config).found
    b.path("vcgencmd/measure_temp").write_text("temp=hot\n")
    b.path("vcgencmd/get_throttled").write_text("\n")
    by_name = {s.name: s for s in found}
    r = by_name["rpi-temp"].read()
    assert not r.ok and "not a measure_temp line" in r.reason and r.values == {}
    assert "not a get_throttled line" in by_name["rpi-throttle"].read().reason
    b.path("vcgencmd/pmic_read_adc").write_text("nothing useful\n")
    assert rpi_pmic.discover(b.config).absent[0].reason == "no readable A/V rail pairs in output"


def test_command_not_registered_with_nonzero_exit_too(board):
    """Whether the real tool exits 0 or not on an in-band error, the reason is the firmware's message."""
    b = board("pi4-ina219")
    script = b.path("bin/vcgencmd")
    script.write_text(script.read_text().replace(
        'echo "error=1 error_msg=\\"Command not registered\\""',
        'echo "error=1 error_msg=\\"Command not registered\\""; exit 1'))
    (info,) = rpi_pmic.discover(b.config).absent
    assert "Command not registered" in info.reason and "Raspberry Pi 5 only" in info.reason


@pytest.mark.parametrize("text, raw, words", [
    ("throttled=0x0", 0, []),
    ("throttled=0x50005", 0x50005, ["under-voltage", "throttled", "under-voltage since boot", "throttled since boot"]),
    ("throttled=0x80008\n", 0x80008, ["soft temperature limit", "soft temperature limit since boot"]),
    ("throttled=0x20000", 0x20000, ["arm frequency capped since boot"]),
])
def test_throttle_state_parse(text, raw, words):
    state = ThrottleState.parse(text)
    assert state.raw == raw and state.describe() == words
    assert state.any_now == bool(raw & 0xF)
    assert state.sticky_bits == raw >> 16


@pytest.mark.parametrize("bad", ["", "throttled=", "throttled=0xZZ", "error=1 error_msg=\"x\""])
def test_throttle_state_rejects_garbage(bad):
    with pytest.raises(ValueError):
        ThrottleState.parse(bad)


def test_measure_parsers_real_lines():
    assert parse_measure_temp("temp=39.5'C\n") == 39.5
    assert parse_measure_clock("frequency(48)=1500398464") == 1500398464
    assert parse_measure_clock("frequency(0)=2400023808\n") == 2400023808
    with pytest.raises(ValueError):
        parse_measure_clock("frequency(48)=0")
