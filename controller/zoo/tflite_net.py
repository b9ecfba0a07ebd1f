"""The TFLite backend: writes an NHWC flatbuffer with the schema's object API, no TensorFlow needed.

It follows what TFLite converters emit: BatchNorm folded into conv weights and biases, ReLU/ReLU6
fused into the producing op, torch-style symmetric padding as an explicit PAD before a VALID conv
(TFLite's SAME pads the bottom/right side on strided convs, torch pads both), conv weights OHWI and
depthwise weights [1, H, W, C * multiplier].

With `int8=True` every activation is int8 (asymmetric, per tensor), conv weights are symmetric
per-channel int8, dense weights per-tensor int8 and biases int32 at input_scale * weight_scale. There
is no calibration data for random weights, so activation ranges are estimated from the weights.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .net import Act, Value
from .tflite_writer import QParams, TfliteWriter
from .weights import Weights

_FUSED = {None: 0, "relu": 1, "relu6": 3}  # ActivationFunctionType: NONE, RELU, RELU6
_SOFTMAX_INT8 = QParams(1.0 / 256.0, -128)  # the only output quantization TFLite accepts
_LOGISTIC_INT8 = QParams(1.0 / 256.0, -128)  # int8 LOGISTIC's required output quantization too


class TfliteNet:
    def __init__(self, weights: Weights, input_shape: Sequence[int], name: str, int8: bool = False) -> None:
        self._out = TfliteWriter()
        self._s = self._out.schema
        self._w = weights
        self._name = name
        self._int8 = int8
        self._shapes: dict[int, list[int]] = {}
        self._q: dict[int, QParams] = {}
        self._count = 0
        self.input = Value(self._activation("input", input_shape, QParams(1.0 / 128.0, 0)),
                           int(input_shape[-1]))

    # -- tensors and ops --------------------------------------------------------------------------

    def _activation(self, name: str, shape: Sequence[int], q: QParams | None = None) -> int:
        """A runtime tensor: float32, or int8 with `q` (required in int8 mode)."""
        if not self._int8:
            idx = self._out.tensor(name, shape, "FLOAT32")
        else:
            if q is None:
                raise ValueError(f"int8 tensor {name!r} needs quantization parameters")
            idx = self._out.tensor(name, shape, "INT8", quant=self._out.int8_quant(q))
            self._q[idx] = q
        self._shapes[idx] = list(shape)
        return idx

    def _const(self, name: str, array: np.ndarray, quant: Any = None) -> int:
        return self._out.const(name, array, quant)

    def _op(self, op: str, inputs: Sequence[int], outputs: Sequence[int], options: Any = None,
            options_type: str = "NONE") -> None:
        self._out.op(op, inputs, outputs, options, options_type)

    def _fresh(self, kind: str) -> str:
        self._count += 1
        return f"{kind}_{self._count}"

    # -- layers -----------------------------------------------------------------------------------

    def conv(self, x: Value, cout: int, kernel: int, stride: int = 1, groups: int = 1,
             padding: int | None = None, act: Act = None, bias: bool = True) -> Value:
        weight = self._w.conv(cout, x.channels // groups, kernel)
        b = self._w.bias(cout) if bias else np.zeros(cout, np.float32)
        return self._conv(x, weight, b, stride, groups, padding, act)

    def conv_bn(self, x: Value, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                padding: int | None = None, act: Act = None, eps: float = 1e-5) -> Value:
        # Same draws in the same order as the ONNX backend, then folded as converters do.
        weight = self._w.conv(cout, x.channels // groups, kernel)
        mult, offset = self._w.batchnorm(cout, eps).fold()
        return self._conv(x, weight * mult[:, None, None, None], offset, stride, groups, padding, act)

    def _conv(self, x: Value, weight: np.ndarray, bias: np.ndarray, stride: int, groups: int,
              padding: int | None, act: Act) -> Value:
        cout, _, k, _ = weight.shape
        cin = x.channels
        pad = (k - 1) // 2 if padding is None else padding
        depthwise = groups > 1 and groups == cin and cout % cin == 0
        if groups != 1 and not depthwise:
            raise NotImplementedError("grouped (non-depthwise) convolution has no TFLite builtin")
        if act not in _FUSED:  # converters fuse only ReLU-like activations; the others follow as their own op
            return self.act(self._conv(x, weight, bias, stride, groups, padding, None), act)
        if stride == 1 and 2 * pad == k - 1:
            padding_mode = self._s.Padding.SAME  # identical to symmetric padding at stride 1
        else:
            if pad:
                x = self._pad(x, pad)
            padding_mode = self._s.Padding.VALID
        n, h, w, _ = self._shapes[x.id]
        if padding_mode == self._s.Padding.SAME:  # stride 1 here: SAME keeps the spatial size
            out_shape = [n, h, w, cout]
        else:
            out_shape = [n, (h - k) // stride + 1, (w - k) // stride + 1, cout]
        name = self._fresh("depthwise" if depthwise else "conv")
        # OIHW -> depthwise [1, H, W, C*mult] / regular OHWI.
        kernel = weight.transpose(1, 2, 3, 0) if depthwise else weight.transpose(0, 2, 3, 1)
        w_idx, b_idx, q = self._weights(name, kernel, bias, x, out_axis=3 if depthwise else 0,
                                        per_channel=True, act=act)
        y = self._activation(name, out_shape, q)
        if depthwise:
            opts = self._s.DepthwiseConv2DOptionsT()
            opts.depthMultiplier = cout // cin
            op, opts_type = "DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions"
        else:
            opts = self._s.Conv2DOptionsT()
            op, opts_type = "CONV_2D", "Conv2DOptions"
        opts.padding, opts.strideH, opts.strideW = padding_mode, stride, stride
        opts.fusedActivationFunction = _FUSED[act]
        self._op(op, [x.id, w_idx, b_idx], [y], opts, opts_type)
        return Value(y, cout)

    def _weights(self, name: str, kernel: np.ndarray, bias: np.ndarray, x: Value, out_axis: int,
                 per_channel: bool, act: Act) -> tuple[int, int, QParams | None]:
        """Weight and bias tensors; in int8 mode also the output's estimated quantization."""
        if not self._int8:
            return self._const(f"{name}.weight", kernel), self._const(f"{name}.bias", bias), None
        rows = np.moveaxis(kernel, out_axis, 0).reshape(len(bias), -1)  # one row per output channel
        absmax = np.abs(rows).max(axis=1) if per_channel else np.abs(rows).max().reshape(1)
        w_scale = np.maximum(absmax, 1e-8) / 127.0  # symmetric: zero point 0
        shape = [1] * kernel.ndim
        shape[out_axis] = -1
        q_kernel = np.clip(np.round(kernel / w_scale.reshape(shape)), -127, 127).astype(np.int8)
        in_q = self._q[x.id]
        b_scale = in_q.scale * w_scale
        q_bias = np.round(bias / b_scale).astype(np.int32)
        zeros = [0] * len(w_scale)
        w_idx = self._const(f"{name}.weight", q_kernel, self._out.quant(w_scale, zeros, out_axis))
        b_idx = self._const(f"{name}.bias", q_bias, self._out.quant(b_scale, zeros, 0))
        # Zero-mean inputs of rms r through a row of norm |w| give outputs of rms ~ r|w|: keep 3 sigma.
        lo, hi = in_q.range
        out_rms = max(-lo, hi) / 2.0 * float(np.sqrt((rows ** 2).sum(axis=1).mean()))
        amax = 3.0 * out_rms + float(np.abs(bias).max())
        if act == "relu":
            return w_idx, b_idx, QParams.for_range(0.0, amax)
        if act == "relu6":
            return w_idx, b_idx, QParams.for_range(0.0, min(amax, 6.0))
        return w_idx, b_idx, QParams.for_range(-amax, amax)

    def _pad(self, x: Value, pad: int, minimum: bool = False) -> Value:
        n, h, w, c = self._shapes[x.id]
        name = self._fresh("pad")
        paddings = self._const(f"{name}.paddings",
                               np.array([[0, 0], [pad, pad], [pad, pad], [0, 0]], np.int32))
        # Padding with the zero point keeps real zeros, so one quantization serves both sides.
        y = self._activation(name, [n, h + 2 * pad, w + 2 * pad, c], self._q.get(x.id))
        if not minimum:
            self._op("PAD", [x.id, paddings], [y], self._s.PadOptionsT(), "PadOptions")
        else:  # PADV2 with the dtype's lowest value: padding never wins a max
            low = np.array([-128], np.int8) if self._int8 else np.array([np.finfo(np.float32).min], np.float32)
            value = self._const(f"{name}.value", low, self._out.int8_quant(self._q[x.id]) if self._int8 else None)
            self._op("PADV2", [x.id, paddings, value], [y], self._s.PadV2OptionsT(), "PadV2Options")
        return Value(y, x.channels)

    def act(self, x: Value, kind: str) -> Value:
        """ReLU / ReLU6 as their own ops, hard-swish as HARD_SWISH, sigmoid (and hard-sigmoid, which has no
        builtin: converters lower it to ops of similar cost) as LOGISTIC, SiLU as LOGISTIC + MUL."""
        if kind == "silu":
            return self.mul(x, self.act(x, "sigmoid"))
        q = None
        if self._int8:
            lo, hi = self._q[x.id].range
            if kind in ("relu", "relu6"):
                q = QParams.for_range(0.0, min(hi, 6.0) if kind == "relu6" else hi)
            elif kind == "hardswish":
                q = QParams.for_range(-0.375, max(hi, 0.0))
            elif kind in ("sigmoid", "hardsigmoid"):
                q = _LOGISTIC_INT8
        ops = {"relu": "RELU", "relu6": "RELU6", "hardswish": "HARD_SWISH", "sigmoid": "LOGISTIC",
               "hardsigmoid": "LOGISTIC"}
        if kind not in ops:
            raise NotImplementedError(f"activation {kind!r} in the TFLite backend")
        y = self._activation(self._fresh(kind), self._shapes[x.id], q)
        self._op(ops[kind], [x.id], [y])
        return Value(y, x.channels)

    def mul(self, a: Value, b: Value) -> Value:
        """Element-wise product; b may be a [N, 1, 1, C] gate (squeeze-and-excitation) broadcast over a."""
        q = None
        if self._int8:
            (alo, ahi), (blo, bhi) = self._q[a.id].range, self._q[b.id].range
            corners = [alo * blo, alo * bhi, ahi * blo, ahi * bhi]
            q = QParams.for_range(min(corners), max(corners))
        y = self._activation(self._fresh("mul"), self._shapes[a.id], q)
        self._op("MUL", [a.id, b.id], [y], self._s.MulOptionsT(), "MulOptions")
        return Value(y, a.channels)

    def global_pool(self, x: Value) -> Value:
        n, _, _, c = self._shapes[x.id]
        name = self._fresh("mean")
        axes = self._const(f"{name}.axes", np.array([1, 2], np.int32))
        y = self._activation(name, [n, 1, 1, c], self._q.get(x.id))
        opts = self._s.ReducerOptionsT()
        opts.keepDims = True
        self._op("MEAN", [x.id, axes], [y], opts, "ReducerOptions")
        return Value(y, c)

    def concat(self, xs: Sequence[Value]) -> Value:
        n, h, w, _ = self._shapes[xs[0].id]
        channels = sum(v.channels for v in xs)
        q = None
        if self._int8:  # one range covering every input's; XNNPACK wants the inputs in it too, so requantize
            ranges = [self._q[v.id].range for v in xs]
            q = QParams.for_range(min(r[0] for r in ranges), max(r[1] for r in ranges))
            xs = [v if self._q[v.id] == q else self._requantize(v, q) for v in xs]
        y = self._activation(self._fresh("concat"), [n, h, w, channels], q)
        opts = self._s.ConcatenationOptionsT()
        opts.axis = 3
        self._op("CONCATENATION", [v.id for v in xs], [y], opts, "ConcatenationOptions")
        return Value(y, channels)

    def split(self, x: Value, parts: Sequence[int]) -> list[Value]:
        n, h, w, _ = self._shapes[x.id]
        name = self._fresh("split")
        sizes = self._const(f"{name}.sizes", np.array(list(parts), np.int32))
        axis = self._const(f"{name}.axis", np.array(3, np.int32))
        outs = [self._activation(f"{name}_{i}", [n, h, w, p], self._q.get(x.id)) for i, p in enumerate(parts)]
        opts = self._s.SplitVOptionsT()
        opts.numSplits = len(parts)
        self._op("SPLIT_V", [x.id, sizes, axis], outs, opts, "SplitVOptions")
        return [Value(o, p) for o, p in zip(outs, parts, strict=True)]

    def channel_shuffle(self, x: Value, groups: int) -> Value:
        n, h, w, c = self._shapes[x.id]
        q = self._q.get(x.id)
        grouped = self._reshape(x, [n, h, w, groups, c // groups], q)
        name = self._fresh("transpose")
        perm = self._const(f"{name}.perm", np.array([0, 1, 2, 4, 3], np.int32))
        t = self._activation(name, [n, h, w, c // groups, groups], q)
        self._op("TRANSPOSE", [grouped, perm], [t], self._s.TransposeOptionsT(), "TransposeOptions")
        return Value(self._reshape(Value(t, c), [n, h, w, c], q), c)

    def _requantize(self, x: Value, q: QParams) -> Value:
        y = self._activation(self._fresh("requantize"), self._shapes[x.id], q)
        self._op("QUANTIZE", [x.id], [y])
        return Value(y, x.channels)

    def _reshape(self, x: Value, shape: list[int], q: QParams | None) -> int:
        name = self._fresh("reshape")
        target = self._const(f"{name}.shape", np.array(shape, np.int32))
        y = self._activation(name, shape, q)
        opts = self._s.ReshapeOptionsT()
        opts.newShape = list(shape)
        self._op("RESHAPE", [x.id, target], [y], opts, "ReshapeOptions")
        return y

    def add(self, a: Value, b: Value) -> Value:
        q = None
        if self._int8:
            (alo, ahi), (blo, bhi) = self._q[a.id].range, self._q[b.id].range
            q = QParams.for_range(alo + blo, ahi + bhi)
        y = self._activation(self._fresh("add"), self._shapes[a.id], q)
        self._op("ADD", [a.id, b.id], [y], self._s.AddOptionsT(), "AddOptions")
        return Value(y, a.channels)

    def max_pool(self, x: Value, kernel: int, stride: int, padding: int = 0,
                 ceil_mode: bool = False) -> Value:
        if ceil_mode:
            raise NotImplementedError("ceil-mode max pooling in the TFLite backend")
        if padding:  # torch pads with -inf for a max: an explicit PAD of the lowest value, as converters write
            x = self._pad(x, padding, minimum=True)
        n, h, w, c = self._shapes[x.id]
        y = self._activation(self._fresh("maxpool"), [n, (h - kernel) // stride + 1,
                                                       (w - kernel) // stride + 1, c], self._q.get(x.id))
        opts = self._s.Pool2DOptionsT()
        opts.padding, opts.strideH, opts.strideW = self._s.Padding.VALID, stride, stride
        opts.filterHeight = opts.filterWidth = kernel
        self._op("MAX_POOL_2D", [x.id], [y], opts, "Pool2DOptions")
        return Value(y, x.channels)

    def pool_flatten(self, x: Value) -> Value:
        n, _, _, c = self._shapes[x.id]
        name = self._fresh("mean")
        axes = self._const(f"{name}.axes", np.array([1, 2], np.int32))
        # A mean stays inside its input's range, so the input's quantization fits it.
        y = self._activation(name, [n, c], self._q.get(x.id))
        opts = self._s.ReducerOptionsT()
        opts.keepDims = False
        self._op("MEAN", [x.id, axes], [y], opts, "ReducerOptions")
        return Value(y, c)

    def linear(self, x: Value, cout: int, act: Act = None) -> Value:
        if act not in _FUSED:
            return self.act(self.linear(x, cout), act)
        weight, bias = self._w.linear(cout, x.channels), self._w.bias(cout)
        name = self._fresh("dense")
        w_idx, b_idx, q = self._weights(name, weight, bias, x, out_axis=0, per_channel=False, act=act)
        y = self._activation(name, [self._shapes[x.id][0], cout], q)
        opts = self._s.FullyConnectedOptionsT()
        opts.fusedActivationFunction = _FUSED[act]
        self._op("FULLY_CONNECTED", [x.id, w_idx, b_idx], [y], opts, "FullyConnectedOptions")
        return Value(y, cout)

    def softmax(self, x: Value) -> Value:
        y = self._activation(self._fresh("softmax"), self._shapes[x.id], _SOFTMAX_INT8)
        opts = self._s.SoftmaxOptionsT()
        opts.beta = 1.0
        self._op("SOFTMAX", [x.id], [y], opts, "SoftmaxOptions")
        return Value(y, x.channels)

    # -- result -----------------------------------------------------------------------------------

    def finish(self, y: Value, description: str) -> bytes:
        self._out.tensors[self.input.id].name = "input"
        self._out.tensors[y.id].name = "output"
        return self._out.finish([self.input.id], [y.id], self._name, description)
