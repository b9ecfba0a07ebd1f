"""The suite's model files: generated once on the host, kept by key in the cache, uploaded as needed.

    ~/.cache/edgebench/kernels/v<SUITE>/<key>.onnx | .tflite      ($EDGEBENCH_CACHE_DIR honoured)

A key names its content exactly (op, every parameter, dtype, and the suite version), so a cached file is the
file the generator would write again; generation is deterministic (seeded by the key).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from ...atomic_write import write_atomic
from ...paths import cache_dir
from .composite import (
    CompositeSpec,
    cold_chain_key,
    cold_chain_onnx,
    cold_chain_tflite,
    composite_onnx,
    composite_tflite,
)
from .fp16 import to_float16
from .spec import KernelSpec

SUITE_FILES_VERSION = 1


def kernels_cache_dir() -> Path:
    return cache_dir() / "kernels" / f"v{SUITE_FILES_VERSION}"


@dataclass
class SuiteModel:
    key: str  # the KernelSpec / CompositeSpec key (+ format)
    format: str  # "onnx" / "tflite"
    path: Path
    dtype: str
    composite: bool = False  # a multi-kernel network (composition and memory), not one kernel
    input_shapes: dict[str, list[int]] = field(default_factory=dict)  # all static: nothing to give the agent
    # TFLite kernels the generator wrote as several ops (SiLU, layernorm, SE...) are measured op by op:
    # `parts` are the one-op models extracted from this one.
    parts: list[SuiteModel] = field(default_factory=list)


def _cached(key: str, suffix: str, make) -> Path:
    path = kernels_cache_dir() / f"{key}{suffix}"
    if not path.is_file():
        write_atomic(path, make())
    return path


def onnx_kernel_model(spec: KernelSpec) -> SuiteModel:
    from .onnx_kernels import onnx_kernel

    def make() -> bytes:
        # quantize_static logs advice meant for users quantizing a real model; it says nothing about ours
        quiet = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)
        try:
            return onnx_kernel(spec)
        finally:
            logging.getLogger().setLevel(quiet)

    return SuiteModel(spec.key, "onnx", _cached(spec.key, ".onnx", make), spec.dtype)


def tflite_kernel_model(spec: KernelSpec) -> SuiteModel:
    from ...costmodel.tflite_extract import unique_kernels
    from .tflite_kernels import tflite_kernel

    path = _cached(spec.key, ".tflite", lambda: tflite_kernel(spec))
    model = SuiteModel(spec.key, "tflite", path, spec.dtype)
    extracted = unique_kernels(path)
    if len(extracted) > 1 or (extracted and extracted[0].count > 1):
        for i, part in enumerate(extracted):
            if part.model is None:
                continue  # cannot stand alone (a custom op): the whole model's time still covers it
            part_key = f"{spec.key}__op{i}"
            model.parts.append(SuiteModel(part_key, "tflite", _cached(part_key, ".tflite", lambda p=part: p.model),
                                          spec.dtype))
    return model


def composite_model(spec: CompositeSpec, fmt: str, dtype: str) -> SuiteModel:
    key = f"{spec.key}_{dtype}"
    if fmt == "onnx":
        if dtype == "int8":
            make = lambda: _quantize_onnx(composite_onnx(spec), spec.resolution)  # noqa: E731
        elif dtype == "fp16":
            make = lambda: to_float16(composite_onnx(spec))  # noqa: E731
        else:
            make = lambda: composite_onnx(spec)  # noqa: E731
        return SuiteModel(key, "onnx", _cached(key, ".onnx", make), dtype, composite=True)
    return SuiteModel(key, "tflite", _cached(key, ".tflite", lambda: composite_tflite(spec, int8=dtype == "int8")),
                      dtype, composite=True)


def _quantize_onnx(model: bytes, resolution: int) -> bytes:
    """onnxruntime's quantize_static (QDQ, int8, its defaults) on seeded random images: how users quantize."""
    import tempfile

    import numpy as np
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(11)
    feeds = [{"input": rng.standard_normal((1, 3, resolution, resolution)).astype(np.float32)} for _ in range(2)]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(feeds)

        def get_next(self):
            return next(self._it, None)

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(prefix="edgebench-composite-") as tmp:
            src, dst = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
            Path(src).write_bytes(model)
            quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                            weight_type=QuantType.QInt8)
            return onnx.load(dst).SerializeToString()
    finally:
        logging.getLogger().setLevel(quiet)


def cold_chain_model(fmt: str, dtype: str) -> SuiteModel:
    """The cold-weight chain (see composite.cold_chain_onnx), in the cell's format and dtype."""
    key = cold_chain_key(dtype)
    if fmt == "onnx":
        make = {"int8": lambda: _quantize_chain(cold_chain_onnx()),
                "fp16": lambda: to_float16(cold_chain_onnx())}.get(dtype, cold_chain_onnx)
        return SuiteModel(key, "onnx", _cached(key, ".onnx", make), dtype, composite=True)
    return SuiteModel(key, "tflite", _cached(key, ".tflite", lambda: cold_chain_tflite(int8=dtype == "int8")), dtype,
                      composite=True)


def _quantize_chain(model: bytes) -> bytes:
    import tempfile

    import numpy as np
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(12)
    feeds = [{"input": rng.standard_normal((1, 1024)).astype(np.float32)} for _ in range(2)]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(feeds)

        def get_next(self):
            return next(self._it, None)

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(prefix="edgebench-chain-") as tmp:
            src, dst = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
            Path(src).write_bytes(model)
            quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                            weight_type=QuantType.QInt8)
            return onnx.load(dst).SerializeToString()
    finally:
        logging.getLogger().setLevel(quiet)
