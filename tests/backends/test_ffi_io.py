"""The bulk-data paths of the ctypes backends (GnuTLS, wolfSSL): ``FFIBuffer.readinto``
decrypting straight into the caller's memory, and ciphertext fed from reusable buffers.

The peer is the standard library's ``ssl`` over memory BIOs (a real TLS 1.3 server), so
the records are OpenSSL's; whole flights of them are fed at once, as the socket pump does.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress

import pytest

import tls_adapter
from tls_adapter import (
    CipherSuite,
    RaggedEOF,
    TLSConfiguration,
    WantReadError,
    WantWriteError,
)
from tls_adapter._socket import DescriptorSocket
from tls_adapter.backends import available_backends
from tls_adapter.backends._ffi_buffer import FFIBuffer

from ..peers import PKI

BACKENDS = [b for b in ("gnutls", "wolfssl") if b in available_backends()]
pytestmark = pytest.mark.skipif(not BACKENDS, reason="neither GnuTLS nor wolfSSL is available")


class Peer:
    """A stdlib TLS server over memory BIOs, and a backend client connected to it."""

    def __init__(self, backend: str, pki: PKI, *, server_pki: PKI | None = None) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        (server_pki or pki).server.configure_cert(context)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.server = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        client_context = tls_adapter.get_backend(backend).client_context(
            TLSConfiguration(trust_store=pki.trust)
        )
        self.client = client_context.wrap_buffers("localhost")

    def connect(self, client_step: Callable[[], object] | None = None) -> Peer:
        """Run the handshake; each round starts with *client_step* (``do_handshake``)."""
        for _ in range(10):
            with suppress(WantReadError):
                (client_step or self.client.do_handshake)()
            self.to_server()
            with suppress(ssl.SSLWantReadError):
                self.server.do_handshake()
            self.to_client()
            if self.server.version() and self.client.negotiated_tls_version():
                return self
        raise AssertionError("handshake did not finish")

    def to_server(self) -> None:
        """Move the client's ciphertext to the server."""
        n = self.client.outgoing_bytes_buffered()
        self.incoming.write(self.client.peek_outgoing(n))
        self.client.consume_outgoing(n)

    def to_client(self) -> None:
        """Move the server's ciphertext to the client, from a reusable ``bytearray``."""
        data = self.outgoing.read()
        if data:
            wire = bytearray(data)
            self.client.receive_from_network(memoryview(wire))
            wire[:] = b"\0" * len(wire)  # the caller reuses its buffer at once

    def send(self, data: bytes) -> None:
        """The server sends *data* (in records of up to 16 KiB)."""
        view = memoryview(data)
        for off in range(0, len(data), 16384):
            self.server.write(view[off : off + 16384])


def drain(client: tls_adapter.TLSWrappedBuffer, chunk: int = 65536) -> bytes:
    """Everything *client* can decrypt now, read with ``readinto`` into one reused buffer."""
    out, scratch = bytearray(), bytearray(chunk)
    while True:
        try:
            got = client.readinto(scratch, chunk)
        except WantReadError:
            return bytes(out)
        if not got:
            return bytes(out)
        out += scratch[:got]


@pytest.fixture(params=BACKENDS)
def peer(request: pytest.FixtureRequest, pki: PKI) -> Iterator[Peer]:
    """A connected client of each ctypes backend, with its stdlib server."""
    yield Peer(request.param, pki).connect()


def test_readinto_a_memoryview_slice_leaves_the_rest_alone(peer: Peer) -> None:
    peer.send(b"hello, world")
    peer.to_client()
    target = bytearray(b"#" * 32)
    got = peer.client.readinto(memoryview(target)[10:20], 100)
    assert got == 10
    assert target == b"#" * 10 + b"hello, wor" + b"#" * 12
    assert peer.client.read(100) == b"ld"


def test_readinto_honours_amt_and_keeps_the_rest_pending(peer: Peer) -> None:
    peer.send(b"0123456789")
    peer.to_client()
    target = bytearray(64)
    assert peer.client.readinto(target, 4) == 4
    assert target[:4] == b"0123"
    assert isinstance(peer.client, FFIBuffer)
    assert peer.client.pending() == 6
    assert peer.client.readinto(target, 0) == 0
    assert peer.client.readinto(memoryview(target)[:0], 10) == 0
    assert peer.client.readinto(target, 64) == 6
    assert target[:6] == b"456789"


def test_readinto_into_read_only_memory_is_refused_without_losing_data(peer: Peer) -> None:
    peer.send(b"keep me")
    peer.to_client()
    with pytest.raises(TypeError):
        peer.client.readinto(b"\0" * 16, 16)
    with pytest.raises(TypeError):
        peer.client.readinto(memoryview(bytearray(16)).toreadonly(), 16)
    assert peer.client.read(16) == b"keep me"


def test_readinto_other_writable_buffers(peer: Peer) -> None:
    import array

    peer.send(b"abcdefgh")
    peer.to_client()
    words = array.array("H", [0] * 4)  # itemsize 2: cast to bytes
    assert peer.client.readinto(words, 8) == 8
    assert words.tobytes() == b"abcdefgh"


def test_readinto_and_read_after_close_notify(peer: Peer) -> None:
    peer.send(b"last words")
    with suppress(ssl.SSLWantReadError):
        peer.server.unwrap()
    peer.to_client()
    target = bytearray(32)
    assert peer.client.readinto(target, 32) == 10
    assert target[:10] == b"last words"
    assert peer.client.readinto(target, 32) == 0
    assert peer.client.readinto(target, 32) == 0
    assert peer.client.read(10) == b""


def test_large_multi_record_input_fed_at_once(peer: Peer) -> None:
    """4 MiB of records in one ``receive_from_network`` (wolfSSL queues what exceeds its
    BIO fill), read back with ``readinto`` and with ``read``."""
    payload = os.urandom(4 << 20)
    peer.send(payload)
    peer.to_client()
    assert peer.client.incoming_bytes_buffered() > len(payload)
    first = peer.client.read(1000)
    rest = drain(peer.client)
    assert first + rest == payload
    assert peer.client.incoming_bytes_buffered() == 0


def test_input_split_at_every_awkward_boundary(peer: Peer) -> None:
    """Records cut mid-header and mid-body, fed from read-only ``bytes`` and from
    slices of a reused ``bytearray`` alike."""
    payload = os.urandom(100_000)
    peer.send(payload)
    wire = peer.outgoing.read()
    out = bytearray()
    reused = bytearray(7000)
    for i, off in enumerate(range(0, len(wire), 7000)):
        piece = wire[off : off + 7000]
        if i % 2:
            peer.client.receive_from_network(piece)
        else:
            reused[: len(piece)] = piece
            peer.client.receive_from_network(memoryview(reused)[: len(piece)])
        out += drain(peer.client, 5000)
    assert bytes(out) == payload


def test_ragged_eof_once_the_queued_input_is_read(peer: Peer) -> None:
    payload = os.urandom(600_000)
    peer.send(payload)
    peer.to_client()
    peer.client.receive_from_network(b"")
    out, target = bytearray(), bytearray(65536)
    with pytest.raises(RaggedEOF):
        while True:
            got = peer.client.readinto(target, 65536)
            out += target[:got]
    assert bytes(out) == payload


@pytest.mark.parametrize("name", BACKENDS)
def test_writes_from_read_only_and_writable_buffers(name: str, pki: PKI) -> None:
    p = Peer(name, pki).connect()
    data = os.urandom(70_000)
    assert p.client.write(data) == len(data)
    scratch = bytearray(b"x" + data)
    assert p.client.write(memoryview(scratch)[1:]) == len(data)
    scratch[:] = b"\0" * len(scratch)  # the caller may reuse it at once
    p.to_server()
    got = bytearray()
    while len(got) < 2 * len(data):
        got += p.server.read(2 * len(data))
    assert bytes(got) == data + data


@pytest.mark.parametrize("name", BACKENDS)
def test_readinto_as_first_call_runs_the_handshake(name: str, pki: PKI) -> None:
    client = (
        tls_adapter.get_backend(name)
        .client_context(TLSConfiguration(trust_store=pki.trust))
        .wrap_buffers("localhost")
    )
    with pytest.raises(WantReadError):
        client.readinto(bytearray(10), 10)
    assert client.outgoing_bytes_buffered() > 0  # the ClientHello


@pytest.mark.parametrize("name", BACKENDS)
def test_readinto_refuses_data_before_the_policy_approved_the_peer(
    name: str, pki: PKI, other_pki: PKI
) -> None:
    """A server whose chain does not validate never delivers application data."""
    p = Peer(name, pki, server_pki=other_pki)
    with pytest.raises(tls_adapter.CertificateValidationError):
        p.connect(lambda: p.client.readinto(bytearray(10), 10))
    with pytest.raises(tls_adapter.CertificateValidationError):
        p.client.readinto(bytearray(10), 10)


@pytest.fixture
def other_pki() -> PKI:
    """A PKI whose CA the tests' trust store does not hold."""
    from ..peers import make_pki

    return make_pki()


# -- wolfSSL's default cipher order ---------------------------------------------------------
@pytest.mark.skipif("wolfssl" not in BACKENDS, reason="wolfSSL is not available")
def test_wolfssl_default_order_follows_the_aes_instructions_of_the_library() -> None:
    from tls_adapter._ciphers import DEFAULT_CIPHER_LIST
    from tls_adapter.backends import _wolfssl_ffi, wolfssl

    client = wolfssl.default_ciphers(server_side=False)
    assert sorted(client) == sorted(int(s) for s in DEFAULT_CIPHER_LIST)
    assert wolfssl.default_ciphers(server_side=True) == [int(s) for s in DEFAULT_CIPHER_LIST]
    if _wolfssl_ffi.has_aes_instructions():
        assert client == [int(s) for s in DEFAULT_CIPHER_LIST]
    else:
        assert client[0] == CipherSuite.TLS_CHACHA20_POLY1305_SHA256
        tls12 = [s for s in client if CipherSuite(s).name.startswith("TLS_ECDHE")]
        assert "CHACHA20" in CipherSuite(tls12[0]).name
        assert client.index(CipherSuite.TLS_AES_128_GCM_SHA256) < client.index(tls12[0])


def _offered(client: tls_adapter.TLSWrappedBuffer) -> list[int]:
    """The cipher suites in the ClientHello *client* queued."""
    with pytest.raises(WantReadError):
        client.do_handshake()
    hello = client.peek_outgoing(client.outgoing_bytes_buffered())
    pos = 5 + 4 + 2 + 32  # record header, handshake header, version, random
    pos += 1 + hello[pos]  # session id
    size = int.from_bytes(hello[pos : pos + 2], "big")
    raw = hello[pos + 2 : pos + 2 + size]
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, size, 2)]


@pytest.mark.skipif("wolfssl" not in BACKENDS, reason="wolfSSL is not available")
def test_wolfssl_offers_the_default_order_and_an_explicit_list_as_given() -> None:
    from tls_adapter.backends import wolfssl

    backend = tls_adapter.get_backend("wolfssl")
    default = _offered(backend.client_context(TLSConfiguration()).wrap_buffers("localhost"))
    expected = wolfssl.default_ciphers(server_side=False)
    assert [c for c in default if c in expected] == expected
    explicit = [
        CipherSuite.TLS_AES_128_GCM_SHA256,
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ]
    offered = _offered(
        backend.client_context(TLSConfiguration(ciphers=explicit)).wrap_buffers("localhost")
    )
    assert [c for c in offered if c in explicit] == [int(c) for c in explicit]


# -- descriptor mode: the library reads and writes the socket itself --------------------
class SocketPeer:
    """A stdlib TLS server on a loopback socket running *handler* once, in a thread."""

    def __init__(
        self,
        pki: PKI,
        handler: Callable[[ssl.SSLSocket], object],
        gate: threading.Event | None = None,
    ) -> None:
        self.gate = gate  # set: the server may start its handshake
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        pki.server.configure_cert(self.context)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.handler = handler
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            raw, _ = self.listener.accept()
            raw.settimeout(10)
            if self.gate is not None:
                self.gate.wait(10)
            with self.context.wrap_socket(raw, server_side=True) as tls:
                self.handler(tls)
        except BaseException as e:  # reported by join()
            self.error = e
        finally:
            self.done.set()

    def join(self) -> None:
        self.thread.join(10)
        self.listener.close()
        if self.error is not None:
            raise self.error

    def address(self) -> tuple[str, int]:
        host, port = self.listener.getsockname()[:2]
        return host, port


def _client(name: str, pki: PKI, address: tuple[str, int]) -> tls_adapter.TLSWrappedSocket:
    context = tls_adapter.get_backend(name).client_context(TLSConfiguration(trust_store=pki.trust))
    return context.wrap_socket(socket.create_connection(address, timeout=10), "localhost")


def _echo_once(tls: ssl.SSLSocket) -> None:
    tls.sendall(tls.recv(1024))


def _until_gone(tls: ssl.SSLSocket) -> None:
    """Wait for the client to go, however it goes: a client that closes its descriptor
    with the server's session tickets unread makes its kernel send a reset."""
    with contextlib.suppress(OSError):  # ssl.SSLError is an OSError too
        tls.recv(1024)


@pytest.mark.parametrize("name", BACKENDS)
def test_wrap_socket_attaches_the_library_to_the_descriptor(name: str, pki: PKI) -> None:
    backend = tls_adapter.get_backend(name)
    assert backend.capabilities.native_socket
    server = SocketPeer(pki, _echo_once)
    with _client(name, pki, server.address()) as tls:
        assert isinstance(tls, DescriptorSocket)
        buffer = tls._buffer
        assert isinstance(buffer, FFIBuffer)
        tls.do_handshake()
        tls.sendall(b"ping")
        assert tls.recv(16) == b"ping"
        # Nothing passes through Python: no ciphertext is ever buffered here, and the
        # memory transport is refused.
        assert buffer.outgoing_bytes_buffered() == 0
        assert buffer.incoming_bytes_buffered() == 0
        assert buffer.peek_outgoing(100) == b""
        with pytest.raises(ValueError):
            buffer.receive_from_network(b"\x17\x03\x03\x00\x01x")
    server.join()


@pytest.mark.parametrize("name", BACKENDS)
def test_timeout_on_a_server_that_never_answers(name: str, pki: PKI) -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (in the kernel), never speaks
    try:
        with _client(name, pki, listener.getsockname()) as tls:
            tls.settimeout(0.2)
            with pytest.raises(TimeoutError):
                tls.do_handshake()
    finally:
        listener.close()


@pytest.mark.parametrize("name", BACKENDS)
def test_non_blocking_handshake_and_read_raise_want_read(name: str, pki: PKI) -> None:
    answer, release = threading.Event(), threading.Event()

    def handler(tls: ssl.SSLSocket) -> None:
        release.wait(10)
        tls.sendall(b"late")

    server = SocketPeer(pki, handler, gate=answer)
    with _client(name, pki, server.address()) as tls:
        tls.setblocking(False)
        with pytest.raises(WantReadError):
            tls.do_handshake()  # the ClientHello went out; the server does not answer yet
        answer.set()
        for _ in range(200):  # finish it by polling, as an event loop would
            try:
                tls.do_handshake()
                break
            except WantReadError:
                select.select([tls], [], [], 5)
        assert tls.negotiated_tls_version() is not None
        with pytest.raises(WantReadError):
            tls.recv(10)
        release.set()
        select.select([tls], [], [], 5)
        got = b""
        while len(got) < 4:
            try:
                got += tls.recv(10)
            except WantReadError:
                select.select([tls], [], [], 5)
        assert got == b"late"
    server.join()


@pytest.mark.parametrize("name", BACKENDS)
def test_non_blocking_send_raises_want_write_and_resumes_intact(name: str, pki: PKI) -> None:
    payload = os.urandom(8 << 20)  # far more than both kernel buffers hold
    start = threading.Event()
    received = bytearray()

    def handler(tls: ssl.SSLSocket) -> None:
        tls.do_handshake()
        start.wait(30)
        while len(received) < len(payload):
            chunk = tls.recv(65536)
            if not chunk:
                break
            received.extend(chunk)

    server = SocketPeer(pki, handler)
    with _client(name, pki, server.address()) as tls:
        tls.do_handshake()
        tls.setblocking(False)
        view, sent, blocked = memoryview(payload), 0, False
        while sent < len(payload):
            try:
                sent += tls.send(view[sent:])
            except WantWriteError:
                # Retry with the same data once there is room (the library holds the
                # record it could not send yet).
                blocked = True
                start.set()
                select.select([], [tls], [], 5)
        assert blocked, "the server never stopped reading"
        server.join()
    assert received == payload


@contextlib.contextmanager
def _reset_by_peer(name: str, pki: PKI) -> Iterator[tls_adapter.TLSWrappedSocket]:
    """A connected client whose server has reset the TCP connection (a RST: SO_LINGER 0,
    no close_notify)."""

    def handler(tls: ssl.SSLSocket) -> None:
        tls.recv(1024)
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    server = SocketPeer(pki, handler)
    with _client(name, pki, server.address()) as tls:
        tls.do_handshake()
        tls.sendall(b"go")
        assert server.done.wait(10)
        server.join()
        yield tls


@pytest.mark.parametrize("name", BACKENDS)
def test_connection_reset_raises_connection_reset_error(name: str, pki: PKI) -> None:
    with _reset_by_peer(name, pki) as tls:
        with pytest.raises(ConnectionResetError):
            tls.recv(1024)
        # The session is dead: every later operation raises again, without the library.
        with pytest.raises(OSError):
            tls.recv(1024)
        with pytest.raises(OSError):
            tls.sendall(b"x" * 65536)


@pytest.mark.parametrize("name", BACKENDS)
def test_send_to_a_reset_connection_raises_os_error(name: str, pki: PKI) -> None:
    with _reset_by_peer(name, pki) as tls, pytest.raises(OSError) as info:
        for _ in range(64):
            tls.sendall(b"x" * 65536)
    assert info.value.errno in (errno.ECONNRESET, errno.EPIPE)
    assert isinstance(info.value, (ConnectionResetError, BrokenPipeError))


@pytest.mark.parametrize("name", BACKENDS)
def test_eof_without_close_notify_is_ragged(name: str, pki: PKI) -> None:
    def handler(tls: ssl.SSLSocket) -> None:
        tls.sendall(tls.recv(1024))
        # TCP FIN without close_notify
        socket.socket(fileno=tls.detach()).close()

    server = SocketPeer(pki, handler)
    with _client(name, pki, server.address()) as tls:
        tls.do_handshake()
        tls.sendall(b"data")
        assert tls.recv(16) == b"data"
        server.join()
        with pytest.raises(RaggedEOF):
            tls.recv(16)


@pytest.mark.parametrize("name", BACKENDS)
def test_unwrap_returns_a_usable_plain_socket(name: str, pki: PKI) -> None:
    def handler(tls: ssl.SSLSocket) -> None:
        assert tls.recv(1024) == b"bye"
        plain = tls.unwrap()  # close_notify both ways
        plain.sendall(b"plain text after TLS")
        assert plain.recv(1024) == b"and back"

    server = SocketPeer(pki, handler)
    tls = _client(name, pki, server.address())
    tls.do_handshake()
    tls.sendall(b"bye")
    plain = tls.unwrap()
    try:
        assert isinstance(plain, socket.socket)
        assert plain.gettimeout() == 10
        got = b""
        while len(got) < len(b"plain text after TLS"):
            chunk = plain.recv(1024)
            assert chunk
            got += chunk
        assert got == b"plain text after TLS"
        plain.sendall(b"and back")
        server.join()
    finally:
        plain.close()


@pytest.mark.parametrize("name", BACKENDS)
def test_a_detached_or_closed_socket_is_not_used_by_the_library(name: str, pki: PKI) -> None:
    server = SocketPeer(pki, _until_gone)
    tls = _client(name, pki, server.address())
    tls.do_handshake()
    fd = tls.detach()
    try:
        # The descriptor now belongs to someone else: the library must not touch it.
        with pytest.raises(OSError) as info:
            tls.recv(16)
        assert info.value.errno == errno.EBADF
        with pytest.raises(OSError):
            tls.sendall(b"ping")
    finally:
        os.close(fd)
    server.join()
