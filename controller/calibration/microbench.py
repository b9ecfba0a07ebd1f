"""Microbenchmark ONNX models the agent runs as ordinary jobs (no agent code needed).

One "kernels" model holds independent GEMMs (fp32 MatMul, int8 MatMulInteger) of several sizes and
element-wise Adds of two sizes; run with onnxruntime profiling, each node's kernel time is one measurement.
A "dispatch" model is a chain of tiny Adds: its end-to-end latency per node is the per-node overhead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DISPATCH_CHAIN = 200


@dataclass(frozen=True)
class Kernel:
    node: str
    kind: str  # "gemm_fp32", "gemm_int8", "copy"
    ops: float  # arithmetic ops (2 per MAC)
    bytes: float  # bytes moved


def kernels_model(gemm_sizes: list[int], copy_elems: list[int], int8: bool = True) -> tuple[bytes, list[Kernel]]:
    from onnx import TensorProto, helper, numpy_helper  # heavy: only `calibrate` builds models

    rng = np.random.default_rng(0)
    nodes, inputs, outputs, inits, kernels = [], [], [], [], []
    for n in gemm_sizes:
        a, w, y = f"a{n}", f"w{n}", f"gemm_fp32_{n}"
        inputs.append(helper.make_tensor_value_info(a, TensorProto.FLOAT, [n, n]))
        inits.append(numpy_helper.from_array(rng.standard_normal((n, n), dtype=np.float32), w))
        nodes.append(helper.make_node("MatMul", [a, w], [y], name=y))
        outputs.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, [n, n]))
        kernels.append(Kernel(y, "gemm_fp32", 2.0 * n ** 3, 3 * 4.0 * n * n))
        if int8:
            a8, w8, y8 = f"a8_{n}", f"w8_{n}", f"gemm_int8_{n}"
            inputs.append(helper.make_tensor_value_info(a8, TensorProto.UINT8, [n, n]))
            inits.append(numpy_helper.from_array(rng.integers(0, 255, (n, n), dtype=np.uint8), w8))
            nodes.append(helper.make_node("MatMulInteger", [a8, w8], [y8], name=y8))
            outputs.append(helper.make_tensor_value_info(y8, TensorProto.INT32, [n, n]))
            kernels.append(Kernel(y8, "gemm_int8", 2.0 * n ** 3, 2.0 * n * n + 4.0 * n * n))
    for e in copy_elems:
        x, z, y = f"x{e}", f"z{e}", f"copy_{e}"
        inputs += [helper.make_tensor_value_info(x, TensorProto.FLOAT, [e]),
                   helper.make_tensor_value_info(z, TensorProto.FLOAT, [e])]
        nodes.append(helper.make_node("Add", [x, z], [y], name=y))
        outputs.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, [e]))
        kernels.append(Kernel(y, "copy", float(e), 3 * 4.0 * e))
    graph = helper.make_graph(nodes, "edgebench_calibration_kernels", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString(), kernels


def dispatch_model(length: int = DISPATCH_CHAIN) -> bytes:
    """A chain of `length` Adds on a [1, 8] tensor: almost no work, so the time is dispatch."""
    from onnx import TensorProto, helper, numpy_helper  # heavy: only `calibrate` builds models

    one = numpy_helper.from_array(np.ones((1, 8), dtype=np.float32), "one")
    nodes, prev = [], "x"
    for i in range(length):
        out = f"t{i}" if i < length - 1 else "y"
        nodes.append(helper.make_node("Add", [prev, "one"], [out], name=f"add_{i}"))
        prev = out
    graph = helper.make_graph(nodes, "edgebench_calibration_dispatch",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], [one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()
