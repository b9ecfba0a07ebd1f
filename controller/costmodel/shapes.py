"""Input-shape overrides: `name=1x3x224x224` on the command line, `{"name": [1, 3, 224, 224]}` in the API."""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from .errors import CostModelError

InputShapes = Mapping[str, Sequence[int]]


def parse_input_shape(text: str) -> tuple[str, list[int]]:
    """Parse one `name=1x3x224x224` override (the same spelling as `controller bench --input-shape`)."""
    name, sep, dims = text.rpartition("=")
    if not sep or not name or not dims:
        raise CostModelError(f"bad --input-shape {text!r}: expected NAME=D1xD2x... e.g. input=1x3x224x224")
    try:
        values = [int(d) for d in dims.lower().replace(",", "x").split("x")]
    except ValueError:
        raise CostModelError(f"bad --input-shape {text!r}: dims must be integers, e.g. {name}=1x3x224x224") from None
    if any(v <= 0 for v in values):
        raise CostModelError(f"bad --input-shape {text!r}: every dim must be a positive integer")
    return name, values


def parse_input_shapes(texts: Iterable[str] | None) -> dict[str, list[int]]:
    shapes: dict[str, list[int]] = {}
    for text in texts or ():
        name, dims = parse_input_shape(text)
        if name in shapes and shapes[name] != dims:
            raise CostModelError(f"--input-shape given twice for {name!r} with different dims")
        shapes[name] = dims
    return shapes


def format_shape(shape: Sequence[int | str | None] | None) -> str:
    if shape is None:
        return "?"
    return "x".join("?" if d is None else str(d) for d in shape) or "scalar"
