"""asyncio's own TLS on every backend: ``open_connection(ssl=ctx)``, ``loop.start_tls``
and ``StreamWriter.start_tls`` (Python 3.11+), talking HTTP/1.1 to hypercorn.

asyncio drives the context's ``wrap_bio`` objects from its ``sslproto``;
``loop.start_tls`` (and so ``StreamWriter.start_tls``) first checks
``isinstance(sslcontext, ssl.SSLContext)``.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from typing import Any

import pytest

import tls_adapter

from .checks import (
    assert_refused,
    assert_tls_by,
    close_writer,
    get_over_streams,
    hypercorn_saw,
    request_bytes,
    response_complete,
    run,
    upgraded_streams,
)
from .servers import HypercornServer, Refusal

needs_writer_start_tls = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="StreamWriter.start_tls needs Python 3.11"
)


class _Collector(asyncio.Protocol):
    """Collects one HTTP/1.1 response (with Content-Length) from a transport."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.data = bytearray()
        self.response: asyncio.Future[bytes] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        # A refused handshake ends the connection before any response: that error is
        # the test's to check, so the future's copy is marked as seen.
        self.response.add_done_callback(lambda f: f.cancelled() or f.exception())

    def data_received(self, data: bytes) -> None:
        self.data += data
        if response_complete(bytes(self.data)) and not self.response.done():
            self.response.set_result(bytes(self.data))

    def eof_received(self) -> bool | None:
        if not self.response.done():
            self.response.set_exception(ConnectionError("EOF before the whole response"))
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.response.done():
            self.response.set_exception(exc or ConnectionError("closed before the response"))
        if not self.closed.done():
            self.closed.set_result(None)


def _check_response(response: tuple[int, dict[str, str], bytes], path: str) -> None:
    status, _, body = response
    assert status == 200
    assert hypercorn_saw(body) == {
        "http_version": "1.1",
        "method": "GET",
        "path": path,
        "scheme": "https",
    }


def test_open_connection(
    backend: tls_adapter.Backend,
    context: tls_adapter.SSLContext,
    hypercorn: HypercornServer,
) -> None:
    """``open_connection(ssl=ctx, server_hostname=...)``: an HTTP/1.1 exchange, ALPN
    ``http/1.1``, over tls_adapter's ``SSLObject`` on this backend."""
    context.set_alpn_protocols(["http/1.1"])

    async def main() -> None:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", hypercorn.port, ssl=context, server_hostname="localhost"
        )
        ssl_object: Any = writer.get_extra_info("ssl_object")
        assert_tls_by(ssl_object, backend)
        assert ssl_object.selected_alpn_protocol() == "http/1.1"
        assert ssl_object.server_hostname == "localhost"
        assert writer.get_extra_info("peercert")["subjectAltName"]
        _check_response(await get_over_streams(reader, writer, "localhost", "/open"), "/open")

    run(main())


@needs_writer_start_tls
def test_stream_writer_start_tls(
    backend: tls_adapter.Backend,
    context: tls_adapter.SSLContext,
    hypercorn: HypercornServer,
) -> None:
    """A plain connection upgraded with ``StreamWriter.start_tls(ctx)`` (Python 3.11+)."""

    async def main() -> None:
        reader, writer = await upgraded_streams(hypercorn.port, context)
        assert_tls_by(writer.get_extra_info("ssl_object"), backend)
        _check_response(await get_over_streams(reader, writer, "localhost", "/upg"), "/upg")

    run(main())


def test_loop_start_tls(
    backend: tls_adapter.Backend,
    context: tls_adapter.SSLContext,
    hypercorn: HypercornServer,
) -> None:
    """A plain transport upgraded with ``loop.start_tls(transport, protocol, ctx)``."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_connection(_Collector, "127.0.0.1", hypercorn.port)
        try:
            tls = await loop.start_tls(transport, protocol, context, server_hostname="localhost")
            assert tls is not None
            assert_tls_by(tls.get_extra_info("ssl_object"), backend)
            tls.write(request_bytes("localhost", "/loop"))
            data = await protocol.response
            tls.close()
            await asyncio.wait_for(protocol.closed, 5)
        finally:
            transport.close()
        head, _, rest = data.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        _check_response((status, {}, rest), "/loop")

    run(main())


@pytest.mark.parametrize("how", ["open_connection", "loop.start_tls", "StreamWriter.start_tls"])
def test_refuses_bad_certificate(
    context: tls_adapter.SSLContext, refusal: Refusal, how: str
) -> None:
    """Untrusted, wrong-host and expired certificates raise
    ``ssl.SSLCertVerificationError`` from tls_adapter, whichever way TLS is started."""
    if how == "StreamWriter.start_tls" and sys.version_info < (3, 11):
        pytest.skip("StreamWriter.start_tls needs Python 3.11")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            if how == "open_connection":
                _, writer = await asyncio.open_connection(
                    "127.0.0.1", refusal.port, ssl=context, server_hostname=refusal.host
                )
                await close_writer(writer)
            elif how == "loop.start_tls":
                transport, protocol = await loop.create_connection(
                    _Collector, "127.0.0.1", refusal.port
                )
                try:
                    await loop.start_tls(transport, protocol, context, server_hostname=refusal.host)
                finally:
                    transport.close()
            else:
                _, writer = await upgraded_streams(refusal.port, context, refusal.host)
                await close_writer(writer)
        assert "certificate verify failed" in str(info.value).lower()
        assert_refused(info.value)

    run(main())
