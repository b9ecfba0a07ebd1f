"""Load a corpus file in the runtime edgebench drives (onnxruntime CPU EP / LiteRT with its default XNNPACK
delegate), run it at 1 thread and report its inputs, outputs and a rough warm inference time: the fastest of up
to TIMED_RUNS runs (the fastest, because on a shared machine interference only ever adds time). It decides only
whether a model is too slow for the corpus; benchmarks measure properly.

Runs in the project's own venv, one process per model (a runtime that crashes on a model must not take the
whole build down): `python -m eval_corpus.check FORMAT PATH BENCH_SHAPES_JSON SEED` prints one JSON object.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

TIMED_RUNS = 3
TIMED_BUDGET_S = 2.0

ONNX_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
              "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(int32)": "int32",
              "tensor(int64)": "int64", "tensor(bool)": "bool"}


@dataclass
class Tensor:
    name: str
    dtype: str
    shape: list[int | str]
    bench_shape: list[int] | None = None


@dataclass
class CheckResult:
    runs: bool
    inputs: list[Tensor]
    outputs: list[Tensor]
    check_ms_1t: float | None = None
    runtime: str = ""
    error: str | None = None


def symbolic(dim: Any, axis: int) -> int | str:
    """A model's dim as the manifest writes it: a positive int, or a name for a symbolic one."""
    if isinstance(dim, (int, np.integer)) and dim > 0:
        return int(dim)
    if isinstance(dim, str) and dim:
        return dim
    return "batch" if axis == 0 else f"dim{axis}"


def bench_shape(name: str, shape: list[int | str], hint: list[int] | None) -> list[int]:
    """The exporter's intended shape where it gave one (it must agree with every fixed dim); otherwise the fixed
    dims with a symbolic batch run at 1. Any other symbolic dim without a hint is an error."""
    if hint is not None:
        if len(hint) != len(shape) or any(isinstance(d, int) and d != h for d, h in zip(shape, hint, strict=True)):
            raise ValueError(f"input {name}: the exporter's bench shape {hint} does not fit the model's {shape}")
        return list(hint)
    out = []
    for axis, dim in enumerate(shape):
        if isinstance(dim, int):
            out.append(dim)
        elif axis == 0:
            out.append(1)
        else:
            raise ValueError(f"input {name}: dim {axis} ({dim!r}) is symbolic and no bench shape was given")
    return out


def random_input(dtype: str, shape: list[int], rng: np.random.Generator) -> np.ndarray:
    # The agent's convention: floats standard normal, int8/uint8 over their whole range, other ints small ids.
    if dtype.startswith("float"):
        return rng.standard_normal(shape).astype(dtype)
    if dtype in ("int8", "uint8"):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    return rng.integers(0, 100, size=shape).astype(dtype)


def fastest_ms(run: Callable[[], Any]) -> float:
    """The fastest of up to TIMED_RUNS calls, stopping early once TIMED_BUDGET_S is spent."""
    times: list[float] = []
    while len(times) < TIMED_RUNS and sum(times) < TIMED_BUDGET_S:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return round(min(times) * 1000, 2)


def check_onnx(path: str, hints: list[list[int]], seed: int) -> CheckResult:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    inputs = []
    for i, value in enumerate(session.get_inputs()):
        shape = [symbolic(d, axis) for axis, d in enumerate(value.shape)]
        hint = hints[i] if i < len(hints) else None
        inputs.append(Tensor(value.name, ONNX_TYPES.get(value.type, value.type), shape,
                             bench_shape(value.name, shape, hint)))
    outputs = [Tensor(v.name, ONNX_TYPES.get(v.type, v.type), [symbolic(d, a) for a, d in enumerate(v.shape)])
               for v in session.get_outputs()]
    rng = np.random.default_rng(seed)
    feed = {t.name: random_input(t.dtype, t.bench_shape, rng) for t in inputs}
    result = CheckResult(runs=False, inputs=inputs, outputs=outputs, runtime=f"onnxruntime {ort.__version__}")
    session.run(None, feed)  # the first run pays for lazy allocation
    result.check_ms_1t = fastest_ms(lambda: session.run(None, feed))
    result.runs = True
    return result


def check_tflite(path: str, hints: list[list[int]], seed: int) -> CheckResult:
    import ai_edge_litert
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=1)
    inputs = []
    for i, detail in enumerate(interpreter.get_input_details()):
        signature = detail.get("shape_signature", detail["shape"])
        shape = [symbolic(int(d), axis) for axis, d in enumerate(signature)]
        hint = hints[i] if i < len(hints) else None
        tensor = Tensor(detail["name"], np.dtype(detail["dtype"]).name, shape, bench_shape(detail["name"], shape, hint))
        if list(detail["shape"]) != tensor.bench_shape:
            interpreter.resize_tensor_input(detail["index"], tensor.bench_shape)
        inputs.append(tensor)
    interpreter.allocate_tensors()
    outputs = [Tensor(d["name"], np.dtype(d["dtype"]).name,
                      [symbolic(int(x), a) for a, x in enumerate(d.get("shape_signature", d["shape"]))])
               for d in interpreter.get_output_details()]
    rng = np.random.default_rng(seed)
    for detail, tensor in zip(interpreter.get_input_details(), inputs, strict=True):
        interpreter.set_tensor(detail["index"], random_input(tensor.dtype, tensor.bench_shape, rng))
    version = getattr(ai_edge_litert, "__version__", "")
    result = CheckResult(runs=False, inputs=inputs, outputs=outputs, runtime=f"ai-edge-litert {version}".strip())
    interpreter.invoke()
    result.check_ms_1t = fastest_ms(interpreter.invoke)
    result.runs = True
    return result


def check_model(fmt: str, path: str, hints: list[list[int]], seed: int) -> CheckResult:
    try:
        return (check_onnx if fmt == "onnx" else check_tflite)(path, hints, seed)
    except Exception as e:  # the model does not load or run: that is the finding, recorded with its message
        return CheckResult(runs=False, inputs=[], outputs=[], error=f"{type(e).__name__}: {e}"[:1500])


def main(argv: list[str]) -> int:
    fmt, path, hints, seed = argv[0], argv[1], json.loads(argv[2]), int(argv[3])
    print(json.dumps(asdict(check_model(fmt, path, hints, seed))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
