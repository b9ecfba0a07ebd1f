"""Damaged job records after a restart: finished results are never lost, damage is reported and logged."""
from __future__ import annotations

import shutil

import pytest

from edgebench.agent.job_files import META_FILE, RESULT_FILE, SPEC_FILE
from edgebench.controller.link.client import AgentClient
from edgebench.v1 import agent_pb2 as pb
from tests.e2e.helpers import submit
from tests.reliability.helpers import LoggedAgent, quiet_agent

pytestmark = pytest.mark.slow

# What a disk (or a person) can do to a finished job's record, and the reason the agent must give.
DAMAGE = {
    "meta truncated": (META_FILE, b'{"state": 3, "submitted_u', "meta.json is not valid JSON"),
    "meta not json": (META_FILE, b"\x00\x01 not json", "meta.json is not valid JSON"),
    "meta null": (META_FILE, b"null", "meta.json holds null, not a record"),
    "meta wrong types": (META_FILE, b'{"state": "done", "submitted_unix_s": 1.0}', "meta.json has no valid job state"),
    "meta bad time": (META_FILE, b'{"state": 3, "submitted_unix_s": "yesterday"}', "no valid submission time"),
    "meta missing": (META_FILE, None, "meta.json is missing"),
    "spec garbage": (SPEC_FILE, b"\xff\xfe\xfd garbage", "spec.pb does not parse as a JobSpec"),
    "spec parses but is not one": (SPEC_FILE, b"\x12\x03abc", "spec.pb parses but names no valid model"),
    "spec missing": (SPEC_FILE, None, "spec.pb is missing"),
}


def damage(job_dir, name: str, data: bytes | None) -> None:
    if data is None:
        (job_dir / name).unlink()
    else:
        (job_dir / name).write_bytes(data)


def test_damaged_records_keep_their_results(tmp_path, tiny_onnx):
    state = tmp_path / "state"
    jobs = state / "jobs"
    with quiet_agent(state) as agent, AgentClient(agent.address) as client:
        ids = {case: submit(client, tiny_onnx, threads=1, runs=3, warmup_runs=0) for case in [*DAMAGE, "intact"]}
        results = {case: client.watch(job_id) for case, job_id in ids.items()}
    assert all(r.state == pb.JOB_STATE_SUCCEEDED for r in results.values())
    # A job that never finished, whose record is damaged: it must not run again, and must be listed.
    unfinished = "20000101T000000-0123456789ab"
    shutil.copytree(jobs / ids["intact"], jobs / unfinished)
    (jobs / unfinished / RESULT_FILE).unlink()
    damage(jobs / unfinished, META_FILE, b"[1, 2")
    # A submission cut off before its record was written: nothing to keep.
    (jobs / "20000101T000000-ffffffffffff").mkdir()
    (jobs / "20000101T000000-ffffffffffff" / (SPEC_FILE + ".tmp")).write_bytes(b"\x0a")
    for case, (name, data, _) in DAMAGE.items():
        damage(jobs / ids[case], name, data)

    with LoggedAgent(state, tmp_path / "agent.log") as agent, AgentClient(agent.address) as client:
        listed = {j.job_id: j for j in client.list_jobs()}
        assert set(listed) == {*ids.values(), unfinished}, "a record was dropped"
        log = agent.log()
        for case, job_id in ids.items():
            again = client.watch(job_id)
            before = results[case]
            # The measurement itself is intact, byte for byte.
            assert again.state == pb.JOB_STATE_SUCCEEDED and list(again.samples_ns) == list(before.samples_ns), case
            assert again.latency == before.latency and again.spec.model_sha256 == before.spec.model_sha256, case
            if case == "intact":
                assert list(again.warnings) == list(before.warnings)
                continue
            reason = DAMAGE[case][2]
            note = [w for w in again.warnings if "record of this job was damaged" in w]
            assert len(note) == 1 and reason in note[0] and "its result is intact" in note[0], (case, again.warnings)
            assert f"job {job_id}: " in log and reason in log, (case, log)
        stuck = client.watch(unfinished)
        assert stuck.state == pb.JOB_STATE_FAILED and not stuck.samples_ns
        assert "record of this job is damaged (meta.json is not valid JSON" in stuck.error
        assert "not run again" in stuck.error and "\n" not in stuck.error
        assert f"job {unfinished}: " in log
        assert "removed 20000101T000000-ffffffffffff: a submission cut off" in log
        assert not (jobs / "20000101T000000-ffffffffffff").exists()
        # Every one of them is collectable, and collecting removes its files.
        for job_id in listed:
            client.collect(job_id)
        assert client.list_jobs() == [] and list(jobs.iterdir()) == []
