"""httpx's async client (httpcore on anyio, on asyncio) on every backend.

anyio does TLS with ``SSLContext.wrap_bio`` over its own streams, so these tests check
the ``ssl.SSLObject`` look-alike: HTTP/1.1, HTTP/2 chosen by ALPN (hypercorn and
nginx), and TLS inside TLS through an HTTPS proxy (stunnel + tinyproxy).
"""

from __future__ import annotations

from typing import Any

import pytest

import tls_adapter

from ..http_servers import NginxServer, PKIFiles
from .checks import assert_refused, assert_tls_by, hypercorn_saw, make_context, run
from .servers import HypercornServer, Refusal

httpx = pytest.importorskip("httpx", reason="httpx is not installed")
anyio_tls = pytest.importorskip("anyio.streams.tls", reason="anyio is not installed")

TIMEOUT = 10.0


def _ssl_object(response: Any) -> Any:
    return response.extensions["network_stream"].get_extra_info("ssl_object")


def test_http11(
    backend: tls_adapter.Backend,
    context: tls_adapter.SSLContext,
    hypercorn: HypercornServer,
) -> None:
    """A GET over HTTP/1.1 works; the TLS object anyio used is tls_adapter's."""

    async def main() -> None:
        async with httpx.AsyncClient(verify=context, trust_env=False, timeout=TIMEOUT) as client:
            response = await client.get(hypercorn.url("/async-h1"))
            assert response.status_code == 200
            assert response.http_version == "HTTP/1.1"
            assert hypercorn_saw(response.content)["http_version"] == "1.1"
            assert hypercorn_saw(response.content)["path"] == "/async-h1"
            assert_tls_by(_ssl_object(response), backend)
            assert (await client.get(hypercorn.url("/again"))).status_code == 200

    run(main())


@pytest.mark.usefixtures("h2")
@pytest.mark.parametrize("server", ["hypercorn", "nginx"])
def test_http2(
    backend: tls_adapter.Backend,
    context: tls_adapter.SSLContext,
    server: str,
    request: pytest.FixtureRequest,
) -> None:
    """ALPN picks h2 with hypercorn and with nginx; both ends say HTTP/2."""
    if server == "hypercorn":
        hypercorn: HypercornServer = request.getfixturevalue("hypercorn")
        url = hypercorn.url("/async-h2")
    else:
        nginx: NginxServer = request.getfixturevalue("nginx_h2")
        url = f"https://localhost:{nginx.port}/protocol"

    async def main() -> None:
        async with httpx.AsyncClient(
            verify=context, http2=True, trust_env=False, timeout=TIMEOUT
        ) as client:
            response = await client.get(url)
            assert response.status_code == 200
            assert response.http_version == "HTTP/2"
            if server == "hypercorn":
                assert hypercorn_saw(response.content)["http_version"] == "2"
            else:
                assert response.text == "HTTP/2.0\n"
            ssl_object = _ssl_object(response)
            assert_tls_by(ssl_object, backend)
            assert ssl_object.selected_alpn_protocol() == "h2"

    run(main())


@pytest.mark.usefixtures("h2")
def test_https_proxy(
    backend: tls_adapter.Backend,
    pki_files: PKIFiles,
    context: tls_adapter.SSLContext,
    hypercorn: HypercornServer,
    https_proxy_url: str,
) -> None:
    """Through an HTTPS proxy: TLS to the proxy and TLS inside it, both tls_adapter's."""
    proxy = httpx.Proxy(https_proxy_url, ssl_context=make_context(backend, pki_files.ca))

    async def main() -> None:
        async with httpx.AsyncClient(
            verify=context, proxy=proxy, http2=True, trust_env=False, timeout=TIMEOUT
        ) as client:
            response = await client.get(hypercorn.url("/async-proxied", host="127.0.0.1"))
            assert response.status_code == 200
            assert response.http_version == "HTTP/2"
            assert hypercorn_saw(response.content)["path"] == "/async-proxied"
            inner = _ssl_object(response)
            assert_tls_by(inner, backend, "tunnelled connection")
            assert inner.selected_alpn_protocol() == "h2"
            # The anyio TLS stream of the tunnel runs over the TLS stream to the proxy.
            tunnel = response.extensions["network_stream"]._stream
            outer = tunnel.transport_stream.extra(anyio_tls.TLSAttribute.ssl_object)
            assert_tls_by(outer, backend, "connection to the proxy")

    run(main())


def test_refuses_bad_certificate(context: tls_adapter.SSLContext, refusal: Refusal) -> None:
    """Untrusted, wrong-host and expired certificates raise ``httpx.ConnectError``
    ("certificate verify failed"), raised by tls_adapter."""

    async def main() -> None:
        async with httpx.AsyncClient(verify=context, trust_env=False, timeout=TIMEOUT) as client:
            with pytest.raises(httpx.ConnectError) as info:
                await client.get(refusal.url())
            assert "certificate verify failed" in str(info.value).lower()
            assert_refused(info.value)

    run(main())
