"""The `predicted` object of a bench run: the cost model on the run's own threads and input shapes."""
from __future__ import annotations

from typing import Any

from ..costmodel import CostModelError, DeviceProfile, Prediction, analyze_model, predict_cost
from ..costmodel.kernel_model import RuntimeModels
from ..costmodel.profiles import load_profile
from ..records import RunRecord, TensorRecord
from .choose import ProfileChoice
from .kernel_level import KernelLevelPrediction, predict_with_kernels

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


def _kernel_level(run: RunRecord, models: RuntimeModels, model_path: str, shapes: dict | None,
                  out: dict[str, Any]) -> KernelLevelPrediction | None:
    """Replace the roofline's figures in `out` by the fitted kernel models' (the roofline stays, as
    `roofline_latency_ms`, the explanation). None (and a note) when the run lacks what they need."""
    if run.runtime == "onnxruntime" and not run.optimized_model:
        out["notes"].append("no optimized graph came back from the board (an older agent, or the run failed): "
                            "predicted with the roofline only")
        return None
    if run.runtime == "onnxruntime" and models.version and run.runtime_version and models.version != run.runtime_version:
        out["notes"].append(f"the kernel models were fitted on onnxruntime {models.version}, the board now runs "
                            f"{run.runtime_version}: calibrate again")
    kp = predict_with_kernels(model_path, models, run.threads or max(models.fits), run.optimized_model or None,
                              shapes, executed_graph=("the board's optimized graph" if run.optimized_model
                                                      else "the model's own ops"))
    notes = out["notes"]
    out.update(kp.fields(out["predicted_latency_ms"]))
    out["notes"] = notes + out["notes"]
    return kp


def predicted_for_run(run: RunRecord, profile: DeviceProfile | None, note: str, model_path: str,
                      cache: dict | None = None, kernel_models: RuntimeModels | None = None
                      ) -> tuple[dict[str, Any] | None, Prediction | None]:
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
    out = {**prediction.to_dict(include_nodes=False), **base, "error": None, "method": "roofline", "notes": []}
    if kernel_models is not None:
        try:
            run.kernel_prediction = _kernel_level(run, kernel_models, model_path, shapes, out)
        except CostModelError as exc:
            out["notes"].append(f"kernel-level prediction failed, roofline used: {exc}")
        except Exception as exc:  # a cost-model bug must not fail a measured run
            out["notes"].append(f"kernel-level prediction failed, roofline used (internal error "
                                f"{type(exc).__name__}: {exc})")
    lat = run.latency_ms
    # Latency error against the median (p50) of the timed runs, as benchmark tables and the issue define it.
    out["latency_error_pct"] = _error_pct(out["predicted_latency_ms"], lat.p50 if lat else None)
    measured_mem = run.peak_rss_mb * _MIB if run.peak_rss_mb else None
    out["memory_error_pct"] = _error_pct(out["predicted_memory_bytes"], measured_mem)
    return out, prediction


def attach_prediction(record: RunRecord, choice: ProfileChoice, model_path: str,
                      input_shapes: dict[str, list[int]], cache: dict) -> None:
    """Set the record's `predicted` (and the full Prediction for per-op tables); a failed run is predicted
    on the shapes the user asked for."""
    if not record.inputs and input_shapes:
        record.inputs = [TensorRecord(k, "", v) for k, v in input_shapes.items()]
        predicted, prediction = predicted_for_run(record, choice.profile, choice.note, model_path, cache,
                                                  choice.kernel_models_for(record.runtime))
        record.inputs = []
    else:
        predicted, prediction = predicted_for_run(record, choice.profile, choice.note, model_path, cache,
                                                  choice.kernel_models_for(record.runtime))
    record.predicted = predicted
    record.prediction = prediction
    if choice.profile is None:
        record.warnings.append(f"no prediction: {choice.note}")
