"""Helpers for driving a real agent directly over gRPC."""
from __future__ import annotations

import time
from pathlib import Path

import psutil

from agent.proto import agent_pb2 as pb
from controller.client import AgentClient


def submit(client: AgentClient, model: Path, **spec_fields) -> str:
    upload = client.ensure_model(model)
    spec = pb.JobSpec(model_sha256=upload.sha256, model_name=model.stem, **spec_fields)
    return client.submit(spec).job_id


def wait_for_phase(client: AgentClient, job_id: str, phase: str, timeout_s: float = 60) -> None:
    """Follow the job's events until it reports `phase` (bounded in time)."""
    deadline = time.monotonic() + timeout_s
    for event in client.stub.Watch(pb.WatchRequest(job_id=job_id), timeout=timeout_s):
        if event.WhichOneof("kind") == "progress" and event.progress.phase == phase:
            return
        if event.WhichOneof("kind") == "result" or time.monotonic() > deadline:
            break
    raise AssertionError(f"job {job_id} never reached phase {phase!r}")


def worker_processes(agent_pid: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(agent_pid).children(recursive=True)
            if "agent.worker" in " ".join(p.cmdline())]
