"""Quirks of the rustls backend (rtls) that the generic conformance suite does not single out.

Each test pins down one finding of the rtls probe and how the backend deals with it:
a server that cannot require client certificates or call an SNI callback (refused at
context build), ``server_hostname=None`` silently meaning "localhost" in rtls, no
report of the peer's ``close_notify``, a handshake that waits forever after EOF,
partial writes, TLS 1.3 suites that cannot be restricted, cipher names without ids,
and a key mismatch found only per connection. Peers are real: the raw standard
library ``ssl`` module in memory, or the openssl backend over loopback sockets.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

import tls_adapter
from tls_adapter import (
    CertificateValidationError,
    CipherSuite,
    ConfigurationError,
    PrivateKey,
    RaggedEOF,
    TLSConfiguration,
    TLSError,
    TLSVersion,
    TrustStore,
    WantReadError,
)
from tls_adapter.backends import backend_status

from ..peers import (
    PKI,
    ThreadedServer,
    chain_of,
    client_config,
    der_of,
    drive_handshake,
    echo_handler,
    handshake_buffers,
    move,
    read_exactly,
    send_buffered,
    server_config,
)
from .stdlib_peer import (
    StdlibPeer,
    handshake,
    stdlib_client_context,
    stdlib_server_context,
)


def _status() -> tuple[bool, str]:
    for status in backend_status():
        if status.name == "rustls":
            return status.available, status.reason
    return False, "the registry does not know the rustls backend"


_AVAILABLE, _REASON = _status()
pytestmark = pytest.mark.skipif(not _AVAILABLE, reason=f"rustls backend: {_REASON}")


@pytest.fixture
def rustls() -> tls_adapter.Backend:
    """The backend under test."""
    return tls_adapter.get_backend("rustls")


@pytest.fixture
def openssl() -> tls_adapter.Backend:
    """The reference backend (the standard library's ssl), as an independent peer."""
    return tls_adapter.get_backend("openssl")


def _stdlib_server(pki: PKI, **options: object) -> StdlibPeer:
    return StdlibPeer(stdlib_server_context(pki, **options), server_side=True)


# -- capabilities -------------------------------------------------------------------------
def test_capability_row(rustls: tls_adapter.Backend) -> None:
    import rtls

    caps = rustls.capabilities
    assert rtls.__version__ in caps.library
    assert caps.tls_versions == (TLSVersion.TLSv1_2, TLSVersion.TLSv1_3)
    assert caps.server_side and rustls.server_context is not None
    assert not caps.client_auth
    assert not caps.sni_callback
    assert caps.client_certificates and caps.alpn and caps.buffer_api
    assert not caps.native_socket
    assert caps.cipher_control == "tls1.2"
    # close_notify detection works with this rtls: no fallback note.
    assert not any("cannot be told from EOF" in note for note in caps.notes)


# -- the server side: no client auth, no SNI callback ------------------------------------
def test_server_trust_store_is_refused(rustls: tls_adapter.Backend, pki: PKI) -> None:
    """rtls ignores verify_mode on servers: a required client cert would not be required."""
    assert rustls.server_context is not None
    with pytest.raises(ConfigurationError, match=r"rustls.*client certificates"):
        rustls.server_context(server_config(pki, trust_store=pki.trust))


def test_server_sni_callback_is_refused(rustls: tls_adapter.Backend, pki: PKI) -> None:
    """rtls stores sni_callback but never calls it."""
    assert rustls.server_context is not None
    with pytest.raises(ConfigurationError, match=r"rustls.*sni_callback"):
        rustls.server_context(server_config(pki, sni_callback=lambda c, n, cfg: cfg))


def test_server_never_asks_for_a_client_certificate(
    rustls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """A client that has a certificate is not asked for it: the server reports none."""
    assert rustls.server_context is not None
    server = rustls.server_context(server_config(pki)).wrap_buffers()
    client = openssl.client_context(client_config(pki, certificate_chain=pki.client_chain))
    buffer = client.wrap_buffers("localhost")
    handshake_buffers(buffer, server)
    assert server.getpeercert() is None
    assert buffer.getpeercert() == der_of(pki.server)


# -- names: hostname checks and SNI -------------------------------------------------------
def test_wrong_hostname_is_rejected(rustls: tls_adapter.Backend, pki: PKI) -> None:
    peer = _stdlib_server(pki)
    buffer = rustls.client_context(client_config(pki)).wrap_buffers("wrong.example")
    outcome = handshake(buffer, peer)
    assert isinstance(outcome.buffer_error, CertificateValidationError)
    assert "wrong.example" in outcome.buffer_error.reason
    assert peer.names == ["wrong.example"]
    # The peer was told why.
    assert outcome.peer_error is not None and "BAD_CERTIFICATE" in str(outcome.peer_error)


@pytest.mark.parametrize("name", ["127.0.0.1", "::1", "[::1]"])
def test_ip_literals_send_no_sni_and_are_checked(
    rustls: tls_adapter.Backend, pki: PKI, name: str
) -> None:
    peer = _stdlib_server(pki)
    buffer = rustls.client_context(client_config(pki)).wrap_buffers(name)
    outcome = handshake(buffer, peer)
    assert outcome.buffer_done and outcome.peer_done, outcome
    assert peer.names == [None]
    assert buffer.getpeercert() == der_of(pki.server)


def test_ip_literal_not_in_the_certificate_is_rejected(
    rustls: tls_adapter.Backend, pki: PKI
) -> None:
    peer = _stdlib_server(pki)
    buffer = rustls.client_context(client_config(pki)).wrap_buffers("127.0.0.2")
    outcome = handshake(buffer, peer)
    assert isinstance(outcome.buffer_error, CertificateValidationError)
    assert peer.names == [None]


def test_no_server_hostname_sends_no_sni_and_checks_no_name(
    rustls: tls_adapter.Backend, pki: PKI
) -> None:
    """rtls would send and check "localhost"; the backend sends no name at all."""
    leaf = pki.ca.issue_cert("elsewhere.example")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(ctx)
    peer = StdlibPeer(ctx, server_side=True)
    buffer = rustls.client_context(client_config(pki)).wrap_buffers(None)
    outcome = handshake(buffer, peer)
    assert outcome.buffer_done and outcome.peer_done, outcome
    assert peer.names == [None]
    assert buffer.getpeercert() == der_of(leaf)


def test_no_server_hostname_still_validates_the_chain(
    rustls: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    untrusting = rustls.client_context(
        TLSConfiguration(trust_store=TrustStore.from_buffer(other_ca.cert_pem.bytes()))
    )
    peer = _stdlib_server(pki)
    outcome = handshake(untrusting.wrap_buffers(None), peer)
    assert isinstance(outcome.buffer_error, CertificateValidationError)
    assert "UnknownIssuer" in outcome.buffer_error.reason


def test_check_hostname_false_sends_sni_but_checks_only_the_chain(
    rustls: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    peer = _stdlib_server(pki)
    buffer = rustls.client_context(client_config(pki)).wrap_buffers(
        "wrong.example", check_hostname=False
    )
    outcome = handshake(buffer, peer)
    assert outcome.buffer_done and outcome.peer_done, outcome
    assert peer.names == ["wrong.example"]
    untrusting = rustls.client_context(
        TLSConfiguration(trust_store=TrustStore.from_buffer(other_ca.cert_pem.bytes()))
    )
    outcome = handshake(
        untrusting.wrap_buffers("localhost", check_hostname=False), _stdlib_server(pki)
    )
    assert isinstance(outcome.buffer_error, CertificateValidationError)


def test_validate_certificates_false_accepts_anything(
    rustls: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    with pytest.warns(tls_adapter.SecurityWarning):
        context = rustls.client_context(TLSConfiguration(validate_certificates=False))
    outcome = handshake(context.wrap_buffers("wrong.example"), _stdlib_server(pki))
    assert outcome.buffer_done and outcome.peer_done, outcome


# -- end of stream --------------------------------------------------------------------------
@pytest.mark.parametrize("version", [TLSVersion.TLSv1_2, TLSVersion.TLSv1_3])
def test_peer_close_notify_reads_as_clean_close(
    rustls: tls_adapter.Backend, pki: PKI, version: TLSVersion
) -> None:
    """rtls's read() keeps raising want-read after close_notify; the backend sees it."""
    peer = _stdlib_server(pki)
    buffer = rustls.client_context(
        client_config(pki, highest_supported_version=version)
    ).wrap_buffers("localhost")
    assert handshake(buffer, peer).buffer_done
    assert buffer.negotiated_tls_version() is version
    peer.obj.write(b"last words")
    with pytest.raises(ssl.SSLWantReadError):
        peer.obj.unwrap()
    peer.send_to(buffer)
    assert buffer.read(100) == b"last words"
    assert buffer.read(100) == b""
    assert buffer.read(100) == b""
    buffer.receive_from_network(b"")  # TCP closes after close_notify: still clean
    assert buffer.read(100) == b""


@pytest.mark.parametrize("version", [TLSVersion.TLSv1_2, TLSVersion.TLSv1_3])
def test_truncation_is_ragged_eof(
    rustls: tls_adapter.Backend, pki: PKI, version: TLSVersion
) -> None:
    peer = _stdlib_server(pki)
    buffer = rustls.client_context(
        client_config(pki, highest_supported_version=version)
    ).wrap_buffers("localhost")
    assert handshake(buffer, peer).buffer_done
    peer.obj.write(b"cut sho")
    peer.send_to(buffer)
    with pytest.raises(WantReadError):  # no EOF yet: just no more data
        buffer.read(100) and buffer.read(100)
    buffer.receive_from_network(b"")
    with pytest.raises(RaggedEOF):
        buffer.read(100)


def test_shutdown_waits_for_the_peers_close_notify(rustls: tls_adapter.Backend, pki: PKI) -> None:
    """After ours is sent, rtls's read() refuses to run; the backend reads the peer's."""
    peer = _stdlib_server(pki)
    buffer = rustls.client_context(client_config(pki)).wrap_buffers("localhost")
    assert handshake(buffer, peer).buffer_done
    with pytest.raises(WantReadError):
        buffer.shutdown()
    peer.receive_from(buffer)
    peer.obj.write(b"data the closing side drops")
    peer.obj.unwrap()  # our close_notify arrived: the peer answers with its own
    peer.send_to(buffer)
    buffer.shutdown()  # now complete
    buffer.shutdown()  # and idempotent


def test_shutdown_then_eof_is_ragged(rustls: tls_adapter.Backend, pki: PKI) -> None:
    peer = _stdlib_server(pki)
    buffer = rustls.client_context(client_config(pki)).wrap_buffers("localhost")
    assert handshake(buffer, peer).buffer_done
    with pytest.raises(WantReadError):
        buffer.shutdown()
    buffer.receive_from_network(b"")
    with pytest.raises(RaggedEOF):
        buffer.shutdown()


def test_unwrap_over_sockets_leaves_a_clean_plain_stream(
    rustls: tls_adapter.Backend, pki: PKI
) -> None:
    """The peer's close_notify is consumed, so the next bytes are the peer's plaintext."""
    ctx = stdlib_server_context(pki)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            raw, _ = listener.accept()
            with ctx.wrap_socket(raw, server_side=True) as tls:
                assert tls.recv(4) == b"ping"
                plain = tls.unwrap()
                assert plain.recv(2) == b"go"
                plain.sendall(b"plaintext after TLS")
                plain.close()
        except BaseException as e:  # reported below
            errors.append(e)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        tls = rustls.client_context(client_config(pki)).wrap_socket(raw, "localhost")
        tls.do_handshake()
        tls.sendall(b"ping")
        plain = tls.unwrap()
        plain.sendall(b"go")
        received = b""
        while chunk := plain.recv(100):
            received += chunk
        plain.close()
        assert received == b"plaintext after TLS"
    finally:
        thread.join(10)
        listener.close()
    assert not errors, errors


def test_eof_during_the_handshake_raises_at_once(rustls: tls_adapter.Backend, pki: PKI) -> None:
    """rtls keeps asking for data after EOF; the backend stops (client and server side)."""
    client = rustls.client_context(client_config(pki)).wrap_buffers("localhost")
    with pytest.raises(WantReadError):
        client.do_handshake()
    client.receive_from_network(b"")
    with pytest.raises(RaggedEOF):
        client.do_handshake()
    assert rustls.server_context is not None
    server = rustls.server_context(server_config(pki)).wrap_buffers()
    hello = client.peek_outgoing(client.outgoing_bytes_buffered())
    server.receive_from_network(hello[:20])
    server.receive_from_network(b"")
    with pytest.raises(RaggedEOF):
        server.do_handshake()


def test_server_closing_at_once_fails_a_socket_handshake_promptly(
    rustls: tls_adapter.Backend, pki: PKI
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def slam() -> None:
        raw, _ = listener.accept()
        raw.shutdown(socket.SHUT_WR)  # EOF at once; keep reading so nothing resets
        while raw.recv(65536):
            pass
        raw.close()

    thread = threading.Thread(target=slam)
    thread.start()
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        tls = rustls.client_context(client_config(pki)).wrap_socket(raw, "localhost")
        started = time.monotonic()
        with pytest.raises(RaggedEOF):
            tls.do_handshake()
        assert time.monotonic() - started < 5
        tls.close()
    finally:
        thread.join(10)
        listener.close()


# -- data -------------------------------------------------------------------------------------
def test_large_write_may_be_short_and_nothing_is_lost(
    rustls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """rtls's write() takes at most 64 KiB; the short count is passed on, and honoured."""
    assert openssl.server_context is not None
    client = rustls.client_context(client_config(pki)).wrap_buffers("localhost")
    server = openssl.server_context(server_config(pki)).wrap_buffers()
    handshake_buffers(client, server)
    taken = client.write(b"x" * 200_000)
    assert 0 < taken <= 200_000
    assert read_exactly(server, client, taken) == b"x" * taken
    data = bytes(range(256)) * 2000
    assert send_buffered(client, server, data) == data
    assert send_buffered(server, client, data) == data


def test_read_before_the_handshake_runs_it(
    rustls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """rtls refuses I/O before the handshake; the backend runs the handshake first."""
    assert openssl.server_context is not None
    client = rustls.client_context(client_config(pki)).wrap_buffers("localhost")
    server = openssl.server_context(server_config(pki)).wrap_buffers()
    with pytest.raises(WantReadError):
        client.write(b"early")
    move(client, server)
    with pytest.raises(WantReadError):
        server.do_handshake()
    move(server, client)
    assert client.write(b"early") == 5
    move(client, server)
    server.do_handshake()
    assert server.read(5) == b"early"


# -- cipher suites --------------------------------------------------------------------------
def test_tls13_suites_cannot_be_restricted(rustls: tls_adapter.Backend) -> None:
    with pytest.raises(ConfigurationError, match=r"TLS 1\.3"):
        rustls.client_context(TLSConfiguration(ciphers=[CipherSuite.TLS_AES_128_GCM_SHA256]))
    # Without TLS 1.3 a TLS 1.2 restriction is fine.
    rustls.client_context(
        TLSConfiguration(
            ciphers=[CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256],
            highest_supported_version=TLSVersion.TLSv1_2,
        )
    )


def test_only_unsupported_tls12_suites_are_refused(rustls: tls_adapter.Backend) -> None:
    with pytest.raises(ConfigurationError, match="rustls"):
        rustls.client_context(
            TLSConfiguration(
                ciphers=[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA],
                highest_supported_version=TLSVersion.TLSv1_2,
            )
        )


@pytest.mark.parametrize(
    "suite",
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ],
)
def test_tls12_restriction_is_what_the_peer_sees(
    rustls: tls_adapter.Backend, pki: PKI, suite: CipherSuite
) -> None:
    """rtls reports no cipher ids; names are mapped to the IANA code points."""
    peer = _stdlib_server(pki)
    buffer = rustls.client_context(
        client_config(pki, ciphers=[suite], highest_supported_version=TLSVersion.TLSv1_2)
    ).wrap_buffers("localhost")
    assert handshake(buffer, peer).buffer_done
    assert buffer.cipher() is suite
    peer_cipher = peer.obj.cipher()
    assert peer_cipher is not None
    assert CipherSuite(_openssl_id(peer_cipher[0])) is suite


def _openssl_id(name: str) -> int:
    from tls_adapter._ciphers import openssl_name_table

    return next(k for k, v in openssl_name_table().items() if v == name)


def test_tls13_cipher_is_an_iana_suite(rustls: tls_adapter.Backend, pki: PKI) -> None:
    peer = _stdlib_server(pki)
    buffer = rustls.client_context(client_config(pki)).wrap_buffers("localhost")
    assert handshake(buffer, peer).buffer_done
    peer_cipher = peer.obj.cipher()
    assert peer_cipher is not None
    assert buffer.cipher() is CipherSuite[peer_cipher[0]]


def test_rustls_style_suite_names_are_normalised() -> None:
    from tls_adapter.backends._sslmodule import cipher_from_name

    assert cipher_from_name("TLS13_AES_256_GCM_SHA384") is CipherSuite.TLS_AES_256_GCM_SHA384
    assert (
        cipher_from_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        is CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    )
    assert (
        cipher_from_name("ECDHE-RSA-CHACHA20-POLY1305")
        is CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    )
    assert cipher_from_name("NOT-A-SUITE") is None


@pytest.mark.parametrize("version", [TLSVersion.TLSv1, TLSVersion.TLSv1_1])
def test_versions_below_tls12_are_clamped_or_refused(
    rustls: tls_adapter.Backend, version: TLSVersion
) -> None:
    """Allowing old versions is fine (rustls only offers 1.2+); requiring them is not."""
    rustls.client_context(TLSConfiguration(lowest_supported_version=version))
    with pytest.raises(ConfigurationError, match="rustls"):
        rustls.client_context(
            TLSConfiguration(lowest_supported_version=version, highest_supported_version=version)
        )


# -- keys -------------------------------------------------------------------------------------
def test_mismatched_key_is_refused_at_build(rustls: tls_adapter.Backend, pki: PKI) -> None:
    """rtls notices only when a connection is made; the context makes one when built."""
    certs, _ = pki.server_chain
    _, wrong_key = pki.client_chain
    assert rustls.server_context is not None
    with pytest.raises(ConfigurationError, match="does not match"):
        rustls.server_context(TLSConfiguration(certificate_chain=(certs, wrong_key)))
    with pytest.raises(ConfigurationError, match="does not match"):
        rustls.client_context(client_config(pki, certificate_chain=(certs, wrong_key)))


def _encrypted(leaf: trustme.LeafCert, fmt: serialization.PrivateFormat) -> bytes:
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    return key.private_bytes(
        serialization.Encoding.PEM, fmt, serialization.BestAvailableEncryption(b"s3cret")
    )


@pytest.mark.parametrize(
    "fmt", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
)
def test_encrypted_client_key_from_memory(
    rustls: tls_adapter.Backend,
    openssl: tls_adapter.Backend,
    pki: PKI,
    fmt: serialization.PrivateFormat,
) -> None:
    certs, _ = pki.client_chain
    key = PrivateKey.from_buffer(_encrypted(pki.client, fmt), password=lambda: b"s3cret")
    assert key.encrypted
    client = rustls.client_context(client_config(pki, certificate_chain=(certs, key)))
    assert openssl.server_context is not None
    server = openssl.server_context(server_config(pki, trust_store=pki.trust)).wrap_buffers()
    buffer = client.wrap_buffers("localhost")
    handshake_buffers(buffer, server)
    buffer.write(b"hi")
    move(buffer, server)
    assert server.read(2) == b"hi"
    assert server.getpeercert() == der_of(pki.client)
    wrong = PrivateKey.from_buffer(_encrypted(pki.client, fmt), password=b"wrong")
    with pytest.raises(ConfigurationError, match="wrong password") as info:
        rustls.client_context(client_config(pki, certificate_chain=(certs, wrong)))
    assert "s3cret" not in str(info.value)


def test_client_certificate_over_sockets(
    rustls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    assert openssl.server_context is not None
    seen: list[bytes | None] = []

    def handler(sock: tls_adapter.TLSWrappedSocket) -> None:
        seen.append(sock.getpeercert())
        echo_handler(sock)

    server_ctx = openssl.server_context(server_config(pki, trust_store=pki.trust))
    client_ctx = rustls.client_context(client_config(pki, certificate_chain=pki.client_chain))
    with (
        ThreadedServer(server_ctx, handler) as server,
        socket.create_connection((server.host, server.port), timeout=10) as raw,
    ):
        tls = client_ctx.wrap_socket(raw, "localhost")
        tls.do_handshake()
        tls.sendall(b"ping")
        assert tls.recv(4) == b"ping"
        tls.close()
    assert seen == [der_of(pki.client)]


# -- errors ---------------------------------------------------------------------------------
def test_protocol_failures_are_not_certificate_errors(
    rustls: tls_adapter.Backend, pki: PKI
) -> None:
    peer = _stdlib_server(pki, maximum_version=ssl.TLSVersion.TLSv1_2)
    buffer = rustls.client_context(
        client_config(pki, lowest_supported_version=TLSVersion.TLSv1_3)
    ).wrap_buffers("localhost")
    outcome = handshake(buffer, peer)
    assert isinstance(outcome.buffer_error, TLSError)
    assert not isinstance(outcome.buffer_error, CertificateValidationError)


def test_expired_certificate_is_a_certificate_error(
    rustls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    import datetime

    expired = pki.ca.issue_cert(
        "localhost", not_after=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(1)
    )
    assert openssl.server_context is not None
    server = openssl.server_context(TLSConfiguration(certificate_chain=chain_of(expired)))
    outcome = drive_handshake(
        rustls.client_context(client_config(pki)).wrap_buffers("localhost"),
        server.wrap_buffers(),
    )
    assert isinstance(outcome.client_error, CertificateValidationError)
    assert "expired" in outcome.client_error.reason


def test_stdlib_client_against_rustls_server(rustls: tls_adapter.Backend, pki: PKI) -> None:
    """Server side, seen by an independent client: ALPN, version and data."""
    assert rustls.server_context is not None
    server = rustls.server_context(
        server_config(pki, inner_protocols=[tls_adapter.NextProtocol.HTTP1])
    ).wrap_buffers()
    ctx = stdlib_client_context(pki)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    peer = StdlibPeer(ctx, server_side=False, server_hostname="localhost")
    outcome = handshake(server, peer)
    assert outcome.buffer_done and outcome.peer_done, outcome
    assert peer.obj.selected_alpn_protocol() == "http/1.1"
    assert server.negotiated_protocol() is tls_adapter.NextProtocol.HTTP1
    peer.obj.write(b"hello")
    peer.send_to(server)
    assert server.read(5) == b"hello"
    server.write(b"world")
    assert peer.read_all(server) == b"world"
