"""Fleet and suite files: the product they expand to, and a clear message naming file, table and key for
every mistake."""
from __future__ import annotations

from pathlib import Path

import pytest

from edgebench.controller.regress.config import ConfigError, load_fleet, load_suite
from tests.conftest import run_controller


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_fleet_and_suite_expand(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "det.onnx").write_bytes(b"x")
    fleet = load_fleet(write(tmp_path / "fleet.toml", """
[[targets]]
name = "pi5-a"
address = "pi@10.0.0.5"
labels = { rack = "2", shelf = 3 }

[[targets]]
name = "here"
address = "local"
"""))
    assert [(t.name, t.address, t.labels) for t in fleet] == [
        ("pi5-a", "pi@10.0.0.5", {"rack": "2", "shelf": "3"}), ("here", "local", {})]
    suite = load_suite(write(tmp_path / "nightly.toml", """
name = "nightly"
[[benchmarks]]
model = ["zoo:tiny_cnn", "models/det.onnx"]
runtime = "onnxruntime"
ep = ["cpu", "xnnpack"]
threads = [1, 2, 4]
runs = 100

[[benchmarks]]
model = "zoo:tiny_cnn_tflite"
duration = 2.5
"""))
    assert suite.name == "nightly" and len(suite.jobs) == 2 * 1 * 2 * 3 + 1
    first = suite.jobs[0]
    assert (first.model, first.runtime, first.ep, first.threads, first.runs) == ("zoo:tiny_cnn", "onnxruntime",
                                                                                  "cpu", 1, 100)
    assert suite.jobs[6].model == str((tmp_path / "models" / "det.onnx").resolve())  # relative to the file
    last = suite.jobs[-1]
    assert (last.runtime, last.threads, last.runs, last.duration_s) == ("auto", 1, 0, 2.5)


@pytest.mark.parametrize("text, message", [
    ('[[targets]]\nname = "a"\naddress = "local"\nadress = "x"\n',
     r"fleet.toml: \[\[targets\]\] #1 \(a\): unknown key 'adress'"),
    ('[[targets]]\nname = "a"\naddress = "pi@host:99999"\n',
     r"fleet.toml: \[\[targets\]\] #1 \(a\): key 'address': bad target 'pi@host:99999': port must be"),
    ('[[targets]]\nname = "a"\naddress = "local"\n[[targets]]\nname = "b"\n',
     r"fleet.toml: \[\[targets\]\] #2 \(b\): key 'address' is required"),
    ('[[targets]]\nname = "a"\naddress = "local"\n[[targets]]\nname = "a"\naddress = "h"\n',
     r"#2 \(a\): key 'name': 'a' is used by another target"),
    ('[[target]]\nname = "a"\n', r"fleet.toml: unknown key 'target'"),
    ('targets = "x"\n', r"fleet.toml: needs at least one \[\[targets\]\] table"),
    ('[[targets]\n', r"fleet.toml: not valid TOML"),
])
def test_fleet_mistakes(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_fleet(write(tmp_path / "fleet.toml", text))


@pytest.mark.parametrize("text, message", [
    ('[[benchmarks]]\nmodel = "missing.onnx"\n',
     r"suite.toml: \[\[benchmarks\]\] #1: key 'model': model file not found: missing.onnx"),
    ('[[benchmarks]]\nmodel = "zoo:nope"\n', r"suite.toml: \[\[benchmarks\]\] #1: key 'model': .*nope"),
    ('[[benchmarks]]\nmodel = "zoo:tiny_cnn"\nthread = [1]\n',
     r"suite.toml: \[\[benchmarks\]\] #1: unknown key 'thread'"),
    ('[[benchmarks]]\nmodel = "zoo:tiny_cnn"\nthreads = [0]\n', r"#1: key 'threads' must be a list"),
    ('[[benchmarks]]\nmodel = "zoo:tiny_cnn"\nruntime = "tvm"\n', r"#1: key 'runtime': unknown runtime 'tvm'"),
    ('[[benchmarks]]\nmodel = "zoo:tiny_cnn"\nruns = 0\n', r"#1: key 'runs' must be at least 1"),
    ('[[benchmarks]]\nruns = 5\n', r"#1: key 'model' is required"),
])
def test_suite_mistakes(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_suite(write(tmp_path / "suite.toml", text))


def test_regress_cli_reports_a_bad_file_and_runs_nothing(tmp_path):
    fleet = write(tmp_path / "fleet.toml", '[[targets]]\nname = "a"\naddress = "local"\nlabel = {}\n')
    suite = write(tmp_path / "suite.toml", '[[benchmarks]]\nmodel = "zoo:tiny_cnn"\n')
    db = tmp_path / "results.sqlite"
    proc = run_controller("regress", "--fleet", str(fleet), "--suite", str(suite), "--db", f"sqlite://{db}",
                          check_rc=2)
    assert "fleet.toml: [[targets]] #1 (a): unknown key 'label'" in proc.stderr
    assert not db.exists()  # the files are checked before the store is even opened


def test_examples_are_valid():
    root = Path(__file__).resolve().parents[2] / "examples"
    assert [t.name for t in load_fleet(root / "fleet.toml")]
    assert load_suite(root / "nightly.toml").jobs
