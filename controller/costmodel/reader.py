"""Pick the reader for a model file: TFLite by its flatbuffer identifier, ONNX otherwise."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import CostModelError
from .ir import Graph
from .shapes import InputShapes

ZOO_PREFIX = "zoo:"


def resolve_model(ref: str | os.PathLike[str]) -> Path:
    """A model path; `zoo:NAME` is built (or found in the cache) through controller.zoo."""
    text = str(ref)
    if not text.startswith(ZOO_PREFIX):
        return Path(ref)
    try:
        from edgebench.controller.zoo import resolve  # noqa: PLC0415  (heavy, and optional for this package)
    except ImportError as exc:
        raise CostModelError(f"{text}: zoo references need controller.zoo, which is not available") from exc
    try:
        return Path(resolve(text))
    except ValueError as exc:
        raise CostModelError(str(exc)) from exc


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


def malformed(path: str | os.PathLike[str], exc: Exception) -> CostModelError:
    detail = " ".join(str(exc).split())[:200]
    return CostModelError(f"{Path(path).name}: the model is malformed or uses a construct the cost model cannot "
                          f"read ({type(exc).__name__}: {detail})")


def read_model(path: str | os.PathLike[str], input_shapes: InputShapes | None = None) -> Graph:
    fmt = model_format(path)
    try:
        if fmt == "tflite":
            from .tflite_reader import read_tflite  # noqa: PLC0415

            return read_tflite(path, input_shapes)
        from .onnx_reader import read_onnx  # noqa: PLC0415

        return read_onnx(path, input_shapes)
    except CostModelError:
        raise
    except Exception as exc:  # a damaged file trips the parsers in many ways: one clear line for all of them
        raise malformed(path, exc) from exc


def input_names(path: str | os.PathLike[str]) -> list[str]:
    """Names of the inputs a model is fed at run time (no shape inference, no weights read)."""
    if model_format(path) == "tflite":
        from .tflite_reader import schema  # noqa: PLC0415

        s = schema()
        model = s.Model.GetRootAs(Path(path).read_bytes(), 0)
        sg = model.Subgraphs(0)
        return [(sg.Tensors(sg.Inputs(i)).Name() or b"").decode("utf-8", "replace") for i in range(sg.InputsLength())]
    import onnx  # noqa: PLC0415

    graph = onnx.load(str(path), load_external_data=False).graph
    weights = {t.name for t in graph.initializer}
    return [vi.name for vi in graph.input if vi.name not in weights]
