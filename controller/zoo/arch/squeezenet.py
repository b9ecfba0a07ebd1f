"""SqueezeNet 1.0 and 1.1 as torchvision defines them (biased convs, no BatchNorm, ceil-mode pools)."""
from __future__ import annotations

from ..net import Net, Value

# Fire modules as (squeeze, expand) widths; "M" is a 3x3/2 ceil-mode max pool.
_V1_0 = [(16, 64), (16, 64), (32, 128), "M", (32, 128), (48, 192), (48, 192), (64, 256), "M", (64, 256)]
_V1_1 = [(16, 64), (16, 64), "M", (32, 128), (32, 128), "M", (48, 192), (48, 192), (64, 256), (64, 256)]


def _fire(net: Net, x: Value, squeeze: int, expand: int) -> Value:
    s = net.conv(x, squeeze, 1, act="relu")
    return net.concat([net.conv(s, expand, 1, act="relu"), net.conv(s, expand, 3, act="relu")])


def _squeezenet(net: Net, stem_width: int, stem_kernel: int, plan: list, classes: int) -> Value:
    x = net.conv(net.input, stem_width, stem_kernel, stride=2, padding=0, act="relu")
    x = net.max_pool(x, 3, 2, ceil_mode=True)
    for item in plan:
        x = net.max_pool(x, 3, 2, ceil_mode=True) if item == "M" else _fire(net, x, *item)
    # The classifier is a 1x1 conv to class scores, then the average pool.
    x = net.conv(x, classes, 1, act="relu")
    return net.pool_flatten(x)


def squeezenet1_0(net: Net, classes: int = 1000) -> Value:
    return _squeezenet(net, 96, 7, _V1_0, classes)


def squeezenet1_1(net: Net, classes: int = 1000) -> Value:
    return _squeezenet(net, 64, 3, _V1_1, classes)
