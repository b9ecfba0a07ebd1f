"""`controller watch`: re-attach to jobs already on an agent, by job id (after the controller was killed).

    controller watch --target pi@10.0.0.5                 # list the agent's jobs
    controller watch --target pi@10.0.0.5 JOB_ID --json -  # follow a job to its result, then collect it

The agent keeps every result until a controller collects it, so a result arrives once: the watch that gets
it collects it (unless --keep), and a later watch of the same id says it is gone.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ..errors import ControllerError
from ..link.connection import connect
from ..link.target import parse_target
from ..output.bench import bench_json, bench_table
from ..output.jobs import jobs_table
from ..output.progress import ProgressBar
from ..records import RunRecord
from . import options


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("watch", help="re-attach to jobs on an agent by id (or list them)",
                       description="Follow jobs already submitted to an agent to their results, by job id, "
                                   "e.g. after the controller that submitted them was killed. Without a job id: "
                                   "list the jobs the agent holds.")
    p.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="job ids as listed by `controller watch --target T`")
    p.add_argument("--target", required=True, help="[user@]host[:port] of an agent")
    p.add_argument("--keep", action="store_true", help="leave the results on the agent (do not collect them)")
    p.add_argument("--json", metavar="FILE", help="write the runs as JSON to FILE ('-' for stdout)")
    p.add_argument("--no-progress", action="store_true", help="no progress output on stderr")
    options.add_connection_flags(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    target = parse_target(args.target)
    if target.is_local:
        raise ControllerError("watch needs the address of a running agent: a `local` agent ends with its command")
    with connect(target, flags=options.credential_flags(args)) as board:
        if not args.job_ids:
            print(jobs_table(board.list_jobs()))
            return 0
        board.describe()
        records: list[RunRecord] = []
        with ProgressBar(len(args.job_ids), enabled=not args.no_progress) as progress:
            for index, job_id in enumerate(args.job_ids, start=1):
                progress.start_job(index, job_id)
                records.append(board.watch(job_id, on_progress=progress.update))
                if not args.keep:
                    board.collect(job_id)
                progress.finish_job(records[-1].status)
    table_stream = sys.stderr if args.json == "-" else sys.stdout
    width = shutil.get_terminal_size().columns if table_stream.isatty() else None
    print(bench_table(records, width), file=table_stream)
    if args.json == "-":
        sys.stdout.write(bench_json(records) + "\n")
    elif args.json:
        Path(args.json).write_text(bench_json(records) + "\n")
    return 0 if all(r.status == "ok" for r in records) else 1
