"""A real PostgreSQL server for the tests: Debian's postgresql binaries, a fresh cluster in a temp dir, on a
free loopback port, started once per test process and stopped when it ends.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` OS user (created if
missing). Every wait is bounded. If the server cannot be started, the tests that need it fail loudly: the
store must be proven on PostgreSQL, not assumed.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "edgebench"
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    pass


@dataclass
class PostgresServer:
    data_dir: Path
    port: int
    run_as: list[str]  # runuser prefix when we are root
    pg_ctl: str

    @property
    def base_url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}"

    def create_database(self) -> str:
        """A fresh, empty database: one per test, so tests never see each other's runs."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"{self.base_url}/postgres", autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.base_url}/{name}"

    def create_password_database(self, user: str, password: str) -> str:
        """A fresh database owned by a role that must give its password (scram-sha-256 for that role alone; the
        rest of the cluster stays trust). Returns its URL with the password percent-encoded."""
        import urllib.parse

        import psycopg

        hba = self.data_dir / "pg_hba.conf"
        line = f"host all {user} 127.0.0.1/32 scram-sha-256\n"
        with _lock:
            text = hba.read_text()
            if line not in text:
                hba.write_text(line + text)  # the first matching line wins
        name = "p_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"{self.base_url}/postgres", autocommit=True, connect_timeout=10) as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone():
                conn.execute(f'CREATE ROLE "{user}" LOGIN')
            conn.execute(f"ALTER ROLE \"{user}\" PASSWORD '{password}'")
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{user}"')
            conn.execute("SELECT pg_reload_conf()")
        quoted = urllib.parse.quote(password, safe="")
        return f"postgresql://{user}:{quoted}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.data_dir.exists():
            subprocess.run([*self.run_as, self.pg_ctl, "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30",
                            "stop"], capture_output=True, timeout=60)
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                       None)
    if not found:
        raise PostgresUnavailable(f"PostgreSQL's {name} not found: install Debian's postgresql "
                                  "(./scripts/system-deps.sh does)")
    return found


def _os_user() -> tuple[list[str], int, int]:
    """The runuser prefix, uid and gid the server runs as."""
    if os.geteuid() != 0:
        return [], os.geteuid(), os.getegid()
    name = "postgres"
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        name = "edgebench-pg"
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                           check=True, capture_output=True, timeout=30)
            pw = pwd.getpwnam(name)
    return ["runuser", "-u", name, "--"], pw.pw_uid, pw.pw_gid


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> PostgresServer:
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    run_as, uid, gid = _os_user()
    top = Path(tempfile.mkdtemp(prefix="edgebench-pg-"))
    os.chmod(top, 0o755)  # the server's user must reach its data dir inside our temp dir
    data = top / "data"
    data.mkdir(mode=0o700)
    os.chown(data, uid, gid)
    init = subprocess.run([*run_as, initdb, "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                           "--no-sync"], capture_output=True, text=True, timeout=120)
    if init.returncode != 0:
        shutil.rmtree(top, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed ({init.returncode}): {init.stderr.strip()[-800:]}")
    for _attempt in range(3):  # a port picked free can be taken before the server binds it: pick again
        port = _free_port()
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off -c full_page_writes=off"
        start = subprocess.run([*run_as, pg_ctl, "-D", str(data), "-l", str(data / "server.log"), "-w", "-t",
                                str(START_TIMEOUT_S), "-o", opts, "start"], capture_output=True, text=True,
                               timeout=START_TIMEOUT_S + 30)
        if start.returncode == 0:
            return PostgresServer(data, port, run_as, pg_ctl)
    log = (data / "server.log").read_text(errors="replace")[-800:] if (data / "server.log").exists() else ""
    shutil.rmtree(top, ignore_errors=True)
    raise PostgresUnavailable(f"PostgreSQL did not start: {start.stderr.strip()[-400:]} {log}")


_lock = threading.Lock()
_server: PostgresServer | None = None


def server() -> PostgresServer:
    """The process's one server, started on first use and stopped at exit."""
    global _server
    with _lock:
        if _server is None:
            _server = start_server()
            atexit.register(_server.stop)
        return _server
