"""TFLite plug-in: LiteRT (`ai-edge-litert`) first, `tflite-runtime` as the fallback for NumPy < 2 boards.

Imported only inside the worker process.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model_format import ONNX, TFLITE, sniff_file
from .base import LoadedModel, LoadOptions, ModelError, Runtime, TensorSpec


def import_interpreter_module() -> tuple[Any, str]:
    """The interpreter module and the distribution it came from."""
    try:
        from ai_edge_litert import interpreter as module

        return module, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime import interpreter as module  # type: ignore[no-redef]

        return module, "tflite-runtime"
    except ImportError as exc:
        raise ImportError("no TFLite runtime: install ai-edge-litert (or tflite-runtime 2.14 with NumPy < 2)") from exc


def check_tflite_file(model_path: str) -> None:
    """Refuse what is not a TFLite flatbuffer before the C++ loader sees it (it may abort on garbage)."""
    sniffed = sniff_file(model_path)
    if sniffed.format != TFLITE:
        hint = " (it looks like an ONNX model: use --runtime onnxruntime)" if sniffed.format == ONNX else ""
        raise ModelError(f"not a TFLite model: no 'TFL3' file identifier{hint}")


class TfliteRuntime(Runtime):
    name = "tflite"

    def __init__(self) -> None:
        self._module, self.package = import_interpreter_module()

    def version(self) -> str:
        from importlib import metadata

        try:
            return metadata.version(self.package)
        except metadata.PackageNotFoundError:
            return "unknown"

    def available_providers(self) -> list[str]:
        # XNNPACK is built into both wheels; "external" loads a delegate .so by path.
        return ["xnnpack", "none", "external"]

    def load(self, model_path: str, options: LoadOptions) -> LoadedModel:
        check_tflite_file(model_path)
        module = self._module
        delegate = (options.execution_provider or "xnnpack").lower()
        kwargs: dict[str, Any] = {"model_path": model_path}
        if options.threads:
            kwargs["num_threads"] = options.threads
        delegates_used: list[str]
        if delegate == "xnnpack":
            delegates_used = ["xnnpack"]
        elif delegate == "none":
            kwargs["experimental_op_resolver_type"] = module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            delegates_used = ["builtin-cpu"]
        elif delegate == "external" or options.delegate_path:
            if not options.delegate_path:
                raise ModelError("the external delegate needs a path to its .so (--delegate-path)")
            try:
                loaded = module.load_delegate(options.delegate_path, dict(options.delegate_options))
            except (ValueError, OSError, RuntimeError) as exc:
                raise ModelError(f"cannot load TFLite delegate {options.delegate_path}: {exc}") from exc
            kwargs["experimental_delegates"] = [loaded]
            delegates_used = [f"external:{options.delegate_path}"]
        else:
            raise ModelError(f"unknown TFLite delegate {delegate!r} (use xnnpack, none or external)")
        try:
            interpreter = module.Interpreter(**kwargs)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"TFLite cannot load the model: {' '.join(str(exc).split())[:500]}") from exc
        return TfliteLoadedModel(interpreter, delegate, delegates_used)


def _spec(detail: dict) -> TensorSpec:
    signature = list(detail.get("shape_signature", detail["shape"]))
    shape: list[int | str | None] = [None if d < 0 else int(d) for d in signature]
    scale, zero_point = detail.get("quantization", (0.0, 0))
    quant = (float(scale), int(zero_point)) if scale else None
    return TensorSpec(detail["name"], detail["dtype"].__name__ if hasattr(detail["dtype"], "__name__")
                      else str(detail["dtype"]), shape, quant)


class TfliteLoadedModel(LoadedModel):
    def __init__(self, interpreter: Any, requested: str, delegates_used: list[str]) -> None:
        self._interp = interpreter
        self.provider_requested = requested
        self._delegates = delegates_used
        self._input_index = {d["name"]: d["index"] for d in interpreter.get_input_details()}
        self.inputs = [_spec(d) for d in interpreter.get_input_details()]
        self.outputs = [_spec(d) for d in interpreter.get_output_details()]
        self.warnings = []
        self._allocated = False

    def resize_inputs(self, shapes: dict[str, Sequence[int]]) -> None:
        for name, dims in shapes.items():
            self._interp.resize_tensor_input(self._input_index[name], list(dims), strict=False)
        self._allocate()

    def _allocate(self) -> None:
        try:
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"TFLite cannot prepare the model: {' '.join(str(exc).split())[:500]}") from exc
        self._allocated = True

    def bind_inputs(self, feeds: dict[str, Any]) -> None:
        if not self._allocated:
            self._allocate()
        for name, value in feeds.items():
            try:
                self._interp.set_tensor(self._input_index[name], value)
            except ValueError as exc:
                raise ModelError(f"input {name!r}: {exc}") from exc

    def invoke(self) -> None:
        try:
            self._interp.invoke()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"TFLite failed to run the model: {' '.join(str(exc).split())[:500]}") from exc

    def output_specs(self) -> list[TensorSpec]:
        return [_spec(d) for d in self._interp.get_output_details()]

    def providers_used(self) -> list[str]:
        return list(self._delegates)

    def close(self) -> None:
        self._interp = None
