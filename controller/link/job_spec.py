"""The one place a job spec becomes the wire message, and the form the results store keeps of it."""
from __future__ import annotations

import hashlib
from typing import Any

from google.protobuf import json_format

from edgebench.v1 import agent_pb2 as pb

from ..records import JobSpec

RUNTIME_ENUM = {"onnxruntime": pb.RUNTIME_ONNXRUNTIME, "tflite": pb.RUNTIME_TFLITE}
RUNTIME_NAMES = {enum: name for name, enum in RUNTIME_ENUM.items()}


def job_spec_message(spec: JobSpec) -> pb.JobSpec:
    message = pb.JobSpec(
        model_sha256=spec.model_sha256,
        model_name=spec.model_name,
        runtime=RUNTIME_ENUM[spec.runtime],
        execution_provider=spec.execution_provider,
        threads=spec.threads,
        warmup_runs=spec.warmup_runs,
        runs=spec.runs,
        min_duration_s=spec.min_duration_s,
        input_seed=spec.input_seed,
        timeout_s=spec.timeout_s,
        profile_ops=spec.profile_ops,
        delegate_path=spec.delegate_path,
        keep_trace=spec.keep_trace,
        cooldown_to_c=spec.cooldown_to_c,
    )
    for name, dims in spec.input_shapes.items():
        message.input_shapes.add(name=name, dims=dims)
    for array in spec.inputs:
        message.inputs.add(name=array.name, npy=array.npy)
    return message


def stored_spec(spec: JobSpec) -> dict[str, Any]:
    """The spec as stored with the run: every field of the message the agent got (its JSON form), input
    arrays by size and sha256, not their bytes."""
    message = job_spec_message(spec)
    out = json_format.MessageToDict(message, preserving_proto_field_name=True,
                                    always_print_fields_with_no_presence=True)
    out["inputs"] = [{"name": i.name, "npy_bytes": len(i.npy), "npy_sha256": hashlib.sha256(i.npy).hexdigest()}
                     for i in message.inputs]
    return out
