"""`controller deploy` and `controller undeploy`: the agent onto a board over SSH, and off it again.

    probe      ssh: the board's machine, Python, C library, free space, systemd, installed version, wheels it has
    build      a wheel of this project; with --offline, the agent's dependencies for that board (cached here)
    copy       scp: only the wheels the board lacks (compared by sha256), the token, TLS files
    install    ssh: install-agent.sh (venv in a staging folder, atomic switch, service or detached process)
    verify     gRPC from here: health SERVING (bounded), then Describe with the token
"""
from __future__ import annotations

import secrets
import shlex
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgebench.agent import __version__

from ..errors import AgentVersionError, ControllerError
from ..link import targets_config
from ..link.board import board_description
from ..link.client import AgentAuthError, AgentClient, AgentTLSError, version_tuple
from ..link.target import Target, parse_target
from ..paths import cache_dir
from ..records import BoardDescription
from .certs import ensure_target_certs
from .install_script import install_script
from .ssh import Ssh, SshOptions
from .wheels import BoardPython, build_wheel, download_wheelhouse, total_mb, write_sha256sums

INSTALLED_ENV_MB = 300  # a venv with onnxruntime, LiteRT, NumPy and grpcio: about 260 MB on x86_64
ONLINE_NEED_MB = 400
SCRIPT_TIMEOUT_S = 1800


class DeployError(ControllerError):
    pass


@dataclass
class DeployOptions:
    target: str
    offline: bool = False
    system_site_packages: bool = False
    upgrade: bool = False
    ssh: SshOptions = field(default_factory=SshOptions)
    python: str = "python3"
    remote_dir: str = ""  # default: ~/.local/share/edgebench on the board
    state_dir: str = ""  # default: ~/.local/state/edgebench on the board
    listen_host: str = "0.0.0.0"
    wheelhouse: str = ""  # default: <cache>/wheelhouse
    tls: bool = False
    mtls: bool = False
    agent_args: str = ""
    wait_s: float = 90.0
    min_free_mb: int | None = None


@dataclass
class BoardFacts:
    values: dict[str, str]
    have: dict[str, str]  # wheel name -> sha256 already in the board's wheelhouse

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    @property
    def prefix(self) -> str:
        return self.get("prefix")

    @property
    def installed(self) -> str:
        value = self.get("installed", "none")
        return "" if value == "none" else value


@dataclass
class DeployResult:
    target: Target
    config_path: Path
    installed: str
    action: str
    service: str
    description: BoardDescription


def default_wheelhouse() -> Path:
    return cache_dir() / "wheelhouse"


def parse_report(text: str) -> BoardFacts:
    values: dict[str, str] = {}
    have: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("EDGEBENCH "):
            continue
        key, _, value = line[len("EDGEBENCH "):].partition("=")
        if key == "have":
            digest, _, name = value.partition(" ")
            have[name] = digest
        else:
            values[key] = value
    return BoardFacts(values, have)


def _common_script_args(opts: DeployOptions) -> list[str]:
    args = ["--python", opts.python]
    if opts.remote_dir:
        args += ["--prefix", opts.remote_dir]
    if opts.state_dir:
        args += ["--state-dir", opts.state_dir]
    return args


def probe_board(ssh: Ssh, opts: DeployOptions) -> BoardFacts:
    result = ssh.script(install_script(), ["--probe", *_common_script_args(opts)], timeout_s=120)
    facts = parse_report(result.stdout)
    if result.returncode != 0 or not facts.prefix:
        raise DeployError(f"cannot inspect {ssh.destination}: {_last_error(result.stderr) or 'no answer'}")
    return facts


def _last_error(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    for line in reversed(lines):
        if "error:" in line:
            return line.split("error:", 1)[1].strip()
    return lines[-1] if lines else ""


def check_board(facts: BoardFacts, dest: str, opts: DeployOptions) -> BoardPython:
    python = facts.get("python")
    if python in ("", "none"):
        raise DeployError(
            f"{dest} has no `{opts.python}` on its PATH: install Python 3.10 or newer there "
            "(sudo apt install python3 python3-venv), or name it with --python /path/to/python3")
    if python == "broken":
        raise DeployError(f"`{opts.python}` on {dest} does not run")
    if version_tuple(python) < (3, 10):
        raise DeployError(f"{dest} has Python {python}; the agent needs 3.10 or newer (--python names another)")
    if facts.get("venv") != "1":
        raise DeployError(f"Python {python} on {dest} cannot create virtual environments: "
                          "sudo apt install python3-venv there")
    if facts.installed and not opts.upgrade and facts.installed != __version__:
        raise DeployError(
            f"edgebench-agent {facts.installed} is installed on {dest}; this controller is {__version__}: "
            f"run `controller deploy --target {dest} --upgrade` to replace it")
    if facts.installed and not opts.upgrade and \
            facts.get("installed_system_site_packages") != ("1" if opts.system_site_packages else "0"):
        raise DeployError(f"the agent on {dest} was installed "
                          f"{'with' if facts.get('installed_system_site_packages') == '1' else 'without'} "
                          "--system-site-packages: add --upgrade to rebuild it")
    return BoardPython(machine=facts.get("machine"), version=python, libc=facts.get("libc", "unknown-0"),
                       implementation=facts.get("implementation", "cpython"))


def check_space(facts: BoardFacts, dest: str, copy_mb: float, installs: bool, opts: DeployOptions,
                wheelhouse_mb: float) -> None:
    try:
        free = int(facts.get("free_mb", "0"))
    except ValueError:
        return
    if opts.min_free_mb is not None:
        need = opts.min_free_mb
    else:
        env_mb = (wheelhouse_mb * 4 + 30) if opts.offline else ONLINE_NEED_MB
        need = int(copy_mb + (env_mb if installs else 0) + 10)
    if free < need:
        raise DeployError(
            f"not enough space on {dest} in {facts.prefix}: {free} MB free, the agent needs about {need} MB "
            f"({copy_mb:.0f} MB of wheels to copy{', and the installed environment' if installs else ''}); free "
            "some space there or install elsewhere (--remote-dir)")


def deploy(opts: DeployOptions, log: Callable[[str], None] = print) -> DeployResult:
    target = parse_target(opts.target)
    if target.is_local:
        raise DeployError("deploy needs a board: --target [user@]host (an agent for `local` starts by itself)")
    dest = targets_config.ssh_destination(target)
    ssh = Ssh(dest, opts.ssh)
    log(f"deploy: inspecting {dest} over SSH")
    facts = probe_board(ssh, opts)
    board = check_board(facts, dest, opts)
    log(f"deploy: {dest} is {board.machine}, Python {board.version}, {board.libc}, {facts.get('free_mb')} MB "
        f"free in {facts.prefix}; installed agent: {facts.installed or 'none'}")
    installs = opts.upgrade or not facts.installed
    prefix = facts.prefix
    wheelhouse_dir = f"{prefix}/wheelhouse"
    incoming = f"{prefix}/incoming"

    with tempfile.TemporaryDirectory(prefix="edgebench-deploy-") as tmp:
        bundle = Path(tmp) / "bundle"
        targets_config.private_dir(bundle)
        wheel = build_wheel(Path(tmp) / "dist")
        log(f"deploy: built {wheel.name}")
        deps: list[Path] = []
        digests: dict[str, str] = {}
        if opts.offline:
            deps = download_wheelhouse(board, wheel, Path(opts.wheelhouse) if opts.wheelhouse
                                       else default_wheelhouse(), log=lambda line: log(f"deploy: {line}"))
            digests = write_sha256sums(bundle / "SHA256SUMS", deps)
        missing = [p for p in deps if facts.have.get(p.name) != digests[p.name]]
        wheelhouse_mb = total_mb(deps)
        copy_mb = total_mb(missing) + total_mb([wheel])
        check_space(facts, dest, copy_mb, installs, opts, wheelhouse_mb)

        # The token: the one stored for this target if there is one (a re-deploy keeps it), else a new one,
        # stored on this host before the board gets it, so an interrupted deploy cannot lose it.
        stored = targets_config.load(target)
        config = stored or targets_config.new_config(target)
        config.token = config.token or secrets.token_urlsafe(32)
        config.ssh = dest
        config.ssh_config = str(Path(opts.ssh.config_file).resolve()) if opts.ssh.config_file else config.ssh_config
        config.remote_prefix = prefix
        config_path = targets_config.save(config)
        token_file = targets_config.write_private(bundle / "agent.token", config.token + "\n")

        script_args = ["--wheel", f"{incoming}/{wheel.name}", "--token-file", f"{incoming}/{token_file.name}",
                       "--listen", f"{opts.listen_host}:{target.port}", "--wait", str(int(opts.wait_s)),
                       *_common_script_args(opts)]
        to_incoming = [wheel, token_file]
        if opts.tls or opts.mtls:
            certs = ensure_target_certs(targets_config.files_dir(target), target.host, opts.mtls)
            to_incoming += [certs.agent_crt, certs.agent_key]
            script_args += ["--tls-cert", f"{incoming}/{certs.agent_crt.name}",
                            "--tls-key", f"{incoming}/{certs.agent_key.name}"]
            config.tls_ca = str(certs.ca_crt)
            config.tls_cert = str(certs.client_crt) if certs.client_crt else ""
            config.tls_key = str(certs.client_key) if certs.client_key else ""
            if certs.client_ca_crt is not None:
                to_incoming.append(certs.client_ca_crt)
                script_args += ["--tls-client-ca", f"{incoming}/{certs.client_ca_crt.name}"]
        else:
            config.tls_ca = config.tls_cert = config.tls_key = ""
        if opts.offline:
            script_args += ["--offline", "--find-links", wheelhouse_dir]
        if opts.upgrade:
            script_args.append("--upgrade")
        if opts.system_site_packages:
            script_args.append("--system-site-packages")
        if opts.agent_args:
            script_args += ["--agent-args", opts.agent_args]
        if opts.min_free_mb is not None:
            script_args += ["--min-free-mb", str(opts.min_free_mb)]

        if missing:
            log(f"deploy: copying {len(missing)} wheel(s), {total_mb(missing):.0f} MB, to {dest}:{wheelhouse_dir}")
        ssh.copy(missing + ([bundle / "SHA256SUMS"] if opts.offline else []), wheelhouse_dir, timeout_s=1800)
        ssh.copy(to_incoming, incoming, timeout_s=600)
        log(f"deploy: installing on {dest} (install-agent.sh {' '.join(shlex.quote(a) for a in script_args)})")
        result = ssh.script(install_script(), script_args, timeout_s=SCRIPT_TIMEOUT_S,
                            on_line=lambda line: None if line.startswith("EDGEBENCH ") else log(f"  {dest}: {line}"))
    report = parse_report(result.stdout)
    if result.returncode != 0:
        raise DeployError(install_failure(dest, result.returncode, result.stderr))
    config.service = report.get("service")
    config.agent_version = report.get("installed")
    config.remote_prefix = report.get("prefix", prefix)
    config.deployed_unix_s = time.time()
    targets_config.save(config)

    log(f"deploy: waiting for the agent at {target.grpc_address} to say SERVING (at most {opts.wait_s:g} s)")
    desc = wait_serving(target, config.credentials(), opts.wait_s)
    return DeployResult(target, config_path, report.get("installed"), report.get("action"), config.service, desc)


def install_failure(dest: str, code: int, stderr: str) -> str:
    detail = _last_error(stderr) or f"install-agent.sh exit status {code}"
    prefix = {
        3: f"{dest} has no usable Python",
        4: f"{dest} has not enough space",
        5: f"installing the agent on {dest} failed",
        6: f"the agent on {dest} did not start",
        7: f"another agent is installed on {dest}",
        8: f"cannot set up the service on {dest}",
    }.get(code, f"install-agent.sh on {dest} failed")
    log_lines = [ln for ln in stderr.strip().splitlines() if "install-agent: error:" not in ln][-12:]
    tail = ("\n" + "\n".join(f"  {dest}: {ln}" for ln in log_lines)) if log_lines and code in (5, 6) else ""
    return f"{prefix}: {detail}{tail}"


def wait_serving(target: Target, credentials, wait_s: float) -> BoardDescription:
    """Health SERVING, then Describe with the token (which proves the token works), within wait_s."""
    deadline = time.monotonic() + wait_s
    last = ""
    while True:
        remaining = deadline - time.monotonic()
        try:
            with AgentClient(target.grpc_address, max(1.0, min(remaining, 10.0)), credentials) as client:
                status = client.health_status()
                if status == "SERVING":
                    return board_description(client.describe(timeout_s=max(10.0, remaining)))
                last = f"health says {status}"
        except (AgentTLSError, AgentAuthError, AgentVersionError):
            raise  # waiting longer changes nothing
        except ControllerError as exc:
            last = str(exc)
        if time.monotonic() >= deadline:
            raise DeployError(f"the agent on {target.host} was installed but is not SERVING at {target.grpc_address} "
                              f"after {wait_s:g} s ({last}); is port {target.port} open between here and the board?")
        time.sleep(1.0)


def undeploy(target_text: str, ssh_options: SshOptions | None, purge: bool = False, keep_config: bool = False,
             log: Callable[[str], None] = print) -> bool:
    target = parse_target(target_text)
    if target.is_local:
        raise DeployError("undeploy needs a board: --target [user@]host")
    stored = targets_config.load(target)
    options = ssh_options or SshOptions()
    if stored and stored.ssh_config and not options.config_file:
        options.config_file = stored.ssh_config
    dest = targets_config.ssh_destination(target) if target.user or not stored or not stored.ssh else stored.ssh
    args = ["--uninstall"]
    if stored and stored.remote_prefix:
        args += ["--prefix", stored.remote_prefix]
    if purge:
        args.append("--purge")
    log(f"undeploy: removing the agent from {dest}")
    result = Ssh(dest, options).script(install_script(), args, timeout_s=300,
                                       on_line=lambda line: None if line.startswith("EDGEBENCH ")
                                       else log(f"  {dest}: {line}"))
    if result.returncode != 0:
        raise DeployError(f"undeploy on {dest} failed: {_last_error(result.stderr)}")
    if not keep_config:
        targets_config.remove(target)
    return parse_report(result.stdout).get("uninstalled") == "yes"
