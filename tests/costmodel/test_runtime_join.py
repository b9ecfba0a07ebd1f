"""The optimized-graph join on graphs real onnxruntime optimized: every file node is covered by one kernel or said
to be removed, fusions land where onnxruntime put them, and profiled kernel times find their nodes, also the
ones the optimizer left unnamed."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort
import pytest

from edgebench.controller import zoo
from edgebench.controller.calibration.suite.onnx_kernels import onnx_kernel
from edgebench.controller.calibration.suite.spec import KernelSpec
from edgebench.controller.costmodel.analysis import analyze
from edgebench.controller.costmodel.kernels import kernels_of
from edgebench.controller.costmodel.profile_join import node_times
from edgebench.controller.costmodel.reader import read_model
from edgebench.controller.costmodel.runtime_join import join_runtime_graph


def _optimize(model: str | Path | bytes, tmp_path: Path, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
              profile: bool = False):
    options = ort.SessionOptions()
    options.graph_optimization_level = level
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = str(tmp_path / "profile")
    source = model if isinstance(model, bytes) else str(model)
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    return session, read_model(tmp_path / "optimized.onnx")


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_b0", "shufflenet_v2_x1_0", "resnet18"])
def test_every_file_node_is_covered_once(name, tmp_path):
    path = zoo.resolve(f"zoo:{name}")
    _, executed = _optimize(path, tmp_path)
    original = read_model(path)
    join = join_runtime_graph(original, executed)
    covered = [n for c in join.covers.values() for n in c.nodes]
    assert len(covered) == len(set(covered))  # no node in two kernels
    assert set(covered) | set(join.removed) == {n.name for n in original.nodes}
    assert not join.removed  # these exports have nothing onnxruntime folds away entirely
    assert len(join.covers) == len(executed.nodes)
    assert all(c.inserted == (not c.nodes) for c in join.covers.values())


def test_fusions_are_joined_where_onnxruntime_made_them(tmp_path):
    path = zoo.resolve("zoo:resnet18")
    _, executed = _optimize(path, tmp_path)
    join = join_runtime_graph(read_model(path), executed)
    by_node = {n: c.kernel for c in join.covers.values() for n in c.nodes}
    first = join.covers[by_node["conv_0"]]
    assert first.nodes == ["conv_0", "bn_0", "relu_0"]  # Conv + BatchNorm + ReLU: one kernel
    residual = join.covers[by_node["add_0"]]
    assert residual.nodes[-2:] == ["add_0", "relu_2"] and residual.nodes[0].startswith("conv_")  # Add fused
    # With optimizations off every kernel is its own file node.
    _, plain = _optimize(path, tmp_path, ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    plain_join = join_runtime_graph(read_model(path), plain)
    assert all(len(c.nodes) == 1 for c in plain_join.covers.values())


@dataclass
class Entry:
    node_name: str
    op_type: str
    median_us: float
    order: int


def test_profiled_times_find_the_nodes_the_optimizer_left_unnamed(tmp_path):
    # HardSwish becomes HardSigmoid + Mul, which onnxruntime leaves unnamed in the saved graph.
    spec = KernelSpec.make("conv", h=16, w=16, cin=8, cout=16, k=3, stride=1, groups=1, act="hardswish")
    session, executed = _optimize(onnx_kernel(spec), tmp_path, profile=True)
    import numpy as np

    x = np.zeros((1, 8, 16, 16), np.float32)
    for _ in range(3):
        session.run(None, {"x": x})
    events = json.loads(Path(session.end_profiling()).read_text())
    seen: dict[tuple[str, str], int] = {}
    entries = []
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            key = (e["name"][: -len("_kernel_time")], e["args"]["node_index"])
            if key not in seen:
                seen[key] = len(seen)
                entries.append(Entry(key[0], e["args"]["op_name"], float(e["dur"]), seen[key]))
    assert any(not n.named for n in executed.nodes)  # the case this join exists for
    times = node_times(executed, entries)
    assert set(times) == {n.name for n in executed.nodes}
    kernels = kernels_of(executed, analyze(executed, "optimized.onnx"))
    assert {k.name for k in kernels} <= set(times)
