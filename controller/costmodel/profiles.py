"""Device profiles: the figures the roofline needs for one board, each with where it came from.

Profiles are JSON data files (controller/profiles/*.json, shipped as package data). Every figure is
`{"value": ..., "source": "..."}`: a citation, or "derived: <how>", or "estimate: <why>" — a number
without a source is rejected. `efficiency` is a plain table (op type or kind → fraction of peak) so that a
calibration fit can replace it wholesale.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from .errors import CostModelError

SCHEMA_VERSION = 1
DTYPES = ("fp32", "fp16", "int8")
FORMATS = ("onnx", "tflite")

_REQUIRED = (
    "schema_version", "name", "description", "compute_unit", "cores", "peak_gflops", "memory_bandwidth_gbs",
    "dispatch_overhead_us", "idle_power_w", "active_power_w", "runtime_overhead_mb", "efficiency",
    "efficiency_source",
)
_OPTIONAL = ("aliases", "clock_ghz", "notes", "calibration")
_COMPUTE_UNITS = ("cpu", "gpu")


@dataclass(frozen=True)
class Figure:
    value: float
    source: str


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    description: str
    compute_unit: str  # "cpu" or "gpu": what runs the kernels (threads only scale a CPU)
    cores: Figure
    peak_gflops: Mapping[str, Figure]  # fp32 / fp16 / int8, all cores
    memory_bandwidth_gbs: Figure
    dispatch_overhead_us: Figure  # per executed node
    idle_power_w: Figure
    active_power_w: Figure
    runtime_overhead_mb: Mapping[str, Figure]  # resident cost of the runtime itself, per model format
    efficiency: Mapping[str, float]  # op type or kind → achieved fraction of peak; "default" required
    efficiency_source: str
    aliases: tuple[str, ...] = ()
    clock_ghz: Figure | None = None
    notes: str = ""
    path: str = ""
    # Set on a profile written by `controller calibrate`: when, for which board, and what was measured.
    calibration: Mapping[str, Any] | None = None

    @property
    def source(self) -> str:
        """One line for tables and JSON: "calibrated <date>" or "built-in <name>" or the file."""
        if self.calibration is not None:
            return f"calibrated {self.calibration.get('date', '?')}"
        if self.path.startswith("profiles/"):
            return f"built-in {self.name}"
        return f"file {self.path}"

    def peak(self, dtype_class: str) -> float:
        """Peak GOP/s for a dtype class ("fp32", "fp16", "int8")."""
        return self.peak_gflops[dtype_class].value

    def efficiency_for(self, op_type: str, kind: str, variant: str = "") -> float:
        # Most specific first, so a fit may set "QLinearConv" or "conv:pointwise" apart from the "conv" family.
        for key in (op_type, f"{kind}:{variant}" if variant else kind, kind, "default"):
            if key in self.efficiency:
                return self.efficiency[key]
        return self.efficiency["default"]

    def with_efficiency(self, table: Mapping[str, float], source: str) -> "DeviceProfile":
        """A copy with a new efficiency table (what `controller calibrate` will produce)."""
        merged = {**self.efficiency, **table}
        _check_efficiency(merged, self.path or self.name)
        return dataclasses.replace(self, efficiency=merged, efficiency_source=source)

    def to_dict(self) -> dict[str, Any]:
        def fig(f: Figure) -> dict[str, Any]:
            return {"value": f.value, "source": f.source}

        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
            "aliases": list(self.aliases),
            "compute_unit": self.compute_unit,
            "cores": fig(self.cores),
            "peak_gflops": {k: fig(v) for k, v in self.peak_gflops.items()},
            "memory_bandwidth_gbs": fig(self.memory_bandwidth_gbs),
            "dispatch_overhead_us": fig(self.dispatch_overhead_us),
            "idle_power_w": fig(self.idle_power_w),
            "active_power_w": fig(self.active_power_w),
            "runtime_overhead_mb": {k: fig(v) for k, v in self.runtime_overhead_mb.items()},
            "efficiency": dict(self.efficiency),
            "efficiency_source": self.efficiency_source,
        }
        if self.clock_ghz is not None:
            out["clock_ghz"] = fig(self.clock_ghz)
        if self.notes:
            out["notes"] = self.notes
        if self.calibration is not None:
            out["calibration"] = dict(self.calibration)
        return out


# ---------------------------------------------------------------------------------------------- validation


def _figure(data: Any, where: str, *, integer: bool = False, allow_zero: bool = False) -> Figure:
    if not isinstance(data, dict):
        raise CostModelError(f"{where}: expected {{\"value\": ..., \"source\": \"...\"}}, got {type(data).__name__}")
    unknown = set(data) - {"value", "source"}
    if unknown:
        raise CostModelError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (allowed: value, source)")
    for key in ("value", "source"):
        if key not in data:
            raise CostModelError(f"{where}: missing {key!r}")
    value, source = data["value"], data["source"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CostModelError(f"{where}.value: expected a number, got {value!r}")
    if integer and int(value) != value:
        raise CostModelError(f"{where}.value: expected a whole number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise CostModelError(f"{where}.value: must be {'non-negative' if allow_zero else 'positive'}, got {value!r}")
    if not isinstance(source, str) or not source.strip():
        raise CostModelError(f"{where}.source: every figure needs a source (a citation, 'derived: ...' or 'estimate: ...')")
    return Figure(float(value), source.strip())


def _figure_table(data: Any, where: str, keys: tuple[str, ...], allow_zero: bool = False) -> dict[str, Figure]:
    if not isinstance(data, dict):
        raise CostModelError(f"{where}: expected an object with keys {', '.join(keys)}")
    unknown = set(data) - set(keys)
    if unknown:
        raise CostModelError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(keys)})")
    missing = [k for k in keys if k not in data]
    if missing:
        raise CostModelError(f"{where}: missing {', '.join(missing)}")
    return {k: _figure(data[k], f"{where}.{k}", allow_zero=allow_zero) for k in keys}


def _check_efficiency(table: Any, where: str) -> dict[str, float]:
    if not isinstance(table, dict):
        raise CostModelError(f"{where}: efficiency must be an object of op type/kind → fraction of peak")
    if "default" not in table:
        raise CostModelError(f"{where}: efficiency needs a 'default' entry")
    out = {}
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise CostModelError(f"{where}: efficiency[{key!r}] must be a number in (0, 1], got {value!r}")
        out[str(key)] = float(value)
    return out


def profile_from_dict(data: Any, where: str = "profile") -> DeviceProfile:
    if not isinstance(data, dict):
        raise CostModelError(f"{where}: a profile is a JSON object")
    unknown = set(data) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise CostModelError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}"
        )
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise CostModelError(f"{where}: missing required field(s) {', '.join(missing)}")
    if data["schema_version"] != SCHEMA_VERSION:
        raise CostModelError(f"{where}: schema_version {data['schema_version']!r} is not supported (expected {SCHEMA_VERSION})")
    for key in ("name", "description", "efficiency_source"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise CostModelError(f"{where}: {key} must be a non-empty string")
    if data["compute_unit"] not in _COMPUTE_UNITS:
        raise CostModelError(f"{where}: compute_unit must be one of {', '.join(_COMPUTE_UNITS)}, got {data['compute_unit']!r}")
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise CostModelError(f"{where}: aliases must be a list of strings")
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        raise CostModelError(f"{where}: notes must be a string")
    calibration = data.get("calibration")
    if calibration is not None and not (isinstance(calibration, dict) and isinstance(calibration.get("date"), str)
                                        and isinstance(calibration.get("fingerprint"), str)):
        raise CostModelError(f"{where}: calibration must be an object with 'date' and 'fingerprint' strings")
    return DeviceProfile(
        name=data["name"],
        description=data["description"],
        compute_unit=data["compute_unit"],
        cores=_figure(data["cores"], f"{where}: cores", integer=True),
        peak_gflops=_figure_table(data["peak_gflops"], f"{where}: peak_gflops", DTYPES),
        memory_bandwidth_gbs=_figure(data["memory_bandwidth_gbs"], f"{where}: memory_bandwidth_gbs"),
        dispatch_overhead_us=_figure(data["dispatch_overhead_us"], f"{where}: dispatch_overhead_us", allow_zero=True),
        idle_power_w=_figure(data["idle_power_w"], f"{where}: idle_power_w"),
        active_power_w=_figure(data["active_power_w"], f"{where}: active_power_w"),
        runtime_overhead_mb=_figure_table(data["runtime_overhead_mb"], f"{where}: runtime_overhead_mb", FORMATS,
                                          allow_zero=True),
        efficiency=_check_efficiency(data["efficiency"], f"{where}"),
        efficiency_source=data["efficiency_source"].strip(),
        aliases=tuple(aliases),
        clock_ghz=_figure(data["clock_ghz"], f"{where}: clock_ghz") if "clock_ghz" in data else None,
        notes=notes,
        path=where,
        calibration=calibration,
    )


# ---------------------------------------------------------------------------------------------- loading


def _builtin_files() -> list[Any]:
    root = resources.files("edgebench.controller.profiles")
    return sorted((f for f in root.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def list_profiles() -> list[DeviceProfile]:
    """The profiles that ship with edgebench."""
    return [_load_text(f.read_text(encoding="utf-8"), f"profiles/{f.name}") for f in _builtin_files()]


def _load_text(text: str, where: str) -> DeviceProfile:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CostModelError(f"{where}: not valid JSON ({exc})") from exc
    return profile_from_dict(data, where)


def load_profile(name_or_path: str | os.PathLike[str] | DeviceProfile) -> DeviceProfile:
    """A built-in profile by name or alias ("rpi4", "raspberry-pi-4"), or a profile JSON file by path."""
    if isinstance(name_or_path, DeviceProfile):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() == ".json" or os.sep in text or path.is_file():
        if not path.is_file():
            raise CostModelError(f"device profile file {path} does not exist")
        return _load_text(path.read_text(encoding="utf-8"), str(path))
    wanted = _normalise(text)
    profiles = list_profiles()
    for profile in profiles:
        if wanted in {_normalise(profile.name), *(_normalise(a) for a in profile.aliases)}:
            return profile
    names = ", ".join(p.name for p in profiles)
    raise CostModelError(f"unknown device profile {text!r}; built-in profiles: {names} (or give a path to a .json profile)")


__all__ = ["DeviceProfile", "Figure", "list_profiles", "load_profile", "profile_from_dict"]
