"""What a run is compared against, and how noisy that benchmark is on its board.

Baselines: `recent[:N]` (default: the N=3 most recent good runs of this benchmark made by `regress`, or
accepted, in earlier sessions), `any[:N]` (the same, ad-hoc `bench` runs included), `label:KEY=VALUE[:N]`
(good runs carrying that label, e.g. the release's git revision), `session:ID` (the runs of one earlier
regress session). A benchmark is the board, the model by name (its file may change between nights: that
is what a nightly watches), runtime, execution provider, threads and input shapes.

`recent` and `any` start at the benchmark's latest accepted regression: accepting one makes it the new
normal. A baseline that was asked for but cannot be used (none there, or only regressions nobody accepted)
is an error for the caller to report, never a pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ControllerError
from ..records import BenchmarkKey
from ..store import Acceptance, Store, StoredRun

DEFAULT_COUNT = 3
NOISE_RUNS = 10  # the benchmark's own history its noise is measured on
NOISE_MIN_RUNS = 3  # fewer runs than this tell nothing about the noise (regress then gates at twice the floor)


@dataclass(frozen=True)
class BaselineSpec:
    kind: str = "recent"  # recent / any / label / session
    count: int = DEFAULT_COUNT
    labels: dict[str, str] = field(default_factory=dict)
    session_id: int | None = None

    @classmethod
    def parse(cls, text: str) -> BaselineSpec:
        kind, _, rest = text.partition(":")
        try:
            if kind in ("recent", "any"):
                count = int(rest) if rest else DEFAULT_COUNT
                if count >= 1:
                    return cls(kind, count)
            if kind == "label":
                pair, _, count = rest.partition(":")
                key, sep, value = pair.partition("=")
                if sep and key:
                    return cls("label", int(count) if count else DEFAULT_COUNT, {key: value})
            if kind == "session" and rest:
                return cls("session", 0, session_id=int(rest))
        except ValueError:
            pass
        raise ControllerError(f"bad --baseline {text!r}: use recent[:N], any[:N], label:KEY=VALUE[:N] or session:ID")

    @property
    def explicit(self) -> bool:
        """Asked for by name (a label, a session): when it cannot be used, that is an error, not a first run."""
        return self.kind in ("label", "session")

    def describe(self) -> str:
        if self.kind == "session":
            return f"the runs of session {self.session_id}"
        what = f"the {self.count} most recent good runs"
        if self.kind == "recent":
            return what + " made by regress"
        if self.kind == "any":
            return what + " (bench runs included)"
        key, value = next(iter(self.labels.items()))
        return f"{what} labelled {key}={value}"


@dataclass
class Noise:
    """Run-to-run noise of a benchmark's median on its board, from its own history."""
    cv: float  # robust coefficient of variation of the runs' medians (1.4826 MAD / median)
    runs: int


@dataclass
class Baseline:
    runs: list[StoredRun]
    samples: np.ndarray  # the runs' raw samples pooled
    problem: str = ""  # set when no run is usable: why (the caller reports it as an error)
    first: bool = False  # nothing usable before and nothing wrong: this run starts the baseline
    note: str = ""  # said beside a first run (the earlier runs it could not use)
    accepted: Acceptance | None = None  # where the baseline starts, when a regression was accepted
    noise: Noise | None = None

    def describe(self) -> str:
        ids = ", ".join(f"#{r.id}" for r in self.runs)
        return f"run{'s' if len(self.runs) != 1 else ''} {ids}"


def _scope(spec: BaselineSpec, current_session: int) -> dict:
    if spec.kind == "session":
        return {"session_id": spec.session_id}
    if spec.kind == "label":
        return {"labels": spec.labels, "exclude_session": current_session}
    return {"exclude_session": current_session, "regress_only": spec.kind == "recent", "since_acceptance": True}


def _why_unusable(store: Store, runs: list[StoredRun]) -> tuple[str, bool]:
    """What is wrong with these runs, in words, and whether any is a regression nobody accepted."""
    accepted = {a.run_id for a in store.acceptances([r.id for r in runs])}
    regressions = [r for r in runs if r.verdict == "regression" and r.id not in accepted]
    parts = []
    for what, bad in (("regressions nobody accepted", regressions),
                      ("failed", [r for r in runs if r.status != "ok"]),
                      ("throttled", [r for r in runs if r.throttled]),
                      ("contended", [r for r in runs if r.contended])):
        if bad:
            parts.append(f"{what}: " + ", ".join(f"#{r.id}" for r in bad[:5]) + (" ..." if len(bad) > 5 else ""))
    return "; ".join(parts) or "none usable", bool(regressions)


def board_noise(store: Store, key: BenchmarkKey, model_name: str | None, current_session: int) -> Noise | None:
    """The noise of this benchmark on this board: the spread of the medians of its last good regress runs
    (since its latest acceptance). None with fewer than NOISE_MIN_RUNS runs."""
    runs = store.baseline(key, NOISE_RUNS, exclude_session=current_session, model_name=model_name,
                          regress_only=True, since_acceptance=True)
    medians = np.array([r.latency_p50_ms for r in runs if r.latency_p50_ms], dtype=float)
    if len(medians) < NOISE_MIN_RUNS:
        return None
    center = float(np.median(medians))
    mad = float(np.median(np.abs(medians - center)))
    return Noise(1.4826 * mad / center if center > 0 else 0.0, len(medians))


def find_baseline(store: Store, spec: BaselineSpec, key: BenchmarkKey, current_session: int,
                  model_name: str | None = None) -> Baseline:
    scope = _scope(spec, current_session)
    limit = 1000 if spec.kind == "session" else spec.count
    runs = store.baseline(key, limit=limit, model_name=model_name, **scope)
    accepted = None
    if scope.get("since_acceptance"):
        start = store.latest_acceptance(key, model_name)
        accepted = store.acceptances([start.id])[0] if start is not None else None
    noise = board_noise(store, key, model_name, current_session)
    if runs:
        data = store.samples([r.id for r in runs])
        pooled = np.concatenate([data[r.id] for r in runs if r.id in data])
        return Baseline(runs, pooled, accepted=accepted, noise=noise)
    everything = store.baseline(key, limit=50, model_name=model_name, usable_only=False, **scope)
    empty = np.empty(0)
    if not everything:
        if spec.explicit:
            return Baseline([], empty, problem=f"unusable baseline: {spec.describe()} hold no run of this "
                                               "benchmark", noise=noise)
        return Baseline([], empty, first=True, accepted=accepted, noise=noise)
    why, unaccepted = _why_unusable(store, everything)
    if unaccepted or spec.explicit:
        hint = (" accept one with `controller regress accept --run ID --reason TEXT`, or choose another --baseline"
                if unaccepted else " choose another --baseline")
        return Baseline([], empty, problem=f"unusable baseline: {spec.describe()} ({why}):{hint}", noise=noise)
    return Baseline([], empty, first=True, note=f"the earlier runs were not usable ({why})", accepted=accepted,
                    noise=noise)
