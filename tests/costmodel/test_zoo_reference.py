"""The zoo's torchvision architectures against torchvision's own conv + linear GMACs (its "GFLOPS")."""
from __future__ import annotations

import pytest

from edgebench.controller.costmodel import analyze_model

zoo = pytest.importorskip("edgebench.controller.zoo")

# torchvision's published figures (GFLOPS column = GMACs of conv and linear layers).
TORCHVISION_GMACS = {
    "mobilenet_v2": 0.301,
    "resnet18": 1.814,
    "shufflenet_v2_x1_0": 0.145,
    "squeezenet1_1": 0.349,
    "efficientnet_b0": 0.386,
    "mobilenet_v3_small": 0.057,
    "regnet_x_400mf": 0.414,
}


@pytest.fixture(scope="module")
def costs():
    return {name: analyze_model(zoo.resolve(f"zoo:{name}")) for name in TORCHVISION_GMACS}


@pytest.mark.parametrize("name", sorted(TORCHVISION_GMACS))
def test_macs_within_one_percent_of_torchvision(costs, name):
    cost = costs[name]
    ours = cost.macs / 1e9
    assert ours == pytest.approx(TORCHVISION_GMACS[name], rel=0.01), f"{name}: {ours:.4f} GMACs"
    assert cost.uncounted == [] and cost.warnings == []


@pytest.mark.parametrize("name", sorted(TORCHVISION_GMACS))
def test_params_match_torchvision_exactly(costs, name):
    # BatchNorm is unfolded in the zoo, so learnable parameters are exactly torchvision's num_params.
    assert costs[name].params == zoo.get(name).torchvision_params


def test_tflite_twin_counts_the_same_macs_as_onnx(costs):
    tflite = analyze_model(zoo.resolve("zoo:mobilenet_v2_tflite"))
    assert tflite.format == "tflite"
    assert tflite.macs == costs["mobilenet_v2"].macs
    assert tflite.warnings == []  # stored shapes are the interpreter's (issue 14)
