"""The store's schema as numbered migrations. A store records the versions applied; opening one applies the
missing ones in one transaction, and refuses (writing nothing) a store made by a newer edgebench.

Never edit a released migration: add the next one. Types in braces are per dialect (backend.types).
"""
from __future__ import annotations

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE sessions (
            id {id},
            kind TEXT NOT NULL,
            started_unix_s {float} NOT NULL,
            finished_unix_s {float},
            status TEXT NOT NULL,
            host TEXT,
            pid INTEGER,
            config_json TEXT,
            summary_json TEXT
        )""",
        # One row per job. The columns are what history filters on and what like-with-like comparison keys
        # on; everything else about the run is in record_json (the bench --json run object, without samples).
        """CREATE TABLE runs (
            id {id},
            created_unix_s {float} NOT NULL,
            session_id {bigint} REFERENCES sessions(id),
            target TEXT NOT NULL,
            board_fingerprint TEXT NOT NULL,
            board_model TEXT,
            model_name TEXT NOT NULL,
            model_sha256 TEXT NOT NULL,
            runtime TEXT NOT NULL,
            runtime_version TEXT,
            ep TEXT NOT NULL,
            threads INTEGER NOT NULL,
            input_shapes TEXT NOT NULL,
            status TEXT NOT NULL,
            error TEXT,
            latency_mean_ms {float},
            latency_p50_ms {float},
            latency_count INTEGER,
            peak_rss_mb {float},
            energy_j_per_inference {float},
            power_avg_w {float},
            temp_max_c {float},
            throttled INTEGER,
            predicted_latency_ms {float},
            agent_version TEXT,
            controller_version TEXT,
            record_json TEXT NOT NULL,
            spec_json TEXT,
            labels_json TEXT NOT NULL
        )""",
        "CREATE INDEX runs_created ON runs (created_unix_s)",
        "CREATE INDEX runs_key ON runs (board_fingerprint, model_sha256, runtime, ep, threads, input_shapes, "
        "created_unix_s)",
        "CREATE INDEX runs_model ON runs (model_name, created_unix_s)",
        "CREATE INDEX runs_session ON runs (session_id)",
        # Raw latency samples in ms, float64 little-endian: one blob per run keeps 100k runs cheap to query.
        """CREATE TABLE samples (
            run_id {bigint} PRIMARY KEY REFERENCES runs(id),
            count INTEGER NOT NULL,
            data {blob} NOT NULL
        )""",
        """CREATE TABLE labels (
            run_id {bigint} NOT NULL REFERENCES runs(id),
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_id, key)
        )""",
        "CREATE INDEX labels_kv ON labels (key, value, run_id)",
        # Power / temperature / frequency time series of a run, when the job kept one.
        """CREATE TABLE traces (
            run_id {bigint} PRIMARY KEY REFERENCES runs(id),
            trace_json TEXT NOT NULL
        )""",
        # A regress comparison of one run against its baseline.
        """CREATE TABLE verdicts (
            run_id {bigint} PRIMARY KEY REFERENCES runs(id),
            session_id {bigint} REFERENCES sessions(id),
            verdict TEXT NOT NULL,
            p_value {float},
            change {float},
            median_ms {float},
            baseline_median_ms {float},
            baseline_ids TEXT NOT NULL,
            detail_json TEXT
        )""",
        "CREATE INDEX verdicts_verdict ON verdicts (verdict, run_id)",
    ],
    2: [
        # Whether other processes took the worker's CPU during the window (the agent's figure; NULL: not measured,
        # as for every run stored before this column).
        "ALTER TABLE runs ADD COLUMN contended INTEGER",
        # A regression someone accepted as the new normal, with why: from that run on, it and the runs after it
        # are the benchmark's baseline.
        """CREATE TABLE acceptances (
            run_id {bigint} PRIMARY KEY REFERENCES runs(id),
            accepted_unix_s {float} NOT NULL,
            reason TEXT NOT NULL,
            accepted_by TEXT
        )""",
    ],
}

SCHEMA_VERSION = max(MIGRATIONS)
