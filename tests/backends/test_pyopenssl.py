"""Quirks of the pyOpenSSL backend that the generic conformance suite does not single out.

pyOpenSSL verifies the certificate chain but not the hostname unless told to, sends
whatever SNI it is given, and signals closes with its own exceptions; these tests pin
down that the backend closes each of those gaps. Peers are real: pyOpenSSL against
the standard library's ``ssl`` (raw, or through the openssl backend), in memory or
over loopback sockets. A check that pyopenssl passes exactly as the ``_sslmodule``
backends do (IP literals: no SNI, checked against IP SANs) is in
``test_sslmodule_engine.py``.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
    server_config,
)
from .support import requires_backend

pytestmark = requires_backend("pyopenssl")


@pytest.fixture
def pyopenssl() -> tls_adapter.Backend:
    """The backend under test."""
    return tls_adapter.get_backend("pyopenssl")


# -- a raw standard-library peer -----------------------------------------------------------
class StdlibServer:
    """An ``ssl.SSLObject`` server over memory BIOs that records the SNI it receives."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.names: list[str | None] = []
        ctx.sni_callback = self._record
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def _record(self, obj: object, name: str | None, ctx: object) -> None:
        self.names.append(name)


def stdlib_server_context(pki: PKI, **options: object) -> ssl.SSLContext:
    """A plain ``ssl`` server context presenting the test server certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki.server.configure_cert(ctx)
    for name, value in options.items():
        setattr(ctx, name, value)
    return ctx


def handshake_with_stdlib(
    client: tls_adapter.TLSWrappedBuffer, server: StdlibServer, rounds: int = 20
) -> None:
    """Drive a tls_adapter client against a raw stdlib server until both are done."""
    client_done = server_done = False
    for _ in range(rounds):
        if not client_done:
            try:
                client.do_handshake()
                client_done = True
            except WantReadError:
                pass
        n = client.outgoing_bytes_buffered()
        if n:
            server.incoming.write(client.peek_outgoing(n))
            client.consume_outgoing(n)
        if not server_done:
            try:
                server.obj.do_handshake()
                server_done = True
            except ssl.SSLWantReadError:
                pass
        if server.outgoing.pending:
            client.receive_from_network(server.outgoing.read())
        if client_done and server_done:
            return
    raise AssertionError("handshake did not finish")


# -- hostname verification (pyOpenSSL does none by itself) --------------------------------
def test_wrong_hostname_is_rejected_during_the_handshake(
    pki: PKI, pyopenssl: tls_adapter.Backend, openssl: tls_adapter.Backend
) -> None:
    client_ctx = pyopenssl.client_context(client_config(pki))
    assert openssl.server_context is not None
    server_ctx = openssl.server_context(server_config(pki))
    outcome = drive_handshake(client_ctx.wrap_buffers("wrong.example"), server_ctx.wrap_buffers())
    assert isinstance(outcome.client_error, CertificateValidationError)
    assert "Hostname mismatch" in outcome.client_error.reason
    assert "wrong.example" in outcome.client_error.reason
    # Checked inside the handshake: the server was told why, with a TLS alert.
    assert outcome.server_error is not None
    assert "bad certificate" in str(outcome.server_error).lower()
    # The same context accepts the right name.
    good = drive_handshake(client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers())
    assert good.client_done and good.server_done, good


def test_wrong_hostname_is_rejected_over_a_socket_with_a_timeout(
    pki: PKI, pyopenssl: tls_adapter.Backend, openssl: tls_adapter.Backend
) -> None:
    """The probe that found the gap connected over a socket; so does the regression test."""
    assert openssl.server_context is not None
    client_ctx = pyopenssl.client_context(client_config(pki))
    with ThreadedServer(openssl.server_context(server_config(pki)), echo_handler) as server:
        with socket.create_connection((server.host, server.port), timeout=10) as raw:
            tls = client_ctx.wrap_socket(raw, "wrong.example")
            with pytest.raises(CertificateValidationError, match="Hostname mismatch"):
                tls.do_handshake()
        with socket.create_connection((server.host, server.port), timeout=10) as raw:
            tls = client_ctx.wrap_socket(raw, "localhost")
            tls.do_handshake()
            tls.sendall(b"ping")
            assert tls.recv(4) == b"ping"
            tls.close()


def test_check_hostname_false_skips_only_the_name(
    pki: PKI, other_ca: trustme.CA, pyopenssl: tls_adapter.Backend, openssl: tls_adapter.Backend
) -> None:
    assert openssl.server_context is not None
    server_ctx = openssl.server_context(server_config(pki))
    client_ctx = pyopenssl.client_context(client_config(pki))
    outcome = drive_handshake(
        client_ctx.wrap_buffers("wrong.example", check_hostname=False), server_ctx.wrap_buffers()
    )
    assert outcome.client_done and outcome.server_done, outcome
    untrusting = pyopenssl.client_context(
        TLSConfiguration(trust_store=TrustStore.from_buffer(other_ca.cert_pem.bytes()))
    )
    outcome = drive_handshake(
        untrusting.wrap_buffers("wrong.example", check_hostname=False), server_ctx.wrap_buffers()
    )
    assert isinstance(outcome.client_error, CertificateValidationError)
    assert outcome.client_error.reason == "unable to get local issuer certificate"


# -- SNI and IP addresses -----------------------------------------------------------------
def test_dns_name_is_sent_as_sni(pki: PKI, pyopenssl: tls_adapter.Backend) -> None:
    client_ctx = pyopenssl.client_context(client_config(pki))
    server = StdlibServer(stdlib_server_context(pki))
    handshake_with_stdlib(client_ctx.wrap_buffers("LocalHost."), server)
    assert server.names == ["localhost"]


@pytest.mark.parametrize("literal", ["127.0.0.2", "::2"])
def test_ip_literal_not_in_the_certificate_is_rejected(
    pki: PKI, pyopenssl: tls_adapter.Backend, literal: str
) -> None:
    client_ctx = pyopenssl.client_context(client_config(pki))
    server = StdlibServer(stdlib_server_context(pki))
    with pytest.raises(CertificateValidationError, match="IP address mismatch"):
        handshake_with_stdlib(client_ctx.wrap_buffers(literal), server)
    assert server.names == [None]


def test_a_dns_name_does_not_match_an_ip_san(pki: PKI, pyopenssl: tls_adapter.Backend) -> None:
    """A certificate for 127.0.0.1 only: the name "localhost" must not match it."""
    leaf = pki.ca.issue_cert("127.0.0.1")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(ctx)
    client_ctx = pyopenssl.client_context(client_config(pki))
    with pytest.raises(CertificateValidationError, match="Hostname mismatch"):
        handshake_with_stdlib(client_ctx.wrap_buffers("localhost"), StdlibServer(ctx))
    handshake_with_stdlib(client_ctx.wrap_buffers("127.0.0.1"), StdlibServer(ctx))


# -- TLS 1.3 cipher suites ------------------------------------------------------------------
def test_tls13_suite_restriction_is_honoured(pki: PKI, pyopenssl: tls_adapter.Backend) -> None:
    chacha = CipherSuite.TLS_CHACHA20_POLY1305_SHA256
    if pyopenssl.capabilities.cipher_control != "all":
        with pytest.raises(ConfigurationError):
            pyopenssl.client_context(client_config(pki, ciphers=[chacha]))
        pytest.skip("this pyOpenSSL cannot restrict TLS 1.3 suites; checked that it refuses")
    # The stdlib server prefers AES-256-GCM; the client allows only ChaCha20.
    client_ctx = pyopenssl.client_context(client_config(pki, ciphers=[chacha]))
    server = StdlibServer(stdlib_server_context(pki))
    client = client_ctx.wrap_buffers("localhost")
    handshake_with_stdlib(client, server)
    assert client.cipher() == chacha
    assert server.obj.cipher() is not None
    assert server.obj.cipher()[0] == "TLS_CHACHA20_POLY1305_SHA256"  # type: ignore[index]
    assert client.negotiated_tls_version() == TLSVersion.TLSv1_3


def test_tls13_only_ciphers_raise_the_minimum_and_clash_fails(
    pki: PKI, pyopenssl: tls_adapter.Backend
) -> None:
    if pyopenssl.capabilities.cipher_control != "all":
        pytest.skip("this pyOpenSSL cannot restrict TLS 1.3 suites")
    aes128 = CipherSuite.TLS_AES_128_GCM_SHA256
    assert pyopenssl.server_context is not None
    server_ctx = pyopenssl.server_context(server_config(pki, ciphers=[aes128]))
    client_ctx = pyopenssl.client_context(client_config(pki))
    client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    handshake_buffers(client, server)
    assert client.cipher() == server.cipher() == aes128
    clashing = pyopenssl.client_context(
        client_config(pki, ciphers=[CipherSuite.TLS_CHACHA20_POLY1305_SHA256])
    )
    outcome = drive_handshake(clashing.wrap_buffers("localhost"), server_ctx.wrap_buffers())
    assert outcome.client_error is not None and outcome.server_error is not None
    # TLS 1.2 only with TLS 1.3-only suites is refused when the context is built.
    with pytest.raises(ConfigurationError):
        pyopenssl.client_context(
            client_config(pki, ciphers=[aes128], highest_supported_version=TLSVersion.TLSv1_2)
        )


# -- keys from memory -----------------------------------------------------------------------
def _encrypted_pkcs8(leaf: trustme.LeafCert, password: bytes) -> bytes:
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )


def _exception_texts(error: BaseException | None) -> Iterator[str]:
    while error is not None:
        yield str(error)
        yield repr(error)
        error = error.__cause__ or error.__context__


def test_encrypted_pkcs8_key_from_memory(
    pki: PKI, pyopenssl: tls_adapter.Backend, openssl: tls_adapter.Backend
) -> None:
    password = b"s3cret-Pa55word"
    pem = _encrypted_pkcs8(pki.client, password)
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    certs = chain_of(pki.client)[0]
    before = set(os.listdir(tempfile.gettempdir()))

    wrong = PrivateKey.from_buffer(pem, password=b"not-the-password")
    with pytest.raises(ConfigurationError) as info:
        pyopenssl.client_context(client_config(pki, certificate_chain=(certs, wrong)))
    for text in _exception_texts(info.value):
        assert "not-the-password" not in text
        assert "s3cret" not in text
    assert "password" in str(info.value)

    right = PrivateKey.from_buffer(pem, password=lambda: password)
    client_ctx = pyopenssl.client_context(client_config(pki, certificate_chain=(certs, right)))
    assert set(os.listdir(tempfile.gettempdir())) <= before

    # The decrypted key really signs: a server that requires client certificates accepts it.
    assert openssl.server_context is not None
    server_ctx = openssl.server_context(server_config(pki, trust_store=pki.trust))
    client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    handshake_buffers(client, server)
    assert server.getpeercert() == der_of(pki.client)


def test_mismatched_key_is_a_configuration_error(pki: PKI, pyopenssl: tls_adapter.Backend) -> None:
    certs = chain_of(pki.client)[0]
    other_key = chain_of(pki.server)[1]
    with pytest.raises(ConfigurationError, match="does not match"):
        pyopenssl.client_context(client_config(pki, certificate_chain=(certs, other_key)))


# -- closing ------------------------------------------------------------------------------
def test_close_notify_and_ragged_eof(
    pki: PKI, pyopenssl: tls_adapter.Backend, openssl: tls_adapter.Backend
) -> None:
    assert openssl.server_context is not None
    client_ctx = pyopenssl.client_context(client_config(pki))
    server_ctx = openssl.server_context(server_config(pki))

    client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    handshake_buffers(client, server)
    server.write(b"bye")
    with pytest.raises(WantReadError):
        server.shutdown()
    move(server, client)
    assert read_exactly(client, server, 3) == b"bye"
    assert client.read(10) == b""
    assert client.readinto(bytearray(10), 10) == 0
    client.shutdown()  # the peer's close_notify is in: completes at once
    move(client, server)
    server.shutdown()

    client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    handshake_buffers(client, server)
    server.write(b"partial")
    move(server, client)
    client.receive_from_network(b"")
    assert read_exactly(client, server, 7) == b"partial"
    with pytest.raises(RaggedEOF):
        client.read(10)


# -- server name callback -------------------------------------------------------------------
def test_sni_callback_switches_certificate_and_sees_u_labels(
    pki: PKI, pyopenssl: tls_adapter.Backend
) -> None:
    other = pki.ca.issue_cert("xn--bcher-kva.example")
    seen: list[str | None] = []
    other_config = server_config(pki).update(certificate_chain=chain_of(other))

    def pick(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        seen.append(name)
        return other_config if name == "bücher.example" else config

    assert pyopenssl.server_context is not None
    server_ctx = pyopenssl.server_context(server_config(pki, sni_callback=pick))
    client_ctx = pyopenssl.client_context(client_config(pki))
    client, server = client_ctx.wrap_buffers("bücher.example"), server_ctx.wrap_buffers()
    handshake_buffers(client, server)
    assert client.getpeercert() == der_of(other)
    client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    handshake_buffers(client, server)
    assert client.getpeercert() == der_of(pki.server)
    assert seen == ["bücher.example", "localhost"]


def test_sni_callback_switches_alpn_and_client_authentication(
    pki: PKI, pyopenssl: tls_adapter.Backend
) -> None:
    """What the capability notes promise beyond the certificate: ALPN and client auth."""
    strict = server_config(pki, trust_store=pki.trust, inner_protocols=[b"switched"])

    def pick(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        return strict if name == "localhost" else config

    assert pyopenssl.server_context is not None
    server_ctx = pyopenssl.server_context(server_config(pki, sni_callback=pick))
    with_cert = pyopenssl.client_context(
        client_config(pki, certificate_chain=pki.client_chain, inner_protocols=[b"switched"])
    )
    client, server = with_cert.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    handshake_buffers(client, server)
    assert client.negotiated_protocol() == server.negotiated_protocol() == b"switched"
    assert server.getpeercert() == der_of(pki.client)
    # Without SNI the original configuration applies: no ALPN, no client certificate asked.
    client, server = with_cert.wrap_buffers(None), server_ctx.wrap_buffers()
    handshake_buffers(client, server)
    assert client.negotiated_protocol() is None
    assert server.getpeercert() is None
    # With SNI but without a certificate, the switched-to requirement is enforced.
    without_cert = pyopenssl.client_context(client_config(pki))
    client, server = without_cert.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    outcome = drive_handshake(client, server)
    assert not outcome.server_done
    assert isinstance(outcome.server_error, TLSError)
    assert "certificate" in str(outcome.server_error)


def test_sni_callback_error_fails_the_handshake_with_its_cause(
    pki: PKI, pyopenssl: tls_adapter.Backend
) -> None:
    class Refused(Exception):
        pass

    def refuse(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        raise Refused(name)

    assert pyopenssl.server_context is not None
    server_ctx = pyopenssl.server_context(server_config(pki, sni_callback=refuse))
    client_ctx = pyopenssl.client_context(client_config(pki))
    outcome = drive_handshake(client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers())
    assert isinstance(outcome.server_error, TLSError)
    assert isinstance(outcome.server_error.__cause__, Refused)
    assert outcome.client_error is not None
    assert "internal error" in str(outcome.client_error).lower()


# -- verification reasons and trust ---------------------------------------------------------
def test_expired_certificate_reason(pki: PKI, pyopenssl: tls_adapter.Backend) -> None:
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30)
    expired = pki.ca.issue_cert(
        "localhost", not_before=past - datetime.timedelta(days=30), not_after=past
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    expired.configure_cert(ctx)
    client_ctx = pyopenssl.client_context(client_config(pki))
    with pytest.raises(CertificateValidationError) as info:
        handshake_with_stdlib(client_ctx.wrap_buffers("localhost"), StdlibServer(ctx))
    assert info.value.reason == "certificate has expired"


def test_system_trust_is_the_bundle_openssl_would_load(
    pki: PKI, pyopenssl: tls_adapter.Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``TrustStore.system()`` follows ``ssl``'s default paths, so SSL_CERT_FILE counts."""
    if pyopenssl.capabilities.system_trust.startswith("unavailable"):
        with pytest.raises(ConfigurationError):
            pyopenssl.client_context(TLSConfiguration())
        pytest.skip("no system trust store for pyopenssl on this OS; checked that it refuses")
    system_ctx = pyopenssl.client_context(TLSConfiguration())
    with pytest.raises(CertificateValidationError):
        handshake_with_stdlib(
            system_ctx.wrap_buffers("localhost"), StdlibServer(stdlib_server_context(pki))
        )
    bundle = tmp_path / "ca.pem"
    pki.ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    env_ctx = pyopenssl.client_context(TLSConfiguration(trust_store=TrustStore.system()))
    monkeypatch.delenv("SSL_CERT_FILE")  # loaded once, when the context was built
    client = env_ctx.wrap_buffers("localhost")
    handshake_with_stdlib(client, StdlibServer(stdlib_server_context(pki)))
    assert client.getpeercert() == der_of(pki.server)


# -- one native context per configuration, and the pump over real sockets --------------------
def test_native_context_is_shared_by_connections(pki: PKI, pyopenssl: tls_adapter.Backend) -> None:
    client_ctx = pyopenssl.client_context(client_config(pki))
    first = client_ctx.wrap_buffers("localhost")
    second = client_ctx.wrap_buffers("127.0.0.1", check_hostname=False)
    assert first._conn.get_context() is second._conn.get_context()  # type: ignore[attr-defined]
    assert pyopenssl.capabilities.native_socket is False


def test_pyopenssl_server_and_client_over_sockets(pki: PKI, pyopenssl: tls_adapter.Backend) -> None:
    assert pyopenssl.server_context is not None
    server_ctx = pyopenssl.server_context(server_config(pki, trust_store=pki.trust))
    client_ctx = pyopenssl.client_context(client_config(pki, certificate_chain=pki.client_chain))
    payload = os.urandom(300_000)
    with (
        ThreadedServer(server_ctx, echo_handler) as server,
        socket.create_connection((server.host, server.port), timeout=10) as raw,
    ):
        tls = client_ctx.wrap_socket(raw, "localhost")
        tls.do_handshake()
        received = bytearray()
        for start in range(0, len(payload), 32768):
            chunk = payload[start : start + 32768]
            tls.sendall(chunk)
            while len(received) < start + len(chunk):
                data = tls.recv(65536)
                assert data, "the echo server closed early"
                received += data
        assert bytes(received) == payload
        tls.close()
    assert server.errors == []
