"""`controller watch`: re-attach to jobs already on an agent, by job id (after the controller was killed or
interrupted), and finish them exactly as bench would have: predicted, stored, then collected.

    controller watch --target pi@10.0.0.5                 # list the agent's jobs
    controller watch --target pi@10.0.0.5 JOB_ID --json -  # follow a job to its result, store it, collect it

The agent keeps every result until a controller collects it, so a result arrives once: the watch that gets
it stores it and then collects it (unless --keep), and a later watch of the same id says it is gone. What bench
knew of the job (model file, options, labels, store) comes from its pending-jobs journal on this host; for a
job submitted elsewhere, --model FILE names the model file for the prediction.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from .. import pending
from ..bench import BenchOptions, attach_predictions, collect_runs, prediction_choice
from ..errors import ControllerError
from ..link.client import file_sha256
from ..link.connection import BoardConnection, connect
from ..link.target import parse_target
from ..models import resolve_model
from ..output.bench import bench_json, bench_table
from ..output.jobs import jobs_table
from ..output.progress import ProgressBar
from ..records import ModelRecord, RunRecord
from ..store import open_store
from . import options
from .bench import store_runs


def add_parser(sub: options.Subparsers) -> None:
    p = sub.add_parser("watch", help="re-attach to jobs on an agent by id (or list them); store what they measured",
                       description="Follow jobs already submitted to an agent to their results, by job id, "
                                   "e.g. after the controller that submitted them was killed or interrupted, and "
                                   "store them with their prediction as bench does. Without a job id: list the "
                                   "jobs the agent holds.")
    p.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="job ids as listed by `controller watch --target T`")
    p.add_argument("--target", required=True, help="[user@]host[:port] of an agent")
    p.add_argument("--keep", action="store_true", help="leave the results on the agent (do not collect them)")
    p.add_argument("--model", metavar="FILE", help="the model file of a job submitted from another host (for its "
                                                   "prediction; checked against the job's sha256)")
    p.add_argument("--json", metavar="FILE", help="write the runs as JSON to FILE ('-' for stdout)")
    p.add_argument("--no-progress", action="store_true", help="no progress output on stderr")
    options.add_store_args(p)
    options.add_connection_flags(p)
    p.set_defaults(run=run)


def _finish(board: BoardConnection, record: RunRecord, entry: pending.PendingJob | None, model: Path | None) -> None:
    """What bench does after measuring: the spec kept with the run and the prediction from the model file."""
    if entry is not None:
        record.job_spec = entry.spec
        opts = BenchOptions(target=entry.target, models=[entry.model_text], device=entry.device,
                            input_shapes=entry.input_shapes, predict=entry.predict)
        path = Path(entry.model_path)
    else:
        opts, path = BenchOptions(target=board.target.text, models=[]), model
    if path is None or not path.is_file() or file_sha256(path) != record.model.sha256:
        record.warnings.append("no prediction: the model file of this job is not known on this host "
                               "(pass --model FILE)")
        return
    choice = prediction_choice(board.board, opts)
    if choice is not None:
        attach_predictions(choice, [(path, record, opts.input_shapes)])


def run(args: argparse.Namespace) -> int:
    target = parse_target(args.target)
    if target.is_local:
        raise ControllerError("watch needs the address of a running agent: a `local` agent ends with its command")
    model = resolve_model(args.model).path if args.model else None
    if not args.no_store:  # an unusable store stops the command before anything is collected
        open_store(args.db).close()
    with connect(target, flags=options.credential_flags(args)) as board:
        if not args.job_ids:
            print(jobs_table(board.list_jobs()))
            return 0
        board.describe()
        records: list[RunRecord] = []
        to_store: list[RunRecord] = []
        entries: dict[str, pending.PendingJob | None] = {}
        with ProgressBar(len(args.job_ids), enabled=not args.no_progress) as progress:
            for index, job_id in enumerate(args.job_ids, start=1):
                progress.start_job(index, job_id)
                entry = pending.load(job_id)
                record = board.watch(job_id, on_progress=progress.update)
                if entry is not None and record.model.sha256 != entry.model_sha256:
                    entry = None  # not the job the journal knows (another agent's id): trust only the board
                if entry is not None:  # the model as bench named it
                    record.model = ModelRecord(entry.model_name, entry.model_text, record.model.format,
                                               entry.model_sha256, record.model.size_bytes)
                entries[job_id] = entry
                _finish(board, record, entry, model)
                records.append(record)
                if entry is not None and entry.stored_run_id is not None:
                    record.run_id = entry.stored_run_id  # stored by bench, which stopped before collecting
                elif not args.no_store and (entry is None or entry.store):
                    to_store.append(record)
                progress.finish_job(records[-1].status)
        stored = []
        # Each run with the labels and the store bench was given (--label / --db here add to / win over them).
        groups: dict[tuple, list[RunRecord]] = {}
        for record in to_store:
            entry = entries.get(record.job_id)
            labels = {**(entry.labels if entry else {}), **dict(args.label)}
            db = args.db or (entry.db if entry else None)
            groups.setdefault((db, tuple(sorted(labels.items()))), []).append(record)
        for (db, labels), group in groups.items():
            stored.append(store_runs(group, db, dict(labels)))  # an error here leaves every result on the agent
        if not args.keep:
            collect_runs(board, records)
            for job_id in args.job_ids:
                pending.remove(job_id)
    table_stream = sys.stderr if args.json == "-" else sys.stdout
    width = shutil.get_terminal_size().columns if table_stream.isatty() else None
    print(bench_table(records, width), file=table_stream)
    for record in records:
        if record.run_id is not None and record not in to_store:
            print(f"run of job {record.job_id} was already stored (id {record.run_id})", file=table_stream)
    for line in stored:
        print(line, file=table_stream)
    if args.json:
        options.write_output(args.json, bench_json(records))
    return 0 if all(r.status == "ok" for r in records) else 1
