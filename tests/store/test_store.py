"""The results store on SQLite and on a real PostgreSQL server: the same tests, both backends."""
from __future__ import annotations

import multiprocessing
import time

import numpy as np
import pytest

from edgebench.controller.store import SCHEMA_VERSION, NewRun, RunFilter, StoreError, Verdict, open_store
from tests.store.records import make_record


def test_run_round_trip_keeps_everything(store_url):
    samples = [7.25, 7.5, 7.125, 9.0, 7.3333333333333]
    record = make_record(samples, throttled=False, trace=True, finished=1_790_000_000.5)
    with open_store(store_url) as store:
        [run_id] = store.add_runs([NewRun(record, {"git": "abc123", "nightly": "yes"})])
        run = store.get(run_id)
        assert run.created_unix_s == 1_790_000_000.5  # the board's finish time
        assert run.board_fingerprint == "3f1c00aa11bb22cc" and run.board_model.startswith("Raspberry Pi 5")
        assert (run.model_name, run.model_sha256, run.runtime, run.runtime_version, run.ep, run.threads) == (
            "mobilenet_v2", "ab" * 32, "onnxruntime", "1.32.0", "CPUExecutionProvider", 4)
        assert run.input_shapes == "input=1x3x224x224"
        assert run.labels == {"git": "abc123", "nightly": "yes"}
        assert run.throttled is False and run.temp_max_c == 61.0 and run.energy_j_per_inference == 0.05
        assert run.predicted_latency_ms == 7.5 and run.agent_version == "0.1.0" and run.controller_version
        assert run.spec == {"model_sha256": "ab" * 32, "threads": 4, "runs": 5, "warmup_runs": 5}
        # The full run object comes back (minus the samples, kept apart as float64, bit for bit).
        expected = {k: v for k, v in record.items() if k not in ("samples_ms", "job_spec")}
        expected["energy"] = {k: v for k, v in record["energy"].items() if k != "trace"}
        assert run.record == expected
        got = store.samples([run_id])[run_id]
        assert got.dtype == np.float64 and got.tolist() == samples
        trace = store.trace(run_id)
        assert [s["figure"] for s in trace] == ["power", "cpu-thermal"] and trace[0]["values"][2] == 6.6
        assert store.verdict(run_id) is None


def test_failed_run_is_stored_with_its_error_and_no_figures(store_url):
    with open_store(store_url) as store:
        [run_id] = store.add_runs([NewRun(make_record([], status="failed"))])
        run = store.get(run_id)
        assert run.status == "failed" and "signal 9" in run.error
        assert run.latency_mean_ms is None and run.latency_count is None
        assert store.samples([run_id])[run_id].size == 0


def test_history_filters(store_url):
    t0 = 1_790_000_000.0
    with open_store(store_url) as store:
        store.add_runs([
            NewRun(make_record([1.0] * 5, model="resnet18", sha="cd" * 32, threads=1), {"git": "a"}, created_unix_s=t0),
            NewRun(make_record([2.0] * 5, model="resnet18", sha="cd" * 32, threads=2), {"git": "b"},
                   created_unix_s=t0 + 100),
            NewRun(make_record([3.0] * 5, fingerprint="99aa"), {"git": "b"}, created_unix_s=t0 + 200),
            NewRun(make_record([], status="failed"), {}, created_unix_s=t0 + 300),
        ])
        ids = lambda f: [r.id for r in store.query(f)]  # noqa: E731
        all_ids = ids(RunFilter())
        assert len(all_ids) == 4 and all_ids == sorted(all_ids, reverse=True)  # newest first
        assert len(ids(RunFilter(model="resnet18"))) == 2
        assert len(ids(RunFilter(model="cdcd"))) == 2  # sha256 prefix
        assert len(ids(RunFilter(board="99aa"))) == 1
        assert len(ids(RunFilter(board="raspberry pi 5"))) == 4
        assert len(ids(RunFilter(labels={"git": "b"}))) == 2
        assert len(ids(RunFilter(labels={"git": "b"}, model="resnet18"))) == 1
        assert len(ids(RunFilter(threads=2))) == 1
        assert len(ids(RunFilter(status="failed"))) == 1
        assert len(ids(RunFilter(ep="CPU"))) == 4
        assert len(ids(RunFilter(since_unix_s=t0 + 150))) == 2
        assert len(ids(RunFilter(until_unix_s=t0 + 150))) == 2
        assert len(ids(RunFilter(limit=1))) == 1
        oldest = store.query(RunFilter(oldest_first=True, limit=1))[0]
        assert oldest.created_unix_s == t0
        assert store.count() == 4 and store.count(RunFilter(model="resnet18")) == 2


def test_a_failing_write_leaves_nothing_behind(store_url):
    with open_store(store_url) as store:
        store.add_runs([NewRun(make_record([1.0] * 5))])
        # The run and samples rows go in first; the label with no key then violates NOT NULL.
        with pytest.raises(StoreError):
            store.add_runs([NewRun(make_record([2.0] * 5)), NewRun(make_record([3.0] * 5), {None: "x"})])
        assert store.count() == 1
        assert len(store.samples(list(range(1, 10)))) == 1
        # Still usable after the rollback.
        store.add_runs([NewRun(make_record([4.0] * 5))])
        assert store.count() == 2


def test_store_at_a_newer_schema_is_refused_and_left_alone(store_url):
    with open_store(store_url) as store:
        store.add_runs([NewRun(make_record([1.0] * 5))])
        store.db.execute("INSERT INTO schema_version (version, applied_unix_s) VALUES (?, ?)",
                         (SCHEMA_VERSION + 1, time.time()))
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 1}, newer than this controller"):
        open_store(store_url)
    with pytest.raises(StoreError, match="nothing was written"):
        open_store(store_url)


def test_migrations_apply_once(store_url):
    for _ in range(2):
        with open_store(store_url) as store:
            assert store.schema_version() == SCHEMA_VERSION
            versions = [r[0] for r in store.db.execute("SELECT version FROM schema_version ORDER BY version")]
            assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_exclusive_lock_is_one_at_a_time_and_released(store_url):
    with open_store(store_url) as first, open_store(store_url) as second:
        with first.exclusive():
            with pytest.raises(StoreError, match="another regress is already running"):
                with second.exclusive():
                    pass
        with second.exclusive():  # released by the first
            pass


def _writer(url: str, n: int, tag: str) -> None:
    with open_store(url) as store:
        for i in range(n):
            store.add_runs([NewRun(make_record([float(i + 1)] * 5), {"writer": tag}),
                            NewRun(make_record([float(i + 2)] * 5), {"writer": tag})])


def test_concurrent_writers_lose_nothing(store_url):
    open_store(store_url).close()  # create the schema first, as any command would
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(store_url, 15, tag)) for tag in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with open_store(store_url) as store:
        runs = store.query(RunFilter(limit=None))
        assert len(runs) == 60 and len({r.id for r in runs}) == 60
        assert sum(r.labels["writer"] == "a" for r in runs) == 30
        assert len(store.samples([r.id for r in runs])) == 60


def test_baseline_is_recent_good_like_runs(store_url):
    t0 = 1_790_000_000.0
    good = make_record([5.0] * 6)
    with open_store(store_url) as store:
        session = store.start_session("regress", {})
        ids = store.add_runs([
            NewRun(good, created_unix_s=t0),                                               # oldest good
            NewRun(good, created_unix_s=t0 + 1),                                           # good
            NewRun(make_record([5.0] * 6, throttled=True), created_unix_s=t0 + 2),         # throttled
            NewRun(make_record([], status="failed"), created_unix_s=t0 + 3),               # failed
            NewRun(good, created_unix_s=t0 + 4, session_id=session,
                   verdict=Verdict("regression", 1e-6, 0.3, 6.5, 5.0, [1])),              # a regression
            NewRun(make_record([5.0] * 6, threads=1), created_unix_s=t0 + 5),              # other threads
            NewRun(make_record([5.0] * 6, fingerprint="0ther"), created_unix_s=t0 + 6),    # other board
            NewRun(make_record([5.0] * 6, sha="ef" * 32), created_unix_s=t0 + 7),          # other model
            NewRun(good, created_unix_s=t0 + 8, session_id=session),                       # same session
        ])
        probe = store.get(ids[0])
        assert [r.id for r in store.baseline(probe, limit=5)] == [ids[8], ids[1], ids[0]]
        assert [r.id for r in store.baseline(probe, limit=5, exclude_session=session)] == [ids[1], ids[0]]
        assert [r.id for r in store.baseline(probe, limit=1, exclude_session=session)] == [ids[1]]
        assert [r.id for r in store.baseline(probe, limit=5, session_id=session)] == [ids[8]]
        assert store.verdict(ids[4]).baseline_ids == [1] and store.verdict(ids[4]).verdict == "regression"
        store.finish_session(session, "regressions", {"regressions": 1})
        [s] = store.sessions("regress")
        assert s.status == "regressions" and s.summary == {"regressions": 1} and s.finished_unix_s


def test_unreachable_postgres_is_a_clear_error():
    with pytest.raises(StoreError, match="cannot connect to the results store postgresql://x:\\*\\*\\*@127.0.0.1:1/"):
        open_store("postgresql://x:secret@127.0.0.1:1/nope")


def test_bad_urls_are_refused(tmp_path):
    with pytest.raises(StoreError, match="unsupported store URL"):
        open_store("mysql://localhost/x")
    with pytest.raises(StoreError, match="sqlite:///path"):
        open_store("sqlite://relative.db")


def test_where_the_store_lives(monkeypatch, tmp_path):
    from edgebench.controller.store import resolve_url

    monkeypatch.delenv("EDGEBENCH_DB", raising=False)
    monkeypatch.setenv("EDGEBENCH_DATA_DIR", str(tmp_path / "data"))
    assert resolve_url().target == str(tmp_path / "data" / "results.sqlite")
    monkeypatch.delenv("EDGEBENCH_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_url().target == str(tmp_path / "xdg" / "edgebench" / "results.sqlite")
    monkeypatch.setenv("EDGEBENCH_DB", "postgresql://u:pw@db.example/edge")
    url = resolve_url()
    assert url.kind == "postgresql" and url.shown == "postgresql://u:***@db.example/edge"
    assert resolve_url("sqlite:///x/y.sqlite").target == "/x/y.sqlite"  # --db wins over the environment


def test_a_store_of_schema_1_is_migrated_with_its_runs_intact(store_url):
    """A store written before contention and acceptances existed: opened, it gains both, loses nothing."""
    from edgebench.controller.store.backend import connect
    from edgebench.controller.store.schema import MIGRATIONS
    from edgebench.controller.store.url import resolve_url

    db = connect(resolve_url(store_url))
    db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_unix_s "
               f"{db.types['float']} NOT NULL)")
    with db.transaction():
        for statement in MIGRATIONS[1]:
            db.execute(statement.format(**db.types))
        db.execute("INSERT INTO schema_version (version, applied_unix_s) VALUES (1, 0)")
        db.execute("INSERT INTO runs (created_unix_s, target, board_fingerprint, model_name, model_sha256, runtime, "
                   "ep, threads, input_shapes, status, latency_p50_ms, record_json, labels_json) VALUES "
                   "(1.0, 'pi', 'f00d', 'old', 'aa', 'onnxruntime', '', 1, '', 'ok', 5.0, '{}', '{}')")
    db.close()
    with open_store(store_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        [old] = store.query(RunFilter())
        assert (old.id, old.model_name, old.latency_p50_ms, old.contended) == (1, "old", 5.0, None)
        assert store.acceptances([1]) == []
        [new_id] = store.add_runs([NewRun(make_record([5.0] * 6))])
        assert new_id == 2


def test_baseline_scopes_regress_runs_acceptance_and_model_versions(store_url):
    t0 = 1_790_000_000.0
    with open_store(store_url) as store:
        night = store.start_session("regress", {})
        ad_hoc, first = store.add_runs([NewRun(make_record([5.0] * 6), created_unix_s=t0),
                                        NewRun(make_record([5.0] * 6), session_id=night, created_unix_s=t0 + 1)])
        contended = make_record([5.0] * 6)
        contended["contended"] = True
        [busy] = store.add_runs([NewRun(contended, session_id=night, created_unix_s=t0 + 2)])
        # The model's file changed (another sha256, the same name) and got slower: flagged.
        [flagged] = store.add_runs([NewRun(make_record([9.0] * 6, sha="cd" * 32), session_id=night,
                                           created_unix_s=t0 + 3, verdict=Verdict("regression", 1e-9, 0.8))])
        probe = store.get(first)
        assert [r.id for r in store.baseline(probe, 10)] == [first, ad_hoc]  # same sha only; no contended run
        assert [r.id for r in store.baseline(probe, 10, regress_only=True)] == [first]
        by_name = store.baseline(probe, 10, model_name="mobilenet_v2", regress_only=True, since_acceptance=True)
        assert [r.id for r in by_name] == [first]  # the regression is no baseline until accepted
        assert store.get(busy).contended is True
        assert store.accept([flagged], "bigger by design", "me@host") == [flagged]
        assert store.accept([flagged], "again", "me@host") == []  # the first reason stays
        by_name = store.baseline(probe, 10, model_name="mobilenet_v2", regress_only=True, since_acceptance=True)
        assert [r.id for r in by_name] == [flagged]  # from the accepted run on
        [a] = store.acceptances([flagged])
        assert (a.reason, a.accepted_by) == ("bigger by design", "me@host")
        everything = store.baseline(probe, 10, model_name="mobilenet_v2", usable_only=False)
        assert {r.id for r in everything} == {ad_hoc, first, busy, flagged}
        with pytest.raises(StoreError, match="needs a reason"):
            store.accept([first], "  ", None)
