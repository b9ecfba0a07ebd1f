"""The one place a job spec becomes the wire message, and the form the results store keeps of it."""
from __future__ import annotations

import hashlib
from dataclasses import fields
from typing import Any

from google.protobuf import json_format

from edgebench.v1 import agent_pb2 as pb

from ..records import JobSpec

RUNTIME_ENUM = {"onnxruntime": pb.RUNTIME_ONNXRUNTIME, "tflite": pb.RUNTIME_TFLITE}
RUNTIME_NAMES = {enum: name for name, enum in RUNTIME_ENUM.items()}
_BUILT = ("runtime", "input_shapes", "inputs", "batch", "idle_baseline_s")


def job_spec_message(spec: JobSpec) -> pb.JobSpec:
    # JobSpec's fields are named as the message's; the runtime and the repeated ones need building.
    scalars = {f.name: getattr(spec, f.name) for f in fields(spec) if f.name not in _BUILT}
    message = pb.JobSpec(runtime=RUNTIME_ENUM[spec.runtime], **scalars)
    for name, dims in spec.input_shapes.items():
        message.input_shapes.add(name=name, dims=dims)
    for array in spec.inputs:
        message.inputs.add(name=array.name, npy=array.npy)
    if spec.idle_baseline_s is not None:  # optional on the wire: unset means the agent's default
        message.idle_baseline_s = spec.idle_baseline_s
    for item in spec.batch:
        message.batch.add(model_sha256=item.model_sha256, model_name=item.model_name,
                          profile_ops=item.profile_ops, return_optimized_model=item.return_optimized_model)
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
