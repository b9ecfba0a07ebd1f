"""Raspberry Pi firmware throttle flags (`vcgencmd get_throttled` -> `throttled=0x50005`)."""
from __future__ import annotations

import re
from dataclasses import dataclass

# Bit -> meaning for the "now" bits 0-3; the same meaning 16 bits higher is "has occurred since boot".
_NOW_BITS = {
    0: "under-voltage",
    1: "arm frequency capped",
    2: "throttled",
    3: "soft temperature limit",
}
_STICKY_SHIFT = 16
NOW_MASK = 0xF
STICKY_MASK = 0xF << _STICKY_SHIFT

_THROTTLED = re.compile(r"^\s*throttled=(0x[0-9a-fA-F]+|\d+)\s*$")


@dataclass(frozen=True)
class ThrottleState:
    raw: int

    @classmethod
    def parse(cls, text: str) -> ThrottleState:
        """`throttled=0x50005` -> ThrottleState(0x50005). ValueError on anything else."""
        m = _THROTTLED.match(text.strip().splitlines()[0] if text.strip() else "")
        if not m:
            raise ValueError(f"not a get_throttled line: {text.strip()[:60]!r}")
        return cls(int(m.group(1), 0))

    @property
    def now_bits(self) -> int:
        return self.raw & NOW_MASK

    @property
    def sticky_bits(self) -> int:
        return (self.raw & STICKY_MASK) >> _STICKY_SHIFT

    @property
    def under_voltage(self) -> bool:
        return bool(self.raw & 0x1)

    @property
    def freq_capped(self) -> bool:
        return bool(self.raw & 0x2)

    @property
    def throttled(self) -> bool:
        return bool(self.raw & 0x4)

    @property
    def soft_temp_limit(self) -> bool:
        return bool(self.raw & 0x8)

    @property
    def any_now(self) -> bool:
        return self.now_bits != 0

    def describe(self) -> list[str]:
        """Human words for every set bit: ["throttled", "under-voltage since boot", ...]."""
        words = [name for bit, name in _NOW_BITS.items() if self.raw >> bit & 1]
        words += [f"{name} since boot" for bit, name in _NOW_BITS.items() if self.raw >> (bit + _STICKY_SHIFT) & 1]
        return words

    def __str__(self) -> str:
        return f"0x{self.raw:x}"
