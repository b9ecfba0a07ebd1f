"""Exporter worker for the TensorFlow environment: Keras Applications through the TFLite converter (fp32, full
int8, float16 weights, dynamic-range int8) and through tf2onnx.

Runs inside `eval-env-tf`: `python -m eval_corpus.export_tf JOBS RESULTS` (see jobloop).
"""
from __future__ import annotations

import importlib.metadata as metadata
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: its C++ INFO lines drown the log

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from eval_corpus.jobloop import run_jobs  # noqa: E402
from eval_corpus.recipes import Recipe  # noqa: E402

CALIBRATION_SAMPLES = 8


def version(dist: str) -> str:
    return metadata.version(dist)


def build_keras(recipe: Recipe) -> keras.Model:
    keras.utils.set_random_seed(recipe.seed)
    s = recipe.input_size
    kwargs: dict[str, Any] = {"weights": None, "input_shape": (s, s, 3)}
    if recipe.width is not None:
        kwargs["alpha"] = recipe.width
    return getattr(keras.applications, recipe.arch)(**kwargs)


def to_tflite(recipe: Recipe, model: keras.Model) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if recipe.dtype == "fp32":
        return converter.convert()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if recipe.dtype == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif recipe.dtype == "int8":
        rng = np.random.default_rng(recipe.seed)
        shape = (1, recipe.input_size, recipe.input_size, 3)

        def representative():
            for _ in range(CALIBRATION_SAMPLES):
                yield [rng.standard_normal(shape).astype(np.float32)]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif recipe.dtype != "dynamic-range":  # dynamic range: Optimize.DEFAULT without a dataset
        raise ValueError(f"no TFLite conversion for dtype {recipe.dtype!r}")
    return converter.convert()


def export(recipe: Recipe, out: Path, source: Path | None) -> dict[str, Any]:
    model = build_keras(recipe)
    s = recipe.input_size
    info: dict[str, Any] = {"params": int(model.count_params()), "bench_shapes": [[1, s, s, 3]],
                            "library_version": version("keras")}
    if recipe.exporter == "tflite":
        out.write_bytes(to_tflite(recipe, model))
        return {**info, "exporter_version": f"tensorflow {tf.__version__}"}
    if recipe.exporter == "tf2onnx":
        import onnx
        import tf2onnx

        spec = (tf.TensorSpec((1, s, s, 3), tf.float32, name="input"),)
        tf2onnx.convert.from_keras(model, input_signature=spec, opset=recipe.opset, output_path=str(out))
        opsets = {o.domain or "ai.onnx": o.version for o in onnx.load(str(out)).opset_import}
        return {**info, "exporter_version": f"tf2onnx {tf2onnx.__version__}, tensorflow {tf.__version__}",
                "opset": opsets.get("ai.onnx")}
    raise ValueError(f"export_tf cannot do {recipe.exporter!r}")


VERSIONS = {d: version(d) for d in ("tensorflow-cpu", "keras", "tf2onnx", "onnx", "numpy", "protobuf")}

if __name__ == "__main__":
    sys.exit(run_jobs(sys.argv[1:], export, VERSIONS))
