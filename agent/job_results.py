"""The last touches to a job's result before it is stored and sent: a batch made whole, a size that fits."""
from __future__ import annotations

from edgebench.v1 import agent_pb2 as pb

# A result travels in one gRPC message (the agent sends at most 64 MiB): over this, the raw samples are dropped.
MAX_RESULT_BYTES = 60 << 20


def complete_batch(result: pb.JobResult, spec: pb.JobSpec, done: list[pb.BatchResult]) -> None:
    """One BatchResult per item of the spec, in order: the items the worker sent, then the one it stopped in
    (crash, timeout, cancel) and those it never reached, each saying so. A crash fails the job, and keeps the
    items measured before it."""
    result.ClearField("batch")
    result.batch.extend(done[: len(spec.batch)])
    at = len(result.batch)
    if at == len(spec.batch):
        return
    if result.state == pb.JOB_STATE_SUCCEEDED:  # the worker said it finished, yet items are missing
        result.state = pb.JOB_STATE_FAILED
        result.error = f"the worker's batch ended after {at} of {len(spec.batch)} items"
    how = {pb.JOB_STATE_TIMED_OUT: "the job's timeout struck", pb.JOB_STATE_CANCELLED: "the job was cancelled",
           pb.JOB_STATE_INTERRUPTED: "the agent shut down"}.get(result.state, result.error)
    name = spec.batch[at].model_name or spec.batch[at].model_sha256
    for index in range(at, len(spec.batch)):
        item = spec.batch[index]
        error = (f"{how} while this item ran (batch item {index})" if index == at
                 else f"not run: the batch stopped in item {at} ({name})")
        result.batch.add(model_sha256=item.model_sha256, model_name=item.model_name, state=result.state,
                         error=error)
    result.error = (f"batch item {at} ({name}): {result.error}; the {at} items before it are kept, "
                    f"{len(spec.batch) - at - 1} were not run")


def fit_in_a_message(result: pb.JobResult, limit: int = MAX_RESULT_BYTES) -> None:
    """Drop the raw per-inference samples (never the statistics over them) when the result would be too large
    to send: a result that cannot be sent would be lost."""
    size = result.ByteSize()
    if size <= limit:
        return
    dropped = len(result.samples_ns) + sum(len(item.samples_ns) for item in result.batch)
    result.ClearField("samples_ns")
    for item in result.batch:
        item.ClearField("samples_ns")
    result.warnings.append(f"the result was {size} bytes, over the {limit}-byte message limit: its {dropped} raw "
                           "samples were dropped (the latency statistics over them are kept)")
