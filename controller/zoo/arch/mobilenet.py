"""MobileNetV2 and MobileNetV3 as torchvision defines them (width 1.0)."""
from __future__ import annotations

from ..blocks import inverted_residual, make_divisible
from ..net import Net, Value

# (expand ratio t, out channels c, repeats n, first stride s)
_V2_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenet_v2(net: Net, classes: int = 1000) -> Value:
    x = net.conv_bn(net.input, 32, 3, stride=2, act="relu6")
    for t, c, n, s in _V2_SETTINGS:
        for i in range(n):
            x = inverted_residual(net, x, c, s if i == 0 else 1, round(x.channels * t))
    x = net.conv_bn(x, 1280, 1, act="relu6")
    return net.linear(net.pool_flatten(x), classes)


# (kernel, expanded, out, squeeze-excite, activation, stride); the input width is the previous out.
_V3_SMALL = [(3, 16, 16, True, "relu", 2), (3, 72, 24, False, "relu", 2), (3, 88, 24, False, "relu", 1),
             (5, 96, 40, True, "hardswish", 2), (5, 240, 40, True, "hardswish", 1),
             (5, 240, 40, True, "hardswish", 1), (5, 120, 48, True, "hardswish", 1),
             (5, 144, 48, True, "hardswish", 1), (5, 288, 96, True, "hardswish", 2),
             (5, 576, 96, True, "hardswish", 1), (5, 576, 96, True, "hardswish", 1)]
_V3_LARGE = [(3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1),
             (5, 72, 40, True, "relu", 2), (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
             (3, 240, 80, False, "hardswish", 2), (3, 200, 80, False, "hardswish", 1),
             (3, 184, 80, False, "hardswish", 1), (3, 184, 80, False, "hardswish", 1),
             (3, 480, 112, True, "hardswish", 1), (3, 672, 112, True, "hardswish", 1),
             (5, 672, 160, True, "hardswish", 2), (5, 960, 160, True, "hardswish", 1),
             (5, 960, 160, True, "hardswish", 1)]
_V3_EPS = 1e-3


def _mobilenet_v3(net: Net, blocks: list, last_channel: int, classes: int) -> Value:
    x = net.conv_bn(net.input, 16, 3, stride=2, act="hardswish", eps=_V3_EPS)
    for kernel, expanded, out, use_se, act, stride in blocks:
        se = make_divisible(expanded // 4, 8) if use_se else 0
        x = inverted_residual(net, x, out, stride, expanded, kernel, act=act, se=se,
                              se_gate="hardsigmoid", eps=_V3_EPS)
    x = net.conv_bn(x, 6 * x.channels, 1, act="hardswish", eps=_V3_EPS)
    x = net.linear(net.pool_flatten(x), last_channel, act="hardswish")
    return net.linear(x, classes)


def mobilenet_v3_small(net: Net, classes: int = 1000) -> Value:
    return _mobilenet_v3(net, _V3_SMALL, 1024, classes)


def mobilenet_v3_large(net: Net, classes: int = 1000) -> Value:
    return _mobilenet_v3(net, _V3_LARGE, 1280, classes)
