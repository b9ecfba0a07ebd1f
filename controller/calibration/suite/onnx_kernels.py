"""One-kernel ONNX models for the kernel suite, written the way torch.onnx exports the layer.

fp32: the op in NCHW as torch's exporter writes it (Conv + a separate activation node, SiLU as Sigmoid + Mul,
GELU as the erf formula, channel shuffle as Reshape / Transpose / Reshape ...): onnxruntime's optimizer then
does to it what it does to a real export, and the board's optimized graph says which kernels really run.
fp16: the same graph in float16 with float32 I/O (Cast in and out), as float16 converters keep I/O types.
int8: the fp32 model through onnxruntime's own `quantize_static` (QDQ, int8 activations and weights, its
defaults), calibrated on seeded random data: the quantized graphs users make, kernel for kernel.
"""
from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np

from .spec import KernelSpec

OPSET = 17
IR_VERSION = 8  # what onnx 1.12 wrote: older onnxruntime builds on boards still load it
INPUT = "x"


class _Builder:
    """Nodes, initializers and graph I/O of one small model, in one float dtype."""

    def __init__(self, spec: KernelSpec, float_dtype: str) -> None:
        from onnx import TensorProto

        self.spec = spec
        self.np_float = np.float16 if float_dtype == "float16" else np.float32
        self.onnx_float = TensorProto.FLOAT16 if float_dtype == "float16" else TensorProto.FLOAT
        self.rng = np.random.default_rng(zlib.crc32(spec.key.encode()))  # stable across processes
        self.nodes: list = []
        self.inits: list = []
        self.inputs: list[tuple[str, list[int]]] = []
        self._n = 0

    def name(self, kind: str) -> str:
        self._n += 1
        return f"{kind}_{self._n}"

    def input(self, shape: Sequence[int], name: str = INPUT) -> str:
        self.inputs.append((name, list(shape)))
        return name

    def const(self, array: np.ndarray, kind: str = "w") -> str:
        from onnx import numpy_helper

        name = self.name(kind)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def weight(self, shape: Sequence[int], fan_in: int) -> str:
        w = self.rng.standard_normal(tuple(shape)).astype(np.float32) / math.sqrt(max(fan_in, 1))
        return self.const(w.astype(self.np_float))

    def fconst(self, values: Sequence[float] | float, kind: str = "c") -> str:
        return self.const(np.asarray(values, dtype=self.np_float), kind)

    def i64(self, values: Sequence[int]) -> str:
        return self.const(np.asarray(values, dtype=np.int64), "shape")

    def node(self, op: str, inputs: Sequence[str], n_out: int = 1, **attrs) -> str | list[str]:
        from onnx import helper

        name = self.name(op.lower())
        outs = [name] if n_out == 1 else [f"{name}_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def act(self, x: str, act: str) -> str:
        if act == "none":
            return x
        if act == "relu":
            return self.node("Relu", [x])
        if act == "relu6":
            return self.node("Clip", [x, self.fconst(0.0, "min"), self.fconst(6.0, "max")])
        if act == "hardswish":
            return self.node("HardSwish", [x])
        if act == "hardsigmoid":
            return self.node("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
        if act == "sigmoid":
            return self.node("Sigmoid", [x])
        if act == "silu":  # torch exports SiLU as x * sigmoid(x)
            return self.node("Mul", [x, self.node("Sigmoid", [x])])
        if act == "gelu":  # torch's exact GELU below opset 20: x * 0.5 * (1 + erf(x / sqrt(2)))
            erf = self.node("Erf", [self.node("Div", [x, self.fconst(math.sqrt(2.0))])])
            half = self.node("Mul", [x, self.node("Add", [erf, self.fconst(1.0)])])
            return self.node("Mul", [half, self.fconst(0.5)])
        if act == "tanh":
            return self.node("Tanh", [x])
        if act == "leakyrelu":
            return self.node("LeakyRelu", [x], alpha=0.1)
        simple = {"exp": "Exp", "erf": "Erf", "sqrt": "Sqrt", "reciprocal": "Reciprocal", "abs": "Abs", "neg": "Neg"}
        if act in simple:
            if act in ("sqrt", "reciprocal"):  # keep the inputs where the op is defined (random data is not)
                x = self.node("Abs", [x])
            return self.node(simple[act], [x])
        raise ValueError(f"unknown activation {act!r}")

    def model(self, output: str) -> bytes:
        import onnx
        from onnx import TensorProto, helper

        cast_io = self.onnx_float != TensorProto.FLOAT
        graph_inputs, nodes = [], []
        for name, shape in self.inputs:
            if cast_io:  # float32 I/O around a float16 graph, as keep_io_types converters write it
                outer = f"{name}_fp32"
                nodes.append(helper.make_node("Cast", [outer], [name], name=f"cast_{name}", to=self.onnx_float))
                graph_inputs.append(helper.make_tensor_value_info(outer, TensorProto.FLOAT, shape))
            else:
                graph_inputs.append(helper.make_tensor_value_info(name, self.onnx_float, shape))
        nodes += self.nodes
        out_name = output
        if cast_io:
            out_name = "y_fp32"
            nodes.append(helper.make_node("Cast", [output], [out_name], name="cast_out", to=TensorProto.FLOAT))
        outputs = [helper.make_tensor_value_info(out_name, TensorProto.FLOAT if cast_io else self.onnx_float, None)]
        graph = helper.make_graph(nodes, self.spec.key, graph_inputs, outputs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="edgebench-kernel-suite")
        m.ir_version = IR_VERSION
        # The output's shape as exporters declare it (inferred: every input shape is static).
        inferred = onnx.shape_inference.infer_shapes(m)
        m.graph.output[0].CopyFrom(inferred.graph.output[0])
        return m.SerializeToString()


def _pads(k: int) -> list[int]:
    p = (k - 1) // 2
    return [p, p, p, p]


def _build(b: _Builder) -> str:  # noqa: C901 - one branch per op, each a few lines
    s = b.spec
    op = s.op
    if op == "conv":
        cin, cout, k, g = int(s["cin"]), int(s["cout"]), int(s["k"]), int(s["groups"])
        x = b.input([1, cin, int(s["h"]), int(s["w"])])
        y = b.node("Conv", [x, b.weight([cout, cin // g, k, k], cin // g * k * k), b.weight([cout], 1)],
                   kernel_shape=[k, k], strides=[int(s["stride"])] * 2, pads=_pads(k), group=g)
        return b.act(y, str(s["act"]))
    if op == "fc":
        m, k, n = int(s["m"]), int(s["k"]), int(s["n"])
        if m == 1:  # a CNN's classifier after Flatten: torch exports Linear on 2-D input as Gemm
            x = b.input([1, k])
            y = b.node("Gemm", [x, b.weight([n, k], k), b.weight([n], 1)], transB=1)
        else:  # a transformer's Linear on [batch, tokens, features]: MatMul + Add
            x = b.input([1, m, k])
            y = b.node("Add", [b.node("MatMul", [x, b.weight([k, n], k)]), b.weight([n], 1)])
        return b.act(y, str(s["act"]))
    if op == "matmul":
        bt, m, k, n = int(s["b"]), int(s["m"]), int(s["k"]), int(s["n"])
        return b.node("MatMul", [b.input([bt, m, k]), b.input([bt, k, n], "x2")])
    if op == "pool":
        k, stride, c = int(s["k"]), int(s["stride"]), int(s["c"])
        x = b.input([1, c, int(s["h"]), int(s["w"])])
        kind = "MaxPool" if s["mode"] == "max" else "AveragePool"
        pads = _pads(k) if s["mode"] == "max" else [0, 0, 0, 0]
        return b.node(kind, [x], kernel_shape=[k, k], strides=[stride, stride], pads=pads)
    if op == "global_pool":
        return b.node("GlobalAveragePool", [b.input([1, int(s["c"]), int(s["h"]), int(s["w"])])])
    if op == "binary":
        c, h, w = int(s["c"]), int(s["h"]), int(s["w"])
        x = b.input([1, c, h, w])
        other = {"same": lambda: b.input([1, c, h, w], "x2"),
                 "channel": lambda: b.weight([1, c, 1, 1], 1),
                 "scalar": lambda: b.fconst(1.5)}[str(s["bcast"])]()
        if s["op"] == "pow":  # a real power of a non-negative base (as a norm's x ** 2 or a GELU's x ** 3)
            x = b.node("Abs", [x])
        return b.node({"add": "Add", "mul": "Mul", "sub": "Sub", "div": "Div", "pow": "Pow", "max": "Max",
                       "min": "Min"}[str(s["op"])], [x, other])
    if op == "unary":
        return b.act(b.input([1, int(s["c"]), int(s["h"]), int(s["w"])]), str(s["op"]))
    if op == "concat":
        c, h, w, n = int(s["c"]), int(s["h"]), int(s["w"]), int(s["n"])
        xs = [b.input([1, c, h, w], INPUT if i == 0 else f"x{i + 1}") for i in range(n)]
        return b.node("Concat", xs, axis=1)
    if op == "shuffle":
        c, h, w, g = int(s["c"]), int(s["h"]), int(s["w"]), int(s["groups"])
        x = b.input([1, c, h, w])
        y = b.node("Reshape", [x, b.i64([1, g, c // g, h, w])])
        y = b.node("Transpose", [y], perm=[0, 2, 1, 3, 4])
        return b.node("Reshape", [y, b.i64([1, c, h, w])])
    if op == "resize":
        scale = float(s["scale"])
        x = b.input([1, int(s["c"]), int(s["h"]), int(s["w"])])
        scales = b.const(np.asarray([1, 1, scale, scale], dtype=np.float32), "scales")
        if s["mode"] == "nearest":
            return b.node("Resize", [x, "", scales], mode="nearest", coordinate_transformation_mode="asymmetric",
                          nearest_mode="floor")
        return b.node("Resize", [x, "", scales], mode="linear", coordinate_transformation_mode="pytorch_half_pixel")
    if op == "softmax":
        return b.node("Softmax", [b.input([1, int(s["m"]), int(s["n"])])], axis=-1)
    if op == "layernorm":
        n = int(s["n"])
        x = b.input([1, int(s["m"]), n])
        return b.node("LayerNormalization", [x, b.fconst(np.ones(n)), b.fconst(np.zeros(n))], axis=-1, epsilon=1e-5)
    if op == "attention":
        seq, dim, heads = int(s["seq"]), int(s["dim"]), int(s["heads"])
        d = dim // heads
        q = b.input([1, heads, seq, d], INPUT)
        k = b.input([1, heads, seq, d], "x2")
        v = b.input([1, heads, seq, d], "x3")
        scores = b.node("Mul", [b.node("MatMul", [q, b.node("Transpose", [k], perm=[0, 1, 3, 2])]),
                                b.fconst(1.0 / math.sqrt(d))])
        return b.node("MatMul", [b.node("Softmax", [scores], axis=-1), v])
    if op == "se":
        c, r = int(s["c"]), int(s["r"])
        x = b.input([1, c, int(s["h"]), int(s["w"])])
        y = b.node("GlobalAveragePool", [x])
        y = b.node("Relu", [b.node("Conv", [y, b.weight([r, c, 1, 1], c), b.weight([r], 1)], kernel_shape=[1, 1])])
        y = b.node("Conv", [y, b.weight([c, r, 1, 1], r), b.weight([c], 1)], kernel_shape=[1, 1])
        return b.node("Mul", [x, b.node("Sigmoid", [y])])
    if op == "pad":
        p = int(s["p"])
        x = b.input([1, int(s["c"]), int(s["h"]), int(s["w"])])
        return b.node("Pad", [x, b.i64([0, 0, p, p, 0, 0, p, p])], mode="constant")
    if op == "reduce":
        x = b.input([1, int(s["m"]), int(s["n"])])
        if s["mode"] == "sum":  # ReduceSum takes its axes as an input from opset 13, the others from 18
            return b.node("ReduceSum", [x, b.i64([-1])], keepdims=1)
        return b.node({"mean": "ReduceMean", "max": "ReduceMax"}[str(s["mode"])], [x], axes=[-1], keepdims=1)
    if op == "transpose":
        return b.node("Transpose", [b.input([1, int(s["c"]), int(s["h"]), int(s["w"])])], perm=[0, 2, 3, 1])
    raise ValueError(f"no ONNX generator for kernel op {op!r}")


def onnx_supported(spec: KernelSpec) -> bool:
    if spec.dtype == "int8" and spec.op in ("layernorm", "attention", "pad", "transpose"):
        return False  # quantize_static leaves these in float: the int8 variant would only repeat fp32
    if spec.op == "conv" and int(spec["cin"]) % int(spec["groups"]):
        return False
    return True


def onnx_kernel(spec: KernelSpec) -> bytes:
    """The one-kernel model of `spec`, serialized."""
    if not onnx_supported(spec):
        raise ValueError(f"{spec.key}: not generated for ONNX")
    if spec.dtype == "int8":
        return _quantized(spec)
    b = _Builder(spec, "float16" if spec.dtype == "fp16" else "float32")
    return b.model(_build(b))


def _quantized(spec: KernelSpec) -> bytes:
    """quantize_static (QDQ, int8, its defaults) of the fp32 kernel, calibrated on seeded random inputs."""
    import os
    import tempfile

    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    fp32 = KernelSpec(spec.op, spec.params, "fp32")
    b = _Builder(fp32, "float32")
    model_bytes = b.model(_build(b))
    rng = np.random.default_rng(7)
    feeds = [{name: rng.standard_normal(shape).astype(np.float32) for name, shape in b.inputs} for _ in range(4)]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(feeds)

        def get_next(self):
            return next(self._it, None)

    with tempfile.TemporaryDirectory(prefix="edgebench-kernel-") as tmp:
        src, dst = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
        with open(src, "wb") as f:
            f.write(model_bytes)
        quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8)
        model = onnx.load(dst)
    model.graph.name = spec.key
    return model.SerializeToString()


def onnx_input_shapes(spec: KernelSpec) -> dict[str, list[int]]:
    """The model's graph inputs and their shapes (all static), as the agent's --input-shape would give them."""
    b = _Builder(KernelSpec(spec.op, spec.params, "fp32"), "float32")
    _build(b)
    suffix = "_fp32" if spec.dtype == "fp16" else ""
    return {f"{name}{suffix}": shape for name, shape in b.inputs}
