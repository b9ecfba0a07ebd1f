"""The results store: every measured run with what is needed to reproduce and compare it.

    with open_store(args.db) as store:          # migrates an older store; refuses a newer one
        ids = store.add_runs([NewRun(record.to_json(), labels)])
        runs = store.query(RunFilter(model="resnet18", limit=20))

Writes are one transaction per call: a run, its samples, labels, trace and verdict land together or not at all.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgebench.agent import __version__

from ..records import BenchmarkKey, RunRecord
from .backend import Backend, connect
from .model import RUN_COLUMNS, Acceptance, RunFilter, Session, StoredRun, Verdict
from .schema import MIGRATIONS, SCHEMA_VERSION
from .url import StoreError, StoreURL, resolve_url

REGRESS_LOCK = "regress"
# `runs` columns that hold a run's comparison key, in BenchmarkKey order (one index covers them).
_KEY_CLAUSES = [f"r.{column} = ?" for column in BenchmarkKey._fields]


@dataclass
class NewRun:
    """A run to store: the bench --json run object (RunRecord.to_json(), kept as given) and its context."""
    record: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    session_id: int | None = None
    created_unix_s: float | None = None
    verdict: Verdict | None = None


def encode_samples(samples: Sequence[float]) -> bytes:
    return np.asarray(samples, dtype="<f8").tobytes()


def decode_samples(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype="<f8")


class Store:
    def __init__(self, backend: Backend, url: StoreURL) -> None:
        self.db = backend
        self.url = url

    # -- lifecycle ---------------------------------------------------------------------------------------
    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        rows = self.db.execute("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                        "applied_unix_s " + self.db.types["float"] + " NOT NULL)")
        # Check first outside a write transaction: a newer store is refused without taking any lock.
        self._refuse_newer(self.schema_version())
        if self.schema_version() == SCHEMA_VERSION:
            return
        with self.db.transaction():
            if self.db.kind == "postgresql":  # two controllers migrating at once: the second waits, then sees it done
                self.db.execute("SELECT pg_advisory_xact_lock(7311)")
            current = self.schema_version()
            self._refuse_newer(current)
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    self.db.execute(statement.format(**self.db.types))
                self.db.execute("INSERT INTO schema_version (version, applied_unix_s) VALUES (?, ?)",
                                (version, time.time()))

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the results store {self.url} is at schema version {version}, newer than this controller "
                f"understands ({SCHEMA_VERSION}): upgrade edgebench (pip install -U 'edgebench[host]'); "
                "nothing was written")

    # -- locking -----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self, name: str = REGRESS_LOCK, what: str = "regress") -> Iterator[None]:
        """One `what` at a time per store; the lock goes with the process, so a crash never leaves it held."""
        if not self.db.try_lock(name):
            raise StoreError(f"another {what} is already running against the results store {self.url}; "
                             "wait for it to finish (one at a time per store keeps the baselines consistent)")
        try:
            yield
        finally:
            self.db.unlock(name)

    # -- sessions ----------------------------------------------------------------------------------------
    def start_session(self, kind: str, config: dict[str, Any]) -> int:
        with self.db.transaction():
            rows = self.db.execute(
                "INSERT INTO sessions (kind, started_unix_s, status, host, pid, config_json) "
                "VALUES (?, ?, 'running', ?, ?, ?) RETURNING id",
                (kind, time.time(), socket.gethostname(), os.getpid(), json.dumps(config)))
        return int(rows[0][0])

    def finish_session(self, session_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE sessions SET finished_unix_s = ?, status = ?, summary_json = ? WHERE id = ?",
                            (time.time(), status, json.dumps(summary), session_id))

    def sessions(self, kind: str | None = None, limit: int = 50) -> list[Session]:
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        rows = self.db.execute(
            "SELECT id, kind, started_unix_s, finished_unix_s, status, config_json, summary_json FROM sessions "
            f"{where} ORDER BY id DESC LIMIT ?", (*params, limit))
        return [Session(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None,
                        json.loads(r[6]) if r[6] else None) for r in rows]

    # -- writing -----------------------------------------------------------------------------------------
    def add_runs(self, runs: Sequence[NewRun]) -> list[int]:
        """Store runs in one transaction; returns their ids in order."""
        if not runs:
            return []
        with self.db.transaction():
            ids = self._allocate_ids(len(runs))
            rows, samples, labels, traces, verdicts = [], [], [], [], []
            for run_id, new in zip(ids, runs, strict=True):
                row, run_samples, trace = self._run_row(run_id, new)
                rows.append(row)
                samples.append((run_id, len(run_samples), encode_samples(run_samples)))
                labels += [(run_id, k, str(v)) for k, v in sorted(new.labels.items())]
                if trace:
                    traces.append((run_id, json.dumps(trace)))
                if new.verdict is not None:
                    v = new.verdict
                    verdicts.append((run_id, new.session_id, v.verdict, v.p_value, v.change, v.median_ms,
                                     v.baseline_median_ms, json.dumps(v.baseline_ids), json.dumps(v.detail)))
            cols = RUN_COLUMNS + ("record_json", "spec_json")
            self.db.executemany(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                rows)
            self.db.executemany("INSERT INTO samples (run_id, count, data) VALUES (?, ?, ?)", samples)
            if labels:
                self.db.executemany("INSERT INTO labels (run_id, key, value) VALUES (?, ?, ?)", labels)
            if traces:
                self.db.executemany("INSERT INTO traces (run_id, trace_json) VALUES (?, ?)", traces)
            if verdicts:
                self.db.executemany(
                    "INSERT INTO verdicts (run_id, session_id, verdict, p_value, change, median_ms, "
                    "baseline_median_ms, baseline_ids, detail_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", verdicts)
        return ids

    def _allocate_ids(self, n: int) -> list[int]:
        # Ids chosen up front let the five tables be written with executemany (fast at 100k runs).
        if self.db.kind == "postgresql":
            rows = self.db.execute("SELECT nextval(pg_get_serial_sequence('runs', 'id')) "
                                   "FROM generate_series(1, ?)", (n,))
            return [int(r[0]) for r in rows]
        # SQLite: we hold the write lock (BEGIN IMMEDIATE), so MAX(id) cannot move under us.
        start = int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM runs")[0][0]) + 1
        return list(range(start, start + n))

    @staticmethod
    def _run_row(run_id: int, new: NewRun) -> tuple[tuple, list[float], Any]:
        r = json.loads(json.dumps(new.record))  # a private deep copy we may take apart
        samples = r.pop("samples_ms", None) or []
        spec = r.pop("job_spec", None)
        energy = r.get("energy") or {}
        trace = energy.pop("trace", None) if isinstance(energy, dict) else None
        record = RunRecord.from_json(r)
        # The sensors' figures as the energy detail holds them (every measured run's record has them there).
        throttled = energy.get("throttled")
        pred = record.predicted or {}
        lat = record.latency_ms
        created = new.created_unix_s or record.finished_unix_s or time.time()
        key = record.key
        columns = StoredRun(
            id=run_id, created_unix_s=created, session_id=new.session_id, target=record.target or "",
            board_fingerprint=key.board_fingerprint, board_model=record.board.model,
            model_name=record.model.name or "", model_sha256=key.model_sha256, runtime=key.runtime,
            runtime_version=record.runtime_version, ep=key.ep, threads=int(key.threads or 0),
            input_shapes=key.input_shapes, status=record.status or "failed", error=record.error,
            latency_mean_ms=lat.mean if lat else None, latency_p50_ms=lat.p50 if lat else None,
            latency_count=lat.count if lat else None, peak_rss_mb=record.peak_rss_mb,
            energy_j_per_inference=energy.get("energy_j_per_inference"), power_avg_w=energy.get("power_avg_w"),
            temp_max_c=energy.get("temp_max_c"), throttled=None if throttled is None else bool(throttled),
            predicted_latency_ms=None if pred.get("error") else pred.get("predicted_latency_ms"),
            agent_version=record.board.agent_version,
            controller_version=r.get("controller_version") or __version__, labels=new.labels,
            contended=None if record.contended is None else bool(record.contended))
        row = (*columns.column_values(), json.dumps(r), json.dumps(spec) if spec is not None else None)
        return row, samples, trace

    # -- reading -----------------------------------------------------------------------------------------
    def query(self, f: RunFilter) -> list[StoredRun]:
        where, params = self._where(f)
        order = "ASC" if f.oldest_first else "DESC"
        sql = (f"SELECT {', '.join('r.' + c for c in RUN_COLUMNS)}, v.verdict FROM runs r "
               f"LEFT JOIN verdicts v ON v.run_id = r.id {where} "
               f"ORDER BY r.created_unix_s {order}, r.id {order}")
        if f.limit:
            sql += " LIMIT ?"
            params.append(f.limit)
        return [self._stored(row) for row in self.db.execute(sql, params)]

    def count(self, f: RunFilter | None = None) -> int:
        where, params = self._where(f or RunFilter())
        return int(self.db.execute(f"SELECT COUNT(*) FROM runs r LEFT JOIN verdicts v ON v.run_id = r.id "
                                   f"{where}", params)[0][0])

    @staticmethod
    def _where(f: RunFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []

        def add(clause: str, *values: Any) -> None:
            clauses.append(clause)
            params.extend(values)

        if f.model:
            add("(r.model_name = ? OR r.model_sha256 LIKE ?)", f.model, f.model.lower() + "%")
        if f.board:
            add("(r.board_fingerprint LIKE ? OR LOWER(r.board_model) LIKE ?)", f.board.lower() + "%",
                "%" + f.board.lower() + "%")
        for column, value in (("target", f.target), ("runtime", f.runtime), ("status", f.status),
                              ("threads", f.threads), ("session_id", f.session_id)):
            if value is not None:
                add(f"r.{column} = ?", value)
        if f.ep:
            add("(r.ep = ? OR r.ep = ?)", f.ep, f.ep + "ExecutionProvider")
        if f.verdict:
            add("v.verdict = ?", f.verdict)
        if f.since_unix_s is not None:
            add("r.created_unix_s >= ?", f.since_unix_s)
        if f.until_unix_s is not None:
            add("r.created_unix_s < ?", f.until_unix_s)
        for key, value in sorted(f.labels.items()):
            add("EXISTS (SELECT 1 FROM labels l WHERE l.run_id = r.id AND l.key = ? AND l.value = ?)", key, value)
        if f.ids is not None:
            if not f.ids:
                add("1 = 0")
            else:
                add(f"r.id IN ({', '.join('?' * len(f.ids))})", *f.ids)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    @staticmethod
    def _stored(row: Sequence[Any]) -> StoredRun:
        values = dict(zip(RUN_COLUMNS, row[:len(RUN_COLUMNS)], strict=True))
        labels = json.loads(values.pop("labels_json") or "{}")
        throttled, contended = values.pop("throttled"), values.pop("contended")
        return StoredRun(**values, throttled=None if throttled is None else bool(throttled), labels=labels,
                         verdict=row[len(RUN_COLUMNS)], contended=None if contended is None else bool(contended))

    def get(self, run_id: int) -> StoredRun:
        runs = self.query(RunFilter(ids=[run_id], limit=1))
        if not runs:
            raise StoreError(f"no run {run_id} in the results store {self.url}")
        run = runs[0]
        record_json, spec_json = self.db.execute("SELECT record_json, spec_json FROM runs WHERE id = ?",
                                                 (run_id,))[0]
        run.record = json.loads(record_json)
        run.spec = json.loads(spec_json) if spec_json else None
        return run

    def samples(self, run_ids: Sequence[int]) -> dict[int, np.ndarray]:
        if not run_ids:
            return {}
        rows = self.db.execute(f"SELECT run_id, data FROM samples WHERE run_id IN ({', '.join('?' * len(run_ids))})",
                               list(run_ids))
        return {int(r[0]): decode_samples(r[1]) for r in rows}

    def trace(self, run_id: int) -> list[dict[str, Any]] | None:
        rows = self.db.execute("SELECT trace_json FROM traces WHERE run_id = ?", (run_id,))
        return json.loads(rows[0][0]) if rows else None

    def runs_with_trace(self, run_ids: Sequence[int]) -> set[int]:
        if not run_ids:
            return set()
        rows = self.db.execute(f"SELECT run_id FROM traces WHERE run_id IN ({', '.join('?' * len(run_ids))})",
                               list(run_ids))
        return {int(r[0]) for r in rows}

    def verdict(self, run_id: int) -> Verdict | None:
        rows = self.db.execute("SELECT verdict, p_value, change, median_ms, baseline_median_ms, baseline_ids, "
                               "detail_json FROM verdicts WHERE run_id = ?", (run_id,))
        if not rows:
            return None
        r = rows[0]
        return Verdict(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]) if r[6] else {})

    def series(self, key: BenchmarkKey, limit: int = 100, since_unix_s: float | None = None,
               model_name: str | None = None) -> list[StoredRun]:
        """Every run with this comparison key, oldest first (the last `limit`): a benchmark's trend. With
        `model_name`: the model by name, every version of its file (as regress compares them)."""
        clauses, params = self._identity(key, model_name)
        if since_unix_s is not None:
            clauses.append("r.created_unix_s >= ?")
            params.append(since_unix_s)
        sql = (f"SELECT {', '.join('r.' + c for c in RUN_COLUMNS)}, v.verdict FROM runs r "
               f"LEFT JOIN verdicts v ON v.run_id = r.id WHERE {' AND '.join(clauses)} "
               "ORDER BY r.created_unix_s DESC, r.id DESC LIMIT ?")
        return [self._stored(row) for row in reversed(self.db.execute(sql, (*params, limit)))]

    def baseline(self, run: StoredRun | BenchmarkKey, limit: int, exclude_session: int | None = None,
                 before_unix_s: float | None = None, labels: dict[str, str] | None = None,
                 session_id: int | None = None, model_name: str | None = None, regress_only: bool = False,
                 since_acceptance: bool = False, usable_only: bool = True) -> list[StoredRun]:
        """The most recent good runs with the same comparison key, newest first: succeeded, neither throttled
        nor contended nor excluded, not themselves flagged as a regression unless someone accepted it (a regression stays
        news until it is fixed, accepted, or another baseline is chosen).

        `model_name`: the model by this name instead of the key's sha256, whatever version of the file (a
        nightly suite's model file changes between nights, and that change is what it watches). `regress_only`: runs made by
        `regress` and accepted runs only, not ad-hoc bench runs. `since_acceptance`: nothing older than the
        benchmark's latest accepted run. `usable_only=False`: every run in that scope, good or not (to say why
        none is usable)."""
        key = run.key if isinstance(run, StoredRun) else run
        clauses, params = self._identity(key, model_name)
        if usable_only:
            clauses += ["r.status = 'ok'", "(r.throttled IS NULL OR r.throttled = 0)",
                        "(r.contended IS NULL OR r.contended = 0)",
                        # an excluded run (a first attempt awaiting its confirming re-run) is no baseline either
                        "(v.verdict IS NULL OR v.verdict NOT IN ('regression', 'excluded') OR a.run_id IS NOT NULL)"]
        if regress_only:
            clauses.append("(a.run_id IS NOT NULL OR r.session_id IN (SELECT id FROM sessions WHERE kind = ?))")
            params.append(REGRESS_LOCK)
        if since_acceptance:
            accepted = self.latest_acceptance(key, model_name)
            if accepted is not None:
                clauses.append("(r.created_unix_s > ? OR (r.created_unix_s = ? AND r.id >= ?))")
                params += [accepted.created_unix_s, accepted.created_unix_s, accepted.id]
        if exclude_session is not None:
            clauses.append("(r.session_id IS NULL OR r.session_id <> ?)")
            params.append(exclude_session)
        if session_id is not None:
            clauses.append("r.session_id = ?")
            params.append(session_id)
        if before_unix_s is not None:
            clauses.append("r.created_unix_s < ?")
            params.append(before_unix_s)
        for k, value in sorted((labels or {}).items()):
            clauses.append("EXISTS (SELECT 1 FROM labels l WHERE l.run_id = r.id AND l.key = ? AND l.value = ?)")
            params += [k, value]
        sql = (f"SELECT {', '.join('r.' + c for c in RUN_COLUMNS)}, v.verdict FROM runs r "
               "LEFT JOIN verdicts v ON v.run_id = r.id LEFT JOIN acceptances a ON a.run_id = r.id "
               f"WHERE {' AND '.join(clauses)} ORDER BY r.created_unix_s DESC, r.id DESC LIMIT ?")
        return [self._stored(row) for row in self.db.execute(sql, (*params, limit))]

    @staticmethod
    def _identity(key: BenchmarkKey, model_name: str | None) -> tuple[list[str], list[Any]]:
        if model_name is None:
            return list(_KEY_CLAUSES), list(key)
        clauses = [c if c != "r.model_sha256 = ?" else "r.model_name = ?" for c in _KEY_CLAUSES]
        return clauses, [model_name if f == "model_sha256" else v for f, v in zip(key._fields, key, strict=True)]

    # -- accepted regressions ----------------------------------------------------------------------------
    def accept(self, run_ids: Sequence[int], reason: str, accepted_by: str | None) -> list[int]:
        """Accept these regressions as the new normal (one transaction); returns the ids newly accepted (a run
        already accepted keeps its first reason)."""
        if not reason.strip():
            raise StoreError("an acceptance needs a reason (it is stored with it)")
        with self.db.transaction():
            done = {a.run_id for a in self.acceptances(run_ids)}
            new = [i for i in dict.fromkeys(run_ids) if i not in done]
            self.db.executemany("INSERT INTO acceptances (run_id, accepted_unix_s, reason, accepted_by) "
                                "VALUES (?, ?, ?, ?)", [(i, time.time(), reason.strip(), accepted_by) for i in new])
        return new

    def acceptances(self, run_ids: Sequence[int]) -> list[Acceptance]:
        if not run_ids:
            return []
        rows = self.db.execute("SELECT run_id, accepted_unix_s, reason, accepted_by FROM acceptances WHERE run_id "
                               f"IN ({', '.join('?' * len(run_ids))}) ORDER BY run_id", list(run_ids))
        return [Acceptance(int(r[0]), r[1], r[2], r[3]) for r in rows]

    def latest_acceptance(self, key: BenchmarkKey, model_name: str | None = None) -> StoredRun | None:
        """The benchmark's most recent accepted run: where its baseline starts."""
        clauses, params = self._identity(key, model_name)
        sql = (f"SELECT {', '.join('r.' + c for c in RUN_COLUMNS)}, v.verdict FROM runs r "
               "JOIN acceptances a ON a.run_id = r.id LEFT JOIN verdicts v ON v.run_id = r.id "
               f"WHERE {' AND '.join(clauses)} ORDER BY r.created_unix_s DESC, r.id DESC LIMIT 1")
        rows = self.db.execute(sql, params)
        return self._stored(rows[0]) if rows else None


def open_store(url_text: str | None = None, create: bool = True) -> Store:
    """Open (and create or migrate) the store named by --db / $EDGEBENCH_DB / the default. With create=False
    (the commands that only read) a SQLite file that does not exist is an error, not a new empty store."""
    url = resolve_url(url_text)
    if not create and url.kind == "sqlite" and not Path(url.target).is_file():
        raise StoreError(f"there is no results store at {url.target} (nothing was ever stored there; "
                         "`controller bench` creates it): check --db or $EDGEBENCH_DB")
    backend = connect(url)
    store = Store(backend, url)
    try:
        store._migrate()
    except BaseException:
        store.close()
        raise
    return store
