"""A raw standard-library TLS peer for backend quirk tests.

The peer is an ``ssl.SSLObject`` over memory BIOs, driven directly (not through
tls_adapter), so it is an independent witness of what a backend put on the wire: the
SNI it sent, whether it sent ``close_notify``, which suite it negotiated.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from tls_adapter import TLSError, TLSWrappedBuffer, WantReadError

from ..peers import PKI


def stdlib_server_context(pki: PKI, **options: object) -> ssl.SSLContext:
    """A plain ``ssl`` server context presenting the test server certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki.server.configure_cert(ctx)
    for name, value in options.items():
        setattr(ctx, name, value)
    return ctx


def stdlib_client_context(pki: PKI, **options: object) -> ssl.SSLContext:
    """A plain ``ssl`` client context trusting the test CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    pki.ca.configure_trust(ctx)
    for name, value in options.items():
        setattr(ctx, name, value)
    return ctx


@dataclass
class StdlibPeer:
    """One side of a connection, as a raw ``ssl.SSLObject``; a server records SNI."""

    ctx: ssl.SSLContext
    server_side: bool
    server_hostname: str | None = None
    names: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.server_side:
            self.ctx.sni_callback = self._record
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = self.ctx.wrap_bio(
            self.incoming,
            self.outgoing,
            server_side=self.server_side,
            server_hostname=self.server_hostname,
        )

    def _record(self, obj: object, name: str | None, ctx: object) -> None:
        self.names.append(name)

    def send_to(self, buffer: TLSWrappedBuffer) -> int:
        """Move this peer's outgoing bytes into *buffer*."""
        data = self.outgoing.read()
        if data:
            buffer.receive_from_network(data)
        return len(data)

    def receive_from(self, buffer: TLSWrappedBuffer) -> int:
        """Move *buffer*'s outgoing bytes into this peer."""
        n = buffer.outgoing_bytes_buffered()
        if n:
            self.incoming.write(buffer.peek_outgoing(n))
            buffer.consume_outgoing(n)
        return n

    def read_all(self, buffer: TLSWrappedBuffer) -> bytes:
        """Everything *buffer* sent, decrypted by this peer."""
        self.receive_from(buffer)
        out = bytearray()
        while True:
            try:
                chunk = self.obj.read(1 << 20)
            except ssl.SSLWantReadError:
                return bytes(out)
            if not chunk:
                return bytes(out)
            out += chunk


@dataclass
class Outcome:
    """How a handshake between a tls_adapter buffer and a stdlib peer ended."""

    buffer_error: TLSError | None
    peer_error: ssl.SSLError | None
    buffer_done: bool
    peer_done: bool


def handshake(buffer: TLSWrappedBuffer, peer: StdlibPeer, rounds: int = 20) -> Outcome:
    """Drive *buffer* against *peer* until both finished or failed; never raises TLS errors."""
    buffer_done = peer_done = False
    buffer_error: TLSError | None = None
    peer_error: ssl.SSLError | None = None
    for _ in range(rounds):
        if not buffer_done and buffer_error is None:
            try:
                buffer.do_handshake()
                buffer_done = True
            except WantReadError:
                pass
            except TLSError as e:
                buffer_error = e
        moved = peer.receive_from(buffer)
        if not peer_done and peer_error is None:
            try:
                peer.obj.do_handshake()
                peer_done = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as e:
                peer_error = e
        moved += peer.send_to(buffer)
        if (buffer_done or buffer_error) and (peer_done or peer_error) and not moved:
            break
    return Outcome(buffer_error, peer_error, buffer_done, peer_done)


def stdlib_server(pki: PKI, **options: object) -> StdlibPeer:
    """A raw standard-library server peer (see :func:`stdlib_server_context`)."""
    return StdlibPeer(stdlib_server_context(pki, **options), server_side=True)
