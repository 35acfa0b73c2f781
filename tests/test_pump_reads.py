"""The socket pump reads no further than the TLS records the caller needed.

urllib3 decides whether a pooled connection is still alive by asking whether its file
descriptor is readable. That only works if what the server sent *after* a response, a
``close_notify`` say, is still in the kernel once the response has been read. Here a
stdlib server sends a response and its ``close_notify`` but keeps TCP open; after the
client has read exactly the response, the ``close_notify`` must still be waiting in
the kernel. A pump that reads in large flat chunks swallows it and fails this test.
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

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def _serve_once(
    listener: socket.socket, pki: PKI, sent: threading.Event, done: threading.Event
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki.server.configure_cert(context)
    raw, _ = listener.accept()
    raw.settimeout(5)
    with context.wrap_socket(raw, server_side=True) as tls:
        tls.recv(1024)  # the request
        tls.sendall(RESPONSE)
        tls.setblocking(False)
        # Sends close_notify; the client's reply is not awaited.
        with contextlib.suppress(ssl.SSLWantReadError, ssl.SSLError, OSError):
            tls.unwrap()
        sent.set()
        done.wait(5)  # TCP stays open: only the close_notify is in flight


@pytest.mark.parametrize("flavour", SOCKET_FLAVOURS)
@pytest.mark.parametrize("version", [TLSVersion.TLSv1_2, TLSVersion.TLSv1_3])
def test_close_notify_after_a_response_stays_in_the_kernel(
    backend: tls_adapter.Backend, pki: PKI, flavour: str, version: TLSVersion
) -> None:
    if version not in backend.capabilities.tls_versions:
        pytest.skip(f"{backend.name} cannot negotiate {version.name}")
    listener = socket.create_server(("127.0.0.1", 0))
    sent, done = threading.Event(), threading.Event()
    server = threading.Thread(target=_serve_once, args=(listener, pki, sent, done), daemon=True)
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
        received = b""
        while len(received) < len(RESPONSE):
            chunk = tls.recv(len(RESPONSE) - len(received))
            assert chunk, "the connection ended before the whole response"
            received += chunk
        assert received == RESPONSE
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
