"""The kernel suite's ONNX side: every op x dtype builds, runs in real onnxruntime with the output shape the spec
implies, and comes back from onnxruntime's optimizer as kernels the cost model counts; the sampler draws
reproducible, distinct, in-bound configurations; the random networks build."""
from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from edgebench.controller.calibration.suite import sampling
from edgebench.controller.calibration.suite.composite import composite_onnx, composite_specs
from edgebench.controller.calibration.suite.onnx_kernels import onnx_input_shapes, onnx_kernel, onnx_supported
from edgebench.controller.calibration.suite.spec import OPS, KernelSpec
from edgebench.controller.costmodel.analysis import analyze
from edgebench.controller.costmodel.kernels import kernels_of
from edgebench.controller.costmodel.reader import read_model

S = KernelSpec.make
SPECS = [
    (S("conv", h=9, w=9, cin=8, cout=16, k=3, stride=2, groups=1, act="relu"), (1, 16, 5, 5)),
    (S("conv", h=8, w=8, cin=8, cout=8, k=3, stride=1, groups=8, act="relu6"), (1, 8, 8, 8)),
    (S("conv", h=8, w=8, cin=8, cout=16, k=1, stride=1, groups=1, act="hardswish"), (1, 16, 8, 8)),
    (S("conv", h=8, w=8, cin=16, cout=16, k=3, stride=1, groups=4, act="sigmoid"), (1, 16, 8, 8)),
    (S("fc", m=1, k=16, n=8, act="relu"), (1, 8)),
    (S("fc", m=4, k=16, n=8, act="none"), (1, 4, 8)),
    (S("matmul", b=2, m=4, k=8, n=5), (2, 4, 5)),
    (S("pool", h=8, w=8, c=4, k=3, stride=2, mode="max"), (1, 4, 4, 4)),
    (S("pool", h=8, w=8, c=4, k=2, stride=2, mode="avg"), (1, 4, 4, 4)),
    (S("global_pool", h=5, w=5, c=4), (1, 4, 1, 1)),
    (S("binary", h=4, w=4, c=8, op="add", bcast="same"), (1, 8, 4, 4)),
    (S("binary", h=4, w=4, c=8, op="mul", bcast="channel"), (1, 8, 4, 4)),
    (S("binary", h=4, w=4, c=8, op="div", bcast="scalar"), (1, 8, 4, 4)),
    *[(S("unary", h=4, w=4, c=8, op=op), (1, 8, 4, 4)) for op in
      ("relu", "relu6", "sigmoid", "hardswish", "hardsigmoid", "silu", "gelu", "tanh", "leakyrelu", "exp")],
    (S("concat", h=4, w=4, c=8, n=3), (1, 24, 4, 4)),
    (S("shuffle", h=4, w=4, c=8, groups=2), (1, 8, 4, 4)),
    (S("resize", h=4, w=4, c=8, scale=2, mode="nearest"), (1, 8, 8, 8)),
    (S("resize", h=4, w=4, c=8, scale=2, mode="bilinear"), (1, 8, 8, 8)),
    (S("softmax", m=6, n=10), (1, 6, 10)),
    (S("layernorm", m=6, n=16), (1, 6, 16)),
    (S("attention", seq=6, dim=16, heads=2), (1, 2, 6, 8)),
    (S("se", h=4, w=4, c=16, r=8), (1, 16, 4, 4)),
    (S("pad", h=4, w=4, c=8, p=1), (1, 8, 6, 6)),
    (S("transpose", h=4, w=6, c=8), (1, 4, 6, 8)),
    *[(S("unary", h=4, w=4, c=8, op=op), (1, 8, 4, 4)) for op in ("erf", "sqrt", "reciprocal", "abs", "neg")],
    *[(S("binary", h=4, w=4, c=8, op=op, bcast="channel"), (1, 8, 4, 4)) for op in ("pow", "max", "min")],
    *[(S("reduce", m=6, n=16, mode=mode), (1, 6, 1)) for mode in ("mean", "max", "sum")],
]


def _feeds(spec: KernelSpec) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in onnx_input_shapes(spec).items()}


def test_every_op_has_a_case():
    assert {s.op for s, _ in SPECS} == set(OPS)


CASES = [(KernelSpec(s.op, s.params, d), shape) for s, shape in SPECS for d in ("fp32", "fp16", "int8")]
GENERATED = [(s, shape) for s, shape in CASES if onnx_supported(s)]


def test_unsupported_cases_are_refused_clearly():
    refused = [s for s, _ in CASES if not onnx_supported(s)]
    assert {s.op for s in refused} == {"layernorm", "attention", "pad", "transpose"}
    assert all(s.dtype == "int8" for s in refused)
    with pytest.raises(ValueError, match="not generated"):
        onnx_kernel(refused[0])


@pytest.mark.parametrize(("spec", "out_shape"), GENERATED, ids=[s.key for s, _ in GENERATED])
def test_kernel_runs_in_onnxruntime_with_the_spec_shape(spec, out_shape, tmp_path):
    data = onnx_kernel(spec)
    onnx.checker.check_model(onnx.load_from_string(data))
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    (out,) = session.run(None, _feeds(spec))
    assert out.shape == out_shape
    assert np.isfinite(out).all()
    # What the optimizer made of it is what calibration measures: counted, with the output's size known.
    graph = read_model(tmp_path / "optimized.onnx")
    kernels = kernels_of(graph, analyze(graph, "optimized.onnx"))
    assert kernels and all(k.counted for k in kernels), [(k.op_type, k.domain) for k in kernels if not k.counted]
    assert all(k.features["log_out_numel"] > 0 for k in kernels)


def test_generation_is_deterministic():
    spec = S("conv", h=8, w=8, cin=8, cout=16, k=3, stride=1, groups=1, act="relu")
    assert onnx_kernel(spec) == onnx_kernel(spec)


def test_conv_kernel_counts_the_formula(tmp_path):
    spec = S("conv", h=14, w=14, cin=32, cout=64, k=3, stride=2, groups=2, act="none")
    path = tmp_path / "k.onnx"
    path.write_bytes(onnx_kernel(spec))
    graph = read_model(path)
    (conv,) = [k for k in kernels_of(graph, analyze(graph, str(path))) if k.op_type == "Conv"]
    assert conv.ops == 2 * 7 * 7 * 64 * (32 // 2) * 3 * 3
    assert conv.key == "Conv:grouped:fp32"
    assert (conv.features["cin"], conv.features["cout"], conv.features["stride"]) == (32, 64, 2)
    assert math.isclose(math.expm1(conv.features["log_group_width"]), 16)


def test_sampler_is_reproducible_distinct_and_bounded():
    a = sampling.initial_suite(120, "fp32", seed=3, supported=onnx_supported)
    b = sampling.initial_suite(120, "fp32", seed=3, supported=onnx_supported)
    assert [s.key for s in a] == [s.key for s in b]
    assert len({s.key for s in a}) == len(a) >= 100
    assert {s.op for s in a} == set(OPS)
    for s in a:
        if s.op == "conv":
            ho, wo = -(-int(s["h"]) // int(s["stride"])), -(-int(s["w"]) // int(s["stride"]))
            macs = ho * wo * int(s["cout"]) * int(s["cin"]) // int(s["groups"]) * int(s["k"]) ** 2
            assert sampling.MIN_WORK <= macs <= sampling.MAX_CONV_MACS
            assert int(s["cin"]) % int(s["groups"]) == 0
    more = sampling.more_like([s for s in a if s.op == "conv"][:3], 10, exclude={s.key for s in a})
    assert len(more) == 10 and all(s.op == "conv" for s in more) and not {s.key for s in more} & {s.key for s in a}


def test_composite_networks_build_and_run():
    spec = composite_specs(3, seed=1)[0]
    data = composite_onnx(spec)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((1, 3, spec.resolution, spec.resolution)).astype(np.float32)
    (y,) = session.run(None, {"input": x})
    assert y.shape == (1, 1000)


@pytest.mark.parametrize("int8", [False, True])
def test_composite_networks_build_and_run_in_litert(int8, tmp_path):
    # The zoo's TFLite backend writes every block the networks use (SE gates, concat with int8 requantize,
    # split, channel shuffle, hard-swish, padded max pool as PADV2): all of them load and run with XNNPACK.
    from ai_edge_litert.interpreter import Interpreter

    from edgebench.controller.calibration.suite.composite import composite_tflite
    from edgebench.controller.costmodel.reader import read_model as read

    ops = set()
    for spec in composite_specs(4, seed=2):
        path = tmp_path / f"{spec.key}.tflite"
        path.write_bytes(composite_tflite(spec, int8=int8))
        interp = Interpreter(str(path))
        interp.allocate_tensors()
        (inp,) = interp.get_input_details()
        interp.set_tensor(inp["index"], np.zeros(inp["shape"], inp["dtype"]))
        interp.invoke()
        (out,) = interp.get_output_details()
        assert tuple(interp.get_tensor(out["index"]).shape) == (1, 1000)
        graph = read(path)
        ops |= {n.op_type for n in graph.nodes}
        assert not graph.warnings, graph.warnings
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "FULLY_CONNECTED"} <= ops


def test_memory_networks_have_the_feature_maps_of_real_models(tmp_path):
    # The memory fit's activation term must be measured at the sizes real vision models have (MBs per
    # feature map), not only on the small timing networks (under 1 MB), and the networks must run.
    from edgebench.controller.calibration.suite.composite import memory_specs

    peaks = []
    for spec in memory_specs():
        path = tmp_path / f"{spec.key}.onnx"
        peaks.append(read_bytes(composite_onnx(spec), path))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (y,) = session.run(None, {"input": np.zeros((1, 3, spec.resolution, spec.resolution), np.float32)})
        assert y.shape == (1, 1000)
    assert min(peaks) > 2 * 2**20 and max(peaks) > 20 * 2**20, peaks
    timing = [read_bytes(composite_onnx(s), tmp_path / f"{s.key}.onnx") for s in composite_specs(8)]
    assert max(peaks) > 4 * max(timing)


def read_bytes(data: bytes, path) -> int:
    """The model's peak live activation bytes, as the calibration counts them."""
    from edgebench.controller.costmodel.analysis import analyze
    from edgebench.controller.costmodel.reader import read_model

    path.write_bytes(data)
    return analyze(read_model(path)).peak_activation_bytes
