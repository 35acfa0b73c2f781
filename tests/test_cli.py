"""The ``tls-adapter`` command line, in-process (``main([...])``) and as ``python -m``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

import tls_adapter
from tls_adapter._cli import main
from tls_adapter.backends import known_backends

from .http_servers import ROOT_BODY, HTTPSTestServer
from .peers import PKI

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_module(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m tls_adapter ARGS`` with this checkout first on the path."""
    environment = dict(os.environ if env is None else env)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [environment.get("PYTHONPATH")])]
    )
    return subprocess.run(
        [sys.executable, "-m", "tls_adapter", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory, pki: PKI) -> str:
    """The test CA as a PEM file."""
    path = tmp_path_factory.mktemp("cli") / "ca.pem"
    pki.ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def server(pki: PKI) -> Iterator[HTTPSTestServer]:
    """A local HTTPS server with a certificate from the test CA."""
    with HTTPSTestServer(pki, alpn=["h2", "http/1.1"]) as srv:
        yield srv


def fields_of(out: str) -> dict[str, str]:
    """``label: value`` lines as a dict."""
    pairs = (line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {label.strip(): value.strip() for label, value in pairs}


# -- backends ------------------------------------------------------------------------------


def test_backends_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["BACKEND", "STATUS", "LIBRARY", "TLS"]
    for name in known_backends():
        assert any(line.startswith(f"{name} ") for line in lines), name
    available = tls_adapter.available_backends()
    assert f"{len(available)} of {len(known_backends())} backends available" in out
    openssl_row = next(line for line in lines if line.startswith("openssl "))
    assert "available" in openssl_row
    assert tls_adapter.get_backend("openssl").capabilities.library in openssl_row


def test_backends_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backends", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in data] == list(known_backends())
    for entry in data:
        if entry["available"]:
            assert entry["reason"] == ""
            assert entry["library"]
            assert "TLSv1.2" in entry["capabilities"]["tls_versions"]
        else:
            assert entry["reason"]
    assert data[0]["name"] == "openssl" and data[0]["available"]


def test_backends_via_python_m() -> None:
    result = run_module("backends", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["name"] == "openssl"


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "backends" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert tls_adapter.__version__ in capsys.readouterr().out


# -- get -----------------------------------------------------------------------------------


def test_get_with_trust_path(
    capsys: pytest.CaptureFixture[str], server: HTTPSTestServer, ca_file: str
) -> None:
    assert main(["get", server.url("/", host="localhost"), "--trust", ca_file]) == 0
    fields = fields_of(capsys.readouterr().out)
    assert fields["status"] == "200 OK"
    assert fields["tls"] in ("TLSv1.2", "TLSv1.3")
    assert fields["cipher"].startswith("TLS_")
    assert fields["alpn"] == "http/1.1"
    assert fields["peer subject"] == "CN=localhost" or "localhost" in fields["peer names"]
    assert "trustme" in fields["peer issuer"]
    assert fields["body"] == f"{len(ROOT_BODY)} bytes"


@pytest.mark.parametrize("name", tls_adapter.available_backends())
def test_get_with_each_backend_and_tls13(
    capsys: pytest.CaptureFixture[str], server: HTTPSTestServer, ca_file: str, name: str
) -> None:
    backend = tls_adapter.get_backend(name)
    if tls_adapter.TLSVersion.TLSv1_3 not in backend.capabilities.tls_versions:
        pytest.skip(f"{name} has no TLS 1.3")
    argv = ["get", server.url("/"), "--trust", ca_file, "--backend", name, "--min-tls", "1.3"]
    assert main(argv) == 0
    fields = fields_of(capsys.readouterr().out)
    assert fields["tls"] == "TLSv1.3"
    assert fields["backend"].startswith(f"{name} (")
    assert fields["cipher"] in {s.name for s in tls_adapter.CipherSuite if 0x1301 <= s <= 0x1305}


def test_get_with_pinned_alpn(
    capsys: pytest.CaptureFixture[str], server: HTTPSTestServer, ca_file: str
) -> None:
    # The server prefers h2. Without --alpn, urllib3 offers http/1.1 only; --alpn offers
    # exactly the list given (this test server answers HTTP/1.1 whatever was agreed).
    assert main(["get", server.url("/"), "--trust", ca_file]) == 0
    assert fields_of(capsys.readouterr().out)["alpn"] == "http/1.1"
    assert main(["get", server.url("/"), "--trust", ca_file, "--alpn", "h2", "http/1.1"]) == 0
    assert fields_of(capsys.readouterr().out)["alpn"] == "h2"


def test_get_untrusted_is_one_line(
    capsys: pytest.CaptureFixture[str],
    other_ca: trustme.CA,
    server: HTTPSTestServer,
    tmp_path: Path,
) -> None:
    other = tmp_path / "other.pem"
    other_ca.cert_pem.write_to_path(str(other))
    assert main(["get", server.url("/"), "--trust", str(other)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: certificate verify failed: ")


def test_get_untrusted_verbose_shows_the_traceback(
    capsys: pytest.CaptureFixture[str], server: HTTPSTestServer
) -> None:
    # The system store does not hold the test CA.
    assert main(["get", server.url("/"), "-v"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1].startswith("error: certificate verify failed")


def test_get_insecure(capsys: pytest.CaptureFixture[str], server: HTTPSTestServer) -> None:
    assert main(["get", server.url("/"), "--insecure"]) == 0
    captured = capsys.readouterr()
    assert "certificate validation is off" in captured.err
    assert "status:" in captured.out


def test_get_with_client_certificate(
    capsys: pytest.CaptureFixture[str],
    pki: PKI,
    ca_file: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert = tmp_path / "client.crt"
    key = tmp_path / "client.key"
    pki.client.cert_chain_pems[0].write_to_path(str(cert))
    encrypted = tmp_path / "client-encrypted.key"
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(pki.client.private_key_pem.bytes(), None)
    encrypted.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"hunter2"),
        )
    )
    pki.client.private_key_pem.write_to_path(str(key))
    with HTTPSTestServer(pki, require_client_cert=True) as srv:
        assert main(["get", srv.url("/"), "--trust", ca_file]) == 1
        assert capsys.readouterr().err.startswith("error: ")
        assert (
            main(["get", srv.url("/"), "--trust", ca_file, "--cert", str(cert), "--key", str(key)])
            == 0
        )
        assert "200 OK" in capsys.readouterr().out
        monkeypatch.setenv("TLS_ADAPTER_TEST_PW", "hunter2")
        argv = [
            "get",
            srv.url("/"),
            "--trust",
            ca_file,
            "--cert",
            str(cert),
            "--key",
            str(encrypted),
            "--key-password-env",
            "TLS_ADAPTER_TEST_PW",
        ]
        assert main(argv) == 0
        assert "200 OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["get", "http://localhost/"], "error: not an https:// URL"),
        (["get", "https://localhost/", "--trust", "/no/such/file"], "error: --trust: no such"),
        (["get", "https://localhost/", "--backend", "nope"], "error: unknown TLS backend 'nope'"),
        (["get", "https://localhost/", "--key", "k.pem"], "error: --key needs --cert"),
        (
            ["get", "https://localhost/", "--cert", "/no/cert.pem"],
            "error: no such file: /no/cert.pem",
        ),
        (
            ["get", "https://localhost/", "--cert", __file__, "--key-password-env", "NOPE_X"],
            "error: --key-password-env: $NOPE_X is not set",
        ),
    ],
)
def test_get_usage_errors(
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOPE_X", raising=False)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert len(err.splitlines()) == 1


def test_get_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    assert main(["get", f"https://127.0.0.1:{port}/", "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.splitlines()) == 1


def test_get_via_python_m_ignores_requests_ca_bundle(
    server: HTTPSTestServer, ca_file: str, other_ca: trustme.CA, tmp_path: Path
) -> None:
    other = tmp_path / "other.pem"
    other_ca.cert_pem.write_to_path(str(other))
    env = dict(os.environ, REQUESTS_CA_BUNDLE=str(other), CURL_CA_BUNDLE=str(other))
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(name, None)
    ok = run_module("get", server.url("/"), "--trust", ca_file, env=env)
    assert ok.returncode == 0, ok.stderr
    assert re.search(r"^status: +200 OK$", ok.stdout, re.MULTILINE), ok.stdout
    bad = run_module("get", server.url("/"), "--trust", str(other), env=env)
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: certificate verify failed")
    assert len(bad.stderr.splitlines()) == 1


# -- demo ----------------------------------------------------------------------------------


def test_demo(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.perf_counter()
    assert main(["demo"]) == 0
    elapsed = time.perf_counter() - started
    out = capsys.readouterr().out
    assert "made a throwaway CA" in out
    header = next(line for line in out.splitlines() if line.startswith("CLIENT"))
    assert header.split() == ["CLIENT", "SERVER", "TLS", "CIPHER", "ALPN", "TIME", "RESULT"]
    clients = tls_adapter.available_backends()
    servers = [n for n in clients if tls_adapter.get_backend(n).server_context is not None]
    rows = [
        line.split()
        for line in out.splitlines()
        if line.split()[:1] and line.split()[0] in clients and len(line.split()) >= 8
    ]
    assert len(rows) == len(clients) * len(servers)
    for row in rows:
        assert row[-1] == "ok", row
        assert row[2] in ("TLSv1.2", "TLSv1.3")
        assert row[3].startswith("TLS_")
    n = len(rows)
    assert f"{n} of {n} pairs succeeded" in out
    assert elapsed < 30


def test_demo_via_python_m() -> None:
    result = run_module("demo", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pairs succeeded" in result.stdout
    assert "listening" not in result.stdout


def test_demo_without_cryptography(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'tls_adapter[all]'" in err
    assert len(err.splitlines()) == 1
