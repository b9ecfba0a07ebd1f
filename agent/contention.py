"""What else used the board while a job measured: CPU time of other processes on the worker's CPUs (from
/proc/stat minus the worker's own), steal time, load average and pressure stall information (PSI, where the
kernel has it), read every `interval_s` from just before the worker starts until it ends.

    monitor = ContentionMonitor(ContentionSettings(threshold=0.10))
    jobs.before_worker.append(monitor.before_worker)   # start reading
    jobs.after_worker.append(monitor.after_worker)     # figures over the measurement window, stop reading

The verdict is one number, `contention`: the share of the CPU time the worker needed (min(threads, its CPUs)
cores for the window) that went to other processes or to the hypervisor (steal) instead. A worker that
waits on a GPU or on memory uses less CPU without anyone taking it: that is not contention, which is why
the shortfall counts only as far as others really used the CPUs. Above `threshold` the run is `contended`.

Everything here is guarded: a /proc file that cannot be read costs its figure (named in `unavailable`),
never the job.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from edgebench.v1 import agent_pb2 as pb

from .sensors import now_ns

log = logging.getLogger(__name__)

TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
MAX_READINGS = 4096  # past this the readings are thinned (every other one) and the interval doubled
# Others took over a fifth of the CPU the worker needed. One CPU-bound process at the worker's priority on its
# core takes half; housekeeping at a lower priority (two nice-10 processes take 18% from a nice-0 worker)
# stays below, and its night-to-night swing is what each benchmark's noise gate absorbs.
DEFAULT_THRESHOLD = 0.20


@dataclass
class ContentionSettings:
    interval_s: float = 0.05
    threshold: float = DEFAULT_THRESHOLD  # share of the worker's needed CPU taken by others; > 1: never contended
    enabled: bool = True


@dataclass
class Reading:
    """One look at the counters. Ticks are USER_HZ; PSI totals are microseconds since boot."""
    t_ns: int
    cpu_busy: dict[int, int]  # per CPU: user + nice + system + irq + softirq (guest time is inside user)
    cpu_steal: dict[int, int]
    worker_ticks: int | None  # utime + stime of the worker process (all its threads, exited ones too)
    agent_ticks: int | None
    load_1m: float | None
    psi: dict[str, int]  # "cpu some", "memory some", "memory full" -> total stall microseconds


@dataclass
class Figures:
    span_s: float
    cpus: list[int]
    need_cores: float
    worker_cpu_s: float
    other_cpu_s: float
    steal_s: float
    agent_cpu_s: float | None
    load_start: float | None
    load_end: float | None
    psi: dict[str, float]  # share of the span
    contention: float
    readings: int
    unavailable: dict[str, str] = field(default_factory=dict)


def _read(path: Path) -> str:
    with open(path) as f:
        return f.read()


def read_cpu_ticks(proc: Path) -> tuple[dict[int, int], dict[int, int]]:
    busy: dict[int, int] = {}
    steal: dict[int, int] = {}
    for line in _read(proc / "stat").splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        name, *values = line.split()
        v = [int(x) for x in values] + [0] * (8 - len(values))
        cpu = int(name[3:])
        busy[cpu] = v[0] + v[1] + v[2] + v[5] + v[6]  # user nice system irq softirq
        steal[cpu] = v[7]
    return busy, steal


def read_process_ticks(proc: Path, pid: int) -> int:
    text = _read(proc / str(pid) / "stat")
    # The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    rest = text[text.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])  # utime, stime (fields 14 and 15)


def read_load_1m(proc: Path) -> float:
    return float(_read(proc / "loadavg").split()[0])


def read_psi(proc: Path) -> dict[str, int]:
    """'cpu some', 'memory some', 'memory full' totals; a kernel without PSI has no /proc/pressure."""
    out: dict[str, int] = {}
    for resource in ("cpu", "memory"):
        try:
            text = _read(proc / "pressure" / resource)
        except OSError:
            continue
        for line in text.splitlines():
            kind, *pairs = line.split()
            total = dict(p.split("=", 1) for p in pairs).get("total")
            if total is not None:
                out[f"{resource} {kind}"] = int(total)
    return out


class _Reader:
    """Takes readings of one job in a thread until stopped."""

    def __init__(self, proc: Path, job, settings: ContentionSettings) -> None:
        self.proc, self.job, self.interval = proc, job, settings.interval_s
        self.readings: list[Reading] = []
        self.cpus: list[int] | None = None
        self.unavailable: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"contention-{job.job_id}", daemon=True)

    def start(self) -> _Reader:
        self._take()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._take()  # the reading after the window's end

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._take()
            if len(self.readings) > MAX_READINGS:  # a long job: keep the span, halve the density
                self.readings = self.readings[::2] + ([self.readings[-1]] if len(self.readings) % 2 == 0 else [])
                self.interval *= 2

    def _worker_pid(self) -> int | None:
        run = getattr(self.job, "run", None)
        return run.pid if run is not None else None

    def _take(self) -> None:
        try:
            busy, steal = read_cpu_ticks(self.proc)
        except (OSError, ValueError) as err:
            self.unavailable.setdefault("cpu", f"cannot read {self.proc / 'stat'}: {err}")
            return
        pid = self._worker_pid()
        worker = None
        if pid is not None:
            try:
                worker = read_process_ticks(self.proc, pid)
                if self.cpus is None:
                    self.cpus = sorted(os.sched_getaffinity(pid))
            except (OSError, ValueError, IndexError):
                worker = None  # the worker just ended (or not started): this reading has no worker figure
        try:
            agent = read_process_ticks(self.proc, os.getpid())
        except (OSError, ValueError, IndexError):
            agent = None
        try:
            load = read_load_1m(self.proc)
        except (OSError, ValueError, IndexError) as err:
            load = None
            self.unavailable.setdefault("load_avg", f"cannot read {self.proc / 'loadavg'}: {err}")
        psi = read_psi(self.proc)
        self.readings.append(Reading(now_ns(), busy, steal, worker, agent, load, psi))


def figures(readings: list[Reading], cpus: list[int], threads: int, a_ns: int, b_ns: int) -> Figures | None:
    """The figures over the window [a, b]: from the last reading at or before a to the first at or after b
    (readings with the worker's own figure only). None when there are not two such readings."""
    usable = [r for r in readings if r.worker_ticks is not None]
    before = [r for r in usable if r.t_ns <= a_ns]
    after = [r for r in usable if r.t_ns >= b_ns]
    r0 = before[-1] if before else (usable[0] if usable else None)
    r1 = after[0] if after else (usable[-1] if usable else None)
    if r0 is None or r1 is None or r1.t_ns <= r0.t_ns or not cpus:
        return None
    span = (r1.t_ns - r0.t_ns) / 1e9
    unavailable: dict[str, str] = {}
    if not before or not after:
        unavailable["window"] = "the readings do not bracket the whole window: the figures cover part of it"
    busy = sum(r1.cpu_busy.get(c, 0) - r0.cpu_busy.get(c, 0) for c in cpus) / TICKS_PER_S
    steal = sum(r1.cpu_steal.get(c, 0) - r0.cpu_steal.get(c, 0) for c in cpus) / TICKS_PER_S
    worker = (r1.worker_ticks - r0.worker_ticks) / TICKS_PER_S  # type: ignore[operator]
    # Ticks are counted where they land: the worker's own time can exceed its CPUs' busy time by a tick.
    other = max(0.0, busy - worker)
    agent = (r1.agent_ticks - r0.agent_ticks) / TICKS_PER_S \
        if r0.agent_ticks is not None and r1.agent_ticks is not None else None
    psi = {}
    for key in ("cpu some", "memory some", "memory full"):
        if key in r0.psi and key in r1.psi:
            psi[key] = min(1.0, max(0.0, (r1.psi[key] - r0.psi[key]) / 1e6 / span))
        else:
            unavailable[f"psi {key}"] = "the kernel has no pressure stall information (/proc/pressure)"
    need = float(min(threads or len(cpus), len(cpus)))
    shortfall = max(0.0, need * span - worker)
    taken = other + steal
    contention = min(shortfall, taken) / (need * span) if need > 0 else 0.0
    return Figures(span, list(cpus), need, worker, other, steal, agent, r0.load_1m, r1.load_1m, psi,
                   min(1.0, contention), len([r for r in readings if r0.t_ns <= r.t_ns <= r1.t_ns]), unavailable)


def contention_message(f: Figures, threshold: float) -> pb.Contention:
    contended = f.contention > threshold
    c = pb.Contention(span_s=f.span_s, cpus=f.cpus, need_cores=f.need_cores, worker_cpu_s=f.worker_cpu_s,
                      other_cpu_s=f.other_cpu_s, steal_s=f.steal_s, contention=f.contention, threshold=threshold,
                      contended=contended, readings=f.readings)
    for name, value in (("agent_cpu_s", f.agent_cpu_s), ("load_avg_1m_start", f.load_start),
                        ("load_avg_1m_end", f.load_end), ("psi_cpu_some", f.psi.get("cpu some")),
                        ("psi_memory_some", f.psi.get("memory some")),
                        ("psi_memory_full", f.psi.get("memory full"))):
        if value is not None:
            setattr(c, name, value)
    for key, why in f.unavailable.items():
        c.unavailable[key] = why
    if contended:
        cpus = ",".join(str(x) for x in f.cpus)
        c.reason = (f"other processes{' and steal' if f.steal_s > 0.01 * f.span_s else ''} took "
                    f"{f.contention:.0%} of the CPU the worker needed ({f.other_cpu_s / f.span_s:.2f} cores "
                    f"of others, {f.steal_s / f.span_s:.2f} stolen, on CPU {cpus}; the worker got "
                    f"{f.worker_cpu_s / f.span_s:.2f} of {f.need_cores:g})")
    return c


class ContentionMonitor:
    def __init__(self, settings: ContentionSettings, proc_root: str | Path = "/proc") -> None:
        self.settings = settings
        self.proc = Path(proc_root)
        self._by_job: dict[str, _Reader] = {}
        self._lock = threading.Lock()

    def before_worker(self, job) -> None:
        if not self.settings.enabled:
            return
        try:
            reader = _Reader(self.proc, job, self.settings).start()
        except Exception as err:  # never the job's problem
            log.exception("starting the contention readings")
            job.extra_warnings.append(f"contention not measured: {type(err).__name__}: {err}")
            return
        with self._lock:
            self._by_job[job.job_id] = reader

    def after_worker(self, job, result: pb.JobResult) -> None:
        with self._lock:
            reader = self._by_job.pop(job.job_id, None)
        if reader is None:
            return
        try:
            reader.stop()
            a, b = result.window_start_ns, result.window_end_ns
            if result.state != pb.JOB_STATE_SUCCEEDED or b <= a:
                return
            f = figures(reader.readings, reader.cpus or [], job.spec.threads, a, b)
            if f is None:
                why = "; ".join(reader.unavailable.values()) or "too few readings of the worker during its window"
                result.measurement.contention.CopyFrom(pb.Contention(unavailable={"contention": why}))
                return
            f.unavailable.update(reader.unavailable)
            c = contention_message(f, self.settings.threshold)
            result.measurement.contention.CopyFrom(c)
            if c.contended:
                result.warnings.append(f"CONTENDED: {c.reason}; its latency is not comparable")
        except Exception as err:
            log.exception("computing the contention figures")
            result.warnings.append(f"contention not measured: {type(err).__name__}: {err}")
