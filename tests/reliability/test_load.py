"""Load: many controllers on one agent, one controller on many agents. Bounded in count and time (CI has two
cores); EDGEBENCH_RELIABILITY_JOBS_PER_CONTROLLER=100 and EDGEBENCH_RELIABILITY_FANOUT_AGENTS=50 run the full
sizes of the issue."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import grpc
import psutil
import pytest

from edgebench.controller.link.client import AgentClient
from edgebench.v1 import agent_pb2 as pb
from tests.reliability.helpers import quiet_agent, scale, wait_until

pytestmark = pytest.mark.slow

CONTROLLERS = 10
JOBS_PER_CONTROLLER = scale("jobs_per_controller", 6)
FANOUT_AGENTS = scale("fanout_agents", 12)
FANOUT_THREADS = 8


class QueueFullCount:
    """Queue-full answers seen by the clients of one test (a fresh count per test, shared by its clients)."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.value += 1


class CountingClient(AgentClient):
    """The real client, counting the queue-full answers it retried."""

    def __init__(self, address: str, count: QueueFullCount, **kwargs):
        super().__init__(address, **kwargs)
        submit = self.stub.Submit

        def counting_submit(spec, timeout=None):
            try:
                return submit(spec, timeout=timeout)
            except grpc.RpcError as exc:
                if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    count.add()
                raise

        self.stub.Submit = counting_submit


def test_ten_controllers_one_agent(tmp_path, tiny_onnx):
    max_queue = 4  # far below the jobs in flight: the queue limit is hit, and retried, all the time
    total = CONTROLLERS * JOBS_PER_CONTROLLER
    with quiet_agent(tmp_path / "state", "--max-queue", str(max_queue)) as agent:
        with AgentClient(agent.address) as setup:
            sha = setup.ensure_model(tiny_onnx).sha256
        submitted: dict[str, list[str]] = {}
        queue_full = QueueFullCount()

        def controller(index: int) -> list[pb.JobResult]:
            client_id = f"controller-{index}"
            with CountingClient(agent.address, queue_full) as client:
                ids = []
                for seq in range(JOBS_PER_CONTROLLER):
                    spec = pb.JobSpec(model_sha256=sha, model_name=f"{client_id}/{seq}", client_id=client_id,
                                      threads=1, runs=1, warmup_runs=0, timeout_s=60)
                    ids.append(client.submit(spec, queue_full_wait_s=240).job_id)
                submitted[client_id] = ids
                results = [client.watch(job_id) for job_id in ids]
                return results

        deadline = time.monotonic() + 600
        with ThreadPoolExecutor(CONTROLLERS) as pool:
            per_controller = list(pool.map(controller, range(CONTROLLERS), timeout=600))
        assert time.monotonic() < deadline
        with AgentClient(agent.address) as check:
            listed = {j.job_id: j for j in check.list_jobs()}
            # None lost, none duplicated: the agent holds exactly the jobs acknowledged to the controllers.
            acknowledged = [job_id for ids in submitted.values() for job_id in ids]
            assert len(acknowledged) == len(set(acknowledged)) == total
            assert set(listed) == set(acknowledged)
            results = [r for rs in per_controller for r in rs]
            assert all(r.state == pb.JOB_STATE_SUCCEEDED for r in results), {r.error for r in results}
            assert all(len(r.samples_ns) == 1 for r in results)
            # One at a time, each job once: the worker windows of all jobs are disjoint.
            windows = sorted((r.window_start_ns, r.window_end_ns) for r in results)
            assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(windows, windows[1:], strict=False))
            # In order of arrival per controller.
            for index, results_of_one in enumerate(per_controller):
                assert [r.spec.model_name for r in results_of_one] == [
                    f"controller-{index}/{seq}" for seq in range(JOBS_PER_CONTROLLER)]
                assert all(r.spec.client_id == f"controller-{index}" for r in results_of_one)
                starts = [r.window_start_ns for r in results_of_one]
                assert starts == sorted(starts)
            assert queue_full.value > 0  # the limit was answered with RESOURCE_EXHAUSTED, and retried
            for job_id in acknowledged:
                check.collect(job_id)
            assert check.list_jobs() == []
        assert agent.process.poll() is None


def test_one_controller_fans_out_to_many_agents(tmp_path, tiny_onnx):
    """The fan-out regress uses: one process, a bounded pool of threads, one client per agent."""
    me = psutil.Process()
    with ExitStack() as stack:
        agents = [stack.enter_context(quiet_agent(tmp_path / f"agent-{i}")) for i in range(FANOUT_AGENTS)]
        threads_before, rss_before = me.num_threads(), me.memory_info().rss
        peak_threads = threads_before

        def one_board(agent) -> pb.JobResult:
            nonlocal peak_threads
            with AgentClient(agent.address) as client:
                client.describe()
                upload = client.ensure_model(tiny_onnx)
                job = client.submit(pb.JobSpec(model_sha256=upload.sha256, threads=1, runs=1, warmup_runs=0))
                peak_threads = max(peak_threads, me.num_threads())
                result = client.watch(job.job_id)
                client.collect(job.job_id)
                return result

        with ThreadPoolExecutor(FANOUT_THREADS) as pool:
            results = list(pool.map(one_board, agents, timeout=600))
        assert [r.state for r in results] == [pb.JOB_STATE_SUCCEEDED] * FANOUT_AGENTS
        assert len({r.job_id for r in results}) == FANOUT_AGENTS
        # Bounded: the threads are the pool's plus gRPC's own few, whatever the number of agents.
        assert peak_threads - threads_before <= FANOUT_THREADS * 2 + 8
        # Every channel was closed: no thread or memory grows per agent once the fan-out is done.
        wait_until(lambda: me.num_threads() <= threads_before + 4, 30, "the fan-out's threads to end")
        assert me.memory_info().rss - rss_before < 200 << 20
        assert all(a.process.poll() is None for a in agents)
