"""Exporter worker for the torch environment: torchvision / timm through torch.onnx.export (TorchScript and
dynamo), the onnx package's test-data models, onnxruntime's static quantizer and onnxconverter-common's fp16.

Runs inside `eval-env-torch`: `python -m eval_corpus.export_torch JOBS RESULTS` (see jobloop).
"""
from __future__ import annotations

import importlib.metadata as metadata
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from eval_corpus.jobloop import run_jobs
from eval_corpus.recipes import Recipe

# Constructor arguments that keep eval-mode graphs single-output and skip pretrained downloads.
TORCHVISION_KWARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"aux_logits": False, "init_weights": True},
    "inception_v3": {"aux_logits": False, "init_weights": True},
}

CALIBRATION_SAMPLES = 8


def version(dist: str) -> str:
    return metadata.version(dist)


class SegmentationOut(torch.nn.Module):
    """torchvision's segmentation models return a dict; an app ships the "out" map alone."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["out"]


class DetectorHead(torch.nn.Module):
    """An SSD's backbone + head with the raw box regressions and class logits as outputs: what edge apps run on
    the accelerator, with anchor decoding and NMS (data-dependent shapes) left to the host."""

    def __init__(self, detector: torch.nn.Module):
        super().__init__()
        self.backbone = detector.backbone
        self.head = detector.head

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = list(self.backbone(x).values())
        out = self.head(features)
        return out["bbox_regression"], out["cls_logits"]


def build_module(recipe: Recipe) -> tuple[torch.nn.Module, list[str]]:
    """The eval-mode module with seeded random weights, and its output names."""
    torch.manual_seed(recipe.seed)
    if recipe.library == "torchvision":
        import torchvision

        if recipe.family == "segmentation":
            seg = getattr(torchvision.models.segmentation, recipe.arch)(weights=None, weights_backbone=None)
            return SegmentationOut(seg).eval(), ["out"]
        if recipe.family == "detection":
            det = getattr(torchvision.models.detection, recipe.arch)(weights=None, weights_backbone=None)
            return DetectorHead(det).eval(), ["bbox_regression", "cls_logits"]
        kwargs = TORCHVISION_KWARGS.get(recipe.arch, {})
        return getattr(torchvision.models, recipe.arch)(weights=None, **kwargs).eval(), ["logits"]
    if recipe.library == "timm":
        import timm
        from timm.utils.model import reparameterize_model

        model = timm.create_model(recipe.arch, pretrained=False).eval()
        # Re-parameterizable nets (MobileOne, RepViT, FastViT) ship in their fused inference form.
        return reparameterize_model(model).eval(), ["logits"]
    raise ValueError(f"no torch builder for library {recipe.library!r}")


def export_torch(recipe: Recipe, out: Path) -> dict[str, Any]:
    model, output_names = build_module(recipe)
    s = recipe.input_size
    bench = [1, 3, s, s]
    axes = {0: "batch"} if recipe.dynamic else {}
    if recipe.dynamic == "batch-hw":
        axes.update({2: "height", 3: "width"})
    with torch.no_grad():
        if recipe.exporter == "torchscript":
            dynamic_axes = None
            if axes:
                dynamic_axes = {"input": axes, **{name: {0: "batch"} for name in output_names}}
            torch.onnx.export(model, (torch.randn(*bench),), str(out), dynamo=False, opset_version=recipe.opset,
                              input_names=["input"], output_names=output_names, dynamic_axes=dynamic_axes)
        elif recipe.exporter == "dynamo":
            dynamic_shapes = None
            example = torch.randn(*bench)
            if axes:
                # torch.export specializes a dim whose example value is 1, so trace a dynamic batch at 2.
                example = torch.randn(2, 3, s, s)
                dims = {i: torch.export.Dim(name, min=1, max=64) for i, name in axes.items() if i == 0}
                dims.update({i: torch.export.Dim(name, min=32, max=1024) for i, name in axes.items() if i > 0})
                dynamic_shapes = (dims,)
            program = torch.onnx.export(model, (example,), dynamo=True, opset_version=recipe.opset,
                                        input_names=["input"], output_names=output_names,
                                        dynamic_shapes=dynamic_shapes, verbose=False)
            program.save(str(out), external_data=False)
        else:
            raise ValueError(f"export_torch cannot do {recipe.exporter!r}")
    lib = "torchvision" if recipe.library == "torchvision" else "timm"
    exporter_version = f"torch {torch.__version__}"
    if recipe.exporter == "dynamo":
        exporter_version += f", onnxscript {version('onnxscript')}"
    return {"params": int(sum(p.numel() for p in model.parameters())), "exporter_version": exporter_version,
            "library_version": version(lib), "bench_shapes": [bench]}


def onnx_params(model: onnx.ModelProto) -> int:
    """Weight elements in an ONNX graph: non-int64 initializers plus tensors that ConstantOfShape fills from a
    constant shape (how the onnx package's test-data models carry their weights)."""
    inits = {i.name: i for i in model.graph.initializer}
    total = sum(int(np.prod(i.dims)) for i in inits.values() if i.data_type != onnx.TensorProto.INT64)
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape" and node.input and node.input[0] in inits:
            total += int(np.prod(onnx.numpy_helper.to_array(inits[node.input[0]])))
    return total


def static_shapes(model: onnx.ModelProto) -> list[list[int]]:
    """Shapes of the real inputs (not initializers listed as inputs, as old opsets do), symbolic dims as 1."""
    inits = {i.name for i in model.graph.initializer}
    shapes = []
    for value in model.graph.input:
        if value.name not in inits:
            dims = value.type.tensor_type.shape.dim
            shapes.append([d.dim_value if d.dim_value > 0 else 1 for d in dims])
    return shapes


def export_testdata(recipe: Recipe, out: Path) -> dict[str, Any]:
    src = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / f"light_{recipe.arch}.onnx"
    shutil.copyfile(src, out)
    model = onnx.load(str(out))
    return {"params": onnx_params(model), "exporter_version": f"onnx {onnx.__version__}",
            "library_version": onnx.__version__, "bench_shapes": static_shapes(model)}


class RandomCalibration:
    """Calibration batches of seeded standard-normal data: only the architecture matters here."""

    def __init__(self, input_name: str, shape: list[int], seed: int):
        rng = np.random.default_rng(seed)
        self._batches = iter([{input_name: rng.standard_normal(shape).astype(np.float32)}
                              for _ in range(CALIBRATION_SAMPLES)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)

    def rewind(self) -> None:  # part of onnxruntime's CalibrationDataReader protocol; one pass is all we use
        pass


def export_quantized(recipe: Recipe, out: Path, source: Path) -> dict[str, Any]:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = out.with_name(out.name + ".pre.onnx")
    try:
        quant_pre_process(str(source), str(pre))
        model = onnx.load(str(pre))
        shape = static_shapes(model)[0]
        reader = RandomCalibration(model.graph.input[0].name, shape, recipe.seed)
        if recipe.exporter == "ort-qdq":
            quantize_static(str(pre), str(out), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
        else:
            quantize_static(str(pre), str(out), reader, quant_format=QuantFormat.QOperator, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    finally:
        pre.unlink(missing_ok=True)
    return {"exporter_version": f"onnxruntime {version('onnxruntime')}", "bench_shapes": [shape]}


def export_fp16(recipe: Recipe, out: Path, source: Path) -> dict[str, Any]:
    from onnxconverter_common import float16

    model = onnx.load(str(source))
    onnx.save(float16.convert_float_to_float16(model, keep_io_types=True), str(out))
    return {"exporter_version": f"onnxconverter-common {version('onnxconverter-common')}",
            "bench_shapes": static_shapes(model)}


def export(recipe: Recipe, out: Path, source: Path | None) -> dict[str, Any]:
    if recipe.exporter in ("torchscript", "dynamo"):
        info = export_torch(recipe, out)
    elif recipe.exporter == "onnx-testdata":
        info = export_testdata(recipe, out)
    elif recipe.exporter in ("ort-qdq", "ort-qoperator", "fp16"):
        if source is None or not source.is_file():
            raise FileNotFoundError(f"the source model {recipe.source!r} was not built")
        info = (export_fp16 if recipe.exporter == "fp16" else export_quantized)(recipe, out, source)
    else:
        raise ValueError(f"export_torch cannot do {recipe.exporter!r}")
    opsets = {o.domain or "ai.onnx": o.version for o in onnx.load(str(out), load_external_data=False).opset_import}
    return {**info, "opset": opsets.get("ai.onnx")}


VERSIONS = {d: version(d) for d in ("torch", "torchvision", "timm", "onnx", "onnxscript", "onnxruntime",
                                     "onnxconverter-common", "numpy")}

if __name__ == "__main__":
    sys.exit(run_jobs(sys.argv[1:], export, VERSIONS))
