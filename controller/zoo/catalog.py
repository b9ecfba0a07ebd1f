"""Every zoo model: its public record and the recipe that produces its bytes."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .arch import efficientnet, mnasnet, mobilenet, regnet, resnet, shufflenet, small, squeezenet
from .net import Net, Value
from .weights import Weights

# Bump whenever any recipe's output bytes change: cached files carry it in their name.
ZOO_VERSION = 2

Shape = tuple[int | str, ...]
Arch = Callable[[Net], Value]


@dataclass(frozen=True)
class ZooEntry:
    name: str
    format: str  # "onnx" or "tflite"
    description: str
    input_shapes: dict[str, Shape] = field(compare=False)
    output_shapes: dict[str, Shape] = field(compare=False)
    # "reference": the cost model's fitting set, "heldout": a prediction suite it never saw,
    # "test": tiny models for fast tests.
    suite: str = "reference"
    input_dtype: str = "float32"
    # The torchvision model it mirrors and torchvision's published figures (conv + linear MACs).
    torchvision_name: str | None = None
    torchvision_params: int | None = None
    torchvision_gmacs: float | None = None


@dataclass(frozen=True)
class Recipe:
    entry: ZooEntry
    make: Callable[[], bytes]


def _onnx_bytes(arch: Arch, key: str, name: str, input_shape: Shape, output_shape: Shape) -> bytes:
    from .onnx_net import OnnxNet  # imports onnx: only building an ONNX model needs it

    net = OnnxNet(Weights(key), input_shape, name)
    return net.finish(arch(net), output_shape).SerializeToString()


def _tflite_bytes(arch: Arch, key: str, name: str, input_shape: Shape, description: str,
                  int8: bool) -> bytes:
    from .tflite_net import TfliteNet  # needs ai-edge-litert's schema: only building a TFLite model does

    net = TfliteNet(Weights(key), [int(d) for d in input_shape], name, int8=int8)
    return net.finish(arch(net), description)


_IMAGENET_IN: Shape = (1, 3, 224, 224)
_IMAGENET_OUT: Shape = (1, 1000)

# name: (architecture, suite, torchvision num_params, torchvision GFLOPS as conv+linear GMACs)
_TORCHVISION: dict[str, tuple[Arch, str, int, float]] = {
    "mobilenet_v2": (mobilenet.mobilenet_v2, "reference", 3_504_872, 0.301),
    "resnet18": (resnet.resnet18, "reference", 11_689_512, 1.814),
    "resnet50": (resnet.resnet50, "reference", 25_557_032, 4.089),
    "shufflenet_v2_x1_0": (shufflenet.shufflenet_v2_x1_0, "reference", 2_278_604, 0.145),
    "squeezenet1_1": (squeezenet.squeezenet1_1, "reference", 1_235_496, 0.349),
    "efficientnet_b0": (efficientnet.efficientnet_b0, "reference", 5_288_548, 0.386),
    "mobilenet_v3_small": (mobilenet.mobilenet_v3_small, "reference", 2_542_856, 0.057),
    "regnet_x_400mf": (regnet.regnet_x_400mf, "reference", 5_495_976, 0.414),
    "mobilenet_v3_large": (mobilenet.mobilenet_v3_large, "heldout", 5_483_032, 0.217),
    "resnet34": (resnet.resnet34, "heldout", 21_797_672, 3.664),
    "squeezenet1_0": (squeezenet.squeezenet1_0, "heldout", 1_248_424, 0.819),
    "shufflenet_v2_x0_5": (shufflenet.shufflenet_v2_x0_5, "heldout", 1_366_792, 0.04),
    "mnasnet0_5": (mnasnet.mnasnet0_5, "heldout", 2_218_512, 0.104),
    "regnet_y_400mf": (regnet.regnet_y_400mf, "heldout", 4_344_144, 0.402),
}


def _torchvision_recipe(name: str, arch: Arch, suite: str, params: int, gmacs: float) -> Recipe:
    entry = ZooEntry(
        name=name, format="onnx", suite=suite,
        description=f"torchvision {name} architecture, random weights, NCHW float32",
        input_shapes={"input": _IMAGENET_IN}, output_shapes={"output": _IMAGENET_OUT},
        torchvision_name=name, torchvision_params=params, torchvision_gmacs=gmacs)
    return Recipe(entry, lambda: _onnx_bytes(arch, name, name, _IMAGENET_IN, _IMAGENET_OUT))


def _small_onnx(name: str, arch: Arch, description: str, input_shape: Shape, output_shape: Shape,
                key: str) -> Recipe:
    entry = ZooEntry(name=name, format="onnx", suite="test", description=description,
                     input_shapes={"input": input_shape}, output_shapes={"output": output_shape})
    return Recipe(entry, lambda: _onnx_bytes(arch, key, name, input_shape, output_shape))


def _tflite(name: str, arch: Arch, description: str, input_shape: Shape, output_shape: Shape,
            key: str, suite: str, int8: bool = False) -> Recipe:
    mirrored = _TORCHVISION.get(key)
    entry = ZooEntry(name=name, format="tflite", suite=suite, description=description,
                     input_shapes={"input": input_shape}, output_shapes={"output": output_shape},
                     input_dtype="int8" if int8 else "float32",
                     torchvision_name=key if mirrored else None,
                     torchvision_params=mirrored[2] if mirrored else None,
                     torchvision_gmacs=mirrored[3] if mirrored else None)
    return Recipe(entry, lambda: _tflite_bytes(arch, key, name, input_shape, description, int8))


def _tiny_softmax(net: Net) -> Value:
    return small.tiny_cnn(net, softmax=True)


def _recipes() -> Sequence[Recipe]:
    recipes = [_torchvision_recipe(name, *spec) for name, spec in _TORCHVISION.items()]
    recipes += [
        _small_onnx("tiny_cnn", small.tiny_cnn, "conv/pool/depthwise/pointwise/dense toy CNN, 32x32 input",
                    (1, 3, 32, 32), (1, 10), key="tiny_cnn"),
        _small_onnx("dynamic_cnn", small.tiny_cnn,
                    "tiny_cnn with symbolic batch, height and width (for --input-shape overrides)",
                    ("batch", 3, "height", "width"), ("batch", 10), key="tiny_cnn"),
        _small_onnx("mlp", small.mlp, "three dense layers, 64 features in, 10 out",
                    (1, 64), (1, 10), key="mlp"),
        # TFLite twins draw the same weights as their ONNX counterparts (same key), so the two
        # formats compute the same function.
        _tflite("tiny_cnn_tflite", _tiny_softmax, "tiny_cnn in NHWC float32 with a softmax",
                (1, 32, 32, 3), (1, 10), key="tiny_cnn", suite="test"),
        _tflite("tiny_cnn_int8_tflite", _tiny_softmax,
                "tiny_cnn_tflite fully int8-quantized (int8 in and out, int32 biases)",
                (1, 32, 32, 3), (1, 10), key="tiny_cnn", suite="test", int8=True),
        _tflite("mobilenet_v2_tflite", mobilenet.mobilenet_v2,
                "torchvision mobilenet_v2 in NHWC float32, BatchNorm folded, random weights",
                (1, 224, 224, 3), _IMAGENET_OUT, key="mobilenet_v2", suite="reference"),
    ]
    return recipes


RECIPES: dict[str, Recipe] = {r.entry.name: r for r in _recipes()}
