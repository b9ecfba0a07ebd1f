"""The newcomer's path (issue 14): the commands a new user types, and their usual mistakes, run as that user runs
them (the real CLI in its own process, a real agent on loopback, real onnxruntime and LiteRT)."""
from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import platform
import pty
import re
import secrets
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import onnx
import pytest

from edgebench.v1 import agent_pb2 as pb
from tests.conftest import ROOT, bench_json, run_controller
from tests.e2e.test_sensors_agent import fixture_board  # noqa: F401 - the fixture is used by name


def unique_copy(model: Path, tmp_path: Path) -> Path:
    """The same ONNX model with other bytes (a doc string): a sha256 the agent has never seen."""
    m = onnx.load(str(model))
    m.doc_string = secrets.token_hex(8)
    out = tmp_path / f"{model.stem}-{m.doc_string}.onnx"
    onnx.save(m, str(out))
    return out


def on_board(client, path: Path) -> bool:
    return client.model_status(hashlib.sha256(path.read_bytes()).hexdigest()).present


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("controller") and "error:" in lines[0], lines[0]
    return lines[0]


def run_on_terminal(args: list[str], columns: int, timeout: float = 300) -> tuple[str, str, int]:
    """The controller with its stdout on a pseudo-terminal `columns` wide (stderr a pipe), as in a terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([sys.executable, "-m", "edgebench.controller.cli", *args], stdout=slave,
                            stderr=subprocess.PIPE, cwd=ROOT, env=env)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    stderr = proc.stderr.read().decode()
    rc = proc.wait(timeout=30)
    return b"".join(chunks).decode().replace("\r\n", "\n"), stderr, rc


# ----------------------------------------------------------------------------- the bench table and progress

def test_table_groups_measured_and_predicted_and_says_what_the_error_is_against(agent, tiny_onnx):
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "zoo:tiny_cnn_tflite", "--threads",
                          "1,2", "--runs", "10", "--no-store", check_rc=0)
    out = proc.stdout
    group_line = next(line for line in out.splitlines() if "measured" in line and "predicted" in line)
    assert group_line.index("measured") < group_line.index("predicted (x86-host")
    header = next(line for line in out.splitlines() if "p50 ms" in line)
    # Every header says what it is: no two columns are both "err %", memory is MiB as predict says.
    assert "lat err %" in header and "mem err %" in header and "peak MiB" in header
    assert len(re.findall(r"(?<![a-z] )err %", header)) == 0
    assert "against the measured p50" in out and "peak RSS" in out
    # Off a terminal: one progress line per job, no phases.
    progress = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == 4 and all(re.match(r"\[\d/4\] .*: ok, p50 ", line) for line in progress), proc.stderr
    assert "measuring" not in proc.stderr and "loading" not in proc.stderr


def test_table_fits_the_terminal_and_says_what_it_left_out(agent, tiny_onnx):
    out, _, rc = run_on_terminal(["bench", "--target", agent.address, str(tiny_onnx), "--threads", "1",
                                  "--runs", "10", "--no-store", "--no-progress"], columns=100)
    assert rc == 0, out
    assert max(len(line) for line in out.splitlines()) <= 100, out
    assert "left out to fit" in out and "p50 ms" in out and "lat err %" in out
    wide, _, rc = run_on_terminal(["bench", "--target", agent.address, str(tiny_onnx), "--threads", "1",
                                   "--runs", "10", "--no-store", "--no-progress"], columns=250)
    assert rc == 0 and "left out to fit" not in wide and "first ms" in wide


def test_board_without_dmi_is_named_by_its_cpu(fixture_board, tmp_path, tiny_onnx):  # noqa: F811
    from edgebench.agent.board import read_identity
    from tests.e2e.test_sensors_agent import _agent

    board = fixture_board("pi5")
    (board.root / "proc" / "device-tree" / "model").unlink()  # no device tree, and the fixture has no DMI
    (board.root / "proc" / "cpuinfo").write_text("processor\t: 0\nmodel name\t: Test CPU Model 9000\n")
    ident = read_identity(str(board.root))
    assert ident.soc == "Test CPU Model 9000"
    with _agent(board, tmp_path) as agent:
        proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "3",
                              "--json", "-", "--no-progress", "--no-store", check_rc=0)
    run = json.loads(proc.stdout)["runs"][0]
    assert run["board"]["model"] == f"{ident.soc}, {ident.cpu_count} cores" != "unknown"
    assert f"{ident.soc}, {ident.cpu_count} cores" in proc.stderr  # the table's first line (stderr with --json -)
    # Named for people, fingerprinted as before: calibrations stored under the old fingerprint still apply.
    assert run["board"]["fingerprint"] == ident.fingerprint()
    old = ident.__class__(**{**vars(ident), "board_model": "unknown", "model_key": ""})
    assert ident.fingerprint() == old.fingerprint()


# ----------------------------------------------------------------------------- mistakes caught before upload

def test_a_text_file_is_refused_before_upload(agent, client, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("these are my notes, not a model\n")
    proc = run_controller("bench", "--target", agent.address, str(notes), "--no-store", check_rc=2)
    line = one_error_line(proc)
    assert str(notes) in line and "not a model" in line and "neither an ONNX model nor a TFLite" in line
    assert not on_board(client, notes)


def test_unknown_input_name_is_refused_before_upload(agent, client, tiny_onnx, tmp_path):
    model = unique_copy(tiny_onnx, tmp_path)
    proc = run_controller("bench", "--target", agent.address, str(model), "--input-shape", "images=1x3x32x32",
                          "--no-store", check_rc=2)
    line = one_error_line(proc)
    assert "no model has an input named 'images'" in line and "input" in line.split("inputs:")[1]
    assert not on_board(client, model)


def test_execution_provider_the_board_lacks_is_refused_before_upload(agent, client, tiny_onnx, tmp_path):
    model = unique_copy(tiny_onnx, tmp_path)
    proc = run_controller("bench", "--target", agent.address, str(model), "--ep", "cuda", "--no-store", check_rc=2)
    line = one_error_line(proc)
    assert "CUDAExecutionProvider is not available" in line and "CPUExecutionProvider" in line
    assert not on_board(client, model)


def test_tflite_runtime_on_an_onnx_file_is_refused_before_upload(agent, client, tiny_onnx, tmp_path):
    model = unique_copy(tiny_onnx, tmp_path)
    proc = run_controller("bench", "--target", agent.address, str(model), "--runtime", "tflite", "--no-store",
                          check_rc=2)
    line = one_error_line(proc)
    assert "is an ONNX model: --runtime tflite cannot run it" in line and "--runtime onnxruntime" in line
    assert not on_board(client, model)


def test_open_dynamic_dims_get_one_hint(agent):
    proc = run_controller("bench", "--target", agent.address, "zoo:dynamic_cnn", "--no-store", check_rc=2)
    line = one_error_line(proc)
    assert "dynamic dims height, width" in line and "--input-shape input=1x3x<height>x<width>" in line
    assert "<batch>" not in line and "1x3x1x1" not in line
    doc = bench_json("--target", agent.address, "zoo:dynamic_cnn", "--input-shape", "input=1x3x32x32", "--runs",
                     "3", "--threads", "1", "--no-store")
    assert doc["runs"][0]["status"] == "ok"


def test_one_refused_model_of_two_is_one_failed_row_said_once(agent, tiny_onnx):
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "zoo:tiny_cnn_tflite", "--runtime",
                          "tflite", "--threads", "1", "--runs", "3", "--no-store", check_rc=1)
    both = proc.stdout + proc.stderr
    reason = "is an ONNX model: --runtime tflite cannot run it"
    assert both.count(reason) == 1, both
    assert "tiny_cnn_tflite" in proc.stdout and "refused before upload" in proc.stderr


def test_options_of_the_wrong_kind_are_refused(agent, tiny_onnx):
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--delegate-option", "a=b",
                          "--no-store", check_rc=2)
    assert "onnxruntime takes --ep-option" in one_error_line(proc)


# ----------------------------------------------------------------------------- familiar flags

def test_benchmark_model_and_perf_test_spellings(agent, tiny_onnx):
    doc = bench_json("--target", agent.address, str(tiny_onnx), "--num_threads", "1", "--num_runs", "7",
                     "--warmup_runs", "2", "--enable_op_profiling=true", "-o", "1", "--inter-op-threads", "2",
                     "--ep-option", "not_an_option=1", "--no-store")
    run = doc["runs"][0]
    spec = run["job_spec"]
    assert run["status"] == "ok" and run["threads"] == 1 and run["latency_ms"]["count"] == 7
    assert spec["warmup_runs"] == 2 and spec["graph_optimization_level"] == "basic"
    assert spec["inter_op_threads"] == 2 and spec["provider_options"] == {"not_an_option": "1"}
    assert spec["profile_ops"] is True and run["op_profile"]
    # onnxruntime drops an option its provider does not know without a word; edgebench says so.
    assert any("did not take provider option(s) not_an_option" in w for w in run["warnings"]), run["warnings"]


def test_max_secs_ends_the_loop_before_the_runs(agent, tmp_path):
    from tests.e2e.models import slow_matmul

    slow = slow_matmul(tmp_path / "slow.onnx")
    doc = bench_json("--target", agent.address, str(slow), "--threads", "1", "--num_runs", "100000",
                     "--max_secs", "0.5", "--warmup", "0", "--no-store")
    run = doc["runs"][0]
    start, end = run["window_monotonic_ns"]
    assert 1 <= run["latency_ms"]["count"] < 100000 and (end - start) / 1e9 < 5


def test_sensor_settings_reach_the_job_on_a_local_agent(tiny_onnx):
    doc = bench_json("--target", "local", str(tiny_onnx), "--threads", "1", "--runs", "3", "--sample-rate", "25",
                     "--idle-baseline", "0", "--cooldown-timeout", "7", "--no-store")
    spec = doc["runs"][0]["job_spec"]
    assert spec["sample_rate_hz"] == 25 and spec["idle_baseline_s"] == 0 and spec["cooldown_timeout_s"] == 7


# ----------------------------------------------------------------------------- real-time constraints

def test_fixed_rate_frames_report_misses_and_jitter(agent, tiny_onnx):
    doc = bench_json("--target", agent.address, str(tiny_onnx), "--threads", "1", "--rate", "50", "--runs", "25",
                     "--no-store")
    run = doc["runs"][0]
    rt = run["realtime"]
    assert rt["rate_hz"] == 50 and rt["deadline_ms"] == pytest.approx(20.0) and rt["frames"] == 25
    assert run["latency_ms"]["count"] == 25
    start, end = run["window_monotonic_ns"]
    assert (end - start) / 1e9 >= 24 / 50  # frames came at the rate, not back to back
    assert run["throughput_ips"] <= 50 * 1.05
    assert 0 <= rt["deadline_misses"] <= rt["frames"] and rt["miss_share"] == rt["deadline_misses"] / rt["frames"]
    assert rt["response_p50_ms"] <= rt["response_p99_ms"] <= rt["response_max_ms"]
    assert rt["response_max_ms"] >= run["latency_ms"]["max"] * 0.999  # response includes the invoke
    assert 0 < rt["busy_share"] < 1 and rt["jitter_ms"] >= 0


def test_a_deadline_the_model_cannot_meet_is_missed_every_frame(agent, tmp_path):
    from tests.e2e.models import slow_matmul

    slow = slow_matmul(tmp_path / "slow.onnx", n=256)
    proc = run_controller("bench", "--target", agent.address, str(slow), "--threads", "1", "--rate", "1000",
                          "--deadline-ms", "0.001", "--runs", "20", "--warmup", "1", "--json", "-", "--no-progress",
                          "--no-store", check_rc=0)
    rt = json.loads(proc.stdout)["runs"][0]["realtime"]
    assert rt["deadline_misses"] == rt["frames"] == 20 and rt["miss_share"] == 1.0
    # A 1 kHz rate outruns a 256x256 MatMul: frames wait for the one before.
    assert rt["late_starts"] > 0 and rt["start_delay_max_ms"] > 0
    assert "miss %" in proc.stderr and "resp = completion - arrival" in proc.stderr


def test_energy_per_frame_counts_the_idle_gaps(fixture_board, tmp_path, tiny_onnx):  # noqa: F811
    from tests.e2e.test_sensors_agent import _agent

    board = fixture_board("pi5")
    with _agent(board, tmp_path) as agent:
        run = bench_json("--target", agent.address, str(tiny_onnx), "--threads", "1", "--rate", "20", "--runs",
                         "12", "--no-store")["runs"][0]
    # Energy per frame is the window's energy over its frames: the sleeps between frames included.
    assert run["energy_j_per_inference"] * run["realtime"]["frames"] == pytest.approx(run["energy"]["energy_j"],
                                                                                      rel=1e-6)
    assert run["energy"]["duration_s"] >= 11 / 20


def test_rate_refusals(agent, tiny_onnx):
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--deadline-ms", "10", "--no-store",
                          check_rc=2)
    assert "--deadline-ms needs --rate" in one_error_line(proc)


# ----------------------------------------------------------------------------- per-op

def test_profile_ops_shows_its_data_without_json(agent, tiny_onnx):
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "5",
                          "--profile-ops", "--no-store", "--no-progress", check_rc=0)
    assert "per kernel, onnxruntime's profiler" in proc.stdout
    assert re.search(r"^\S+\s+Conv\s+CPU\s+\d+\.\d+", proc.stdout, re.MULTILINE), proc.stdout


def test_per_op_on_tflite_does_not_contradict_itself(agent):
    proc = run_controller("bench", "--target", agent.address, "zoo:tiny_cnn_tflite", "--threads", "1", "--runs",
                          "5", "--per-op", "--device", "x86-host", "--no-store", "--no-progress", check_rc=0)
    assert "per-op profiling was on" not in proc.stdout
    assert "no per-op table" not in proc.stdout and "measured alone" in proc.stdout


def test_per_op_bound_comes_from_the_ridge_point(agent, tiny_onnx):
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "5",
                          "--per-op", "--device", "x86-host", "--no-store", "--no-progress", check_rc=0)
    ridge = float(re.search(r"ridge point \(peak / memory bandwidth: ([0-9.]+) FLOP/B", proc.stdout).group(1))
    rows = re.findall(r"^\S+\s+\S+\s+\S+\s+CPU\s+[0-9.]+\s+[0-9.]+\s+[+-]\d+\s+[0-9.]+\s+[0-9.]+\s+([0-9.]+)\s+"
                      r"(compute|memory)$", proc.stdout, re.MULTILINE)
    assert len(rows) >= 5, proc.stdout
    for intensity, bound in rows:
        # The printed intensity is rounded to 2 decimals; compare away from the edge only.
        if abs(float(intensity) - ridge) > 0.01:
            assert bound == ("compute" if float(intensity) > ridge else "memory"), (intensity, bound, ridge)
    assert {b for _, b in rows} == {"compute", "memory"}  # tiny_cnn has both: its Gemm is at 0.4 FLOP/B


def test_model_explorer_overlay_matches_the_package_format(agent, tmp_path):
    from edgebench.controller import zoo

    out = tmp_path / "overlay.json"
    proc = run_controller("bench", "--target", agent.address, "zoo:tiny_cnn_tflite", "--threads", "1", "--runs",
                          "5", "--per-op", "--device", "x86-host", "--model-explorer", str(out), "--no-store",
                          "--no-progress", check_rc=0)
    assert "Model Explorer overlays" in proc.stdout
    files = [out, tmp_path / "overlay.measured.json", tmp_path / "overlay.predicted.json"]
    docs = [json.loads(f.read_text()) for f in files]
    assert all(d["results"] for d in docs)
    assert set(docs[0]["results"]) <= set(docs[1]["results"]) <= set(docs[2]["results"])
    for key, value in docs[0]["results"].items():  # error % is predicted against measured, per node
        m, p = docs[1]["results"][key]["value"], docs[2]["results"][key]["value"]
        assert value["value"] == pytest.approx((p - m) / m * 100, rel=1e-3, abs=1e-3)
    try:
        from model_explorer.builtin_tflite_flatbuffer_adapter import BuiltinTfliteFlatbufferAdapter
        from model_explorer.node_data_builder import GradientItem, GraphNodeData, NodeDataResult
    except ImportError:  # not installable on this platform: the format as node_data_builder.py defines it
        import warnings

        warnings.warn("ai-edge-model-explorer is not installed: the overlay was checked against the format as "
                      "its node_data_builder.py defines it, not by the package", stacklevel=1)
        for d in docs:
            assert set(d) <= {"name", "results", "gradient", "thresholds"}
            assert all(set(v) <= {"value", "bgColor", "textColor"} for v in d["results"].values())
            assert {g["stop"] for g in d["gradient"]} >= {0.0, 1.0}
        return
    # The package's own classes take every field (they refuse unknown ones), and its TFLite adapter's graph
    # has a node output for every key.
    graph = BuiltinTfliteFlatbufferAdapter().convert(str(zoo.resolve("zoo:tiny_cnn_tflite")), {})
    nodes = graph["graphCollections"][0].graphs[0]
    nodes = nodes["nodes"] if isinstance(nodes, dict) else nodes.nodes
    tensors = {a["value"] for n in nodes for o in n["outputsMetadata"] for a in o["attrs"] if a["key"] == "tensor_name"}
    for d in docs:
        data = GraphNodeData(results={k: NodeDataResult(**v) for k, v in d["results"].items()}, name=d["name"],
                             gradient=[GradientItem(**g) for g in d["gradient"]])
        assert json.loads(data.to_json_string())["results"] == d["results"]
        assert set(d["results"]) <= tensors, set(d["results"]) - tensors
        stops = [g.stop for g in data.gradient]
        assert stops[0] == 0.0 and stops[-1] == 1.0


# ----------------------------------------------------------------------------- profiles and energy

def test_predict_says_its_energy_is_nominal():
    proc = run_controller("predict", "zoo:tiny_cnn", "--device", "rpi4", check_rc=0)
    assert "Energy mJ (nominal)" in proc.stdout and "nominal active power" in proc.stdout
    assert "not a power reading of this one" in proc.stdout


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="needs a board that is not a Pi")
def test_a_profile_of_another_board_says_so(agent, tiny_onnx):
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "3",
                          "--device", "rpi4", "--no-store", "--no-progress", check_rc=0)
    assert "the device profile rpi4 is not this board's" in proc.stdout and "x86-host" in proc.stdout
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "3",
                          "--device", "x86-host", "--no-store", "--no-progress", check_rc=0)
    assert "is not this board's" not in proc.stdout


def test_trace_without_sensors_says_so(agent, tiny_onnx, tmp_path):
    trace = tmp_path / "trace.csv"
    proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "3",
                          "--trace", str(trace), "--no-store", "--no-progress", check_rc=0)
    assert trace.read_text().count("\n") == 1  # the header only
    assert f"{trace} has the header only" in proc.stderr and "sensor" in proc.stderr


def test_calibrate_quick_keeps_a_full_calibration(agent, client, tmp_path, monkeypatch):
    """The board has a full calibration on this host: --quick must not replace it without being told to."""
    from edgebench.controller.costmodel import load_profile
    from edgebench.controller.prediction.calibrated import profile_path

    monkeypatch.setenv("EDGEBENCH_DATA_DIR", str(tmp_path / "data"))  # this host's own data dir, for both
    path = profile_path(client.describe().fingerprint)
    data = load_profile("x86-host").to_dict()
    data["calibration"] = {"date": "2026-01-01", "fingerprint": client.describe().fingerprint}  # no "quick"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    proc = run_controller("calibrate", "--target", agent.address, "--quick", check_rc=2)
    line = one_error_line(proc)
    assert "already has a full calibration (2026-01-01)" in line and "--replace" in line
    assert json.loads(path.read_text()) == data


# ----------------------------------------------------------------------------- the store, read-only

def test_history_with_a_mistyped_store_creates_nothing(tmp_path):
    typo = tmp_path / "typo" / "dir" / "x.sqlite"
    for command in (["history"], ["export"], ["compare", "1", "2"], ["report", "--html", str(tmp_path / "r.html")]):
        proc = run_controller(*command, "--db", str(typo), check_rc=2)
        assert f"there is no results store at {typo}" in one_error_line(proc)
    assert not (tmp_path / "typo").exists()


def test_history_into_a_closed_pipe_prints_no_traceback(agent, tiny_onnx, tmp_path):
    db = f"sqlite://{tmp_path / 'runs.sqlite'}"
    run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "5000",
                   "--warmup", "0", "--db", db, "--no-progress", check_rc=0)
    for command in ("history", "export"):  # export writes every sample: far more than a pipe holds
        proc = subprocess.run(f"{sys.executable} -m edgebench.controller.cli {command} --db {db} | head -c 10",
                              shell=True, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr


def test_bench_csv_and_export_csv_are_the_same_rows(agent, tiny_onnx, tmp_path):
    db = f"sqlite://{tmp_path / 'runs.sqlite'}"
    out = tmp_path / "bench.csv"
    run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1,2", "--runs", "5", "--db", db,
                   "--label", "git=abc", "--csv", str(out), "--no-progress", check_rc=0)
    exported = run_controller("export", "--db", db, "--format", "csv", check_rc=0).stdout
    bench_rows = list(csv.DictReader(io.StringIO(out.read_text())))
    export_rows = {r["run_id"]: r for r in csv.DictReader(io.StringIO(exported))}
    assert len(bench_rows) == 2 and set(export_rows) == {r["run_id"] for r in bench_rows}
    for row in bench_rows:
        stored = export_rows[row["run_id"]]
        assert row.keys() == stored.keys()
        differ = {k for k in row if row[k] != stored[k]}
        assert differ == {"stored_unix_s"}, {k: (row[k], stored[k]) for k in differ}  # only the store knows it
        assert float(row["latency_p50_ms"]) > 0 and row["labels"] == "git=abc"


def test_compare_numbers_have_no_exponent_and_the_verdicts_are_short(agent, tiny_onnx, tmp_path):
    db = f"sqlite://{tmp_path / 'runs.sqlite'}"
    run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "30", "--db", db,
                   "--no-progress", check_rc=0)
    run_controller("bench", "--target", agent.address, str(tiny_onnx), "--threads", "1", "--runs", "30", "--db", db,
                   "--no-progress", check_rc=0)
    out = run_controller("compare", "1", "2", "--db", db, check_rc=0).stdout
    table = out.split("\n\n")[0].splitlines()
    assert not re.search(r"\de[+-]\d", out), out
    header = next(line for line in table if line.startswith("metric"))
    assert len(header) - header.index("verdict") <= 30 and max(len(line) for line in table[:20]) <= 110, out
    assert re.search(r"^throughput\s+inf/s\s+\d+\s+\d+", out, re.MULTILINE), out
    assert "peak RSS                  MiB" in out


# ----------------------------------------------------------------------------- polish

def test_argument_mistakes_are_one_line_with_a_suggestion():
    proc = run_controller("bnech", "--target", "local", "zoo:tiny_cnn", check_rc=2)
    assert "did you mean 'bench'?" in one_error_line(proc)
    for bad in ("1,,2", "0", "two"):
        proc = run_controller("bench", "--target", "local", "zoo:tiny_cnn", "--threads", bad, check_rc=2)
        assert "--threads" in one_error_line(proc)
    proc = run_controller("bench", "--target", "local", "zoo:tiny_cnn", "--num-runs", "5", check_rc=2)
    assert "did you mean --num_runs" in one_error_line(proc)


def test_predict_names_a_missing_file_once_and_exits_2(tmp_path):
    missing = tmp_path / "nope.onnx"
    proc = run_controller("predict", str(missing), "--device", "rpi4", check_rc=2)
    line = one_error_line(proc)
    assert line.count(str(missing)) == 1 and "not found" in line


def test_a_refused_port_fails_at_once(tiny_onnx):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    proc = run_controller("bench", "--target", f"127.0.0.1:{port}", str(tiny_onnx), "--no-store", timeout=60,
                          check_rc=2)
    assert "the connection was refused" in one_error_line(proc)
    assert time.monotonic() - started < 8  # the 10 s connect timeout is for links that may still come up


def test_unresolvable_host_message_has_no_stray_bracket():
    from edgebench.controller.link.client import definite_refusal

    detail = ("errors resolving nosuch.invalid:47311: [field:hostname lookup error:address lookup failed for "
              "nosuch.invalid:47311: Domain name not found]")  # gRPC's own words
    message = definite_refusal("nosuch.invalid:47311", detail, 0.0)
    assert message.endswith("the host name nosuch.invalid does not resolve") and "]" not in message


def test_watch_takes_the_connection_flags(tmp_path):
    from edgebench.controller.link.local_agent import start_local_agent

    token = tmp_path / "agent.token"
    token.write_text(secrets.token_urlsafe(32) + "\n")
    wrong = tmp_path / "wrong.token"
    wrong.write_text(secrets.token_urlsafe(32) + "\n")
    with start_local_agent(str(tmp_path / "state"), ["--token-file", str(token)]) as agent:
        proc = run_controller("watch", "--target", agent.address, "--token-file", str(token), check_rc=0)
        assert "no jobs on the agent" in proc.stdout
        proc = run_controller("watch", "--target", agent.address, "--token-file", str(wrong), check_rc=2)
        assert "refused our token" in proc.stderr


def test_the_agent_refuses_a_bad_rate_by_name(client, tiny_onnx):
    import grpc

    sha = client.ensure_model(tiny_onnx).sha256
    for fields, words in (({"rate_hz": -1.0}, "rate_hz must be between"), ({"deadline_ms": 5.0}, "set rate_hz too")):
        with pytest.raises(grpc.RpcError) as info:
            client.stub.Submit(pb.JobSpec(model_sha256=sha, runs=1, **fields), timeout=30)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and words in info.value.details()
