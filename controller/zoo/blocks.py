"""Building blocks shared by several architectures, written once against the `Net` vocabulary."""
from __future__ import annotations

from .net import Act, Net, Value


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of `divisor`, never dropping more than 10% (torchvision's rule)."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def squeeze_excite(net: Net, x: Value, squeeze: int, act: str = "relu", gate: str = "sigmoid") -> Value:
    """Pool, 1x1 conv down, 1x1 conv up, gate, rescale x (torchvision's SqueezeExcitation)."""
    s = net.global_pool(x)
    s = net.conv(s, squeeze, 1, act=act)
    s = net.conv(s, x.channels, 1, act=gate)
    return net.mul(x, s)


def inverted_residual(net: Net, x: Value, cout: int, stride: int, expanded: int, kernel: int = 3,
                      act: Act = "relu6", se: int = 0, se_act: str = "relu", se_gate: str = "sigmoid",
                      eps: float = 1e-5) -> Value:
    """MobileNetV2-style block: [1x1 expand] -> depthwise -> [SE] -> 1x1 linear projection [+ skip].

    The expansion conv exists only when it changes the width; `se` is the SE squeeze width (0: none).
    """
    y = x
    if expanded != x.channels:
        y = net.conv_bn(y, expanded, 1, act=act, eps=eps)
    y = net.conv_bn(y, expanded, kernel, stride, groups=expanded, act=act, eps=eps)
    if se:
        y = squeeze_excite(net, y, se, se_act, se_gate)
    y = net.conv_bn(y, cout, 1, eps=eps)
    return net.add(x, y) if stride == 1 and x.channels == cout else y
