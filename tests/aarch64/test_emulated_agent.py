"""The native controller benches through an agent running in the arm64 rootfs (qemu-user): the zoo's ONNX and
TFLite models, fp32 and int8, on an unknown aarch64 board and on the Pi fixture boards.

Emulation makes every kernel 100-500x slower, so nothing here compares a time with another or with a
prediction: timings are checked for what emulation cannot distort (as many samples as asked, statistics that
are those of the samples), and identity, runtimes, input types, profile choice and sensors exactly.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import psutil
import pytest

from edgebench.controller.link.client import AgentClient
from tests.aarch64.conftest import BOARD_SRC
from tests.conftest import run_controller

RUNS = 5


@pytest.fixture(scope="module")
def tiny_int8_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """zoo:tiny_cnn quantized to int8 by onnxruntime's static quantizer (QLinearConv, QGemm), calibrated on
    seeded random inputs: the zoo has no int8 ONNX of its own."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from edgebench.controller import zoo

    src = zoo.resolve("zoo:tiny_cnn")
    name = onnx.load(src).graph.input[0].name
    rng = np.random.default_rng(0)
    batches = iter([{name: rng.standard_normal((1, 3, 32, 32), dtype=np.float32)} for _ in range(8)])

    class Batches(CalibrationDataReader):
        def get_next(self):
            return next(batches, None)

    out = tmp_path_factory.mktemp("int8") / "tiny_cnn_int8.onnx"
    quantize_static(str(src), str(out), Batches(), quant_format=QuantFormat.QOperator,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    assert {"QLinearConv", "QGemm"} <= {n.op_type for n in onnx.load(out).graph.node}
    return out


def _bench(address: str, *models: str) -> dict:
    proc = run_controller("bench", "--target", address, *models, "--threads", "1", "--runs", str(RUNS),
                          "--warmup", "1", "--json", "-", "--no-progress", timeout=900, check_rc=0)
    return json.loads(proc.stdout)


def _check_emulated_run(run: dict) -> None:
    """What emulation cannot distort: the run's shape, and statistics that are those of its own samples."""
    assert run["status"] == "ok", run.get("error")
    assert run["board"]["machine"] == "aarch64"
    samples = np.array(run["samples_ms"])
    lat = run["latency_ms"]
    assert lat["count"] == len(samples) == RUNS and (samples > 0).all()
    assert lat["min"] == pytest.approx(samples.min()) and lat["max"] == pytest.approx(samples.max())
    assert lat["mean"] == pytest.approx(samples.mean())
    assert run["load_ms"] > 0 and run["peak_rss_mb"] > 0


def test_describe_says_aarch64_and_the_runtimes(rootfs_agent, rootfs):
    agent = rootfs_agent()
    # The agent really is an arm64 process run by qemu: the kernel started the binfmt interpreter for it.
    assert "qemu" in Path(psutil.Process(agent.process.pid).exe()).name
    with AgentClient(agent.address) as client:
        desc = client.describe()
    assert desc.machine == "aarch64"
    assert desc.board_model == "unknown"  # no device tree and no DMI in the rootfs: nothing is claimed
    assert desc.python_version.startswith("3.11.") and "bookworm" in desc.os
    runtimes = {r.name: r for r in desc.runtimes}
    assert runtimes["onnxruntime"].available, runtimes["onnxruntime"].reason
    tflite = runtimes["tflite"]
    assert tflite.available and tflite.package == "ai-edge-litert", tflite
    # With every manylinux level named, pip picks the current LiteRT for aarch64, not an old 1.x.
    assert int(tflite.version.split(".")[0]) >= 2, tflite.version


def test_bench_onnx_and_tflite_fp32_and_int8(rootfs_agent, tiny_int8_onnx):
    agent = rootfs_agent()
    doc = _bench(agent.address, "zoo:tiny_cnn", str(tiny_int8_onnx), "zoo:tiny_cnn_tflite",
                 "zoo:tiny_cnn_int8_tflite")
    runs = doc["runs"]
    assert [(r["model"]["format"], r["runtime"]) for r in runs] == [
        ("onnx", "onnxruntime"), ("onnx", "onnxruntime"), ("tflite", "tflite"), ("tflite", "tflite")]
    for run in runs:
        _check_emulated_run(run)
        # An unknown aarch64 board matches no built-in profile: no prediction is invented, and it says why.
        assert run["predicted"] is None
        assert any("no device profile matches board 'unknown' (aarch64)" in w for w in run["warnings"]), run
    assert [r["inputs"][0]["dtype"] for r in runs] == ["float32", "float32", "float32", "int8"]
    assert runs[0]["ep"] == runs[1]["ep"] == "CPUExecutionProvider"


BOARDS = {  # fixture board -> (its model line, the built-in profile it must get, its power source of record)
    "pi5": ("Raspberry Pi 5 Model B Rev 1.0", "rpi5", "rpi5-pmic"),
    "pi4-ina219": ("Raspberry Pi 4 Model B Rev 1.4", "rpi4", "hwmon-ina219"),
}


@pytest.mark.parametrize("name", list(BOARDS))
def test_pi_fixture_board_gets_its_model_and_profile(name, rootfs_agent, rootfs, tmp_path):
    model, profile, power_source = BOARDS[name]
    board = BOARD_SRC / "tests" / "fixtures" / "boards" / name
    assert (rootfs / board.relative_to("/") / "proc" / "device-tree" / "model").read_text().strip() == model
    agent = rootfs_agent("--sysfs-root", str(board), "--vcgencmd", str(board / "bin" / "vcgencmd"),
                         "--idle-baseline", "0.3")
    with AgentClient(agent.address) as client:
        desc = client.describe()
    assert (desc.board_model, desc.machine) == (model, "aarch64")
    assert {s.name: s for s in desc.sensors}[power_source].available
    (run,) = _bench(agent.address, "zoo:tiny_cnn")["runs"]
    _check_emulated_run(run)
    assert run["board"]["model"] == model
    predicted = run["predicted"]
    assert predicted["error"] is None and predicted["device"] == profile
    assert predicted["source"] == f"built-in {profile}" and predicted["threads"] == 1
    assert predicted["macs"] > 0 and predicted["predicted_latency_ms"] > 0
    # The fixture's power sensor, read by the emulated agent through the same code path as on the board.
    assert run["energy"]["power_source"] == power_source
