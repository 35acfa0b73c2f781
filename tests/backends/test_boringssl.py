"""Quirks of the BoringSSL backend (utls) that the generic conformance suite does not single out.

Each test pins down one finding of the utls probe and how the backend deals with it:
a server that cannot report the client's certificate (so client auth is refused at
context build), an ``sni_callback`` attribute that utls ignores (the backend uses
``set_servername_callback``), handshake failures that utls mislabels as certificate
failures, TLS 1.3 suites that cannot be restricted, and the usual name, EOF and key
handling. Peers are real: the raw standard library ``ssl`` module in memory, or the
openssl backend over loopback sockets. What BoringSSL does just as the rustls backend
does (both run on the ``_sslmodule`` engine) is tested once, for both, in
``test_sslmodule_engine.py``.
"""

from __future__ import annotations

import ssl

import pytest

import tls_adapter
from tls_adapter import (
    CertificateValidationError,
    CipherSuite,
    ConfigurationError,
    RaggedEOF,
    TLSConfiguration,
    TLSError,
    TLSVersion,
    WantReadError,
)

from ..peers import PKI, chain_of, client_config, der_of, server_config
from .stdlib_peer import StdlibPeer, handshake, stdlib_client_context, stdlib_server
from .support import requires_backend

pytestmark = requires_backend("boringssl")


@pytest.fixture
def boringssl() -> tls_adapter.Backend:
    """The backend under test."""
    return tls_adapter.get_backend("boringssl")


# -- capabilities -------------------------------------------------------------------------
def test_capability_row(boringssl: tls_adapter.Backend) -> None:
    import utls

    caps = boringssl.capabilities
    assert caps.library.startswith("BoringSSL") and utls.__version__ in caps.library
    assert caps.tls_versions == (TLSVersion.TLSv1_2, TLSVersion.TLSv1_3)
    assert caps.server_side and boringssl.server_context is not None
    assert caps.sni_callback
    assert not caps.client_auth
    assert caps.client_certificates and caps.alpn and caps.buffer_api
    assert not caps.native_socket
    assert caps.cipher_control == "tls1.2"


# -- the server side -----------------------------------------------------------------------
def test_utls_server_cannot_report_the_client_leaf(pki: PKI) -> None:
    """Why client auth is refused: utls's server-side peer chain lacks the leaf.

    With BoringSSL's ``SSL_get_peer_cert_chain`` semantics the server sees the client's
    chain *without* its leaf: ``getpeercert(True)`` is the client's CA (an OpenSSL
    client sends it along) or nothing. If this test fails, utls fixed it and the backend
    can declare ``client_auth``.
    """
    import utls

    server_ctx = utls.SSLContext(utls.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(
        pki.server.cert_chain_pems[0].bytes(), pki.server.private_key_pem.bytes()
    )
    server_ctx.verify_mode = utls.CERT_REQUIRED
    server_ctx.load_verify_locations(cadata=pki.ca.cert_pem.bytes().decode())
    client_ctx = stdlib_client_context(pki)
    pki.client.configure_cert(client_ctx)
    peer = StdlibPeer(client_ctx, server_side=False, server_hostname="localhost")
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = server_ctx.wrap_bio(incoming, outgoing, server_side=True)
    done = set()
    for _ in range(10):
        for obj in (peer.obj, server):
            try:
                obj.do_handshake()
                done.add(id(obj))
            except ssl.SSLWantReadError:
                pass
        incoming.write(peer.outgoing.read())
        peer.incoming.write(outgoing.read())
    assert len(done) == 2
    assert server.getpeercert()  # the dict form is the client's leaf ...
    assert server.getpeercert(True) != der_of(pki.client)  # ... the DER form is not


def test_sni_callback_is_called_through_set_servername_callback(
    boringssl: tls_adapter.Backend, pki: PKI
) -> None:
    """utls ignores the ``sni_callback`` attribute; the backend's callback still runs."""
    other = pki.ca.issue_cert("other.example")
    seen: list[tuple[object, str | None]] = []

    def callback(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        seen.append((conn, name))
        if name == "other.example":
            return config.update(certificate_chain=chain_of(other))
        return config

    assert boringssl.server_context is not None
    server_ctx = boringssl.server_context(server_config(pki, sni_callback=callback))
    for name, leaf in (("other.example", other), ("localhost", pki.server)):
        server = server_ctx.wrap_buffers()
        peer = StdlibPeer(stdlib_client_context(pki), server_side=False, server_hostname=name)
        outcome = handshake(server, peer)
        assert outcome.buffer_done and outcome.peer_done, outcome
        assert seen[-1] == (server, name)
        assert peer.obj.getpeercert(True) == der_of(leaf)


def test_sni_callback_error_fails_the_handshake(boringssl: tls_adapter.Backend, pki: PKI) -> None:
    def callback(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        raise RuntimeError("no such site")

    assert boringssl.server_context is not None
    server = boringssl.server_context(server_config(pki, sni_callback=callback)).wrap_buffers()
    peer = StdlibPeer(stdlib_client_context(pki), server_side=False, server_hostname="localhost")
    outcome = handshake(server, peer)
    assert isinstance(outcome.buffer_error, TLSError)
    assert "no such site" in str(outcome.buffer_error)
    assert isinstance(outcome.buffer_error.__cause__, RuntimeError)
    assert outcome.peer_error is not None


# -- names: hostname checks and SNI -------------------------------------------------------
def test_wrong_hostname_is_rejected(boringssl: tls_adapter.Backend, pki: PKI) -> None:
    peer = stdlib_server(pki)
    buffer = boringssl.client_context(client_config(pki)).wrap_buffers("wrong.example")
    outcome = handshake(buffer, peer)
    assert isinstance(outcome.buffer_error, CertificateValidationError)
    assert outcome.buffer_error.reason == "hostname mismatch"
    assert peer.names == ["wrong.example"]


def test_ip_mismatch_has_a_useful_reason(boringssl: tls_adapter.Backend, pki: PKI) -> None:
    """utls says only "certificate verification failed" for X509_V_ERR_IP_ADDRESS_MISMATCH."""
    peer = stdlib_server(pki)
    buffer = boringssl.client_context(client_config(pki)).wrap_buffers("127.0.0.2")
    outcome = handshake(buffer, peer)
    assert isinstance(outcome.buffer_error, CertificateValidationError)
    assert outcome.buffer_error.reason == "IP address mismatch"
    assert peer.names == [None]


# -- errors: only real certificate failures are CertificateValidationError -------------------
def test_version_mismatch_is_not_a_certificate_error(
    boringssl: tls_adapter.Backend, pki: PKI
) -> None:
    """utls raises SSLCertVerificationError (verify_code 65) here; it is a TLSError."""
    peer = stdlib_server(pki, maximum_version=ssl.TLSVersion.TLSv1_2)
    buffer = boringssl.client_context(
        client_config(pki, lowest_supported_version=TLSVersion.TLSv1_3)
    ).wrap_buffers("localhost")
    outcome = handshake(buffer, peer)
    assert isinstance(outcome.buffer_error, TLSError)
    assert not isinstance(outcome.buffer_error, CertificateValidationError)
    cause = outcome.buffer_error.__cause__
    assert isinstance(cause, ssl.SSLCertVerificationError)  # the utls quirk is still there
    assert cause.verify_code == 65


def test_no_shared_cipher_is_not_a_certificate_error(
    boringssl: tls_adapter.Backend, pki: PKI
) -> None:
    peer = stdlib_server(pki, maximum_version=ssl.TLSVersion.TLSv1_2)
    peer.ctx.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")
    peer = StdlibPeer(peer.ctx, server_side=True)
    buffer = boringssl.client_context(
        client_config(
            pki,
            ciphers=[CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256],
            highest_supported_version=TLSVersion.TLSv1_2,
        )
    ).wrap_buffers("localhost")
    outcome = handshake(buffer, peer)
    assert isinstance(outcome.buffer_error, TLSError)
    assert not isinstance(outcome.buffer_error, CertificateValidationError)


# -- end of stream ----------------------------------------------------------------------------
@pytest.mark.parametrize("version", [TLSVersion.TLSv1_2, TLSVersion.TLSv1_3])
def test_clean_close_and_truncation(
    boringssl: tls_adapter.Backend, pki: PKI, version: TLSVersion
) -> None:
    for clean in (True, False):
        peer = stdlib_server(pki)
        buffer = boringssl.client_context(
            client_config(pki, highest_supported_version=version)
        ).wrap_buffers("localhost")
        assert handshake(buffer, peer).buffer_done
        peer.obj.write(b"last words")
        if clean:
            with pytest.raises(ssl.SSLWantReadError):
                peer.obj.unwrap()
        peer.send_to(buffer)
        assert buffer.read(100) == b"last words"
        buffer.receive_from_network(b"")
        if clean:
            assert buffer.read(100) == b""
        else:
            with pytest.raises(RaggedEOF):
                buffer.read(100)


def test_shutdown_waits_for_the_peers_close_notify(
    boringssl: tls_adapter.Backend, pki: PKI
) -> None:
    """utls's unwrap() returns False until the peer's close_notify arrived."""
    peer = stdlib_server(pki)
    buffer = boringssl.client_context(client_config(pki)).wrap_buffers("localhost")
    assert handshake(buffer, peer).buffer_done
    with pytest.raises(WantReadError):
        buffer.shutdown()
    peer.receive_from(buffer)
    peer.obj.unwrap()
    peer.send_to(buffer)
    buffer.shutdown()


def test_eof_during_the_handshake_raises_at_once(boringssl: tls_adapter.Backend, pki: PKI) -> None:
    client = boringssl.client_context(client_config(pki)).wrap_buffers("localhost")
    with pytest.raises(WantReadError):
        client.do_handshake()
    client.receive_from_network(b"")
    with pytest.raises(RaggedEOF):
        client.do_handshake()


# -- cipher suites --------------------------------------------------------------------------
@pytest.mark.parametrize("version", [TLSVersion.TLSv1_2, TLSVersion.TLSv1_3])
def test_cipher_is_what_the_peer_negotiated(
    boringssl: tls_adapter.Backend, pki: PKI, version: TLSVersion
) -> None:
    peer = stdlib_server(pki)
    buffer = boringssl.client_context(
        client_config(pki, highest_supported_version=version)
    ).wrap_buffers("localhost")
    assert handshake(buffer, peer).buffer_done
    peer_cipher = peer.obj.cipher()
    assert peer_cipher is not None
    suite = buffer.cipher()
    assert isinstance(suite, CipherSuite)
    from tls_adapter._ciphers import openssl_name_table

    assert openssl_name_table()[int(suite)] == peer_cipher[0]


# -- keys -------------------------------------------------------------------------------------
def test_mismatched_key_is_refused_at_build(boringssl: tls_adapter.Backend, pki: PKI) -> None:
    certs, _ = pki.server_chain
    _, wrong_key = pki.client_chain
    assert boringssl.server_context is not None
    with pytest.raises(ConfigurationError, match="does not match"):
        boringssl.server_context(TLSConfiguration(certificate_chain=(certs, wrong_key)))
