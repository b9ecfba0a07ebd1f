"""Sensors around each job: cooldown, idle baseline, sampling during the worker, figures over its window.

    measure = JobMeasurement(discover_all(config), MeasureSettings(rate_hz=10, idle_baseline_s=2))
    jobs.before_worker.append(measure.before_worker)   # cooldown, start sampling, idle baseline
    jobs.after_worker.append(measure.after_worker)     # summarize over the worker's window, stop sampling

Sampling threads run only between those two hooks: an idle agent reads no sensor. A sensor that fails
costs its figure (marked unavailable with the reason), never the job: every step here is guarded.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from edgebench.v1 import agent_pb2 as pb

from .sensors import (
    KIND_ENERGY,
    KIND_FREQUENCY,
    KIND_POWER,
    KIND_THERMAL,
    KIND_THROTTLE,
    EnergySummary,
    Sampler,
    SensorSet,
    SourceStats,
    idle_baseline,
    now_ns,
    summarize,
)

log = logging.getLogger(__name__)

# Sources that spawn a process per reading (vcgencmd): sampled slowly so they do not load the CPU they
# measure. The PMIC is the Pi 5's power of record, so it gets a little more.
COMMAND_RATES_HZ = {"rpi-temp": 2.0, "rpi-arm-clock": 2.0, "rpi-throttle": 2.0, "rpi5-pmic": 5.0}
MAX_RATE_HZ = 10_000.0
TAIL_WAIT_MAX_S = 3.0  # after the worker: wait at most this long for every source's first reading past the window


@dataclass
class MeasureSettings:
    rate_hz: float = 10.0  # 0: no sampling at all
    idle_baseline_s: float = 2.0
    cooldown_timeout_s: float = 300.0
    rates: dict[str, float] = field(default_factory=lambda: dict(COMMAND_RATES_HZ))


@dataclass
class _JobSampling:
    sampler: Sampler
    rate_hz: float
    idle: tuple[int, int] | None = None
    cooldown_start_c: float | None = None
    cooldown_waited_s: float = 0.0
    cooldown_reached: bool = False
    warnings: list[str] = field(default_factory=list)


def _opt(msg: object, name: str, value: float | int | bool | None) -> None:
    if value is not None:
        setattr(msg, name, value)


class JobMeasurement:
    def __init__(self, sensors: SensorSet, settings: MeasureSettings) -> None:
        self.sensors = sensors
        self.settings = settings
        self._sampling = sensors.for_sampling()
        self._has_power = any(s.info.kind in (KIND_POWER, KIND_ENERGY) for s in self._sampling)
        self._by_job: dict[str, _JobSampling] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ hooks

    def before_worker(self, job) -> None:
        spec: pb.JobSpec = job.spec
        if spec.no_sampling or not self._sampling or self.settings.rate_hz <= 0:
            return
        rate = min(spec.sample_rate_hz or self.settings.rate_hz, MAX_RATE_HZ)
        rates = {name: min(r, rate) for name, r in self.settings.rates.items()}
        try:
            sampler = Sampler(self._sampling, rate, rates=rates).start()
        except Exception as err:  # no sensor problem may cost the job
            log.exception("starting the sampler")
            job.extra_warnings.append(f"sensors not sampled: {type(err).__name__}: {err}")
            return
        state = _JobSampling(sampler, rate)
        with self._lock:
            self._by_job[job.job_id] = state
        try:
            if spec.cooldown_to_c > 0:
                self._cooldown(job, state, spec.cooldown_to_c,
                               spec.cooldown_timeout_s or self.settings.cooldown_timeout_s)
            idle_s = spec.idle_baseline_s if spec.HasField("idle_baseline_s") else self.settings.idle_baseline_s
            idle_s = max(0.0, min(idle_s, 600.0)) if self._has_power else 0.0  # nothing to baseline
            if idle_s > 0 and not job.cancel_requested:
                # Let every polled source take its first reading, so the baseline starts with data.
                time.sleep(min(0.2, 1.0 / rate))
                i0 = now_ns()
                _sleep_unless_cancelled(job, idle_s)
                state.idle = (i0, now_ns())
        except Exception as err:
            log.exception("idle baseline / cooldown")
            state.warnings.append(f"idle baseline not measured: {type(err).__name__}: {err}")

    def after_worker(self, job, result: pb.JobResult) -> None:
        with self._lock:
            state = self._by_job.pop(job.job_id, None)
        if state is None:
            return
        sampler = state.sampler
        try:
            a, b = result.window_start_ns, result.window_end_ns
            if result.state == pb.JOB_STATE_SUCCEEDED and b > a:
                self._wait_past(sampler, b)
                sampler.stop()
                self._fill(job, result, state, a, b)
            else:
                sampler.stop()
        except Exception as err:
            log.exception("summarizing the sensors")
            result.warnings.append(f"sensor figures not computed: {type(err).__name__}: {err}")
        finally:
            sampler.stop()
            sampler.discard_before(now_ns() + 1)  # nothing is carried into the next job
        result.warnings.extend(state.warnings)

    # ------------------------------------------------------------------ steps

    def _cooldown(self, job, state: _JobSampling, target_c: float, timeout_s: float) -> None:
        t0 = time.monotonic()
        deadline = t0 + max(0.0, timeout_s)
        start_c = None
        while not job.cancel_requested:
            temp = _latest_temp(state.sampler)
            if temp is not None and start_c is None:
                start_c = temp
            if temp is not None and temp < target_c:
                state.cooldown_reached = True
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(0.25)
        state.cooldown_start_c = start_c
        state.cooldown_waited_s = time.monotonic() - t0
        if not state.cooldown_reached:
            why = "no temperature could be read" if start_c is None else f"still above {target_c:g} C"
            state.warnings.append(f"cooldown: {why} after {state.cooldown_waited_s:.0f} s; started anyway")

    @staticmethod
    def _wait_past(sampler: Sampler, t_ns: int) -> None:
        """Give every source that reads at all the chance of one good reading at or after `t_ns`: the
        window's end is interpolated from it and the "after" throttle flags come from it."""
        stats = sampler.stats()
        slowest = max((1.0 / s.target_rate_hz for s in stats.values() if s.target_rate_hz > 0), default=0.0)
        deadline = time.monotonic() + min(TAIL_WAIT_MAX_S, 1.5 * slowest + 0.25)
        while time.monotonic() < deadline:
            stats = sampler.stats()
            if all(s.ok == 0 or (s.last_ns or 0) >= t_ns for s in stats.values()):
                return
            time.sleep(0.005)

    def _fill(self, job, result: pb.JobResult, state: _JobSampling, a: int, b: int) -> None:
        sampler = state.sampler
        start = state.idle[0] if state.idle else a
        samples = sampler.samples_between(start, b)
        idle = None
        if state.idle is not None:
            idle = idle_baseline(sampler.samples_between(*state.idle), *state.idle)
        inferences = result.latency.count or len(result.samples_ns)
        summary = summarize(samples, a, b, idle, inferences=inferences or None)
        m = result.measurement
        _copy_summary(m, summary, idle)
        m.sample_rate_hz = state.rate_hz
        m.inferences = inferences
        if state.idle is not None:
            m.idle_start_ns, m.idle_end_ns = state.idle
        elif "idle_power_w" in m.unavailable:
            m.unavailable["idle_power_w"] = "no idle baseline requested (idle_baseline_s = 0)"
        _opt(m, "cooldown_start_c", state.cooldown_start_c)
        m.cooldown_waited_s = state.cooldown_waited_s
        m.cooldown_reached = state.cooldown_reached
        for st in sampler.stats().values():
            m.rates.append(_rate(st))
        if summary.throttled:
            result.warnings.append("THROTTLED: the board throttled, capped its clock or saw under-voltage during "
                                   f"this run ({', '.join(summary.throttle_flags) or 'flags set'}); "
                                   "its latency is not comparable")
        if job.spec.keep_trace:
            _fill_trace(m, samples)


def _sleep_unless_cancelled(job, seconds: float) -> None:
    end = time.monotonic() + seconds
    while not job.cancel_requested:
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.1))


def _latest_temp(sampler: Sampler) -> float | None:
    t = now_ns()
    for trace in sampler.samples_between(t - 2_000_000_000, t).values():
        if trace.info.kind != KIND_THERMAL:
            continue
        good = [r for r in trace.readings if r.ok and r.values]
        if good:
            return max(good[-1].values.values())
    return None


def _rate(st: SourceStats) -> pb.SourceRate:
    r = pb.SourceRate(sensor=st.name, kind=st.kind, requested_hz=st.target_rate_hz, readings_ok=st.ok,
                      readings_failed=st.failed, last_reason=st.last_reason,
                      mean_read_s=st.mean_read_s or 0.0, max_read_s=st.read_s_max)
    _opt(r, "achieved_hz", st.achieved_rate_hz)
    return r


def _copy_summary(m: pb.Measurement, s: EnergySummary, idle) -> None:
    m.window_start_ns, m.window_end_ns, m.duration_s = s.window_start_ns, s.window_end_ns, s.duration_s
    m.power_source = s.power_source or ""
    m.power_note = s.power_note or ""
    m.energy_method = s.energy_method or ""
    m.power_samples = s.power_samples
    for name, value in (
        ("coverage", s.coverage), ("power_avg_w", s.avg_power_w), ("power_peak_w", s.peak_power_w),
        ("energy_j", s.energy_j), ("power_idle_w", s.idle_power_w),
        ("energy_per_inference_j", s.energy_per_inference_j), ("energy_above_idle_j", s.energy_above_idle_j),
        ("energy_per_inference_above_idle_j", s.energy_above_idle_per_inference_j),
        ("temp_start_c", s.temp_start_c), ("temp_max_c", s.temp_max_c), ("temp_end_c", s.temp_end_c),
        ("freq_min_hz", s.freq_min_hz), ("freq_max_hz", s.freq_max_hz), ("throttled", s.throttled),
    ):
        _opt(m, name, value)
    for name, state in (("throttle_before", s.throttle_before), ("throttle_during", s.throttle_during),
                        ("throttle_after", s.throttle_after)):
        if state is not None:
            setattr(m, name, int(state.raw))
    m.throttle_flags.extend(s.throttle_flags)
    m.temp_source = s.temp_source or ""
    m.freq_source = s.freq_source or ""
    for zone, c in s.temp_max_by_zone_c.items():
        m.temp_max_by_zone_c[zone] = c
    for key, why in s.unavailable.items():
        m.unavailable[key] = why or "not measured"
    for fig in s.by_source.values():
        f = m.by_source.add(sensor=fig.sensor, method=fig.method, samples_in_window=fig.samples_in_window,
                            reason=fig.reason, note=fig.note)
        for name in ("coverage", "avg_w", "peak_w", "energy_j"):
            _opt(f, name, getattr(fig, name))
        if idle is not None:
            _opt(f, "idle_w", idle.power_w(fig.sensor))


def _fill_trace(m: pb.Measurement, samples) -> None:
    for name, trace in samples.items():
        kind = trace.info.kind
        good = [r for r in trace.readings if r.ok]
        if kind == KIND_POWER:
            series = [("total", "W", [(r.t_ns, r.total) for r in good])]
        elif kind == KIND_ENERGY:
            series = [("total", "W", [(r.t_ns, r.total) for r in good]),
                      ("energy_j", "J", [(r.t_ns, r.energy_j) for r in good])]
        elif kind == KIND_THERMAL:
            series = [("max", "C", [(r.t_ns, max(r.values.values())) for r in good if r.values])]
        elif kind == KIND_FREQUENCY:
            series = [("max", "Hz", [(r.t_ns, max(r.values.values())) for r in good if r.values]),
                      ("min", "Hz", [(r.t_ns, min(r.values.values())) for r in good if r.values])]
        elif kind == KIND_THROTTLE:
            series = [("flags", "flags", [(r.t_ns, r.values.get("flags")) for r in good])]
        else:
            continue
        for figure, unit, points in series:
            points = [(t, v) for t, v in points if v is not None]
            if not points:
                continue
            m.trace.add(sensor=name, kind=kind, figure=figure, unit=unit, t_ns=[t for t, _ in points],
                        values=[float(v) for _, v in points])
