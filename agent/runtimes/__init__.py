"""Runtime plug-ins, looked up by name. Nothing heavy is imported until `get_runtime` is called."""
from __future__ import annotations

from .base import LoadedModel, LoadOptions, ModelError, Runtime, TensorSpec

RUNTIME_NAMES = ("onnxruntime", "tflite")


def get_runtime(name: str) -> Runtime:
    if name == "onnxruntime":
        from .onnxruntime_runtime import OnnxRuntime

        return OnnxRuntime()
    if name == "tflite":
        from .tflite_runtime import TfliteRuntime

        return TfliteRuntime()
    raise ModelError(f"unknown runtime {name!r} (known: {', '.join(RUNTIME_NAMES)})")


__all__ = ["RUNTIME_NAMES", "LoadOptions", "LoadedModel", "ModelError", "Runtime", "TensorSpec", "get_runtime"]
