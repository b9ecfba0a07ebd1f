"""`controller predict`'s core: what models should cost on a device profile, offline (no agent), each
model's failure kept beside the others' predictions."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..costmodel import CostModelError, DeviceProfile, Prediction, analyze_model, predict_cost
from ..costmodel.kernel_model import RuntimeModels
from ..costmodel.reader import input_names
from ..errors import ControllerError
from ..link.connection import connect
from ..link.target import parse_target
from ..link.targets_config import CredentialFlags
from ..models import resolve_model
from .calibrated import CALIBRATED_PREFIX, profile_path
from .host_graph import host_optimized_graph
from .kernel_level import KernelLevelPrediction, predict_with_kernels


@dataclass
class PredictOptions:
    models: list[str]
    profile: DeviceProfile
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    threads: int | None = None  # None: all the profile's cores
    # A calibrated profile's fitted kernel models, per runtime: predicted kernel by kernel where present.
    kernel_models: dict[str, RuntimeModels] = field(default_factory=dict)


@dataclass
class PredictOutcome:
    predictions: list[Prediction]
    failures: list[dict[str, str]]  # {"model": as given, "error": why}: the JSON document's `errors`
    unused_shapes: list[str]  # --input-shape names that matched no model's inputs
    # The kernel-level prediction of predictions[i], where the profile has kernel models for its runtime.
    kernel: dict[int, KernelLevelPrediction] = field(default_factory=dict)


def predict_models(opts: PredictOptions) -> PredictOutcome:
    predictions: list[Prediction] = []
    failures: list[dict[str, str]] = []
    kernel: dict[int, KernelLevelPrediction] = {}
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
            kp = _kernel_level(model_arg.path, model_arg.format, opts, shapes)
            if kp is not None:
                kernel[len(predictions) - 1] = kp
        except (CostModelError, ControllerError) as exc:
            failures.append({"model": ref, "error": str(exc)})
        except Exception as exc:  # a bug in the cost model must not take the other models down with it
            failures.append({"model": ref, "error": f"internal error in the cost model ({type(exc).__name__}: "
                                                    f"{exc}); please report it"})
    unused = sorted(set(opts.input_shapes) - used_names) if len(opts.models) > 1 else []
    return PredictOutcome(predictions, failures, unused, kernel)


def _kernel_level(path, fmt: str, opts: PredictOptions, shapes: dict[str, list[int]]) -> KernelLevelPrediction | None:
    runtime = "tflite" if fmt == "tflite" else "onnxruntime"
    models = opts.kernel_models.get(runtime)
    if models is None or not models.fits:
        return None
    threads = opts.threads or int(opts.profile.cores.value)
    graph, where, note = None, "the model's own ops", ""
    if runtime == "onnxruntime":
        board = (opts.profile.calibration or {}).get("board") or {}
        host = host_optimized_graph(path, str(board.get("machine") or ""), models.version, threads)
        graph, where, note = host.model, f"this host's onnxruntime optimized graph (level {host.level})", host.note
    kp = predict_with_kernels(path, models, threads, graph, shapes or None, executed_graph=where)
    if note:
        kp.notes.insert(0, note)
    return kp


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


def calibrated_for_this_machine() -> str | None:
    """The --device of this machine's own calibrated profile (`calibrate --target local` wrote it), if any."""
    from edgebench.agent.board import read_identity  # the identity the local agent reports, read the same way

    path = profile_path(read_identity().fingerprint())
    return f"{CALIBRATED_PREFIX}{path}" if path.is_file() else None
