"""RegNetX/Y-400MF as torchvision defines them: widths and depths come from the quantized linear rule."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..blocks import make_divisible, squeeze_excite
from ..net import Net, Value


@dataclass(frozen=True)
class Stage:
    width: int
    depth: int
    group_width: int


def stages(depth: int, w_0: int, w_a: float, w_m: float, group_width: int) -> list[Stage]:
    """torchvision's BlockParams.from_init_params (bottleneck multiplier 1), float32 like torch."""
    widths_cont = np.arange(depth, dtype=np.float32) * np.float32(w_a) + np.float32(w_0)
    capacity = np.round(np.log(widths_cont / np.float32(w_0)) / np.float32(math.log(w_m)))
    widths = (np.round(np.float32(w_0) * np.power(np.float32(w_m), capacity) / 8) * 8).astype(int).tolist()
    result: list[Stage] = []
    for w in widths:
        if result and result[-1].width == w:
            result[-1] = Stage(w, result[-1].depth + 1, group_width)
        else:
            result.append(Stage(w, 1, group_width))
    # A group cannot be wider than the block; the width then rounds to whole groups.
    adjusted = []
    for s in result:
        g = min(s.group_width, s.width)
        adjusted.append(Stage(make_divisible(s.width, g), s.depth, g))
    return adjusted


def _block(net: Net, x: Value, width: int, stride: int, group_width: int, se_ratio: float) -> Value:
    width_in = x.channels
    y = net.conv_bn(x, width, 1, act="relu")
    y = net.conv_bn(y, width, 3, stride, groups=width // group_width, act="relu")
    if se_ratio:
        # RegNetY sizes the squeeze from the block's input width, not the bottleneck width.
        y = squeeze_excite(net, y, int(round(se_ratio * width_in)))
    y = net.conv_bn(y, width, 1)
    skip = x if stride == 1 and width_in == width else net.conv_bn(x, width, 1, stride)
    return net.act(net.add(skip, y), "relu")


def _regnet(net: Net, plan: list[Stage], se_ratio: float, classes: int) -> Value:
    x = net.conv_bn(net.input, 32, 3, stride=2, act="relu")
    for stage in plan:
        for i in range(stage.depth):
            x = _block(net, x, stage.width, 2 if i == 0 else 1, stage.group_width, se_ratio)
    return net.linear(net.pool_flatten(x), classes)


def regnet_x_400mf(net: Net, classes: int = 1000) -> Value:
    return _regnet(net, stages(22, 24, 24.48, 2.54, 16), 0.0, classes)


def regnet_y_400mf(net: Net, classes: int = 1000) -> Value:
    return _regnet(net, stages(16, 48, 27.89, 2.09, 8), 0.25, classes)
