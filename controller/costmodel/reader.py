"""Pick the reader for a model file by its first bytes (the agent's rule, edgebench.agent.model_format)."""
from __future__ import annotations

import os
from pathlib import Path

from edgebench.agent.model_format import TFLITE, sniff_file

from .errors import CostModelError
from .ir import Graph
from .onnx_reader import read_onnx
from .shapes import InputShapes
from .tflite_reader import read_tflite, schema


def model_format(path: str | os.PathLike[str]) -> str:
    """"onnx" or "tflite"; a file that is neither is refused here, with the reason, before a parser sees it."""
    path = Path(path)
    if not path.is_file():
        raise CostModelError(f"{path}: no such model file")
    sniffed = sniff_file(path)
    if sniffed.format is None:
        raise CostModelError(f"{path.name}: {sniffed.reason}")
    return sniffed.format


def malformed(path: str | os.PathLike[str], exc: Exception) -> CostModelError:
    detail = " ".join(str(exc).split())[:200]
    return CostModelError(f"{Path(path).name}: the model is malformed or uses a construct the cost model cannot "
                          f"read ({type(exc).__name__}: {detail})")


def read_model(path: str | os.PathLike[str], input_shapes: InputShapes | None = None) -> Graph:
    fmt = model_format(path)
    try:
        if fmt == TFLITE:
            return read_tflite(path, input_shapes)
        return read_onnx(path, input_shapes)
    except CostModelError:
        raise
    except Exception as exc:  # a damaged file trips the parsers in many ways: one clear line for all of them
        raise malformed(path, exc) from exc


def input_names(path: str | os.PathLike[str]) -> list[str]:
    """Names of the inputs a model is fed at run time (no shape inference, no weights read)."""
    if model_format(path) == TFLITE:
        s = schema()
        model = s.Model.GetRootAs(Path(path).read_bytes(), 0)
        sg = model.Subgraphs(0)
        return [(sg.Tensors(sg.Inputs(i)).Name() or b"").decode("utf-8", "replace") for i in range(sg.InputsLength())]
    import onnx  # noqa: PLC0415  (heavy, and only ONNX models need it)

    graph = onnx.load(str(path), load_external_data=False).graph
    weights = {t.name for t in graph.initializer}
    return [vi.name for vi in graph.input if vi.name not in weights]
