"""Calibrated profiles on disk: one JSON per board fingerprint under the user's data dir."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..atomic_write import write_atomic
from ..costmodel import CostModelError, DeviceProfile
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
