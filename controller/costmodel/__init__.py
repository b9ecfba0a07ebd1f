"""Static cost model: what a model should cost on a board, from its graph and the board's profile.

    from edgebench.controller.costmodel import predict_model
    p = predict_model("mobilenet_v2.onnx", "rpi4", input_shapes={"input": [1, 3, 224, 224]})
    p.model.macs, p.predicted_latency_ms, p.to_dict()

Everything here works offline on the host; `onnx` and `ai_edge_litert` are imported only when a model of
that format is read.
"""
from __future__ import annotations

from .analysis import analyze
from .costs import ModelCost, NodeCost
from .errors import CostModelError
from .predict import CONVENTIONS, Prediction, analyze_model, predict_cost, predict_model
from .profiles import DeviceProfile, Figure, list_profiles, load_profile
from .reader import read_model
from .roofline import NodeTime
from .shapes import parse_input_shape, parse_input_shapes

__all__ = [
    "CONVENTIONS",
    "CostModelError",
    "DeviceProfile",
    "Figure",
    "ModelCost",
    "NodeCost",
    "NodeTime",
    "Prediction",
    "analyze",
    "analyze_model",
    "list_profiles",
    "load_profile",
    "parse_input_shape",
    "parse_input_shapes",
    "predict_cost",
    "predict_model",
    "read_model",
]
