"""Results persist in the state dir: an agent restart loses no finished result."""
from __future__ import annotations

import os
import signal

from edgebench.controller.link.client import AgentClient
from edgebench.controller.link.local_agent import start_local_agent
from edgebench.v1 import agent_pb2 as pb
from tests.e2e.helpers import submit, wait_for_phase
from tests.e2e.models import slow_matmul


def test_finished_result_survives_restart_and_queued_jobs_resume(tmp_path, tiny_onnx):
    state = tmp_path / "state"
    slow = slow_matmul(tmp_path / "slow.onnx")
    with start_local_agent(str(state)) as agent, AgentClient(agent.address) as client:
        done = submit(client, tiny_onnx, threads=1, runs=25)
        before = client.watch(done)
        running = submit(client, slow, threads=1, runs=0, min_duration_s=60)
        queued = submit(client, tiny_onnx, threads=1, runs=5)
        wait_for_phase(client, running, "measuring")
        # The agent dies hard: no chance to tidy up.
        os.kill(agent.process.pid, signal.SIGKILL)
        agent.process.wait()
    with start_local_agent(str(state)) as agent, AgentClient(agent.address) as client:
        after = client.watch(done)
        assert after.state == pb.JOB_STATE_SUCCEEDED
        assert list(after.samples_ns) == list(before.samples_ns) and len(after.samples_ns) == 25
        interrupted = client.watch(running)
        assert interrupted.state == pb.JOB_STATE_INTERRUPTED and "agent stopped" in interrupted.error
        resumed = client.watch(queued)
        assert resumed.state == pb.JOB_STATE_SUCCEEDED and len(resumed.samples_ns) == 5
        # The cached model is still there and intact: no re-upload needed.
        assert client.ensure_model(tiny_onnx).uploaded is False
