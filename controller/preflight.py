"""What bench can check before anything is uploaded: that each file is a model the requested runtime reads,
that every --input-shape / --input-file name is an input of some model and no dynamic dim is left open, and
(once connected) that the board has the runtime and the execution provider asked for. A mistake found here
costs no upload, no job and no row of dashes: the job is refused with one line saying what to change."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from edgebench.agent.inputs import shape_hint
from edgebench.agent.model_format import ONNX, TFLITE
from edgebench.agent.runtimes.onnxruntime_runtime import provider_name

from .costmodel import CostModelError
from .costmodel.reader import model_inputs
from .errors import ControllerError
from .models import ModelArg
from .records import BoardDescription

Dims = list[int | str | None]
FORMAT_RUNTIMES = {ONNX: "onnxruntime", TFLITE: "tflite"}


@dataclass
class ModelPlan:
    """One model as bench will run it: its runtime, its declared inputs, the shapes that are its own, or the
    reason it cannot run."""

    model: ModelArg
    runtime: str
    inputs: list[tuple[str, Dims]] = field(default_factory=list)
    input_shapes: dict[str, list[int]] = field(default_factory=dict)  # the --input-shape values naming its inputs
    input_files: set[str] = field(default_factory=set)
    problem: str = ""


def check_models(models: Sequence[ModelArg], runtimes: Mapping[str, str], shapes: Mapping[str, list[int]],
                 files: Sequence[str]) -> list[ModelPlan]:
    """Every model's plan. A name that is an input of no model at all is a typo: ControllerError at once."""
    plans = []
    for m in models:
        plan = ModelPlan(m, runtimes[m.text])
        plan.problem = _runtime_problem(m, plan.runtime)
        if not plan.problem:
            try:
                plan.inputs = model_inputs(m.path)
            except CostModelError as exc:
                plan.problem = str(exc)
        plans.append(plan)
    readable = [p for p in plans if not p.problem]
    for flag, names in (("--input-shape", list(shapes)), ("--input-file", list(files))):
        for name in names:
            if readable and not any(name == n for p in readable for n, _ in p.inputs):
                have = "; ".join(f"{p.model.name}: {', '.join(n for n, _ in p.inputs) or 'none'}" for p in readable)
                raise ControllerError(f"{flag} {name}: no model has an input named {name!r} (inputs: {have})")
    for p in readable:
        own = {n for n, _ in p.inputs}
        p.input_shapes = {n: list(d) for n, d in shapes.items() if n in own}
        p.input_files = {n for n in files if n in own}
        p.problem = _open_dims(p)
    return plans


def _runtime_problem(m: ModelArg, runtime: str) -> str:
    natural = FORMAT_RUNTIMES.get(m.format)
    if natural is not None and natural != runtime:
        return (f"{m.text} is a{'n' if m.format == ONNX else ''} {m.format.upper() if m.format == ONNX else 'TFLite'} "
                f"model: --runtime {runtime} cannot run it (use --runtime {natural}, or auto)")
    return ""


def _open_dims(p: ModelPlan) -> str:
    """A dynamic dim the user did not fix (a leading batch dim defaults to 1 on the board, as it says)."""
    for name, dims in p.inputs:
        if name in p.input_shapes or name in p.input_files:
            continue
        open_axes = [str(d or f"dim{axis}") for axis, d in enumerate(dims) if not isinstance(d, int) and axis > 0]
        if open_axes:
            declared = "x".join(str(d) if isinstance(d, int) else str(d or "?") for d in dims)
            return (f"input {name!r} of {p.model.name} has dynamic dim{'s' if len(open_axes) > 1 else ''} "
                    f"{', '.join(open_axes)} (declared {declared}): give {'them' if len(open_axes) > 1 else 'it'} "
                    f"with --input-shape {name}={shape_hint(dims)}")
    return ""


def check_board(plan: ModelPlan, board: BoardDescription, ep: str, delegate_path: str,
                options: Mapping[str, Mapping[str, str]]) -> str:
    """Whether the board can run this plan as asked: its runtime, the provider / delegate, the options' kind."""
    runtime = next((r for r in board.runtimes if r.name == plan.runtime), None)
    if runtime is None or not runtime.available:
        why = f" ({runtime.reason})" if runtime is not None and runtime.reason else ""
        return f"the board has no usable {plan.runtime} runtime{why}: {plan.model.name} cannot run there"
    if plan.runtime == "onnxruntime":
        wanted = provider_name(ep)
        if runtime.execution_providers and wanted not in runtime.execution_providers:
            return (f"--ep {ep}: {wanted} is not available in onnxruntime {runtime.version} on this board "
                    f"(it has {', '.join(runtime.execution_providers)})")
        if options.get("delegate"):
            return "--delegate-option is for a TFLite external delegate; onnxruntime takes --ep-option"
    else:
        delegate = (ep or "xnnpack").lower()
        if delegate_path and delegate in ("xnnpack", ""):
            delegate = "external"
        if runtime.execution_providers and delegate not in runtime.execution_providers:
            return (f"--ep {ep}: TFLite on this board has no delegate {delegate!r} "
                    f"(it has {', '.join(runtime.execution_providers)})")
        if delegate == "external" and not delegate_path:
            return "--ep external needs --delegate-path (the delegate's .so on the board)"
        if options.get("provider"):
            return "--ep-option is for an onnxruntime execution provider; a TFLite external delegate takes --delegate-option"
        if options.get("delegate") and delegate != "external":
            return "--delegate-option applies to an external delegate (--ep external --delegate-path LIB.so)"
    return ""
