"""edgebench-agent: serve the v1 API on a board.

    edgebench-agent --listen 0.0.0.0 --state-dir /var/lib/edgebench --token-file /etc/edgebench/agent.token
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from . import DEFAULT_PORT, __version__
from .auth import ENV_TOKEN, TokenError, check_token, is_loopback_host, read_token_file
from .contention import DEFAULT_THRESHOLD, ContentionSettings
from .jobs import JobLimits
from .measurement import MeasureSettings
from .procmem import bound_heap_retention
from .rpc_limits import RpcLimits
from .sensors import SensorConfig
from .server import AgentConfig, start_agent
from .tls import TlsConfigError, TlsFiles


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
    limits = RpcLimits()
    p.add_argument("--max-streams", type=int, default=limits.max_streams,
                   help=f"watches and uploads served at once, all callers together (default {limits.max_streams}); "
                        "over it they get RESOURCE_EXHAUSTED, and short calls always find a thread")
    p.add_argument("--max-streams-per-caller", type=int, default=limits.max_streams_per_peer,
                   help=f"the same from one address (default {limits.max_streams_per_peer})")
    a = p.add_argument_group("authentication and TLS (required to listen beyond loopback)")
    a.add_argument("--token-file", metavar="FILE",
                   help=f"every call must carry the token in FILE (also: ${ENV_TOKEN}); the health service stays open")
    a.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate (chain)")
    a.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    a.add_argument("--tls-client-ca", metavar="PEM",
                   help="mutual TLS: clients must present a certificate signed by this CA")
    a.add_argument("--insecure", action="store_true",
                   help="allow a non-loopback address without a token or client certificates (anyone who reaches "
                        "the port can run code on this board)")
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
    c = p.add_argument_group("contention (what else used the board during a job)")
    c.add_argument("--contended-above", type=float, default=DEFAULT_THRESHOLD, metavar="SHARE",
                   help="mark a run contended when other processes (and steal) took more than this share of the "
                        f"CPU its worker needed (default {DEFAULT_THRESHOLD:g}; a board that always runs other "
                        "services may raise it)")
    c.add_argument("--no-contention", action="store_true", help="do not read /proc during jobs")
    p.add_argument("--version", action="version", version=f"edgebench-agent {__version__}")
    return p


def security_settings(args: argparse.Namespace, address: str) -> tuple[str, TlsFiles | None]:
    """The token and TLS files from the flags, and the rule: beyond loopback, authenticate or say --insecure."""
    import os

    env_token = os.environ.get(ENV_TOKEN, "").strip()
    if args.token_file:
        token = read_token_file(args.token_file)
    else:
        token = check_token(env_token, f"${ENV_TOKEN}") if env_token else ""
    if bool(args.tls_cert) != bool(args.tls_key):
        raise TlsConfigError("--tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        raise TlsConfigError("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key too")
    tls = TlsFiles(args.tls_cert, args.tls_key, args.tls_client_ca or "") if args.tls_cert else None
    host = address.rsplit(":", 1)[0]
    if not is_loopback_host(host) and not token and not (tls and tls.mutual):
        if not args.insecure:
            raise TokenError(
                f"refusing to listen on {address} without authentication: anyone who reaches that port could run "
                "code on this board. Give --token-file FILE (controller deploy makes one), or --tls-client-ca "
                "for mutual TLS, or --insecure to accept the risk")
        print(f"edgebench-agent: warning: --insecure: {address} accepts jobs from anyone who reaches it",
              file=sys.stderr, flush=True)
    return token, tls


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    address = listen_address(args.listen)
    if not 0 <= args.contended_above < float("inf"):
        print(f"edgebench-agent: --contended-above must be a share of at least 0, got {args.contended_above}",
              file=sys.stderr)
        return 2
    try:
        token, tls = security_settings(args, address)
    except (TokenError, TlsConfigError) as exc:
        print(f"edgebench-agent: {exc}", file=sys.stderr)
        return 2
    config = AgentConfig(
        state_dir=args.state_dir,
        max_model_bytes=int(args.max_model_mb * (1 << 20)),
        limits=JobLimits(max_queue=args.max_queue, default_timeout_s=args.job_timeout,
                         worker_memory_bytes=int(args.worker_memory_mb * (1 << 20))),
        sysfs_root=args.sysfs_root,
        rpc=RpcLimits(max_streams=max(1, args.max_streams), max_streams_per_peer=max(1, args.max_streams_per_caller)),
        sensors=None if args.no_sensors else SensorConfig(
            sysfs_root=args.sysfs_root, vcgencmd=args.vcgencmd, tegrastats=args.tegrastats, meter=args.meter),
        measure=MeasureSettings(rate_hz=max(0.0, args.sample_rate), idle_baseline_s=max(0.0, args.idle_baseline),
                                cooldown_timeout_s=max(0.0, args.cooldown_timeout)),
        contention=ContentionSettings(threshold=args.contended_above, enabled=not args.no_contention),
        token=token,
        tls=tls,
    )
    bound_heap_retention()
    try:
        agent = start_agent(config, address)
    except TlsConfigError as exc:
        print(f"edgebench-agent: {exc}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as exc:
        hint = " (with TLS: does --tls-key belong to --tls-cert?)" if tls else ""
        print(f"edgebench-agent: cannot listen on {address}{hint}: {exc}", file=sys.stderr)
        return 1
    host = address.rsplit(":", 1)[0]
    # The controller reads this line to learn the port when it started us with port 0.
    print(f"edgebench-agent {__version__} listening on {host}:{agent.port} state-dir {args.state_dir}"
          f"{' tls' if tls else ''}{' token' if token else ''}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
