"""``tls-adapter get --client requests|urllib3|httpx|aiohttp [--http2]``, in-process.

Every client fetches from a local HTTPS server (the stdlib's, tests/http_servers.py)
with a context built once from the command's options, on ``openssl`` and on one
backend that is not OpenSSL (GnuTLS, else rustls). HTTP/2 is served by hypercorn
(tests/clients/asgi_app.py) in a subprocess. Certificates are made at run time (the ``pki``
fixture).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

import tls_adapter
from tls_adapter._cli import main

from .clients.servers import HypercornServer
from .http_servers import (
    ROOT_BODY,
    HTTPSTestServer,
    PKIFiles,
    write_pki_files,
)
from .peers import PKI

# What tests/clients/asgi_app.py answers to "GET /" over HTTP/2.
H2_BODY = json.dumps({"http_version": "2", "method": "GET", "path": "/", "scheme": "https"})
CLIENTS = ("requests", "urllib3", "httpx", "aiohttp")
# The exception each client raises for a certificate it does not trust (requests' errors
# are printed as they always were, without the class).
CLIENT_ERRORS = {
    "requests": None,
    "urllib3": "[urllib3.MaxRetryError]",
    "httpx": "[httpx.ConnectError]",
    "aiohttp": "[aiohttp.ClientConnectorCertificateError]",
}


def _other_backend() -> str:
    available = tls_adapter.available_backends()
    return next((name for name in ("gnutls", "rustls") if name in available), "")


BACKENDS = [
    "openssl",
    pytest.param(
        _other_backend() or "gnutls",
        marks=pytest.mark.skipif(not _other_backend(), reason="neither gnutls nor rustls"),
    ),
]


def fields_of(out: str) -> dict[str, str]:
    """``label: value`` lines as a dict."""
    pairs = (line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {label.strip(): value.strip() for label, value in pairs}


def needs(client: str) -> None:
    """Skip when *client* (or, for HTTP/2, h2/hypercorn) is not installed here."""
    pytest.importorskip(client)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, pki: PKI) -> PKIFiles:
    return write_pki_files(pki, tmp_path_factory.mktemp("cli-clients"))


@pytest.fixture(scope="module")
def server(pki: PKI) -> Iterator[HTTPSTestServer]:
    # The server would take h2; each client must offer only what it speaks.
    with HTTPSTestServer(pki, alpn=["h2", "http/1.1"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def h2_server(files: PKIFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``https://localhost:PORT/``: hypercorn (tests/clients/asgi_app.py) over h2 and
    HTTP/1.1, answering with JSON naming the HTTP version it served."""
    pytest.importorskip("hypercorn")
    with HypercornServer(tmp_path_factory.mktemp("hypercorn"), files) as hypercorn:
        yield hypercorn.url("/")


# -- every client, two backends ------------------------------------------------------------


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
def test_each_client_on_each_backend(
    capsys: pytest.CaptureFixture[str],
    server: HTTPSTestServer,
    files: PKIFiles,
    client: str,
    backend_name: str,
) -> None:
    needs(client)
    argv = ["get", server.url("/", host="localhost"), "--trust", files.ca]
    assert main([*argv, "--client", client, "--backend", backend_name]) == 0
    fields = fields_of(capsys.readouterr().out)
    assert fields["status"] == "200 OK"
    assert fields["client"].startswith(f"{client} ")
    assert fields["http"] == "HTTP/1.1"
    assert fields["backend"].startswith(f"{backend_name} (")
    assert fields["tls"] in ("TLSv1.2", "TLSv1.3")
    assert fields["cipher"].startswith("TLS_")
    assert "trustme" in fields["peer issuer"]
    assert fields["body"] == f"{len(ROOT_BODY)} bytes"
    assert fields["url"] == server.url("/", host="localhost")
    # aiohttp sets no ALPN on a context it is given; the others offer http/1.1.
    assert fields["alpn"] == ("-" if client == "aiohttp" else "http/1.1")


def test_default_client_is_requests(
    capsys: pytest.CaptureFixture[str], server: HTTPSTestServer, files: PKIFiles
) -> None:
    assert main(["get", server.url("/"), "--trust", files.ca]) == 0
    fields = fields_of(capsys.readouterr().out)
    assert fields["client"].startswith("requests ")
    assert fields["alpn"] == "http/1.1"


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
def test_untrusted_server_is_refused(
    capsys: pytest.CaptureFixture[str],
    server: HTTPSTestServer,
    other_ca: trustme.CA,
    tmp_path: Path,
    client: str,
    backend_name: str,
) -> None:
    needs(client)
    other = tmp_path / "other.pem"
    other_ca.cert_pem.write_to_path(str(other))
    argv = ["get", server.url("/"), "--trust", str(other), "--backend", backend_name]
    assert main([*argv, "--client", client]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: certificate verify failed: "), lines[0]
    expected = CLIENT_ERRORS[client]
    if expected is None:
        assert not lines[0].endswith("]")
    else:
        assert lines[0].endswith(f" {expected}"), lines[0]


@pytest.mark.parametrize("client", ["httpx", "aiohttp"])
def test_insecure(capsys: pytest.CaptureFixture[str], server: HTTPSTestServer, client: str) -> None:
    needs(client)
    # The system store does not hold the test CA: only --insecure gets through.
    assert main(["get", server.url("/"), "--client", client, "--insecure"]) == 0
    captured = capsys.readouterr()
    assert "certificate validation is off" in captured.err
    assert fields_of(captured.out)["status"] == "200 OK"


@pytest.mark.parametrize("client", CLIENTS)
def test_client_certificate(
    capsys: pytest.CaptureFixture[str], pki: PKI, files: PKIFiles, client: str
) -> None:
    needs(client)
    cert = ["--cert", files.client_chain, "--key", files.client_key]
    with HTTPSTestServer(pki, require_client_cert=True) as srv:
        argv = ["get", srv.url("/client-cert"), "--trust", files.ca, "--client", client]
        assert main([*argv, *cert]) == 0
        assert fields_of(capsys.readouterr().out)["status"] == "200 OK"
        assert srv.requests == ["GET /client-cert"]


# -- HTTP/2 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_httpx_http2(
    capsys: pytest.CaptureFixture[str], h2_server: str, files: PKIFiles, backend_name: str
) -> None:
    needs("httpx")
    needs("h2")
    argv = ["get", h2_server, "--trust", files.ca, "--client", "httpx", "--backend", backend_name]
    assert main([*argv, "--http2"]) == 0
    fields = fields_of(capsys.readouterr().out)
    assert fields["http"] == "HTTP/2"
    assert fields["alpn"] == "h2"
    assert fields["body"] == f"{len(H2_BODY)} bytes"
    # Without --http2, httpx offers http/1.1 only.
    assert main(argv) == 0
    fields = fields_of(capsys.readouterr().out)
    assert fields["http"] == "HTTP/1.1"
    assert fields["alpn"] == "http/1.1"


@pytest.mark.parametrize("client", ["requests", "urllib3", "aiohttp"])
def test_http2_needs_httpx(capsys: pytest.CaptureFixture[str], client: str) -> None:
    assert main(["get", "https://localhost/", "--client", client, "--http2"]) == 1
    err = capsys.readouterr().err
    assert err == f"error: --http2 works only with --client httpx ({client} speaks HTTP/1.1 only)\n"


# -- missing libraries ---------------------------------------------------------------------


@pytest.mark.parametrize("client", ["urllib3", "httpx", "aiohttp"])
def test_client_not_installed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, client: str
) -> None:
    monkeypatch.setitem(sys.modules, client, None)  # import fails
    assert main(["get", "https://localhost/", "--client", client]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: --client {client} needs {client}, which is not installed")
    assert err.rstrip().endswith(f"pip install 'tls_adapter[{client}]'")
    assert len(err.splitlines()) == 1


def test_http2_without_h2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    needs("httpx")
    monkeypatch.setitem(sys.modules, "h2", None)
    assert main(["get", "https://localhost/", "--client", "httpx", "--http2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --http2 needs the h2 package")
    assert "pip install 'tls_adapter[httpx]'" in err
    assert len(err.splitlines()) == 1


def test_optional_clients_are_imported_lazily() -> None:
    # The command starts, and runs the default client, without importing httpx/aiohttp.
    code = (
        "import sys\n"
        "from tls_adapter._cli import main\n"
        "assert main(['get', 'http://localhost/']) == 1\n"
        "loaded = sorted({'httpx', 'aiohttp', 'h2'} & set(sys.modules))\n"
        "assert not loaded, loaded\n"
    )
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
