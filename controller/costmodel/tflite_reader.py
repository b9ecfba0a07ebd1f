"""TFLite flatbuffer → IR, read with the schema bindings that ship in `ai_edge_litert`.

The flatbuffer stores a shape for every tensor, but those are only the writer's claim: kernels recompute
their output shapes when the interpreter prepares the model. So shapes come from the LiteRT interpreter
(allocate only, nothing is invoked), which is also how `--input-shape` overrides propagate; the stored
shapes are the fallback when the interpreter cannot prepare the model (e.g. a custom op it lacks).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edgebench.agent.model_format import HEAD_BYTES, TFLITE, TFLITE_IDENTIFIER, sniff_bytes

from .errors import CostModelError
from .ir import Graph, Node, Tensor
from .shapes import InputShapes, format_shape

SUPPORTED_SCHEMA_VERSION = 3
_CUSTOM = 32  # BuiltinOperator.CUSTOM

_TFLITE_DTYPES = {
    "FLOAT32": "float32", "FLOAT16": "float16", "FLOAT64": "float64", "BFLOAT16": "bfloat16",
    "INT64": "int64", "INT32": "int32", "INT16": "int16", "INT8": "int8", "INT4": "int4", "INT2": "int2",
    "UINT64": "uint64", "UINT32": "uint32", "UINT16": "uint16", "UINT8": "uint8", "UINT4": "uint4",
    "BOOL": "bool", "STRING": "string", "COMPLEX64": "complex64", "COMPLEX128": "complex128",
    "FLOAT8_E4M3FN": "float8_e4m3fn", "FLOAT8_E5M2": "float8_e5m2",
}


def schema() -> Any:
    try:
        from ai_edge_litert import schema_py_generated  # noqa: PLC0415  (lazy: only TFLite needs it)
    except ImportError as exc:
        raise CostModelError(
            "reading TFLite models needs the 'ai-edge-litert' package (its schema bindings): "
            "pip install ai-edge-litert"
        ) from exc
    return schema_py_generated


def _enum_names(enum_cls: Any) -> dict[int, str]:
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


def read_tflite(path: str | os.PathLike[str], input_shapes: InputShapes | None = None) -> Graph:
    s = schema()
    path = Path(path)
    buf = path.read_bytes()
    if sniff_bytes(buf[:HEAD_BYTES], path.name).format != TFLITE:
        found = buf[4:8] if len(buf) >= 8 else buf
        raise CostModelError(f"{path.name}: not a TFLite flatbuffer (file identifier {found!r}, "
                             f"expected {TFLITE_IDENTIFIER!r})")
    model = s.Model.GetRootAs(buf, 0)
    version = model.Version()
    if version != SUPPORTED_SCHEMA_VERSION:
        raise CostModelError(
            f"{path.name}: TFLite schema version {version} is not supported (this reader understands version "
            f"{SUPPORTED_SCHEMA_VERSION}, the one every TFLite/LiteRT converter since 2018 writes)"
        )
    if model.SubgraphsLength() == 0:
        raise CostModelError(f"{path.name}: TFLite model has no subgraphs")
    warnings: list[str] = []
    if model.SubgraphsLength() > 1:
        warnings.append(
            f"model has {model.SubgraphsLength()} subgraphs; only the main one (0) is counted — ops inside "
            "WHILE/IF/CALL_ONCE bodies are not"
        )

    op_names = _operator_names(s, model, path)
    type_names = _enum_names(s.TensorType)
    sg = model.Subgraphs(0)

    tensors: list[Tensor] = []
    used_names: set[str] = set()
    signatures: list[tuple[int, ...] | None] = []
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        raw_name = _text(t.Name(), path, f"the name of tensor {i}") or f"tensor_{i}"
        name = raw_name if raw_name not in used_names else f"{raw_name}#{i}"
        used_names.add(name)
        shape = tuple(int(t.Shape(j)) for j in range(t.ShapeLength()))
        signature = tuple(int(t.ShapeSignature(j)) for j in range(t.ShapeSignatureLength())) or None
        dtype = _TFLITE_DTYPES.get(type_names.get(t.Type(), ""), f"tflite_type_{t.Type()}")
        is_weight = _has_data(model, t) and not t.IsVariable()
        tensors.append(Tensor(name, shape, dtype, is_weight))
        signatures.append(signature)

    input_idx = [int(sg.Inputs(j)) for j in range(sg.InputsLength())]
    output_idx = [int(sg.Outputs(j)) for j in range(sg.OutputsLength())]
    overrides = dict(input_shapes or {})
    _check_overrides(path, tensors, input_idx, overrides)
    for idx in input_idx:
        sig = signatures[idx]
        if tensors[idx].name not in overrides and sig and any(d < 0 for d in sig):
            warnings.append(
                f"input {tensors[idx].name!r} has dynamic dims (signature {format_shape(sig)}); counted at the "
                f"stored shape {format_shape(tensors[idx].shape)} as the interpreter runs it by default — "
                f"use --input-shape {tensors[idx].name}=... for another size"
            )
    _propagate_shapes(path, buf, tensors, input_idx, overrides, warnings)

    nodes: list[Node] = []
    node_names: set[str] = set()
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        op_type, domain = op_names.get(op.OpcodeIndex(), (f"OPCODE_{op.OpcodeIndex()}", "tflite"))
        inputs = [tensors[k].name if k >= 0 else "" for k in (int(op.Inputs(j)) for j in range(op.InputsLength()))]
        outputs = [tensors[k].name for k in (int(op.Outputs(j)) for j in range(op.OutputsLength())) if k >= 0]
        base = outputs[0] if outputs else f"{op_type}_{i}"
        name = base if base not in node_names else f"{base}#{i}"
        node_names.add(name)
        nodes.append(Node(name, op_type, inputs, outputs, _options(s, op), domain))

    return Graph(
        name=path.name,
        format="tflite",
        tensors={t.name: t for t in tensors},
        nodes=nodes,
        inputs=[tensors[i].name for i in input_idx],
        outputs=[tensors[i].name for i in output_idx],
        warnings=warnings,
    )


def _text(raw: bytes | None, path: Path, what: str) -> str:
    """A flatbuffer string as text; bytes that are not UTF-8 are a damaged file, refused naming where they are."""
    try:
        return (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise CostModelError(f"{path.name}: {what} is not valid UTF-8 text ({raw[:40]!r}): the file is damaged") \
            from None


def _operator_names(s: Any, model: Any, path: Path) -> dict[int, tuple[str, str]]:
    builtin_names = _enum_names(s.BuiltinOperator)
    names: dict[int, tuple[str, str]] = {}
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        # Codes < 127 live in the old int8 field too; the real code is the larger of the two (schema rule).
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        if code == _CUSTOM:
            custom = _text(oc.CustomCode(), path, f"the custom code of operator code {i}") or "CUSTOM"
            names[i] = (custom, "custom")
        else:
            names[i] = (builtin_names.get(code, f"BUILTIN_{code}"), "tflite")
    return names


def _has_data(model: Any, t: Any) -> bool:
    if t.ExternalBuffer() > 0:  # weights kept in a side file (large-model format)
        return True
    idx = t.Buffer()
    if idx <= 0 or idx >= model.BuffersLength():
        return False
    b = model.Buffers(idx)
    # offset > 1: data appended after the flatbuffer (models > 2 GB); 1 is the "empty" sentinel.
    return b.DataLength() > 0 or b.Offset() > 1


def _options(s: Any, op: Any) -> dict[str, Any]:
    kind = op.BuiltinOptionsType()
    table = op.BuiltinOptions()
    if not kind or table is None:
        return {}
    obj = s.BuiltinOptionsCreator(kind, table)
    if obj is None:
        return {}
    return {k: v for k, v in vars(obj).items() if isinstance(v, (int, float, bool, str, list, tuple))}


def _check_overrides(path: Path, tensors: list[Tensor], input_idx: list[int], overrides: dict[str, Any]) -> None:
    names = {tensors[i].name: i for i in input_idx}
    for name, dims in overrides.items():
        if name not in names:
            raise CostModelError(
                f"{path.name}: --input-shape names {name!r}, but the model's inputs are: "
                + ", ".join(repr(n) for n in names)
            )
        stored = tensors[names[name]].shape or ()
        if len(stored) != len(dims):
            raise CostModelError(
                f"{path.name}: input {name!r} has rank {len(stored)} ({format_shape(stored)}) but --input-shape "
                f"gives {len(dims)} dims ({format_shape(list(dims))})"
            )


def _propagate_shapes(
    path: Path, buf: bytes, tensors: list[Tensor], input_idx: list[int], overrides: dict[str, Any],
    warnings: list[str],
) -> None:
    """Shapes as the interpreter computes them in Prepare, which is what actually runs.

    Stored shapes are only the converter's (or writer's) claim: kernels recompute their outputs from the
    op options at allocation, so a file whose stored shapes are stale still runs with the right ones.
    """
    resized = any(tuple(overrides[tensors[i].name]) != tensors[i].shape for i in input_idx
                  if tensors[i].name in overrides)
    try:
        shapes = _interpreter_shapes(buf, tensors, input_idx, overrides)
    except ImportError as exc:
        if resized:
            raise CostModelError(
                f"{path.name}: changing a TFLite input shape needs the LiteRT interpreter (ai-edge-litert)"
            ) from exc
        warnings.append("LiteRT interpreter unavailable: counted with the shapes stored in the file")
        return
    except Exception as exc:  # the interpreter raises RuntimeError/ValueError with its own text
        if resized:
            raise CostModelError(f"{path.name}: the interpreter could not resize the inputs as asked: {exc}") from exc
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        warnings.append(f"the LiteRT interpreter could not prepare the model ({first}); "
                        "counted with the shapes stored in the file")
        return
    stale = []
    for idx, shape in shapes.items():
        if tensors[idx].shape != shape:
            if not resized:
                stale.append((tensors[idx].name, tensors[idx].shape, shape))
            tensors[idx].shape = shape
    if stale:
        name, stored, actual = stale[0]
        warnings.append(
            f"{len(stale)} tensor shape(s) stored in the file differ from what the interpreter computes "
            f"(e.g. {name!r} stored {format_shape(stored)}, runs as {format_shape(actual)}); counted with "
            "the interpreter's shapes"
        )


def _interpreter_shapes(
    buf: bytes, tensors: list[Tensor], input_idx: list[int], overrides: dict[str, Any]
) -> dict[int, tuple[int, ...]]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: PLC0415  (only TFLite needs it)

    # Without the default XNNPACK delegate: a delegated partition never resizes its inner tensors.
    interpreter = Interpreter(
        model_content=buf, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    for i in input_idx:
        if tensors[i].name in overrides:
            interpreter.resize_tensor_input(i, list(overrides[tensors[i].name]), strict=False)
    interpreter.allocate_tensors()
    shapes = {}
    for d in interpreter.get_tensor_details():
        idx = int(d["index"])
        if 0 <= idx < len(tensors):  # indices past the file's tensors are the interpreter's scratch buffers
            shapes[idx] = tuple(int(x) for x in d["shape"])
    return shapes
