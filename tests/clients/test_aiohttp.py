"""aiohttp on every backend: ``TCPConnector(ssl=ctx)``, ``session.get(url, ssl=ctx)``
and an HTTPS proxy, against hypercorn and nginx.

aiohttp accepts ``ssl=`` only if it ``isinstance(ssl, ssl.SSLContext)``; an object that
is not one but reaches its connector is treated as "not verified" and silently replaced
by an UNVERIFIED stdlib context. The refusal tests are the guard against that trap: the
same context that works against the good server must refuse the bad ones.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

import tls_adapter

from ..http_servers import NginxServer
from .checks import assert_refused, assert_tls_by, hypercorn_saw, run
from .servers import HypercornServer, Refusal

aiohttp = pytest.importorskip("aiohttp", reason="aiohttp is not installed")

from .aiohttp_support import RecordingConnector  # noqa: E402

WAYS = ["connector", "per-request"]


def _timeout() -> Any:
    return aiohttp.ClientTimeout(total=10)


def _session(context: Any, way: str) -> tuple[Any, RecordingConnector]:
    """A session whose TLS context is *context*: on its connector, or (per-request) not."""
    connector = RecordingConnector(ssl=context) if way == "connector" else RecordingConnector()
    return aiohttp.ClientSession(connector=connector, timeout=_timeout()), connector


def _request_ssl(context: Any, way: str) -> dict[str, Any]:
    return {"ssl": context} if way == "per-request" else {}


@pytest.mark.parametrize("way", WAYS)
def test_get(
    backend: tls_adapter.Backend,
    context: tls_adapter.SSLContext,
    hypercorn: HypercornServer,
    way: str,
) -> None:
    """A GET with our context on the connector or per request: the right body, over
    tls_adapter's ``SSLObject`` on this backend (not aiohttp's default context)."""

    async def main() -> None:
        session, connector = _session(context, way)
        async with (
            session,
            session.get(hypercorn.url(f"/aiohttp-{way}"), **_request_ssl(context, way)) as resp,
        ):
            assert resp.status == 200
            seen = hypercorn_saw(await resp.read())
            assert_tls_by(connector.ssl_object(), backend)
            assert seen["path"] == f"/aiohttp-{way}"
            assert seen["http_version"] == "1.1"

    run(main())


def test_nginx(
    backend: tls_adapter.Backend,
    context: tls_adapter.SSLContext,
    nginx_h2: NginxServer,
) -> None:
    """aiohttp (HTTP/1.1 only) to nginx, which also offers h2: nginx serves HTTP/1.1
    (aiohttp offers no ALPN with a context of one's own), over tls_adapter's TLS."""

    async def main() -> None:
        session, connector = _session(context, "connector")
        async with session, session.get(f"https://localhost:{nginx_h2.port}/protocol") as resp:
            assert resp.status == 200
            assert_tls_by(connector.ssl_object(), backend)
            assert await resp.text() == "HTTP/1.1\n"

    run(main())


@pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="aiohttp through an HTTPS proxy needs TLS in TLS in asyncio (Python 3.11)",
)
def test_https_proxy(
    backend: tls_adapter.Backend,
    context: tls_adapter.SSLContext,
    hypercorn: HypercornServer,
    https_proxy_url: str,
) -> None:
    """Through an HTTPS proxy (aiohttp uses the request's context for the proxy too):
    ``loop.start_tls`` over the TLS connection to the proxy, both tls_adapter's."""

    async def main() -> None:
        session, connector = _session(context, "connector")
        async with (
            session,
            session.get(
                hypercorn.url("/aiohttp-proxied", host="127.0.0.1"), proxy=https_proxy_url
            ) as resp,
        ):
            assert resp.status == 200
            assert_tls_by(connector.ssl_object(), backend, "tunnelled connection")
            # asyncio's TLS transport over the TLS transport to the proxy (private names,
            # the same in 3.11-3.13)
            outer = connector.transports[-1]._ssl_protocol._transport
            assert_tls_by(outer.get_extra_info("ssl_object"), backend, "connection to the proxy")
            assert hypercorn_saw(await resp.read())["path"] == "/aiohttp-proxied"

    run(main())


@pytest.mark.parametrize("way", WAYS)
def test_refuses_bad_certificate(
    context: tls_adapter.SSLContext, refusal: Refusal, way: str
) -> None:
    """Untrusted, wrong-host and expired certificates raise aiohttp's certificate error,
    raised by tls_adapter -- never an unverified fallback that lets the request through."""

    async def main() -> None:
        session, _ = _session(context, way)
        async with session:
            with pytest.raises(aiohttp.ClientSSLError) as info:
                async with session.get(refusal.url(), **_request_ssl(context, way)):
                    pass
            assert isinstance(info.value, aiohttp.ClientConnectorCertificateError)
            assert_refused(info.value)

    run(main())
