"""Small SVG charts drawn in Python (no JavaScript, no network): histogram, scatter, line chart.
Each returns one `<svg>` element as a string, with its own axes, ticks and labels; `<title>` elements give
hover text in any browser."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

import numpy as np

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
RED, GREEN, GREY = "#d62728", "#2ca02c", "#7f7f7f"
W, H = 560, 300
M_LEFT, M_RIGHT, M_TOP, M_BOTTOM = 64, 16, 28, 44


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0 if math.isfinite(lo) else 1.0
        lo = lo if math.isfinite(lo) else 0.0
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    ticks = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10.0 ** e
            if lo <= v <= hi:
                ticks.append(v)
    return ticks or [lo, hi]


def fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.3g}"
    return f"{v:.4g}"


@dataclass
class Axis:
    lo: float
    hi: float
    pixel_lo: float
    pixel_hi: float
    log: bool = False

    def __call__(self, v: float) -> float:
        if self.log:
            v, lo, hi = math.log10(v), math.log10(self.lo), math.log10(self.hi)
        else:
            lo, hi = self.lo, self.hi
        span = (hi - lo) or 1.0
        return self.pixel_lo + (v - lo) / span * (self.pixel_hi - self.pixel_lo)


@dataclass
class Frame:
    """The plot area with its axes drawn; add marks with `add` and finish with `svg()`."""
    x: Axis
    y: Axis
    title: str
    x_label: str
    y_label: str
    x_ticks: Sequence[float] = ()
    y_ticks: Sequence[float] = ()
    x_tick_text: dict[float, str] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    width: int = W
    height: int = H

    def add(self, svg: str) -> None:
        self.parts.append(svg)

    def svg(self, legend: Sequence[tuple[str, str]] = ()) -> str:
        W, H = self.width, self.height  # noqa: N806 (the chart's own size, as the module's defaults are named)
        x0, x1 = M_LEFT, W - M_RIGHT
        y0, y1 = H - M_BOTTOM, M_TOP
        # A long title wraps onto more lines (never cut): the chart grows by a line each and moves down.
        title = wrap(self.title, W - 16, TITLE_PX_PER_CHAR)
        extra = (len(title) - 1) * TITLE_LINE_PX
        height = H + extra
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" '
               f'role="img" aria-label="{escape(self.title)}">',
               f'<rect x="0" y="0" width="{W}" height="{height}" fill="#ffffff"/>']
        out += [f'<text x="{W / 2}" y="{17 + i * TITLE_LINE_PX}" text-anchor="middle" class="t">{escape(line)}</text>'
                for i, line in enumerate(title)]
        out.append(f'<g transform="translate(0 {extra})">')
        for t in self.y_ticks:
            y = self.y(t)
            out.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6e6e6"/>'
                       f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" class="k">{fmt(t)}</text>')
        for t in self.x_ticks:
            x = self.x(t)
            label = self.x_tick_text.get(t, fmt(t))
            # A label that would run past the chart's edge is anchored at its tick's end instead.
            half = len(label) * LABEL_PX_PER_CHAR / 2
            anchor = "end" if x + half > W - 2 else "start" if x - half < 2 else "middle"
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y0 + 4}" stroke="#444"/>'
                       f'<text x="{x:.1f}" y="{y0 + 16}" text-anchor="{anchor}" class="k">{escape(label)}</text>')
        out.append(f'<line x1="{x0}" x2="{x1}" y1="{y0}" y2="{y0}" stroke="#444"/>'
                   f'<line x1="{x0}" x2="{x0}" y1="{y0}" y2="{y1}" stroke="#444"/>')
        out.append(f'<text x="{(x0 + x1) / 2}" y="{H - 6}" text-anchor="middle" class="a">{escape(self.x_label)}</text>')
        out.append(f'<text transform="translate(14 {(y0 + y1) / 2}) rotate(-90)" text-anchor="middle" '
                   f'class="a">{escape(self.y_label)}</text>')
        out += self.parts
        lx = x1 - 8
        for i, (name, color) in enumerate(legend):
            y = M_TOP + 6 + i * 15
            out.append(f'<rect x="{lx - 10}" y="{y - 8}" width="10" height="10" fill="{color}"/>'
                       f'<text x="{lx - 14}" y="{y + 1}" text-anchor="end" class="k">{escape(name)}</text>')
        out.append("</g></svg>")
        return "".join(out)


TITLE_PX_PER_CHAR = 7.8  # 13 px semibold system-ui: wider than its average glyph, so a wrapped line always fits
TITLE_LINE_PX = 16


def wrap(text: str, width_px: float, px_per_char: float) -> list[str]:
    """Lines of at most width_px (at px_per_char), broken at spaces; a word longer than a line is broken too."""
    limit = max(8, int(width_px / px_per_char))
    lines: list[str] = []
    line = ""
    for word in text.split():
        while len(word) > limit:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:limit])
            word = word[limit:]
        candidate = f"{line} {word}" if line else word
        if len(candidate) <= limit:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line or not lines:
        lines.append(line)
    return lines


def _range(values: Sequence[float], pad: float = 0.05, zero: bool = False) -> tuple[float, float]:
    lo, hi = float(min(values)), float(max(values))
    if zero:
        lo = min(0.0, lo)
    span = hi - lo or abs(hi) or 1.0
    return lo - (0 if zero and lo == 0 else span * pad), hi + span * pad


def histogram(samples: np.ndarray, title: str, x_label: str = "latency (ms)", bins: int = 30) -> str:
    samples = np.asarray(samples, dtype=float)
    # Clip the far tail into the last bin so one stall does not squash the distribution into one bar.
    hi_clip = float(np.percentile(samples, 99.5))
    counts, edges = np.histogram(np.minimum(samples, hi_clip), bins=bins)
    x = Axis(float(edges[0]), float(edges[-1]), M_LEFT, W - M_RIGHT)
    y_hi = float(counts.max()) * 1.1 or 1.0
    y = Axis(0.0, y_hi, H - M_BOTTOM, M_TOP)
    f = Frame(x, y, title, x_label, "inferences", nice_ticks(x.lo, x.hi), nice_ticks(0, y_hi))
    for c, a, b in zip(counts, edges[:-1], edges[1:], strict=True):
        if c:
            f.add(f'<rect x="{x(a):.1f}" y="{y(c):.1f}" width="{max(1.0, x(b) - x(a) - 1):.1f}" '
                  f'height="{y(0) - y(c):.1f}" fill="{PALETTE[0]}"><title>{fmt(a)}-{fmt(b)} ms: {c}</title></rect>')
    for name, q, color in (("p50", 50, "#222222"), ("p99", 99, RED)):
        v = min(float(np.percentile(samples, q)), hi_clip)
        f.add(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{M_TOP}" y2="{H - M_BOTTOM}" stroke="{color}" '
              f'stroke-dasharray="4 3"><title>{name} {fmt(v)} ms</title></line>'
              f'<text x="{x(v) + 3:.1f}" y="{M_TOP + 10}" class="k" fill="{color}">{name}</text>')
    return f.svg()


def histogram_pair(baseline: np.ndarray, current: np.ndarray, title: str, baseline_name: str, current_name: str,
                   x_label: str = "latency (ms)", bins: int = 30) -> str:
    """The baseline's distribution and now's on the same bins, as shares of each (their counts differ):
    grey the baseline, red now, each with its median."""
    baseline, current = np.asarray(baseline, dtype=float), np.asarray(current, dtype=float)
    # Each side's bulk decides the range (a stall on a busy board must not squash both into one bar); the
    # tails land in the end bins.
    lo = min(float(np.percentile(s, 0.5)) for s in (baseline, current))
    hi = max(float(np.percentile(s, 97)) for s in (baseline, current)) * 1.05
    hi = hi if hi > lo else lo + 1e-6
    edges = np.linspace(lo, hi, bins + 1)
    shares = [np.histogram(np.clip(s, lo, hi), bins=edges)[0] / max(1, len(s)) for s in (baseline, current)]
    x = Axis(lo, hi, M_LEFT, W - M_RIGHT)
    y_hi = float(max(s.max() for s in shares)) * 1.15 or 1.0
    y = Axis(0.0, y_hi, H - M_BOTTOM, M_TOP)
    f = Frame(x, y, title, x_label, "share of inferences", nice_ticks(lo, hi), nice_ticks(0, y_hi))
    for share, color, opacity in ((shares[0], GREY, 0.55), (shares[1], RED, 0.55)):
        for c, a, b in zip(share, edges[:-1], edges[1:], strict=True):
            if c:
                f.add(f'<rect x="{x(a):.1f}" y="{y(c):.1f}" width="{max(1.0, x(b) - x(a) - 1):.1f}" '
                      f'height="{y(0) - y(c):.1f}" fill="{color}" fill-opacity="{opacity}">'
                      f'<title>{fmt(a)}-{fmt(b)} ms: {c:.1%}</title></rect>')
    for samples, color, name in ((baseline, "#444444", "baseline"), (current, RED, "now")):
        v = float(np.median(samples))
        f.add(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{M_TOP}" y2="{H - M_BOTTOM}" stroke="{color}" '
              f'stroke-width="2" stroke-dasharray="5 3"><title>{name} median {fmt(v)} ms</title></line>')
    return f.svg([(baseline_name, GREY), (current_name, RED)])


@dataclass
class Point:
    x: float
    y: float
    label: str  # hover text
    color: str = PALETTE[0]
    short: str = ""  # written beside the point


def scatter_log(points: Sequence[Point], title: str, x_label: str, y_label: str, diagonal: bool = True,
                width: int = W, height: int = H) -> tuple[str, list[tuple[int, str]]]:
    """The chart, and the key of the points numbered instead of labelled (no free place beside them)."""
    vals = [p.x for p in points] + [p.y for p in points]
    lo, hi = min(vals) / 1.5, max(vals) * 1.5
    x = Axis(lo, hi, M_LEFT, width - M_RIGHT, log=True)
    y = Axis(lo, hi, height - M_BOTTOM, M_TOP, log=True)
    f = Frame(x, y, title, x_label, y_label, log_ticks(lo, hi), log_ticks(lo, hi), width=width, height=height)
    if diagonal:
        f.add(f'<line x1="{x(lo):.1f}" y1="{y(lo):.1f}" x2="{x(hi):.1f}" y2="{y(hi):.1f}" stroke="{GREY}" '
              f'stroke-dasharray="5 4"><title>measured = predicted</title></line>')
    # Boxes already taken (the points, then each label placed): a label goes where it overlaps none.
    taken = [(x(p.x) - 6, y(p.y) - 6, x(p.x) + 6, y(p.y) + 6) for p in points]
    key: list[tuple[int, str]] = []
    for p in sorted(points, key=lambda p: (y(p.y), x(p.x))):
        cx, cy = x(p.x), y(p.y)
        f.add(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{p.color}" fill-opacity="0.85" '
              f'stroke="#333" stroke-width="0.5"><title>{escape(p.label)}</title></circle>')
        if not p.short:
            continue
        text = p.short
        box = _free_label_box(text, cx, cy, taken, width, height)
        if box is None:  # no room beside it: a number here, the name in the key under the chart
            key.append((len(key) + 1, p.short))
            text = str(len(key))
            box = _free_label_box(text, cx, cy, taken, width, height) or (cx + 7, cy - 14, cx + 14, cy - 4)
        taken.append(box)
        f.add(f'<text x="{box[0]:.1f}" y="{box[3] - 2:.1f}" class="k">{escape(text)}</text>')
    return f.svg(), key


def _free_label_box(text: str, cx: float, cy: float, taken: list[tuple[float, float, float, float]],
                    width: int, height: int) -> tuple[float, float, float, float] | None:
    w, h = len(text) * LABEL_PX_PER_CHAR, 12.0
    for dx, dy in ((8, -6), (8, 6), (-8 - w, -6), (-8 - w, 6), (-w / 2, -20), (-w / 2, 8), (8, -18), (8, 18),
                   (-8 - w, -18), (-8 - w, 18)):
        box = (cx + dx, cy + dy - h / 2, cx + dx + w, cy + dy + h / 2)
        inside = box[0] >= M_LEFT + 2 and box[2] <= width - M_RIGHT and box[1] >= M_TOP and box[3] <= height - M_BOTTOM
        if inside and not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in taken):
            return box
    return None


LABEL_PX_PER_CHAR = 6.2  # 10 px labels


@dataclass
class Series:
    name: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str
    marks: Sequence[tuple[int, str, str]] = ()  # (index, color, hover text): highlighted points


def lines(series: Sequence[Series], title: str, x_label: str, y_label: str,
          x_tick_text: dict[float, str] | None = None, x_ticks: Sequence[float] | None = None,
          zero: bool = False) -> str:
    xs = [v for s in series for v in s.xs]
    ys = [v for s in series for v in s.ys]
    x_lo, x_hi = _range(xs, 0.03)
    y_lo, y_hi = _range(ys, 0.1, zero=zero)
    x = Axis(x_lo, x_hi, M_LEFT, W - M_RIGHT)
    y = Axis(y_lo, y_hi, H - M_BOTTOM, M_TOP)
    f = Frame(x, y, title, x_label, y_label, x_ticks if x_ticks is not None else nice_ticks(x_lo, x_hi),
              nice_ticks(y_lo, y_hi), x_tick_text or {})
    for s in series:
        pts = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in zip(s.xs, s.ys, strict=True))
        f.add(f'<polyline points="{pts}" fill="none" stroke="{s.color}" stroke-width="2"/>')
        if len(s.xs) <= 60:
            for a, b in zip(s.xs, s.ys, strict=True):
                f.add(f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="3" fill="{s.color}"/>')
        for i, color, text in s.marks:
            f.add(f'<circle cx="{x(s.xs[i]):.1f}" cy="{y(s.ys[i]):.1f}" r="8" fill="{color}" stroke="#000" '
                  f'stroke-width="1"><title>{escape(text)}</title></circle>')
    legend = [(s.name, s.color) for s in series] if len(series) > 1 else []
    return f.svg(legend)
