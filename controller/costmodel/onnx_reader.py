"""ONNX → IR: load the graph without weight data, fix dynamic dims, run shape inference.

Counting needs shapes, never weight values, so:
- the model is loaded with `load_external_data=False` and external weights are never read (their dims are
  in the TensorProto); only small integer tensors that shape inference may need are pulled in when present;
- shape inference runs on a skeleton where large initializers are replaced by typed graph inputs, so a
  100 MB ResNet-50 does not get serialised into the C++ inference engine (that copy dominated load time).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .const_eval import evaluate_small_constants, with_constants
from .contrib_shapes import fill_contrib_shapes
from .errors import CostModelError
from .ir import Graph, Node, Tensor
from .shapes import InputShapes, format_shape

# Initializers at most this many elements stay in the skeleton: shape tensors, axes, scales.
_SMALL_INITIALIZER = 1024
_MAX_CONTRIB_ROUNDS = 64

_ONNX_DTYPES = {
    "FLOAT": "float32", "DOUBLE": "float64", "FLOAT16": "float16", "BFLOAT16": "bfloat16",
    "INT8": "int8", "UINT8": "uint8", "INT16": "int16", "UINT16": "uint16", "INT32": "int32",
    "UINT32": "uint32", "INT64": "int64", "UINT64": "uint64", "BOOL": "bool", "STRING": "string",
    "COMPLEX64": "complex64", "COMPLEX128": "complex128", "INT4": "int4", "UINT4": "uint4",
    "INT2": "int2", "UINT2": "uint2", "FLOAT8E4M3FN": "float8_e4m3fn", "FLOAT8E4M3FNUZ": "float8_e4m3fnuz",
    "FLOAT8E5M2": "float8_e5m2", "FLOAT8E5M2FNUZ": "float8_e5m2fnuz",
}


_ONNX_ELEM_TYPES = {
    "float32": 1, "uint8": 2, "int8": 3, "uint16": 4, "int16": 5, "int32": 6, "int64": 7, "bool": 9,
    "float16": 10, "float64": 11, "uint32": 12, "uint64": 13, "bfloat16": 16,
}


def _onnx():
    try:
        import onnx  # noqa: PLC0415  (heavy; only the predict path needs it)
    except ImportError as exc:  # pragma: no cover - onnx is a host dependency
        raise CostModelError("reading ONNX models needs the 'onnx' package: pip install 'edgebench[host]'") from exc
    return onnx


def dtype_name(onnx_mod: Any, elem_type: int) -> str:
    try:
        name = onnx_mod.TensorProto.DataType.Name(elem_type)
    except ValueError:
        return f"onnx_type_{elem_type}"
    return _ONNX_DTYPES.get(name, name.lower())


def read_onnx(path: str | os.PathLike[str], input_shapes: InputShapes | None = None) -> Graph:
    onnx = _onnx()
    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise CostModelError(f"{path}: not a readable ONNX model ({exc.__class__.__name__}: {exc})") from exc
    warnings: list[str] = []

    _check_text(model, path)
    _check_external_data(onnx, model, path.parent, warnings)
    if len(model.functions):
        # Model-local functions (e.g. from the dynamo exporter) are expanded so every op is counted.
        from onnx import inliner  # noqa: PLC0415

        model = inliner.inline_local_functions(model)

    graph = model.graph
    init_names = {t.name for t in graph.initializer} | {t.values.name for t in graph.sparse_initializer}
    runtime_inputs = [vi for vi in graph.input if vi.name not in init_names]
    _apply_input_shapes(path, runtime_inputs, input_shapes or {})
    _require_static_inputs(path, runtime_inputs, warnings)

    skeleton = _skeleton(onnx, model)
    inferred = _infer_shapes(onnx, skeleton, warnings)
    graph = _build_graph(onnx, path, model, inferred, runtime_inputs, warnings)
    if _has_unknown_outputs(graph):
        # Shape arithmetic that data propagation could not follow: evaluate it, as onnxruntime would.
        values = evaluate_small_constants(onnx, model, skeleton, graph)
        if values:
            skeleton = with_constants(onnx, skeleton, values)
            inferred = _infer_shapes(onnx, skeleton, [])
            graph = _build_graph(onnx, path, model, inferred, runtime_inputs, warnings)
    # onnx does not know com.microsoft ops: give their outputs shapes, then let inference carry them on
    # through the standard ops downstream (it starts from the value_info it is given).
    # Each round crosses one run of standard ops between contrib ops, so a deep ORT-optimized graph
    # (FusedConv → Add → FusedConv ...) needs about one round per residual block.
    for _ in range(_MAX_CONTRIB_ROUNDS):
        filled = fill_contrib_shapes(graph)
        if not filled:
            break
        for name in filled:
            t = graph.tensors[name]
            skeleton.graph.value_info.append(
                onnx.helper.make_tensor_value_info(name, _ONNX_ELEM_TYPES.get(t.dtype, 1), list(t.shape or ())))
        inferred = _infer_shapes(onnx, skeleton, [])
        graph = _build_graph(onnx, path, model, inferred, runtime_inputs, warnings)
    return graph


def _check_text(model: Any, path: Path) -> None:
    """Protobuf hands back a proto2 string that is not valid UTF-8 as bytes: a damaged file. Refuse it naming
    the node or tensor, instead of carrying bytes into names that every report and store then chokes on."""
    def damaged(what: str, value: bytes) -> CostModelError:
        return CostModelError(f"{path.name}: {what} is not valid UTF-8 text ({value[:40]!r}): the file is damaged")

    graphs = [("graph", model.graph.node)] + [(f"function {i}", f.node) for i, f in enumerate(model.functions)]
    for where, nodes in graphs:
        for index, node in enumerate(nodes):
            label = f"node {index}" + (f" ({node.name!r})" if isinstance(node.name, str) and node.name else "")
            label += f" of the {where}" if where != "graph" else ""
            for field in ("name", "op_type", "domain"):
                value = getattr(node, field)
                if isinstance(value, bytes):
                    raise damaged(f"the {field} of {label}", value)
            for kind, names in (("input", node.input), ("output", node.output)):
                for name in names:
                    if isinstance(name, bytes):
                        raise damaged(f"an {kind} name of {label}", name)
            for attr in node.attribute:
                if isinstance(attr.name, bytes):
                    raise damaged(f"an attribute name of {label}", attr.name)
    graph = model.graph
    for kind, values in (("graph input", graph.input), ("graph output", graph.output),
                         ("value_info", graph.value_info), ("initializer", graph.initializer)):
        for index, value in enumerate(values):
            if isinstance(value.name, bytes):
                raise damaged(f"the name of {kind} {index}", value.name)
    for index, sparse in enumerate(graph.sparse_initializer):
        if isinstance(sparse.values.name, bytes):
            raise damaged(f"the name of sparse initializer {index}", sparse.values.name)
    for index, opset in enumerate(model.opset_import):
        if isinstance(opset.domain, bytes):
            raise damaged(f"the domain of opset import {index}", opset.domain)


def _check_external_data(onnx: Any, model: Any, base_dir: Path, warnings: list[str]) -> None:
    # Heavy, like every onnx import here: only ONNX models need it.
    from onnx.external_data_helper import ExternalDataInfo, load_external_data_for_tensor  # noqa: PLC0415

    external = [t for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if not external:
        return
    locations = sorted({ExternalDataInfo(t).location for t in external})
    missing = [loc for loc in locations if not (base_dir / loc).is_file()]
    if missing:
        warnings.append(
            f"{len(external)} weight tensor(s) are stored as external data in {', '.join(missing)}, not found "
            f"beside the model in {base_dir}; counts use the tensors' declared dims (no values are needed), "
            "but onnxruntime will need those files to run it"
        )
        return
    # Beside the model: pull in only the small integer tensors shape inference may read (Reshape shapes...).
    for tensor in external:
        numel = 1
        for d in tensor.dims:
            numel *= d
        if numel <= _SMALL_INITIALIZER and tensor.data_type in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):
            load_external_data_for_tensor(tensor, str(base_dir))
            tensor.data_location = onnx.TensorProto.DEFAULT
            del tensor.external_data[:]


def _apply_input_shapes(path: Path, runtime_inputs: list[Any], overrides: InputShapes) -> None:
    by_name = {vi.name: vi for vi in runtime_inputs}
    for name, dims in overrides.items():
        vi = by_name.get(name)
        if vi is None:
            raise CostModelError(
                f"{path.name}: --input-shape names {name!r}, but the model's inputs are: "
                + ", ".join(repr(n) for n in by_name)
            )
        tensor_type = vi.type.tensor_type
        current = tensor_type.shape.dim if tensor_type.HasField("shape") else None
        if current is not None and len(current) != len(dims):
            raise CostModelError(
                f"{path.name}: input {name!r} has rank {len(current)} ({_declared(vi)}) but --input-shape gives "
                f"{len(dims)} dims ({format_shape(list(dims))})"
            )
        if current is not None:
            for axis, (dim, value) in enumerate(zip(current, dims, strict=True)):
                if dim.HasField("dim_value") and dim.dim_value != value:
                    raise CostModelError(
                        f"{path.name}: input {name!r} dim {axis} is fixed at {dim.dim_value} in the model but "
                        f"--input-shape gives {value}"
                    )
        tensor_type.shape.ClearField("dim")
        for value in dims:
            tensor_type.shape.dim.add().dim_value = int(value)


def _declared(vi: Any) -> str:
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return "unknown shape"
    return "x".join(
        str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim
    )


def _require_static_inputs(path: Path, runtime_inputs: list[Any], warnings: list[str]) -> None:
    for vi in runtime_inputs:
        if not vi.type.HasField("tensor_type"):
            # Sequence / optional / map inputs: nothing to fix, the nodes reading them end up uncounted.
            warnings.append(f"input {vi.name!r} is not a tensor (sequence, optional or map); its size is unknown")
            continue
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            raise CostModelError(
                f"{path.name}: input {vi.name!r} has no declared shape; pass --input-shape {vi.name}=D1xD2x..."
            )
        for axis, dim in enumerate(tt.shape.dim):
            if not dim.HasField("dim_value") or dim.dim_value < 0:  # 0 is a real (empty) dim
                symbol = dim.dim_param or "?"
                example = "x".join(
                    str(d.dim_value) if d.HasField("dim_value") and d.dim_value >= 0 else f"<{d.dim_param or 'N'}>"
                    for d in tt.shape.dim
                )
                raise CostModelError(
                    f"{path.name}: input {vi.name!r} has symbolic dim {symbol!r} (axis {axis}, declared shape "
                    f"{_declared(vi)}); fix it with --input-shape {vi.name}={example}"
                )


def _skeleton(onnx: Any, model: Any) -> Any:
    """The model with large initializers turned into typed graph inputs: same shapes, a fraction of the bytes."""
    src = model.graph
    graph = onnx.GraphProto(name=src.name)
    graph.node.extend(src.node)
    graph.output.extend(src.output)
    # Value-info with leftover symbolic dims (exporters write "batch_size") would only fight the fixed inputs.
    graph.value_info.extend(vi for vi in src.value_info if _fully_static(vi))
    graph.sparse_initializer.extend(src.sparse_initializer)
    declared_inputs = {vi.name for vi in src.input}
    graph.input.extend(src.input)
    for init in src.initializer:
        numel = 1
        for d in init.dims:
            numel *= d
        if numel <= _SMALL_INITIALIZER and init.data_location != onnx.TensorProto.EXTERNAL:
            graph.initializer.append(init)
        elif init.name not in declared_inputs:
            graph.input.append(onnx.helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
    skeleton = onnx.ModelProto(ir_version=max(model.ir_version, 4))
    skeleton.opset_import.extend(model.opset_import)
    skeleton.functions.extend(model.functions)
    skeleton.graph.CopyFrom(graph)
    return skeleton


def _has_unknown_outputs(graph: Graph) -> bool:
    return any(graph.tensors[o].shape is None for n in graph.nodes for o in n.outputs if o in graph.tensors)


def _fully_static(vi: Any) -> bool:
    if not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
        return False
    return all(d.HasField("dim_value") for d in vi.type.tensor_type.shape.dim)


def _infer_shapes(onnx: Any, skeleton: Any, warnings: list[str]) -> Any:
    try:
        return onnx.shape_inference.infer_shapes(skeleton, check_type=True, strict_mode=True, data_prop=True)
    except Exception as strict_exc:  # InferenceError, or a checker error from an exotic op
        first_line = str(strict_exc).strip().splitlines()[0] if str(strict_exc).strip() else type(strict_exc).__name__
        try:
            inferred = onnx.shape_inference.infer_shapes(skeleton, strict_mode=False, data_prop=True)
        except Exception as exc:
            warnings.append(f"shape inference failed ({exc}); only shapes declared in the file are known")
            return skeleton
        warnings.append(f"strict shape inference failed, used lenient inference instead: {first_line}")
        return inferred


def _value_info_shape(vi: Any) -> tuple[tuple[int, ...] | None, int]:
    if not vi.type.HasField("tensor_type"):
        return None, 0
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None, tt.elem_type
    dims = []
    for d in tt.shape.dim:
        if not d.HasField("dim_value") or d.dim_value < 0:
            return None, tt.elem_type
        dims.append(int(d.dim_value))
    return tuple(dims), tt.elem_type


def _build_graph(
    onnx: Any, path: Path, model: Any, inferred: Any, runtime_inputs: list[Any], warnings: list[str],
) -> Graph:
    tensors: dict[str, Tensor] = {}
    igraph = inferred.graph
    for vi in list(igraph.input) + list(igraph.value_info) + list(igraph.output):
        shape, elem = _value_info_shape(vi)
        if vi.name in tensors and tensors[vi.name].shape is not None:
            continue
        tensors[vi.name] = Tensor(vi.name, shape, dtype_name(onnx, elem))
    for init in igraph.initializer:  # small tensors, and shape arithmetic evaluated by const_eval
        if init.name not in tensors or tensors[init.name].shape is None:
            tensors[init.name] = Tensor(init.name, tuple(int(d) for d in init.dims), dtype_name(onnx, init.data_type))
    for init in model.graph.initializer:
        tensors[init.name] = Tensor(init.name, tuple(int(d) for d in init.dims), dtype_name(onnx, init.data_type), True)
    for sparse in model.graph.sparse_initializer:
        values = sparse.values
        tensors[values.name] = Tensor(values.name, tuple(int(d) for d in sparse.dims),
                                      dtype_name(onnx, values.data_type), True)

    nodes: list[Node] = []
    seen_names: set[str] = set()
    for index, proto in enumerate(model.graph.node):
        if proto.op_type == "Constant" and proto.domain in ("", "ai.onnx"):
            # Constants are weights: onnxruntime folds them into initializers before running anything.
            for out in proto.output:
                t = tensors.get(out)
                if t is None:
                    t = tensors[out] = Tensor(out, _constant_shape(proto), _constant_dtype(onnx, proto))
                t.is_weight = True
                if t.shape is None:
                    t.shape = _constant_shape(proto)
            continue
        name = proto.name or f"{proto.op_type}_{index}"
        if name in seen_names:  # names are optional and not always unique; reports key on them
            name = f"{name}_{index}"
        seen_names.add(name)
        attrs = {a.name: _attr_value(onnx, a) for a in proto.attribute}
        node = Node(name, proto.op_type, list(proto.input), list(proto.output), attrs, proto.domain,
                    named=bool(proto.name) and name == proto.name)
        for t_name in node.outputs:
            if t_name and t_name not in tensors:
                tensors[t_name] = Tensor(t_name, None, "unknown")
        for t_name in node.inputs:
            if t_name and t_name not in tensors:
                tensors[t_name] = Tensor(t_name, None, "unknown")
        nodes.append(node)

    return Graph(
        name=path.name,
        format="onnx",
        tensors=tensors,
        nodes=nodes,
        inputs=[vi.name for vi in runtime_inputs],
        outputs=[vi.name for vi in model.graph.output],
        warnings=warnings,
    )


def _attr_value(onnx: Any, attr: Any) -> Any:
    kind = attr.type
    if kind in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
        return "<subgraph>"  # control flow: contents are not counted (the node is reported uncounted)
    if kind == onnx.AttributeProto.TENSOR:
        return tuple(int(d) for d in attr.t.dims)
    value = onnx.helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
    return value


def _constant_shape(proto: Any) -> tuple[int, ...] | None:
    for attr in proto.attribute:
        if attr.name == "value":
            return tuple(int(d) for d in attr.t.dims)
        if attr.name in ("value_float", "value_int", "value_string"):
            return ()
        if attr.name in ("value_floats", "value_ints"):
            return (len(attr.floats) or len(attr.ints),)
        if attr.name == "value_strings":
            return (len(attr.strings),)
        if attr.name == "sparse_value":
            return tuple(int(d) for d in attr.sparse_tensor.dims)
    return None


def _constant_dtype(onnx: Any, proto: Any) -> str:
    for attr in proto.attribute:
        if attr.name == "value":
            return dtype_name(onnx, attr.t.data_type)
        if attr.name.startswith("value_float"):
            return "float32"
        if attr.name.startswith("value_int"):
            return "int64"
        if attr.name.startswith("value_string"):
            return "string"
        if attr.name == "sparse_value":
            return dtype_name(onnx, attr.sparse_tensor.values.data_type)
    return "unknown"
