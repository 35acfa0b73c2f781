"""Session resumption by the ctypes backends (GnuTLS, wolfSSL), over real sockets.

The server is the standard library's ``ssl`` in a thread on 127.0.0.1, one server
context per "server" (so one set of ticket keys: it resumes its own sessions and
declines every other's), recording ``session_reused`` for each connection: the
verdicts are the server's, and the client must agree. Each case runs for both
backends, TLS 1.2 and 1.3, and both transports: ``wrap_socket`` (the library on the
descriptor) and ``wrap_buffers`` pumped over the socket (the generic
``ClientContext.wrap_socket``). Certificates are made at run time.

wolfSSL 5.5.4 resumes TLS 1.2 by session ID only (see the backend's notes), which the
stdlib server does not do: its TLS 1.2 resumption is checked against a wolfSSL server.
"""

from __future__ import annotations

import gc
import pickle
import socket
import ssl
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, cast

import pytest
import trustme

import tls_adapter
from tls_adapter import (
    CertificateValidationError,
    TLSConfiguration,
    TLSVersion,
    WantReadError,
)
from tls_adapter._api import ServerName
from tls_adapter._session import TLSSession
from tls_adapter.backends import available_backends

from ..peers import PKI, ThreadedServer, chain_of, der_of
from .support import pinned

BACKENDS = [b for b in ("gnutls", "wolfssl") if b in available_backends()]
pytestmark = pytest.mark.skipif(not BACKENDS, reason="neither GnuTLS nor wolfSSL is available")

STDLIB_VERSION = {
    TLSVersion.TLSv1_2: ssl.TLSVersion.TLSv1_2,
    TLSVersion.TLSv1_3: ssl.TLSVersion.TLSv1_3,
}


# -- servers ---------------------------------------------------------------------------------
def stdlib_context(leaf: trustme.LeafCert, version: TLSVersion) -> ssl.SSLContext:
    """A stdlib server context pinned to *version* (tickets on, as by default)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(ctx)
    ctx.minimum_version = ctx.maximum_version = STDLIB_VERSION[version]
    return ctx


class _StdlibServing:
    """A stdlib server context with the one method :class:`ThreadedServer` calls."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context

    def wrap_socket(self, raw: socket.socket) -> ssl.SSLSocket:
        return self.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)


class StdlibServer(ThreadedServer):
    """A stdlib TLS server on a loopback port: answers ``ping`` with ``pong`` and records,
    per connection, whether it resumed a session (``reused``)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.reused: list[bool] = []
        serving = cast(tls_adapter.ServerContext, _StdlibServing(context))
        super().__init__(serving, self._answer)  # type: ignore[arg-type]

    def _answer(self, tls: ssl.SSLSocket) -> None:
        self.reused.append(bool(tls.session_reused))
        if tls.recv(100) == b"ping":
            tls.sendall(b"pong")
        tls.recv(100)  # until the client closes


class WolfSSLServer(ThreadedServer):
    """A wolfSSL server (it resumes TLS 1.2 session IDs): answers ``ping`` with ``pong``
    and records, per connection, whether it resumed a session (``reused``)."""

    def __init__(self, pki: PKI, version: TLSVersion) -> None:
        config = pinned(TLSConfiguration(certificate_chain=pki.server_chain), version)
        make = tls_adapter.get_backend("wolfssl").server_context
        assert make is not None
        super().__init__(make(config), self._answer)
        self.reused: list[bool] = []

    def _answer(self, tls: tls_adapter.TLSWrappedSocket) -> None:
        self.reused.append(tls.session_reused())
        if tls.recv(100) == b"ping":
            tls.sendall(b"pong")
        with suppress(tls_adapter.TLSError, OSError):
            tls.recv(100)


# -- clients ---------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What the client saw on one connection."""

    reused: bool
    session: TLSSession | None
    session_before_read: TLSSession | None
    peer: bytes | None
    tls_version: TLSVersion | None


def client_context(
    name: str, pki: PKI, version: TLSVersion, **config: Any
) -> tls_adapter.ClientContext:
    base = TLSConfiguration(trust_store=pki.trust, **config)
    return tls_adapter.get_backend(name).client_context(pinned(base, version))


def wrap(
    ctx: tls_adapter.ClientContext,
    raw: socket.socket,
    mode: str,
    session: TLSSession | None,
    host: str = "localhost",
) -> tls_adapter.TLSWrappedSocket:
    """The backend's own ``wrap_socket`` (the library on the descriptor), or
    ``wrap_buffers`` pumped over the socket by the generic ``wrap_socket``."""
    if mode == "native":
        return ctx.wrap_socket(raw, host, session=session)
    return tls_adapter.ClientContext.wrap_socket(ctx, raw, host, session=session)


def connect(
    ctx: tls_adapter.ClientContext,
    port: int,
    mode: str,
    session: TLSSession | None = None,
) -> Outcome:
    """One connection: handshake, ``ping``, read ``pong`` (and the tickets before it)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        tls = wrap(ctx, raw, mode, session)
    except BaseException:
        raw.close()
        raise
    with tls:
        tls.do_handshake()
        before = tls.session()
        tls.sendall(b"ping")
        assert tls.recv(100) == b"pong"
        return Outcome(
            tls.session_reused(),
            tls.session(),
            before,
            tls.getpeercert(),
            tls.negotiated_tls_version(),
        )


class RecordingPolicy:
    """Stands in for a context's validation policy, recording each chain it checks."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.chains: list[list[bytes]] = []

    def verify(self, chain: Sequence[bytes], name: ServerName | None, server_side: bool) -> None:
        self.chains.append(list(chain))
        self.inner.verify(chain, name, server_side)


@pytest.fixture(params=BACKENDS)
def ffi(request: pytest.FixtureRequest) -> str:
    """The name of each ctypes backend available here."""
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def other_leaf(pki: PKI) -> trustme.LeafCert:
    """Another certificate for localhost from the trusted CA."""
    return pki.ca.issue_cert("localhost")


@pytest.fixture
def server(pki: PKI, ffi: str, tls_version: TLSVersion) -> Iterator[StdlibServer | WolfSSLServer]:
    """A server that resumes this backend's sessions at *tls_version*."""
    if ffi == "wolfssl" and tls_version is TLSVersion.TLSv1_2:
        with WolfSSLServer(pki, tls_version) as threaded:
            assert isinstance(threaded, WolfSSLServer)
            yield threaded
        return
    with StdlibServer(stdlib_context(pki.server, tls_version)) as stdlib:
        yield stdlib


def verdicts(server: StdlibServer | WolfSSLServer, count: int) -> list[bool]:
    """The server's verdicts once it has recorded *count* handshakes."""
    deadline = time.monotonic() + 5
    while len(server.reused) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    return list(server.reused)


# -- it resumes ------------------------------------------------------------------------------
def test_second_connection_resumes(
    ffi: str,
    tls_version: TLSVersion,
    socket_flavour: str,
    server: StdlibServer | WolfSSLServer,
    pki: PKI,
) -> None:
    """A full handshake, then two that resume (each offering its predecessor's session):
    the server says so, the client agrees, and the leaf is still there."""
    ctx = client_context(ffi, pki, tls_version)
    first = connect(ctx, server.port, socket_flavour)
    assert not first.reused and first.session is not None
    assert first.session.backend == ffi and first.session.tls_version is tls_version
    if tls_version is TLSVersion.TLSv1_3:  # resumable only once the ticket has arrived
        assert first.session_before_read is None
    second = connect(ctx, server.port, socket_flavour, first.session)
    assert second.reused and second.session is not None
    third = connect(ctx, server.port, socket_flavour, second.session)
    assert third.reused
    assert verdicts(server, 3) == [False, True, True]
    # getpeercert() after resumption: the leaf the library kept from the full handshake.
    assert first.peer == second.peer == third.peer == der_of(pki.server)


def test_tls13_session_only_after_a_new_ticket(ffi: str, socket_flavour: str, pki: PKI) -> None:
    """A resumed TLS 1.3 connection hands out a session only once its own ticket has
    come (not the one it was offered, which is used up)."""
    ctx = client_context(ffi, pki, TLSVersion.TLSv1_3)
    with StdlibServer(stdlib_context(pki.server, TLSVersion.TLSv1_3)) as server:
        first = connect(ctx, server.port, socket_flavour)
        second = connect(ctx, server.port, socket_flavour, first.session)
        assert second.reused and second.session_before_read is None
        assert second.session is not None and second.session is not first.session
        assert verdicts(server, 2) == [False, True]


def test_wolfssl_tls12_does_not_ask_for_tickets(socket_flavour: str, pki: PKI) -> None:
    """wolfSSL offers a TLS 1.2 session by ID only: the stdlib server (which resumes only
    tickets) does a full handshake, which works and validates."""
    if "wolfssl" not in BACKENDS:
        pytest.skip("no wolfSSL")
    ctx = client_context("wolfssl", pki, TLSVersion.TLSv1_2)
    with StdlibServer(stdlib_context(pki.server, TLSVersion.TLSv1_2)) as server:
        first = connect(ctx, server.port, socket_flavour)
        assert first.session is not None
        second = connect(ctx, server.port, socket_flavour, first.session)
        assert not second.reused and second.peer == der_of(pki.server)
        assert verdicts(server, 2) == [False, False]


# -- it validates whatever did not resume ----------------------------------------------------
def test_another_server_declines_and_is_validated_in_full(
    ffi: str,
    tls_version: TLSVersion,
    socket_flavour: str,
    pki: PKI,
    other_leaf: trustme.LeafCert,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A session offered to another server (other ticket keys, another certificate) is
    declined: a full handshake whose chain, that server's alone, the policy checks. A
    resumed one is not checked (it carries no chain)."""
    ctx = client_context(ffi, pki, tls_version)
    recorder = RecordingPolicy(ctx._policy)  # type: ignore[attr-defined]
    monkeypatch.setattr(ctx, "_policy", recorder)
    with StdlibServer(stdlib_context(pki.server, tls_version)) as a:
        first = connect(ctx, a.port, socket_flavour)
        assert recorder.chains == [[der_of(pki.server)]]
        with StdlibServer(stdlib_context(other_leaf, tls_version)) as b:
            declined = connect(ctx, b.port, socket_flavour, first.session)
            assert verdicts(b, 1) == [False]
        assert not declined.reused and declined.peer == der_of(other_leaf)
        assert recorder.chains[1] == [der_of(other_leaf)]
        if ffi == "wolfssl":  # the session would hold both chains (see the notes)
            assert declined.session is None
        else:
            assert declined.session is not None
        if ffi == "wolfssl" and tls_version is TLSVersion.TLSv1_2:
            return  # no resumption by the stdlib server (see the module docstring)
        resumed = connect(ctx, a.port, socket_flavour, first.session)
        assert resumed.reused and len(recorder.chains) == 2
        assert verdicts(a, 2) == [False, True]


def test_untrusted_server_is_refused_with_a_session(
    ffi: str, tls_version: TLSVersion, socket_flavour: str, pki: PKI, other_ca: trustme.CA
) -> None:
    ctx = client_context(ffi, pki, tls_version)
    with StdlibServer(stdlib_context(pki.server, tls_version)) as a:
        session = connect(ctx, a.port, socket_flavour).session
    assert session is not None
    rogue = other_ca.issue_cert("localhost")
    with (
        StdlibServer(stdlib_context(rogue, tls_version)) as server,
        pytest.raises(CertificateValidationError),
    ):
        connect(ctx, server.port, socket_flavour, session)


def test_wrong_name_is_refused_with_a_session(
    ffi: str, tls_version: TLSVersion, socket_flavour: str, pki: PKI
) -> None:
    """The declined offer's full handshake checks the name too."""
    ctx = client_context(ffi, pki, tls_version)
    with StdlibServer(stdlib_context(pki.server, tls_version)) as a:
        session = connect(ctx, a.port, socket_flavour).session
    wrong = pki.ca.issue_cert("other.example")
    with (
        StdlibServer(stdlib_context(wrong, tls_version)) as b,
        pytest.raises(CertificateValidationError),
    ):
        connect(ctx, b.port, socket_flavour, session)


def test_session_of_another_version_is_not_offered(ffi: str, socket_flavour: str, pki: PKI) -> None:
    """A TLS 1.2 session given to a TLS 1.3-only context: a full handshake, no error."""
    with StdlibServer(stdlib_context(pki.server, TLSVersion.TLSv1_2)) as a:
        old = connect(client_context(ffi, pki, TLSVersion.TLSv1_2), a.port, socket_flavour)
        assert old.session is not None
    ctx = client_context(ffi, pki, TLSVersion.TLSv1_3)
    with StdlibServer(stdlib_context(pki.server, TLSVersion.TLSv1_3)) as b:
        fresh = connect(ctx, b.port, socket_flavour, old.session)
        assert not fresh.reused and verdicts(b, 1) == [False]


def test_a_tls12_session_never_holds_back_tls13(ffi: str, socket_flavour: str, pki: PKI) -> None:
    """A TLS 1.2 session offered by a context that allows TLS 1.3, to a server that now
    speaks TLS 1.3: TLS 1.3 is negotiated (wolfSSL would pin the ClientHello to TLS 1.2,
    so its backend does not offer the session there)."""
    with StdlibServer(stdlib_context(pki.server, TLSVersion.TLSv1_2)) as a:
        old = connect(client_context(ffi, pki, TLSVersion.TLSv1_2), a.port, socket_flavour)
        assert old.session is not None
    ctx = tls_adapter.get_backend(ffi).client_context(TLSConfiguration(trust_store=pki.trust))
    upgraded = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki.server.configure_cert(upgraded)
    with StdlibServer(upgraded) as b:
        fresh = connect(ctx, b.port, socket_flavour, old.session)
    assert not fresh.reused and fresh.tls_version is TLSVersion.TLSv1_3


# -- what may be offered ---------------------------------------------------------------------
@pytest.mark.skipif(len(BACKENDS) < 2, reason="needs both GnuTLS and wolfSSL")
@pytest.mark.parametrize("wrapper", ["wrap_socket", "wrap_buffers"])
def test_gnutls_and_wolfssl_refuse_each_others_sessions(pki: PKI, wrapper: str) -> None:
    sessions: dict[str, TLSSession | None] = {}
    with StdlibServer(stdlib_context(pki.server, TLSVersion.TLSv1_3)) as server:
        for name in BACKENDS:
            ctx = client_context(name, pki, TLSVersion.TLSv1_3)
            sessions[name] = connect(ctx, server.port, "native").session
        for name, other in (("gnutls", "wolfssl"), ("wolfssl", "gnutls")):
            ctx = client_context(name, pki, TLSVersion.TLSv1_3)
            with pytest.raises(ValueError, match=f"made by the {other} backend"):
                if wrapper == "wrap_buffers":
                    ctx.wrap_buffers("localhost", session=sessions[other])
                else:
                    with socket.create_connection(("127.0.0.1", server.port)) as raw:
                        ctx.wrap_socket(raw, "localhost", session=sessions[other])
    foreign = TLSSession("openssl", object(), TLSVersion.TLSv1_3, 60)
    ctx = client_context(BACKENDS[0], pki, TLSVersion.TLSv1_3)
    with pytest.raises(ValueError):
        ctx.wrap_buffers("localhost", session=foreign)
    with pytest.raises(TypeError):
        ctx.wrap_buffers("localhost", session=b"bytes")  # type: ignore[arg-type]


def test_capabilities_declare_resumption(ffi: str) -> None:
    capabilities = tls_adapter.get_backend(ffi).capabilities
    assert capabilities.session_resumption
    assert any("session resumption" in note for note in capabilities.notes)


def test_sessions_stay_in_memory(ffi: str, pki: PKI) -> None:
    """The handle is the library's state: not picklable, no secret in the repr, and
    (wolfSSL) freed once nobody holds it."""
    ctx = client_context(ffi, pki, TLSVersion.TLSv1_3)
    with StdlibServer(stdlib_context(pki.server, TLSVersion.TLSv1_3)) as server:
        session = connect(ctx, server.port, "native").session
    assert session is not None
    with pytest.raises(TypeError):
        pickle.dumps(session)
    if ffi == "gnutls":  # gnutls_session_get_data2's bytes
        assert isinstance(session.handle, bytes) and session.handle
        assert repr(session.handle[:8])[2:-1] not in repr(session)
    else:  # a WOLFSSL_SESSION copy, freed once nobody holds it
        with pytest.raises(TypeError):
            pickle.dumps(session.handle)
        assert repr(session.handle) == "<wolfSSL SessionHandle>"
        ref = weakref.ref(session.handle)
        del session
        gc.collect()
        assert ref() is None


def test_gnutls_session_bytes_are_opaque_and_refused_when_corrupt(pki: PKI) -> None:
    """Data GnuTLS cannot take is not offered: a full handshake."""
    if "gnutls" not in BACKENDS:
        pytest.skip("no GnuTLS")
    ctx = client_context("gnutls", pki, TLSVersion.TLSv1_3)
    junk = TLSSession("gnutls", b"\x00" * 64, TLSVersion.TLSv1_3, 60)
    with StdlibServer(stdlib_context(pki.server, TLSVersion.TLSv1_3)) as server:
        outcome = connect(ctx, server.port, "native", junk)
    assert not outcome.reused and outcome.peer == der_of(pki.server)


def test_no_session_on_a_server_or_before_the_handshake(ffi: str, pki: PKI) -> None:
    make_server = tls_adapter.get_backend(ffi).server_context
    assert make_server is not None
    server = make_server(TLSConfiguration(certificate_chain=chain_of(pki.server))).wrap_buffers()
    client = client_context(ffi, pki, TLSVersion.TLSv1_3).wrap_buffers("localhost")
    assert client.session() is None and not client.session_reused()
    for _ in range(10):
        for side in (client, server):
            with suppress(WantReadError):
                side.do_handshake()
        for src, dst in ((client, server), (server, client)):
            n = src.outgoing_bytes_buffered()
            if n:
                dst.receive_from_network(src.peek_outgoing(n))
                src.consume_outgoing(n)
    assert server.session() is None and not server.session_reused()


# -- wolfSSL: what goes on the wire ----------------------------------------------------------
def _client_hello_extensions(hello: bytes) -> dict[int, bytes]:
    pos = 5 + 4 + 2 + 32  # record header, handshake header, version, random
    pos += 1 + hello[pos]  # session id
    pos += 2 + int.from_bytes(hello[pos : pos + 2], "big")  # cipher suites
    pos += 1 + hello[pos]  # compression methods
    end = pos + 2 + int.from_bytes(hello[pos : pos + 2], "big")
    pos += 2
    extensions: dict[int, bytes] = {}
    while pos < end:
        kind = int.from_bytes(hello[pos : pos + 2], "big")
        size = int.from_bytes(hello[pos + 2 : pos + 4], "big")
        extensions[kind] = hello[pos + 4 : pos + 4 + size]
        pos += 4 + size
    return extensions


def test_wolfssl_offers_psk_dhe_ke_only_with_a_ticket(pki: PKI) -> None:
    """Without a session only psk_ke (so rustls-style servers send no ticket); offering
    a TLS 1.3 ticket, psk_dhe_ke too (OpenSSL resumes no other way)."""
    if "wolfssl" not in BACKENDS:
        pytest.skip("no wolfSSL")
    ctx = client_context("wolfssl", pki, TLSVersion.TLSv1_3)
    with StdlibServer(stdlib_context(pki.server, TLSVersion.TLSv1_3)) as server:
        session = connect(ctx, server.port, "pump").session

    def hello(offer: TLSSession | None) -> dict[int, bytes]:
        client = ctx.wrap_buffers("localhost", session=offer)
        with pytest.raises(WantReadError):
            client.do_handshake()
        return _client_hello_extensions(client.peek_outgoing(client.outgoing_bytes_buffered()))

    assert hello(None)[45] == b"\x01\x00"  # psk_key_exchange_modes: [psk_ke]
    offered = hello(session)
    assert offered[45][0] == len(offered[45]) - 1 and 1 in offered[45][1:]  # psk_dhe_ke
    assert 41 in offered  # pre_shared_key


def test_wolfssl_declined_offer_reports_only_the_new_chain(
    pki: PKI, other_leaf: trustme.LeafCert
) -> None:
    """wolfSSL appends the chain of a declined offer's handshake to the offered
    session's; the binding reports only the new one (what the policy checks)."""
    if "wolfssl" not in BACKENDS:
        pytest.skip("no wolfSSL")
    ctx = client_context("wolfssl", pki, TLSVersion.TLSv1_3)
    with StdlibServer(stdlib_context(pki.server, TLSVersion.TLSv1_3)) as a:
        session = connect(ctx, a.port, "pump").session
    with StdlibServer(stdlib_context(other_leaf, TLSVersion.TLSv1_3)) as b:
        raw = socket.create_connection(("127.0.0.1", b.port), timeout=10)
        with ctx.wrap_socket(raw, "localhost", session=session) as tls:
            tls.do_handshake()
            buffer: Any = tls._buffer  # type: ignore[attr-defined]
            assert buffer._session.peer_certificate_chain_der() == [der_of(other_leaf)]
            assert tls.getpeercert() == der_of(other_leaf)


def test_session_survives_a_ragged_eof(ffi: str, tls_version: TLSVersion, pki: PKI) -> None:
    """In memory: the server stops without close_notify (TLS 1.1 and later may resume
    such a session); the session is still handed out, and resumes."""
    server_ctx = stdlib_context(pki.server, tls_version)
    ctx = client_context(ffi, pki, tls_version)
    if ffi == "wolfssl" and tls_version is TLSVersion.TLSv1_2:
        pytest.skip("the stdlib server does not resume wolfSSL's TLS 1.2 session IDs")

    def run(offer: TLSSession | None) -> tuple[bool, bool, TLSSession | None]:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        server = server_ctx.wrap_bio(incoming, outgoing, server_side=True)
        client = ctx.wrap_buffers("localhost", session=offer)
        for _ in range(10):
            with suppress(WantReadError):
                client.do_handshake()
            n = client.outgoing_bytes_buffered()
            incoming.write(client.peek_outgoing(n))
            client.consume_outgoing(n)
            with suppress(ssl.SSLWantReadError):
                server.do_handshake()
            data = outgoing.read()
            if data:
                client.receive_from_network(data)
            if server.version() and client.negotiated_tls_version():
                break
        server.write(b"bye")
        client.receive_from_network(outgoing.read())
        client.receive_from_network(b"")  # the transport closes: no close_notify
        assert client.read(100) == b"bye"
        with pytest.raises(tls_adapter.RaggedEOF):
            client.read(100)
        return client.session_reused(), bool(server.session_reused), client.session()

    reused, server_says, session = run(None)
    assert (reused, server_says) == (False, False) and session is not None
    reused, server_says, _ = run(session)
    assert (reused, server_says) == (True, True)
