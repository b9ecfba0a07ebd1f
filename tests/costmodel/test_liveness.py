"""Peak live activation memory on hand-built graphs, checked step by step."""
from __future__ import annotations

from edgebench.controller.costmodel import analyze
from edgebench.controller.costmodel.ir import Graph, Node, Tensor
from edgebench.controller.costmodel.liveness import peak_activation


def f32(name: str, numel: int, weight: bool = False) -> Tensor:
    return Tensor(name, (numel,), "float32", is_weight=weight)


def skip_graph() -> Graph:
    # x ─ A ─ a ─ B ─ b ─ C ─ c ─ D ─ d      (C also reads x: a skip connection keeps x alive)
    tensors = [f32("x", 250), f32("W", 100_000, weight=True), f32("a", 500), f32("b", 125), f32("c", 75), f32("d", 25)]
    nodes = [
        Node("A", "MatMul", ["x", "W"], ["a"]),
        Node("B", "Relu", ["a"], ["b"]),
        Node("C", "Add", ["b", "x"], ["c"]),
        Node("D", "Relu", ["c"], ["d"]),
    ]
    return Graph("skip", "onnx", {t.name: t for t in tensors}, nodes, inputs=["x"], outputs=["d"])


def test_peak_is_reached_while_b_runs():
    g = skip_graph()
    peak = peak_activation(g, [0, 1, 2, 3], constants={"W"})
    # step A: x + a = 1000 + 2000; step B: x + a + b = 3500; step C: x + b + c = 1800; step D: c + d = 400
    assert peak.bytes == 3500
    assert peak.step == 1
    assert peak.unknown_tensors == []


def test_weights_never_count_and_model_cost_reports_the_peak_node():
    cost = analyze(skip_graph())
    assert cost.peak_activation_bytes == 3500
    assert cost.peak_activation_node == "B"


def test_graph_output_stays_live_to_the_end():
    tensors = [f32("x", 10), f32("early", 1000), f32("y", 10)]
    nodes = [Node("E", "Relu", ["x"], ["early"]), Node("F", "Relu", ["x"], ["y"])]
    g = Graph("g", "onnx", {t.name: t for t in tensors}, nodes, inputs=["x"], outputs=["early", "y"])
    # 'early' is never read again but is a graph output, so it is still live while F runs
    assert peak_activation(g, [0, 1], constants=set()).bytes == 40 + 4000 + 40


def test_unknown_sizes_are_reported_not_guessed():
    tensors = [f32("x", 10), Tensor("y", None, "float32")]
    g = Graph("g", "onnx", {t.name: t for t in tensors}, [Node("N", "NonZero", ["x"], ["y"])], ["x"], ["y"])
    peak = peak_activation(g, [0], constants=set())
    assert peak.unknown_tensors == ["y"]
    assert peak.bytes == 40
