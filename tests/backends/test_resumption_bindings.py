"""Session resumption on the pyopenssl, boringssl, mbedtls and rustls backends.

Real handshakes against a standard-library server: a loopback TCP server in a thread
for ``wrap_socket``, and a raw ``ssl.SSLObject`` over memory BIOs for
``wrap_buffers``. Each server's ``ssl.SSLContext`` is shared by all its connections (so
its tickets and session cache are), and it records whether each handshake resumed: the
server's word, not just the client's, decides that a session was reused.

* pyopenssl resumes with TLS 1.2 and 1.3; boringssl (utls) with TLS 1.2 only: with TLS
  1.3 utls's session never gets the server's ticket, so ``session()`` is ``None``.
* A session offered to another server (its own ticket keys) is not reused and the full
  handshake validates; an untrusted server is refused although a session is offered.
* mbedtls and rustls declare no resumption and refuse ``session=`` with
  ``ConfigurationError``; rustls does not resume by itself either (rtls builds a rustls
  configuration, with its own session store, per connection).
* The private pyOpenSSL API the backend needs for it (``_compat``), one test each.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
import trustme

import tls_adapter
from tls_adapter import (
    CertificateValidationError,
    ClientContext,
    ConfigurationError,
    TLSError,
    TLSSession,
    TLSVersion,
    TLSWrappedBuffer,
    WantReadError,
)

from ..peers import (
    PKI,
    client_config,
    handshake_buffers,
    make_server_context,
    read_exactly,
    server_config,
)
from .stdlib_peer import stdlib_server_context
from .support import pinned, requires_backend

if TYPE_CHECKING:
    from OpenSSL import SSL

V12, V13 = TLSVersion.TLSv1_2, TLSVersion.TLSv1_3
#: The backends that resume, with the TLS versions they resume with.
RESUMING = [
    pytest.param("pyopenssl", V12, id="pyopenssl-tls1.2", marks=requires_backend("pyopenssl")),
    pytest.param("pyopenssl", V13, id="pyopenssl-tls1.3", marks=requires_backend("pyopenssl")),
    pytest.param("boringssl", V12, id="boringssl-tls1.2", marks=requires_backend("boringssl")),
]
TRANSPORTS = ["socket", "buffers"]
_MBEDTLS_313 = pytest.mark.skipif(
    sys.version_info >= (3, 13),
    reason="python-mbedtls 2.10.1 is not installed on Python 3.13 (the extra excludes it)",
)
NOT_RESUMING = [
    pytest.param("mbedtls", marks=[_MBEDTLS_313, requires_backend("mbedtls")]),
    pytest.param("rustls", marks=requires_backend("rustls")),
]


# -- the stdlib server ------------------------------------------------------------------
@dataclass
class Server:
    """A stdlib TLS server: one shared ``ssl.SSLContext``, over TCP and over memory.

    ``reused`` gets the server's ``session_reused`` for each completed handshake, before
    it answers ``ping`` with ``pong``.
    """

    ctx: ssl.SSLContext
    reused: list[bool] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except OSError:  # the accept timeout, or closed
                continue
            raw.settimeout(10)
            try:
                with self.ctx.wrap_socket(raw, server_side=True) as tls:
                    self.reused.append(bool(tls.session_reused))
                    if _recv_exactly(tls.recv, 4) == b"ping":
                        tls.sendall(b"pong")
            except (ssl.SSLError, OSError, EOFError) as e:  # collected for the test
                self.errors.append(e)
            finally:
                raw.close()

    def memory_peer(self) -> MemoryPeer:
        """A server connection of this context over memory BIOs."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self.ctx.wrap_bio(incoming, outgoing, server_side=True)
        return MemoryPeer(obj, incoming, outgoing)


@dataclass
class MemoryPeer:
    """A stdlib server connection and its two memory BIOs."""

    obj: ssl.SSLObject
    incoming: ssl.MemoryBIO
    outgoing: ssl.MemoryBIO


def _recv_exactly(recv: Callable[[int], bytes], n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = recv(n - len(out))
        if not chunk:
            raise EOFError(f"the peer closed after {len(out)} of {n} bytes")
        out += chunk
    return out


@pytest.fixture
def server(pki: PKI) -> Iterator[Server]:
    """The server a session is made with and resumed on."""
    started = Server(stdlib_server_context(pki))
    yield started
    started.close()


@pytest.fixture
def other_server(pki: PKI) -> Iterator[Server]:
    """Another server with the same trusted certificate but its own context (ticket keys)."""
    started = Server(stdlib_server_context(pki))
    yield started
    started.close()


@pytest.fixture
def untrusted_server(other_ca: trustme.CA) -> Iterator[Server]:
    """A server for ``localhost`` whose certificate the client does not trust."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    other_ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    started = Server(ctx)
    yield started
    started.close()


# -- one connection, ping/pong ----------------------------------------------------------
@dataclass
class Result:
    """What a client saw of one connection (after reading the server's answer)."""

    resumed: bool
    session: TLSSession | None
    peer: bytes | None
    version: TLSVersion | None


def _over_socket(ctx: ClientContext, server: Server, session: TLSSession | None) -> Result:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    tls = ctx.wrap_socket(raw, "localhost", session=session)
    try:
        tls.do_handshake()
        tls.sendall(b"ping")
        assert _recv_exactly(tls.recv, 4) == b"pong"
        return Result(
            tls.session_reused(), tls.session(), tls.getpeercert(), tls.negotiated_tls_version()
        )
    finally:
        tls.close()


def _to_server(buffer: TLSWrappedBuffer, peer: MemoryPeer) -> None:
    n = buffer.outgoing_bytes_buffered()
    if n:
        peer.incoming.write(buffer.peek_outgoing(n))
        buffer.consume_outgoing(n)


def _to_client(peer: MemoryPeer, buffer: TLSWrappedBuffer) -> None:
    data = peer.outgoing.read()
    if data:
        buffer.receive_from_network(data)


def _handshake(buffer: TLSWrappedBuffer, peer: MemoryPeer) -> None:
    """Drive both handshakes; the client's errors propagate (after its alert went out)."""
    client_done = server_done = False
    for _ in range(20):
        if not client_done:
            try:
                buffer.do_handshake()
                client_done = True
            except WantReadError:
                pass
            finally:
                _to_server(buffer, peer)
        if not server_done:
            try:
                peer.obj.do_handshake()
                server_done = True
            except ssl.SSLWantReadError:
                pass
            _to_client(peer, buffer)
        if client_done and server_done:
            return
    raise AssertionError("the handshake made no progress")


def _over_buffers(ctx: ClientContext, server: Server, session: TLSSession | None) -> Result:
    buffer = ctx.wrap_buffers("localhost", session=session)
    peer = server.memory_peer()
    _handshake(buffer, peer)
    server.reused.append(peer.obj.session_reused)
    buffer.write(b"ping")
    _to_server(buffer, peer)
    assert peer.obj.read(4) == b"ping"
    peer.obj.write(b"pong")
    _to_client(peer, buffer)  # the server's tickets (TLS 1.3) came first
    assert buffer.read(4) == b"pong"
    return Result(
        buffer.session_reused(),
        buffer.session(),
        buffer.getpeercert(),
        buffer.negotiated_tls_version(),
    )


def _connect(
    transport: str, ctx: ClientContext, server: Server, session: TLSSession | None = None
) -> Result:
    if transport == "socket":
        return _over_socket(ctx, server, session)
    return _over_buffers(ctx, server, session)


def _client(pki: PKI, name: str, version: TLSVersion) -> ClientContext:
    return tls_adapter.get_backend(name).client_context(pinned(client_config(pki), version))


# -- backends that resume ---------------------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("name", "version"), RESUMING)
def test_resumes_with_the_session(
    pki: PKI, server: Server, name: str, version: TLSVersion, transport: str
) -> None:
    assert tls_adapter.get_backend(name).capabilities.session_resumption
    ctx = _client(pki, name, version)
    first = _connect(transport, ctx, server)
    assert not first.resumed
    assert first.session is not None
    assert first.session.backend == name
    assert first.session.tls_version is version
    assert not first.session.expired()

    second = _connect(transport, ctx, server, first.session)
    assert second.resumed
    assert second.peer == first.peer  # the session's certificate, not sent again
    assert second.version is version
    # A resumed connection hands out its own session, which resumes too.
    assert second.session is not None
    third = _connect(transport, ctx, server, second.session)
    assert third.resumed
    assert server.reused == [False, True, True]  # the server agrees
    assert not server.errors


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("name", "version"), RESUMING)
def test_a_session_offered_to_another_server_is_not_reused(
    pki: PKI,
    server: Server,
    other_server: Server,
    name: str,
    version: TLSVersion,
    transport: str,
) -> None:
    ctx = _client(pki, name, version)
    first = _connect(transport, ctx, server)
    assert first.session is not None
    elsewhere = _connect(transport, ctx, other_server, first.session)
    assert not elsewhere.resumed
    assert other_server.reused == [False]
    assert elsewhere.peer is not None
    assert elsewhere.peer == first.peer
    # A full, validated handshake hands out a session of its own, for this server.
    assert elsewhere.session is not None
    assert _connect(transport, ctx, other_server, elsewhere.session).resumed


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("name", "version"), RESUMING)
def test_an_untrusted_server_is_refused_although_a_session_is_offered(
    pki: PKI,
    server: Server,
    untrusted_server: Server,
    name: str,
    version: TLSVersion,
    transport: str,
) -> None:
    ctx = _client(pki, name, version)
    session = _connect(transport, ctx, server).session
    assert session is not None
    with pytest.raises(CertificateValidationError):
        _connect(transport, ctx, untrusted_server, session)
    assert not any(untrusted_server.reused)


@pytest.mark.parametrize(("name", "version"), RESUMING)
def test_sessions_stay_with_their_context(
    pki: PKI, server: Server, name: str, version: TLSVersion
) -> None:
    """Another client context, or the other check_hostname setting, refuses a session
    (as the openssl backend's ``Session refers to a different SSLContext``)."""
    ctx = _client(pki, name, version)
    session = _connect("buffers", ctx, server).session
    assert session is not None
    with pytest.raises(ValueError, match="another"):
        _client(pki, name, version).wrap_buffers("localhost", session=session)
    with pytest.raises(ValueError, match="check_hostname"):
        ctx.wrap_buffers("localhost", check_hostname=False, session=session)
    with socket.socket() as raw, pytest.raises(ValueError, match="another"):
        _client(pki, name, version).wrap_socket(raw, "localhost", session=session)
    foreign = TLSSession("openssl", object(), version, 60)
    with pytest.raises(ValueError, match="openssl"):
        ctx.wrap_buffers("localhost", session=foreign)
    with pytest.raises(TypeError):
        ctx.wrap_buffers("localhost", session=object())  # type: ignore[arg-type]


@requires_backend("pyopenssl")
def test_pyopenssl_tls13_session_waits_for_the_ticket(pki: PKI, server: Server) -> None:
    ctx = _client(pki, "pyopenssl", V13)
    buffer = ctx.wrap_buffers("localhost")
    assert buffer.session() is None  # before the handshake
    peer = server.memory_peer()
    _handshake(buffer, peer)
    assert buffer.session() is None  # the server's ticket follows its handshake
    peer.obj.write(b"pong")
    _to_client(peer, buffer)
    assert buffer.read(4) == b"pong"
    assert buffer.session() is not None


@requires_backend("pyopenssl")
def test_pyopenssl_hands_out_no_session_after_a_failure(pki: PKI, server: Server) -> None:
    ctx = _client(pki, "pyopenssl", V12)
    buffer = ctx.wrap_buffers("localhost")
    _handshake(buffer, server.memory_peer())
    assert buffer.session() is not None
    buffer.receive_from_network(b"\x17\x03\x03\x00\x20" + bytes(32))  # a forged record
    with pytest.raises(TLSError):
        buffer.read(10)
    assert buffer.session() is None  # OpenSSL dropped the session


@requires_backend("pyopenssl")
def test_pyopenssl_server_side_reports_resumption(pki: PKI) -> None:
    """A pyopenssl server: no session to hand out, but it sees the client resume."""
    server_ctx = make_server_context(tls_adapter.get_backend("pyopenssl"), server_config(pki))
    ctx = _client(pki, "pyopenssl", V13)
    session = None
    seen = []
    for _ in range(2):
        client = ctx.wrap_buffers("localhost", session=session)
        peer = server_ctx.wrap_buffers()
        handshake_buffers(client, peer)
        peer.write(b"pong")
        assert read_exactly(client, peer, 4) == b"pong"
        assert peer.session() is None
        seen.append((client.session_reused(), peer.session_reused()))
        session = client.session()
    assert seen == [(False, False), (True, True)]


@requires_backend("boringssl")
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_boringssl_tls13_hands_out_no_session(pki: PKI, server: Server, transport: str) -> None:
    """utls's TLS 1.3 session never gets the server's ticket: nothing to resume with."""
    ctx = _client(pki, "boringssl", V13)
    for _ in range(2):
        result = _connect(transport, ctx, server)
        assert result.session is None
        assert not result.resumed
    assert server.reused == [False, False]


# -- backends that do not resume --------------------------------------------------------
@pytest.mark.parametrize("name", NOT_RESUMING)
def test_no_resumption_refuses_a_session(pki: PKI, name: str) -> None:
    backend = tls_adapter.get_backend(name)
    assert not backend.capabilities.session_resumption
    assert any("no session resumption" in note for note in backend.capabilities.notes)
    ctx = backend.client_context(client_config(pki))
    session = TLSSession(name, object(), V12, 60)
    with socket.socket() as raw, pytest.raises(ConfigurationError, match=name):
        ctx.wrap_socket(raw, "localhost", session=session)
    with pytest.raises(ConfigurationError, match=name):
        ctx.wrap_buffers("localhost", session=session)


@pytest.mark.parametrize("name", NOT_RESUMING)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_resumption_hands_out_no_session(
    pki: PKI, server: Server, name: str, transport: str
) -> None:
    ctx = tls_adapter.get_backend(name).client_context(pinned(client_config(pki), V12))
    result = _connect(transport, ctx, server)
    assert result.session is None
    assert not result.resumed


@requires_backend("rustls")
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("version", [V12, V13], ids=["tls1.2", "tls1.3"])
def test_rustls_does_not_resume_by_itself(
    pki: PKI, server: Server, version: TLSVersion, transport: str
) -> None:
    """rustls keeps tickets in its client configuration, keyed by server name alone;
    rtls builds one per connection. Were it shared per context, rustls would resume
    unseen (rtls reports ``session_reused`` as always false): the server would say so."""
    ctx = _client(pki, "rustls", version)
    for _ in range(3):
        assert not _connect(transport, ctx, server).resumed
    assert server.reused == [False, False, False]


# -- private API wrappers (tls_adapter.backends._compat) --------------------------------
# Each test calls one wrapper directly on raw pyOpenSSL connections, so that a
# pyOpenSSL/cryptography release that moves a private name fails here, by name.
def _raw_client() -> SSL.Context:
    from OpenSSL import SSL

    native = SSL.Context(SSL.TLS_CLIENT_METHOD)
    native.set_min_proto_version(SSL.TLS1_3_VERSION)
    return native


def _raw_connection(
    native: SSL.Context, server: Server, session: SSL.Session | None = None
) -> tuple[SSL.Connection, MemoryPeer]:
    """A raw pyOpenSSL TLS 1.3 client (no verification) after ping/pong with *server*."""
    from OpenSSL import SSL

    conn = SSL.Connection(native, None)
    conn.set_connect_state()
    if session is not None:
        conn.set_session(session)
    peer = server.memory_peer()
    for _ in range(20):
        with contextlib.suppress(SSL.WantReadError):
            conn.do_handshake()
        while True:
            try:
                peer.incoming.write(conn.bio_read(65536))
            except SSL.WantReadError:
                break
        try:
            peer.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        else:
            break
        finally:
            conn.bio_write(peer.outgoing.read())
    conn.do_handshake()
    peer.obj.write(b"pong")
    conn.bio_write(peer.outgoing.read())
    assert conn.recv(4) == b"pong"
    return conn, peer


@requires_backend("pyopenssl")
def test_compat_ssl_session_reused(server: Server) -> None:
    from tls_adapter.backends._compat import session_der, session_from_der, ssl_session_reused

    native = _raw_client()
    conn, _ = _raw_connection(native, server)
    assert ssl_session_reused(conn) is False
    live = conn.get_session()
    assert live is not None
    again, peer = _raw_connection(native, server, session_from_der(session_der(live), live))
    assert ssl_session_reused(again) is True
    assert peer.obj.session_reused


@requires_backend("pyopenssl")
def test_compat_session_der(server: Server) -> None:
    from tls_adapter._der import _SEQUENCE, _whole
    from tls_adapter.backends._compat import session_der

    conn, _ = _raw_connection(_raw_client(), server)
    live = conn.get_session()
    assert live is not None
    der = session_der(live)
    fields = _whole(der, "session").expect(_SEQUENCE).children()
    assert [f.tag for f in fields[:5]] == [0x02, 0x02, 0x04, 0x04, 0x04]
    assert 0xAA in [f.tag for f in fields]  # the TLS 1.3 ticket, read with "pong"


@requires_backend("pyopenssl")
def test_compat_session_from_der(server: Server) -> None:
    from tls_adapter.backends._compat import session_der, session_from_der

    conn, _ = _raw_connection(_raw_client(), server)
    live = conn.get_session()
    assert live is not None
    der = session_der(live)
    copy = session_from_der(der, live)
    assert copy is not live
    assert copy._context is live._context  # what Connection.set_session checks
    assert session_der(copy) == der
    with pytest.raises(ValueError, match="decode"):
        session_from_der(b"\x30\x03\x02\x01\x01", live)


# -- the pyopenssl backend's reading of the session encoding -----------------------------
def _tlv(tag: int, content: bytes) -> bytes:
    assert len(content) < 128
    return bytes([tag, len(content)]) + content


def _encoded(session_id: bytes, *tagged: tuple[int, bytes]) -> bytes:
    head = (
        _tlv(0x02, b"\x01")
        + _tlv(0x02, b"\x03\x04")
        + _tlv(0x04, b"\x13\x01")
        + _tlv(0x04, session_id)
        + _tlv(0x04, bytes(48))
    )
    return _tlv(0x30, head + b"".join(_tlv(tag, inner) for tag, inner in tagged))


@requires_backend("pyopenssl")
def test_pyopenssl_reads_resumability_and_lifetime() -> None:
    from tls_adapter.backends.pyopenssl import _lifetime_if_resumable

    ticket = (0xAA, _tlv(0x04, b"ticket"))
    timeout = (0xA2, _tlv(0x02, b"\x1c\x20"))  # 7200 s
    hint = (0xA9, _tlv(0x02, b"\x02\x58"))  # 600 s
    sid = bytes(32)
    assert _lifetime_if_resumable(_encoded(sid, timeout, hint, ticket), V13) == 600.0
    assert _lifetime_if_resumable(_encoded(sid, timeout, ticket), V13) == 7200.0
    assert _lifetime_if_resumable(_encoded(b"", ticket), V12) == 300.0
    assert _lifetime_if_resumable(_encoded(sid, timeout), V12) == 7200.0
    assert _lifetime_if_resumable(_encoded(sid, timeout), V13) is None  # no ticket yet
    assert _lifetime_if_resumable(_encoded(b"", timeout), V12) is None  # nothing to offer
    assert _lifetime_if_resumable(_encoded(sid, (0xAA, _tlv(0x04, b""))), V13) is None
    assert _lifetime_if_resumable(b"\x30\x05garbage", V12) is None
    assert _lifetime_if_resumable(_tlv(0x30, _tlv(0x02, b"\x01")), V12) is None
