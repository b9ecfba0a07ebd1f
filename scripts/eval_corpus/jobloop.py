"""The exporters' side of the job protocol (runs inside an exporter venv; standard library only).

The orchestrator writes a jobs file (a JSON list of {"recipe", "out", "source_path"}) and starts
`python -m eval_corpus.export_X JOBS RESULTS`. The worker appends one JSON line to RESULTS when it starts a job
and one when the job ends, so a worker that crashes or hangs loses only the job it was on: the orchestrator sees
a "start" with no "done", records that job as failed, and starts a fresh worker for the rest.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

from eval_corpus.recipes import Recipe

# export(recipe, tmp_out, source_path) writes the model to tmp_out and returns what it knows about it
# (params, exporter_version, library_version, bench_shapes {input name: shape}, ...).
ExportFn = Callable[[Recipe, Path, "Path | None"], dict[str, Any]]


def recipe_from_json(raw: dict[str, Any]) -> Recipe:
    known = {f.name for f in fields(Recipe)}
    values = {k: v for k, v in raw.items() if k in known}
    values["options"] = tuple(tuple(pair) for pair in values.get("options", ()))
    return Recipe(**values)


def run_jobs(argv: list[str], export: ExportFn, versions: dict[str, str]) -> int:
    jobs_path, results_path = Path(argv[0]), Path(argv[1])
    jobs = json.loads(jobs_path.read_text())
    with open(results_path, "a", buffering=1) as results:
        def emit(record: dict[str, Any]) -> None:
            results.write(json.dumps(record) + "\n")
            results.flush()
            os.fsync(results.fileno())

        emit({"event": "versions", "versions": versions})
        for job in jobs:
            recipe = recipe_from_json(job["recipe"])
            out = Path(job["out"])
            tmp = out.with_name(f".{out.name}.tmp")
            emit({"event": "start", "name": recipe.name})
            print(f"--- {recipe.name}", file=sys.stderr, flush=True)
            t0 = time.monotonic()
            try:
                source = Path(job["source_path"]) if job.get("source_path") else None
                info = export(recipe, tmp, source)
                if not tmp.is_file() or tmp.stat().st_size == 0:
                    raise RuntimeError("the exporter returned without writing a file")
                os.replace(tmp, out)
                emit({"event": "done", "name": recipe.name, "ok": True, "export_s": round(time.monotonic() - t0, 2),
                      **info})
            except Exception as e:  # one recipe's failure is recorded, the others still run
                traceback.print_exc(file=sys.stderr)
                tmp.unlink(missing_ok=True)
                message = f"{type(e).__name__}: {e}".strip()
                emit({"event": "done", "name": recipe.name, "ok": False, "export_s": round(time.monotonic() - t0, 2),
                      "error": message[:1500]})
    return 0
