"""The conformance suite over loopback sockets, in both socket flavours.

``native`` is the backend's own ``wrap_socket`` (``ssl.SSLSocket`` for OpenSSL); ``pump``
is the base-class ``wrap_socket``, the generic ``BufferSocket`` over the backend's
buffers. Every backend's buffers therefore also run through the pump.

The client-backend x server-backend matrix runs once here (handshake and echo); the
other socket tests pair each backend with itself, since cross-backend protocol behaviour
is covered by the (much cheaper) buffer suite.
"""

from __future__ import annotations

import hashlib
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import tls_adapter
from tls_adapter import (
    NextProtocol,
    RaggedEOF,
    TLSConfiguration,
    TLSError,
    TLSVersion,
    TLSWrappedBuffer,
    TLSWrappedSocket,
    WantReadError,
    WantWriteError,
)

from .peers import (
    PKI,
    ThreadedServer,
    chain_of,
    connect_to,
    der_of,
    echo_handler,
    make_server_context,
    require_sni_callback,
    server_peer,
    serving_context,
    wrap_client_socket,
)
from .test_conformance_buffers import (
    LARGE,
    alpn_mismatch_outcome,
    assert_cipher_matches_version,
    pinned,
    require_alpn,
    require_client_auth,
    require_version,
)

Backend = tls_adapter.Backend
Handler = Callable[[TLSWrappedSocket], None]


def _server(
    backend: Backend,
    config: TLSConfiguration,
    handler: Handler,
    flavour: str,
    host: str = "127.0.0.1",
) -> ThreadedServer:
    return ThreadedServer(
        serving_context(make_server_context(backend, config), flavour), handler, host=host
    )


def _client(
    backend: Backend,
    config: TLSConfiguration,
    server: ThreadedServer,
    flavour: str,
    server_hostname: str | None = "localhost",
    *,
    timeout: float = 10.0,
    check_hostname: bool = True,
) -> TLSWrappedSocket:
    context = backend.client_context(config)
    return wrap_client_socket(
        context,
        connect_to(server, timeout),
        server_hostname,
        flavour,
        check_hostname=check_hostname,
    )


def _server_with(backend: Backend, capability: str) -> Backend:
    """*backend*'s server if it has *capability*, else the default backend's.

    Over sockets each backend talks to itself (the cross-backend matrix runs over
    buffers); a server-side gap is checked there, so here the client still gets tested.
    """
    server = server_peer(backend)
    if getattr(server.capabilities, capability):
        return server
    return tls_adapter.default_backend()


def _drain_until_close(sock: TLSWrappedSocket) -> None:
    try:
        while sock.recv(65536):
            pass
    except RaggedEOF:
        pass


def _recv_exactly(sock: TLSWrappedSocket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(min(1 << 20, n - len(out)))
        if not chunk:
            break
        out += chunk
    return bytes(out)


# -- handshake and data -----------------------------------------------------------------
def test_socket_handshake_and_echo(
    client_backend: Backend,
    server_backend: Backend,
    tls_version: TLSVersion,
    socket_flavour: str,
    pki: PKI,
) -> None:
    require_version(client_backend, tls_version)
    require_version(server_backend, tls_version)
    seen: dict[str, Any] = {}

    def handler(sock: TLSWrappedSocket) -> None:
        seen["version"] = sock.negotiated_tls_version()
        seen["cipher"] = sock.cipher()
        seen["peercert"] = sock.getpeercert()
        seen["protocol"] = sock.negotiated_protocol()
        echo_handler(sock)

    config = pinned(TLSConfiguration(certificate_chain=pki.server_chain), tls_version)
    with _server(server_backend, config, handler, socket_flavour) as server:
        client_config = pinned(TLSConfiguration(trust_store=pki.trust), tls_version)
        with _client(client_backend, client_config, server, socket_flavour) as sock:
            assert sock.cipher() is None
            assert sock.negotiated_tls_version() is None
            sock.do_handshake()
            assert isinstance(sock.context, tls_adapter.ClientContext)
            assert sock.negotiated_tls_version() is tls_version
            assert_cipher_matches_version(sock.cipher(), tls_version)
            assert sock.getpeercert() == der_of(pki.server)
            assert sock.negotiated_protocol() is None
            assert sock.getpeername()[1] == server.port
            assert sock.family == socket.AF_INET
            assert sock.type == socket.SOCK_STREAM
            assert sock.fileno() >= 0
            sock.sendall(b"hello over TCP")
            assert _recv_exactly(sock, 14) == b"hello over TCP"
            buf = bytearray(64)
            sock.sendall(memoryview(b"into a buffer"))
            got = 0
            while got < 13:
                got += sock.recv_into(memoryview(buf)[got:])
            assert bytes(buf[:13]) == b"into a buffer"
            cipher = sock.cipher()
    assert not server.errors, server.errors
    assert seen["version"] is tls_version
    assert seen["cipher"] == cipher
    assert seen["peercert"] is None
    assert seen["protocol"] is None


def test_socket_large_transfer_both_ways(
    backend: Backend, tls_version: TLSVersion, socket_flavour: str, pki: PKI
) -> None:
    server_backend = server_peer(backend)
    require_version(backend, tls_version)
    require_version(server_backend, tls_version)
    up = os.urandom(LARGE)
    down = hashlib.sha512(up).digest() * (LARGE // 64)
    results: dict[str, bytes] = {}

    def handler(sock: TLSWrappedSocket) -> None:
        digest = hashlib.sha256()
        got = 0
        while got < len(up):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            got += len(chunk)
        results["up"] = digest.digest()
        sock.sendall(down)
        _drain_until_close(sock)

    config = TLSConfiguration(certificate_chain=pki.server_chain)
    with _server(server_backend, config, handler, socket_flavour) as server:
        client_config = pinned(TLSConfiguration(trust_store=pki.trust), tls_version)
        with _client(backend, client_config, server, socket_flavour) as sock:
            sock.do_handshake()
            sock.sendall(up)
            received = _recv_exactly(sock, len(down))
    assert not server.errors, server.errors
    assert results["up"] == hashlib.sha256(up).digest()
    assert received == down


@pytest.mark.parametrize("server_flavour", ["native", "pump"])
@pytest.mark.parametrize("client_flavour", ["native", "pump"])
def test_flavours_interoperate(
    backend: Backend, pki: PKI, client_flavour: str, server_flavour: str
) -> None:
    config = TLSConfiguration(certificate_chain=pki.server_chain)
    with _server(server_peer(backend), config, echo_handler, server_flavour) as server:
        client_config = TLSConfiguration(trust_store=pki.trust)
        with _client(backend, client_config, server, client_flavour) as sock:
            sock.do_handshake()
            sock.sendall(b"x" * 100_000)
            assert _recv_exactly(sock, 100_000) == b"x" * 100_000
    assert not server.errors, server.errors


def test_ipv6_loopback(backend: Backend, socket_flavour: str, pki: PKI) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 support in this Python")
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as e:
        pytest.skip(f"no IPv6 loopback here: {e}")
    config = TLSConfiguration(certificate_chain=pki.server_chain)
    with _server(server_peer(backend), config, echo_handler, socket_flavour, "::1") as server:
        client_config = TLSConfiguration(trust_store=pki.trust)
        with _client(backend, client_config, server, socket_flavour, "::1") as sock:
            sock.do_handshake()
            assert sock.family == socket.AF_INET6
            sock.sendall(b"six")
            assert _recv_exactly(sock, 3) == b"six"
    assert not server.errors, server.errors


def test_makefile_reads(backend: Backend, socket_flavour: str, pki: PKI) -> None:
    blob = os.urandom(300_000)

    def handler(sock: TLSWrappedSocket) -> None:
        sock.sendall(b"first line\r\nsecond line\n" + blob)
        _drain_until_close(sock)

    config = TLSConfiguration(certificate_chain=pki.server_chain)
    with _server(server_peer(backend), config, handler, socket_flavour) as server:
        client_config = TLSConfiguration(trust_store=pki.trust)
        sock = _client(backend, client_config, server, socket_flavour)
        sock.do_handshake()
        f = sock.makefile("rb")
        assert f.readline() == b"first line\r\n"
        assert f.readline() == b"second line\n"
        assert f.read(len(blob)) == blob
        sock.close()  # deferred while the file is open
        f.close()
    assert not server.errors, server.errors


def test_makefile_write(backend: Backend, socket_flavour: str, pki: PKI) -> None:
    config = TLSConfiguration(certificate_chain=pki.server_chain)
    with _server(server_peer(backend), config, echo_handler, socket_flavour) as server:
        client_config = TLSConfiguration(trust_store=pki.trust)
        with _client(backend, client_config, server, socket_flavour) as sock:
            sock.do_handshake()
            with sock.makefile("rwb") as f:
                f.write(b"GET / HTTP/1.0\r\n\r\n")
                f.flush()
                assert f.readline() == b"GET / HTTP/1.0\r\n"
    assert not server.errors, server.errors


# -- ALPN and SNI -----------------------------------------------------------------------
def test_socket_alpn(backend: Backend, socket_flavour: str, pki: PKI) -> None:
    client_backend, server_backend = backend, server_peer(backend)
    require_alpn(client_backend, pki)
    require_alpn(server_backend, pki)
    seen: list[object] = []

    def handler(sock: TLSWrappedSocket) -> None:
        seen.append(sock.negotiated_protocol())
        echo_handler(sock)

    config = TLSConfiguration(
        certificate_chain=pki.server_chain, inner_protocols=[b"my-proto", NextProtocol.H2]
    )
    with _server(server_backend, config, handler, socket_flavour) as server:
        client_config = TLSConfiguration(
            trust_store=pki.trust, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1]
        )
        with _client(client_backend, client_config, server, socket_flavour) as sock:
            sock.do_handshake()
            assert sock.negotiated_protocol() is NextProtocol.H2
            sock.sendall(b"h2?")  # read what the server sent (TLS 1.3 tickets) before closing
            assert _recv_exactly(sock, 3) == b"h2?"
    assert not server.errors, server.errors
    assert seen == [NextProtocol.H2]


def test_socket_alpn_no_overlap_matches_buffers(
    backend: Backend, socket_flavour: str, pki: PKI
) -> None:
    """The server backend's RFC 7301 choice is the same over sockets as over buffers."""
    client_backend, server_backend = backend, server_peer(backend)
    require_alpn(client_backend, pki)
    require_alpn(server_backend, pki)
    version = max(
        set(client_backend.capabilities.tls_versions)
        & set(server_backend.capabilities.tls_versions),
        key=list(TLSVersion).index,  # the highest common version
    )
    expected = alpn_mismatch_outcome(client_backend, server_backend, version, pki)
    config = TLSConfiguration(certificate_chain=pki.server_chain, inner_protocols=[b"http/1.1"])
    with _server(server_backend, config, echo_handler, socket_flavour) as server:
        client_config = pinned(
            TLSConfiguration(trust_store=pki.trust, inner_protocols=[b"h2"]), version
        )
        with _client(client_backend, client_config, server, socket_flavour) as sock:
            try:
                sock.do_handshake()
                sock.sendall(b"ping")
                assert _recv_exactly(sock, 4) == b"ping"
                assert sock.negotiated_protocol() is None
                outcome = "none"
            except (WantReadError, WantWriteError):
                raise
            except TLSError:
                outcome = "fail"
    assert outcome == expected
    if outcome == "fail":
        assert server.errors and isinstance(server.errors[0], TLSError)


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [("localhost", "localhost"), ("bücher.example", "bücher.example"), ("127.0.0.1", None)],
)
def test_socket_sni_callback(
    backend: Backend,
    socket_flavour: str,
    pki: PKI,
    client_name: str,
    expected: str | None,
) -> None:
    client_backend, server_backend = backend, _server_with(backend, "sni_callback")
    require_sni_callback(server_backend, pki)
    leaf = pki.ca.issue_cert("localhost", "127.0.0.1", "bücher.example")
    calls: list[tuple[object, str | None]] = []

    def callback(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        calls.append((conn, name))
        return config

    config = TLSConfiguration(certificate_chain=chain_of(leaf), sni_callback=callback)
    with _server(server_backend, config, echo_handler, socket_flavour) as server:
        client_config = TLSConfiguration(trust_store=pki.trust)
        with _client(client_backend, client_config, server, socket_flavour, client_name) as sock:
            sock.do_handshake()
            sock.sendall(b"sni")
            assert _recv_exactly(sock, 3) == b"sni"
    assert not server.errors, server.errors
    if expected is None:
        assert all(name is None for _, name in calls), calls
    else:
        assert [name for _, name in calls] == [expected]
        assert isinstance(calls[0][0], (TLSWrappedSocket, TLSWrappedBuffer))


def test_socket_sni_callback_switches_certificate(
    backend: Backend, socket_flavour: str, pki: PKI
) -> None:
    client_backend, server_backend = backend, _server_with(backend, "sni_callback")
    require_sni_callback(server_backend, pki)
    other = pki.ca.issue_cert("other.example")

    def callback(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        return (
            config.update(certificate_chain=chain_of(other)) if name == "other.example" else config
        )

    config = TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=callback)
    with _server(server_backend, config, echo_handler, socket_flavour) as server:
        client_config = TLSConfiguration(trust_store=pki.trust)
        for name, leaf in (("other.example", other), ("localhost", pki.server)):
            with _client(client_backend, client_config, server, socket_flavour, name) as sock:
                sock.do_handshake()
                assert sock.getpeercert() == der_of(leaf)
                sock.sendall(b"ok")
                assert _recv_exactly(sock, 2) == b"ok"
    assert not server.errors, server.errors


def test_socket_sni_callback_raising(backend: Backend, socket_flavour: str, pki: PKI) -> None:
    client_backend, server_backend = backend, _server_with(backend, "sni_callback")
    require_sni_callback(server_backend, pki)

    def callback(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        raise LookupError("unknown virtual host")

    config = TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=callback)
    with _server(server_backend, config, echo_handler, socket_flavour) as server:
        client_config = TLSConfiguration(trust_store=pki.trust)
        with _client(client_backend, client_config, server, socket_flavour) as sock:
            with pytest.raises(TLSError) as info:
                sock.do_handshake()
            assert not isinstance(info.value, (WantReadError, WantWriteError))
    assert len(server.errors) == 1
    assert isinstance(server.errors[0], TLSError), server.errors


# -- versions and client auth -----------------------------------------------------------
def test_socket_disjoint_versions(backend: Backend, socket_flavour: str, pki: PKI) -> None:
    client_backend, server_backend = backend, server_peer(backend)
    for b in (client_backend, server_backend):
        require_version(b, TLSVersion.TLSv1_2)
        require_version(b, TLSVersion.TLSv1_3)
    config = TLSConfiguration(
        certificate_chain=pki.server_chain, lowest_supported_version=TLSVersion.TLSv1_3
    )
    with _server(server_backend, config, echo_handler, socket_flavour) as server:
        client_config = TLSConfiguration(
            trust_store=pki.trust, highest_supported_version=TLSVersion.TLSv1_2
        )
        with _client(client_backend, client_config, server, socket_flavour) as sock:
            with pytest.raises(TLSError) as info:
                sock.do_handshake()
            assert not isinstance(info.value, (WantReadError, WantWriteError))
    assert len(server.errors) == 1 and isinstance(server.errors[0], TLSError), server.errors


@pytest.mark.parametrize("with_certificate", [True, False], ids=["with-cert", "without-cert"])
def test_socket_client_auth(
    backend: Backend,
    tls_version: TLSVersion,
    socket_flavour: str,
    pki: PKI,
    with_certificate: bool,
) -> None:
    client_backend, server_backend = backend, _server_with(backend, "client_auth")
    require_client_auth(client_backend, server_backend, pki)
    require_version(client_backend, tls_version)
    require_version(server_backend, tls_version)
    peer: list[bytes | None] = []

    def handler(sock: TLSWrappedSocket) -> None:
        peer.append(sock.getpeercert())
        echo_handler(sock)

    config = TLSConfiguration(certificate_chain=pki.server_chain, trust_store=pki.trust)
    client_config = pinned(TLSConfiguration(trust_store=pki.trust), tls_version)
    if with_certificate:
        client_config = client_config.update(certificate_chain=pki.client_chain)
    with (
        _server(server_backend, config, handler, socket_flavour) as server,
        _client(client_backend, client_config, server, socket_flavour) as sock,
    ):
        if with_certificate:
            sock.do_handshake()
            sock.sendall(b"me")
            assert _recv_exactly(sock, 2) == b"me"
        else:

            def attempt() -> None:
                sock.do_handshake()  # TLS 1.3: the failure shows on the first read
                sock.sendall(b"me")
                sock.recv(2)

            # TLS 1.3: the server may reset the connection (it closes with the
            # client's unread data queued), which can discard its alert.
            with pytest.raises((TLSError, ConnectionResetError)) as info:
                attempt()
            assert not isinstance(info.value, (WantReadError, WantWriteError))
    if with_certificate:
        assert not server.errors, server.errors
        assert peer == [der_of(pki.client)]
    else:
        assert peer == []
        assert len(server.errors) == 1 and isinstance(server.errors[0], TLSError), server.errors


# -- closing ----------------------------------------------------------------------------
def test_socket_clean_close_and_unwrap(
    backend: Backend,
    tls_version: TLSVersion,
    socket_flavour: str,
    pki: PKI,
) -> None:
    client_backend, server_backend = backend, server_peer(backend)
    require_version(client_backend, tls_version)
    require_version(server_backend, tls_version)
    after: list[bytes] = []

    def handler(sock: TLSWrappedSocket) -> None:
        assert sock.recv(100) == b"client done?"
        sock.sendall(b"bye")
        raw = sock.unwrap()  # waits for the client's close_notify
        raw.sendall(b"plaintext after TLS")
        after.append(raw.recv(100))
        raw.close()

    config = TLSConfiguration(certificate_chain=pki.server_chain)
    with _server(server_backend, config, handler, socket_flavour) as server:
        client_config = pinned(TLSConfiguration(trust_store=pki.trust), tls_version)
        sock = _client(client_backend, client_config, server, socket_flavour)
        sock.do_handshake()
        sock.sendall(b"client done?")
        assert _recv_exactly(sock, 3) == b"bye"
        assert sock.recv(100) == b""  # the server's close_notify
        assert sock.recv(100) == b""
        raw = sock.unwrap()
        assert isinstance(raw, socket.socket)
        raw.settimeout(10)
        assert raw.recv(100) == b"plaintext after TLS"
        raw.sendall(b"plain reply")
        raw.close()
    assert not server.errors, server.errors
    assert after == [b"plain reply"]


def test_socket_ragged_eof(
    backend: Backend,
    tls_version: TLSVersion,
    socket_flavour: str,
    pki: PKI,
) -> None:
    client_backend, server_backend = backend, server_peer(backend)
    require_version(client_backend, tls_version)
    require_version(server_backend, tls_version)

    def handler(sock: TLSWrappedSocket) -> None:
        assert sock.recv(100) == b"go"
        sock.sendall(b"partial")
        sock.close()  # TCP close without close_notify

    config = TLSConfiguration(certificate_chain=pki.server_chain)
    with _server(server_backend, config, handler, socket_flavour) as server:
        client_config = pinned(TLSConfiguration(trust_store=pki.trust), tls_version)
        with _client(client_backend, client_config, server, socket_flavour) as sock:
            sock.do_handshake()
            sock.sendall(b"go")
            assert _recv_exactly(sock, 7) == b"partial"
            with pytest.raises(RaggedEOF):
                sock.recv(100)
    assert not server.errors, server.errors


# -- blocking modes and timeouts --------------------------------------------------------
def test_socket_non_blocking(backend: Backend, socket_flavour: str, pki: PKI) -> None:
    go = threading.Event()

    def handler(sock: TLSWrappedSocket) -> None:
        go.wait(10)
        sock.sendall(b"now there is data")
        _drain_until_close(sock)

    config = TLSConfiguration(certificate_chain=pki.server_chain)
    with _server(server_peer(backend), config, handler, socket_flavour) as server:
        client_config = TLSConfiguration(trust_store=pki.trust)
        with _client(backend, client_config, server, socket_flavour) as sock:
            sock.settimeout(0)
            assert sock.gettimeout() == 0.0
            assert not sock.getblocking()
            deadline = time.monotonic() + 10
            while True:  # a non-blocking handshake, driven by select()
                try:
                    sock.do_handshake()
                    break
                except WantReadError:
                    select.select([sock], [], [], 0.5)
                except WantWriteError:
                    select.select([], [sock], [], 0.5)
                assert time.monotonic() < deadline
            with pytest.raises(WantReadError):
                sock.recv(100)
            with pytest.raises(WantReadError):
                sock.recv_into(bytearray(10))
            go.set()
            data = b""
            while len(data) < 17:
                try:
                    data += sock.recv(100)
                except WantReadError:
                    select.select([sock], [], [], 0.5)
                assert time.monotonic() < deadline
            assert data == b"now there is data"
            sock.setblocking(True)
            assert sock.gettimeout() is None and sock.getblocking()
    assert not server.errors, server.errors


def test_socket_recv_timeout(backend: Backend, socket_flavour: str, pki: PKI) -> None:
    release = threading.Event()

    def handler(sock: TLSWrappedSocket) -> None:
        release.wait(10)  # silent
        sock.close()

    config = TLSConfiguration(certificate_chain=pki.server_chain)
    with _server(server_peer(backend), config, handler, socket_flavour) as server:
        client_config = TLSConfiguration(trust_store=pki.trust)
        with _client(backend, client_config, server, socket_flavour) as sock:
            sock.do_handshake()
            sock.settimeout(0.2)
            assert sock.gettimeout() == 0.2
            start = time.monotonic()
            with pytest.raises(TimeoutError):
                sock.recv(100)
            elapsed = time.monotonic() - start
            release.set()
    assert 0.15 <= elapsed <= 2.0, elapsed


def test_socket_handshake_timeout(backend: Backend, socket_flavour: str, pki: PKI) -> None:
    """A server that accepts TCP but never speaks TLS: the handshake times out."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # the kernel accepts; nobody answers
        raw = socket.create_connection(listener.getsockname(), timeout=10)
        context = backend.client_context(TLSConfiguration(trust_store=pki.trust))
        with wrap_client_socket(context, raw, "localhost", socket_flavour) as sock:
            sock.settimeout(0.2)
            start = time.monotonic()
            with pytest.raises(TimeoutError):
                sock.do_handshake()
            elapsed = time.monotonic() - start
    assert 0.15 <= elapsed <= 2.0, elapsed


def test_socket_timeout_inherited_from_the_raw_socket(
    backend: Backend, socket_flavour: str, pki: PKI
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        raw = socket.create_connection(listener.getsockname(), timeout=0.3)
        context = backend.client_context(TLSConfiguration(trust_store=pki.trust))
        with wrap_client_socket(context, raw, "localhost", socket_flavour) as sock:
            assert sock.gettimeout() == pytest.approx(0.3)
            with pytest.raises(TimeoutError):
                sock.do_handshake()


def test_wrap_socket_rejects_datagram_sockets(
    backend: Backend, socket_flavour: str, pki: PKI
) -> None:
    context = backend.client_context(TLSConfiguration(trust_store=pki.trust))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(ValueError):
        wrap_client_socket(context, udp, "localhost", socket_flavour)
    server_backend = server_peer(backend)
    server_context = serving_context(
        make_server_context(server_backend, TLSConfiguration(certificate_chain=pki.server_chain)),
        socket_flavour,
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(ValueError):
        server_context.wrap_socket(udp)


def test_wrapped_socket_has_no_public_constructor() -> None:
    with pytest.raises(TypeError):
        TLSWrappedSocket()  # type: ignore[abstract]


def test_recv_rejects_flags(backend: Backend, socket_flavour: str, pki: PKI) -> None:
    config = TLSConfiguration(certificate_chain=pki.server_chain)
    client_config = TLSConfiguration(trust_store=pki.trust)
    with (
        _server(server_peer(backend), config, echo_handler, socket_flavour) as server,
        _client(backend, client_config, server, socket_flavour) as s,
    ):
        s.do_handshake()
        with pytest.raises(ValueError):
            s.recv(10, socket.MSG_PEEK)
        with pytest.raises(ValueError):
            s.send(b"x", socket.MSG_OOB)
        assert s.recv(0) == b""
        s.sendall(b"still fine")
        assert _recv_exactly(s, 10) == b"still fine"
    assert not server.errors, server.errors
