"""onnxruntime plug-in. Imported only inside the worker process, never by the idle agent."""
from __future__ import annotations

import bisect
import glob
import json
import os
import statistics
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
        if options.inter_op_threads:
            so.inter_op_num_threads = options.inter_op_threads
            if options.inter_op_threads > 1:  # the sequential executor never uses the inter-op pool
                so.execution_mode = ort.ExecutionMode.ORT_PARALLEL
        so.log_severity_level = 3
        level = options.graph_optimization_level
        if level:
            member = getattr(ort.GraphOptimizationLevel, OPTIMIZATION_LEVELS.get(level, ""), None)
            if member is None:
                raise ModelError(f"graph optimization level {level!r} is not known to onnxruntime "
                                 f"{ort.__version__} (known: {', '.join(OPTIMIZATION_LEVELS)})")
            so.graph_optimization_level = member
        first: Any = (requested, dict(options.provider_options)) if options.provider_options else requested
        providers = [first] if requested == "CPUExecutionProvider" else [first, "CPUExecutionProvider"]
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
        elif options.provider_options:
            # onnxruntime drops options its provider does not know without a word: report what it kept.
            kept = session.get_provider_options().get(requested, {})
            ignored = sorted(k for k in options.provider_options if k not in kept)
            if ignored:
                self.warnings.append(f"{requested} did not take provider option(s) {', '.join(ignored)} "
                                     f"(its session reports: {', '.join(f'{k}={v}' for k, v in kept.items()) or 'none'})")
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

    def op_profile(self, skip_runs: int = 0) -> list[OpTiming]:
        if not self._options.profile_ops:
            return []
        path = self._session.end_profiling()
        pattern = os.path.join(self._options.profile_dir or ".", self._options.profile_prefix + "*.json")
        try:
            return _parse_ort_profile(path, pattern, skip_runs)
        finally:  # a batch of hundreds of profiled items must not fill the job dir
            for leftover in glob.glob(pattern):
                os.unlink(leftover)

    def close(self) -> None:
        self._session = None


def _parse_ort_profile(path: str, pattern: str = "", skip_runs: int = 0) -> list[OpTiming]:
    """Per-node kernel times from an ORT chrome-trace profile (`*_kernel_time` events): the mean over every
    run, and the median over the runs after the first `skip_runs` (each `model_run` event is one inference).
    When `path` is gone, the newest file matching `pattern` is read instead."""
    if not path or not os.path.exists(path):
        candidates = sorted(glob.glob(pattern)) if pattern else []
        if not candidates:
            return []
        path = candidates[-1]
    with open(path) as f:
        events = json.load(f)
    runs = sorted((float(ev.get("ts", 0)), float(ev.get("ts", 0)) + float(ev.get("dur", 0))) for ev in events
                  if ev.get("cat") == "Session" and ev.get("name") == "model_run")
    starts = [start for start, _ in runs]
    # Keyed by name and node index: the optimizer may give several nodes one name ("ReorderOutput").
    nodes: dict[tuple[str, str], dict] = {}
    first_seen: dict[tuple[str, str], tuple[int, float]] = {}
    for ev in events:
        if ev.get("cat") != "Node" or not ev.get("name", "").endswith("_kernel_time"):
            continue
        args = ev.get("args", {})
        name = ev["name"][: -len("_kernel_time")]
        ts, dur = float(ev.get("ts", 0)), float(ev.get("dur", 0))
        run = bisect.bisect_right(starts, ts) - 1  # the inference this kernel ran in (-1: before any)
        node = (name, str(args.get("node_index", "")))
        entry = nodes.setdefault(node, {"op": args.get("op_name", ""), "provider": args.get("provider", ""),
                                        "total": 0.0, "count": 0, "steady": {}})
        entry["total"] += dur
        entry["count"] += 1
        if run >= skip_runs:  # a node may run several kernels per inference: sum them per run
            entry["steady"][run] = entry["steady"].get(run, 0.0) + dur
        key = (run, ts)
        if node not in first_seen or key < first_seen[node]:
            first_seen[node] = key
    order = {node: i for i, node in enumerate(sorted(first_seen, key=lambda n: first_seen[n]))}
    out = []
    for (name, index), e in nodes.items():
        steady = list(e["steady"].values())
        out.append(OpTiming(name, e["op"], e["provider"], e["total"] / e["count"], e["count"],
                            statistics.median(steady) if steady else 0.0, len(steady), order.get((name, index), 0)))
    return out
