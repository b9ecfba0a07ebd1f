"""The evaluation corpus's own code, without its exporters (they are too heavy for CI): the manifest reader and
writer on a small fixture manifest, the recipe table, and the runtime check on models made here and run by the
real onnxruntime and LiteRT."""
from __future__ import annotations

import copy
import hashlib
import importlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from eval_corpus import check, manifest, recipes, runner  # noqa: E402
from eval_corpus.manifest import ManifestError  # noqa: E402

make_eval_corpus = importlib.import_module("make_eval_corpus")


def tiny_onnx(path: Path, dynamic_hw: bool = False) -> Path:
    """A 1x3xHxW -> conv 3x3 -> relu graph with a symbolic batch (and H, W when asked)."""
    h, w = ("height", "width") if dynamic_hw else (8, 8)
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, h, w])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 4, h, w])
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3],
                                np.random.default_rng(0).standard_normal(108).astype(np.float32).tolist())
    nodes = [helper.make_node("Conv", ["input", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["out"])]
    model = helper.make_model(helper.make_graph(nodes, "tiny", [x], [y], [weight]),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _entry(name: str, path: str | None, data: bytes | None, **extra) -> dict:
    entry = {"name": name, "key": "0123456789abcdef", "format": "onnx", "dtype": "fp32",
             "exporter": "torch.onnx.export (TorchScript)", "exporter_version": "torch 2.14.1",
             "library": "torchvision", "library_version": "0.29.1", "arch": "resnet18", "family": "cnn",
             "seed": 0, "built": data is not None, "path": path, "params": 11689512, "opset": 17,
             "inputs": [{"name": "input", "dtype": "float32", "shape": ["batch", 3, 224, 224],
                         "bench_shape": [1, 3, 224, 224]}],
             "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 1000], "bench_shape": None}],
             "runs": True if data is not None else None, "check_ms_1t": 40.5}
    if data is not None:
        entry.update(file_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    entry.update(extra)
    return entry


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, dict]:
    """A manifest of four entries, as make_eval_corpus writes them: two usable files (one made from the
    other), an export that failed, and a model that does not run."""
    a, b, c = b"model-a" * 10, b"model-b" * 7, b"model-c" * 3
    for name, data in (("a.onnx", a), ("a_int8_qdq.onnx", b), ("broken.tflite", c)):
        (tmp_path / name).write_bytes(data)
    data = {"version": 1, "created": "2026-12-02T13:00:00+00:00",
            "environments": {"torch": {"torch": "2.14.1"}},
            "entries": [
                _entry("a", "a.onnx", a),
                _entry("a_int8_qdq", "a_int8_qdq.onnx", b, dtype="int8", source="a",
                       exporter="onnxruntime.quantization.quantize_static (QDQ)"),
                _entry("failed", None, None, error="RuntimeError: export failed", inputs=[], outputs=[]),
                _entry("broken", "broken.tflite", c, format="tflite", exporter="TFLiteConverter", runs=False,
                       error="ValueError: cannot allocate", inputs=[], outputs=[], check_ms_1t=None),
            ]}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    return path, data


def test_fixture_manifest_reads_back_with_its_files(corpus):
    path, _ = corpus
    m = manifest.load_manifest(path, verify_files=True)
    assert [e.name for e in m.entries] == ["a", "a_int8_qdq", "failed", "broken"]
    assert [e.name for e in m.usable()] == ["a", "a_int8_qdq"]
    a = m.by_name()["a"]
    assert m.file(a) == path.parent / "a.onnx"
    assert a.inputs[0].shape == ["batch", 3, 224, 224] and a.inputs[0].bench_shape == [1, 3, 224, 224]
    with pytest.raises(ManifestError, match="'failed' has no file"):
        m.file(m.by_name()["failed"])


def test_summary_counts_only_usable_files_and_names_the_failures(corpus):
    path, _ = corpus
    s = manifest.summarize(manifest.load_manifest(path))
    assert s.files == 2 and s.total_bytes == 70 + 49
    assert s.by_format_dtype == {("onnx", "fp32"): 1, ("onnx", "int8"): 1}
    assert s.failed_build == ["failed"] and s.failed_run == ["broken"]
    table = manifest.summary_table(s)
    assert "| format x dtype | onnx int8 | 1 |" in table
    assert "| failed to run | broken | 1 |" in table


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(version=2), "version 2"),
    (lambda d: d["entries"][0].pop("sha256"), "entry 'a': 'sha256' must be 64"),
    (lambda d: d["entries"][0].update(dtype="int4"), "entry 'a': dtype 'int4'"),
    (lambda d: d["entries"][0].update(format="pt"), "entry 'a': format 'pt'"),
    (lambda d: d["entries"][0].update(family="robot"), "entry 'a': family 'robot'"),
    (lambda d: d["entries"][0].pop("exporter"), "entry 'a': missing 'exporter'"),
    (lambda d: d["entries"][0].update(params="many"), "entry 'a': 'params' has type str"),
    (lambda d: d["entries"][0].update(seed=True), "entry 'a': 'seed' has type bool"),
    (lambda d: d["entries"][0].update(colour="red"), r"entry 'a': unknown field\(s\) \['colour'\]"),
    (lambda d: d["entries"][0].update(path="/abs/a.onnx"), "must be relative"),
    (lambda d: d["entries"][0].update(path="../a.onnx"), "must be relative"),
    (lambda d: d["entries"][0]["inputs"][0].update(bench_shape=[1, 3, 160, 224]), "contradicts the fixed shape"),
    (lambda d: d["entries"][0]["inputs"][0].update(bench_shape=[1, 3, 224]), "has rank 3"),
    (lambda d: d["entries"][0]["inputs"][0].update(bench_shape=[0, 3, 224, 224]), "positive ints"),
    (lambda d: d["entries"][1].update(name="a"), r"duplicate entry name\(s\) \['a'\]"),
    (lambda d: d["entries"][1].update(path="a.onnx"), "share the file"),
    (lambda d: d["entries"][1].update(source="zzz"), "source 'zzz' is not in the manifest"),
    (lambda d: d["entries"][2].pop("error"), "entry 'failed': not built but no 'error'"),
    (lambda d: d["entries"][3].pop("error"), "entry 'broken': 'runs' is false but no 'error'"),
    (lambda d: d["entries"][0].pop("runs"), "entry 'a': built but never checked"),
    (lambda d: d["entries"][0].update(inputs=[]), "entry 'a': runs but lists no inputs"),
])
def test_a_bad_manifest_is_refused_naming_the_entry_and_field(corpus, mutate, message):
    path, data = corpus
    bad = copy.deepcopy(data)
    mutate(bad)
    with pytest.raises(ManifestError, match=message):
        manifest.parse_manifest(bad, path.parent)


def test_changed_or_missing_files_fail_verification(corpus):
    path, _ = corpus
    manifest.load_manifest(path, verify_files=False)  # structure alone is fine
    (path.parent / "a.onnx").write_bytes(b"model-A" * 10)  # same size, other bytes
    with pytest.raises(ManifestError, match="'a'.*does not match its sha256"):
        manifest.load_manifest(path, verify_files=True)
    (path.parent / "a.onnx").write_bytes(b"short")
    with pytest.raises(ManifestError, match="'a'.*has 5 bytes, the manifest says 70"):
        manifest.load_manifest(path, verify_files=True)
    (path.parent / "a.onnx").unlink()
    with pytest.raises(ManifestError, match="'a'.*is missing"):
        manifest.load_manifest(path, verify_files=True)


def test_unreadable_manifests_get_one_clear_error(tmp_path):
    with pytest.raises(ManifestError, match="no manifest here"):
        manifest.load_manifest(tmp_path / "manifest.json")
    (tmp_path / "manifest.json").write_text('{"version": 1, "entries": [')
    with pytest.raises(ManifestError, match="not valid JSON"):
        manifest.load_manifest(tmp_path / "manifest.json")


def test_write_round_trips_and_never_replaces_a_good_manifest_with_a_bad_one(corpus):
    path, data = corpus
    m = manifest.load_manifest(path)
    out = path.parent / "copy" / "manifest.json"
    manifest.write_manifest(out, m)
    again = json.loads(out.read_text())
    assert again["entries"] == manifest.manifest_dict(m)["entries"]
    assert [e["name"] for e in again["entries"]] == [e["name"] for e in data["entries"]]
    before = out.read_bytes()
    m.entries[0].dtype = "int3"
    with pytest.raises(ManifestError, match="dtype 'int3'"):
        manifest.write_manifest(out, m)
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["manifest.json"]  # no temp file left


def test_recipe_table_is_consistent():
    recipes.check_recipes(recipes.RECIPES)
    names = [r.name for r in recipes.RECIPES]
    assert len(names) == len(set(names))
    assert len({r.key for r in recipes.RECIPES}) == len(names)
    assert 60 <= len(names) <= 110
    quick = [r for r in recipes.RECIPES if r.quick]
    assert 6 <= len(quick) <= 12
    assert {r.format for r in quick} == {"onnx", "tflite"}
    for r in recipes.RECIPES:
        assert r.format in manifest.FORMATS and r.dtype in manifest.DTYPES and r.family in manifest.FAMILIES
        assert r.library != "edgebench"  # never the zoo's own builder
    with pytest.raises(ValueError, match="duplicate recipe names"):
        recipes.check_recipes([recipes.RECIPES[0], recipes.RECIPES[0]])


def test_a_recipe_key_follows_its_fields_but_not_the_quick_flag():
    r = recipes.by_name()["resnet18"]
    assert r.key == recipes.Recipe(**{**r.__dict__}).key
    assert r.key != recipes.Recipe(**{**r.__dict__, "opset": 13}).key
    assert r.key != recipes.Recipe(**{**r.__dict__, "input_size": 160}).key
    assert r.key == recipes.Recipe(**{**r.__dict__, "quick": not r.quick}).key


def test_derived_recipes_pull_in_their_sources_first():
    table = recipes.by_name()
    picked = recipes.with_sources([table["resnet18_int8_qdq"], table["keras_mobilenetv2_int8"]])
    assert [r.name for r in picked] == ["resnet18", "keras_mobilenetv2_int8", "resnet18_int8_qdq"]


def test_bench_shape_fills_a_symbolic_batch_and_refuses_guesses():
    assert check.bench_shape("x", ["batch", 3, 8, 8], None) == [1, 3, 8, 8]
    assert check.bench_shape("x", ["batch", 3, "h", "w"], [2, 3, 64, 48]) == [2, 3, 64, 48]
    with pytest.raises(ValueError, match="dim 2 .* symbolic and no bench shape"):
        check.bench_shape("x", ["batch", 3, "h", "w"], None)
    with pytest.raises(ValueError, match="does not fit"):
        check.bench_shape("x", ["batch", 3, 8, 8], [1, 3, 9, 8])


def test_check_runs_an_onnx_model_in_onnxruntime(tmp_path):
    result = check.check_model("onnx", str(tiny_onnx(tmp_path / "t.onnx", dynamic_hw=True)), [[1, 3, 16, 12]], 0)
    assert result.runs, result.error
    assert result.inputs[0].shape == ["batch", 3, "height", "width"]
    assert result.inputs[0].bench_shape == [1, 3, 16, 12]
    assert result.outputs[0].name == "out"
    assert result.check_ms_1t is not None and result.check_ms_1t > 0
    assert result.runtime.startswith("onnxruntime ")


def test_check_runs_a_tflite_model_in_litert(tmp_path):
    from edgebench.controller import zoo

    path = zoo.build("tiny_cnn_int8_tflite", tmp_path / "tiny_int8.tflite")
    result = check.check_model("tflite", str(path), [], 0)
    assert result.runs, result.error
    assert result.inputs[0].dtype == "int8"
    assert all(d > 0 for d in result.inputs[0].bench_shape)
    assert result.runtime.startswith("ai-edge-litert")


@pytest.mark.parametrize("fmt, expected", [("onnx", "InvalidProtobuf"), ("tflite", "ValueError")])
def test_check_reports_a_model_that_does_not_load(tmp_path, fmt, expected):
    bad = tmp_path / f"bad.{fmt}"
    bad.write_bytes(b"this is not a model")
    result = check.check_model(fmt, str(bad), [], 0)
    assert result.runs is False and result.check_ms_1t is None
    assert result.error and result.error.startswith(expected), result.error


def _recipe(name: str) -> recipes.Recipe:
    return recipes.Recipe(name=name, library="torchvision", arch="tiny", family="cnn", exporter="torchscript",
                          opset=13, input_size=8)


def test_an_exported_file_is_checked_and_recorded(tmp_path):
    recipe = _recipe("tiny")
    tiny_onnx(tmp_path / recipe.filename)
    result = {"name": "tiny", "ok": True, "export_s": 0.5, "params": 108, "exporter_version": "torch 2.14.1",
              "library_version": "0.29.1", "bench_shapes": [[1, 3, 8, 8]], "opset": 13}
    entry = make_eval_corpus.finish_entry(recipe, result, tmp_path, {}, max_infer_s=10.0)
    assert entry.built and entry.runs, entry.error
    assert entry.sha256 == manifest.sha256_file(tmp_path / "tiny.onnx")
    assert entry.file_bytes == (tmp_path / "tiny.onnx").stat().st_size
    assert entry.inputs[0].bench_shape == [1, 3, 8, 8] and entry.params == 108 and entry.key == recipe.key
    m = manifest.Manifest(root=tmp_path, created="now", environments={}, entries=[entry])
    manifest.write_manifest(tmp_path / "manifest.json", m)
    assert manifest.load_manifest(tmp_path / "manifest.json", verify_files=True).usable()[0].name == "tiny"
    assert make_eval_corpus.reusable(entry, recipe, m, retry_failed=False)
    assert not make_eval_corpus.reusable(entry, _recipe("tiny").__class__(**{**recipe.__dict__, "opset": 17}), m,
                                         retry_failed=False)
    (tmp_path / "tiny.onnx").write_bytes(b"changed")
    assert not make_eval_corpus.reusable(entry, recipe, m, retry_failed=False)


def test_a_too_slow_model_is_listed_as_excluded_and_its_file_removed(tmp_path):
    recipe = _recipe("slow")
    tiny_onnx(tmp_path / recipe.filename)
    result = {"name": "slow", "ok": True, "bench_shapes": [[1, 3, 8, 8]], "exporter_version": "torch"}
    entry = make_eval_corpus.finish_entry(recipe, result, tmp_path, {}, max_infer_s=0.0)
    assert entry.runs and entry.excluded and "limit 0.0 s" in entry.excluded
    assert not (tmp_path / "slow.onnx").exists() and entry.path is None
    assert not entry.usable


def test_a_failed_export_is_listed_with_its_error(tmp_path):
    entry = make_eval_corpus.finish_entry(_recipe("nope"), {"name": "nope", "ok": False, "error": "boom"},
                                          tmp_path, {}, max_infer_s=1.5)
    assert not entry.built and entry.error == "boom" and entry.runs is None
    manifest.parse_manifest(manifest.manifest_dict(
        manifest.Manifest(root=tmp_path, created="", environments={}, entries=[entry])), tmp_path)


def test_worker_events_are_read_line_by_line_leaving_a_partial_line(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"event": "start", "name": "a"}\n{"event": "do')
    events, offset = runner._read_events(path, 0)
    assert events == [{"event": "start", "name": "a"}]
    with open(path, "a") as f:
        f.write('ne", "name": "a", "ok": true}\n')
    events, _ = runner._read_events(path, offset)
    assert events == [{"event": "done", "name": "a", "ok": True}]


def test_a_file_that_does_not_run_is_listed_not_dropped(tmp_path):
    recipe = _recipe("garbage")
    (tmp_path / recipe.filename).write_bytes(b"not an onnx file")
    entry = make_eval_corpus.finish_entry(recipe, {"name": "garbage", "ok": True, "exporter_version": "torch"},
                                          tmp_path, {}, max_infer_s=1.5)
    assert entry.built and entry.runs is False and entry.error.startswith("InvalidProtobuf")
    assert (tmp_path / "garbage.onnx").exists() and entry.path == "garbage.onnx"
    m = manifest.Manifest(root=tmp_path, created="", environments={}, entries=[entry])
    manifest.write_manifest(tmp_path / "manifest.json", m)
    assert manifest.summarize(manifest.load_manifest(tmp_path / "manifest.json")).failed_run == ["garbage"]


FAKE_WORKER = '''
import os, sys, time
from eval_corpus.jobloop import run_jobs

def export(recipe, out, source):
    if recipe.arch == "raises":
        raise RuntimeError("this exporter cannot do " + recipe.name)
    if recipe.arch == "crashes":
        os._exit(3)
    if recipe.arch == "hangs":
        time.sleep(60)
    out.write_bytes(b"model " + recipe.name.encode())
    return {"params": 1, "exporter_version": "fake 1", "bench_shapes": [[1, 3, 8, 8]]}

sys.exit(run_jobs(sys.argv[1:], export, {"fake": "1"}))
'''


def test_the_runner_survives_an_exporter_that_raises_crashes_or_hangs(tmp_path):
    """A real worker process on the real job protocol: each failure costs only its own model."""
    (tmp_path / "fake_worker.py").write_text(FAKE_WORKER)
    arches = ["fine", "raises", "crashes", "fine", "hangs", "fine"]
    jobs = []
    for i, arch in enumerate(arches):
        r = recipes.Recipe(name=f"m{i}_{arch}", library="torchvision", arch=arch, family="cnn",
                           exporter="torchscript", opset=13)
        jobs.append((r, tmp_path / r.filename, None))
    results: dict[str, dict] = {}
    versions = runner.run_worker("fake", Path(sys.executable), jobs, tmp_path / "logs", recipe_timeout_s=3.0,
                                 on_done=lambda res: results.__setitem__(res["name"], res),
                                 module="fake_worker", extra_path=(str(tmp_path),))
    assert versions == {"fake": "1"}
    assert set(results) == {r.name for r, _, _ in jobs}
    assert [results[r.name]["ok"] for r, _, _ in jobs] == [True, False, False, True, False, True]
    assert "cannot do m1_raises" in results["m1_raises"]["error"]
    assert "died (exit 3)" in results["m2_crashes"]["error"]
    assert "silent for 3 s" in results["m4_hangs"]["error"]
    assert (tmp_path / "m5_fine.onnx").read_bytes() == b"model m5_fine"
    assert not list(tmp_path.glob(".*.tmp"))  # no half-written file left behind
