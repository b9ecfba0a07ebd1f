"""The orchestrator's side of the job protocol: run an exporter worker over a list of recipes, survive its
crashes and hangs, and hand back one result per recipe.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from eval_corpus.recipes import Recipe

SCRIPTS_DIR = Path(__file__).resolve().parent.parent
POLL_S = 0.5


def _read_events(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Complete JSON lines appended since `offset` (a half-written last line waits for the next poll)."""
    if not path.exists():
        return [], offset
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    events = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return events, offset + end


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker's own group: it may have spawned helpers
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def run_worker(env: str, python: Path, jobs: list[tuple[Recipe, Path, Path | None]], work_dir: Path,
               recipe_timeout_s: float, on_done: Callable[[dict[str, Any]], None], *,
               module: str | None = None, extra_path: tuple[str, ...] = ()) -> dict[str, str]:
    """Export every job; `on_done` gets each result record as it arrives ({"name", "ok", ...}). A worker that
    dies or goes silent for `recipe_timeout_s` is killed, the job it was on is failed, and a fresh worker
    carries on with the rest (so at most one restart per job). Returns the worker's reported versions.
    `module` (default eval_corpus.export_ENV) and `extra_path` let a test drive a worker of its own."""
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / f"export-{env}.log"
    pending = list(jobs)
    versions: dict[str, str] = {}
    with open(log_path, "a") as log:
        while pending:
            jobs_path = work_dir / f"jobs-{env}.json"
            results_path = work_dir / f"results-{env}.jsonl"
            results_path.unlink(missing_ok=True)
            jobs_path.write_text(json.dumps([{"recipe": asdict(r), "out": str(out),
                                              "source_path": str(src) if src else None}
                                             for r, out, src in pending]))
            env_vars = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SCRIPTS_DIR), *extra_path]),
                        "TF_CPP_MIN_LOG_LEVEL": "2",
                        "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
            cmd = ["nice", "-n", "10", str(python), "-m", module or f"eval_corpus.export_{env}", str(jobs_path),
                   str(results_path)]
            proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env_vars, start_new_session=True)
            offset, current, last_event = 0, None, time.monotonic()
            done: set[str] = set()
            while True:
                exited = proc.poll() is not None  # polled before reading, so nothing it wrote is missed
                events, offset = _read_events(results_path, offset)
                for event in events:
                    last_event = time.monotonic()
                    if event["event"] == "versions":
                        versions = event["versions"]
                    elif event["event"] == "start":
                        current = event["name"]
                    elif event["event"] == "done":
                        done.add(event["name"])
                        current = None
                        on_done(event)
                if exited:
                    break
                if time.monotonic() - last_event > recipe_timeout_s:
                    _kill(proc)
                    if current:
                        on_done({"name": current, "ok": False, "export_s": round(recipe_timeout_s, 1),
                                 "error": f"the exporter was silent for {recipe_timeout_s:.0f} s and was killed"})
                        done.add(current)
                        current = None
                    break
                time.sleep(POLL_S)
            if current:  # it died while on this job
                on_done({"name": current, "ok": False,
                         "error": f"the {env} exporter process died (exit {proc.returncode}) on this model; "
                                  f"see {log_path}"})
                done.add(current)
            remaining = [job for job in pending if job[0].name not in done]
            if len(remaining) == len(pending):  # it made no progress at all: do not loop on a broken env
                for recipe, _, _ in remaining:
                    on_done({"name": recipe.name, "ok": False,
                             "error": f"the {env} exporter exited (code {proc.returncode}) before this model; "
                                      f"see {log_path}"})
                remaining = []
            pending = remaining
    return versions
