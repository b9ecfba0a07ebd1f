"""`controller predict` as a user runs it: a separate process, real files, real arguments."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from costmodel_builders import onnx_model, save, weight
from onnx import helper

ROOT = Path(__file__).resolve().parents[2]


def predict(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgebench.controller.cli", "predict", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


@pytest.fixture
def dynamic_model(tmp_path):
    model = onnx_model([
        helper.make_node("Conv", ["images", "W"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"]),
    ], {"images": ["batch", 3, 16, 16]}, ["y"], [weight("W", [8, 3, 3, 3])])
    return save(model, tmp_path, "dyn.onnx")


def test_json_to_stdout(dynamic_model):
    proc = predict(str(dynamic_model), "--device", "rpi4", "--input-shape", "images=2x3x16x16", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    (model,) = doc["models"]
    assert model["macs"] == 2 * 8 * 256 * 27
    assert model["flops"] == 2 * model["macs"]
    assert model["device"] == "rpi4" and doc["device"]["name"] == "rpi4"
    assert [n["op_type"] for n in model["nodes"]] == ["Conv", "Relu"]
    assert "macs" in doc["conventions"]


def test_table_with_per_op_and_json_file(dynamic_model, tmp_path):
    out = tmp_path / "pred.json"
    proc = predict(str(dynamic_model), "--device", "jetson-orin-nano", "--input-shape", "images=1x3x16x16",
                   "--per-op", "--threads", "2", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "GMACs" in proc.stdout and "per op type" in proc.stdout and "Conv" in proc.stdout
    assert "2 of 6 cores" in proc.stdout
    assert json.loads(out.read_text())["models"][0]["threads"] == 2


def test_flops_header(dynamic_model):
    proc = predict(str(dynamic_model), "--device", "rpi4", "--input-shape", "images=1x3x16x16", "--flops")
    assert proc.returncode == 0, proc.stderr
    assert "GFLOPs (2×MACs)" in proc.stdout


def test_symbolic_dim_error_names_the_dim(dynamic_model):
    proc = predict(str(dynamic_model), "--device", "rpi4")
    assert proc.returncode == 2  # nothing could be predicted: as bench, 2 (1 is for some of several models)
    assert "'batch'" in proc.stderr and "--input-shape images=" in proc.stderr


def test_missing_device_and_unknown_device(dynamic_model):
    proc = predict(str(dynamic_model))
    assert proc.returncode == 2 and "--device is required" in proc.stderr
    proc = predict(str(dynamic_model), "--device", "pi9")
    assert proc.returncode == 2 and "unknown device profile 'pi9'" in proc.stderr


def test_zoo_reference_and_list_devices():
    proc = predict("zoo:tiny_cnn", "--device", "x86-host", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["models"][0]["model"] == "zoo:tiny_cnn"
    proc = predict("--list-devices")
    assert proc.returncode == 0 and "rpi4" in proc.stdout and "jetson-nano" in proc.stdout


def test_json_flag_right_before_a_model_does_not_swallow_it(dynamic_model):
    proc = predict("--device", "rpi4", "--input-shape", "images=1x3x16x16", "--json", str(dynamic_model))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["models"][0]["model"] == "dyn.onnx"
    assert "GMACs" in proc.stderr  # the human table moves to stderr, as with `bench --json -`
