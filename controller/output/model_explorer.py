"""`bench --per-op --model-explorer FILE`: per-node overlays for Google's Model Explorer.

Model Explorer reads "node data" JSON: one figure per node of one graph, `{"results": {KEY: {"value": N}},
...}` with an optional colour `gradient` (GraphNodeData in its `model_explorer/node_data_builder.py`). KEY is
a node's id or one of its output tensor names; edgebench writes output tensor names, which every adapter
(TFLite flatbuffer, ONNX) shows in a node's outputs metadata, where node ids are each adapter's own numbering.
One file holds one figure, so three are written: the error (FILE), the measured and the predicted times.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..atomic_write import write_atomic
from ..errors import ControllerError
from ..records import RunRecord
from .per_op import node_figures

# Blue where the prediction is under the measurement, white where they agree, red where it is over.
ERROR_GRADIENT = [{"stop": 0.0, "bgColor": "#4f83cc"}, {"stop": 0.5, "bgColor": "#ffffff"},
                  {"stop": 1.0, "bgColor": "#e05252"}]
TIME_GRADIENT = [{"stop": 0.0, "bgColor": "#ffffff"}, {"stop": 1.0, "bgColor": "#e8883a"}]


def node_data(name: str, values: dict[str, float], gradient: list[dict[str, Any]]) -> dict[str, Any]:
    """One GraphNodeData document."""
    return {"name": name, "results": {key: {"value": round(v, 6)} for key, v in values.items()},
            "gradient": gradient}


def overlay_files(path: Path) -> tuple[Path, Path, Path]:
    stem = path.name.removesuffix(".json")
    return path, path.with_name(f"{stem}.measured.json"), path.with_name(f"{stem}.predicted.json")


def write_model_explorer(records: Sequence[RunRecord], path: Path) -> list[str]:
    """Write the overlays of the first run that has per-node figures; lines saying what was written."""
    for r in records:
        figures = node_figures(r)
        if figures is None or not figures.measured_ms:
            continue
        errors = {k: (figures.predicted_ms[k] - m) / m * 100 for k, m in figures.measured_ms.items()
                  if m > 0 and k in figures.predicted_ms}
        label = f"{r.model.name} threads={r.threads}"
        docs = [node_data(f"{label}: error % (predicted vs measured)", errors, _symmetric(errors)),
                node_data(f"{label}: measured ms", figures.measured_ms, TIME_GRADIENT),
                node_data(f"{label}: predicted ms", figures.predicted_ms, TIME_GRADIENT)]
        written = []
        for out, doc in zip(overlay_files(path), docs, strict=True):
            try:
                write_atomic(out, json.dumps(doc, indent=1) + "\n")
            except OSError as exc:
                raise ControllerError(f"cannot write the Model Explorer overlay {out}: {exc.strerror or exc}") from None
            written.append(str(out))
        return [f"Model Explorer overlays of {label} ({len(figures.measured_ms)} nodes, keyed by output tensor; "
                f"{figures.measured_what}): {', '.join(written)} (load them in Model Explorer with the model)"]
    raise ControllerError("--model-explorer: no run has per-node measured figures to overlay "
                          "(the runs failed, or the runtime gave no per-node times)")


def _symmetric(errors: dict[str, float]) -> list[dict[str, Any]]:
    # The gradient spans min..max of the values: put white at 0 % by mapping the colours onto that span.
    low, high = min(errors.values(), default=0.0), max(errors.values(), default=0.0)
    white, blue, red = ERROR_GRADIENT[1]["bgColor"], ERROR_GRADIENT[0]["bgColor"], ERROR_GRADIENT[2]["bgColor"]
    if low >= 0:  # every prediction over (or at) the measurement: white to red
        return [{"stop": 0.0, "bgColor": white}, {"stop": 1.0, "bgColor": red}]
    if high <= 0:
        return [{"stop": 0.0, "bgColor": blue}, {"stop": 1.0, "bgColor": white}]
    zero = -low / (high - low)
    return [ERROR_GRADIENT[0], {"stop": round(zero, 4), "bgColor": "#ffffff"}, ERROR_GRADIENT[2]]
