"""onnxruntime plug-in. Imported only inside the worker process, never by the idle agent."""
from __future__ import annotations

import glob
import json
import os
from collections.abc import Sequence
from typing import Any

from .base import LoadedModel, LoadOptions, ModelError, OpTiming, Runtime, TensorSpec

# ORT type strings -> numpy dtype names.
_ORT_TYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(int16)": "int16", "tensor(uint16)": "uint16",
    "tensor(int32)": "int32", "tensor(uint32)": "uint32", "tensor(int64)": "int64", "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
}

# Short names a user types on the command line -> ORT provider names.
_SHORT_PROVIDER_NAMES = {
    "cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider", "openvino": "OpenVINOExecutionProvider",
    "xnnpack": "XnnpackExecutionProvider", "acl": "ACLExecutionProvider", "armnn": "ArmNNExecutionProvider",
    "qnn": "QNNExecutionProvider", "coreml": "CoreMLExecutionProvider", "dnnl": "DnnlExecutionProvider",
    "rocm": "ROCMExecutionProvider", "migraphx": "MIGraphXExecutionProvider",
}


# JobSpec.graph_optimization_level -> the name of onnxruntime's GraphOptimizationLevel member ("" is its default).
OPTIMIZATION_LEVELS = {
    "disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
    "layout": "ORT_ENABLE_LAYOUT", "all": "ORT_ENABLE_ALL",
}
# The optimized graph's initializers this large or larger go to a side file that is never returned: the graph
# stays small, and the small constants a reader needs for shapes (Reshape targets, axes) stay inline.
EXTERNAL_INITIALIZER_MIN_BYTES = 1024
OPTIMIZED_WEIGHTS_FILE = "optimized.weights"


def provider_name(name: str) -> str:
    """Map `cuda` or `CUDAExecutionProvider` to ORT's provider name."""
    if not name:
        return "CPUExecutionProvider"
    return _SHORT_PROVIDER_NAMES.get(name.lower(), name)


def _dtype(ort_type: str) -> str:
    return _ORT_TYPES.get(ort_type, ort_type)


def _dims(shape: Sequence[Any]) -> list[int | str | None]:
    # ORT reports a dynamic dim as None or as its symbolic name (str).
    return [d if isinstance(d, (int, str)) else None for d in shape]


class OnnxRuntime(Runtime):
    name = "onnxruntime"

    def __init__(self) -> None:
        import onnxruntime as ort

        self._ort = ort

    def version(self) -> str:
        return self._ort.__version__

    def available_providers(self) -> list[str]:
        return list(self._ort.get_available_providers())

    def _session_options(self, options: LoadOptions) -> tuple[Any, str, list[str]]:
        """SessionOptions, the requested provider and the provider list: the same for both sessions of a job."""
        ort = self._ort
        requested = provider_name(options.execution_provider)
        available = self.available_providers()
        if requested not in available:
            raise ModelError(
                f"execution provider {requested} is not available in onnxruntime {ort.__version__} "
                f"on this board (available: {', '.join(available)})"
            )
        so = ort.SessionOptions()
        if options.threads:
            so.intra_op_num_threads = options.threads
        so.log_severity_level = 3
        level = options.graph_optimization_level
        if level:
            member = getattr(ort.GraphOptimizationLevel, OPTIMIZATION_LEVELS.get(level, ""), None)
            if member is None:
                raise ModelError(f"graph optimization level {level!r} is not known to onnxruntime "
                                 f"{ort.__version__} (known: {', '.join(OPTIMIZATION_LEVELS)})")
            so.graph_optimization_level = member
        providers = [requested] if requested == "CPUExecutionProvider" else [requested, "CPUExecutionProvider"]
        return so, requested, providers

    def load(self, model_path: str, options: LoadOptions) -> LoadedModel:
        so, requested, providers = self._session_options(options)
        if options.profile_ops:
            so.enable_profiling = True
            so.profile_file_prefix = os.path.join(options.profile_dir or ".", options.profile_prefix)
        try:
            session = self._ort.InferenceSession(model_path, sess_options=so, providers=providers)
        except Exception as exc:  # ORT raises several exception types; all mean "cannot load"
            raise ModelError(f"onnxruntime cannot load the model: {_first_line(exc)}") from exc
        return OnnxLoadedModel(session, requested, options)

    def write_optimized_graph(self, model_path: str, options: LoadOptions, out_path: str) -> bytes | None:
        so, _, providers = self._session_options(options)
        so.optimized_model_filepath = out_path
        # Relative to the graph's directory; the weights file is deleted below, the graph keeps the references.
        so.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                    OPTIMIZED_WEIGHTS_FILE)
        so.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes",
                                    str(EXTERNAL_INITIALIZER_MIN_BYTES))
        weights = os.path.join(os.path.dirname(out_path), OPTIMIZED_WEIGHTS_FILE)
        try:
            session = self._ort.InferenceSession(model_path, sess_options=so, providers=providers)
            del session  # only its side effect, the written graph, is wanted
            with open(out_path, "rb") as f:
                return f.read()
        except Exception as exc:
            raise ModelError(f"onnxruntime cannot write the optimized graph: {_first_line(exc)}") from exc
        finally:
            for path in (out_path, weights):
                try:
                    os.unlink(path)
                except OSError:
                    pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    # ORT prefixes messages with "[ONNXRuntimeError] : 10 : INVALID_GRAPH : "; keep the useful tail.
    return " ".join(text.split())[:500]


class OnnxLoadedModel(LoadedModel):
    def __init__(self, session: Any, requested: str, options: LoadOptions) -> None:
        self._session = session
        self.provider_requested = requested
        self._options = options
        self._feeds: dict[str, Any] = {}
        self.inputs = [TensorSpec(i.name, _dtype(i.type), _dims(i.shape)) for i in session.get_inputs()]
        self.outputs = [TensorSpec(o.name, _dtype(o.type), _dims(o.shape)) for o in session.get_outputs()]
        self.warnings = []
        used = session.get_providers()
        if requested not in used:  # ORT falls back to CPU silently: say it
            self.warnings.append(f"{requested} was requested but onnxruntime ran on {', '.join(used)}")
        self._profile_path: str | None = None

    def resize_inputs(self, shapes: dict[str, Sequence[int]]) -> None:
        pass  # ORT takes any shape at run time; the worker validates against the declared dims.

    def bind_inputs(self, feeds: dict[str, Any]) -> None:
        self._feeds = feeds

    def invoke(self) -> None:
        try:
            self._session.run(None, self._feeds)
        except Exception as exc:
            raise ModelError(f"onnxruntime failed to run the model: {_first_line(exc)}") from exc

    def output_specs(self) -> list[TensorSpec]:
        # Shapes of the outputs actually produced are only known after a run.
        return self.outputs

    def providers_used(self) -> list[str]:
        return list(self._session.get_providers())

    def op_profile(self) -> list[OpTiming]:
        if not self._options.profile_ops:
            return []
        path = self._session.end_profiling()
        pattern = os.path.join(self._options.profile_dir or ".", self._options.profile_prefix + "*.json")
        try:
            return _parse_ort_profile(path, pattern)
        finally:  # a batch of hundreds of profiled items must not fill the job dir
            for leftover in glob.glob(pattern):
                os.unlink(leftover)

    def close(self) -> None:
        self._session = None


def _parse_ort_profile(path: str, pattern: str = "") -> list[OpTiming]:
    """Mean kernel time per node from an ORT chrome-trace profile (`*_kernel_time` events); when `path` is
    missing, the newest file matching `pattern` (default: any ort_profile*.json beside it)."""
    if not path or not os.path.exists(path):
        pattern = pattern or os.path.join(os.path.dirname(path or "."), "ort_profile*.json")
        candidates = sorted(glob.glob(pattern))
        if not candidates:
            return []
        path = candidates[-1]
    with open(path) as f:
        events = json.load(f)
    totals: dict[str, list] = {}
    for ev in events:
        if ev.get("cat") != "Node" or not ev.get("name", "").endswith("_kernel_time"):
            continue
        args = ev.get("args", {})
        node = ev["name"][: -len("_kernel_time")]
        entry = totals.setdefault(node, [args.get("op_name", ""), args.get("provider", ""), 0.0, 0])
        entry[2] += float(ev.get("dur", 0))
        entry[3] += 1
    return [OpTiming(node, op, prov, total / count, count) for node, (op, prov, total, count) in totals.items()]
