"""Authentication and TLS between a real controller and a real agent on loopback.

Every refused call is checked twice: the caller gets UNAUTHENTICATED (or a clear TLS sentence), and the agent
did nothing (no model stored, no job queued or run).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from edgebench.agent.auth import is_loopback_host
from edgebench.controller.deploy.certs import ensure_target_certs
from edgebench.controller.link.client import AgentClient, AgentTLSError
from edgebench.controller.link.local_agent import start_local_agent
from edgebench.controller.link.targets_config import AgentCredentials, TargetConfig, save
from edgebench.v1 import agent_pb2 as pb
from edgebench.v1 import agent_pb2_grpc
from tests.conftest import ROOT, bench_json, run_controller
from tests.e2e.helpers import serve_fake_agent

TOKEN = "s3cr3t-token-for-the-auth-tests-0123456789"


@pytest.fixture(autouse=True)
def _own_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEBENCH_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="module")
def token_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("token") / "agent.token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def token_agent(tmp_path_factory, token_file):
    state = tmp_path_factory.mktemp("token-agent")
    with start_local_agent(str(state), ["--token-file", str(token_file)]) as running:
        yield running


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    here = ensure_target_certs(tmp_path_factory.mktemp("certs"), "127.0.0.1", mutual=True)
    other = ensure_target_certs(tmp_path_factory.mktemp("other-certs"), "127.0.0.1", mutual=True)
    return here, other


def agent_state(agent) -> tuple[list[str], list[str]]:
    models = sorted(p.name for p in (agent.state_dir / "models").iterdir())
    jobs_dir = agent.state_dir / "jobs"
    jobs = sorted(p.name for p in jobs_dir.iterdir()) if jobs_dir.exists() else []
    return models, jobs


# ----------------------------------------------------------------------------- the listen rule

def run_agent_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgebench.agent.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_agent_refuses_a_non_loopback_address_without_a_token(tmp_path):
    # Refused before it binds: nothing ever listens on 0.0.0.0 in this test.
    proc = run_agent_cli("--listen", "0.0.0.0:0", "--state-dir", str(tmp_path / "s"))
    assert proc.returncode == 2
    assert "refusing to listen on 0.0.0.0:0 without authentication" in proc.stderr
    assert "--token-file" in proc.stderr and "--insecure" in proc.stderr
    assert not (tmp_path / "s").exists()


def test_listen_rule_accepts_a_token_mutual_tls_or_insecure(token_file, certs, capsys):
    from edgebench.agent.auth import TokenError
    from edgebench.agent.cli import build_parser, security_settings

    def settings(*argv):
        return security_settings(build_parser().parse_args(["--state-dir", "x", *argv]), "0.0.0.0:47311")

    assert settings("--token-file", str(token_file))[0] == TOKEN
    here, _ = certs
    token, tls = settings("--tls-cert", str(here.agent_crt), "--tls-key", str(here.agent_key),
                          "--tls-client-ca", str(here.client_ca_crt))
    assert token == "" and tls is not None and tls.mutual
    with pytest.raises(TokenError):  # TLS without client certificates authenticates nobody
        settings("--tls-cert", str(here.agent_crt), "--tls-key", str(here.agent_key))
    assert settings("--insecure") == ("", None)
    assert "--insecure: 0.0.0.0:47311 accepts jobs from anyone" in capsys.readouterr().err
    assert all(is_loopback_host(h) for h in ("127.0.0.1", "127.8.9.1", "localhost", "[::1]", "::1"))
    assert not any(is_loopback_host(h) for h in ("0.0.0.0", "[::]", "10.0.0.5", "pi.local", "localhost.evil"))


def test_agent_refuses_short_or_unreadable_tokens(tmp_path):
    short = tmp_path / "short"
    short.write_text("abc\n")
    proc = run_agent_cli("--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "s"), "--token-file", str(short))
    assert proc.returncode == 2 and "at least 16" in proc.stderr
    proc = run_agent_cli("--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "s"),
                         "--token-file", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "cannot read the token file" in proc.stderr


# ----------------------------------------------------------------------------- wrong or missing token

def _raw_calls(stub: agent_pb2_grpc.AgentStub, model: bytes, metadata):
    """Every method of the API, each as an attacker would send it; returns the status codes."""
    import hashlib

    sha = hashlib.sha256(model).hexdigest()
    spec = pb.JobSpec(model_sha256=sha, model_name="attack", runs=1)

    def upload():
        yield pb.UploadChunk(header=pb.UploadHeader(sha256=sha, size_bytes=len(model), name="attack.onnx"))
        yield pb.UploadChunk(data=model)

    calls = {
        "Describe": lambda: stub.Describe(pb.DescribeRequest(), metadata=metadata, timeout=20),
        "HasModel": lambda: stub.HasModel(pb.ModelRef(sha256=sha), metadata=metadata, timeout=20),
        "UploadModel": lambda: stub.UploadModel(upload(), metadata=metadata, timeout=20),
        "Submit": lambda: stub.Submit(spec, metadata=metadata, timeout=20),
        "Watch": lambda: list(stub.Watch(pb.WatchRequest(job_id="x"), metadata=metadata, timeout=20)),
        "Cancel": lambda: stub.Cancel(pb.JobRef(job_id="x"), metadata=metadata, timeout=20),
        "ListJobs": lambda: stub.ListJobs(pb.ListJobsRequest(), metadata=metadata, timeout=20),
        "Collect": lambda: stub.Collect(pb.JobRef(job_id="x"), metadata=metadata, timeout=20),
    }
    codes = {}
    for name, call in calls.items():
        try:
            call()
            codes[name] = grpc.StatusCode.OK
        except grpc.RpcError as exc:
            codes[name] = exc.code()
    return codes


@pytest.mark.parametrize("metadata", [
    None,
    [("authorization", "Bearer wrong-token-wrong-token-0123")],
    [("authorization", f"Bearer {TOKEN}x")],  # the right token and more
    [("authorization", f"Bearer {TOKEN[:-1]}")],  # a prefix of it
    [("authorization", TOKEN)],  # no scheme
    [("x-token", f"Bearer {TOKEN}")],  # another header
], ids=["missing", "wrong", "longer", "prefix", "no-scheme", "other-header"])
def test_wrong_or_missing_token_is_refused_and_nothing_runs(token_agent, tiny_onnx, metadata):
    before = agent_state(token_agent)
    with grpc.insecure_channel(token_agent.address) as channel:
        codes = _raw_calls(agent_pb2_grpc.AgentStub(channel), tiny_onnx.read_bytes(), metadata)
        # The health service stays open (it says SERVING and nothing else).
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert set(codes.values()) == {grpc.StatusCode.UNAUTHENTICATED}, codes
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert agent_state(token_agent) == before
    with AgentClient(token_agent.address, credentials=AgentCredentials(token=TOKEN)) as client:
        assert client.list_jobs() == []


def test_the_right_token_runs_a_job_through_the_cli(token_agent, token_file, tiny_onnx):
    doc = bench_json("--target", token_agent.address, str(tiny_onnx), "--threads", "1", "--runs", "3",
                     "--token-file", str(token_file))
    assert doc["runs"][0]["status"] == "ok"
    assert agent_state(token_agent)[1] == []  # collected: the result is off the board


def test_cli_without_a_token_says_how_to_get_one(token_agent, tiny_onnx):
    before = agent_state(token_agent)
    proc = run_controller("bench", "--target", token_agent.address, str(tiny_onnx), "--runs", "1", check_rc=2)
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"the agent at {token_agent.address} requires a token and this controller has none" in proc.stderr
    assert "controller deploy" in proc.stderr
    wrong = token_agent.state_dir.parent / "wrong.token"
    wrong.write_text("not-the-token-not-the-token\n")
    proc = run_controller("bench", "--target", token_agent.address, str(tiny_onnx), "--token-file", str(wrong),
                          check_rc=2)
    assert "refused our token" in proc.stderr and "the token is wrong" in proc.stderr
    assert agent_state(token_agent) == before


def test_bench_picks_up_the_stored_target_file(token_agent, tiny_onnx):
    host, port = token_agent.address.rsplit(":", 1)
    path = save(TargetConfig(target=f"pi@{host}:{port}", host=host, port=int(port), token=TOKEN))
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    # Written for pi@HOST:PORT, found for HOST:PORT: the file is keyed by the agent's address.
    doc = bench_json("--target", token_agent.address, str(tiny_onnx), "--threads", "1", "--runs", "2")
    assert doc["runs"][0]["status"] == "ok"
    proc = run_controller("targets", "--json", check_rc=0)
    import json

    row = json.loads(proc.stdout)["targets"][0]
    assert row["health"] == "SERVING" and row["agent_version"] and row["auth"] == "token"


# ----------------------------------------------------------------------------- TLS

@pytest.fixture(scope="module")
def tls_agent(tmp_path_factory, certs, token_file):
    here, _ = certs
    state = tmp_path_factory.mktemp("tls-agent")
    with start_local_agent(str(state), ["--token-file", str(token_file), "--tls-cert", str(here.agent_crt),
                                        "--tls-key", str(here.agent_key)]) as running:
        yield running


@pytest.fixture(scope="module")
def mtls_agent(tmp_path_factory, certs):
    here, _ = certs
    state = tmp_path_factory.mktemp("mtls-agent")
    with start_local_agent(str(state), ["--tls-cert", str(here.agent_crt), "--tls-key", str(here.agent_key),
                                        "--tls-client-ca", str(here.client_ca_crt)]) as running:
        yield running


def test_tls_with_the_right_ca(tls_agent, certs, token_file, tiny_onnx):
    here, _ = certs
    doc = bench_json("--target", tls_agent.address, str(tiny_onnx), "--threads", "1", "--runs", "2",
                     "--token-file", str(token_file), "--tls-ca", str(here.ca_crt))
    assert doc["runs"][0]["status"] == "ok"


def test_tls_mismatches_are_one_clear_line(tls_agent, token_agent, certs, token_file, tiny_onnx):
    here, other = certs
    cases = [
        # plaintext controller, TLS agent
        (tls_agent, [], "accepts connections but closes them without answering"),
        # the agent's certificate is not from the CA the controller trusts
        (tls_agent, ["--tls-ca", str(other.ca_crt)], f"the agent's certificate is not signed by the CA in {other.ca_crt}"),
        # the certificate names 127.0.0.1, not the name the controller expects
        (tls_agent, ["--tls-ca", str(here.ca_crt), "--tls-server-name", "pi.example"],
         "the agent's certificate does not name pi.example"),
        # TLS controller, plaintext agent
        (token_agent, ["--tls-ca", str(here.ca_crt)], "the agent there does not speak TLS"),
    ]
    for agent, flags, expected in cases:
        proc = run_controller("bench", "--target", agent.address, str(tiny_onnx), "--token-file", str(token_file),
                              *flags, timeout=60, check_rc=2)
        assert expected in proc.stderr, (flags, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert agent.address in proc.stderr


def test_mutual_tls(mtls_agent, certs, tiny_onnx):
    here, other = certs
    good = AgentCredentials(tls_ca=str(here.ca_crt), tls_cert=str(here.client_crt), tls_key=str(here.client_key))
    with AgentClient(mtls_agent.address, 10, good) as client:
        assert client.describe().agent_version
        assert client.ensure_model(tiny_onnx).sha256
    for creds, expected in [
        (AgentCredentials(tls_ca=str(here.ca_crt)), "requires a client certificate"),
        (AgentCredentials(tls_ca=str(here.ca_crt), tls_cert=str(other.client_crt), tls_key=str(other.client_key)),
         "does not accept this client certificate"),
    ]:
        with pytest.raises(AgentTLSError, match=expected):
            AgentClient(mtls_agent.address, 10, creds)


def test_agent_with_a_key_that_does_not_match_its_certificate(tmp_path, certs):
    here, other = certs
    proc = run_agent_cli("--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "s"),
                         "--tls-cert", str(here.agent_crt), "--tls-key", str(other.agent_key))
    assert proc.returncode == 1 and "does --tls-key belong to --tls-cert?" in proc.stderr
    proc = run_agent_cli("--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "s"),
                         "--tls-cert", str(here.agent_crt))
    assert proc.returncode == 2 and "--tls-cert and --tls-key go together" in proc.stderr


# ----------------------------------------------------------------------------- version handshake

class _OldAgent(agent_pb2_grpc.AgentServicer):
    """A real gRPC server that answers like an agent older than this controller needs."""

    def Describe(self, request, context):
        return pb.BoardDescription(agent_version="0.0.9", api_version=1)


def test_an_older_agent_is_refused_with_how_to_upgrade(tiny_onnx):
    with serve_fake_agent(_OldAgent()) as port:
        proc = run_controller("bench", "--target", f"127.0.0.1:{port}", str(tiny_onnx), timeout=60, check_rc=2)
    assert "edgebench-agent 0.0.9, older than this controller needs (0.1.0 or newer)" in proc.stderr
    assert f"controller deploy --target [USER@]127.0.0.1:{port} --upgrade" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_version_tuple_orders_releases():
    from edgebench.controller.link.client import version_tuple

    assert version_tuple("0.0.9") < version_tuple("0.1.0") <= version_tuple("0.1.0rc1") < version_tuple("0.10")
    assert version_tuple("") < version_tuple("0.1.0")

