"""ShuffleNetV2 as torchvision defines it."""
from __future__ import annotations

from ..net import Net, Value


def _unit(net: Net, x: Value, cout: int, stride: int) -> Value:
    half = cout // 2
    if stride == 1:
        keep, x2 = net.split(x, [x.channels // 2, x.channels // 2])
    else:
        keep = net.conv_bn(x, x.channels, 3, stride, groups=x.channels)
        keep = net.conv_bn(keep, half, 1, act="relu")
        x2 = x
    y = net.conv_bn(x2, half, 1, act="relu")
    y = net.conv_bn(y, half, 3, stride, groups=half)
    y = net.conv_bn(y, half, 1, act="relu")
    return net.channel_shuffle(net.concat([keep, y]), 2)


def _shufflenet_v2(net: Net, widths: list[int], classes: int) -> Value:
    x = net.conv_bn(net.input, widths[0], 3, stride=2, act="relu")
    x = net.max_pool(x, 3, 2, padding=1)
    for width, repeats in zip(widths[1:4], [4, 8, 4], strict=True):
        for i in range(repeats):
            x = _unit(net, x, width, 2 if i == 0 else 1)
    x = net.conv_bn(x, widths[4], 1, act="relu")
    return net.linear(net.pool_flatten(x), classes)


def shufflenet_v2_x0_5(net: Net, classes: int = 1000) -> Value:
    return _shufflenet_v2(net, [24, 48, 96, 192, 1024], classes)


def shufflenet_v2_x1_0(net: Net, classes: int = 1000) -> Value:
    return _shufflenet_v2(net, [24, 116, 232, 464, 1024], classes)
