"""`controller regress accept`: a regression someone decided is the new normal. Until then it keeps failing
every night (its old baseline stays the baseline); once accepted, the benchmark's baseline starts at that
run, and the reason is stored beside it."""
from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass

from ..errors import ControllerError
from ..store import RunFilter, Store, StoredRun


@dataclass
class AcceptRequest:
    reason: str
    run_ids: list[int]
    session_id: int | None = None
    model: str | None = None  # a benchmark by model name: its latest regression on each board
    target: str | None = None  # with `model`: only this board (the fleet's name)


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without passwd entry)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def regressions_to_accept(store: Store, req: AcceptRequest) -> list[StoredRun]:
    """The runs the request names; each must be a regression (one clear error otherwise)."""
    picked: list[StoredRun] = []
    for run_id in req.run_ids:
        run = store.get(run_id)
        if run.verdict != "regression":
            raise ControllerError(f"run {run_id} is not a regression (verdict {run.verdict or 'none'}): "
                                  "only a flagged regression can be accepted")
        picked.append(run)
    if req.session_id is not None:
        runs = store.query(RunFilter(session_id=req.session_id, verdict="regression", limit=None))
        if not runs:
            raise ControllerError(f"session {req.session_id} has no regression to accept")
        picked += runs
    if req.model is not None:
        runs = [r for r in store.query(RunFilter(model=req.model, target=req.target, verdict="regression",
                                                 limit=None))
                if r.model_name == req.model]
        latest: dict[tuple, StoredRun] = {}
        for r in runs:  # newest first: the first of each benchmark is its latest regression
            latest.setdefault((r.board_fingerprint, r.runtime, r.ep, r.threads, r.input_shapes), r)
        if not latest:
            where = f" on {req.target}" if req.target else ""
            raise ControllerError(f"no regression of model {req.model!r}{where} to accept")
        picked += latest.values()
    if not picked:
        raise ControllerError("name what to accept: --run ID, --session ID or --benchmark MODEL")
    return list({r.id: r for r in picked}.values())


def accept(store: Store, req: AcceptRequest) -> tuple[list[StoredRun], list[int]]:
    """(the regressions named, the ids newly accepted: one already accepted keeps its first reason)."""
    if not req.reason.strip():
        raise ControllerError("--reason is required: say why this regression is the new normal (it is stored)")
    runs = regressions_to_accept(store, req)
    return runs, store.accept([r.id for r in runs], req.reason, _who())
