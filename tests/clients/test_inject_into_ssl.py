"""``tls_adapter.inject_into_ssl()``: the contexts clients make themselves use a backend.

While injected (with a configuration trusting the test CA), httpx's, aiohttp's,
asyncio's and urllib's *default* contexts must do TLS on the chosen backend and refuse
bad certificates; server contexts must stay the stdlib's (the in-process test servers
need them); and ``extract_from_ssl()`` must put back exactly what was there.

httpx's ``verify=True`` trusts what httpx asks for -- certifi's bundle, or
``$SSL_CERT_FILE`` -- not the configuration's trust store, so its tests point
``SSL_CERT_FILE`` at the test CA, as a user would.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import tls_adapter
from tls_adapter import TLSConfiguration, TrustStore

from ..http_servers import HTTPSTestServer, PKIFiles
from ..peers import PKI
from .checks import (
    assert_refused,
    assert_tls_by,
    close_writer,
    get_over_streams,
    hypercorn_saw,
    run,
    upgraded_streams,
)
from .servers import HypercornServer, Refusal

httpx = pytest.importorskip("httpx", reason="httpx is not installed")
aiohttp = pytest.importorskip("aiohttp", reason="aiohttp is not installed")
# aiohttp.connector builds its default contexts when imported: import it before
# injecting, as a program would, so that injection has to deal with them.
aiohttp_connector = pytest.importorskip("aiohttp.connector")

from .aiohttp_support import RecordingConnector  # noqa: E402

TIMEOUT = 10.0
CLIENTS = ["httpx", "aiohttp", "asyncio", "urllib"]


@pytest.fixture
def injected(backend: tls_adapter.Backend, pki_files: PKIFiles) -> Iterator[None]:
    """``inject_into_ssl(backend, configuration trusting the test CA)``, always undone."""
    original = ssl.SSLContext
    configuration = TLSConfiguration(trust_store=TrustStore.from_pem_file(pki_files.ca))
    tls_adapter.inject_into_ssl(backend=backend, configuration=configuration)
    try:
        yield
    finally:
        tls_adapter.extract_from_ssl()
        assert ssl.SSLContext is original


@pytest.fixture
def httpx_trusts_ca(pki_files: PKIFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """``$SSL_CERT_FILE`` names the test CA: what httpx's ``verify=True`` then loads.

    Only the httpx tests set it, so that the other clients can trust the test CA only
    through the injected configuration.
    """
    monkeypatch.setenv("SSL_CERT_FILE", pki_files.ca)


# -- each client's default, one GET ----------------------------------------------------
def _httpx_get(url: str) -> tuple[bytes, Any]:
    with httpx.Client(timeout=TIMEOUT) as client:
        response = client.get(url)
        assert response.status_code == 200
        return response.content, response.extensions["network_stream"].get_extra_info("socket")


def _aiohttp_get(url: str) -> tuple[bytes, Any]:
    async def main() -> tuple[bytes, Any]:
        connector = RecordingConnector()  # ssl=True: aiohttp's default verified context
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(url, timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as response,
        ):
            assert response.status == 200
            return await response.read(), connector.ssl_object()

    return run(main())


def _asyncio_get(url: str) -> tuple[bytes, Any]:
    parts = urllib.parse.urlsplit(url)
    host, port, path = parts.hostname or "", parts.port or 443, parts.path or "/"

    async def main() -> tuple[bytes, Any]:
        reader, writer = await asyncio.open_connection(host, port, ssl=True)
        ssl_object = writer.get_extra_info("ssl_object")
        status, _, body = await get_over_streams(reader, writer, host, path)
        assert status == 200
        return body, ssl_object

    return run(main())


def _urllib_get(url: str) -> tuple[bytes, Any]:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        assert response.status == 200
        sock = response.fp.raw._sock  # the socket http.client read from
        return response.read(), sock


GETS: dict[str, Callable[[str], tuple[bytes, Any]]] = {
    "httpx": _httpx_get,
    "aiohttp": _aiohttp_get,
    "asyncio": _asyncio_get,
    "urllib": _urllib_get,
}


@pytest.mark.usefixtures("injected")
@pytest.mark.parametrize("client", CLIENTS)
def test_default_context_uses_backend(
    backend: tls_adapter.Backend,
    hypercorn: HypercornServer,
    client: str,
    request: pytest.FixtureRequest,
) -> None:
    """httpx.Client(), aiohttp.ClientSession(), open_connection(ssl=True) and urlopen()
    with no context given: the GET works, and the TLS object is tls_adapter's on the
    injected backend."""
    if client == "httpx":
        request.getfixturevalue("httpx_trusts_ca")
    body, tls = GETS[client](hypercorn.url(f"/{client}"))
    assert hypercorn_saw(body)["path"] == f"/{client}"
    assert_tls_by(tls, backend, f"{client} default context's connection")


@pytest.mark.usefixtures("injected")
@pytest.mark.parametrize("client", CLIENTS)
def test_default_context_refuses(
    refusal: Refusal, client: str, request: pytest.FixtureRequest
) -> None:
    """The same default contexts refuse untrusted, wrong-host and expired certificates,
    with each client's own TLS error, raised by tls_adapter."""
    if client == "httpx":
        request.getfixturevalue("httpx_trusts_ca")
    expected: dict[str, type[BaseException]] = {
        "httpx": httpx.ConnectError,
        "aiohttp": aiohttp.ClientConnectorCertificateError,
        "asyncio": ssl.SSLCertVerificationError,
        "urllib": urllib.error.URLError,
    }
    with pytest.raises(expected[client]) as info:
        GETS[client](refusal.url(f"/{client}"))
    assert_refused(info.value)


@pytest.mark.usefixtures("injected", "h2", "httpx_trusts_ca")
def test_httpx_default_http2(backend: tls_adapter.Backend, hypercorn: HypercornServer) -> None:
    """``httpx.Client(http2=True)`` with its default context: ALPN picks h2."""
    with httpx.Client(http2=True, timeout=TIMEOUT) as client:
        response = client.get(hypercorn.url("/h2"))
        assert response.http_version == "HTTP/2"
        assert hypercorn_saw(response.content)["http_version"] == "2"
        assert_tls_by(response.extensions["network_stream"].get_extra_info("socket"), backend)


@pytest.mark.usefixtures("injected", "httpx_trusts_ca")
def test_server_contexts_stay_stdlib(backend: tls_adapter.Backend, pki: PKI) -> None:
    """While injected, ``create_default_context(Purpose.CLIENT_AUTH)`` and
    ``SSLContext(PROTOCOL_TLS_SERVER)`` are the stdlib's and serve; clients in the same
    process still get the backend."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert type(server_context).__module__ == "ssl"
    pki.server.configure_cert(server_context)
    seen: list[Any] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(writer.get_extra_info("ssl_object"))
        writer.write(await reader.readline())
        await close_writer(writer)

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=True, server_hostname="localhost"
            )
            assert_tls_by(writer.get_extra_info("ssl_object"), backend)
            writer.write(b"ping\n")
            assert await reader.readline() == b"ping\n"
            await close_writer(writer)

    run(main())
    assert type(seen[0]) is ssl.SSLObject, f"server side TLS by {type(seen[0])!r}"

    # http.server with ssl.SSLContext(PROTOCOL_TLS_SERVER), made while injected
    with HTTPSTestServer(pki) as https_server:
        body, sock = _httpx_get(https_server.url("/"))
        assert body
        assert_tls_by(sock, backend)


def test_extract_restores(backend: tls_adapter.Backend) -> None:
    """``extract_from_ssl()`` puts back ``ssl.SSLContext`` and aiohttp's import-time
    contexts (the very objects); contexts made before injecting stay ``ssl.SSLContext``
    instances while injected; extracting twice is harmless."""
    original = ssl.SSLContext
    verified = aiohttp_connector._SSL_CONTEXT_VERIFIED
    unverified = aiohttp_connector._SSL_CONTEXT_UNVERIFIED
    before = ssl.create_default_context()
    try:
        tls_adapter.inject_into_ssl(backend=backend)
        assert ssl.SSLContext is not original
        made = ssl.create_default_context()
        assert isinstance(made, tls_adapter.SSLContext)
        assert made.backend.name == backend.name
        assert made.verify_mode == ssl.CERT_REQUIRED
        assert made.check_hostname
        assert isinstance(made, ssl.SSLContext)
        assert isinstance(before, ssl.SSLContext)  # e.g. asyncio's start_tls checks
        assert aiohttp_connector._SSL_CONTEXT_VERIFIED is not verified
    finally:
        tls_adapter.extract_from_ssl()
    assert ssl.SSLContext is original
    assert aiohttp_connector._SSL_CONTEXT_VERIFIED is verified
    assert aiohttp_connector._SSL_CONTEXT_UNVERIFIED is unverified
    assert type(ssl.create_default_context()) is original
    tls_adapter.extract_from_ssl()
    assert ssl.SSLContext is original


def test_extract_restores_urllib(
    backend: tls_adapter.Backend,
    pki_files: PKIFiles,
    hypercorn: HypercornServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """urlopen() uses the backend while injected and the stdlib after extracting, even
    though Python 3.12+ keeps a default context in urllib's global opener (made by its
    first urlopen())."""
    configuration = TLSConfiguration(trust_store=TrustStore.from_pem_file(pki_files.ca))
    tls_adapter.inject_into_ssl(backend=backend, configuration=configuration)
    try:
        _, sock = _urllib_get(hypercorn.url("/injected"))
        assert_tls_by(sock, backend)
    finally:
        tls_adapter.extract_from_ssl()
    monkeypatch.setenv("SSL_CERT_FILE", pki_files.ca)  # how the stdlib trusts the test CA
    _, sock = _urllib_get(hypercorn.url("/extracted"))
    assert type(sock) is ssl.SSLSocket, f"after extract_from_ssl(), urllib used {sock!r}"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="StreamWriter.start_tls needs Python 3.11")
@pytest.mark.usefixtures("injected")
def test_explicit_context_while_injected(
    backend: tls_adapter.Backend, pki_files: PKIFiles, hypercorn: HypercornServer
) -> None:
    """An explicit ``tls_adapter.SSLContext`` on another backend still passes asyncio's
    ``isinstance`` check while injected, and keeps its own backend."""
    others = [n for n in tls_adapter.available_backends() if n != backend.name]
    other = tls_adapter.get_backend(others[0] if others else backend.name)
    context = tls_adapter.SSLContext(backend=other)
    context.load_verify_locations(cafile=pki_files.ca)

    async def main() -> None:
        reader, writer = await upgraded_streams(hypercorn.port, context)
        assert_tls_by(writer.get_extra_info("ssl_object"), other)
        status, _, _ = await get_over_streams(reader, writer, "localhost", "/explicit")
        assert status == 200

    run(main())
