"""httpx's synchronous client on every backend: HTTP/1.1, HTTP/2, and an HTTPS proxy.

httpx is given a ``tls_adapter.SSLContext`` as ``verify=``. Each positive test
checks the response, the HTTP version both ends used, and that the socket httpcore
read from is tls_adapter's on the chosen backend. HTTP/2 needs httpcore to read ALPN
from the socket (it does so only for ``ssl.SSLSocket`` instances), and the proxy needs
TLS inside TLS (``wrap_bio``, again only for ``ssl.SSLSocket`` instances).
"""

from __future__ import annotations

from typing import Any

import pytest

import tls_adapter

from ..http_servers import NginxServer, PKIFiles
from .checks import assert_refused, assert_tls_by, hypercorn_saw, make_context
from .servers import HypercornServer, Refusal

httpx = pytest.importorskip("httpx", reason="httpx is not installed")

TIMEOUT = 10.0


def _stream(response: Any) -> Any:
    return response.extensions["network_stream"]


def test_http11(
    backend: tls_adapter.Backend,
    context: tls_adapter.SSLContext,
    hypercorn: HypercornServer,
) -> None:
    """A GET over HTTP/1.1 works, and the socket is tls_adapter's on this backend."""
    with httpx.Client(verify=context, trust_env=False, timeout=TIMEOUT) as client:
        response = client.get(hypercorn.url("/h1"))
        assert response.status_code == 200
        assert response.http_version == "HTTP/1.1"
        assert hypercorn_saw(response.content) == {
            "http_version": "1.1",
            "method": "GET",
            "path": "/h1",
            "scheme": "https",
        }
        stream = _stream(response)
        assert_tls_by(stream.get_extra_info("socket"), backend)
        # a second request reuses the connection
        assert client.get(hypercorn.url("/again")).status_code == 200


@pytest.mark.usefixtures("h2")
def test_http2_hypercorn(
    backend: tls_adapter.Backend,
    context: tls_adapter.SSLContext,
    hypercorn: HypercornServer,
) -> None:
    """With ``http2=True`` ALPN picks h2: httpx and hypercorn both speak HTTP/2."""
    with httpx.Client(verify=context, http2=True, trust_env=False, timeout=TIMEOUT) as client:
        response = client.get(hypercorn.url("/h2"))
        assert response.status_code == 200
        assert response.http_version == "HTTP/2"
        assert hypercorn_saw(response.content)["http_version"] == "2"
        stream = _stream(response)
        assert_tls_by(stream.get_extra_info("socket"), backend)
        assert stream.get_extra_info("ssl_object").selected_alpn_protocol() == "h2"


@pytest.mark.usefixtures("h2")
def test_http2_nginx(
    backend: tls_adapter.Backend,
    context: tls_adapter.SSLContext,
    nginx_h2: NginxServer,
) -> None:
    """HTTP/2 with nginx: both ends say HTTP/2, over a tls_adapter socket."""
    with httpx.Client(verify=context, http2=True, trust_env=False, timeout=TIMEOUT) as client:
        response = client.get(f"https://localhost:{nginx_h2.port}/protocol")
        assert response.status_code == 200
        assert response.http_version == "HTTP/2"
        assert response.text == "HTTP/2.0\n"
        assert_tls_by(_stream(response).get_extra_info("socket"), backend)


@pytest.mark.usefixtures("h2")
def test_https_proxy(
    backend: tls_adapter.Backend,
    pki_files: PKIFiles,
    context: tls_adapter.SSLContext,
    hypercorn: HypercornServer,
    https_proxy_url: str,
) -> None:
    """Through an HTTPS proxy (stunnel + tinyproxy): TLS to the proxy, and TLS to the
    server inside it (``wrap_bio``), both by tls_adapter; HTTP/2 inside the tunnel."""
    proxy = httpx.Proxy(https_proxy_url, ssl_context=make_context(backend, pki_files.ca))
    with httpx.Client(
        verify=context, proxy=proxy, http2=True, trust_env=False, timeout=TIMEOUT
    ) as client:
        response = client.get(hypercorn.url("/proxied", host="127.0.0.1"))
        assert response.status_code == 200
        assert response.http_version == "HTTP/2"
        assert hypercorn_saw(response.content)["path"] == "/proxied"
        stream = _stream(response)
        assert_tls_by(stream.get_extra_info("socket"), backend, "connection to the proxy")
        inner = stream.get_extra_info("ssl_object")
        assert_tls_by(inner, backend, "tunnelled connection")
        assert inner.selected_alpn_protocol() == "h2"


def test_refuses_bad_certificate(context: tls_adapter.SSLContext, refusal: Refusal) -> None:
    """An untrusted, wrong-host or expired certificate: ``httpx.ConnectError`` saying
    "certificate verify failed", raised by tls_adapter."""
    with (
        httpx.Client(verify=context, trust_env=False, timeout=TIMEOUT) as client,
        pytest.raises(httpx.ConnectError) as info,
    ):
        client.get(refusal.url())
    assert "certificate verify failed" in str(info.value).lower()
    assert_refused(info.value)
