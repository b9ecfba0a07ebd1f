"""float16 copies of the suite's ONNX networks, as float16 converters write them (weights and activations in
float16, float32 I/O through Cast at the edges). onnxruntime's CPU kernels that have no float16 version get
Casts inserted around them by onnxruntime itself: the board's optimized graph shows them, and the suite
measures them like every other kernel."""
from __future__ import annotations

import numpy as np


def to_float16(model_bytes: bytes) -> bytes:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            graph.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16),
                                                                  init.name))
    nodes = []
    renamed: dict[str, str] = {}
    for vi in graph.input:
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            inner = f"{vi.name}_fp16"
            nodes.append(helper.make_node("Cast", [vi.name], [inner], name=f"cast_{vi.name}", to=TensorProto.FLOAT16))
            renamed[vi.name] = inner
    for node in graph.node:
        node.input[:] = [renamed.get(x, x) for x in node.input]
        nodes.append(node)
    for out in graph.output:
        if out.type.tensor_type.elem_type == TensorProto.FLOAT:
            inner = f"{out.name}_fp16"
            for node in nodes:
                node.output[:] = [inner if o == out.name else o for o in node.output]
                node.input[:] = [inner if x == out.name else x for x in node.input]
            nodes.append(helper.make_node("Cast", [inner], [out.name], name=f"cast_{out.name}", to=TensorProto.FLOAT))
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]  # float32 value types would contradict the float16 tensors
    return model.SerializeToString()
