"""Calibrated profiles on disk: one JSON per board fingerprint under the user's data dir."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from ..atomic_write import write_atomic
from ..costmodel import CostModelError, DeviceProfile
from ..costmodel.kernel_model import RuntimeModels
from ..costmodel.profiles import profile_from_dict
from ..paths import data_dir

CALIBRATED_PREFIX = "calibrated:"


def profile_path(fingerprint: str) -> Path:
    if not fingerprint or "/" in fingerprint or fingerprint.startswith("."):
        raise CostModelError(f"bad board fingerprint {fingerprint!r}")
    return data_dir() / "profiles" / f"{fingerprint}.json"


def save_profile(profile: DeviceProfile, fingerprint: str) -> Path:
    """Write atomically (temp file + rename): a crash never leaves a half-written profile behind."""
    path = profile_path(fingerprint)
    write_atomic(path, json.dumps(profile.to_dict(), indent=2) + "\n", mode=0o600)
    return path


def kernel_models_path(fingerprint: str) -> Path:
    # Not *.json: the profile directory is searched by that pattern for profiles.
    return profile_path(fingerprint).with_suffix(".kernels")


def save_kernel_models(models: Mapping[str, RuntimeModels], fingerprint: str) -> Path:
    """The fitted kernel models beside the profile (megabytes of trees: kept out of the readable profile)."""
    path = kernel_models_path(fingerprint)
    write_atomic(path, json.dumps({"schema_version": 1, "runtimes": {k: m.to_dict() for k, m in models.items()}}),
                 mode=0o600)
    return path


def kernel_models_for(profile: DeviceProfile) -> dict[str, RuntimeModels]:
    """The kernel models a calibrated profile refers to ({} for a built-in profile or an older calibration)."""
    name = (profile.calibration or {}).get("kernel_models")
    if not name:
        return {}
    beside = Path(profile.path).parent / name if profile.path else None  # a profile file given by path
    path = beside if beside is not None and beside.is_file() else data_dir() / "profiles" / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {k: RuntimeModels.from_dict(v) for k, v in data["runtimes"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CostModelError(f"the kernel models of calibrated profile {profile.name} ({path}) are unreadable "
                             f"({type(exc).__name__}: {exc}); run `controller calibrate` again") from None


def read_profile_file(path: Path) -> DeviceProfile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CostModelError(f"stored calibrated profile {path} is unreadable ({exc}); "
                             "run `controller calibrate` again or delete the file") from None
    try:
        return profile_from_dict(data, str(path))
    except CostModelError as exc:
        raise CostModelError(f"stored calibrated profile is invalid: {exc}; "
                             "run `controller calibrate` again or delete the file") from None


def stored_profile(fingerprint: str) -> DeviceProfile | None:
    """The board's calibrated profile, None if it was never calibrated; CostModelError if corrupt."""
    path = profile_path(fingerprint)
    return read_profile_file(path) if path.is_file() else None


def resolve_calibrated(spec: str) -> DeviceProfile:
    """`calibrated:<fingerprint>` (or a unique prefix of one) or `calibrated:<path.json>`."""
    ref = spec[len(CALIBRATED_PREFIX):] if spec.startswith(CALIBRATED_PREFIX) else spec
    if not ref:
        raise CostModelError("calibrated: needs a board fingerprint or a profile path")
    path = Path(ref).expanduser()
    if path.suffix == ".json" or os.sep in ref:
        if not path.is_file():
            raise CostModelError(f"calibrated profile file {path} does not exist")
        return read_profile_file(path)
    directory = data_dir() / "profiles"
    matches = sorted(directory.glob(f"{ref}*.json")) if directory.is_dir() and "*" not in ref else []
    if len(matches) != 1:
        known = sorted(p.stem for p in directory.glob("*.json")) if directory.is_dir() else []
        why = "matches several" if matches else "matches none"
        raise CostModelError(f"calibrated:{ref} {why} of the stored calibrated profiles in {directory} "
                             f"({', '.join(known) or 'none stored; run controller calibrate --target T'})")
    return read_profile_file(matches[0])
