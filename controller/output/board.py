"""A board's self-description as `controller deploy` prints it after the install."""
from __future__ import annotations

from ..records import BoardDescription


def describe_lines(desc: BoardDescription) -> list[str]:
    b = desc.board
    memory = f"{desc.memory_total_bytes / (1 << 20):.0f} MB" if desc.memory_total_bytes else "? MB"
    lines = [f"board: {b.model or '(no model name)'}; {b.machine}, {b.cpu_count} cores, {memory}, "
             f"governor {b.governor or '?'}; {b.os}; Python {desc.python_version}",
             f"agent: edgebench-agent {b.agent_version} (API {desc.api_version}), fingerprint {b.fingerprint[:12]}"]
    runtimes = [f"{r.name} {r.version} ({', '.join(r.execution_providers) or r.package})" if r.available
                else f"{r.name}: unavailable ({r.reason})" for r in desc.runtimes]
    lines.append("runtimes: " + ("; ".join(runtimes) or "none found"))
    lines.append("sensors: " + (", ".join(desc.available_sensors) or "none"))
    return lines
