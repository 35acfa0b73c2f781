"""The conformance suite over in-memory buffers: every client backend against every
server backend, TLS 1.2 and 1.3.

A backend that declares a gap in its capabilities is skipped for that test, but only
after checking that asking for the missing feature raises ``ConfigurationError`` when
the context is built.

ALPN without overlap (RFC 7301 allows the server to go on without ALPN or to abort
with ``no_application_protocol``): the outcome is decided by the server backend and
must be the same for every TLS version and transport. Observed: the openssl, pyopenssl,
boringssl and gnutls servers go on without ALPN (``negotiated_protocol()`` is ``None`` on
both sides); the rustls and mbedtls servers abort with ``no_application_protocol``, as
their capability notes say.
"""

from __future__ import annotations

import hashlib
import os

import pytest
import trustme

import tls_adapter
from tls_adapter import (
    DEFAULT_CIPHER_LIST,
    CipherSuite,
    ConfigurationError,
    NextProtocol,
    RaggedEOF,
    TLSConfiguration,
    TLSError,
    TLSVersion,
    TLSWrappedBuffer,
    WantReadError,
    WantWriteError,
)

from .peers import (
    PKI,
    buffer_pair,
    chain_of,
    der_of,
    drive_handshake,
    expect_tls_failure,
    handshake_buffers,
    make_server_context,
    move,
    read_exactly,
    refuse_or_skip,
    require_sni_callback,
    send_buffered,
    server_peer,
)

Backend = tls_adapter.Backend
LARGE = 10 * 1024 * 1024 + 12345


# -- helpers ----------------------------------------------------------------------------
def pinned(config: TLSConfiguration, version: TLSVersion) -> TLSConfiguration:
    """*config* allowing exactly *version*."""
    return config.update(lowest_supported_version=version, highest_supported_version=version)


def require_version(backend: Backend, version: TLSVersion) -> None:
    """Skip unless *backend* can speak *version* (after checking it refuses it loudly)."""
    refuse_or_skip(
        version in backend.capabilities.tls_versions,
        f"support for {version.name}",
        backend.name,
        lambda: backend.client_context(pinned(TLSConfiguration(), version)),
    )


def require_alpn(backend: Backend, pki: PKI) -> None:
    """Skip unless *backend* does ALPN (after checking it refuses inner_protocols)."""
    refuse_or_skip(
        backend.capabilities.alpn,
        "ALPN",
        backend.name,
        lambda: backend.client_context(TLSConfiguration(inner_protocols=[NextProtocol.H2])),
    )


def connect(
    client_backend: Backend,
    server_backend: Backend,
    client_config: TLSConfiguration,
    server_config: TLSConfiguration,
    server_hostname: str | None = "localhost",
) -> tuple[TLSWrappedBuffer, TLSWrappedBuffer]:
    """Build both contexts and hand back a handshaken buffer pair."""
    client, server = buffer_pair(
        client_backend.client_context(client_config),
        make_server_context(server_backend, server_config),
        server_hostname,
    )
    handshake_buffers(client, server)
    return client, server


def assert_cipher_matches_version(cipher: CipherSuite | int | None, version: TLSVersion) -> None:
    assert cipher is not None
    assert isinstance(cipher, (CipherSuite, int)) and not isinstance(cipher, bool)
    value = int(cipher)
    assert 0 <= value <= 0xFFFF
    if version is TLSVersion.TLSv1_3:
        assert 0x1301 <= value <= 0x1305, f"{cipher!r} is not a TLS 1.3 suite"
    else:
        assert value >> 8 != 0x13, f"{cipher!r} is a TLS 1.3 suite in {version.name}"
    # With ciphers=None the backend's default applies: modern AEAD suites only.
    assert value in DEFAULT_CIPHER_LIST, f"{cipher!r} is not in DEFAULT_CIPHER_LIST"
    if value in set(CipherSuite):
        assert isinstance(cipher, CipherSuite), "known suites must come back as CipherSuite"


@pytest.fixture(scope="module")
def rsa_leaf(pki: PKI) -> trustme.LeafCert:
    """A server certificate with an RSA key (for ECDHE_RSA suites)."""
    return pki.ca.issue_cert("localhost", "127.0.0.1", key_type=trustme.KeyType.RSA)


@pytest.fixture(scope="module")
def idn_leaf(pki: PKI) -> trustme.LeafCert:
    """A server certificate for an internationalised name."""
    return pki.ca.issue_cert("bücher.example")


@pytest.fixture(scope="module")
def other_name_leaf(pki: PKI) -> trustme.LeafCert:
    """A server certificate for another virtual host."""
    return pki.ca.issue_cert("other.example")


# -- the basic handshake ----------------------------------------------------------------
def test_handshake_and_data(
    client_backend: Backend, server_backend: Backend, tls_version: TLSVersion, pki: PKI
) -> None:
    require_version(client_backend, tls_version)
    require_version(server_backend, tls_version)
    client_context = client_backend.client_context(
        pinned(TLSConfiguration(trust_store=pki.trust), tls_version)
    )
    server_context = make_server_context(
        server_backend, pinned(TLSConfiguration(certificate_chain=pki.server_chain), tls_version)
    )
    client, server = buffer_pair(client_context, server_context)
    assert client.context is client_context
    assert server.context is server_context
    for side in (client, server):
        assert side.cipher() is None
        assert side.negotiated_tls_version() is None
        assert side.negotiated_protocol() is None
        assert side.getpeercert() is None

    handshake_buffers(client, server)

    assert client.negotiated_tls_version() is tls_version
    assert server.negotiated_tls_version() is tls_version
    assert client.cipher() == server.cipher()
    assert_cipher_matches_version(client.cipher(), tls_version)
    assert client.negotiated_protocol() is None
    assert server.negotiated_protocol() is None
    assert client.getpeercert() == der_of(pki.server)
    assert server.getpeercert() is None

    client.write(b"hello from the client")
    assert read_exactly(server, client, 21) == b"hello from the client"
    server.write(b"and hello from the server")
    assert read_exactly(client, server, 25) == b"and hello from the server"


def test_handshake_with_default_bounds_negotiates_highest_common(
    client_backend: Backend, server_backend: Backend, pki: PKI
) -> None:
    client, server = connect(
        client_backend,
        server_backend,
        TLSConfiguration(trust_store=pki.trust),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    common = set(client_backend.capabilities.tls_versions) & set(
        server_backend.capabilities.tls_versions
    )
    expected = TLSVersion.TLSv1_3 if TLSVersion.TLSv1_3 in common else TLSVersion.TLSv1_2
    assert client.negotiated_tls_version() is expected
    assert server.negotiated_tls_version() is expected


def test_large_transfer_both_ways(backend: Backend, tls_version: TLSVersion, pki: PKI) -> None:
    server_backend = server_peer(backend)
    require_version(backend, tls_version)
    require_version(server_backend, tls_version)
    client, server = connect(
        backend,
        server_backend,
        pinned(TLSConfiguration(trust_store=pki.trust), tls_version),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    up = os.urandom(LARGE)
    down = hashlib.sha512(up).digest() * (LARGE // 64)
    assert hashlib.sha256(send_buffered(client, server, up)).digest() == hashlib.sha256(up).digest()
    received = send_buffered(server, client, down)
    assert received == down


def test_one_context_many_connections(
    client_backend: Backend, server_backend: Backend, pki: PKI
) -> None:
    """A context is built once and serves interleaved connections independently."""
    client_context = client_backend.client_context(TLSConfiguration(trust_store=pki.trust))
    server_context = make_server_context(
        server_backend, TLSConfiguration(certificate_chain=pki.server_chain)
    )
    pairs = [buffer_pair(client_context, server_context) for _ in range(3)]
    for client, server in pairs:
        handshake_buffers(client, server)
    for i, (client, _) in enumerate(pairs):
        client.write(f"connection {i}".encode())
    for i, (client, server) in enumerate(reversed(pairs)):
        n = len(pairs) - 1 - i
        assert read_exactly(server, client, 12) == f"connection {n}".encode()


def test_handshake_one_byte_at_a_time(
    client_backend: Backend, server_backend: Backend, pki: PKI
) -> None:
    """Records split at every byte boundary must be reassembled."""
    client, server = buffer_pair(
        client_backend.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(server_backend, TLSConfiguration(certificate_chain=pki.server_chain)),
    )
    done = [False, False]
    for _ in range(200_000):
        for i, side in enumerate((client, server)):
            if not done[i]:
                try:
                    side.do_handshake()
                    done[i] = True
                except WantReadError:
                    pass
        moved = 0
        for src, dst in ((client, server), (server, client)):
            if src.outgoing_bytes_buffered():
                dst.receive_from_network(src.peek_outgoing(1))
                src.consume_outgoing(1)
                moved += 1
        if all(done) and not moved:
            break
    assert all(done)
    client.write(b"ping")
    assert read_exactly(server, client, 4) == b"ping"


def test_readinto_and_partial_reads(
    client_backend: Backend, server_backend: Backend, pki: PKI
) -> None:
    client, server = connect(
        client_backend,
        server_backend,
        TLSConfiguration(trust_store=pki.trust),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    payload = bytes(range(100))
    assert server.write(bytearray(payload)) == 100
    move(server, client)
    assert client.read(10) == payload[:10]  # partial read: progress, no Want error
    buf = bytearray(50)
    n = client.readinto(buf, 50)
    assert n == 50 and bytes(buf) == payload[10:60]
    view = memoryview(bytearray(100))
    rest = bytearray()
    while len(rest) < 40:
        n = client.readinto(view, 100)
        assert n > 0
        rest += view[:n]
    assert bytes(rest) == payload[60:]
    with pytest.raises(WantReadError):
        client.read(1)
    assert client.incoming_bytes_buffered() == 0


def test_peek_and_consume_outgoing(backend: Backend, pki: PKI) -> None:
    client, server = connect(
        backend,
        server_peer(backend),
        TLSConfiguration(trust_store=pki.trust),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    assert client.write(b"x" * 1000) == 1000
    pending = client.outgoing_bytes_buffered()
    assert pending > 1000  # record overhead
    first = client.peek_outgoing(10)
    assert len(first) == 10
    assert client.peek_outgoing(10) == first  # peeking does not consume
    assert client.outgoing_bytes_buffered() == pending
    assert client.peek_outgoing(pending + 100) == client.peek_outgoing(pending)
    client.consume_outgoing(10)
    assert client.outgoing_bytes_buffered() == pending - 10
    server.receive_from_network(first)
    server.receive_from_network(client.peek_outgoing(pending - 10))
    client.consume_outgoing(pending - 10)
    assert client.outgoing_bytes_buffered() == 0
    assert client.peek_outgoing(100) == b""
    assert read_exactly(server, client, 1000) == b"x" * 1000


# -- Want semantics ---------------------------------------------------------------------
def test_read_before_data_wants_read(backend: Backend, tls_version: TLSVersion, pki: PKI) -> None:
    require_version(backend, tls_version)
    client, server = connect(
        backend,
        server_peer(backend),
        pinned(TLSConfiguration(trust_store=pki.trust), tls_version),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    with pytest.raises(WantReadError):
        client.read(10)
    with pytest.raises(WantReadError):
        server.read(10)
    with pytest.raises(WantReadError):
        client.readinto(bytearray(10), 10)
    # A partial record is still no progress.
    client.write(b"some data")
    record = client.peek_outgoing(client.outgoing_bytes_buffered())
    client.consume_outgoing(len(record))
    server.receive_from_network(record[:3])
    with pytest.raises(WantReadError):
        server.read(10)
    server.receive_from_network(record[3:])
    assert server.read(100) == b"some data"


def test_handshake_wants_read_before_the_peer_answers(backend: Backend, pki: PKI) -> None:
    client = backend.client_context(TLSConfiguration(trust_store=pki.trust)).wrap_buffers(
        "localhost"
    )
    with pytest.raises(WantReadError):
        client.do_handshake()
    assert client.outgoing_bytes_buffered() > 0  # the ClientHello
    hello = client.peek_outgoing(5)
    assert hello[0] == 0x16  # a handshake record


def test_write_backpressure(backend: Backend, pki: PKI) -> None:
    """With 256 KiB+ unsent, write() makes no progress (WantWriteError) or writes short."""
    client, server = connect(
        backend,
        server_peer(backend),
        TLSConfiguration(trust_store=pki.trust),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    chunk = b"z" * (1024 * 1024)
    accepted = 0
    limited = False
    for _ in range(16):
        try:
            n = client.write(chunk)
        except WantWriteError:
            limited = True
            break
        assert 0 < n <= len(chunk)  # progress was made, so no Want error
        accepted += n
        if n < len(chunk):
            limited = True
            break
    assert limited, f"{accepted} bytes accepted with nothing ever sent"
    assert client.outgoing_bytes_buffered() >= min(accepted, 256 * 1024)
    # Draining makes room again.
    received = bytearray()
    while client.outgoing_bytes_buffered():
        move(client, server)
        while True:
            try:
                received += server.read(1 << 20)
            except WantReadError:
                break
    assert client.write(b"more") == 4
    assert len(received) == accepted


def test_want_errors_are_tls_errors() -> None:
    assert issubclass(WantReadError, TLSError)
    assert issubclass(WantWriteError, TLSError)
    assert issubclass(RaggedEOF, TLSError)


# -- closing ----------------------------------------------------------------------------
def test_clean_close(
    client_backend: Backend, server_backend: Backend, tls_version: TLSVersion, pki: PKI
) -> None:
    require_version(client_backend, tls_version)
    require_version(server_backend, tls_version)
    client, server = connect(
        client_backend,
        server_backend,
        pinned(TLSConfiguration(trust_store=pki.trust), tls_version),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    client.write(b"last words")
    with pytest.raises(WantReadError):
        client.shutdown()  # close_notify sent, the peer's has not arrived
    move(client, server)
    assert read_exactly(server, client, 10) == b"last words"
    assert server.read(10) == b""
    assert server.readinto(bytearray(10), 10) == 0
    server.shutdown()  # the client's close_notify is in: this completes
    move(server, client)
    client.shutdown()
    assert client.read(10) == b""
    # EOF after close_notify is still a clean close.
    server.receive_from_network(b"")
    assert server.read(10) == b""


def test_ragged_eof(
    client_backend: Backend, server_backend: Backend, tls_version: TLSVersion, pki: PKI
) -> None:
    require_version(client_backend, tls_version)
    require_version(server_backend, tls_version)
    client, server = connect(
        client_backend,
        server_backend,
        pinned(TLSConfiguration(trust_store=pki.trust), tls_version),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    server.write(b"truncated?")
    move(server, client)
    client.receive_from_network(b"")  # TCP FIN, no close_notify
    assert read_exactly(client, server, 10) == b"truncated?"
    with pytest.raises(RaggedEOF):
        client.read(10)
    server.receive_from_network(b"")
    with pytest.raises(RaggedEOF):
        server.read(10)


def test_eof_during_handshake_is_an_error(backend: Backend, pki: PKI) -> None:
    client = backend.client_context(TLSConfiguration(trust_store=pki.trust)).wrap_buffers(
        "localhost"
    )
    with pytest.raises(WantReadError):
        client.do_handshake()
    client.receive_from_network(b"")
    expect_tls_failure(client.do_handshake)


def test_garbage_from_the_network_is_a_tls_error(backend: Backend, pki: PKI) -> None:
    server_backend = server_peer(backend)
    server = make_server_context(
        server_backend, TLSConfiguration(certificate_chain=pki.server_chain)
    ).wrap_buffers()
    server.receive_from_network(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    error = expect_tls_failure(server.do_handshake)
    assert not isinstance(error, tls_adapter.CertificateValidationError)
    client = backend.client_context(TLSConfiguration(trust_store=pki.trust)).wrap_buffers(
        "localhost"
    )
    with pytest.raises(WantReadError):
        client.do_handshake()
    client.receive_from_network(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    expect_tls_failure(client.do_handshake)


# -- ALPN -------------------------------------------------------------------------------
def test_alpn_agreement(
    client_backend: Backend, server_backend: Backend, tls_version: TLSVersion, pki: PKI
) -> None:
    require_version(client_backend, tls_version)
    require_version(server_backend, tls_version)
    require_alpn(client_backend, pki)
    require_alpn(server_backend, pki)
    client, server = connect(
        client_backend,
        server_backend,
        pinned(
            TLSConfiguration(
                trust_store=pki.trust, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1]
            ),
            tls_version,
        ),
        TLSConfiguration(certificate_chain=pki.server_chain, inner_protocols=[NextProtocol.HTTP1]),
    )
    assert client.negotiated_protocol() is NextProtocol.HTTP1
    assert server.negotiated_protocol() is NextProtocol.HTTP1


@pytest.mark.parametrize(
    ("protocol", "must_work"),
    [(b"my-proto", True), (b"\x00custom", False), (b"x" * 255, False)],
    ids=["my-proto", "nul-byte", "255-bytes"],
)
def test_alpn_arbitrary_bytes(
    client_backend: Backend, server_backend: Backend, pki: PKI, protocol: bytes, must_work: bool
) -> None:
    """Protocols outside NextProtocol, as raw bytes. Legal but unusual identifiers (a NUL
    byte, the maximum length) may be refused by a library, loudly, at context build."""
    require_alpn(client_backend, pki)
    require_alpn(server_backend, pki)
    client_config = TLSConfiguration(trust_store=pki.trust, inner_protocols=[b"other", protocol])
    server_config = TLSConfiguration(certificate_chain=pki.server_chain, inner_protocols=[protocol])
    if not must_work:
        for build in (
            lambda: client_backend.client_context(client_config),
            lambda: make_server_context(server_backend, server_config),
        ):
            try:
                build()
            except ConfigurationError as e:
                assert "ALPN" in str(e) or "inner_protocols" in str(e), e
                pytest.skip(f"refused at context build: {e}")
    client, server = connect(client_backend, server_backend, client_config, server_config)
    assert client.negotiated_protocol() == protocol
    assert server.negotiated_protocol() == protocol
    assert type(client.negotiated_protocol()) is bytes


def test_alpn_non_ascii_works_or_is_refused(backend: Backend, pki: PKI) -> None:
    """Non-ASCII identifiers are legal in ALPN: negotiate them, or refuse at build."""
    require_alpn(backend, pki)
    protocol = b"\xffbinary\x80"
    config = TLSConfiguration(trust_store=pki.trust, inner_protocols=[protocol])
    try:
        client_context = backend.client_context(config)
    except ConfigurationError as e:
        assert "ALPN" in str(e) or "inner_protocols" in str(e)
        pytest.skip(f"{backend.name} refuses non-ASCII ALPN at build: {e}")
    server_backend = server_peer(backend)
    try:
        server_context = make_server_context(
            server_backend,
            TLSConfiguration(certificate_chain=pki.server_chain, inner_protocols=[protocol]),
        )
    except ConfigurationError as e:
        pytest.skip(f"the server backend refuses non-ASCII ALPN at build: {e}")
    client, server = buffer_pair(client_context, server_context)
    handshake_buffers(client, server)
    assert client.negotiated_protocol() == protocol
    assert server.negotiated_protocol() == protocol


def test_alpn_offered_by_one_side_only(
    client_backend: Backend, server_backend: Backend, pki: PKI
) -> None:
    require_alpn(client_backend, pki)
    require_alpn(server_backend, pki)
    for client_protocols, server_protocols in (([NextProtocol.H2], []), ([], [NextProtocol.H2])):
        client, server = connect(
            client_backend,
            server_backend,
            TLSConfiguration(trust_store=pki.trust, inner_protocols=client_protocols),
            TLSConfiguration(certificate_chain=pki.server_chain, inner_protocols=server_protocols),
        )
        assert client.negotiated_protocol() is None
        assert server.negotiated_protocol() is None


def alpn_mismatch_outcome(
    client_backend: Backend, server_backend: Backend, version: TLSVersion, pki: PKI
) -> str:
    """``"none"`` if the handshake goes on without ALPN, ``"fail"`` if both sides fail."""
    client, server = buffer_pair(
        client_backend.client_context(
            pinned(
                TLSConfiguration(trust_store=pki.trust, inner_protocols=[NextProtocol.H2]),
                version,
            )
        ),
        make_server_context(
            server_backend,
            TLSConfiguration(
                certificate_chain=pki.server_chain, inner_protocols=[NextProtocol.HTTP1]
            ),
        ),
    )
    outcome = drive_handshake(client, server)
    if outcome.client_done and outcome.server_done:
        assert client.negotiated_protocol() is None
        assert server.negotiated_protocol() is None
        return "none"
    assert isinstance(outcome.server_error, TLSError), outcome
    if outcome.client_error is None:  # TLS 1.3: the client may finish first
        move(server, client)
        expect_tls_failure(lambda: client.read(1))
    return "fail"


def test_alpn_no_overlap_is_consistent(
    client_backend: Backend, server_backend: Backend, pki: PKI
) -> None:
    """RFC 7301: no common protocol => no ALPN, or a handshake failure; per server backend."""
    require_alpn(client_backend, pki)
    require_alpn(server_backend, pki)
    outcomes = {
        version.name: alpn_mismatch_outcome(client_backend, server_backend, version, pki)
        for version in (TLSVersion.TLSv1_2, TLSVersion.TLSv1_3)
        if version in client_backend.capabilities.tls_versions
        and version in server_backend.capabilities.tls_versions
    }
    assert len(set(outcomes.values())) == 1, outcomes


def test_alpn_refused_when_not_declared(backend: Backend, pki: PKI) -> None:
    if backend.capabilities.alpn:
        backend.client_context(TLSConfiguration(inner_protocols=[NextProtocol.H2]))
    else:
        with pytest.raises(ConfigurationError):
            backend.client_context(TLSConfiguration(inner_protocols=[NextProtocol.H2]))


# -- SNI --------------------------------------------------------------------------------
class Recorder:
    """An SNI callback that records what it saw and returns a chosen configuration."""

    def __init__(self, replacement: TLSConfiguration | None = None) -> None:
        self.calls: list[tuple[object, str | None]] = []
        self.replacement = replacement

    def __call__(
        self, conn: object, server_name: str | None, config: TLSConfiguration
    ) -> TLSConfiguration:
        self.calls.append((conn, server_name))
        assert isinstance(config, TLSConfiguration)
        return self.replacement if self.replacement is not None else config


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [
        ("localhost", "localhost"),
        ("LocalHost", "localhost"),
        ("bücher.example", "bücher.example"),
        ("xn--bcher-kva.example", "bücher.example"),
    ],
)
def test_sni_callback_sees_the_name(
    client_backend: Backend,
    server_backend: Backend,
    pki: PKI,
    idn_leaf: trustme.LeafCert,
    client_name: str,
    expected: str,
) -> None:
    require_sni_callback(server_backend, pki)
    leaf = pki.server if expected == "localhost" else idn_leaf
    recorder = Recorder()
    server_context = make_server_context(
        server_backend, TLSConfiguration(certificate_chain=chain_of(leaf), sni_callback=recorder)
    )
    client, server = buffer_pair(
        client_backend.client_context(TLSConfiguration(trust_store=pki.trust)),
        server_context,
        client_name,
    )
    handshake_buffers(client, server)
    assert recorder.calls, "the SNI callback was not called"
    conn, name = recorder.calls[0]
    assert name == expected
    assert conn is server
    assert client.getpeercert() == der_of(leaf)


@pytest.mark.parametrize("client_name", ["127.0.0.1", None])
def test_no_sni_for_ip_literals_or_none(
    client_backend: Backend, server_backend: Backend, pki: PKI, client_name: str | None
) -> None:
    require_sni_callback(server_backend, pki)
    recorder = Recorder()
    client, server = buffer_pair(
        client_backend.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(
            server_backend,
            TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=recorder),
        ),
        client_name,
    )
    handshake_buffers(client, server)
    assert all(name is None for _, name in recorder.calls), recorder.calls


def test_sni_callback_switches_certificate(
    client_backend: Backend,
    server_backend: Backend,
    pki: PKI,
    other_name_leaf: trustme.LeafCert,
    tls_version: TLSVersion,
) -> None:
    require_sni_callback(server_backend, pki)
    require_version(client_backend, tls_version)
    require_version(server_backend, tls_version)
    base = TLSConfiguration(certificate_chain=pki.server_chain)

    def callback(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        if name == "other.example":
            return config.update(certificate_chain=chain_of(other_name_leaf))
        return config

    server_context = make_server_context(server_backend, base.update(sni_callback=callback))
    client_context = client_backend.client_context(
        pinned(TLSConfiguration(trust_store=pki.trust), tls_version)
    )
    for name, leaf in (("other.example", other_name_leaf), ("localhost", pki.server)) * 2:
        client, server = buffer_pair(client_context, server_context, name)
        handshake_buffers(client, server)
        assert client.getpeercert() == der_of(leaf)
        client.write(b"ok")
        assert read_exactly(server, client, 2) == b"ok"


@pytest.mark.parametrize("failure", ["raises", "returns-none", "returns-str"])
def test_sni_callback_failure_fails_the_handshake(
    client_backend: Backend, server_backend: Backend, pki: PKI, failure: str
) -> None:
    require_sni_callback(server_backend, pki)

    def callback(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        if failure == "raises":
            raise RuntimeError("no such virtual host")
        return None if failure == "returns-none" else "other.example"  # type: ignore[return-value]

    client, server = buffer_pair(
        client_backend.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(
            server_backend,
            TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=callback),
        ),
        "localhost",
    )
    outcome = drive_handshake(client, server)
    assert isinstance(outcome.server_error, TLSError), outcome
    assert not isinstance(outcome.server_error, (WantReadError, WantWriteError))
    assert not outcome.server_done
    assert isinstance(outcome.client_error, TLSError), outcome


# -- versions and ciphers -------------------------------------------------------------
@pytest.mark.parametrize("direction", ["client-old", "client-new"])
def test_disjoint_versions_fail_on_both_sides(
    client_backend: Backend, server_backend: Backend, pki: PKI, direction: str
) -> None:
    for b in (client_backend, server_backend):
        require_version(b, TLSVersion.TLSv1_2)
        require_version(b, TLSVersion.TLSv1_3)

    def bounded(config: TLSConfiguration, old: bool) -> TLSConfiguration:
        if old:
            return config.update(highest_supported_version=TLSVersion.TLSv1_2)
        return config.update(lowest_supported_version=TLSVersion.TLSv1_3)

    client_old = direction == "client-old"
    client, server = buffer_pair(
        client_backend.client_context(bounded(TLSConfiguration(trust_store=pki.trust), client_old)),
        make_server_context(
            server_backend,
            bounded(TLSConfiguration(certificate_chain=pki.server_chain), not client_old),
        ),
    )
    outcome = drive_handshake(client, server)
    assert isinstance(outcome.client_error, TLSError), outcome
    assert isinstance(outcome.server_error, TLSError), outcome
    assert not outcome.client_done and not outcome.server_done


def require_tls12_cipher_control(backend: Backend) -> None:
    refuse_or_skip(
        backend.capabilities.cipher_control in ("all", "tls1.2"),
        "TLS 1.2 cipher control",
        backend.name,
        lambda: backend.client_context(
            TLSConfiguration(
                ciphers=[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256],
                highest_supported_version=TLSVersion.TLSv1_2,
            )
        ),
    )


@pytest.mark.parametrize("side", ["client", "server"])
@pytest.mark.parametrize(
    "suite",
    [
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ],
    ids=["aes128gcm", "chacha20"],
)
def test_tls12_single_cipher(
    client_backend: Backend,
    server_backend: Backend,
    pki: PKI,
    rsa_leaf: trustme.LeafCert,
    side: str,
    suite: CipherSuite,
) -> None:
    restricted_backend = client_backend if side == "client" else server_backend
    require_tls12_cipher_control(restricted_backend)
    require_version(client_backend, TLSVersion.TLSv1_2)
    restriction = TLSConfiguration(ciphers=[suite], highest_supported_version=TLSVersion.TLSv1_2)
    client_config = TLSConfiguration(trust_store=pki.trust)
    server_config = TLSConfiguration(certificate_chain=chain_of(rsa_leaf))
    if side == "client":
        client_config = client_config.update(
            ciphers=restriction.ciphers, highest_supported_version=TLSVersion.TLSv1_2
        )
    else:
        server_config = server_config.update(
            ciphers=restriction.ciphers, highest_supported_version=TLSVersion.TLSv1_2
        )
    client, server = connect(client_backend, server_backend, client_config, server_config)
    assert client.negotiated_tls_version() is TLSVersion.TLSv1_2
    assert client.cipher() is suite
    assert server.cipher() is suite


def test_no_shared_cipher_fails(client_backend: Backend, server_backend: Backend, pki: PKI) -> None:
    """An ECDSA certificate cannot serve a client that only allows ECDHE_RSA."""
    require_tls12_cipher_control(client_backend)
    client, server = buffer_pair(
        client_backend.client_context(
            TLSConfiguration(
                trust_store=pki.trust,
                ciphers=[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256],
                highest_supported_version=TLSVersion.TLSv1_2,
            )
        ),
        make_server_context(server_backend, TLSConfiguration(certificate_chain=pki.server_chain)),
    )
    outcome = drive_handshake(client, server)
    assert isinstance(outcome.server_error, TLSError), outcome
    assert isinstance(outcome.client_error, TLSError), outcome


@pytest.mark.parametrize("side", ["client", "server"])
def test_tls13_cipher_restriction(
    client_backend: Backend, server_backend: Backend, pki: PKI, side: str
) -> None:
    """Only a backend with full cipher control may restrict TLS 1.3 suites."""
    for b in (client_backend, server_backend):
        require_version(b, TLSVersion.TLSv1_3)
    restricted_backend = client_backend if side == "client" else server_backend
    suite = CipherSuite.TLS_CHACHA20_POLY1305_SHA256
    client_config = pinned(TLSConfiguration(trust_store=pki.trust), TLSVersion.TLSv1_3)
    server_config = TLSConfiguration(certificate_chain=pki.server_chain)
    if side == "client":
        client_config = client_config.update(ciphers=[suite])
    else:
        server_config = server_config.update(ciphers=[suite])

    def build() -> object:
        if side == "client":
            return client_backend.client_context(client_config)
        return make_server_context(server_backend, server_config)

    refuse_or_skip(
        restricted_backend.capabilities.cipher_control == "all",
        "TLS 1.3 cipher control",
        restricted_backend.name,
        build,
    )
    client, server = connect(client_backend, server_backend, client_config, server_config)
    assert client.cipher() is suite
    assert server.cipher() is suite


def test_cipher_control_none_refuses_ciphers(backend: Backend) -> None:
    config = TLSConfiguration(ciphers=list(DEFAULT_CIPHER_LIST))
    if backend.capabilities.cipher_control == "none":
        with pytest.raises(ConfigurationError):
            backend.client_context(config)
    else:
        assert backend.capabilities.cipher_control in ("all", "tls1.2")
        backend.client_context(config)


def test_unknown_cipher_alone_is_refused(backend: Backend) -> None:
    """A configuration whose only suite the backend cannot use is refused at build."""
    config = TLSConfiguration(ciphers=[0x0A0A], highest_supported_version=TLSVersion.TLSv1_2)
    with pytest.raises(ConfigurationError):
        backend.client_context(config)


# -- client certificates --------------------------------------------------------------
def require_client_auth(client_backend: Backend, server_backend: Backend, pki: PKI) -> None:
    refuse_or_skip(
        server_backend.capabilities.client_auth,
        "client certificate verification",
        server_backend.name,
        lambda: make_server_context(
            server_backend,
            TLSConfiguration(certificate_chain=pki.server_chain, trust_store=pki.trust),
        ),
    )
    refuse_or_skip(
        client_backend.capabilities.client_certificates,
        "client certificates",
        client_backend.name,
        lambda: client_backend.client_context(
            TLSConfiguration(trust_store=pki.trust, certificate_chain=pki.client_chain)
        ),
    )


def test_client_auth_success(
    client_backend: Backend, server_backend: Backend, tls_version: TLSVersion, pki: PKI
) -> None:
    require_client_auth(client_backend, server_backend, pki)
    require_version(client_backend, tls_version)
    require_version(server_backend, tls_version)
    client, server = connect(
        client_backend,
        server_backend,
        pinned(
            TLSConfiguration(trust_store=pki.trust, certificate_chain=pki.client_chain),
            tls_version,
        ),
        TLSConfiguration(certificate_chain=pki.server_chain, trust_store=pki.trust),
    )
    assert server.getpeercert() == der_of(pki.client)
    assert client.getpeercert() == der_of(pki.server)
    client.write(b"authenticated")
    assert read_exactly(server, client, 13) == b"authenticated"


def test_client_auth_required(
    client_backend: Backend, server_backend: Backend, tls_version: TLSVersion, pki: PKI
) -> None:
    require_client_auth(client_backend, server_backend, pki)
    require_version(client_backend, tls_version)
    require_version(server_backend, tls_version)
    client, server = buffer_pair(
        client_backend.client_context(pinned(TLSConfiguration(trust_store=pki.trust), tls_version)),
        make_server_context(
            server_backend,
            TLSConfiguration(certificate_chain=pki.server_chain, trust_store=pki.trust),
        ),
    )
    outcome = drive_handshake(client, server)
    assert isinstance(outcome.server_error, TLSError), outcome
    assert not outcome.server_done
    if outcome.client_error is None:
        # TLS 1.3: the client finishes before the server judges its (missing) certificate.
        assert outcome.client_done
        expect_tls_failure(lambda: client.read(1))


def test_client_certificate_not_requested_without_server_trust_store(
    client_backend: Backend, server_backend: Backend, pki: PKI
) -> None:
    if not client_backend.capabilities.client_certificates:
        pytest.skip(f"{client_backend.name} declares no client certificates")
    _, server = connect(
        client_backend,
        server_backend,
        TLSConfiguration(trust_store=pki.trust, certificate_chain=pki.client_chain),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    assert server.getpeercert() is None
