"""Reader behaviour on dynamic shapes and bad input: every message names the file, input, dim or node."""
from __future__ import annotations

import onnx
import pytest
from costmodel_builders import analyze_onnx, node_of, onnx_model, save, weight
from onnx import TensorProto, helper

from edgebench.controller.costmodel import (
    CostModelError,
    analyze_model,
    parse_input_shape,
    parse_input_shapes,
)


def dynamic_conv_model() -> onnx.ModelProto:
    return onnx_model([helper.make_node("Conv", ["images", "W"], ["y"], pads=[1, 1, 1, 1])],
                      {"images": ["batch", 3, "height", 32]}, ["y"], [weight("W", [8, 3, 3, 3])])


def test_symbolic_dim_without_override_names_input_and_dim(tmp_path):
    path = save(dynamic_conv_model(), tmp_path)
    with pytest.raises(CostModelError) as err:
        analyze_model(path)
    message = str(err.value)
    assert "'images'" in message and "'batch'" in message and "axis 0" in message
    assert "--input-shape images=" in message


def test_override_resolves_symbolic_dims(tmp_path):
    cost = analyze_onnx(tmp_path, dynamic_conv_model(), {"images": [2, 3, 16, 32]})
    assert node_of(cost, "Conv").macs == 2 * 8 * 16 * 32 * 27
    assert cost.input_shapes == {"images": (2, 3, 16, 32)}


def test_partial_override_still_names_the_remaining_dim(tmp_path):
    model = onnx_model([helper.make_node("Relu", ["x"], ["y"])], {"x": ["n", "c"]}, ["y"])
    path = save(model, tmp_path)
    with pytest.raises(CostModelError, match="symbolic dim 'n'"):
        analyze_model(path)


@pytest.mark.parametrize("shapes,fragment", [
    ({"nope": [1, 3, 8, 32]}, "model's inputs are: 'images'"),
    ({"images": [1, 3, 8]}, "rank 4"),
    ({"images": [1, 4, 8, 32]}, "dim 1 is fixed at 3"),
])
def test_bad_overrides_are_clear(tmp_path, shapes, fragment):
    path = save(dynamic_conv_model(), tmp_path)
    with pytest.raises(CostModelError, match=fragment):
        analyze_model(path, shapes)


def test_parse_input_shape():
    assert parse_input_shape("input=1x3x224x224") == ("input", [1, 3, 224, 224])
    assert parse_input_shape("serving_default_x:0=1x8") == ("serving_default_x:0", [1, 8])
    assert parse_input_shapes(["a=1x2", "b=3"]) == {"a": [1, 2], "b": [3]}
    for bad in ("input", "input=", "=1x2", "input=1xfoo", "input=0x3"):
        with pytest.raises(CostModelError):
            parse_input_shape(bad)


def external_data_model(tmp_path):
    model = onnx_model([
        helper.make_node("Conv", ["x", "W"], ["c"]),
        helper.make_node("Reshape", ["c", "shape"], ["y"]),
    ], {"x": [1, 2, 6, 6]}, ["y"], [weight("W", [4, 2, 3, 3]), helper.make_tensor("shape", TensorProto.INT64, [2], [1, -1])])
    path = tmp_path / "ext.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.weights", size_threshold=0)
    assert (tmp_path / "ext.weights").is_file()
    return path


def test_external_data_beside_the_model(tmp_path):
    cost = analyze_model(external_data_model(tmp_path))
    assert node_of(cost, "Conv").macs == 4 * 16 * 18
    assert cost.params == 72
    # the small shape tensor was read from the side file, so the Reshape output is known
    assert node_of(cost, "Reshape").output_shapes == [(1, 64)]
    assert cost.warnings == []


def test_external_data_missing_is_reported_by_file_name(tmp_path):
    path = external_data_model(tmp_path)
    (tmp_path / "ext.weights").unlink()
    cost = analyze_model(path)
    assert any("ext.weights" in w and "not found" in w for w in cost.warnings)
    assert node_of(cost, "Conv").macs == 4 * 16 * 18  # weights' dims are in the file, values are not needed


def test_not_an_onnx_file(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x00\x01 definitely not protobuf \xff" * 10)
    with pytest.raises(CostModelError, match="junk.onnx"):
        analyze_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(CostModelError, match="no such model file"):
        analyze_model(tmp_path / "absent.onnx")


def test_strict_inference_failure_falls_back_with_a_warning(tmp_path):
    model = onnx_model([helper.make_node("Add", ["x", "c"], ["y"])], {"x": [2, 3]}, ["y"],
                       [helper.make_tensor("c", TensorProto.INT64, [3], [1, 2, 3])])
    cost = analyze_onnx(tmp_path, model)
    assert any("strict shape inference failed" in w for w in cost.warnings)
    assert node_of(cost, "Add").elementwise_ops == 6


def test_control_flow_is_uncounted_with_a_reason(tmp_path):
    branch = helper.make_graph([helper.make_node("Identity", ["x"], ["o"])], "b", [],
                               [helper.make_tensor_value_info("o", TensorProto.FLOAT, [2])])
    model = onnx_model([helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch, name="branchy")],
                       {"cond": [], "x": [2]}, ["y"], input_types={"cond": TensorProto.BOOL})
    cost = analyze_onnx(tmp_path, model)
    assert [n.name for n in cost.uncounted] == ["branchy"]
    assert "control flow" in cost.uncounted[0].reason
