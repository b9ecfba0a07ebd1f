"""What the corpus holds: one Recipe per model file, with everything that decides the file's bytes.

Standard library only: the orchestrator (project venv) and the exporters (their own venvs) both read it.
A recipe's `key` hashes its fields, so changing a recipe (or RECIPE_VERSION, when the export code changes what
it writes) rebuilds that model and nothing else.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

# Bump when an exporter's code changes what it writes for an unchanged recipe.
RECIPE_VERSION = 1

# exporter id -> (the environment it runs in, the file format, the name written in the manifest)
EXPORTERS: dict[str, tuple[str, str, str]] = {
    "torchscript": ("torch", "onnx", "torch.onnx.export (TorchScript)"),
    "dynamo": ("torch", "onnx", "torch.onnx.export (dynamo)"),
    "onnx-testdata": ("torch", "onnx", "onnx package test data"),
    "ort-qdq": ("torch", "onnx", "onnxruntime.quantization.quantize_static (QDQ)"),
    "ort-qoperator": ("torch", "onnx", "onnxruntime.quantization.quantize_static (QOperator)"),
    "fp16": ("torch", "onnx", "onnxconverter_common.float16"),
    "tflite": ("tf", "tflite", "TFLiteConverter"),
    "tf2onnx": ("tf", "onnx", "tf2onnx"),
}


@dataclass(frozen=True)
class Recipe:
    name: str                    # unique; the file is NAME.onnx / NAME.tflite
    library: str                 # torchvision | timm | keras | onnx-model-zoo
    arch: str                    # constructor name in that library (or the test-data model's name)
    family: str                  # cnn | transformer | hybrid | detection | segmentation
    exporter: str                # a key of EXPORTERS
    dtype: str = "fp32"          # fp32 | int8 | fp16 | dynamic-range
    input_size: int = 224        # square H = W the model is exported (and benched) at
    opset: int | None = None     # ONNX opset asked of the exporter
    dynamic: str = ""            # "" | "batch" | "batch-hw": which input axes are left symbolic
    width: float | None = None   # Keras width multiplier (alpha)
    source: str = ""             # quantized / fp16 recipes: the fp32 recipe they are made from
    options: tuple[tuple[str, str], ...] = field(default=())  # exporter-specific extras, e.g. (("kwargs", ...),)
    seed: int = 0
    quick: bool = False          # in the --quick subset (not part of the key)

    @property
    def env(self) -> str:
        return EXPORTERS[self.exporter][0]

    @property
    def format(self) -> str:
        return EXPORTERS[self.exporter][1]

    @property
    def exporter_label(self) -> str:
        return EXPORTERS[self.exporter][2]

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.format}"

    @property
    def key(self) -> str:
        fields = asdict(self)
        fields.pop("quick")
        fields["recipe_version"] = RECIPE_VERSION
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]

    def option(self, name: str, default: str = "") -> str:
        return dict(self.options).get(name, default)


def _tv(arch: str, family: str = "cnn", exporter: str = "torchscript", opset: int = 17, size: int = 224,
        dynamic: str = "", suffix: str = "", quick: bool = False, **options: str) -> Recipe:
    name = arch + (f"_{size}" if size != 224 and not suffix else "") + suffix
    return Recipe(name=name, library="torchvision", arch=arch, family=family, exporter=exporter, opset=opset,
                  input_size=size, dynamic=dynamic, options=tuple(sorted(options.items())), quick=quick)


def _timm(arch: str, family: str, size: int = 224, exporter: str = "torchscript", opset: int = 17) -> Recipe:
    return Recipe(name=f"timm_{arch}", library="timm", arch=arch, family=family, exporter=exporter, opset=opset,
                  input_size=size)


def _derived(source: Recipe, exporter: str, dtype: str, suffix: str, quick: bool = False) -> Recipe:
    return Recipe(name=f"{source.name}_{suffix}", library=source.library, arch=source.arch, family=source.family,
                  exporter=exporter, dtype=dtype, input_size=source.input_size, source=source.name, quick=quick)


def _keras(arch: str, dtype: str, size: int = 224, width: float | None = None, quick: bool = False) -> Recipe:
    tag = {"fp32": "fp32", "int8": "int8", "fp16": "fp16", "dynamic-range": "drq"}[dtype]
    # e.g. keras_mobilenetv2_035_96_int8: width x100, then the input size
    shape = "" if size == 224 and width is None else f"_{round((width or 1.0) * 100):03d}_{size}"
    return Recipe(name=f"keras_{arch.lower()}{shape}_{tag}", library="keras", arch=arch, family="cnn",
                  exporter="tflite", dtype=dtype, input_size=size, width=width, quick=quick)


def _tf2onnx(arch: str, opset: int, quick: bool = False) -> Recipe:
    return Recipe(name=f"keras_{arch.lower()}_tf2onnx", library="keras", arch=arch, family="cnn",
                  exporter="tf2onnx", opset=opset, quick=quick)


def _testdata(arch: str) -> Recipe:
    return Recipe(name=f"light_{arch}", library="onnx-model-zoo", arch=arch, family="cnn", exporter="onnx-testdata",
                  quick=arch == "squeezenet")


# torchvision through the TorchScript exporter, opsets 11 / 13 / 17.
TORCHSCRIPT = [
    _tv("resnet18", quick=True),
    _tv("resnet50"),
    _tv("mobilenet_v2", opset=13),
    _tv("mobilenet_v3_large"),
    _tv("shufflenet_v2_x0_5", opset=11),
    _tv("shufflenet_v2_x1_0", opset=13),
    _tv("squeezenet1_1", opset=13),
    _tv("efficientnet_b0", quick=True),
    _tv("googlenet", opset=13),
    _tv("densenet121", opset=11),
    _tv("inception_v3", opset=13, size=299),
    _tv("regnet_x_400mf"),
    _tv("lraspp_mobilenet_v3_large", family="segmentation", size=320),
    _tv("deeplabv3_mobilenet_v3_large", family="segmentation", size=256),
    _tv("ssdlite320_mobilenet_v3_large", family="detection", size=320, suffix="_head"),
    # other input sizes and symbolic axes (benched at the size in the name, or 224)
    _tv("mobilenet_v2", size=160),
    _tv("resnet18", size=128),
    _tv("mobilenet_v3_large", size=160, dynamic="batch", suffix="_160_dynbatch"),
    _tv("resnet18", dynamic="batch-hw", suffix="_dynhw", quick=True),
    _tv("squeezenet1_1", opset=13, dynamic="batch-hw", size=192, suffix="_192_dynhw"),
]

# torchvision through the dynamo exporter (torch.export + onnxscript), opsets 18 / 20; resnet50 and mobilenet_v2
# are also exported by TorchScript above, so the two exporters' graphs of one network can be compared.
DYNAMO = [
    _tv("resnet50", exporter="dynamo", opset=18, suffix="_dynamo"),
    _tv("mobilenet_v2", exporter="dynamo", opset=18, suffix="_dynamo", quick=True),
    _tv("efficientnet_b1", exporter="dynamo", opset=18, size=240),
    _tv("resnext50_32x4d", exporter="dynamo", opset=18),
    _tv("convnext_tiny", exporter="dynamo", opset=18),
    _tv("regnet_y_800mf", exporter="dynamo", opset=20),
    _tv("mnasnet1_0", exporter="dynamo", opset=18),
    _tv("shufflenet_v2_x2_0", exporter="dynamo", opset=18),
    _tv("swin_t", family="transformer", exporter="dynamo", opset=18),
    _tv("mobilenet_v3_small", exporter="dynamo", opset=18, dynamic="batch", suffix="_dynamo_dynbatch"),
]

# timm's small edge transformers and hybrids (random weights: pretrained=False).
TIMM = [
    _timm("mobilevit_xxs", "hybrid", size=256),
    _timm("deit_tiny_patch16_224", "transformer"),
    _timm("levit_128s", "hybrid"),
    _timm("efficientformer_l1", "hybrid"),
    _timm("fastvit_t8", "hybrid", size=256),
    _timm("edgenext_xx_small", "hybrid", size=256),
    _timm("ghostnet_100", "cnn"),
    _timm("mobilenetv4_conv_small", "cnn"),
    _timm("repvit_m1", "cnn"),
    _timm("mobileone_s0", "cnn"),
    _timm("efficientvit_m0", "hybrid"),
    _timm("lcnet_050", "cnn", exporter="dynamo", opset=18),
]

# Keras Applications through the TFLite converter.
KERAS_TFLITE = [
    _keras("MobileNet", "fp32"),
    _keras("MobileNetV2", "fp32", quick=True),
    _keras("MobileNetV2", "fp32", size=96, width=0.35),
    _keras("MobileNetV2", "fp32", size=160, width=1.0),
    _keras("MobileNetV3Small", "fp32"),
    _keras("MobileNetV3Large", "fp32"),
    _keras("EfficientNetB0", "fp32"),
    _keras("EfficientNetV2B0", "fp32"),
    _keras("ResNet50", "fp32"),
    _keras("DenseNet121", "fp32"),
    _keras("NASNetMobile", "fp32"),
    _keras("MobileNet", "int8"),
    _keras("MobileNetV2", "int8", quick=True),
    _keras("MobileNetV2", "int8", size=96, width=0.35),
    _keras("MobileNetV2", "int8", size=128, width=0.5),
    _keras("MobileNetV3Small", "int8"),
    _keras("MobileNetV3Large", "int8"),
    _keras("EfficientNetB0", "int8"),
    _keras("EfficientNetV2B0", "int8"),
    _keras("ResNet50", "int8"),
    _keras("DenseNet121", "int8"),
    _keras("NASNetMobile", "int8"),
    _keras("MobileNetV2", "fp16"),
    _keras("EfficientNetB0", "fp16"),
    _keras("MobileNetV3Large", "fp16"),
    _keras("MobileNetV2", "dynamic-range"),
    _keras("ResNet50", "dynamic-range"),
]

KERAS_TF2ONNX = [
    _tf2onnx("MobileNetV2", opset=13),
    _tf2onnx("EfficientNetB0", opset=15),
    _tf2onnx("MobileNetV3Small", opset=17, quick=True),
]

ONNX_TESTDATA = [_testdata(a) for a in ("bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50",
                                        "shufflenet", "squeezenet", "vgg19", "zfnet512")]

_BY_NAME = {r.name: r for r in TORCHSCRIPT}
ONNX_DERIVED = [
    *[_derived(_BY_NAME[n], "ort-qdq", "int8", "int8_qdq", quick=(n == "resnet18"))
      for n in ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0",
                "shufflenet_v2_x1_0")],
    *[_derived(_BY_NAME[n], "ort-qoperator", "int8", "int8_qop") for n in ("resnet18", "mobilenet_v2")],
    *[_derived(_BY_NAME[n], "fp16", "fp16", "fp16") for n in ("resnet18", "mobilenet_v2", "efficientnet_b0")],
]

RECIPES: list[Recipe] = [*TORCHSCRIPT, *DYNAMO, *TIMM, *KERAS_TFLITE, *KERAS_TF2ONNX, *ONNX_TESTDATA, *ONNX_DERIVED]


def by_name() -> dict[str, Recipe]:
    return {r.name: r for r in RECIPES}


def with_sources(selected: list[Recipe]) -> list[Recipe]:
    """The selection plus every recipe a derived one is made from, sources first, each once."""
    table = by_name()
    out: dict[str, Recipe] = {}
    for recipe in selected:
        if recipe.source:
            out.setdefault(recipe.source, table[recipe.source])
    for recipe in selected:
        out.setdefault(recipe.name, recipe)
    return sorted(out.values(), key=lambda r: bool(r.source))


def check_recipes(recipes: list[Recipe]) -> None:
    """Unique names, known exporters, sources that exist and are not derived themselves."""
    names = [r.name for r in recipes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate recipe names: {dupes}")
    table = {r.name: r for r in recipes}
    for r in recipes:
        if r.exporter not in EXPORTERS:
            raise ValueError(f"recipe {r.name}: unknown exporter {r.exporter!r}")
        if r.source and (r.source not in table or table[r.source].source):
            raise ValueError(f"recipe {r.name}: source {r.source!r} must be a non-derived recipe")
