"""Graphs as onnxruntime rewrites them (fused, quantized) count the same work as the original."""
from __future__ import annotations

import collections

import numpy as np
import pytest

from edgebench.controller.costmodel import analyze_model

ort = pytest.importorskip("onnxruntime")
quantization = pytest.importorskip("onnxruntime.quantization")
zoo = pytest.importorskip("edgebench.controller.zoo")


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    path = zoo.resolve("zoo:mobilenet_v2")
    return path, analyze_model(path)


class _Calibration(quantization.CalibrationDataReader):
    def __init__(self) -> None:
        self.left = 1

    def get_next(self):
        if not self.left:
            return None
        self.left -= 1
        return {"input": np.random.default_rng(0).random((1, 3, 224, 224), dtype=np.float32)}


def op_types(cost):
    return collections.Counter(n.op_type for n in cost.nodes if not n.folded)


def test_ort_fused_graph(original, tmp_path):
    src, base = original
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = str(tmp_path / "fused.onnx")
    ort.InferenceSession(str(src), so, providers=["CPUExecutionProvider"])
    cost = analyze_model(tmp_path / "fused.onnx")
    assert op_types(cost)["FusedConv"] > 0  # com.microsoft: onnx cannot infer it, contrib_shapes does
    assert cost.macs == base.macs
    assert cost.uncounted == [] and cost.warnings == []


def test_qdq_model_runs_as_int8(original, tmp_path):
    src, base = original
    quantization.quantize_static(str(src), str(tmp_path / "qdq.onnx"), _Calibration(),
                                 quant_format=quantization.QuantFormat.QDQ)
    cost = analyze_model(tmp_path / "qdq.onnx")
    convs = [n for n in cost.nodes if n.op_type == "Conv"]
    assert convs and {n.compute_dtype for n in convs} == {"int8"}
    assert cost.macs == base.macs
    assert cost.weight_bytes < base.weight_bytes / 3  # int8 weights, fp32 DequantizeLinear folded away
    assert cost.uncounted == []


def test_qoperator_model(original, tmp_path):
    src, base = original
    quantization.quantize_static(str(src), str(tmp_path / "qop.onnx"), _Calibration(),
                                 quant_format=quantization.QuantFormat.QOperator)
    cost = analyze_model(tmp_path / "qop.onnx")
    assert op_types(cost)["QLinearConv"] == 52 and op_types(cost)["QGemm"] == 1
    assert cost.macs == base.macs
    assert cost.params == base.params
    assert {n.compute_dtype for n in cost.nodes if n.macs} == {"int8"}
    assert cost.uncounted == []


def test_dynamic_quantization(original, tmp_path):
    src, base = original
    quantization.quantize_dynamic(str(src), str(tmp_path / "dyn.onnx"))
    cost = analyze_model(tmp_path / "dyn.onnx")
    assert op_types(cost)["ConvInteger"] == 52
    assert cost.macs == base.macs and cost.uncounted == []
