"""Pure functions with real inputs: target syntax, input generation, latency statistics."""
from __future__ import annotations

import numpy as np
import pytest

from edgebench.agent import DEFAULT_PORT
from edgebench.agent.inputs import ID_UPPER_BOUND, ResolvedInput, make_input, resolve_shapes
from edgebench.agent.runtimes.base import ModelError, TensorSpec
from edgebench.agent.stats import summarize_latency
from edgebench.controller.link.target import TargetError, parse_target


@pytest.mark.parametrize("text,host,port,user", [
    ("pi@10.0.0.5", "10.0.0.5", DEFAULT_PORT, "pi"),
    ("10.0.0.5:9000", "10.0.0.5", 9000, ""),
    ("jetson.local", "jetson.local", DEFAULT_PORT, ""),
    ("me@[fe80::1]:7000", "fe80::1", 7000, "me"),
    ("::1", "::1", DEFAULT_PORT, ""),
])
def test_parse_target(text, host, port, user):
    target = parse_target(text)
    assert (target.host, target.port, target.user) == (host, port, user)
    assert not target.is_local


def test_parse_target_local_and_errors():
    assert parse_target("local").is_local
    assert parse_target("me@[fe80::1]:7000").grpc_address == "[fe80::1]:7000"
    for bad in ("pi@", "@host", "host:0", "host:abc", "ho st", "a@b@", ""):
        with pytest.raises(TargetError):
            parse_target(bad)


def test_inputs_per_dtype_are_valid_and_seeded():
    rng = np.random.default_rng(7)
    i8 = make_input(ResolvedInput(TensorSpec("q", "int8", [1, 1000], (0.1, 3)), [1, 1000]), rng)
    assert i8.dtype == np.int8 and i8.min() < -100 and i8.max() > 100  # the whole quantized range is used
    u8 = make_input(ResolvedInput(TensorSpec("q", "uint8", [4096]), [4096]), rng)
    assert u8.dtype == np.uint8 and u8.max() > 200
    ids = make_input(ResolvedInput(TensorSpec("ids", "int64", [1, 512]), [1, 512]), rng)
    assert ids.dtype == np.int64 and 0 <= ids.min() and ids.max() < ID_UPPER_BOUND
    f = make_input(ResolvedInput(TensorSpec("x", "float16", [2, 3]), [2, 3]), rng)
    assert f.dtype == np.float16 and np.isfinite(f).all()
    a = make_input(ResolvedInput(TensorSpec("x", "float32", [8]), [8]), np.random.default_rng(1))
    b = make_input(ResolvedInput(TensorSpec("x", "float32", [8]), [8]), np.random.default_rng(1))
    assert np.array_equal(a, b)


def test_resolve_shapes_rules():
    specs = [TensorSpec("x", "float32", [None, 3, "h", "w"])]
    resolved, warnings = resolve_shapes(specs, {"x": [2, 3, 8, 8]})
    assert resolved[0].shape == [2, 3, 8, 8] and warnings == []
    with pytest.raises(ModelError, match="dynamic dim h at axis 2"):
        resolve_shapes(specs, {})
    resolved, warnings = resolve_shapes([TensorSpec("x", "float32", ["batch", 4])], {})
    assert resolved[0].shape == [1, 4] and "batch" in warnings[0]
    with pytest.raises(ModelError, match="at axis 1"):
        resolve_shapes(specs, {"x": [1, 4, 8, 8]})


def test_latency_summary_matches_numpy():
    samples = [1_000_000, 2_000_000, 3_000_000, 10_000_000]
    s = summarize_latency(samples, window_ns=20_000_000)
    assert (s.min_ms, s.max_ms, s.count) == (1.0, 10.0, 4)
    assert s.p50_ms == pytest.approx(2.5) and s.mean_ms == pytest.approx(4.0)
    assert s.std_ms == pytest.approx(np.std([1, 2, 3, 10], ddof=1))
    assert s.throughput_ips == pytest.approx(200.0)
    with pytest.raises(ValueError):
        summarize_latency([], 1)
