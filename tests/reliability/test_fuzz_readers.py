"""Both cost-model readers against mutated ONNX and TFLite files, in-process: a clear error or a valid result.

The default run is 10,000 cases (2,000 per seed model); EDGEBENCH_RELIABILITY_FUZZ_CASES sets the number per
seed. Every case either returns a ModelCost or raises CostModelError with one line naming the file.
"""
from __future__ import annotations

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
    try:
        cost = analyze_model(path, shapes)
    except CostModelError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return
    assert isinstance(cost, ModelCost) and cost.macs >= 0


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
