"""Device profiles: every shipped figure has a source, and malformed profiles fail with a clear message."""
from __future__ import annotations

import copy
import json
import re

import pytest

from edgebench.controller.costmodel import CostModelError, list_profiles, load_profile
from edgebench.controller.costmodel.profiles import DTYPES, profile_from_dict

REQUIRED_BOARDS = {"rpi4", "rpi5", "jetson-nano", "jetson-orin-nano", "x86-host"}


def test_required_boards_ship():
    names = {p.name for p in list_profiles()}
    assert REQUIRED_BOARDS <= names


@pytest.mark.parametrize("profile", list_profiles(), ids=lambda p: p.name)
def test_every_figure_has_a_source(profile):
    figures = [profile.cores, profile.memory_bandwidth_gbs, profile.dispatch_overhead_us, profile.idle_power_w,
               profile.active_power_w, *profile.peak_gflops.values(), *profile.runtime_overhead_mb.values()]
    for fig in figures:
        assert fig.source.strip(), profile.name
    assert set(profile.peak_gflops) == set(DTYPES)
    assert profile.active_power_w.value > profile.idle_power_w.value
    assert profile.efficiency["default"] > 0 and profile.efficiency_source


def test_pi4_peak_is_the_neon_fma_arithmetic():
    pi4 = load_profile("rpi4")
    # 4 cores × 1.5 GHz × 8 FLOP/cycle (4-wide NEON FMA)
    assert pi4.peak("fp32") == pytest.approx(4 * 1.5 * 8)
    assert "derived" in pi4.peak_gflops["fp32"].source


def test_lookup_by_alias_and_path(tmp_path):
    assert load_profile("Raspberry_Pi_4").name == "rpi4"
    assert load_profile("orin-nano").name == "jetson-orin-nano"
    path = tmp_path / "mine.json"
    data = load_profile("rpi5").to_dict()
    data["name"] = "my-pi5"
    path.write_text(json.dumps(data))
    assert load_profile(str(path)).name == "my-pi5"


def test_unknown_name_lists_the_built_in_ones():
    with pytest.raises(CostModelError, match="unknown device profile 'pi9'.*rpi4"):
        load_profile("pi9")


def base() -> dict:
    return copy.deepcopy(load_profile("rpi4").to_dict())


def test_round_trip():
    assert profile_from_dict(base()).to_dict() == base()


@pytest.mark.parametrize("mutate,fragment", [
    (lambda d: d.update(turbo=True), "unknown key(s) turbo"),
    (lambda d: d.pop("memory_bandwidth_gbs"), "missing required field(s) memory_bandwidth_gbs"),
    (lambda d: d["cores"].pop("source"), "cores: missing 'source'"),
    (lambda d: d["idle_power_w"].update(source="  "), "every figure needs a source"),
    (lambda d: d["peak_gflops"].pop("int8"), "peak_gflops: missing int8"),
    (lambda d: d["peak_gflops"].update(fp64={"value": 1, "source": "x"}), "unknown key(s) fp64"),
    (lambda d: d["memory_bandwidth_gbs"].update(value=-1), "must be positive"),
    (lambda d: d["cores"].update(value=2.5), "whole number"),
    (lambda d: d["efficiency"].pop("default"), "needs a 'default'"),
    (lambda d: d["efficiency"].update(conv=1.5), "efficiency['conv'] must be a number in (0, 1]"),
    (lambda d: d.update(compute_unit="npu"), "compute_unit must be one of"),
    (lambda d: d.update(schema_version=9), "schema_version 9"),
])
def test_validation_errors(mutate, fragment):
    data = base()
    mutate(data)
    with pytest.raises(CostModelError, match=re.escape(fragment)) as err:
        profile_from_dict(data, "bad.json")
    assert str(err.value).startswith("bad.json")  # the file at fault is named


def test_bad_json_file_is_named(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(CostModelError, match="broken.json: not valid JSON"):
        load_profile(str(path))


def test_efficiency_table_can_be_replaced_by_a_fit():
    fitted = load_profile("rpi4").with_efficiency({"conv": 0.42, "QLinearConv": 0.3}, "fitted: test")
    assert fitted.efficiency_for("Conv", "conv") == 0.42
    assert fitted.efficiency_for("QLinearConv", "conv") == 0.3  # op type beats kind
    assert fitted.efficiency_for("Whatever", "unheard_of") == fitted.efficiency["default"]
    # A fitted variant beats its family; a variant the fit did not see falls back to the family.
    fitted = fitted.with_efficiency({"conv:pointwise": 0.8}, "fitted: test")
    assert fitted.efficiency_for("Conv", "conv", "pointwise") == 0.8
    assert fitted.efficiency_for("Conv", "conv", "grouped") == 0.42
    with pytest.raises(CostModelError):
        load_profile("rpi4").with_efficiency({"conv": 0.0}, "bad fit")
