"""edgebench-agent: serve the v1 API on a board.

    edgebench-agent --listen 0.0.0.0 --state-dir /var/lib/edgebench
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from . import DEFAULT_PORT, __version__
from .jobs import JobLimits
from .measurement import MeasureSettings
from .sensors import SensorConfig
from .server import AgentConfig, start_agent


def listen_address(text: str) -> str:
    """HOST, HOST:PORT, [V6]:PORT or [V6]; no port means the documented default."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return f"[{host}]:{port or DEFAULT_PORT}"
    if text.count(":") == 1:
        host, port = text.split(":")
        return f"{host}:{port or DEFAULT_PORT}"
    if ":" in text:  # a bare IPv6 address
        return f"[{text}]:{DEFAULT_PORT}"
    return f"{text}:{DEFAULT_PORT}"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgebench-agent", description="Run models on this board and measure them.")
    p.add_argument("--listen", default="127.0.0.1",
                   help=f"HOST[:PORT] to serve on (default 127.0.0.1:{DEFAULT_PORT}; port 0 picks a free one)")
    p.add_argument("--state-dir", required=True, help="model cache and job results live here")
    p.add_argument("--max-model-mb", type=float, default=512, help="largest model upload accepted (default 512)")
    p.add_argument("--max-queue", type=int, default=64, help="jobs that may wait behind the running one")
    p.add_argument("--job-timeout", type=float, default=600, help="default per-job timeout in seconds")
    p.add_argument("--worker-memory-mb", type=float, default=0,
                   help="address-space limit of each worker process (0: none)")
    p.add_argument("--sysfs-root", default="/", help="root for /proc and /sys reads (tests point it at fixtures)")
    s = p.add_argument_group("sensors (power, temperature, clocks, throttling)")
    s.add_argument("--vcgencmd", default="vcgencmd", help="Raspberry Pi firmware tool (default: on PATH)")
    s.add_argument("--tegrastats", default="tegrastats", help="Jetson tegrastats (default: on PATH)")
    s.add_argument("--meter", default=None,
                   help="external power meter streaming one reading per line: tcp://HOST:PORT, "
                        "serial:///dev/ttyUSB0?baud=115200, or a file/FIFO path")
    s.add_argument("--sample-rate", type=float, default=10.0,
                   help="sensor sampling rate in Hz during a job (default 10; firmware tools such as "
                        "vcgencmd are sampled at 2-5 Hz at most; 0: no sampling)")
    s.add_argument("--idle-baseline", type=float, default=2.0,
                   help="seconds of idle power measured before each job (default 2; 0: none)")
    s.add_argument("--cooldown-timeout", type=float, default=300.0,
                   help="longest wait for a job's cooldown_to_c (default 300 s)")
    s.add_argument("--no-sensors", action="store_true", help="discover and sample no sensor at all")
    p.add_argument("--version", action="version", version=f"edgebench-agent {__version__}")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = AgentConfig(
        state_dir=args.state_dir,
        max_model_bytes=int(args.max_model_mb * (1 << 20)),
        limits=JobLimits(max_queue=args.max_queue, default_timeout_s=args.job_timeout,
                         worker_memory_bytes=int(args.worker_memory_mb * (1 << 20))),
        sysfs_root=args.sysfs_root,
        sensors=None if args.no_sensors else SensorConfig(
            sysfs_root=args.sysfs_root, vcgencmd=args.vcgencmd, tegrastats=args.tegrastats, meter=args.meter),
        measure=MeasureSettings(rate_hz=max(0.0, args.sample_rate), idle_baseline_s=max(0.0, args.idle_baseline),
                                cooldown_timeout_s=max(0.0, args.cooldown_timeout)),
    )
    address = listen_address(args.listen)
    try:
        agent = start_agent(config, address)
    except (OSError, RuntimeError) as exc:
        print(f"edgebench-agent: cannot listen on {address}: {exc}", file=sys.stderr)
        return 1
    host = address.rsplit(":", 1)[0]
    # The controller reads this line to learn the port when it started us with port 0.
    print(f"edgebench-agent {__version__} listening on {host}:{agent.port} state-dir {args.state_dir}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
