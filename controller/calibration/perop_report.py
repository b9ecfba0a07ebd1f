"""`bench --per-op`: measured (onnxruntime profiling) versus predicted, per op type and per node."""
from __future__ import annotations

from collections.abc import Sequence

from ..records import RunRecord


def per_op_report(records: Sequence[RunRecord]) -> str:
    parts = []
    for r in records:
        head = f"{r.model['name']} threads={r.threads}"
        if r.runtime == "tflite":
            parts.append(f"{head}: per-op timings are not available for TFLite: LiteRT's Python API has no "
                         "per-op profiler (only its benchmark_model binary has one)")
        elif r.status != "ok":
            parts.append(f"{head}: no per-op table (run {r.status})")
        else:
            try:
                from .opjoin import per_op_tables
            except ImportError:
                parts.append(f"{head}: per-op join not available yet")
                continue
            parts.append(per_op_tables(r))
    return "\n\n".join(parts)
