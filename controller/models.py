"""Model arguments as a user gives them: a file path or a built-in `zoo:NAME`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ControllerError

TFLITE_IDENTIFIER = b"TFL3"


@dataclass
class ModelArg:
    text: str  # as typed
    name: str
    path: Path
    format: str  # "onnx" / "tflite"


def detect_format(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(8)
    if head[4:8] == TFLITE_IDENTIFIER:
        return "tflite"
    if path.suffix.lower() == ".tflite":
        return "tflite"  # claims to be TFLite: let the agent say precisely what is wrong with it
    return "onnx"


def resolve_model(text: str) -> ModelArg:
    if text.startswith("zoo:"):
        from . import zoo

        try:
            path = zoo.resolve(text)
        except ValueError as exc:
            raise ControllerError(str(exc)) from None
        name = text[len("zoo:"):]
    else:
        path = Path(text).expanduser()
        if not path.is_file():
            raise ControllerError(f"model file not found: {text}")
        name = path.stem
    return ModelArg(text, name, path, detect_format(path))


def runtime_for(model: ModelArg, requested: str) -> str:
    if requested and requested != "auto":
        return requested
    return "tflite" if model.format == "tflite" else "onnxruntime"
