"""`controller bench` as a user runs it, against a real agent, real onnxruntime and LiteRT."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re

import numpy as np
import pytest

from tests.conftest import bench_json, run_controller

LATENCY_KEYS = {"min", "mean", "std", "p50", "p90", "p95", "p99", "max", "count"}
RUN_KEYS = {"target", "board", "model", "runtime", "runtime_version", "ep", "threads", "latency_ms", "load_ms",
            "first_inference_ms", "peak_rss_mb", "predicted", "energy", "samples_ms", "status"}


def check_run_is_honest(run: dict, runs: int) -> None:
    """The statistics must be the statistics of the raw samples that came with them."""
    assert run["status"] == "ok", run["error"]
    lat = run["latency_ms"]
    assert set(lat) == LATENCY_KEYS
    samples = np.array(run["samples_ms"])
    assert lat["count"] == len(samples) == runs
    assert lat["min"] == pytest.approx(samples.min()) and lat["max"] == pytest.approx(samples.max())
    assert lat["mean"] == pytest.approx(samples.mean())
    assert lat["std"] == pytest.approx(samples.std(ddof=1))
    for key, q in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)):
        assert lat[key] == pytest.approx(np.percentile(samples, q))
    assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert run["load_ms"] > 0 and run["first_inference_ms"] > 0
    assert run["peak_rss_mb"] >= run["rss_after_load_mb"] > 0
    start, end = run["window_monotonic_ns"]
    # Throughput is over the window, which holds every timed inference plus the loop's own gaps.
    assert end - start >= samples.sum() * 1e6 * 0.999
    assert run["throughput_ips"] == pytest.approx(runs / ((end - start) / 1e9))


def test_bench_local_onnx_thread_sweep(tiny_onnx):
    doc = bench_json("--target", "local", str(tiny_onnx), "--threads", "1,2", "--runs", "30", "--warmup", "3")
    assert doc["schema"] == "edgebench.bench/1"
    runs = doc["runs"]
    assert [r["threads"] for r in runs] == [1, 2]
    sha = hashlib.sha256(tiny_onnx.read_bytes()).hexdigest()
    for run in runs:
        assert RUN_KEYS <= set(run)
        check_run_is_honest(run, 30)
        assert run["target"] == "local"
        assert run["model"]["sha256"] == sha
        assert run["runtime"] == "onnxruntime" and run["runtime_version"]
        assert run["ep"] == "CPUExecutionProvider"
        assert run["providers_used"] == ["CPUExecutionProvider"]
        assert run["board"]["cpu_count"] >= 1 and run["board"]["fingerprint"]
        if os.environ.get("EDGEBENCH_EMULATED"):
            # scripts/test-aarch64.sh's emulated arm64 rootfs has no device tree: the board says nothing of itself
            # and matches no built-in profile, so no prediction is invented and the run says why.
            assert run["board"]["machine"] == "aarch64" and run["predicted"] is None
            assert any("no device profile matches board" in w for w in run["warnings"]), run["warnings"]
        else:
            # x86-64 matches the built-in x86-host profile (or the board's calibration): a prediction for these
            # threads.
            assert run["predicted"]["error"] is None and run["predicted"]["threads"] == run["threads"]
            assert run["predicted"]["macs"] > 0 and run["predicted"]["predicted_latency_ms"] > 0
        assert run["energy"] is None  # nothing made up before it is measured
        assert run["inputs"][0]["shape"] == [1, 3, 32, 32]


def test_bench_tflite_xnnpack_and_builtin(tiny_tflite):
    doc = bench_json("--target", "local", str(tiny_tflite), "--threads", "1", "--runs", "20")
    run = doc["runs"][0]
    check_run_is_honest(run, 20)
    assert run["runtime"] == "tflite" and run["providers_used"] == ["xnnpack"]
    doc = bench_json("--target", "local", str(tiny_tflite), "--ep", "none", "--threads", "1", "--runs", "5")
    assert doc["runs"][0]["providers_used"] == ["builtin-cpu"]


def test_bench_int8_tflite_and_several_models_in_one_command(tiny_onnx):
    doc = bench_json("--target", "local", "zoo:tiny_cnn_int8_tflite", str(tiny_onnx), "--threads", "1",
                     "--runs", "10")
    names = [r["model"]["name"] for r in doc["runs"]]
    assert names == ["tiny_cnn_int8_tflite", tiny_onnx.stem]
    assert doc["runs"][0]["inputs"][0]["dtype"] == "int8"
    for run in doc["runs"]:
        check_run_is_honest(run, 10)


def test_bench_by_duration(agent, tiny_onnx):
    target = agent.address
    doc = bench_json("--target", target, str(tiny_onnx), "--threads", "1", "--duration", "0.5")
    run = doc["runs"][0]
    start, end = run["window_monotonic_ns"]
    assert (end - start) / 1e9 >= 0.5
    assert run["latency_ms"]["count"] == len(run["samples_ms"]) > 10


def test_table_and_csv_outputs(agent, tiny_onnx, tmp_path):
    out_csv = tmp_path / "runs.csv"
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "5",
                          "--csv", str(out_csv), "--no-progress", check_rc=0)
    assert "p99 ms" in proc.stdout and tiny_onnx.stem in proc.stdout
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert len(rows) == 1 and rows[0]["status"] == "ok" and int(rows[0]["latency_count"]) == 5
    assert float(rows[0]["latency_p50_ms"]) > 0


def test_progress_is_reported_on_stderr(agent, tiny_onnx):
    # Not a terminal: one line per finished job (its phases are for the live bar on a terminal).
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--duration", "1.5",
                          check_rc=0)
    assert re.search(r"^\[1/1\] tiny_cnn.* threads=1: ok, p50 .* ms over \d+ runs", proc.stderr, re.MULTILINE)
    assert "measuring" not in proc.stderr


def test_input_shape_override_for_dynamic_dims(agent, tmp_path):
    from tests.e2e.models import dynamic_conv

    model = dynamic_conv(tmp_path / "dyn.onnx")
    doc = bench_json("--target", agent.address, str(model), "--threads", "1", "--runs", "5",
                     "--input-shape", "x=2x3x40x48")
    assert doc["runs"][0]["inputs"][0]["shape"] == [2, 3, 40, 48]
    # Without the override the symbolic height cannot be guessed: one clear line naming it, before any upload.
    proc = run_controller("bench", "--target", agent.address, str(model), "--threads", "1", "--runs", "5",
                          "--no-progress", check_rc=2)
    assert "dynamic dims height, width" in proc.stderr and "--input-shape x=" in proc.stderr


def test_int64_ids_and_npy_input_file(agent, tmp_path):
    from tests.e2e.models import embedding

    model = embedding(tmp_path / "emb.onnx", vocab=100)
    doc = bench_json("--target", agent.address, str(model), "--threads", "1", "--runs", "5")
    assert doc["runs"][0]["status"] == "ok"  # random ids stayed inside the vocabulary
    ids = tmp_path / "ids.npy"
    np.save(ids, np.arange(12, dtype=np.int64).reshape(1, 12))
    doc = bench_json("--target", agent.address, str(model), "--threads", "1", "--runs", "5",
                     "--input-file", f"ids={ids}")
    assert doc["runs"][0]["status"] == "ok"
    np.save(ids, np.arange(12, dtype=np.int32).reshape(1, 12))
    doc = bench_json("--target", agent.address, str(model), "--threads", "1", "--runs", "5",
                     "--input-file", f"ids={ids}", check_rc=1)
    assert "dtype int32" in doc["runs"][0]["error"]


def test_json_written_to_file(agent, tiny_onnx, tmp_path):
    out = tmp_path / "r.json"
    run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "3",
                   "--json", str(out), "--no-progress", check_rc=0)
    assert json.loads(out.read_text())["runs"][0]["latency_ms"]["count"] == 3
