"""What a run is compared against. `recent[:N]` (default: the N=3 most recent good runs with the same key, from
earlier sessions), `label:KEY=VALUE[:N]` (good runs carrying that label, e.g. the release's git revision),
`session:ID` (the runs of one earlier regress session)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ControllerError
from ..store import Store, StoredRun

DEFAULT_COUNT = 3


@dataclass(frozen=True)
class BaselineSpec:
    kind: str = "recent"  # recent / label / session
    count: int = DEFAULT_COUNT
    labels: dict[str, str] = field(default_factory=dict)
    session_id: int | None = None

    @classmethod
    def parse(cls, text: str) -> BaselineSpec:
        kind, _, rest = text.partition(":")
        try:
            if kind == "recent":
                return cls("recent", int(rest) if rest else DEFAULT_COUNT)
            if kind == "label":
                pair, _, count = rest.partition(":")
                key, sep, value = pair.partition("=")
                if sep and key:
                    return cls("label", int(count) if count else DEFAULT_COUNT, {key: value})
            if kind == "session" and rest:
                return cls("session", 0, session_id=int(rest))
        except ValueError:
            pass
        raise ControllerError(f"bad --baseline {text!r}: use recent[:N], label:KEY=VALUE[:N] or session:ID")

    def describe(self) -> str:
        if self.kind == "session":
            return f"the runs of session {self.session_id}"
        what = f"the {self.count} most recent good runs"
        return what + (f" labelled {next(iter(self.labels.items()))[0]}={next(iter(self.labels.values()))}"
                       if self.labels else "")


@dataclass
class Baseline:
    runs: list[StoredRun]
    samples: np.ndarray  # the runs' raw samples pooled


def find_baseline(store: Store, spec: BaselineSpec, key: tuple, current_session: int) -> Baseline:
    if spec.kind == "session":
        runs = store.baseline(key, limit=1000, session_id=spec.session_id)
    else:
        runs = store.baseline(key, limit=spec.count, exclude_session=current_session, labels=spec.labels)
    data = store.samples([r.id for r in runs])
    pooled = np.concatenate([data[r.id] for r in runs if r.id in data]) if runs else np.empty(0)
    return Baseline(runs, pooled)
