"""Tiny models for tests: they build in milliseconds and run in well under a millisecond."""
from __future__ import annotations

from ..net import Net, Value


def tiny_cnn(net: Net, classes: int = 10, softmax: bool = False) -> Value:
    """Conv, pool, depthwise, pointwise, global pool, dense. Global pooling makes any H/W work."""
    x = net.conv(net.input, 16, 3, act="relu")
    x = net.max_pool(x, 2, 2)
    x = net.conv(x, 16, 3, groups=16, act="relu6")
    x = net.conv(x, 32, 1, act="relu6")
    x = net.linear(net.pool_flatten(x), classes)
    return net.softmax(x) if softmax else x


def mlp(net: Net, classes: int = 10) -> Value:
    x = net.linear(net.input, 128, act="relu")
    x = net.linear(x, 64, act="relu")
    return net.linear(x, classes)
