"""Which device profile a run on a board is predicted with."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..costmodel import CostModelError, DeviceProfile, load_profile
from ..costmodel.kernel_model import RuntimeModels
from ..records import Board
from .calibrated import CALIBRATED_PREFIX, kernel_models_for, resolve_calibrated, stored_profile


@dataclass
class ProfileChoice:
    profile: DeviceProfile | None
    note: str  # why this profile (or why none)
    # Fitted per-kernel models of a calibrated profile, per runtime ({} for built-in profiles).
    kernel_models: dict[str, RuntimeModels] = field(default_factory=dict)

    def kernel_models_for(self, runtime: str) -> RuntimeModels | None:
        models = self.kernel_models.get(runtime)
        return models if models is not None and models.fits else None


def load_device(spec: str) -> DeviceProfile:
    """A --device value: built-in name/alias, a .json path, or calibrated:<fingerprint-or-path>."""
    if spec.startswith(CALIBRATED_PREFIX):
        return resolve_calibrated(spec)
    return load_profile(spec)


def builtin_for_board(board: Board) -> str | None:
    """A built-in profile name from the board's self-description, or None when nothing fits honestly."""
    model = (board.model or "").lower()
    soc = (board.soc or "").lower()
    machine = (board.machine or "").lower()
    if "raspberry pi 5" in model:
        return "rpi5"
    if "raspberry pi 4" in model:
        return "rpi4"
    if "orin nano" in model:
        return "jetson-orin-nano"
    if "jetson nano" in model or ("nvidia jetson" in model and "nano" in model):
        return "jetson-nano"
    if machine in ("x86_64", "amd64") or "x86" in soc:
        return "x86-host"
    return None


def foreign_profile(board: Board, profile: DeviceProfile) -> str:
    """Why `profile` is not this board's own ("" when it is, or when that cannot be told): a calibration of
    another board, or a built-in profile of another kind of board than the one this board's description
    matches."""
    calibration = profile.calibration or {}
    fingerprint = str(calibration.get("fingerprint") or "")
    if profile.calibration is not None:
        if fingerprint and board.fingerprint and fingerprint != board.fingerprint:
            return (f"the device profile {profile.name} was calibrated on board {fingerprint}, not on this board "
                    f"({board.fingerprint}): the predicted figures are that board's")
        return ""
    own = builtin_for_board(board)
    names = {profile.name, profile.name.removesuffix("-gpu"), *profile.aliases}
    if own not in names:
        this = f"{board.model or board.soc or 'unknown'} ({board.machine})"
        hint = f"; its own built-in profile is {own}" if own else ""
        return (f"the device profile {profile.name} is not this board's: the predicted figures are for "
                f"{profile.description.split(':')[0]}, and this board is {this}{hint}")
    return ""


def choose_profile(board: Board, device: str | None = None) -> ProfileChoice:
    """--device wins; else the board's stored calibration; else a built-in matched from its description."""
    if device:
        profile = load_device(device)
        return ProfileChoice(profile, f"--device {device}", kernel_models_for(profile))
    fingerprint = board.fingerprint or ""
    if fingerprint:
        stored = stored_profile(fingerprint)  # a corrupt file raises: better than silently ignoring it
        if stored is not None:
            return ProfileChoice(stored, f"calibrated profile of board {fingerprint}", kernel_models_for(stored))
    name = builtin_for_board(board)
    if name is None:
        return ProfileChoice(None, f"no device profile matches board {board.model!r} "
                                   f"({board.machine}); give --device or run controller calibrate")
    try:
        return ProfileChoice(load_profile(name), "built-in profile matched from the board description")
    except CostModelError as exc:
        return ProfileChoice(None, str(exc))
