"""Kernel measurements kept per board, runtime, runtime version, EP / delegate, dtype and thread count.

A second `calibrate` of the same board measures only what is missing (a new suite version, a new runtime
version, another thread count); `--remeasure` ignores what is kept. One JSON file per cell, written
atomically, in the data directory beside the board's profile:

    <data dir>/kernels/<fingerprint>/<runtime>-<version>-<ep>-<dtype>-t<threads>.json
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..atomic_write import write_atomic
from ..costmodel.kernels import Kernel
from ..paths import data_dir
from .kernel_fit import KernelSample

SUITE_VERSION = 2  # bump when generated kernel models change: older measurements are then not reused


@dataclass(frozen=True)
class Cell:
    """What one set of kernel measurements is valid for."""

    fingerprint: str
    runtime: str  # "onnxruntime" / "tflite"
    runtime_version: str
    ep: str  # "CPUExecutionProvider", "xnnpack", ...
    dtype: str  # "fp32" / "int8" / "fp16"
    threads: int

    @property
    def file_name(self) -> str:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{self.runtime}-{self.runtime_version}-{self.ep}-{self.dtype}")
        return f"{safe}-t{self.threads}.json"


@dataclass
class ModelTiming:
    """A whole suite model measured end to end (unprofiled): composition and memory are fitted on these."""

    source: str  # suite key
    latency_us: float  # median
    kernels: list[Kernel]
    peak_rss_load_kib: int = 0
    peak_rss_steady_kib: int = 0
    rss_before_load_kib: int = 0
    weight_bytes: int = 0  # as the runtime holds them (the executed graph's initializers)
    file_weight_bytes: int = 0
    activation_bytes: int = 0
    int_weight_bytes: int = 0  # the integer part of weight_bytes (quantized weights, int32 biases)


@dataclass
class CellMeasurements:
    cell: Cell
    samples: list[KernelSample] = field(default_factory=list)
    models: list[ModelTiming] = field(default_factory=list)
    measured_keys: set[str] = field(default_factory=set)  # suite keys measured (some yield no kernel sample)
    noisy_keys: set[str] = field(default_factory=set)  # re-measured because their runs spread too much

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite_version": SUITE_VERSION,
            "cell": asdict(self.cell),
            "measured_keys": sorted(self.measured_keys),
            "noisy_keys": sorted(self.noisy_keys),
            "samples": [{"source": s.source, "time_us": s.time_us, "kernel": _kernel_dict(s.kernel)}
                        for s in self.samples],
            "models": [{**{k: v for k, v in asdict(m).items() if k != "kernels"},
                        "kernels": [_kernel_dict(k) for k in m.kernels]} for m in self.models],
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> CellMeasurements:
        cell = Cell(**d["cell"])
        out = CellMeasurements(cell, measured_keys=set(d.get("measured_keys", [])),
                               noisy_keys=set(d.get("noisy_keys", [])))
        out.samples = [KernelSample(_kernel(s["kernel"]), float(s["time_us"]), s.get("source", ""))
                       for s in d.get("samples", [])]
        for m in d.get("models", []):
            fields = {k: v for k, v in m.items() if k != "kernels"}
            out.models.append(ModelTiming(**fields, kernels=[_kernel(k) for k in m["kernels"]]))
        return out


def _kernel_dict(k: Kernel) -> dict[str, Any]:
    return {"name": k.name, "op_type": k.op_type, "domain": k.domain, "key": k.key, "ops": k.ops, "bytes": k.bytes,
            "features": k.features, "counted": k.counted, "kind": k.kind, "variant": k.variant}


def _kernel(d: dict[str, Any]) -> Kernel:
    return Kernel(d["name"], d["op_type"], d["domain"], d["key"], float(d["ops"]), float(d["bytes"]),
                  {k: float(v) for k, v in d["features"].items()}, bool(d.get("counted", True)), d.get("kind", ""),
                  d.get("variant", ""))


def cell_path(cell: Cell, root: Path | None = None) -> Path:
    base = root if root is not None else data_dir()
    return base / "kernels" / re.sub(r"[^A-Za-z0-9._-]+", "_", cell.fingerprint) / cell.file_name


def load_cell(cell: Cell, root: Path | None = None) -> CellMeasurements:
    """What is kept for `cell`, or an empty record (also when the file is from another suite version or
    unreadable: measuring again is always safe)."""
    path = cell_path(cell, root)
    try:
        data = json.loads(path.read_text())
        if data.get("suite_version") != SUITE_VERSION:
            return CellMeasurements(cell)
        loaded = CellMeasurements.from_dict(data)
        return loaded if loaded.cell == cell else CellMeasurements(cell)
    except (OSError, ValueError, KeyError, TypeError):
        return CellMeasurements(cell)


def save_cell(measurements: CellMeasurements, root: Path | None = None) -> Path:
    path = cell_path(measurements.cell, root)
    write_atomic(path, json.dumps(measurements.to_dict()).encode())
    return path
