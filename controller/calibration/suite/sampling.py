"""Which kernel configurations the suite measures: sampled where common vision and edge models live.

The ranges come from the shapes such models run (ImageNet-style 224 inputs down to 7x7 maps, detection and
segmentation inputs from 96 to 640, channel counts from 8 to 2048, MobileNet / EfficientNet / RegNet /
ShuffleNet / ConvNeXt / ViT blocks), never from any one model: a configuration is drawn from broad
log-uniform ranges with the structural mix those families have (mostly 1x1 and 3x3, depthwise and grouped
convolutions, strided downsampling, wide and narrow MatMuls). `initial_suite` is the first draw; the fit
then asks `more_like` for extra samples around the kernels it predicts worst.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable

from .spec import KernelSpec

# Spatial sizes activation maps have in these models: the halvings of 224, 240, 256, 299, 300, 320 and 512
# inputs (odd ones too: 55, 27, 13, 147, 73, 35, 17, 15...), square and not.
SPATIAL = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 19, 20, 24, 27, 28, 30, 32, 35, 38, 40, 48, 55, 56,
           60, 64, 71, 73, 75, 80, 96, 112, 120, 128, 147, 150, 160)
MAX_CONV_MACS = 400e6  # one conv above this takes long on a Pi at one thread; models rarely have them
MIN_WORK = 2_000  # below this a kernel is pure overhead: measured by the smallest samples anyway


def _log_int(rng: random.Random, lo: int, hi: int, multiple: int = 1) -> int:
    value = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    return max(multiple, int(round(value / multiple)) * multiple)


def _channels(rng: random.Random, lo: int = 8, hi: int = 1024) -> int:
    # Most exporters' channel counts are multiples of 8; some are not (24, 40, 72, 120, 200 are, 3, 58, 116 not).
    return _log_int(rng, lo, hi, 8 if rng.random() < 0.8 else 2)


def _spatial(rng: random.Random, lo: int = 4, hi: int = 160) -> tuple[int, int]:
    h = rng.choice([s for s in SPATIAL if lo <= s <= hi])
    w = h if rng.random() < 0.85 else rng.choice([s for s in SPATIAL if lo <= s <= hi])
    return h, w


def _act(rng: random.Random) -> str:
    # SiLU: EfficientNet, YOLO and MobileViT convs; in a quantized model it keeps the conv in float
    return rng.choices(["none", "relu", "relu6", "hardswish", "sigmoid", "silu"], [0.32, 0.3, 0.13, 0.11, 0.03, 0.11])[0]


def sample_conv(rng: random.Random, dtype: str) -> KernelSpec:
    for _ in range(100):
        kind = rng.choices(["pointwise", "dense", "depthwise", "grouped", "stem"], [0.34, 0.2, 0.22, 0.19, 0.05])[0]
        # the last stages of small-input and detection models run on maps down to 1x1
        h, w = _spatial(rng, 1 if rng.random() < 0.1 else 3)
        stride = 2 if rng.random() < 0.2 else 1
        if kind == "pointwise":
            k, cin, cout, groups = 1, _channels(rng), _channels(rng, 8, 2048), 1
            stride = 1 if rng.random() < 0.9 else stride
        elif kind == "dense":
            k = rng.choices([3, 5, 7], [0.85, 0.08, 0.07])[0]
            cin, cout, groups = _channels(rng, 8, 512), _channels(rng, 8, 512), 1
        elif kind == "depthwise":
            k = rng.choices([3, 5, 7], [0.7, 0.22, 0.08])[0]
            cin = cout = groups = _channels(rng, 8, 1536)
        elif kind == "grouped":
            k = rng.choices([1, 3], [0.3, 0.7])[0]
            width = rng.choice([2, 4, 8, 16, 24, 32, 48, 64, 128])
            groups = rng.choice([2, 4, 8, 16, 32, 64]) if rng.random() < 0.3 else max(2, _channels(rng, 16, 1024) // width)
            cin = cout = groups * width
        else:  # the first conv of an image model: 3 channels in, large map, strided
            k, cin, cout, groups = rng.choice([3, 7]), 3, _channels(rng, 16, 64), 1
            h = w = rng.choice([96, 128, 160, 192, 224, 256, 320])
            stride = 2
        ho, wo = -(-h // stride), -(-w // stride)
        macs = ho * wo * cout * (cin // groups) * k * k
        if MIN_WORK <= macs <= MAX_CONV_MACS:
            return KernelSpec.make("conv", dtype, h=h, w=w, cin=cin, cout=cout, k=k, stride=stride, groups=groups,
                                   act=_act(rng))
    raise RuntimeError("could not draw a conv configuration within the bounds")


MAX_FC_MACS = 1.2e9  # a ConvNeXt / Swin MLP at 56x56 tokens


def sample_fc(rng: random.Random, dtype: str) -> KernelSpec:
    if rng.random() < 0.35:  # a classifier or SE head on one row
        return KernelSpec.make("fc", dtype, m=1, k=_channels(rng, 16, 4096), n=_channels(rng, 8, 2048), act="none")
    # tokens of a transformer or hybrid stage (ViT 197 / 577, Swin and ConvNeXt 56x56 ... 7x7, MobileViT patches)
    m = rng.choice([16, 49, 64, 96, 144, 196, 197, 256, 576, 577, 784, 1024, 3136])
    k, n = _channels(rng, 32, 1536), _channels(rng, 32, 3072)
    while m * k * n > MAX_FC_MACS:
        m = max(1, m // 2)
    return KernelSpec.make("fc", dtype, m=m, k=k, n=n, act=rng.choice(["none", "none", "relu"]))


def sample_matmul(rng: random.Random, dtype: str) -> KernelSpec:
    b = rng.choice([1, 2, 3, 4, 6, 8, 12])
    m = rng.choice([16, 49, 64, 96, 196, 256, 577])
    k = rng.choice([16, 24, 32, 48, 64, 96, 128])
    n = m if rng.random() < 0.6 else rng.choice([16, 49, 64, 196, 256])
    if rng.random() < 0.5:  # scores . V: k and n swap roles
        k, n = n, k
    return KernelSpec.make("matmul", dtype, b=b, m=m, k=k, n=n)


def _map(rng: random.Random) -> dict[str, int]:
    h, w = _spatial(rng, 4, 160)
    c = _channels(rng, 8, 1024)
    while h * w * c > 3_000_000:
        c = max(8, c // 2)
    return {"h": h, "w": w, "c": c}


def sample_pool(rng: random.Random, dtype: str) -> KernelSpec:
    mode = rng.choice(["max", "max", "avg"])
    k, stride = rng.choice([(3, 2), (2, 2), (3, 1), (5, 1)])
    return KernelSpec.make("pool", dtype, **_map(rng), k=k, stride=stride, mode=mode)


def sample_global_pool(rng: random.Random, dtype: str) -> KernelSpec:
    return KernelSpec.make("global_pool", dtype, **_map(rng))


def sample_binary(rng: random.Random, dtype: str) -> KernelSpec:
    op = rng.choices(["add", "mul", "sub", "div", "pow", "max", "min"], [0.45, 0.3, 0.07, 0.08, 0.04, 0.03, 0.03])[0]
    bcast = rng.choices(["same", "channel", "scalar"], [0.6, 0.3, 0.1])[0]
    return KernelSpec.make("binary", dtype, **_map(rng), op=op, bcast=bcast)


def sample_unary(rng: random.Random, dtype: str) -> KernelSpec:
    # Activations, and the element-wise ops exporters leave unfused (a GELU as Div, Erf, Add, Mul; a norm's
    # Sqrt and Reciprocal)
    op = rng.choices(["relu", "relu6", "sigmoid", "hardswish", "hardsigmoid", "silu", "gelu", "tanh", "leakyrelu",
                      "erf", "sqrt", "reciprocal", "abs", "neg", "exp"],
                     [0.14, 0.08, 0.09, 0.1, 0.06, 0.1, 0.08, 0.04, 0.04, 0.07, 0.05, 0.04, 0.03, 0.03, 0.05])[0]
    return KernelSpec.make("unary", dtype, **_map(rng), op=op)


def sample_reduce(rng: random.Random, dtype: str) -> KernelSpec:
    m = rng.choice([1, 16, 49, 64, 196, 197, 256, 576, 784, 1024, 3136])
    n = rng.choice([16, 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1280])
    return KernelSpec.make("reduce", dtype, m=m, n=n, mode=rng.choices(["mean", "max", "sum"], [0.6, 0.2, 0.2])[0])


def sample_concat(rng: random.Random, dtype: str) -> KernelSpec:
    n = rng.choice([2, 2, 2, 3, 4])
    m = _map(rng)
    m["c"] = max(8, m["c"] // n)
    return KernelSpec.make("concat", dtype, **m, n=n)


def sample_shuffle(rng: random.Random, dtype: str) -> KernelSpec:
    m = _map(rng)
    groups = rng.choice([2, 2, 3, 4, 8])
    m["c"] = max(groups, m["c"] // groups * groups)
    return KernelSpec.make("shuffle", dtype, **m, groups=groups)


def sample_resize(rng: random.Random, dtype: str) -> KernelSpec:
    m = _map(rng)
    m["h"], m["w"] = max(2, m["h"] // 2), max(2, m["w"] // 2)
    return KernelSpec.make("resize", dtype, **m, scale=2, mode=rng.choice(["nearest", "bilinear"]))


def sample_softmax(rng: random.Random, dtype: str) -> KernelSpec:
    if rng.random() < 0.3:  # a classifier's probabilities
        return KernelSpec.make("softmax", dtype, m=1, n=rng.choice([10, 100, 1000, 1001, 21843]))
    heads = rng.choice([1, 2, 3, 4, 6, 8])
    seq = rng.choice([16, 49, 64, 196, 256, 577])
    return KernelSpec.make("softmax", dtype, m=heads * seq, n=seq)


def sample_layernorm(rng: random.Random, dtype: str) -> KernelSpec:
    return KernelSpec.make("layernorm", dtype, m=rng.choice([16, 49, 64, 196, 197, 256, 577, 784, 1024, 3136]),
                           n=rng.choice([32, 64, 96, 128, 192, 256, 384, 512, 768]))


def sample_attention(rng: random.Random, dtype: str) -> KernelSpec:
    heads = rng.choice([1, 2, 3, 4, 6, 8])
    return KernelSpec.make("attention", dtype, seq=rng.choice([16, 49, 64, 196, 256]), dim=heads * rng.choice([16, 32, 64]),
                           heads=heads)


def sample_se(rng: random.Random, dtype: str) -> KernelSpec:
    m = _map(rng)
    return KernelSpec.make("se", dtype, **m, r=max(8, m["c"] // rng.choice([4, 4, 8, 16])))


def sample_pad(rng: random.Random, dtype: str) -> KernelSpec:
    return KernelSpec.make("pad", dtype, **_map(rng), p=rng.choice([1, 1, 2, 3]))


def sample_transpose(rng: random.Random, dtype: str) -> KernelSpec:
    return KernelSpec.make("transpose", dtype, **_map(rng))


SAMPLERS: dict[str, Callable[[random.Random, str], KernelSpec]] = {
    "conv": sample_conv, "fc": sample_fc, "matmul": sample_matmul, "pool": sample_pool,
    "global_pool": sample_global_pool, "binary": sample_binary, "unary": sample_unary, "concat": sample_concat,
    "shuffle": sample_shuffle, "resize": sample_resize, "softmax": sample_softmax, "layernorm": sample_layernorm,
    "attention": sample_attention, "se": sample_se, "pad": sample_pad, "transpose": sample_transpose,
    "reduce": sample_reduce,
}

# How many of each op the first draw takes: convolutions dominate the time of vision models and vary most, so
# they get the most samples; memory-bound ops are cheap to measure and many kinds, so they get a broad share.
INITIAL_SHARE: dict[str, float] = {
    "conv": 0.34, "fc": 0.09, "matmul": 0.05, "pool": 0.04, "global_pool": 0.03, "binary": 0.09, "unary": 0.1,
    "concat": 0.03, "shuffle": 0.025, "resize": 0.03, "softmax": 0.03, "layernorm": 0.03, "attention": 0.03,
    "se": 0.025, "pad": 0.02, "transpose": 0.03, "reduce": 0.03,
}


def initial_suite(total: int, dtype: str = "fp32", seed: int = 0,
                  supported: Callable[[KernelSpec], bool] = lambda s: True) -> list[KernelSpec]:
    """About `total` distinct kernel specs, in INITIAL_SHARE proportions, reproducible from `seed`."""
    rng = random.Random(f"{seed}:{dtype}")
    out: list[KernelSpec] = []
    seen: set[str] = set()
    for op, share in INITIAL_SHARE.items():
        want = max(2, round(total * share))
        tries = 0
        count = 0
        while count < want and tries < want * 20:
            tries += 1
            spec = SAMPLERS[op](rng, dtype)
            if spec.key in seen or not supported(spec):
                continue
            seen.add(spec.key)
            out.append(spec)
            count += 1
    return out


def more_like(specs: list[KernelSpec], count: int, seed: int = 0,
              supported: Callable[[KernelSpec], bool] = lambda s: True,
              exclude: set[str] | None = None) -> list[KernelSpec]:
    """`count` new specs of the same ops as `specs` (the worst-predicted), drawn again from their samplers."""
    rng = random.Random(f"more:{seed}:{len(specs)}")
    seen = set(exclude or ()) | {s.key for s in specs}
    out: list[KernelSpec] = []
    tries = 0
    while len(out) < count and specs and tries < count * 30:
        tries += 1
        base = rng.choice(specs)
        spec = SAMPLERS[base.op](rng, base.dtype)
        if spec.key in seen or not supported(spec):
            continue
        seen.add(spec.key)
        out.append(spec)
    return out
