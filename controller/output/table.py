"""Plain-text tables, the one renderer every terminal table goes through."""
from __future__ import annotations

from collections.abc import Iterable, Sequence


def render_table(headers: Sequence[str], rows: Iterable[Sequence[str]], align: str = "column") -> str:
    """Headers, a rule, then the rows; text left-aligned, numbers right-aligned.

    align="column": a column is right-aligned when every cell in it reads as a number ("-" counts), as in
    the run tables. align="cell": each cell that reads as a number is ("n/a" and "12%" count), as in the
    prediction tables, where a column mixes figures and n/a.
    """
    rows = [list(r) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    if align == "cell":
        def right(i: int, cell: str) -> bool:
            return _reads_as_number(cell)
    else:
        numeric = [all(_looks_numeric(r[i]) for r in rows) if rows else False for i in range(len(headers))]

        def right(i: int, cell: str) -> bool:
            return numeric[i]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if right(i, c) else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _looks_numeric(text: str) -> bool:
    return text == "-" or text.lstrip("+").replace(".", "", 1).replace("-", "", 1).isdigit()


def _reads_as_number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return text in ("-", "n/a")
    return True
