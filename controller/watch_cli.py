"""`controller watch`: re-attach to jobs already on an agent, by job id (after the controller was killed).

    controller watch --target pi@10.0.0.5                 # list the agent's jobs
    controller watch --target pi@10.0.0.5 JOB_ID --json -  # follow a job to its result, then collect it

The agent keeps every result until a controller collects it, so a result arrives once: the watch that gets
it collects it (unless --keep), and a later watch of the same id says it is gone.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from edgebench.v1 import agent_pb2 as pb

from .client import AgentClient, UploadOutcome
from .errors import ControllerError
from .models import ModelArg
from .progress import ProgressBar
from .records import RunRecord, board_record, run_from_result
from .target import parse_target


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="re-attach to jobs on an agent by id (or list them)",
                       description="Follow jobs already submitted to an agent to their results, by job id, "
                                   "e.g. after the controller that submitted them was killed. Without a job id: "
                                   "list the jobs the agent holds.")
    p.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="job ids as listed by `controller watch --target T`")
    p.add_argument("--target", required=True, help="[user@]host[:port] of an agent")
    p.add_argument("--keep", action="store_true", help="leave the results on the agent (do not collect them)")
    p.add_argument("--json", metavar="FILE", help="write the runs as JSON to FILE ('-' for stdout)")
    p.add_argument("--no-progress", action="store_true", help="no progress output on stderr")
    p.set_defaults(func=cmd_watch)


def _list_table(jobs: list[pb.JobStatus]) -> str:
    from .report import render_table

    rows = [[j.job_id, pb.JobState.Name(j.state).removeprefix("JOB_STATE_").lower(), j.model_name or "-",
             time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(j.submitted_unix_s)), j.error or ""] for j in jobs]
    return render_table(["job id", "state", "model", "submitted", "error"], rows) if rows else "no jobs on the agent"


def record_for(client: AgentClient, target: str, board: dict, result: pb.JobResult) -> RunRecord:
    """A run record from a result alone: the model is known by its name and sha256 on the board."""
    runtime = result.runtime or ("tflite" if result.spec.runtime == pb.RUNTIME_TFLITE else "onnxruntime")
    sha = result.model_sha256 or result.spec.model_sha256
    size = 0
    try:
        status = client.stub.HasModel(pb.ModelRef(sha256=sha), timeout=30)
        size = status.size_bytes
    except Exception:  # the size is informational only
        pass
    name = result.model_name or result.spec.model_name or sha[:12]
    model = ModelArg(f"sha256:{sha}", name, Path(name), "tflite" if runtime == "tflite" else "onnx")
    return run_from_result(target, board, model, UploadOutcome(sha, size, False), result)


def cmd_watch(args: argparse.Namespace) -> int:
    from .bench import connect
    from .report import bench_json, bench_table

    target = parse_target(args.target)
    if target.is_local:
        raise ControllerError("watch needs the address of a running agent: a `local` agent ends with its command")
    with connect(target) as client:
        if not args.job_ids:
            print(_list_table(client.list_jobs()))
            return 0
        board = board_record(client.describe())
        progress = ProgressBar(len(args.job_ids), enabled=not args.no_progress)
        records: list[RunRecord] = []
        for index, job_id in enumerate(args.job_ids, start=1):
            progress.start_job(index, job_id)
            result = client.watch(job_id, on_progress=progress.update)
            records.append(record_for(client, target.text, board, result))
            if not args.keep:
                client.collect(job_id)
            progress.finish_job(records[-1].status)
    table_stream = sys.stderr if args.json == "-" else sys.stdout
    print(bench_table(records), file=table_stream)
    if args.json == "-":
        sys.stdout.write(bench_json(records) + "\n")
    elif args.json:
        Path(args.json).write_text(bench_json(records) + "\n")
    return 0 if all(r.status == "ok" for r in records) else 1
