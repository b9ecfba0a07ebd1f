"""Helpers for driving a real agent directly over gRPC."""
from __future__ import annotations

import contextlib
import time
from concurrent import futures
from pathlib import Path
from typing import Iterator

import grpc
import psutil

from edgebench.controller.link.client import AgentClient
from edgebench.v1 import agent_pb2 as pb
from edgebench.v1 import agent_pb2_grpc


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


@contextlib.contextmanager
def serve_fake_agent(servicer: agent_pb2_grpc.AgentServicer) -> Iterator[int]:
    """A real gRPC server on loopback with the agent's service implemented by `servicer`; yields its port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    agent_pb2_grpc.add_AgentServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(0)
