"""Figures over exactly one measurement window: power, energy, idle, temperature, clocks, throttling.

Power sources are integrated with the trapezoid rule on the piecewise-linear trace through the readings,
cut at the window edges by interpolation. Counter sources (RAPL, NVML) give the energy as the difference of
the counter interpolated at both edges, which sees every joule between two reads. A figure that cannot be
measured is None with its reason in `unavailable`, never 0.

Coverage: the share of the window lying between two good readings no further apart than 3x the trace's
median interval. A window that the readings do not span, or that a dead sensor leaves half-empty, has low
coverage, and its power figures are withheld below `min_coverage`.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Mapping

from ..base import KIND_ENERGY, KIND_FREQUENCY, KIND_POWER, KIND_THERMAL, KIND_THROTTLE, Reading, Trace
from ..throttle import ThrottleState

# Which source is the measurement of record when several are present: a meter on the supply first, then
# on-board monitors of the whole board or module, then partial ones (GPU only, CPU package only), then the
# tegrastats cross-check. Matched as name prefixes.
POWER_PRIORITY = ("external-meter", "rpi5-pmic", "hwmon-ina3221", "jetson-iio-ina3221", "hwmon-ina",
                  "nvml", "rapl", "tegrastats-power")
THERMAL_PRIORITY = ("thermal", "rpi-temp", "tegrastats-thermal")
FREQUENCY_PRIORITY = ("rpi-arm-clock", "cpufreq", "tegrastats-freq")
GAP_FACTOR = 3.0
DEFAULT_MIN_COVERAGE = 0.9


@dataclass
class PowerFigures:
    """One power or energy source over one window."""

    sensor: str
    method: str  # "trapezoid" (power readings) or "counter" (cumulative energy)
    samples_in_window: int = 0
    coverage: float | None = None
    avg_w: float | None = None
    peak_w: float | None = None  # highest reading (or counter interval) seen: limited by the sampling rate
    energy_j: float | None = None
    reason: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


@dataclass
class IdleBaseline:
    window_start_ns: int
    window_end_ns: int
    by_source: dict[str, PowerFigures] = field(default_factory=dict)

    def power_w(self, sensor: str) -> float | None:
        figures = self.by_source.get(sensor)
        return figures.avg_w if figures is not None else None


@dataclass
class EnergySummary:
    window_start_ns: int
    window_end_ns: int
    duration_s: float
    inferences: int | None
    # Power of record (see POWER_PRIORITY) ...
    power_source: str | None = None
    power_note: str = ""
    energy_method: str | None = None
    power_samples: int = 0
    coverage: float | None = None
    avg_power_w: float | None = None
    peak_power_w: float | None = None
    energy_j: float | None = None
    idle_power_w: float | None = None
    energy_per_inference_j: float | None = None
    energy_above_idle_j: float | None = None
    energy_above_idle_per_inference_j: float | None = None
    # ... and every power/energy source, for cross-checks.
    by_source: dict[str, PowerFigures] = field(default_factory=dict)
    temp_source: str | None = None
    temp_start_c: float | None = None
    temp_max_c: float | None = None
    temp_end_c: float | None = None
    temp_max_by_zone_c: dict[str, float] = field(default_factory=dict)
    freq_source: str | None = None
    freq_min_hz: float | None = None
    freq_max_hz: float | None = None
    throttle_before: ThrottleState | None = None
    throttle_during: ThrottleState | None = None  # "now" bits OR-ed over the readings inside the window
    throttle_after: ThrottleState | None = None
    throttled: bool | None = None  # None: not measured
    throttle_flags: list[str] = field(default_factory=list)  # what was seen, in words
    unavailable: dict[str, str] = field(default_factory=dict)  # figure -> why it is None

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("throttle_before", "throttle_during", "throttle_after"):
            state = getattr(self, key)
            d[key] = None if state is None else str(state)
        return d


# ---------------------------------------------------------------- helpers on one trace


def _interp(t: float, t0: float, v0: float, t1: float, v1: float) -> float:
    return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def _gap_limit(ts: list[int]) -> float:
    if len(ts) < 2:
        return 0.0
    return GAP_FACTOR * statistics.median(b - a for a, b in pairwise(ts))


def _coverage(ts: list[int], a: int, b: int) -> float:
    if b <= a:
        return 1.0 if any(x <= a for x in ts) and any(x >= b for x in ts) else 0.0
    limit = _gap_limit(ts)
    covered = 0
    for t0, t1 in pairwise(ts):
        if t1 - t0 <= limit:
            covered += max(0, min(b, t1) - max(a, t0))
    return covered / (b - a)


def _failure_note(readings: list[Reading], a: int, b: int) -> str:
    bad = [r.reason for r in readings if not r.ok and a <= r.t_ns <= b]
    if not bad:
        return ""
    common = max(set(bad), key=bad.count)
    return f"{len(bad)} unreadable samples in the window, e.g. {common}"


def _power_figures(trace: Trace, a: int, b: int, min_coverage: float) -> PowerFigures:
    counter = trace.info.kind == KIND_ENERGY
    fig = PowerFigures(trace.info.name, "counter" if counter else "trapezoid", note=trace.info.note)
    points = [(r.t_ns, r.energy_j if counter else r.total) for r in trace.readings if r.ok]
    points = [(t, v) for t, v in points if v is not None]
    failures = _failure_note(trace.readings, a, b)
    fig.samples_in_window = sum(1 for t, _ in points if a <= t <= b)
    if not points:
        fig.reason = failures or "no readings in or around the window"
        return fig
    ts = [t for t, _ in points]
    fig.coverage = _coverage(ts, a, b)
    if fig.coverage < min_coverage:
        fig.reason = f"readings cover {fig.coverage:.0%} of the window (need {min_coverage:.0%})"
        if failures:
            fig.reason += f"; {failures}"
        return fig
    if failures:
        fig.note = f"{fig.note}; {failures}" if fig.note else failures
    if b <= a:
        fig.reason = "empty window"
        return fig
    if counter:
        epochs = {r.epoch for r in trace.readings if r.ok and r.energy_j is not None}
        if len(epochs) > 1:
            fig.reason = "energy counter reset (or wrapped with no known range) inside the window"
            return fig
        energy, peak = _counter_energy(points, a, b)
    else:
        energy, peak = _trapezoid(points, a, b)
    fig.energy_j = energy
    fig.avg_w = energy / ((b - a) / 1e9)
    fig.peak_w = peak
    return fig


def _trapezoid(points: list[tuple[int, float]], a: int, b: int) -> tuple[float, float]:
    """(energy J, peak W) of the piecewise-linear power trace over [a, b], held flat beyond the ends."""
    (tf, pf), (tl, pl) = points[0], points[-1]
    area = 0.0  # W x ns
    peaks: list[float] = []
    if a < tf:
        area += pf * (min(b, tf) - a)
        peaks.append(pf)
    if b > tl:
        area += pl * (b - max(a, tl))
        peaks.append(pl)
    for (t0, p0), (t1, p1) in pairwise(points):
        lo, hi = max(a, t0), min(b, t1)
        if hi > lo:
            v_lo, v_hi = _interp(lo, t0, p0, t1, p1), _interp(hi, t0, p0, t1, p1)
            area += (v_lo + v_hi) / 2 * (hi - lo)
            peaks += [v_lo, v_hi]
    peaks += [p for t, p in points if a <= t <= b]
    return area / 1e9, max(peaks)


def _counter_at(points: list[tuple[int, float]], t: int) -> float:
    """Cumulative energy at t: interpolated inside, extrapolated at the end intervals' power outside."""
    if len(points) == 1:
        return points[0][1]
    i = 0
    while i < len(points) - 2 and points[i + 1][0] < t:
        i += 1
    (t0, e0), (t1, e1) = points[i], points[i + 1]
    return _interp(t, t0, e0, t1, e1)


def _counter_energy(points: list[tuple[int, float]], a: int, b: int) -> tuple[float, float]:
    energy = _counter_at(points, b) - _counter_at(points, a)
    rates = [(e1 - e0) / ((t1 - t0) / 1e9) for (t0, e0), (t1, e1) in pairwise(points)
             if t1 > t0 and min(b, t1) > max(a, t0)]
    if not rates:  # the window sits inside one interval (or outside all)
        rates = [energy / ((b - a) / 1e9)]
    return energy, max(rates)


def _pick(traces: Mapping[str, Trace], kinds: tuple[str, ...], priority: tuple[str, ...],
          forced: str | None = None) -> list[Trace]:
    """Traces of these kinds, measurement of record first."""
    chosen = [t for t in traces.values() if t.info.kind in kinds]

    def rank(t: Trace) -> tuple[int, int, str]:
        if forced is not None and t.info.name == forced:
            return (-1, 0, "")
        pos = next((i for i, p in enumerate(priority) if t.info.name.startswith(p)), len(priority))
        return (int(t.fallback), pos, t.info.name)

    return sorted(chosen, key=rank)


def _edge_readings(readings: list[Reading], a: int, b: int) -> tuple[Reading | None, list[Reading], Reading | None]:
    """(last good reading at or before a, good readings in [a, b], first good reading at or after b).
    A reading exactly on an edge is in two of them."""
    good = [r for r in readings if r.ok and r.values]
    before = next((r for r in reversed(good) if r.t_ns <= a), None)
    inside = [r for r in good if a <= r.t_ns <= b]
    after = next((r for r in good if r.t_ns >= b), None)
    return before, inside, after


def _unique(readings: list[Reading]) -> list[Reading]:
    out: list[Reading] = []
    for r in readings:
        if not any(r is x for x in out):
            out.append(r)
    return out


# ---------------------------------------------------------------- the public functions


def idle_baseline(samples: Mapping[str, Trace], window_start_ns: int, window_end_ns: int,
                  min_coverage: float = DEFAULT_MIN_COVERAGE) -> IdleBaseline:
    """Average power of every power/energy source over an idle window measured before the job."""
    base = IdleBaseline(window_start_ns, window_end_ns)
    for trace in _pick(samples, (KIND_POWER, KIND_ENERGY), POWER_PRIORITY):
        base.by_source[trace.info.name] = _power_figures(trace, window_start_ns, window_end_ns, min_coverage)
    return base


def summarize(
    samples: Mapping[str, Trace],
    window_start_ns: int,
    window_end_ns: int,
    idle: IdleBaseline | None = None,
    inferences: int | None = None,
    *,
    power_source: str | None = None,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
) -> EnergySummary:
    a, b = window_start_ns, window_end_ns
    s = EnergySummary(a, b, max(0, b - a) / 1e9, inferences)
    _summarize_power(s, samples, idle, power_source, min_coverage)
    _summarize_temperature(s, samples)
    _summarize_frequency(s, samples)
    _summarize_throttle(s, samples)
    return s


def _summarize_power(s: EnergySummary, samples: Mapping[str, Trace], idle: IdleBaseline | None,
                     forced: str | None, min_coverage: float) -> None:
    a, b = s.window_start_ns, s.window_end_ns
    traces = _pick(samples, (KIND_POWER, KIND_ENERGY), POWER_PRIORITY, forced)
    for trace in traces:
        s.by_source[trace.info.name] = _power_figures(trace, a, b, min_coverage)
    if not traces:
        s.unavailable["power"] = "no power or energy sensor"
        return
    if forced is not None and forced in s.by_source:
        primary = s.by_source[forced]
    else:
        primary = next((f for f in s.by_source.values() if f.ok), next(iter(s.by_source.values())))
    s.power_source, s.power_note, s.energy_method = primary.sensor, primary.note, primary.method
    s.power_samples, s.coverage = primary.samples_in_window, primary.coverage
    if not primary.ok:
        s.unavailable["power"] = f"{primary.sensor}: {primary.reason}"
        return
    s.avg_power_w, s.peak_power_w, s.energy_j = primary.avg_w, primary.peak_w, primary.energy_j
    if s.inferences:
        s.energy_per_inference_j = s.energy_j / s.inferences
    else:
        s.unavailable["energy_per_inference_j"] = "no inference count"
    if idle is None:
        s.unavailable["idle_power_w"] = "no idle baseline measured"
    else:
        base = idle.by_source.get(primary.sensor)
        if base is None or not base.ok or base.avg_w is None:
            why = base.reason if base is not None else "source not sampled during the baseline"
            s.unavailable["idle_power_w"] = f"{primary.sensor}: {why}"
        else:
            s.idle_power_w = base.avg_w
            assert s.energy_j is not None
            s.energy_above_idle_j = s.energy_j - base.avg_w * s.duration_s
            if s.inferences:
                s.energy_above_idle_per_inference_j = s.energy_above_idle_j / s.inferences
    if "idle_power_w" in s.unavailable:
        s.unavailable["energy_above_idle_j"] = s.unavailable["idle_power_w"]
    if s.energy_above_idle_per_inference_j is None:
        s.unavailable["energy_above_idle_per_inference_j"] = (
            s.unavailable.get("idle_power_w") or s.unavailable.get("energy_per_inference_j", ""))


def _summarize_temperature(s: EnergySummary, samples: Mapping[str, Trace]) -> None:
    a, b = s.window_start_ns, s.window_end_ns
    reasons = []
    for trace in _pick(samples, (KIND_THERMAL,), THERMAL_PRIORITY):
        before, inside, after = _edge_readings(trace.readings, a, b)
        span = _unique([r for r in (before, *inside, after) if r is not None])
        if not span:
            reasons.append(f"{trace.info.name}: " + (_failure_note(trace.readings, a, b) or "no readings"))
            continue
        hottest = [max(r.values.values()) for r in span]
        s.temp_source = trace.info.name
        s.temp_start_c, s.temp_end_c, s.temp_max_c = hottest[0], hottest[-1], max(hottest)
        for r in span:
            for zone, c in r.values.items():
                s.temp_max_by_zone_c[zone] = max(c, s.temp_max_by_zone_c.get(zone, c))
        return
    s.unavailable["temperature"] = "; ".join(reasons) or "no thermal sensor"


def _summarize_frequency(s: EnergySummary, samples: Mapping[str, Trace]) -> None:
    a, b = s.window_start_ns, s.window_end_ns
    reasons = []
    for trace in _pick(samples, (KIND_FREQUENCY,), FREQUENCY_PRIORITY):
        before, inside, after = _edge_readings(trace.readings, a, b)
        span = inside or [r for r in (before, after) if r is not None]
        if not span:
            reasons.append(f"{trace.info.name}: " + (_failure_note(trace.readings, a, b) or "no readings"))
            continue
        s.freq_source = trace.info.name
        s.freq_min_hz = min(min(r.values.values()) for r in span)
        s.freq_max_hz = max(max(r.values.values()) for r in span)
        return
    s.unavailable["frequency"] = "; ".join(reasons) or "no CPU frequency sensor"


def _summarize_throttle(s: EnergySummary, samples: Mapping[str, Trace]) -> None:
    """Throttled when a "now" bit is seen inside the window (or at its end), or a sticky bit appeared
    between the reading before the window and the one after it. False needs both of those readings."""
    a, b = s.window_start_ns, s.window_end_ns
    traces = _pick(samples, (KIND_THROTTLE,), ())
    if not traces:
        s.unavailable["throttled"] = "no throttle sensor (firmware flags are read on Raspberry Pi only)"
        return
    trace = traces[0]
    before, inside, after = _edge_readings(trace.readings, a, b)
    state = {id(r): ThrottleState(int(r.values["flags"])) for r in (before, *inside, after) if r is not None}
    if not state:
        s.unavailable["throttled"] = f"{trace.info.name}: " + (_failure_note(trace.readings, a, b) or "no readings")
        return
    s.throttle_before = state[id(before)] if before is not None else None
    s.throttle_after = state[id(after)] if after is not None else None
    seen = _unique(inside + ([after] if after is not None else []))
    now_bits = 0
    for r in seen:
        now_bits |= state[id(r)].now_bits
    s.throttle_during = ThrottleState(now_bits) if seen else None
    ordered = list(state.values())
    appeared = ordered[-1].sticky_bits & ~ordered[0].sticky_bits
    s.throttle_flags = ThrottleState(now_bits | (appeared << 16)).describe()
    if now_bits or appeared:
        s.throttled = True
    elif before is not None and after is not None:
        s.throttled = False
    else:
        s.unavailable["throttled"] = (f"{trace.info.name}: no throttle reading "
                                      f"{'before' if before is None else 'after'} the window")
