"""Pick the reader for a model file: TFLite by its flatbuffer identifier, ONNX otherwise."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import CostModelError
from .ir import Graph
from .shapes import InputShapes


def model_format(path: str | os.PathLike[str]) -> str:
    path = Path(path)
    if not path.is_file():
        raise CostModelError(f"{path}: no such model file")
    with path.open("rb") as fh:
        head = fh.read(8)
    # The identifier is authoritative; the suffix only decides when the file is too short to say.
    if head[4:8] == b"TFL3" or (len(head) < 8 and path.suffix.lower() == ".tflite"):
        return "tflite"
    if path.suffix.lower() == ".tflite":
        raise CostModelError(f"{path.name}: named .tflite but has no TFLite file identifier (found {head[4:8]!r})")
    return "onnx"


def read_model(path: str | os.PathLike[str], input_shapes: InputShapes | None = None) -> Graph:
    fmt = model_format(path)
    if fmt == "tflite":
        from .tflite_reader import read_tflite  # noqa: PLC0415

        return read_tflite(path, input_shapes)
    from .onnx_reader import read_onnx  # noqa: PLC0415

    return read_onnx(path, input_shapes)
