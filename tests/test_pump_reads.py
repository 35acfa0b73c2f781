"""The socket pump reads no further than the TLS records the caller needed.

urllib3 decides whether a pooled connection is still alive by asking whether its file
descriptor is readable. That only works if what the server sent *after* a response, a
``close_notify`` say, is still in the kernel once the response has been read. Here a
stdlib server sends a response and its ``close_notify`` but keeps TCP open; after the
client has read the response, the ``close_notify`` must still be waiting in the
kernel: whether the response is one record or several, and whether the client asks
for exactly what is left or for more (as a buffered reader does). A pump that reads
in large flat chunks, or that batches records without leaving the last one that has
arrived, swallows it and fails here; the urllib3 test shows what that costs.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time

import pytest

import tls_adapter
from tls_adapter import TLSVersion

from .peers import PKI, SOCKET_FLAVOURS, client_config

SMALL = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
# Several full 16 KiB records and a short last one: a pump that batches records must
# still stop before the close_notify that follows them.
BODY = bytes(range(256)) * 200
LARGE = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
RESPONSES = {"small": SMALL, "large": LARGE}
# "exact": the client asks for exactly what is left of the response (a Content-Length
# reader); "64KiB": it asks for more than is left, as a buffered reader does.
READ_SIZES = ("exact", "64KiB")


def _serve_once(
    listener: socket.socket,
    pki: PKI,
    response: bytes,
    sent: threading.Event,
    done: threading.Event,
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki.server.configure_cert(context)
    raw, _ = listener.accept()
    raw.settimeout(5)
    with context.wrap_socket(raw, server_side=True) as tls:
        tls.recv(1024)  # the request
        tls.sendall(response)
        tls.setblocking(False)
        # Sends close_notify; the client's reply is not awaited.
        with contextlib.suppress(ssl.SSLWantReadError, ssl.SSLError, OSError):
            tls.unwrap()
        sent.set()
        done.wait(5)  # TCP stays open: only the close_notify is in flight


@pytest.mark.parametrize("read_size", READ_SIZES)
@pytest.mark.parametrize("size", sorted(RESPONSES))
@pytest.mark.parametrize("flavour", SOCKET_FLAVOURS)
@pytest.mark.parametrize("version", [TLSVersion.TLSv1_2, TLSVersion.TLSv1_3])
def test_close_notify_after_a_response_stays_in_the_kernel(
    backend: tls_adapter.Backend,
    pki: PKI,
    flavour: str,
    version: TLSVersion,
    size: str,
    read_size: str,
) -> None:
    response = RESPONSES[size]
    if version not in backend.capabilities.tls_versions:
        pytest.skip(f"{backend.name} cannot negotiate {version.name}")
    listener = socket.create_server(("127.0.0.1", 0))
    sent, done = threading.Event(), threading.Event()
    server = threading.Thread(
        target=_serve_once, args=(listener, pki, response, sent, done), daemon=True
    )
    server.start()
    config = client_config(pki, lowest_supported_version=version, highest_supported_version=version)
    context = backend.client_context(config)
    raw = socket.create_connection(listener.getsockname(), timeout=5)
    tls: tls_adapter.TLSWrappedSocket | None = None
    try:
        if flavour == "native":
            tls = context.wrap_socket(raw, "localhost")
        else:
            tls = tls_adapter.ClientContext.wrap_socket(context, raw, "localhost")
        tls.do_handshake()
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert sent.wait(5)
        time.sleep(0.1)  # the close_notify has reached the client's kernel
        received = bytearray()
        scratch = bytearray(65536)
        while len(received) < len(response):
            left = len(response) - len(received)
            n = tls.recv_into(scratch, left if read_size == "exact" else len(scratch))
            assert n, "the connection ended before the whole response"
            received += scratch[:n]
        assert received == response
        # The close_notify record must still be unread, in the kernel.
        raw_view = socket.socket(fileno=socket.dup(tls.fileno()))
        try:
            raw_view.setblocking(False)
            waiting = raw_view.recv(64, socket.MSG_PEEK)
        except BlockingIOError:
            waiting = b""
        finally:
            raw_view.close()
        assert waiting[:1] == b"\x15" or waiting[:1] == b"\x17", (
            f"{backend.name}: the pump read past the response: nothing left in the kernel"
        )
    finally:
        done.set()
        if tls is not None:
            tls.close()  # a native socket owns the descriptor
        raw.close()
        listener.close()
        server.join(5)


@pytest.mark.parametrize("size", sorted(RESPONSES))
def test_urllib3_sees_the_close_notify_of_a_pooled_connection(
    backend: tls_adapter.Backend, pki: PKI, size: str
) -> None:
    """The same through the urllib3 shim: after a response has been read, a pooled
    connection whose server has sent ``close_notify`` is reported dropped."""
    urllib3 = pytest.importorskip("urllib3")
    from urllib3.util.wait import wait_for_read

    from tls_adapter.urllib3 import SSLContext

    response = RESPONSES[size]
    listener = socket.create_server(("127.0.0.1", 0))
    sent, done = threading.Event(), threading.Event()
    server = threading.Thread(
        target=_serve_once, args=(listener, pki, response, sent, done), daemon=True
    )
    server.start()
    context = SSLContext(backend=backend.name)
    context.load_verify_locations(cadata=pki.ca.cert_pem.bytes().decode("ascii"))
    port = listener.getsockname()[1]
    try:
        with urllib3.HTTPSConnectionPool(
            "localhost", port, ssl_context=context, retries=False, timeout=5
        ) as pool:
            reply = pool.urlopen("GET", "/", preload_content=False)
            conn = reply.connection
            assert reply.read() == (BODY if size == "large" else b"hello")
            assert sent.wait(5)
            time.sleep(0.1)  # the close_notify has reached the client's kernel
            assert conn is not None and conn.sock is not None
            # What urllib3's is_connection_dropped() asks before reusing a connection.
            assert wait_for_read(conn.sock, timeout=0.0), (
                f"{backend.name}: the close_notify was read with the response"
            )
            reply.release_conn()
    finally:
        done.set()
        listener.close()
        server.join(5)
