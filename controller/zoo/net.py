"""The small graph-building vocabulary every zoo architecture is written against.

Architectures call these methods and never touch ONNX or TFLite directly, so one definition
(e.g. MobileNetV2) yields both an NCHW ONNX graph and an NHWC TFLite model with the same weights.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# Activation names: "relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", or None.
Act = str | None


@dataclass(frozen=True)
class Value:
    """A tensor of the graph being built: the backend's handle plus its channel (feature) count."""

    id: str | int
    channels: int


class Net(Protocol):
    """What a backend offers. A backend may leave out ops it cannot express (raises NotImplementedError)."""

    input: Value

    def conv(self, x: Value, cout: int, kernel: int, stride: int = 1, groups: int = 1,
             padding: int | None = None, act: Act = None, bias: bool = True) -> Value:
        """Conv2d; padding defaults to (kernel - 1) // 2 on every side, like torchvision."""

    def conv_bn(self, x: Value, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                padding: int | None = None, act: Act = None, eps: float = 1e-5) -> Value:
        """Conv2d without bias, BatchNorm, then the activation (torchvision's Conv2dNormActivation)."""

    def act(self, x: Value, kind: str) -> Value: ...

    def add(self, a: Value, b: Value) -> Value: ...

    def mul(self, a: Value, b: Value) -> Value:
        """Elementwise product; b may be a pooled [N, C, 1, 1] gate (squeeze-and-excitation)."""

    def max_pool(self, x: Value, kernel: int, stride: int, padding: int = 0,
                 ceil_mode: bool = False) -> Value: ...

    def global_pool(self, x: Value) -> Value:
        """Global average pool keeping the spatial dims as 1x1."""

    def pool_flatten(self, x: Value) -> Value:
        """Global average pool to [N, C]: every classifier head here starts with it."""

    def linear(self, x: Value, cout: int, act: Act = None) -> Value: ...

    def concat(self, xs: Sequence[Value]) -> Value:
        """Concatenate along channels."""

    def split(self, x: Value, parts: Sequence[int]) -> list[Value]:
        """Split along channels."""

    def channel_shuffle(self, x: Value, groups: int) -> Value: ...

    def softmax(self, x: Value) -> Value: ...
