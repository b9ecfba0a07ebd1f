"""Peak memory of the worker, as a calibrated profile predicts it (fitted by calibration/memory_fit.py).

    peak = runtime base + a * weights as held + b * weights in the file + c * peak activations + d

The runtime base (Python, NumPy and the runtime imported, nothing loaded) is measured by the worker itself
(its RSS before the load). The weights "as held" are the initializers of the graph the runtime executes,
which includes weights computed inside the graph and folded at load (a ConstantOfShape weight is not in the
file's initializers but is in memory) and reordered copies; the file's weights count separately because a
runtime may keep the parsed file (onnxruntime's protobuf) or map it (TFLite) while it packs its own copies
(MLAS prepacking, XNNPACK's packed weights). Load and steady-state peaks are fitted separately, as measured.
The coefficients are non-negative (scipy's NNLS): a byte more never makes the prediction smaller.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TERMS = ("weights_held", "weights_file", "activations", "constant")


@dataclass
class MemoryFit:
    load: dict[str, float]  # term -> coefficient (bytes per byte; "constant" in bytes)
    steady: dict[str, float]
    samples: int
    load_median_abs_err: float  # in-sample |predicted / measured - 1|
    steady_median_abs_err: float
    base_bytes: float = 0.0  # the worker's RSS before a load (median over the calibration's jobs)

    def predict(self, weights_held: float, weights_file: float, activations: float,
                base_bytes: float | None = None) -> tuple[float, float]:
        """(load peak, steady peak) in bytes; `base_bytes` defaults to the calibration's measured base."""
        base_bytes = self.base_bytes if base_bytes is None else base_bytes
        x = {"weights_held": weights_held, "weights_file": weights_file, "activations": activations, "constant": 1.0}
        load = base_bytes + sum(self.load[t] * x[t] for t in TERMS)
        steady = base_bytes + sum(self.steady[t] * x[t] for t in TERMS)
        return load, steady

    def to_dict(self) -> dict[str, Any]:
        return {"load": self.load, "steady": self.steady, "samples": self.samples, "base_bytes": self.base_bytes,
                "load_median_abs_err": self.load_median_abs_err, "steady_median_abs_err": self.steady_median_abs_err}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> MemoryFit:
        return MemoryFit({k: float(v) for k, v in d["load"].items()}, {k: float(v) for k, v in d["steady"].items()},
                         int(d["samples"]), float(d["load_median_abs_err"]), float(d["steady_median_abs_err"]),
                         float(d.get("base_bytes", 0.0)))
