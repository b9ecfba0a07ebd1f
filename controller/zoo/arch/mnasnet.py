"""MNASNet as torchvision defines it (current, "version 2" layout whose stem scales with alpha)."""
from __future__ import annotations

from ..blocks import inverted_residual
from ..net import Net, Value

_BASE_DEPTHS = [32, 16, 24, 40, 80, 96, 192, 320]
# (kernel, first stride, expansion, repeats) for stages 2..7.
_STACKS = [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1)]


def _round_to_multiple_of(val: float, divisor: int = 8, round_up_bias: float = 0.9) -> int:
    new_val = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return new_val if new_val >= round_up_bias * val else new_val + divisor


def mnasnet(net: Net, alpha: float, classes: int = 1000) -> Value:
    depths = [_round_to_multiple_of(d * alpha) for d in _BASE_DEPTHS]
    x = net.conv_bn(net.input, depths[0], 3, stride=2, act="relu")
    x = net.conv_bn(x, depths[0], 3, groups=depths[0], act="relu")
    x = net.conv_bn(x, depths[1], 1)
    for out, (kernel, stride, expansion, repeats) in zip(depths[2:], _STACKS, strict=True):
        for i in range(repeats):
            x = inverted_residual(net, x, out, stride if i == 0 else 1, x.channels * expansion, kernel,
                                  act="relu")
    x = net.conv_bn(x, 1280, 1, act="relu")
    return net.linear(net.pool_flatten(x), classes)


def mnasnet0_5(net: Net, classes: int = 1000) -> Value:
    return mnasnet(net, 0.5, classes)
