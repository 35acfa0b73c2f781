"""Quirks of the rustls backend (rtls) that the generic conformance suite does not single out.

Each test pins down one finding of the rtls probe and how the backend deals with it:
a server that cannot require client certificates or call an SNI callback (refused at
context build), ``server_hostname=None`` silently meaning "localhost" in rtls, no
report of the peer's ``close_notify``, a handshake that waits forever after EOF,
partial writes, TLS 1.3 suites that cannot be restricted, cipher names without ids,
and a key mismatch found only per connection. Peers are real: the raw standard
library ``ssl`` module in memory, or the openssl backend over loopback sockets. What
rustls does just as the BoringSSL backend does (both run on the ``_sslmodule`` engine)
is tested once, for both, in ``test_sslmodule_engine.py``.
"""

from __future__ import annotations

import socket
import ssl
import threading

import pytest
import trustme

import tls_adapter
from tls_adapter import (
    CertificateValidationError,
    CipherSuite,
    ConfigurationError,
    RaggedEOF,
    TLSConfiguration,
    TLSError,
    TLSVersion,
    TrustStore,
    WantReadError,
)

from ..peers import (
    PKI,
    client_config,
    handshake_buffers,
    move,
    read_exactly,
    send_buffered,
    server_config,
)
from .stdlib_peer import handshake, stdlib_server, stdlib_server_context
from .support import requires_backend

pytestmark = requires_backend("rustls")


@pytest.fixture
def rustls() -> tls_adapter.Backend:
    """The backend under test."""
    return tls_adapter.get_backend("rustls")


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
def test_server_sni_callback_is_refused(rustls: tls_adapter.Backend, pki: PKI) -> None:
    """rtls stores sni_callback but never calls it."""
    assert rustls.server_context is not None
    with pytest.raises(ConfigurationError, match=r"rustls.*sni_callback"):
        rustls.server_context(server_config(pki, sni_callback=lambda c, n, cfg: cfg))


# -- names: hostname checks and SNI -------------------------------------------------------
def test_wrong_hostname_is_rejected(rustls: tls_adapter.Backend, pki: PKI) -> None:
    peer = stdlib_server(pki)
    buffer = rustls.client_context(client_config(pki)).wrap_buffers("wrong.example")
    outcome = handshake(buffer, peer)
    assert isinstance(outcome.buffer_error, CertificateValidationError)
    assert "wrong.example" in outcome.buffer_error.reason
    assert peer.names == ["wrong.example"]
    # The peer was told why.
    assert outcome.peer_error is not None and "BAD_CERTIFICATE" in str(outcome.peer_error)


def test_ip_literal_not_in_the_certificate_is_rejected(
    rustls: tls_adapter.Backend, pki: PKI
) -> None:
    peer = stdlib_server(pki)
    buffer = rustls.client_context(client_config(pki)).wrap_buffers("127.0.0.2")
    outcome = handshake(buffer, peer)
    assert isinstance(outcome.buffer_error, CertificateValidationError)
    assert peer.names == [None]


def test_check_hostname_false_sends_sni_but_checks_only_the_chain(
    rustls: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    peer = stdlib_server(pki)
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
        untrusting.wrap_buffers("localhost", check_hostname=False), stdlib_server(pki)
    )
    assert isinstance(outcome.buffer_error, CertificateValidationError)


def test_validate_certificates_false_accepts_anything(
    rustls: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    with pytest.warns(tls_adapter.SecurityWarning):
        context = rustls.client_context(TLSConfiguration(validate_certificates=False))
    outcome = handshake(context.wrap_buffers("wrong.example"), stdlib_server(pki))
    assert outcome.buffer_done and outcome.peer_done, outcome


# -- end of stream --------------------------------------------------------------------------
@pytest.mark.parametrize("version", [TLSVersion.TLSv1_2, TLSVersion.TLSv1_3])
def test_peer_close_notify_reads_as_clean_close(
    rustls: tls_adapter.Backend, pki: PKI, version: TLSVersion
) -> None:
    """rtls's read() keeps raising want-read after close_notify; the backend sees it."""
    peer = stdlib_server(pki)
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
    peer = stdlib_server(pki)
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
    peer = stdlib_server(pki)
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
    peer = stdlib_server(pki)
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
    peer = stdlib_server(pki)
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
    peer = stdlib_server(pki)
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


# -- errors ---------------------------------------------------------------------------------
def test_protocol_failures_are_not_certificate_errors(
    rustls: tls_adapter.Backend, pki: PKI
) -> None:
    peer = stdlib_server(pki, maximum_version=ssl.TLSVersion.TLSv1_2)
    buffer = rustls.client_context(
        client_config(pki, lowest_supported_version=TLSVersion.TLSv1_3)
    ).wrap_buffers("localhost")
    outcome = handshake(buffer, peer)
    assert isinstance(outcome.buffer_error, TLSError)
    assert not isinstance(outcome.buffer_error, CertificateValidationError)
