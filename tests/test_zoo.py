"""The built-in zoo: valid files that real runtimes execute, torchvision-faithful sizes, determinism,
and a cache that never shows anyone half a file."""
from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import shape_inference

from edgebench.controller import zoo

ROOT = Path(__file__).resolve().parent.parent

# torchvision's published num_params (sum of p.numel(): conv/linear weights and biases plus BatchNorm
# weight and bias, not the running statistics) and "GFLOPS" (GMACs of conv and linear layers).
# The small test models' figures are worked out by hand in the comments.
EXPECTED: dict[str, tuple[int, float]] = {
    "mobilenet_v2": (3_504_872, 0.301),
    "resnet18": (11_689_512, 1.814),
    "resnet50": (25_557_032, 4.089),
    "shufflenet_v2_x1_0": (2_278_604, 0.145),
    "squeezenet1_1": (1_235_496, 0.349),
    "efficientnet_b0": (5_288_548, 0.386),
    "mobilenet_v3_small": (2_542_856, 0.057),
    "regnet_x_400mf": (5_495_976, 0.414),
    "mobilenet_v3_large": (5_483_032, 0.217),
    "resnet34": (21_797_672, 3.664),
    "squeezenet1_0": (1_248_424, 0.819),
    "shufflenet_v2_x0_5": (1_366_792, 0.04),
    "mnasnet0_5": (2_218_512, 0.104),
    "regnet_y_400mf": (4_344_144, 0.402),
    # conv 3->16 3x3 (432+16), depthwise 16 3x3 (144+16), conv 16->32 1x1 (512+32), dense 32->10 (320+10).
    # MACs: 32*32*16*27 + 16*16*16*9 + 16*16*32*16 + 32*10 = 610_624.
    "tiny_cnn": (1_482, 610_624e-9),
    "dynamic_cnn": (1_482, 610_624e-9),  # tiny_cnn with symbolic dims; MACs counted at 1x3x32x32
    # dense 64->128 (8192+128), 128->64 (8192+64), 64->10 (640+10); MACs 8192+8192+640.
    "mlp": (17_226, 17_024e-9),
}
# torchvision publishes shufflenet_v2_x0_5 as 0.04 only (two decimals); the exact count is 0.0405.
MAC_TOLERANCE = {"shufflenet_v2_x0_5": 0.02}
SLOW = {"resnet50", "resnet34"}

ONNX_NAMES = [e.name for e in zoo.list_models() if e.format == "onnx"]
TFLITE_NAMES = [e.name for e in zoo.list_models() if e.format == "tflite"]
DYNAMIC_DIMS = {"batch": 2, "height": 40, "width": 48}


def _concrete(shape: tuple) -> list[int]:
    return [d if isinstance(d, int) else DYNAMIC_DIMS[d] for d in shape]


def _session(data: bytes) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


# -- independent counters ----------------------------------------------------------------------


def torch_style_params(model: onnx.ModelProto) -> int:
    """What torch counts as parameters: conv/gemm weights and biases, BN scale and bias."""
    sizes = {t.name: math.prod(t.dims) for t in model.graph.initializer}
    params: set[str] = set()
    for node in model.graph.node:
        if node.op_type in ("Conv", "Gemm"):
            params.update(node.input[1:])
        elif node.op_type == "BatchNormalization":
            params.update(node.input[1:3])  # inputs 3 and 4 are running mean/var: buffers
    return sum(sizes[p] for p in params)


def conv_linear_macs(model: onnx.ModelProto) -> int:
    """conv: output elements x (cin/groups) x kh x kw; gemm: M x N x K; shapes from ONNX inference."""
    inferred = shape_inference.infer_shapes(model, strict_mode=True)
    g = inferred.graph
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
              for vi in [*g.input, *g.value_info, *g.output]}
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    macs = 0
    for node in g.node:
        if node.op_type == "Conv":
            out = shapes[node.output[0]]
            assert out and all(out), f"{node.name}: shape inference left {out}"
            _, cin_per_group, kh, kw = weights[node.input[1]]
            macs += math.prod(out) * cin_per_group * kh * kw
        elif node.op_type in ("Gemm", "MatMul"):
            m = shapes[node.input[0]][0]
            w = weights[node.input[1]]
            trans_b = any(a.name == "transB" and a.i for a in node.attribute)
            n, k = (w[0], w[1]) if trans_b else (w[1], w[0])
            macs += m * n * k
    return macs


def _pin_symbolic_dims(model: onnx.ModelProto, values: dict[str, int]) -> onnx.ModelProto:
    pinned = onnx.ModelProto()
    pinned.CopyFrom(model)
    for vi in [*pinned.graph.input, *pinned.graph.output]:
        for d in vi.type.tensor_type.shape.dim:
            if d.dim_param:
                d.dim_value = values[d.dim_param]
    return pinned


# -- every ONNX model ----------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[pytest.param(n, marks=[pytest.mark.slow] if n in SLOW else [])
                                        for n in ONNX_NAMES])
def onnx_model(request: pytest.FixtureRequest) -> tuple[zoo.ZooEntry, bytes, onnx.ModelProto]:
    # Module scope: pytest groups the tests by model, so each is built and parsed once.
    data = zoo.build_bytes(request.param)
    return zoo.get(request.param), data, onnx.load_from_string(data)


def test_onnx_model_is_valid_opset17_float32(onnx_model):
    entry, _, model = onnx_model
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    (inp,), (out,) = model.graph.input, model.graph.output
    assert inp.name == "input" and out.name == "output"
    dims = [d.dim_value or d.dim_param for d in inp.type.tensor_type.shape.dim]
    assert tuple(dims) == entry.input_shapes["input"]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    float_inits = [t for t in model.graph.initializer if t.data_type != onnx.TensorProto.INT64]
    assert all(t.data_type == onnx.TensorProto.FLOAT for t in float_inits)


def test_batchnorm_is_not_folded(onnx_model):
    # torchvision follows every bias-free conv with a BatchNorm; the graph must keep it as a node.
    _, _, model = onnx_model
    consumers: dict[str, list[str]] = {}
    for node in model.graph.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node.op_type)
    bias_free = [n for n in model.graph.node if n.op_type == "Conv" and len(n.input) == 2]
    for conv in bias_free:
        assert consumers[conv.output[0]] == ["BatchNormalization"], conv.name
    with_bias = [n for n in model.graph.node if n.op_type == "Conv" and len(n.input) == 3]
    for conv in with_bias:
        assert "BatchNormalization" not in consumers[conv.output[0]], conv.name


def test_onnx_model_runs_in_onnxruntime(onnx_model):
    entry, data, _ = onnx_model
    sess = _session(data)
    x = np.random.default_rng(0).uniform(-1, 1, _concrete(entry.input_shapes["input"])).astype(np.float32)
    (y,) = sess.run(None, {"input": x})
    assert y.dtype == np.float32
    assert list(y.shape) == _concrete(entry.output_shapes["output"])
    assert np.isfinite(y).all()
    assert y.std() > 0  # random weights, but not a dead network


def test_param_count_matches_torchvision(onnx_model):
    entry, _, model = onnx_model
    assert torch_style_params(model) == EXPECTED[entry.name][0]


def test_conv_linear_macs_match_torchvision(onnx_model):
    entry, _, model = onnx_model
    published = EXPECTED[entry.name][1]
    measured = conv_linear_macs(_pin_symbolic_dims(model, {"batch": 1, "height": 32, "width": 32})) / 1e9
    assert measured == pytest.approx(published, rel=MAC_TOLERANCE.get(entry.name, 0.01))


def test_catalog_figures_agree_with_torchvision():
    for entry in zoo.list_models():
        if entry.torchvision_name:
            params, gmacs = EXPECTED[entry.torchvision_name]
            assert (entry.torchvision_params, entry.torchvision_gmacs) == (params, gmacs), entry.name


def test_dynamic_cnn_accepts_any_batch_and_resolution():
    data = zoo.build_bytes("dynamic_cnn")
    model = onnx.load_from_string(data)
    dims = [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "", "height", "width"]
    assert model.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = _session(data)
    for shape in [(1, 3, 32, 32), (3, 3, 17, 23), (2, 3, 64, 48)]:
        (y,) = sess.run(None, {"input": np.ones(shape, np.float32)})
        assert y.shape == (shape[0], 10) and np.isfinite(y).all()


def test_tiny_cnn_is_fast():
    sess = _session(zoo.build_bytes("tiny_cnn"))
    x = np.zeros((1, 3, 32, 32), np.float32)
    sess.run(None, {"input": x})
    best = min(_timed(lambda: sess.run(None, {"input": x})) for _ in range(50))
    assert best < 1e-3


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet18"])
def test_reference_models_build_in_seconds(name):
    # 1-2 s is typical; the bound leaves room for a busy shared machine.
    assert _timed(lambda: zoo.build_bytes(name)) < 10


# -- TFLite --------------------------------------------------------------------------------------


def _interpreter(data: bytes):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=data)
    interp.allocate_tensors()
    return interp


def _run_tflite(data: bytes, x_float: np.ndarray) -> np.ndarray:
    """Run with a float input (quantized on the way in) and return a float output (dequantized)."""
    interp = _interpreter(data)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    if inp["dtype"] == np.int8:
        scale, zero = inp["quantization"]
        x_float = np.clip(np.round(x_float / scale) + zero, -128, 127).astype(np.int8)
    interp.set_tensor(inp["index"], x_float)
    interp.invoke()
    y = interp.get_tensor(out["index"])
    if out["dtype"] == np.int8:
        scale, zero = out["quantization"]
        return (y.astype(np.float32) - zero) * scale
    return y


@pytest.mark.parametrize("name", TFLITE_NAMES)
def test_tflite_model_runs_in_litert(name):
    entry = zoo.get(name)
    interp = _interpreter(zoo.build_bytes(name))
    (inp,), (out,) = interp.get_input_details(), interp.get_output_details()
    assert inp["name"] == "input" and out["name"] == "output"
    assert tuple(inp["shape"]) == entry.input_shapes["input"]
    dtype = np.int8 if entry.input_dtype == "int8" else np.float32
    assert inp["dtype"] == dtype and out["dtype"] == dtype
    rng = np.random.default_rng(0)
    if dtype == np.int8:
        x = rng.integers(-128, 128, inp["shape"]).astype(np.int8)
    else:
        x = rng.uniform(-1, 1, inp["shape"]).astype(np.float32)
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    y = interp.get_tensor(out["index"])
    assert tuple(y.shape) == entry.output_shapes["output"]
    assert np.isfinite(y.astype(np.float32)).all()
    assert len(np.unique(y)) > 1


def _unpack(data: bytes):
    from ai_edge_litert import schema_py_generated as schema

    return schema, schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))


@pytest.mark.parametrize("name", TFLITE_NAMES)
def test_tflite_flatbuffer_layout(name):
    data = zoo.build_bytes(name)
    assert data[4:8] == b"TFL3"
    schema, model = _unpack(data)
    assert model.version == 3
    assert model.buffers[0].data is None  # the empty sentinel
    graph = model.subgraphs[0]
    buffers = [t.buffer for t in graph.tensors]
    assert 0 not in buffers and len(set(buffers)) == len(buffers)  # every tensor has its own buffer
    assert max(buffers) < len(model.buffers)
    for code in model.operatorCodes:
        assert code.deprecatedBuiltinCode == min(code.builtinCode, 127)
    ops = schema.BuiltinOperator
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex].builtinCode
        x, w = (graph.tensors[i] for i in op.inputs[:2]) if len(op.inputs) > 1 else (None, None)
        y = graph.tensors[op.outputs[0]]
        if code == ops.CONV_2D:  # OHWI
            assert list(w.shape) == [y.shape[3], w.shape[1], w.shape[2], x.shape[3]]
        elif code == ops.DEPTHWISE_CONV_2D:  # [1, H, W, C * multiplier]
            assert w.shape[0] == 1 and w.shape[3] == y.shape[3]
            assert w.shape[3] == x.shape[3] * op.builtinOptions.depthMultiplier
        elif code == ops.FULLY_CONNECTED:  # [out, in]
            assert list(w.shape) == [y.shape[-1], x.shape[-1]]
    # Constant data is 16-byte aligned in the file, as the schema asks (views give the offsets).
    root = schema.Model.GetRootAs(data, 0)
    base = np.frombuffer(data, np.uint8).ctypes.data
    for i in range(1, root.BuffersLength()):
        view = root.Buffers(i).DataAsNumpy()
        if isinstance(view, np.ndarray) and view.size:
            assert (view.ctypes.data - base) % 16 == 0, i


@pytest.mark.parametrize("name", TFLITE_NAMES)
def test_tflite_stored_shapes_are_the_interpreters(name, tmp_path):
    """Every tensor's stored shape is what the kernels compute in Prepare (issue 14: SAME convs were
    stored as if VALID), so the cost model's reader has nothing to correct."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from edgebench.controller.costmodel.tflite_reader import read_tflite

    data = zoo.build_bytes(name)
    _, model = _unpack(data)
    stored = [list(t.shape) for t in model.subgraphs[0].tensors]
    # Without XNNPACK: a delegated partition does not resize its inner tensors.
    interp = Interpreter(model_content=data,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    computed = {d["index"]: list(d["shape"]) for d in interp.get_tensor_details() if d["index"] < len(stored)}
    assert len(computed) == len(stored)
    assert [i for i, shape in computed.items() if shape != stored[i]] == []
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(data)
    assert read_tflite(path).warnings == []


def test_int8_model_is_fully_quantized():
    schema, model = _unpack(zoo.build_bytes("tiny_cnn_int8_tflite"))
    graph = model.subgraphs[0]
    types = schema.TensorType
    ops = schema.BuiltinOperator
    for t in graph.tensors:
        if model.buffers[t.buffer].data is None:  # activations
            assert t.type == types.INT8 and len(t.quantization.scale) == 1, t.name
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex].builtinCode
        if code not in (ops.CONV_2D, ops.DEPTHWISE_CONV_2D, ops.FULLY_CONNECTED):
            continue
        x, w, b = (graph.tensors[i] for i in op.inputs)
        assert w.type == types.INT8 and b.type == types.INT32
        assert set(w.quantization.zeroPoint) == {0} and set(b.quantization.zeroPoint) == {0}
        if code == ops.FULLY_CONNECTED:
            assert len(w.quantization.scale) == 1  # per-tensor
        else:  # per-channel along the output-channel axis
            axis = 0 if code == ops.CONV_2D else 3
            assert w.quantization.quantizedDimension == axis
            assert len(w.quantization.scale) == w.shape[axis]
        expected = np.float64(x.quantization.scale[0]) * np.asarray(w.quantization.scale)
        assert np.allclose(b.quantization.scale, expected, rtol=1e-6)


def test_tflite_twins_compute_the_onnx_function():
    # Same seeded weights, BatchNorm folded, NHWC: the formats must agree on the same input.
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
    (want,) = _session(zoo.build_bytes("mobilenet_v2")).run(None, {"input": x})
    got = _run_tflite(zoo.build_bytes("mobilenet_v2_tflite"), x.transpose(0, 2, 3, 1))
    assert np.abs(got - want).max() < 1e-4 * max(1.0, np.abs(want).max())

    x = np.random.default_rng(2).uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
    (logits,) = _session(zoo.build_bytes("tiny_cnn")).run(None, {"input": x})
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    nhwc = x.transpose(0, 2, 3, 1)
    assert np.allclose(_run_tflite(zoo.build_bytes("tiny_cnn_tflite"), nhwc), probs, atol=1e-5)
    # int8 keeps the float model's answer to within a few quantization steps of the 1/256 output.
    assert np.abs(_run_tflite(zoo.build_bytes("tiny_cnn_int8_tflite"), nhwc) - probs).max() < 0.03


def test_tflite_builder_explains_missing_litert():
    code = ("import sys; sys.modules['ai_edge_litert'] = None\n"
            "from edgebench.controller import zoo\n"
            "zoo.build_bytes('tiny_cnn')\n"  # ONNX needs no LiteRT
            "try:\n    zoo.build_bytes('tiny_cnn_tflite')\n"
            "except RuntimeError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "ai-edge-litert" in out.stdout, out.stderr


# -- determinism ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tiny_cnn", "dynamic_cnn", "mlp", "mobilenet_v2", *TFLITE_NAMES])
def test_builds_are_byte_identical(name):
    assert hashlib.sha256(zoo.build_bytes(name)).digest() == hashlib.sha256(zoo.build_bytes(name)).digest()


def test_different_models_get_different_weights():
    a = onnx.load_from_string(zoo.build_bytes("tiny_cnn")).graph.initializer[0]
    b = onnx.load_from_string(zoo.build_bytes("mlp")).graph.initializer[0]
    assert a.raw_data[:64] != b.raw_data[:64]


# -- API and cache -------------------------------------------------------------------------------


def test_list_models_and_lookup():
    entries = zoo.list_models()
    names = [e.name for e in entries]
    assert len(names) == len(set(names))
    assert {"mobilenet_v2", "resnet18", "resnet50", "shufflenet_v2_x1_0", "squeezenet1_1", "efficientnet_b0",
            "mobilenet_v3_small", "regnet_x_400mf", "tiny_cnn", "mlp", "dynamic_cnn", "tiny_cnn_tflite",
            "tiny_cnn_int8_tflite", "mobilenet_v2_tflite"} <= set(names)
    assert sum(e.suite == "heldout" for e in entries) >= 4
    assert {e.format for e in entries} == {"onnx", "tflite"}
    assert zoo.get("zoo:mlp").input_shapes == {"input": (1, 64)}
    assert zoo.get("dynamic_cnn").input_shapes == {"input": ("batch", 3, "height", "width")}


def test_is_zoo_ref():
    assert zoo.is_zoo_ref("zoo:tiny_cnn")
    assert not zoo.is_zoo_ref("tiny_cnn")
    assert not zoo.is_zoo_ref("models/zoo:x.onnx")
    assert not zoo.is_zoo_ref(None)
    assert not zoo.is_zoo_ref(Path("zoo:tiny_cnn"))


def test_unknown_names_list_the_known_ones(tmp_path):
    calls = (lambda: zoo.resolve("zoo:resnet9000", tmp_path), lambda: zoo.build("resnet9000", tmp_path / "x"),
             lambda: zoo.get("resnet9000"))
    for call in calls:
        with pytest.raises(ValueError, match="resnet9000") as info:
            call()
        assert "tiny_cnn" in str(info.value) and "mobilenet_v2" in str(info.value)
    with pytest.raises(ValueError, match="zoo:"):
        zoo.resolve("tiny_cnn", tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-made left behind


def test_resolve_builds_once_then_serves_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path))
    path = zoo.resolve("zoo:tiny_cnn")
    assert path.parent == tmp_path / "zoo"
    assert f"v{zoo.ZOO_VERSION}" in path.name and path.suffix == ".onnx"
    assert path.read_bytes() == zoo.build_bytes("tiny_cnn")
    before = path.stat()
    time.sleep(0.01)
    assert zoo.resolve("zoo:tiny_cnn") == path
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rebuilt
    path.unlink()
    assert zoo.resolve("zoo:tiny_cnn").read_bytes() == zoo.build_bytes("tiny_cnn")
    tflite = zoo.resolve("zoo:tiny_cnn_tflite")
    assert tflite.suffix == ".tflite" and tflite.read_bytes()[4:8] == b"TFL3"
    assert sorted(p.name for p in (tmp_path / "zoo").iterdir()) == sorted([path.name, tflite.name])


def test_resolve_honours_explicit_cache_dir(tmp_path):
    assert zoo.resolve("zoo:mlp", tmp_path).parent == tmp_path


def test_rebuild_replaces_the_file_instead_of_overwriting_it(tmp_path):
    # A reader holding the old file keeps reading the old, complete bytes: the new file is a new
    # inode renamed into place, never a truncate-and-write of the one being read.
    path = tmp_path / "m.onnx"
    zoo.build("mlp", path)
    old = path.read_bytes()
    with open(path, "rb") as held:
        inode = os.fstat(held.fileno()).st_ino
        zoo.build("tiny_cnn", path)
        assert held.read() == old
    assert path.stat().st_ino != inode
    assert path.read_bytes() == zoo.build_bytes("tiny_cnn")
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temp files left


_READER = """
import hashlib, os, sys, time
path, want, stop = sys.argv[1], sys.argv[2], sys.argv[3]
good = bad = 0
deadline = time.time() + 120
while not os.path.exists(stop) and time.time() < deadline:
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        time.sleep(0.001)
        continue
    if hashlib.sha256(data).hexdigest() == want:
        good += 1
    else:
        bad += 1
print(good, bad)
"""


def test_concurrent_resolves_never_expose_a_partial_file(tmp_path):
    cache = tmp_path / "cache"
    target = zoo.cached_path("mobilenet_v2", cache)
    want = hashlib.sha256(zoo.build_bytes("mobilenet_v2")).hexdigest()
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", _READER, str(target), want, str(stop)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    code = f"from edgebench.controller import zoo; print(zoo.resolve('zoo:mobilenet_v2', {str(cache)!r}))"
    writers = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
               for _ in range(3)]
    outputs = [w.communicate(timeout=120)[0].strip() for w in writers]
    stop.touch()
    good, bad = map(int, reader.communicate(timeout=60)[0].split())
    assert all(w.returncode == 0 for w in writers)
    assert set(outputs) == {str(target)}
    assert bad == 0 and good > 0
    assert [p.name for p in cache.iterdir()] == [target.name]


# -- the script ----------------------------------------------------------------------------------


def test_make_zoo_script(tmp_path):
    args = [sys.executable, "scripts/make_zoo.py", str(tmp_path), "tiny_cnn", "zoo:tiny_cnn_tflite"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    lines = [line.split("\t") for line in out.stdout.splitlines()]
    assert [row[0] for row in lines] == ["tiny_cnn", "tiny_cnn_tflite"]
    for name, path, size, digest in lines:
        data = Path(path).read_bytes()
        assert Path(path).parent == tmp_path
        assert int(size) == len(data) and digest == hashlib.sha256(data).hexdigest()
        assert data == zoo.build_bytes(name)
    bad = subprocess.run([sys.executable, "scripts/make_zoo.py", str(tmp_path / "x"), "nope"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert bad.returncode == 2 and "mobilenet_v2" in bad.stderr
    assert not (tmp_path / "x").exists()
