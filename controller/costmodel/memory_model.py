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

# Weights as held split by kind: float weights are prepacked and copied by the runtimes' float kernels in other
# ways than integer (quantized) ones.
TERMS = ("weights_float", "weights_int", "weights_file", "activations", "constant")


def held_weight_bytes(graph) -> tuple[int, int]:
    """(float, integer) bytes of the constant tensors of the graph the runtime executes."""
    floats = ints = 0
    for t in graph.tensors.values():
        if not t.is_weight or not t.bytes:
            continue
        if t.dtype.startswith(("float", "bfloat")):
            floats += t.bytes
        else:
            ints += t.bytes
    return floats, ints


@dataclass
class MemoryFit:
    load: dict[str, float]  # term -> coefficient (bytes per byte; "constant" in bytes)
    steady: dict[str, float]
    samples: int
    load_median_abs_err: float  # in-sample |predicted / measured - 1|
    steady_median_abs_err: float
    base_bytes: float = 0.0  # the worker's RSS before a load (median over the calibration's jobs)

    def predict(self, weights_float: float, weights_int: float, weights_file: float, activations: float,
                base_bytes: float | None = None) -> tuple[float, float]:
        """(load peak, steady peak) in bytes; `base_bytes` defaults to the calibration's measured base."""
        base_bytes = self.base_bytes if base_bytes is None else base_bytes
        x = {"weights_float": weights_float, "weights_int": weights_int, "weights_file": weights_file,
             "activations": activations, "constant": 1.0}
        load = base_bytes + sum(self.load[t] * x[t] for t in TERMS)
        steady = base_bytes + sum(self.steady[t] * x[t] for t in TERMS)
        return load, steady

    def to_dict(self) -> dict[str, Any]:
        return {"load": self.load, "steady": self.steady, "samples": self.samples, "base_bytes": self.base_bytes,
                "load_median_abs_err": self.load_median_abs_err, "steady_median_abs_err": self.steady_median_abs_err}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> MemoryFit:
        return MemoryFit({t: float(d["load"].get(t, 0.0)) for t in TERMS}, {t: float(d["steady"].get(t, 0.0)) for t in TERMS},
                         int(d["samples"]), float(d["load_median_abs_err"]), float(d["steady_median_abs_err"]),
                         float(d.get("base_bytes", 0.0)))
