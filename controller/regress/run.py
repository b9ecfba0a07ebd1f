"""`controller regress`: the suite on every board of the fleet, boards in parallel and one job at a time on
each, every result stored and compared like with like against its baseline.

A board that cannot be reached, or drops mid-way, turns its remaining jobs into errors; the other boards
carry on. A throttled or contended run (other processes took the worker's CPU) is re-run (it is kept, marked
excluded) and, if it happens again, reported as excluded: never compared as if it were a normal run. A
regression or improvement is reported only when a re-run agrees (a shared board has nights that are a few
percent slower for everyone, and one outlying run is not news); the first attempt is kept, marked excluded.

Each benchmark's minimum effect comes from its own noise on its board (NOISE_MULTIPLE times the spread of
its recent medians), never below the configured floor; until baseline.NOISE_MIN_RUNS runs have measured that
noise the gate is YOUNG_MULTIPLE times the floor (one baseline run may itself be the outlier). The noise is shown
beside the verdict.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..bench import BenchOptions, bench_on, plan_models
from ..errors import ControllerError
from ..link.connection import BoardConnection, connect
from ..link.target import parse_target
from ..records import RunRecord
from ..stats.verdict import ERROR, EXCLUDED, IMPROVEMENT, NEW, REGRESSION, Thresholds, compare_samples
from ..store import NewRun, Store, Verdict, open_store
from .baseline import Baseline, BaselineSpec, find_baseline
from .config import FleetTarget, Suite, SuiteJob

# What a case means for CI: a regression fails, an error errors, excluded is skipped, the rest pass.
OUTCOME = {REGRESSION: "failure", ERROR: "error", EXCLUDED: "skipped"}
# A benchmark's minimum effect is this many times its run-to-run noise (CodSpeed measured a 2.66% CV on
# shared runners, where a 7% gate kept false alarms near 1%: about 2.6 times).
NOISE_MULTIPLE = 3.0
# Before a benchmark has the history to measure its noise, its one or two baseline runs may be the outlier
# (bench_nightly: a first night 13% faster than the seven after it): the gate is twice the floor until then.
YOUNG_MULTIPLE = 2.0


@dataclass
class RegressOptions:
    fleet: list[FleetTarget]
    suite: Suite
    db: str | None = None
    baseline: BaselineSpec = field(default_factory=BaselineSpec)
    thresholds: Thresholds = field(default_factory=Thresholds)
    parallel: int = 4
    connect_timeout_s: float = 10.0
    rerun_throttled: int = 1  # re-runs of a throttled or contended job before it is excluded
    rerun_wait_s: float = 0.0  # pause before such a re-run (lets a passing load end)
    confirm: int = 1  # re-runs that must agree before a regression or improvement is reported
    labels: dict[str, str] = field(default_factory=dict)
    config: dict = field(default_factory=dict)  # stored with the session (file paths, options)
    log: Callable[[str], None] = lambda line: None


@dataclass
class CaseResult:
    target: FleetTarget
    job: SuiteJob
    verdict: str
    message: str
    run_id: int | None = None
    attempts: int = 0
    median_ms: float | None = None
    baseline_median_ms: float | None = None
    change: float | None = None
    p_value: float | None = None
    baseline_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    noise_cv: float | None = None  # the benchmark's run-to-run noise on this board (None: too little history)
    noise_runs: int = 0
    min_effect: float | None = None  # the gate this comparison used
    contention: float | None = None  # share of the worker's CPU others took (the agent's figure)

    @property
    def outcome(self) -> str:
        return OUTCOME.get(self.verdict, "pass")


@dataclass
class RegressResult:
    session_id: int
    store_url: str
    cases: list[CaseResult]

    def count(self, outcome: str) -> int:
        return sum(c.outcome == outcome for c in self.cases)

    @property
    def exit_code(self) -> int:
        # A regression fails the night; so does an error (an unreachable board is not a pass).
        return 1 if self.count("failure") or self.count("error") else 0


def run_regress(opts: RegressOptions) -> RegressResult:
    with open_store(opts.db) as store, store.exclusive("regress"):
        session = store.start_session("regress", opts.config)
        runner = _Runner(store, session, opts)
        with ThreadPoolExecutor(max_workers=max(1, min(opts.parallel, len(opts.fleet))),
                                thread_name_prefix="regress") as pool:
            per_board = list(pool.map(runner.board, opts.fleet))
        cases = [c for board in per_board for c in board]
        result = RegressResult(session, str(store.url), cases)
        status = "regressions" if result.count("failure") else "errors" if result.count("error") else "ok"
        with runner.lock:
            store.finish_session(session, status, {o: result.count(o) for o in ("pass", "failure", "error",
                                                                                  "skipped")})
    return result


class _Runner:
    def __init__(self, store: Store, session: int, opts: RegressOptions) -> None:
        self.store, self.session, self.opts = store, session, opts
        self.lock = threading.Lock()  # one store connection, shared by the board threads

    def board(self, target: FleetTarget) -> list[CaseResult]:
        jobs = self.opts.suite.jobs
        cases: list[CaseResult] = []
        try:
            with connect(parse_target(target.address), self.opts.connect_timeout_s) as board:
                board.describe()  # an unreachable or too old agent fails the board before its first case
                for index, job in enumerate(jobs, start=1):
                    case = self.case(board, target, job)
                    cases.append(case)
                    self.opts.log(f"[{target.name}] {index}/{len(jobs)} {job.name}: {case.verdict} - {case.message}")
        except Exception as exc:  # this board is lost (unreachable, dropped): the others carry on
            why = str(exc) if isinstance(exc, ControllerError) else f"{type(exc).__name__}: {exc}"
            message = f"board {target.name} ({target.address}) failed: {why}"
            self.opts.log(f"[{target.name}] {message}")
            cases += [CaseResult(target, job, ERROR, message) for job in jobs[len(cases):]]
        return cases

    def case(self, board: BoardConnection, target: FleetTarget, job: SuiteJob) -> CaseResult:
        started = time.monotonic()
        bench = BenchOptions(target=target.address, models=[job.model], runtime=job.runtime, ep=job.ep,
                             threads=[job.threads], runs=job.runs, duration_s=job.duration_s, warmup=job.warmup,
                             timeout_s=job.timeout_s, keep_trace=True)
        labels = {**target.labels, "suite": self.opts.suite.name, **self.opts.labels}
        try:
            models, runtimes = plan_models(bench)
        except ControllerError as exc:
            return CaseResult(target, job, ERROR, str(exc), seconds=time.monotonic() - started)
        reruns_left, confirms_left = max(0, self.opts.rerun_throttled), max(0, self.opts.confirm)
        candidate: CaseResult | None = None  # a change seen once, awaiting its re-run
        attempt = 0
        while True:
            attempt += 1
            [record] = bench_on(board, bench, models, runtimes)
            record.target = target.name
            unstable = _unstable(record)
            if unstable and reruns_left:
                reruns_left -= 1
                self._store(record, labels, Verdict(EXCLUDED, detail={"reason": f"{unstable}; re-run"}))
                self.opts.log(f"[{target.name}] {job.name}: {unstable}, running it again")
                time.sleep(max(0.0, self.opts.rerun_wait_s))
                continue
            case = self._judge(record, target, job, unstable)
            if case.verdict in (REGRESSION, IMPROVEMENT) and confirms_left:
                confirms_left -= 1
                candidate = case
                self._store(record, labels, Verdict(EXCLUDED, case.p_value, case.change, case.median_ms,
                                                    case.baseline_median_ms, case.baseline_ids,
                                                    {"reason": f"{case.verdict} to confirm: {case.message}; re-run"}))
                self.opts.log(f"[{target.name}] {job.name}: {case.verdict} {_pct(case.change)}, running it again "
                              "to confirm")
                continue
            if candidate is not None:
                agreed = case.verdict == candidate.verdict
                case.message += (f" (confirmed: the first attempt was {_pct(candidate.change)} too)" if agreed else
                                 f" (the first attempt's {candidate.verdict} of {_pct(candidate.change)} was not "
                                 "confirmed by its re-run)")
            case.run_id = self._store(record, labels, Verdict(
                case.verdict, case.p_value, case.change, case.median_ms, case.baseline_median_ms,
                case.baseline_ids, {"reason": case.message, "noise_cv": case.noise_cv, "noise_runs": case.noise_runs,
                                    "min_effect": case.min_effect, "contention": case.contention}))
            case.attempts, case.seconds = attempt, time.monotonic() - started
            return case

    def _judge(self, record: RunRecord, target: FleetTarget, job: SuiteJob, unstable: str) -> CaseResult:
        contention = (record.contention or {}).get("contention")
        if record.status != "ok":
            return CaseResult(target, job, ERROR, f"run {record.status}: {record.error or 'no detail'}")
        if unstable:
            return CaseResult(target, job, EXCLUDED, f"{unstable} on every attempt: not compared",
                              contention=contention)
        with self.lock:
            base = find_baseline(self.store, self.opts.baseline, record.key, self.session, record.model.name)
        noise = base.noise
        floor = self.opts.thresholds.min_effect
        min_effect = max(floor, NOISE_MULTIPLE * noise.cv) if noise else YOUNG_MULTIPLE * floor
        extra = {"noise_cv": noise.cv if noise else None, "noise_runs": noise.runs if noise else 0,
                 "min_effect": min_effect, "contention": contention}
        median = float(np.median(record.samples_ms)) if record.samples_ms else None
        if base.problem:
            return CaseResult(target, job, ERROR, base.problem, median_ms=median, **extra)
        if base.first:
            note = f"; {base.note}" if base.note else ""
            return CaseResult(target, job, NEW, f"no baseline yet ({self.opts.baseline.describe()}): "
                                                f"this run starts one{note}", median_ms=median, **extra)
        c = compare_samples(record.samples_ms, base.samples,
                            dataclasses.replace(self.opts.thresholds, min_effect=min_effect))
        return CaseResult(target, job, c.verdict, f"{c.reason} [baseline: {_baseline_words(base, record)}; "
                                                  f"{_gate_words(noise, floor, min_effect)}]",
                          median_ms=c.median_ms, baseline_median_ms=c.baseline_median_ms, change=c.change,
                          p_value=c.p_value, baseline_ids=[r.id for r in base.runs], **extra)

    def _store(self, record: RunRecord, labels: dict[str, str], verdict: Verdict) -> int:
        # The run and its verdict in one transaction: a crash leaves no run without its verdict.
        with self.lock:
            [run_id] = self.store.add_runs([NewRun(record.to_json(), labels, self.session, verdict=verdict)])
        record.run_id = run_id
        return run_id


def _unstable(record: RunRecord) -> str:
    """Why this run's latency is not comparable ("" when it is): the board throttled, or other processes took
    the worker's CPU."""
    why = []
    if record.energy and record.energy.get("throttled"):
        why.append(f"throttled ({', '.join(record.energy.get('throttle_flags') or []) or 'flags set'})")
    if record.contended:
        c = record.contention or {}
        why.append(f"contended ({c.get('reason') or 'others used the CPU'})")
    return " and ".join(why)


def _baseline_words(base: Baseline, record: RunRecord) -> str:
    words = base.describe()
    if base.accepted is not None:
        words += f", since accepted run #{base.accepted.run_id} ({base.accepted.reason})"
    shas = {r.model_sha256 for r in base.runs}
    if record.model.sha256 and shas and record.model.sha256 not in shas:
        words += (f"; the model file changed since ({', '.join(sorted(s[:12] for s in shas))} -> "
                  f"{record.model.sha256[:12]})")
    return words


def _gate_words(noise, floor: float, min_effect: float) -> str:
    if noise is None:
        return (f"min effect {min_effect:.0%} ({YOUNG_MULTIPLE:g} x the {floor:.0%} floor until enough runs "
                "measure the noise)")
    return (f"noise {noise.cv:.1%} over {noise.runs} runs, min effect {min_effect:.1%} "
            f"(max of the {floor:.0%} floor and {NOISE_MULTIPLE:g} x noise)")


def _pct(change: float | None) -> str:
    return "-" if change is None else f"{change:+.1%}"
