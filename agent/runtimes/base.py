"""The runtime plug-in interface: one small class per inference engine.

A runtime loads a model file into a `LoadedModel`; the worker binds inputs once and then calls
`invoke()` in its timed loop, so whatever a runtime does per call is exactly what gets measured.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class ModelError(Exception):
    """The model file or the job's inputs are unusable: one clear line for the user."""


@dataclass
class TensorSpec:
    name: str
    dtype: str  # numpy dtype name: "float32", "int8", ...
    # Declared dims; None (or a symbolic name as str) where the model leaves it dynamic.
    shape: list[int | str | None]
    # (scale, zero_point) for quantized tensors, else None.
    quantization: tuple[float, int] | None = None


@dataclass
class LoadOptions:
    threads: int = 0  # 0: runtime default
    execution_provider: str = ""  # "" means the runtime's default
    delegate_path: str = ""
    delegate_options: dict[str, str] = field(default_factory=dict)
    profile_ops: bool = False
    profile_dir: str = ""
    profile_prefix: str = "ort_profile"  # one per batch item: their profiles never mix
    graph_optimization_level: str = ""  # onnxruntime: "" (its default), disable, basic, extended, layout, all
    provider_options: dict[str, str] = field(default_factory=dict)  # onnxruntime: the requested provider's
    inter_op_threads: int = 0  # onnxruntime: inter-op pool size (0: its default); > 1: the parallel executor


@dataclass
class OpTiming:
    node_name: str
    op_type: str
    provider: str
    mean_us: float
    count: int
    median_us: float = 0.0  # steady-state runs only (0 when there were none)
    steady_count: int = 0
    order: int = 0  # position of the node's first kernel in an inference


class LoadedModel(ABC):
    """A model ready to run. `bind_inputs` once, then `invoke` as often as the loop needs."""

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    warnings: list[str]
    provider_requested: str  # the resolved name of what was asked for ("CPUExecutionProvider", "xnnpack")

    @abstractmethod
    def resize_inputs(self, shapes: dict[str, Sequence[int]]) -> None:
        """Fix dynamic dims before binding (TFLite needs this before allocation)."""

    @abstractmethod
    def bind_inputs(self, feeds: dict[str, Any]) -> None: ...

    @abstractmethod
    def invoke(self) -> None:
        """One inference on the bound inputs."""

    @abstractmethod
    def providers_used(self) -> list[str]:
        """What really executed: ORT providers after fallback, TFLite delegates applied."""

    def output_specs(self) -> list[TensorSpec]:
        return self.outputs

    def op_profile(self, skip_runs: int = 0) -> list[OpTiming]:
        """Per-op timings when profiling was asked for and the runtime supports it; the first `skip_runs`
        inferences (first inference and warm-up) are left out of the steady-state medians."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook, most runtimes free on garbage collection
        """Release the runtime's resources."""


class Runtime(ABC):
    name: str  # "onnxruntime" / "tflite"

    @abstractmethod
    def version(self) -> str: ...

    @abstractmethod
    def available_providers(self) -> list[str]: ...

    @abstractmethod
    def load(self, model_path: str, options: LoadOptions) -> LoadedModel: ...

    def write_optimized_graph(self, model_path: str, options: LoadOptions, out_path: str) -> bytes | None:
        """The graph as this runtime optimizes it for `options` (written at `out_path`), or None where the
        runtime has no such graph. Called in its own untimed session, before the measured load."""
        return None
