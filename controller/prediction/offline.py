"""`controller predict`'s core: what models should cost on a device profile, offline (no agent), each
model's failure kept beside the others' predictions."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..costmodel import CostModelError, DeviceProfile, Prediction, analyze_model, predict_cost
from ..costmodel.reader import input_names
from ..errors import ControllerError
from ..link.connection import connect
from ..link.target import parse_target
from ..link.targets_config import CredentialFlags
from ..models import resolve_model
from .calibrated import CALIBRATED_PREFIX, profile_path


@dataclass
class PredictOptions:
    models: list[str]
    profile: DeviceProfile
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    threads: int | None = None  # None: all the profile's cores


@dataclass
class PredictOutcome:
    predictions: list[Prediction]
    failures: list[dict[str, str]]  # {"model": as given, "error": why}: the JSON document's `errors`
    unused_shapes: list[str]  # --input-shape names that matched no model's inputs


def predict_models(opts: PredictOptions) -> PredictOutcome:
    predictions: list[Prediction] = []
    failures: list[dict[str, str]] = []
    used_names: set[str] = set()
    for ref in opts.models:
        try:
            model_arg = resolve_model(ref)
            shapes = _shapes_for(model_arg.path, opts.input_shapes, strict=len(opts.models) == 1)
            model = analyze_model(model_arg.text if model_arg.is_zoo else model_arg.path, shapes)
            used_names.update(n for n in opts.input_shapes if n in model.input_shapes)
            # Calibrated efficiencies were fitted on the graph onnxruntime runs (fusions modelled).
            predictions.append(predict_cost(model, opts.profile, opts.threads,
                                            fusion=opts.profile.calibration is not None))
        except (CostModelError, ControllerError) as exc:
            failures.append({"model": ref, "error": str(exc)})
        except Exception as exc:  # a bug in the cost model must not take the other models down with it
            failures.append({"model": ref, "error": f"internal error in the cost model ({type(exc).__name__}: "
                                                    f"{exc}); please report it"})
    unused = sorted(set(opts.input_shapes) - used_names) if len(opts.models) > 1 else []
    return PredictOutcome(predictions, failures, unused)


def _shapes_for(path, shapes: dict[str, list[int]], strict: bool) -> dict[str, list[int]]:
    """With several models, each gets only the overrides that name one of its inputs."""
    if strict or not shapes:
        return shapes
    names = set(input_names(path))
    return {k: v for k, v in shapes.items() if k in names}


def calibrated_for_target(target: str, flags: CredentialFlags | None = None) -> str:
    """The --device of the stored calibrated profile of the board at `target` (asked for its fingerprint)."""
    with connect(parse_target(target), flags=flags) as board:
        described = board.board
    path = profile_path(described.fingerprint)
    if not path.is_file():
        raise CostModelError(f"board {described.model!r} at {target} has no calibrated profile ({path}); "
                             f"run: controller calibrate --target {target}")
    return f"{CALIBRATED_PREFIX}{path}"
