"""`controller targets`'s table: one line per known board, then the error of each that did not answer well."""
from __future__ import annotations

from collections.abc import Sequence

from ..records import TargetStatus


def targets_table(rows: Sequence[TargetStatus]) -> str:
    headers = ["target", "address", "health", "agent", "board", "sensors", "auth"]
    cells = [[r.target, r.address, r.health, r.agent_version or "-", r.board or "-", ", ".join(r.sensors) or "-",
              r.auth] for r in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *cells, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [headers, *cells]]
    for r in rows:
        if r.error:
            lines.append(f"{r.target}: {r.error}")
    return "\n".join(lines)
