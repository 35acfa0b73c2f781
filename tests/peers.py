"""Test peers: a PKI made at run time, in-memory buffer pairs, and a threaded TLS server.

These helpers know nothing about any particular backend: they speak only the public
PEP 543 API, so the same helper exercises every backend against every other.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import trustme

import tls_adapter
from tls_adapter import (
    Certificate,
    PrivateKey,
    TLSConfiguration,
    TLSWrappedBuffer,
    TrustStore,
    WantReadError,
)


@dataclass(frozen=True)
class PKI:
    """A CA with server and client leaf certificates, as trustme objects and as our types."""

    ca: trustme.CA
    server: trustme.LeafCert
    client: trustme.LeafCert

    @property
    def trust(self) -> TrustStore:
        """A trust store holding exactly the CA."""
        return TrustStore.from_buffer(self.ca.cert_pem.bytes())

    @property
    def server_chain(self) -> tuple[tuple[Certificate, ...], PrivateKey]:
        """The server's chain and key, ready for ``certificate_chain``."""
        return chain_of(self.server)

    @property
    def client_chain(self) -> tuple[tuple[Certificate, ...], PrivateKey]:
        """The client's chain and key, ready for ``certificate_chain``."""
        return chain_of(self.client)


def chain_of(leaf: trustme.LeafCert) -> tuple[tuple[Certificate, ...], PrivateKey]:
    """A trustme leaf as ``((leaf, *intermediates), key)``."""
    certs = tuple(Certificate.from_buffer(p.bytes()) for p in leaf.cert_chain_pems)
    return certs, PrivateKey.from_buffer(leaf.private_key_pem.bytes())


def make_pki() -> PKI:
    """A fresh CA, a server certificate and a client certificate."""
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1", "::1")
    client = ca.issue_cert("client@example.org", common_name="client")
    return PKI(ca=ca, server=server, client=client)


def move(src: TLSWrappedBuffer, dst: TLSWrappedBuffer) -> int:
    """Move all of *src*'s outgoing bytes into *dst*; returns how many moved."""
    n = src.outgoing_bytes_buffered()
    if n:
        dst.receive_from_network(src.peek_outgoing(n))
        src.consume_outgoing(n)
    return n


def handshake_buffers(client: TLSWrappedBuffer, server: TLSWrappedBuffer, rounds: int = 20) -> None:
    """Drive both handshakes to completion in memory; the first error propagates."""
    done = {id(client): False, id(server): False}
    for _ in range(rounds):
        for side in (client, server):
            if not done[id(side)]:
                try:
                    side.do_handshake()
                    done[id(side)] = True
                except WantReadError:
                    pass
        moved = move(client, server) + move(server, client)
        if all(done.values()) and not moved:
            return
    raise AssertionError("handshake did not finish")


def read_exactly(reader: TLSWrappedBuffer, writer: TLSWrappedBuffer, n: int) -> bytes:
    """Read *n* bytes from *reader*, moving *writer*'s output across as needed."""
    out = bytearray()
    while len(out) < n:
        move(writer, reader)
        try:
            chunk = reader.read(n - len(out))
        except WantReadError:
            if not writer.outgoing_bytes_buffered():
                raise
            continue
        if not chunk:
            break
        out += chunk
    return bytes(out)


class ThreadedServer:
    """A one-connection-at-a-time TLS server on a loopback port, run in a thread.

    *handler* gets each accepted ``TLSWrappedSocket`` after a successful handshake;
    handshake errors are collected in ``errors`` instead of killing the thread.
    """

    def __init__(
        self,
        context: tls_adapter.ServerContext,
        handler: Callable[[tls_adapter.TLSWrappedSocket], None],
        host: str = "127.0.0.1",
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.host = host
        self.port: int = self.listener.getsockname()[1]
        self.context = context
        self.handler = handler
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            raw.settimeout(10)
            try:
                tls = self.context.wrap_socket(raw)
                tls.do_handshake()
                self.handler(tls)
            except Exception as e:  # collected for the test to inspect
                self.errors.append(e)
            finally:
                raw.close()


def echo_handler(sock: tls_adapter.TLSWrappedSocket) -> None:
    """Echo everything back until the client closes."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            sock.sendall(data)
    except tls_adapter.RaggedEOF:
        pass
    sock.close()


def client_config(pki: PKI, **kwargs: object) -> TLSConfiguration:
    """A client configuration trusting the test CA."""
    return TLSConfiguration(trust_store=pki.trust, **kwargs)  # type: ignore[arg-type]


def server_config(pki: PKI, **kwargs: object) -> TLSConfiguration:
    """A server configuration presenting the test server certificate."""
    return TLSConfiguration(certificate_chain=pki.server_chain, **kwargs)  # type: ignore[arg-type]
