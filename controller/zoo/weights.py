"""Seeded random parameters. Same key, same draws in the same order: builds are byte-identical.

Convolutions get He-normal weights and BatchNorms plausible running statistics, so activations stay
finite and of ordinary magnitude through deep stacks without any training.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BatchNormParams:
    scale: np.ndarray
    bias: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float

    def fold(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel (multiplier, offset) that BN applies in inference: what converters fold into convs."""
        mult = self.scale / np.sqrt(self.var + np.float32(self.eps))
        return mult.astype(np.float32), (self.bias - self.mean * mult).astype(np.float32)


class Weights:
    """Draws every parameter of one model from a generator seeded by the architecture's key."""

    def __init__(self, key: str) -> None:
        self._rng = np.random.default_rng(zlib.crc32(key.encode()))

    def _normal(self, shape: tuple[int, ...], std: float) -> np.ndarray:
        return self._rng.standard_normal(shape, dtype=np.float32) * np.float32(std)

    def _uniform(self, n: int, low: float, high: float) -> np.ndarray:
        return self._rng.uniform(low, high, n).astype(np.float32)

    def conv(self, cout: int, cin_per_group: int, kernel: int) -> np.ndarray:
        """OIHW, He-normal over the fan-in."""
        fan_in = cin_per_group * kernel * kernel
        return self._normal((cout, cin_per_group, kernel, kernel), (2.0 / fan_in) ** 0.5)

    def bias(self, n: int) -> np.ndarray:
        return self._normal((n,), 0.01)

    def batchnorm(self, n: int, eps: float) -> BatchNormParams:
        return BatchNormParams(
            scale=self._uniform(n, 0.5, 1.0),
            bias=self._normal((n,), 0.05),
            mean=self._normal((n,), 0.05),
            var=self._uniform(n, 0.5, 1.5),
            eps=eps,
        )

    def linear(self, cout: int, cin: int) -> np.ndarray:
        """[out, in] like torch.nn.Linear, variance-preserving."""
        return self._normal((cout, cin), (1.0 / cin) ** 0.5)
