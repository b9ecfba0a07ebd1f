"""The `predicted` object of a bench run: the cost model on the run's own threads and input shapes."""
from __future__ import annotations

from typing import Any

from ..costmodel import CostModelError, DeviceProfile, Prediction, analyze_model, predict_cost
from ..costmodel.profiles import load_profile
from ..records import RunRecord, TensorRecord
from .choose import ProfileChoice

_MIB = 1024 * 1024
_GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")


def _error_pct(predicted: float | None, measured: float | None) -> float | None:
    if predicted is None or not measured:
        return None
    return round((predicted - measured) / measured * 100.0, 2)


def _profile_for_run(profile: DeviceProfile, providers: list[str]) -> DeviceProfile:
    # A built-in CPU profile of a Jetson has a GPU twin: a run on CUDA/TensorRT is predicted with that one.
    if profile.calibration is None and any(p in _GPU_PROVIDERS for p in providers):
        try:
            gpu = load_profile(f"{profile.name}-gpu")
            return gpu
        except CostModelError:
            pass
    return profile


def predicted_for_run(run: RunRecord, profile: DeviceProfile | None, note: str, model_path: str,
                      cache: dict | None = None) -> tuple[dict[str, Any] | None, Prediction | None]:
    """(`RunRecord.predicted`, the Prediction for per-op tables); never raises: a failure becomes `error`.

    With no profile for the board, `predicted` stays null (nothing invented) and the note goes to warnings.
    """
    if profile is None:
        return None, None
    profile = _profile_for_run(profile, list(run.providers_used))
    shapes = {t.name: list(t.shape) for t in run.inputs} if run.inputs else None
    onnx_on_ort = run.model.format == "onnx" and run.runtime == "onnxruntime"
    base = {"device": profile.name, "source": profile.source, "note": note}
    try:
        key = (model_path, repr(shapes))
        model = cache.get(key) if cache is not None else None
        if model is None:
            model = analyze_model(model_path, shapes)
            if cache is not None:
                cache[key] = model
        # Calibrated efficiencies were fitted on the graph onnxruntime runs; built-in ones on the file's graph.
        fusion = onnx_on_ort and profile.calibration is not None
        prediction = predict_cost(model, profile, run.threads or None, fusion=fusion)
    except CostModelError as exc:
        return {**base, "error": str(exc)}, None
    except Exception as exc:  # a cost-model bug must not fail a measured run
        return {**base, "error": f"internal error in the cost model ({type(exc).__name__}: {exc})"}, None
    out = {**prediction.to_dict(include_nodes=False), **base, "error": None}
    lat = run.latency_ms
    out["latency_error_pct"] = _error_pct(prediction.predicted_latency_ms, lat.mean if lat else None)
    measured_mem = run.peak_rss_mb * _MIB if run.peak_rss_mb else None
    out["memory_error_pct"] = _error_pct(prediction.predicted_memory_bytes, measured_mem)
    return out, prediction


def attach_prediction(record: RunRecord, choice: ProfileChoice, model_path: str,
                      input_shapes: dict[str, list[int]], cache: dict) -> None:
    """Set the record's `predicted` (and the full Prediction for per-op tables); a failed run is predicted
    on the shapes the user asked for."""
    if not record.inputs and input_shapes:
        record.inputs = [TensorRecord(k, "", v) for k, v in input_shapes.items()]
        predicted, prediction = predicted_for_run(record, choice.profile, choice.note, model_path, cache)
        record.inputs = []
    else:
        predicted, prediction = predicted_for_run(record, choice.profile, choice.note, model_path, cache)
    record.predicted = predicted
    record.prediction = prediction
    if choice.profile is None:
        record.warnings.append(f"no prediction: {choice.note}")
