"""Both cost-model readers against mutated ONNX and TFLite files, in-process: a clear error or a valid result.

The default run is 10,000 cases (2,000 per seed model); EDGEBENCH_RELIABILITY_FUZZ_CASES sets the number per
seed. Every case either returns a ModelCost or raises CostModelError with one line naming the file.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebench.controller import zoo
from edgebench.controller.costmodel import CostModelError, ModelCost, analyze_model
from tests.reliability.helpers import scale

SEEDS = {
    "zoo:tiny_cnn": None,
    "zoo:mlp": None,
    "zoo:dynamic_cnn": {"x": [1, 3, 16, 16]},
    "zoo:tiny_cnn_tflite": None,
    "zoo:tiny_cnn_int8_tflite": None,
}
CASES_PER_SEED = scale("fuzz_cases", 2000)
SCRATCH = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())


@st.composite
def mutations(draw, data: bytes) -> bytes:
    """Byte overwrites, a splice of random bytes, a truncation, or several at once."""
    out = bytearray(data)
    for pos, value in draw(st.lists(st.tuples(st.integers(0, len(out) - 1), st.integers(0, 255)), max_size=12)):
        out[pos] = value
    if draw(st.booleans()):
        at = draw(st.integers(0, len(out)))
        out[at:at] = draw(st.binary(min_size=1, max_size=64))
    if draw(st.integers(0, 9)) == 0:
        out = out[: draw(st.integers(0, len(out)))]
    return bytes(out)


def check_one(path: Path, shapes) -> None:
    """A cost whose every name is text and which the store's JSON takes as it is, or one line naming the file."""
    try:
        cost = analyze_model(path, shapes)
    except CostModelError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message, message
        assert path.name in message, f"the error does not name the file: {message}"
        return
    assert isinstance(cost, ModelCost) and cost.macs >= 0
    for node in cost.nodes:
        texts = [node.name, node.op_type, node.domain, node.kind, *node.inputs, *node.outputs]
        assert all(isinstance(t, str) for t in texts), f"a name that is not text: {texts}"
    json.dumps(dataclasses.asdict(cost), allow_nan=False)  # what store.add_runs and --json do with it


@pytest.mark.slow
@pytest.mark.parametrize("seed", list(SEEDS))
def test_reader_on_mutated_models(seed):
    source = zoo.resolve(seed)
    data = source.read_bytes()
    shapes = SEEDS[seed]
    target = SCRATCH / f"edgebench-fuzz-{os.getpid()}{source.suffix}"
    check_one(source, shapes)  # the seed itself reads cleanly

    @settings(max_examples=CASES_PER_SEED, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(mutations(data))
    def case(mutated: bytes) -> None:
        target.write_bytes(mutated)
        check_one(target, shapes)

    try:
        case()
    finally:
        target.unlink(missing_ok=True)


def test_names_that_are_not_text_are_refused_naming_where(tmp_path):
    """What the agent-and-store fuzzing found: an op_type that is not UTF-8 came back as bytes and the
    controller died storing the cost. Each reader now refuses it in one line naming the node or tensor."""
    onnx_model = zoo.resolve("zoo:tiny_cnn")
    data = onnx_model.read_bytes()
    assert b"Relu" in data
    bad_onnx = tmp_path / "bad_op.onnx"
    bad_onnx.write_bytes(data.replace(b"Relu", b"Re\xffu", 1))
    with pytest.raises(CostModelError) as err:
        analyze_model(bad_onnx, None)
    assert str(err.value).startswith("bad_op.onnx: the op_type of node ") and "not valid UTF-8" in str(err.value)

    from edgebench.controller.costmodel import tflite_reader

    tflite_model = zoo.resolve("zoo:tiny_cnn_tflite")
    graph = tflite_reader.read_tflite(tflite_model)
    data = tflite_model.read_bytes()
    # A tensor name found once in the file is that tensor's own string (a signature may repeat an input's).
    name = next(t.name.encode() for t in graph.tensors.values() if len(t.name) > 3 and data.count(t.name.encode()) == 1)
    bad_tflite = tmp_path / "bad_name.tflite"
    bad_tflite.write_bytes(data.replace(name, name[:1] + b"\xff" + name[2:], 1))
    with pytest.raises(CostModelError) as err:
        analyze_model(bad_tflite, None)
    assert str(err.value).startswith("bad_name.tflite: the name of tensor ") and "not valid UTF-8" in str(err.value)
