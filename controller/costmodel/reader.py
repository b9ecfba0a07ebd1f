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
    return [name for name, _ in model_inputs(path)]


def model_inputs(path: str | os.PathLike[str]) -> list[tuple[str, list[int | str | None]]]:
    """The inputs a model is fed at run time with their declared dims (an int, or the symbolic name / None of
    a dynamic one), as the runtimes report them; no shape inference. A file the parsers trip on is malformed."""
    try:
        if model_format(path) == TFLITE:
            s = schema()
            model = s.Model.GetRootAs(Path(path).read_bytes(), 0)
            sg = model.Subgraphs(0)
            out: list[tuple[str, list[int | str | None]]] = []
            for i in range(sg.InputsLength()):
                t = sg.Tensors(sg.Inputs(i))
                dims = [int(d) for d in (t.ShapeSignatureAsNumpy() if t.ShapeSignatureLength() else
                                         t.ShapeAsNumpy() if t.ShapeLength() else [])]
                out.append(((t.Name() or b"").decode("utf-8", "replace"), [d if d >= 0 else None for d in dims]))
            return out
        import onnx  # noqa: PLC0415  (heavy, and only ONNX models need it)

        graph = onnx.load(str(path), load_external_data=False).graph
    except CostModelError:
        raise
    except Exception as exc:
        raise malformed(path, exc) from exc
    weights = {t.name for t in graph.initializer}
    return [(vi.name, [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                       for d in vi.type.tensor_type.shape.dim])
            for vi in graph.input if vi.name not in weights]
