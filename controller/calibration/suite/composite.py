"""Random multi-kernel networks for the suite: how kernel times add up, and what a model's memory is.

Single-kernel models measure each kernel on its own; a real model also pays per-kernel executor overhead,
feeds each kernel the previous one's output, and streams weights that no longer fit in cache. These networks
measure that composition, and their weights and activations span sizes from a few hundred KB to ~100 MB so
the worker's measured peak memory can be fitted against them.

They are random: stacks of blocks drawn from the vocabulary of every CNN family (plain convs, residual basic
blocks, inverted residuals with and without squeeze-excite, channel-shuffle units, concatenations, pools) at
random widths, depths and resolutions. None is any published architecture. They are written against the
zoo's `Net` vocabulary, so the same network comes out as ONNX (NCHW, BatchNorm separate, as exported) and as
TFLite (NHWC, folded, optionally full int8).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ...zoo.net import Net, Value

BLOCKS = ("conv", "basic", "inverted", "inverted_se", "shuffle", "concat")
ACTS = ("relu", "relu6", "hardswish", "silu")


@dataclass(frozen=True)
class CompositeSpec:
    seed: int
    resolution: int
    width: float  # channel multiplier on a 16-32-64-128-256 ladder
    depth: int  # blocks per stage
    stages: int

    @property
    def key(self) -> str:
        return f"composite_s{self.seed}_r{self.resolution}_w{self.width:g}_d{self.depth}_st{self.stages}"


def composite_specs(count: int, seed: int = 0) -> list[CompositeSpec]:
    """`count` networks from tiny (sub-millisecond) to heavy (~100 MB of weights)."""
    rng = random.Random(f"composite:{seed}")
    out = []
    for i in range(count):
        size = i / max(1, count - 1)  # spread the sizes evenly rather than leave them to chance
        # The widest (most weights) at modest resolution, so no one network takes long on a small board.
        resolution = rng.choice([64, 96, 128, 160, 224]) if size < 0.75 else rng.choice([64, 96])
        width = round(0.25 + size * rng.uniform(1.5, 3.5), 2)
        out.append(CompositeSpec(seed * 1000 + i, resolution, width, rng.choice([1, 2, 3]), rng.choice([3, 4, 5])))
    return out


def memory_specs(seed: int = 0) -> list[CompositeSpec]:
    """Networks with the feature maps of real vision models (224-448 px inputs, 16-64-channel stems at half
    resolution: 3 to 37 MB of live activations) for the memory fit alone. The timing networks stay small for a
    board's budget, but fitted only on them the activation term is measured below 1 MB and extrapolated."""
    shapes = [(224, 2.0, 3), (320, 2.5, 3), (448, 1.0, 3), (448, 2.0, 2)]  # resolution, width, stages
    return [CompositeSpec(seed * 1000 + 900 + i, r, w, 1, st) for i, (r, w, st) in enumerate(shapes)]


def _block(net: Net, x: Value, kind: str, cout: int, stride: int, rng: random.Random,
           acts: tuple[str, ...]) -> Value:
    act = rng.choice(acts)
    if kind == "conv":
        return net.conv_bn(x, cout, rng.choice([1, 3, 3, 5]), stride, act=act)
    if kind == "basic":
        y = net.conv_bn(x, cout, 3, stride, act="relu")
        y = net.conv_bn(y, cout, 3)
        skip = x if stride == 1 and x.channels == cout else net.conv_bn(x, cout, 1, stride)
        return net.act(net.add(y, skip), "relu")
    if kind in ("inverted", "inverted_se"):
        expanded = x.channels * rng.choice([3, 4, 6])
        y = net.conv_bn(x, expanded, 1, act=act)
        y = net.conv_bn(y, expanded, rng.choice([3, 5]), stride, groups=expanded, act=act)
        if kind == "inverted_se":
            s = net.global_pool(y)
            s = net.conv(s, max(8, expanded // 4), 1, act="relu")
            s = net.conv(s, expanded, 1, act="sigmoid" if "hardswish" not in acts else rng.choice(
                ["sigmoid", "hardsigmoid"]))
            y = net.mul(y, s)
        y = net.conv_bn(y, cout, 1)
        return net.add(x, y) if stride == 1 and x.channels == cout else y
    if kind == "shuffle":
        half = cout // 2
        if stride == 1 and x.channels == cout:
            a, b = net.split(x, [x.channels - x.channels // 2, x.channels // 2])
        else:
            a = net.conv_bn(net.conv_bn(x, x.channels, 3, stride, groups=x.channels), cout - half, 1, act="relu")
            b = x if stride == 1 else net.conv_bn(x, x.channels, 3, stride, groups=x.channels)
        b = net.conv_bn(b, half, 1, act="relu")
        b = net.conv_bn(b, half, 3, groups=half)
        b = net.conv_bn(b, half, 1, act="relu")
        return net.channel_shuffle(net.concat([a, b]), 2)
    # concat: two branches of different kernels, concatenated (inception / densenet style)
    y1 = net.conv_bn(x, cout // 2, 1, stride, act="relu")
    y2 = net.conv_bn(x, cout - cout // 2, 3, stride, act="relu")
    return net.concat([y1, y2])


def build_composite(net: Net, spec: CompositeSpec) -> Value:
    rng = random.Random(spec.key)
    blocks, acts = BLOCKS, ACTS
    widths = [max(8, int(c * spec.width) // 8 * 8) for c in (16, 32, 64, 128, 256, 384)]
    x = net.conv_bn(net.input, widths[0], 3, 2, act="relu")
    size = spec.resolution // 2
    if rng.random() < 0.4:
        x = net.max_pool(x, 3, 2, 1)
        size //= 2
    for stage in range(spec.stages):
        cout = widths[min(stage + 1, len(widths) - 1)]
        for i in range(spec.depth):
            kind = rng.choice(blocks if cout % 4 == 0 else blocks[:4])
            stride = 2 if i == 0 and size >= 8 else 1  # real networks stop halving around 7x7 or 4x4
            size = -(-size // stride)
            x = _block(net, x, kind, cout, stride, rng, acts)
    x = net.conv_bn(x, widths[-1] * 2, 1, act="relu")
    return net.linear(net.pool_flatten(x), 1000)


def composite_onnx(spec: CompositeSpec) -> bytes:
    from ...zoo.onnx_net import OnnxNet
    from ...zoo.weights import Weights

    net = OnnxNet(Weights(spec.key), (1, 3, spec.resolution, spec.resolution), spec.key)
    return net.finish(build_composite(net, spec), (1, 1000)).SerializeToString()


def composite_tflite(spec: CompositeSpec, int8: bool = False) -> bytes:
    from ...zoo.tflite_net import TfliteNet
    from ...zoo.weights import Weights

    net = TfliteNet(Weights(spec.key), [1, spec.resolution, spec.resolution, 3], spec.key, int8=int8)
    return net.finish(build_composite(net, spec), f"edgebench kernel suite: {spec.key}")


# A chain of one-row fully-connected layers whose weights together far exceed any cache: every kernel
# streams its weights from DRAM, as a classifier head or a transformer's linear layers do inside a model whose
# weights do not stay cached between inferences. Its time per weight byte is the board's cold-weight rate.
COLD_WIDTH = 1024  # 1024 x 1024 fp32 = 4 MiB per layer
COLD_LAYERS = 24  # 96 MiB in all (24 MiB as int8)


def cold_chain_key(dtype: str) -> str:
    return f"coldchain_w{COLD_WIDTH}_l{COLD_LAYERS}_{dtype}"


def cold_chain_onnx() -> bytes:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    nodes, inits = [], []
    x = "input"
    for i in range(COLD_LAYERS):
        w, b, y = f"w{i}", f"b{i}", f"fc{i}"
        inits.append(numpy_helper.from_array(
            (rng.standard_normal((COLD_WIDTH, COLD_WIDTH)) / COLD_WIDTH ** 0.5).astype(np.float32), w))
        inits.append(numpy_helper.from_array(np.zeros(COLD_WIDTH, np.float32), b))
        nodes.append(helper.make_node("Gemm", [x, w, b], [y], name=y, transB=1))
        x = y
    graph = helper.make_graph(nodes, "edgebench_cold_chain",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, COLD_WIDTH])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, COLD_WIDTH])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def cold_chain_tflite(int8: bool = False) -> bytes:
    from ...zoo.tflite_net import TfliteNet
    from ...zoo.weights import Weights

    net = TfliteNet(Weights("coldchain"), [1, COLD_WIDTH], "coldchain", int8=int8)
    x = net.input
    for _ in range(COLD_LAYERS):
        x = net.linear(x, COLD_WIDTH)
    return net.finish(x, "edgebench kernel suite: cold-weight chain")
