"""Fleet and suite files (TOML). Every mistake is reported with the file, the table and the key.

fleet.toml                                  nightly.toml
    [[targets]]                                 name = "nightly"
    name = "pi5-a"                              [[benchmarks]]
    address = "pi@10.0.0.5"                     model = ["zoo:mobilenet_v2", "models/det.onnx"]
    labels = { rack = "2" }                     runtime = "onnxruntime"      # or a list; default auto
                                                ep = ["cpu"]                 # optional, str or list
                                                threads = [1, 4]
                                                runs = 200                   # and/or duration = 10
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

from .. import zoo
from ..errors import ControllerError
from ..link.target import TargetError, parse_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class ConfigError(ControllerError):
    pass


@dataclass(frozen=True)
class FleetTarget:
    name: str
    address: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteJob:
    """One job of the suite on one board: the product of a [[benchmarks]] table expanded."""
    model: str  # as bench takes it: zoo:NAME or an absolute path
    runtime: str  # auto / onnxruntime / tflite
    ep: str
    threads: int
    runs: int
    duration_s: float
    warmup: int
    timeout_s: float

    @property
    def name(self) -> str:
        model = self.model.removeprefix(zoo.ZOO_PREFIX) if zoo.is_zoo_ref(self.model) else Path(self.model).stem
        return f"{model} {self.runtime} {self.ep or 'default-ep'} threads={self.threads}"


@dataclass
class Suite:
    name: str
    jobs: list[SuiteJob]


FLEET_TOP = {"targets"}
TARGET_KEYS = {"name", "address", "labels"}
SUITE_TOP = {"name", "benchmarks"}
BENCH_KEYS = {"model", "runtime", "ep", "threads", "runs", "duration", "warmup", "timeout"}
RUNTIMES = {"auto", "onnxruntime", "tflite"}


def _load(path: Path, what: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _check_keys(where: str, table: dict[str, Any], known: set[str]) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r} (known keys: {', '.join(sorted(known))})")


def _tables(path: Path, doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    tables = doc.get(key)
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{path}: needs at least one [[{key}]] table")
    return tables


def load_fleet(path: str | Path) -> list[FleetTarget]:
    path = Path(path)
    doc = _load(path, "fleet")
    _check_keys(f"{path}", doc, FLEET_TOP)
    targets: list[FleetTarget] = []
    for i, t in enumerate(_tables(path, doc, "targets"), start=1):
        where = f"{path}: [[targets]] #{i}" + (f" ({t['name']})" if isinstance(t.get("name"), str) else "")
        _check_keys(where, t, TARGET_KEYS)
        for key in ("name", "address"):
            if not isinstance(t.get(key), str) or not t[key].strip():
                raise ConfigError(f"{where}: key {key!r} is required (a non-empty string)")
        try:
            parse_target(t["address"])
        except TargetError as exc:
            raise ConfigError(f"{where}: key 'address': {exc}") from None
        labels = t.get("labels", {})
        if not isinstance(labels, dict) or not all(isinstance(v, (str, int, float, bool)) for v in labels.values()):
            raise ConfigError(f"{where}: key 'labels' must be a table of strings, e.g. labels = {{ rack = \"2\" }}")
        if any(x.name == t["name"] for x in targets):
            raise ConfigError(f"{where}: key 'name': {t['name']!r} is used by another target")
        targets.append(FleetTarget(t["name"], t["address"].strip(), {k: str(v) for k, v in labels.items()}))
    return targets


def _str_list(where: str, key: str, value: Any, default: list[str]) -> list[str]:
    if value is None:
        return default
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}: key {key!r} must be a string or a list of strings")
    return values


def _number(where: str, key: str, value: Any, kind: type, minimum: float, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise ConfigError(f"{where}: key {key!r} must be {'an integer' if kind is int else 'a number'}")
    if value < minimum:
        raise ConfigError(f"{where}: key {key!r} must be at least {minimum:g}")
    return kind(value)


def _model(where: str, text: str, base: Path) -> str:
    if zoo.is_zoo_ref(text):
        try:
            zoo.get(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: key 'model': {exc}") from None
        return text
    path = (base / text).expanduser() if not Path(text).expanduser().is_absolute() else Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(f"{where}: key 'model': model file not found: {text} (looked for {path})")
    return str(path.resolve())


def load_suite(path: str | Path) -> Suite:
    path = Path(path)
    doc = _load(path, "suite")
    _check_keys(f"{path}", doc, SUITE_TOP)
    jobs: list[SuiteJob] = []
    for i, b in enumerate(_tables(path, doc, "benchmarks"), start=1):
        where = f"{path}: [[benchmarks]] #{i}"
        _check_keys(where, b, BENCH_KEYS)
        if "model" not in b:
            raise ConfigError(f"{where}: key 'model' is required")
        models = [_model(where, m, path.parent) for m in _str_list(where, "model", b["model"], [])]
        runtimes = _str_list(where, "runtime", b.get("runtime"), ["auto"])
        for r in runtimes:
            if r not in RUNTIMES:
                raise ConfigError(f"{where}: key 'runtime': unknown runtime {r!r} (use {', '.join(sorted(RUNTIMES))})")
        eps = _str_list(where, "ep", b.get("ep"), [""])
        threads = b.get("threads", [1])
        threads = [threads] if isinstance(threads, int) and not isinstance(threads, bool) else threads
        if not isinstance(threads, list) or not threads or not all(
                isinstance(t, int) and not isinstance(t, bool) and t >= 1 for t in threads):
            raise ConfigError(f"{where}: key 'threads' must be a list of thread counts of at least 1, e.g. [1, 4]")
        duration = _number(where, "duration", b.get("duration"), float, 0.0, 0.0)
        runs = _number(where, "runs", b.get("runs"), int, 1, 0 if duration else 50)
        warmup = _number(where, "warmup", b.get("warmup"), int, 0, 5)
        timeout = _number(where, "timeout", b.get("timeout"), float, 0.0, 0.0)
        for model, runtime, ep, t in product(models, runtimes, eps, threads):
            jobs.append(SuiteJob(model, runtime, ep, t, runs, duration, warmup, timeout))
    name = doc.get("name", path.stem)
    if not isinstance(name, str):
        raise ConfigError(f"{path}: key 'name' must be a string")
    return Suite(name, jobs)
