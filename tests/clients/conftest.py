"""Fixtures of the client tests: servers started once per session, contexts per test.

The ``backend``, ``pki`` and ``other_ca`` fixtures come from tests/conftest.py. Every
server here is started once for the whole tests/clients/ run (module- or session-scoped
servers keep the run short: each test is a handful of round trips on loopback).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trustme

import tls_adapter

from ..http_servers import NginxServer, PKIFiles, https_proxy, write_pki_files
from ..peers import PKI
from .checks import make_context
from .servers import REFUSALS, HypercornServer, Refusal, refusing_servers

_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx and urllib read proxy variables; these tests choose their proxies themselves."""
    for name in _PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="session")
def h2() -> None:
    """Skips the test when the h2 package (httpx's HTTP/2 support) is missing."""
    pytest.importorskip("h2", reason="HTTP/2 needs the h2 package (pip install httpx[http2])")


@pytest.fixture(scope="session")
def pki_files(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    """The test PKI as PEM files (CA, server chain and key), written at run time."""
    return write_pki_files(pki, tmp_path_factory.mktemp("clients-pki"))


@pytest.fixture(scope="session")
def hypercorn(
    pki_files: PKIFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HypercornServer]:
    """hypercorn serving tests/clients/asgi_app.py: HTTP/2 or HTTP/1.1 by ALPN."""
    pytest.importorskip("hypercorn", reason="hypercorn is not installed (pip install hypercorn)")
    with HypercornServer(tmp_path_factory.mktemp("hypercorn"), pki_files) as server:
        yield server


@pytest.fixture(scope="session")
def nginx_h2(
    pki_files: PKIFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NginxServer]:
    """Debian's nginx with HTTP/2 (skipped when nginx is not installed)."""
    with NginxServer(tmp_path_factory.mktemp("nginx-h2"), pki_files, http2=True) as server:
        yield server


@pytest.fixture(scope="session")
def https_proxy_url(pki_files: PKIFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``https://localhost:PORT``: tinyproxy behind stunnel (skipped if either is missing)."""
    with https_proxy(tmp_path_factory.mktemp("https-proxy"), pki_files) as (_, tunnel):
        yield tunnel.url


@pytest.fixture(scope="session")
def refusing(pki: PKI, other_ca: trustme.CA) -> Iterator[dict[str, Refusal]]:
    """The three servers whose certificates must be refused, by kind."""
    with refusing_servers(pki, other_ca) as servers:
        yield servers


@pytest.fixture(params=REFUSALS)
def refusal(request: pytest.FixtureRequest, refusing: dict[str, Refusal]) -> Refusal:
    """Each bad-certificate server in turn: untrusted CA, wrong host name, expired."""
    kind: str = request.param
    return refusing[kind]


@pytest.fixture
def context(backend: tls_adapter.Backend, pki_files: PKIFiles) -> tls_adapter.SSLContext:
    """A fresh ``tls_adapter.SSLContext`` on *backend* trusting only the test CA."""
    return make_context(backend, pki_files.ca)
