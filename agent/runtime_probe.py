"""Which runtimes and execution providers this board has, found in a child process.

    python -m agent.runtime_probe      # prints JSON

Importing onnxruntime or LiteRT costs tens of MB; doing it in a child keeps the idle agent light.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass, field

from .runtimes import RUNTIME_NAMES, get_runtime


@dataclass
class RuntimeReport:
    name: str
    available: bool
    version: str = ""
    package: str = ""
    reason: str = ""
    execution_providers: list[str] = field(default_factory=list)


def probe_here() -> list[RuntimeReport]:
    reports = []
    for name in RUNTIME_NAMES:
        try:
            runtime = get_runtime(name)
            reports.append(RuntimeReport(
                name, True, runtime.version(), getattr(runtime, "package", name),
                execution_providers=runtime.available_providers(),
            ))
        except Exception as exc:  # an import error or a broken install: report it, do not fail Describe
            reports.append(RuntimeReport(name, False, reason=f"{type(exc).__name__}: {exc}"))
    return reports


def probe_in_child(timeout_s: float = 120.0) -> list[RuntimeReport]:
    try:
        out = subprocess.run(
            [sys.executable, "-m", "edgebench.agent.runtime_probe"], capture_output=True, text=True, timeout=timeout_s,
            check=False,
        )
        rows = json.loads(out.stdout)
        return [RuntimeReport(**row) for row in rows]
    except (subprocess.TimeoutExpired, ValueError, TypeError) as exc:
        reason = f"runtime probe failed: {exc}"
        return [RuntimeReport(name, False, reason=reason) for name in RUNTIME_NAMES]


if __name__ == "__main__":
    json.dump([asdict(r) for r in probe_here()], sys.stdout)
