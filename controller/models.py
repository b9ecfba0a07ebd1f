"""Model arguments as a user gives them, a file path or a built-in `zoo:NAME`, resolved to a file once for
every command (bench, calibrate, predict, regress)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgebench.agent.model_format import TFLITE, sniff_file

from . import zoo
from .errors import ControllerError
from .zoo import ZOO_PREFIX


@dataclass(frozen=True)
class ModelArg:
    text: str  # as typed
    name: str  # the zoo name, else the file's stem
    path: Path
    format: str  # ONNX / TFLITE

    @property
    def is_zoo(self) -> bool:
        return self.text.startswith(ZOO_PREFIX)


def model_format(path: Path, text: str = "") -> str:
    """ONNX or TFLite by the file's first bytes (the agent's rule). A file the rule cannot place (a .txt, an
    empty file, a .tflite without its identifier) is refused here, before any upload."""
    try:
        sniffed = sniff_file(path)
    except OSError as exc:
        raise ControllerError(f"cannot read the model file {text or path}: {exc.strerror or exc}") from None
    if sniffed.format is None:
        raise ControllerError(f"{text or path} is not a model: {sniffed.reason}")
    return sniffed.format


def resolve_model(text: str) -> ModelArg:
    """The file for a model argument; `zoo:NAME` is built into the zoo's cache on first use."""
    if text.startswith(ZOO_PREFIX):
        try:
            path = zoo.resolve(text)
        except ValueError as exc:
            raise ControllerError(str(exc)) from None
        name = text[len(ZOO_PREFIX):]
    else:
        path = Path(text).expanduser()
        if not path.is_file():
            raise ControllerError(f"model file not found: {text}")
        name = path.stem
    return ModelArg(text, name, path, model_format(path, text))


def runtime_for(model: ModelArg, requested: str) -> str:
    if requested and requested != "auto":
        return requested
    return "tflite" if model.format == TFLITE else "onnxruntime"
