"""Small purpose-built ONNX models for the cases the zoo does not cover (dynamic dims, ids, bad ops)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _save(graph: onnx.GraphProto, path: Path, opset: int = 17) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(model, path)
    return path


def dynamic_conv(path: Path) -> Path:
    """Input `x` of shape [batch, 3, height, width]: every dim but channels is symbolic."""
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((8, 3, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("GlobalAveragePool", ["c"], ["y"])],
        "dynamic_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8, 1, 1])],
        [w],
    )
    return _save(graph, path)


def embedding(path: Path, vocab: int = 100) -> Path:
    """int64 token ids -> embedding lookup: random ids must stay inside the vocabulary."""
    table = numpy_helper.from_array(np.random.default_rng(0).standard_normal((vocab, 16)).astype(np.float32), "t")
    graph = helper.make_graph(
        [helper.make_node("Gather", ["t", "ids"], ["y"], axis=0)],
        "embedding",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 12])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 12, 16])],
        [table],
    )
    return _save(graph, path)


def unsupported_op(path: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("FrobnicateTensor", ["x"], ["y"], domain="com.example.nonexistent")],
        "unsupported",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.example.nonexistent", 1)])
    onnx.save(model, path)
    return path


def slow_matmul(path: Path, n: int = 768) -> Path:
    """A few ms per inference on a small CPU: long enough to interrupt mid-run."""
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((n, n)).astype(np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h0"])]
    for i in range(1, 4):
        nodes.append(helper.make_node("MatMul", [f"h{i - 1}", "w"], [f"h{i}"]))
    graph = helper.make_graph(
        nodes, "slow_matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("h3", TensorProto.FLOAT, [n, n])],
        [w],
    )
    return _save(graph, path)


def conv_relu(path: Path, channels: int = 32, size: int = 28) -> Path:
    """Conv + bias + Relu: onnxruntime fuses it (FusedConv, or an NCHWc Conv on x86) at level extended and up."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((channels, channels, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal((channels,)).astype(np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["y"])],
        "conv_relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, size, size])],
        [w, b],
    )
    return _save(graph, path)


def matmul_chain(path: Path, repeats: int, n: int = 128) -> Path:
    """`repeats` chained n x n MatMuls: a model doing `repeats` times the work of the one-MatMul chain."""
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((n, n)).astype(np.float32) / n, "w")
    nodes = [helper.make_node("MatMul", ["x" if i == 0 else f"h{i - 1}", "w"], [f"h{i}"]) for i in range(repeats)]
    graph = helper.make_graph(
        nodes, f"matmul_chain_{repeats}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info(f"h{repeats - 1}", TensorProto.FLOAT, [n, n])],
        [w],
    )
    return _save(graph, path)
