"""The ONNX backend: builds an opset-17, float32, NCHW graph with onnx.helper.

Convolutions and BatchNorms stay separate nodes (as torch.onnx exports a model in eval mode), so
cost models see the same graph a real exported torchvision network has.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .net import Act, Value
from .weights import Weights

OPSET = 17
# IR 8 is what ONNX 1.12 (opset 17) wrote: old onnxruntime builds on boards still load it.
IR_VERSION = 8

Dim = int | str


class OnnxNet:
    def __init__(self, weights: Weights, input_shape: Sequence[Dim], name: str) -> None:
        self._w = weights
        self._name = name
        self._nodes: list[onnx.NodeProto] = []
        self._inits: list[onnx.TensorProto] = []
        self._count: dict[str, int] = {}
        self._shared: set[str] = set()
        self._input_shape = list(input_shape)
        # Static dims where known (None where symbolic): a channel shuffle needs them as constants.
        self._shapes: dict[str | int, list[int | None]] = {
            "input": [d if isinstance(d, int) else None for d in input_shape]}
        self.input = Value("input", int(input_shape[1]))

    # -- plumbing ---------------------------------------------------------------------------------

    def _fresh(self, kind: str) -> str:
        n = self._count.get(kind, 0)
        self._count[kind] = n + 1
        return f"{kind}_{n}"

    def _const(self, name: str, array: np.ndarray) -> str:
        self._inits.append(numpy_helper.from_array(array, name))
        return name

    def _node(self, op: str, inputs: Sequence[str | int], shape: list[int | None], name: str = "",
              **attrs: object) -> Value:
        """One node with one output, named after the node; `shape` is its static output shape."""
        name = name or self._fresh(op.lower())
        self._nodes.append(helper.make_node(op, list(inputs), [name], name=name, **attrs))
        self._shapes[name] = shape
        return Value(name, int(shape[1]))  # type: ignore[arg-type]

    def _like(self, x: Value, channels: int | None = None) -> list[int | None]:
        shape = list(self._shapes[x.id])
        if channels is not None:
            shape[1] = channels
        return shape

    def _pooled(self, x: Value, cout: int, kernel: int, stride: int, pad: int,
                ceil_mode: bool = False) -> list[int | None]:
        """Output shape of a sliding window, with torch's rule that a ceil-mode window starts inside."""
        def size(n: int | None) -> int | None:
            if n is None:
                return None
            span = n + 2 * pad - kernel
            out = (-(-span // stride) if ceil_mode else span // stride) + 1
            return out - 1 if ceil_mode and (out - 1) * stride >= n + pad else out
        n, _, h, w = self._shapes[x.id]
        return [n, cout, size(h), size(w)]

    def _shared_const(self, name: str, array: np.ndarray) -> str:
        if name not in self._shared:
            self._shared.add(name)
            self._const(name, array)
        return name

    # -- layers -----------------------------------------------------------------------------------

    def _conv_node(self, x: Value, weight: np.ndarray, bias: np.ndarray | None, stride: int,
                   groups: int, padding: int) -> Value:
        cout, _, k, _ = weight.shape
        name = self._fresh("conv")
        inputs = [x.id, self._const(f"{name}.weight", weight)]
        if bias is not None:
            inputs.append(self._const(f"{name}.bias", bias))
        return self._node("Conv", inputs, self._pooled(x, cout, k, stride, padding), name=name,
                          kernel_shape=[k, k], strides=[stride, stride], pads=[padding] * 4, group=groups,
                          dilations=[1, 1])

    def conv(self, x: Value, cout: int, kernel: int, stride: int = 1, groups: int = 1,
             padding: int | None = None, act: Act = None, bias: bool = True) -> Value:
        weight = self._w.conv(cout, x.channels // groups, kernel)
        b = self._w.bias(cout) if bias else None
        pad = (kernel - 1) // 2 if padding is None else padding
        y = self._conv_node(x, weight, b, stride, groups, pad)
        return self.act(y, act) if act else y

    def conv_bn(self, x: Value, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                padding: int | None = None, act: Act = None, eps: float = 1e-5) -> Value:
        weight = self._w.conv(cout, x.channels // groups, kernel)
        bn = self._w.batchnorm(cout, eps)
        pad = (kernel - 1) // 2 if padding is None else padding
        y = self._conv_node(x, weight, None, stride, groups, pad)
        name = self._fresh("bn")
        params = [self._const(f"{name}.{field}", getattr(bn, field))
                  for field in ("scale", "bias", "mean", "var")]
        y = self._node("BatchNormalization", [y.id, *params], self._like(y), name=name, epsilon=eps)
        return self.act(y, act) if act else y

    def act(self, x: Value, kind: str) -> Value:
        c = self._like(x)
        if kind == "relu":
            return self._node("Relu", [x.id], c)
        if kind == "relu6":
            lo = self._shared_const("relu6.min", np.array(0.0, np.float32))
            hi = self._shared_const("relu6.max", np.array(6.0, np.float32))
            return self._node("Clip", [x.id, lo, hi], c)
        if kind == "hardswish":
            return self._node("HardSwish", [x.id], c)
        if kind == "hardsigmoid":
            # torch's hardsigmoid is relu6(x + 3) / 6; ONNX's defaults (alpha 0.2) differ.
            return self._node("HardSigmoid", [x.id], c, alpha=1.0 / 6.0, beta=0.5)
        if kind == "sigmoid":
            return self._node("Sigmoid", [x.id], c)
        if kind == "silu":
            # No SiLU op before opset 24: torch.onnx exports x * sigmoid(x) too.
            return self.mul(x, self._node("Sigmoid", [x.id], c))
        raise ValueError(f"unknown activation {kind!r}")

    def add(self, a: Value, b: Value) -> Value:
        return self._node("Add", [a.id, b.id], self._like(a))

    def mul(self, a: Value, b: Value) -> Value:
        # b may be a [N, C, 1, 1] gate broadcast over a.
        return self._node("Mul", [a.id, b.id], self._like(a))

    def max_pool(self, x: Value, kernel: int, stride: int, padding: int = 0,
                 ceil_mode: bool = False) -> Value:
        shape = self._pooled(x, x.channels, kernel, stride, padding, ceil_mode)
        return self._node("MaxPool", [x.id], shape, kernel_shape=[kernel, kernel], strides=[stride, stride],
                          pads=[padding] * 4, ceil_mode=int(ceil_mode))

    def global_pool(self, x: Value) -> Value:
        return self._node("GlobalAveragePool", [x.id], self._like(x)[:2] + [1, 1])

    def pool_flatten(self, x: Value) -> Value:
        return self._node("Flatten", [self.global_pool(x).id], self._like(x)[:2], axis=1)

    def linear(self, x: Value, cout: int, act: Act = None) -> Value:
        name = self._fresh("gemm")
        weight = self._const(f"{name}.weight", self._w.linear(cout, x.channels))
        bias = self._const(f"{name}.bias", self._w.bias(cout))
        y = self._node("Gemm", [x.id, weight, bias], [self._shapes[x.id][0], cout], name=name, transB=1)
        return self.act(y, act) if act else y

    def concat(self, xs: Sequence[Value]) -> Value:
        return self._node("Concat", [x.id for x in xs], self._like(xs[0], sum(x.channels for x in xs)),
                          axis=1)

    def split(self, x: Value, parts: Sequence[int]) -> list[Value]:
        name = self._fresh("split")
        sizes = self._const(f"{name}.sizes", np.array(parts, np.int64))
        outs = [f"{name}.{i}" for i in range(len(parts))]
        self._nodes.append(helper.make_node("Split", [x.id, sizes], outs, name=name, axis=1))
        for o, c in zip(outs, parts, strict=True):
            self._shapes[o] = self._like(x, c)
        return [Value(o, c) for o, c in zip(outs, parts, strict=True)]

    def channel_shuffle(self, x: Value, groups: int) -> Value:
        # view(N, g, C/g, H, W) -> swap the group axes -> view(N, C, H, W), with constant shapes as
        # a static torch export has them, so plain ONNX shape inference sees every later shape.
        shape = self._like(x)
        if None in shape:
            raise NotImplementedError("channel shuffle needs static input dims")
        n, c, h, w = shape
        name = self._fresh("shuffle")
        grouped = self._const(f"{name}.grouped", np.array([n, groups, c // groups, h, w], np.int64))
        flat = self._const(f"{name}.flat", np.array(shape, np.int64))
        y = self._node("Reshape", [x.id, grouped], [n, groups, c // groups, h, w])
        y = self._node("Transpose", [y.id], [n, c // groups, groups, h, w], perm=[0, 2, 1, 3, 4])
        return self._node("Reshape", [y.id, flat], shape)

    def softmax(self, x: Value) -> Value:
        return self._node("Softmax", [x.id], self._like(x), axis=-1)

    # -- result -----------------------------------------------------------------------------------

    def finish(self, y: Value, output_shape: Sequence[Dim]) -> onnx.ModelProto:
        """Name the result `output` and wrap everything into a model."""
        last = self._nodes[-1]
        if list(last.output) != [y.id]:
            raise ValueError("the model's output must be the last node's only output")
        last.output[0] = "output"
        graph = helper.make_graph(
            self._nodes, self._name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, self._input_shape)],
            [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(output_shape))],
            initializer=self._inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="edgebench-zoo")
        model.ir_version = IR_VERSION
        return model
