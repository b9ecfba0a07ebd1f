"""EfficientNet-B0 as torchvision defines it (MBConv blocks with SiLU and squeeze-excitation)."""
from __future__ import annotations

from ..blocks import inverted_residual, make_divisible
from ..net import Net, Value

# (expand ratio, kernel, first stride, out channels, repeats) for B0 (width 1.0, depth 1.0).
_B0 = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
       (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]


def efficientnet_b0(net: Net, classes: int = 1000) -> Value:
    x = net.conv_bn(net.input, 32, 3, stride=2, act="silu")
    for ratio, kernel, stride, out, repeats in _B0:
        for i in range(repeats):
            cin = x.channels
            x = inverted_residual(net, x, out, stride if i == 0 else 1, make_divisible(cin * ratio, 8),
                                  kernel, act="silu", se=max(1, cin // 4), se_act="silu")
    x = net.conv_bn(x, 4 * x.channels, 1, act="silu")
    return net.linear(net.pool_flatten(x), classes)
