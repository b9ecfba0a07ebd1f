"""ResNet-18/34/50 as torchvision defines them (v1.5: the stride sits in the bottleneck's 3x3)."""
from __future__ import annotations

from ..net import Net, Value


def _basic(net: Net, x: Value, planes: int, stride: int) -> Value:
    y = net.conv_bn(x, planes, 3, stride, act="relu")
    y = net.conv_bn(y, planes, 3)
    return net.act(net.add(y, _shortcut(net, x, planes, stride)), "relu")


def _bottleneck(net: Net, x: Value, planes: int, stride: int) -> Value:
    y = net.conv_bn(x, planes, 1, act="relu")
    y = net.conv_bn(y, planes, 3, stride, act="relu")
    y = net.conv_bn(y, planes * 4, 1)
    return net.act(net.add(y, _shortcut(net, x, planes * 4, stride)), "relu")


def _shortcut(net: Net, x: Value, cout: int, stride: int) -> Value:
    return x if stride == 1 and x.channels == cout else net.conv_bn(x, cout, 1, stride)


def _resnet(net: Net, block, layers: list[int], classes: int) -> Value:
    x = net.conv_bn(net.input, 64, 7, stride=2, act="relu")
    x = net.max_pool(x, 3, 2, padding=1)
    for stage, repeats in enumerate(layers):
        planes = 64 * 2 ** stage
        for i in range(repeats):
            x = block(net, x, planes, 2 if stage > 0 and i == 0 else 1)
    return net.linear(net.pool_flatten(x), classes)


def resnet18(net: Net, classes: int = 1000) -> Value:
    return _resnet(net, _basic, [2, 2, 2, 2], classes)


def resnet34(net: Net, classes: int = 1000) -> Value:
    return _resnet(net, _basic, [3, 4, 6, 3], classes)


def resnet50(net: Net, classes: int = 1000) -> Value:
    return _resnet(net, _bottleneck, [3, 4, 6, 3], classes)
