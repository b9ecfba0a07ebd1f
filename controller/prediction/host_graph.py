"""onnxruntime's optimized graph of a model made on this host, for `predict` without a board.

The kernel-level cost model reads the graph onnxruntime runs. `bench` gets it from the board's own
onnxruntime; offline, this host's onnxruntime writes it, with the same code the agent's worker uses. Its
layout optimizations are the host CPU's (x86's NCHWc blocking has no counterpart on ARM), so a profile of a
board of another architecture is predicted from the graph at level "extended", which stops before them.
"""
from __future__ import annotations

import os
import platform
import tempfile
from dataclasses import dataclass


@dataclass
class HostGraph:
    model: bytes
    level: str
    note: str  # how it relates to the board's own graph ("" when it is the same)


def host_optimized_graph(model_path: str | os.PathLike[str], board_machine: str, board_version: str,
                         threads: int = 1) -> HostGraph:
    from edgebench.agent.runtimes.base import LoadOptions, ModelError  # the worker's own code path
    from edgebench.agent.runtimes.onnxruntime_runtime import OnnxRuntime

    from ..costmodel import CostModelError

    runtime = OnnxRuntime()
    same_arch = not board_machine or board_machine == platform.machine()
    level = "all" if same_arch else "extended"
    notes = []
    if not same_arch:
        notes.append(f"optimized on this {platform.machine()} host at level extended (the {board_machine} board's "
                     "own optimizer may lay kernels out differently)")
    if board_version and runtime.version() != board_version:
        notes.append(f"optimized by onnxruntime {runtime.version()} here; the board runs {board_version}")
    with tempfile.TemporaryDirectory(prefix="edgebench-host-graph-") as tmp:
        try:
            data = runtime.write_optimized_graph(str(model_path), LoadOptions(threads=threads,
                                                 graph_optimization_level=level),
                                                 os.path.join(tmp, "optimized.onnx"))
        except ModelError as exc:
            raise CostModelError(f"{os.path.basename(str(model_path))}: {exc}") from None
    return HostGraph(data or b"", level, "; ".join(notes))
