"""The small pieces of deploy: target files, wheel platform tags, SSH failure sentences, the install report."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from edgebench.controller.deploy.deploy import (
    BoardFacts,
    DeployError,
    DeployOptions,
    check_board,
    check_space,
    parse_report,
)
from edgebench.controller.deploy.ssh import explain_ssh_failure
from edgebench.controller.deploy.wheels import BoardPython, platform_tags
from edgebench.controller.errors import ControllerError
from edgebench.controller.link import targets_config
from edgebench.controller.link.target import parse_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@pytest.fixture(autouse=True)
def _own_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEBENCH_CONFIG_DIR", str(tmp_path / "config"))


def test_target_file_round_trip_and_modes(tmp_path):
    target = parse_target("pi@10.0.0.5")
    cfg = targets_config.new_config(target, token="tok-" + "x" * 40, tls_ca=str(tmp_path / 'ca "quoted".crt'))
    path = targets_config.save(cfg)
    assert path == tmp_path / "config" / "targets" / "10.0.0.5.toml"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "config" / "targets").stat().st_mode & 0o777 == 0o700
    # Keyed by the agent's address: found without the SSH user, with the default port written out.
    for text in ("10.0.0.5", "pi@10.0.0.5", "10.0.0.5:47311"):
        loaded = targets_config.load(text)
        assert loaded is not None and loaded.token == cfg.token and loaded.tls_ca == cfg.tls_ca
    assert targets_config.load("10.0.0.5:9000") is None
    assert targets_config.credentials_for(target).summary() == "token, TLS"
    # The text holds exactly the non-empty settings, as TOML reads them.
    written = {k: v for k, v in dataclasses.asdict(cfg).items() if v not in ("", 0, 0.0) or k == "port"}
    assert tomllib.loads(path.read_text()) == written
    assert targets_config.remove(target) and targets_config.load(target) is None


def test_target_keys():
    assert targets_config.target_key("Pi.local", 47311) == "pi.local"
    assert targets_config.target_key("fe80::1", 7000) == "fe80__1~7000"
    with pytest.raises(ControllerError):
        targets_config.target_key("../etc", 47311)


def test_flags_win_over_the_stored_file(tmp_path):
    target = parse_target("10.0.0.7")
    targets_config.save(targets_config.new_config(target, token="stored-token-0123456789"))
    token_file = tmp_path / "t"
    token_file.write_text("flag-token-0123456789\n")
    flags = targets_config.CredentialFlags
    creds = targets_config.credentials_for(target, flags(token_file=str(token_file), tls_ca="/ca.pem"))
    assert creds.token == "flag-token-0123456789" and creds.tls_ca == "/ca.pem"
    assert not targets_config.credentials_for(target, flags(no_tls=True)).uses_tls
    with pytest.raises(ControllerError, match="go together"):
        targets_config.credentials_for(target, flags(tls_cert="/c.pem"))
    # Without flags, the stored file alone.
    assert targets_config.credentials_for(target).token == "stored-token-0123456789"


def test_platform_tags():
    tags = platform_tags(BoardPython("aarch64", "3.11.2", "glibc-2.36"))
    assert tags[0] == "manylinux_2_36_aarch64" and "manylinux_2_17_aarch64" in tags
    assert "manylinux2014_aarch64" in tags and tags[-1] == "linux_aarch64"
    assert platform_tags(BoardPython("armv7l", "3.9.2", "glibc-2.31"))[0] == "manylinux_2_31_armv7l"
    assert platform_tags(BoardPython("x86_64", "3.12.1", "musl-1.2.4"))[0] == "musllinux_1_2_x86_64"
    assert BoardPython("aarch64", "3.11.2", "glibc-2.36").key == "cp311-aarch64-glibc-2.36"


@pytest.mark.parametrize("stderr, expected", [
    ("ssh: connect to host 10.0.0.5 port 22: Connection refused", "10.0.0.5 refused the connection"),
    ("@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n...", "host key of 10.0.0.5 has CHANGED"),
    ("Host key verification failed.", "host key of 10.0.0.5 is not known here"),
    ("pi@10.0.0.5: Permission denied (publickey).", "did not accept the login"),
    ("ssh: connect to host 10.0.0.5 port 22: Connection timed out", "no answer from 10.0.0.5"),
    ("ssh: connect to host 10.0.0.5 port 22: No route to host", "10.0.0.5 is unreachable"),
])
def test_ssh_failures_name_the_host(stderr, expected):
    assert expected in explain_ssh_failure("pi@10.0.0.5", stderr)


def facts(**values) -> BoardFacts:
    base = {"prefix": "/home/pi/.local/share/edgebench", "python": "3.11.2", "venv": "1", "machine": "aarch64",
            "libc": "glibc-2.36", "installed": "none", "free_mb": "1000"}
    return BoardFacts({**base, **values}, {})


def test_board_checks():
    opts = DeployOptions(target="pi@b")
    assert check_board(facts(), "pi@b", opts).tag == "cp311"
    with pytest.raises(DeployError, match="has no `python3` on its PATH"):
        check_board(facts(python="none"), "pi@b", opts)
    with pytest.raises(DeployError, match="needs 3.10 or newer"):
        check_board(facts(python="3.9.2"), "pi@b", opts)
    with pytest.raises(DeployError, match="apt install python3-venv"):
        check_board(facts(venv="0"), "pi@b", opts)
    with pytest.raises(DeployError, match="--upgrade"):
        check_board(facts(installed="0.0.9", installed_system_site_packages="0"), "pi@b", opts)
    with pytest.raises(DeployError, match="not enough space on pi@b"):
        check_space(facts(free_mb="100"), "pi@b", 72, True, DeployOptions(target="pi@b", offline=True), 72)
    check_space(facts(free_mb="100"), "pi@b", 72, True, DeployOptions(target="pi@b", min_free_mb=50), 72)


def test_parse_report():
    report = parse_report("install-agent: hello\nEDGEBENCH prefix=/p\nEDGEBENCH have=abc x.whl\nEDGEBENCH a=b=c\n")
    assert report.prefix == "/p" and report.have == {"x.whl": "abc"} and report.get("a") == "b=c"


def test_wheel_writer_makes_the_wheel_setuptools_makes(tmp_path):
    """The wheel edgebench writes for a stock venv holds what pip + setuptools build: the same files, entry
    points and requirements (the environment of the tests has a setuptools new enough to compare with)."""
    import zipfile

    from edgebench.controller.deploy.wheel_writer import write_wheel
    from edgebench.controller.deploy.wheels import build_wheel, can_build_here
    from tests.conftest import ROOT

    if not can_build_here():
        pytest.skip("no setuptools >= 77 here to compare with")
    ours = zipfile.ZipFile(write_wheel(ROOT, tmp_path / "ours"))
    theirs = zipfile.ZipFile(build_wheel(tmp_path / "theirs"))

    def files(z: zipfile.ZipFile) -> set[str]:
        return {n for n in z.namelist() if ".dist-info/" not in n}

    assert files(ours) == files(theirs)
    for name in files(ours):
        assert ours.read(name) == theirs.read(name), name
    dist = "edgebench-0.1.0.dist-info"
    assert ours.read(f"{dist}/entry_points.txt").split() == theirs.read(f"{dist}/entry_points.txt").split()

    def requires(z: zipfile.ZipFile) -> set[tuple]:
        """Each requirement as what it means: name, extras, versions, and for which extras / Pythons it holds."""
        from packaging.requirements import Requirement

        head = z.read(f"{dist}/METADATA").decode().split("\n\n")[0].splitlines()
        extras = [line.split(": ", 1)[1] for line in head if line.startswith("Provides-Extra: ")]
        out = set()
        for line in head:
            if line.startswith("Requires-Dist: "):
                r = Requirement(line.split(": ", 1)[1])
                holds = tuple(r.marker is None or r.marker.evaluate({"extra": e, "python_version": v})
                              for e in ["", *extras] for v in ("3.10", "3.12"))
                out.add((r.name, tuple(sorted(r.extras)), str(r.specifier), holds))
        return out | {tuple(line.split(": ", 1)) for line in head
                      if line.startswith(("Provides-Extra", "License-Expression", "Requires-Python", "Name", "Version"))}

    assert requires(ours) == requires(theirs)
    # pip takes it: the RECORD's hashes are checked on install.
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                           "--target", str(target), ours.filename], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (target / "edgebench" / "controller" / "deploy" / "install-agent.sh").is_file()
