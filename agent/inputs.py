"""Input tensors for a job: seeded random data per dtype, shape overrides, or user .npy files."""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .runtimes.base import ModelError, TensorSpec

# Integer inputs that are not quantized activations are usually ids or indices: keep them small and
# non-negative so an embedding lookup stays in range.
ID_UPPER_BOUND = 100


@dataclass
class ResolvedInput:
    spec: TensorSpec
    shape: list[int]


def shape_hint(declared: Sequence[int | str | None]) -> str:
    """What --input-shape wants for these declared dims: fixed dims as they are, a dynamic leading batch dim as
    1 (its default), every other dynamic dim as <its name> for the user to choose (the controller says the same)."""
    return "x".join(str(d) if isinstance(d, int) else "1" if axis == 0 else f"<{d or 'dim' + str(axis)}>"
                    for axis, d in enumerate(declared))


def resolve_shapes(
    specs: Sequence[TensorSpec], overrides: dict[str, list[int]]
) -> tuple[list[ResolvedInput], list[str]]:
    """Fix every input's shape from the model's dims and the user's overrides.

    Returns the inputs and warnings. An unknown input name, a rank or fixed-dim mismatch, or a dynamic dim
    the user did not give (other than a leading batch dim, which defaults to 1) is a ModelError.
    """
    by_name = {s.name: s for s in specs}
    unknown = sorted(set(overrides) - set(by_name))
    if unknown:
        raise ModelError(
            f"unknown input name {', '.join(map(repr, unknown))}; the model's inputs are "
            f"{', '.join(_describe(s) for s in specs)}"
        )
    resolved: list[ResolvedInput] = []
    warnings: list[str] = []
    for spec in specs:
        if spec.name in overrides:
            shape = list(overrides[spec.name])
            _check_override(spec, shape)
        else:
            shape = []
            for axis, dim in enumerate(spec.shape):
                if isinstance(dim, int) and dim >= 0:
                    shape.append(dim)
                elif axis == 0:
                    shape.append(1)
                    warnings.append(f"input {spec.name!r}: dynamic batch dim {dim or '?'} set to 1")
                else:
                    raise ModelError(
                        f"input {spec.name!r} has dynamic dim {dim or '?'} at axis {axis} "
                        f"(declared {_shape_text(spec.shape)}): give it with --input-shape "
                        f"{spec.name}={shape_hint(spec.shape)}"
                    )
        resolved.append(ResolvedInput(spec, shape))
    return resolved, warnings


def _check_override(spec: TensorSpec, shape: list[int]) -> None:
    if any(d <= 0 for d in shape):
        raise ModelError(f"input {spec.name!r}: every dim must be positive, got {_shape_text(shape)}")
    if len(shape) != len(spec.shape):
        raise ModelError(
            f"input {spec.name!r}: shape {_shape_text(shape)} has rank {len(shape)}, "
            f"the model declares {_shape_text(spec.shape)} (rank {len(spec.shape)})"
        )
    for axis, (want, got) in enumerate(zip(spec.shape, shape, strict=True)):
        if isinstance(want, int) and want >= 0 and want != got:
            raise ModelError(
                f"input {spec.name!r}: shape {_shape_text(shape)} does not match the model's "
                f"{_shape_text(spec.shape)} at axis {axis}"
            )


def make_input(item: ResolvedInput, rng: np.random.Generator) -> np.ndarray:
    """Seeded random data that is valid for the dtype."""
    dtype = np.dtype(item.spec.dtype)
    shape = item.shape
    if dtype.kind == "f":
        return rng.standard_normal(shape, dtype=np.float32).astype(dtype, copy=False)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype.kind in "iu":
        if item.spec.quantization is not None or dtype.itemsize == 1:
            info = np.iinfo(dtype)  # quantized activations: the whole representable range
            return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
        return rng.integers(0, ID_UPPER_BOUND, size=shape, dtype=dtype)
    raise ModelError(f"input {item.spec.name!r}: cannot generate data of dtype {dtype}; pass an .npy file")


def load_npy(name: str, data: bytes) -> np.ndarray:
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ModelError(f"input file for {name!r} is not a readable .npy array: {exc}") from exc


def build_feeds(
    specs: Sequence[TensorSpec],
    overrides: dict[str, list[int]],
    files: dict[str, bytes],
    seed: int,
) -> tuple[dict[str, np.ndarray], list[ResolvedInput], list[str]]:
    """The arrays the timed loop will feed, built once before it starts."""
    names = {s.name for s in specs}
    unknown = sorted(set(files) - names)
    if unknown:
        raise ModelError(f"input file given for unknown input {', '.join(map(repr, unknown))}")
    shapes = dict(overrides)
    arrays = {name: load_npy(name, data) for name, data in files.items()}
    for name, array in arrays.items():
        shapes.setdefault(name, list(array.shape))
    resolved, warnings = resolve_shapes(specs, shapes)
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for item in resolved:
        if item.spec.name in arrays:
            array = arrays[item.spec.name]
            if list(array.shape) != item.shape:
                raise ModelError(
                    f"input file for {item.spec.name!r} has shape {_shape_text(array.shape)}, "
                    f"expected {_shape_text(item.shape)}"
                )
            if array.dtype != np.dtype(item.spec.dtype):
                raise ModelError(
                    f"input file for {item.spec.name!r} has dtype {array.dtype}, the model wants {item.spec.dtype}"
                )
            feeds[item.spec.name] = np.ascontiguousarray(array)
        else:
            feeds[item.spec.name] = make_input(item, rng)
    return feeds, resolved, warnings


def _shape_text(shape: Sequence[object]) -> str:
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def _describe(spec: TensorSpec) -> str:
    return f"{spec.name} {spec.dtype}{_shape_text(spec.shape)}"
