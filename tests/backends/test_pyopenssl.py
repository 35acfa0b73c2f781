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
import re
import socket
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

import tls_adapter
from tls_adapter import (
    Certificate,
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
from tls_adapter.backends._compat import (
    SNI_DEFAULT_ALERT,
    bundled_cipher_names,
    expect_peer_name,
    incoming_bio_pending,
    legacy_tls13_setter,
    outgoing_bio_probe,
    set_context_verify_flags,
    set_servername_hook,
    verify_reason,
    verify_result,
)

from ..peers import (
    PKI,
    ThreadedServer,
    chain_of,
    client_config,
    custom_leaf,
    der_of,
    drive_handshake,
    echo_handler,
    handshake_buffers,
    move,
    read_exactly,
    server_config,
)
from .support import requires_backend

if TYPE_CHECKING:
    from OpenSSL import SSL

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
    with socket.socket() as raw:
        attached = client_ctx.wrap_socket(raw, "localhost")
        conn = attached._buffer._conn  # type: ignore[attr-defined]
        assert conn.get_context() is first._conn.get_context()  # type: ignore[attr-defined]
        assert conn.fileno() == raw.fileno()  # OpenSSL reads and writes the descriptor
    assert pyopenssl.capabilities.native_socket is True


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


# -- private API wrappers (tls_adapter.backends._compat) ------------------------------------
# Each test calls one wrapper directly, so that a pyOpenSSL/cryptography release that
# moves a private name fails here, by name (AttributeError and the like), and checks
# the behaviour the backend relies on.
def _raw_server_context(chain: tuple[tuple[Certificate, ...], PrivateKey]) -> SSL.Context:
    from cryptography import x509
    from OpenSSL import SSL

    certs, key = chain
    native = SSL.Context(SSL.TLS_SERVER_METHOD)
    native.use_certificate(x509.load_der_x509_certificate(certs[0].to_der()))
    for extra in certs[1:]:
        native.add_extra_chain_cert(x509.load_der_x509_certificate(extra.to_der()))
    private = serialization.load_pem_private_key(key.to_pem(), None)
    native.use_privatekey(private)  # type: ignore[arg-type]
    return native


def _raw_client_context(*anchors: Certificate) -> SSL.Context:
    from cryptography import x509
    from OpenSSL import SSL, crypto

    native = SSL.Context(SSL.TLS_CLIENT_METHOD)
    native.set_verify(SSL.VERIFY_PEER)
    store = native.get_cert_store()
    assert store is not None
    for anchor in anchors:
        store.add_cert(
            crypto.X509.from_cryptography(x509.load_der_x509_certificate(anchor.to_der()))
        )
    return native


def _raw_handshake(client: SSL.Connection, server: SSL.Connection) -> None:
    """Drive two memory-BIO pyOpenSSL connections; raises the first ``SSL.Error``."""
    from OpenSSL import SSL

    done = [False, False]
    for _ in range(20):
        for i, (conn, peer) in enumerate(((client, server), (server, client))):
            if not done[i]:
                try:
                    conn.do_handshake()
                    done[i] = True
                except SSL.WantReadError:
                    pass
            while True:
                try:
                    peer.bio_write(conn.bio_read(65536))
                except SSL.WantReadError:
                    break
        if all(done):
            return
    raise AssertionError("the raw pyOpenSSL handshake made no progress")


def _raw_pair(
    client_ctx: SSL.Context, server_ctx: SSL.Context
) -> tuple[SSL.Connection, SSL.Connection]:
    from OpenSSL import SSL

    client, server = SSL.Connection(client_ctx, None), SSL.Connection(server_ctx, None)
    client.set_connect_state()
    server.set_accept_state()
    return client, server


def _ca_certificate(pki: PKI) -> Certificate:
    return Certificate.from_buffer(pki.ca.cert_pem.bytes())


@pytest.mark.parametrize(
    ("leaf", "host", "ip", "expected"),
    [
        ("server", "localhost", None, "OK"),
        ("server", "wrong.example", None, "ERR_HOSTNAME_MISMATCH"),
        ("server", None, "127.0.0.1", "OK"),
        ("server", None, "::1", "OK"),
        ("server", None, "127.0.0.2", "ERR_IP_ADDRESS_MISMATCH"),
        ("server", "127.0.0.1", None, "ERR_HOSTNAME_MISMATCH"),  # a name never matches an IP
        # X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS:
        ("partial-wildcard", "foo.example.org", None, "ERR_HOSTNAME_MISMATCH"),
        ("wildcard", "www.example.org", None, "OK"),
        # X509_CHECK_FLAG_NEVER_CHECK_SUBJECT: the CN is never a name.
        ("cn-only", "localhost", None, "ERR_HOSTNAME_MISMATCH"),
    ],
)
def test_compat_expect_peer_name(
    pki: PKI, leaf: str, host: str | None, ip: str | None, expected: str
) -> None:
    import ipaddress

    from cryptography import x509
    from OpenSSL import SSL

    chain = {
        "server": lambda: chain_of(pki.server),
        "partial-wildcard": lambda: custom_leaf(pki, "x", [x509.DNSName("f*.example.org")]),
        "wildcard": lambda: custom_leaf(pki, "x", [x509.DNSName("*.example.org")]),
        "cn-only": lambda: custom_leaf(pki, "localhost", []),
    }[leaf]()
    client, server = _raw_pair(
        _raw_client_context(_ca_certificate(pki)), _raw_server_context(chain)
    )
    packed = ipaddress.ip_address(ip).packed if ip is not None else None
    assert expect_peer_name(client, host=host, ip=packed) is True
    code = getattr(SSL.X509VerificationCodes, expected)
    if code == SSL.X509VerificationCodes.OK:
        _raw_handshake(client, server)
    else:
        with pytest.raises(SSL.Error, match="certificate verify failed"):
            _raw_handshake(client, server)
    assert verify_result(client) == code


def test_compat_expect_peer_name_wants_exactly_one_name(pki: PKI) -> None:
    from OpenSSL import SSL

    conn = SSL.Connection(_raw_client_context(_ca_certificate(pki)), None)
    with pytest.raises(ValueError, match="exactly one"):
        expect_peer_name(conn)
    with pytest.raises(ValueError, match="exactly one"):
        expect_peer_name(conn, host="localhost", ip=b"\x7f\x00\x00\x01")


def test_compat_verify_result_and_reason(pki: PKI, other_ca: trustme.CA) -> None:
    from OpenSSL import SSL

    codes = SSL.X509VerificationCodes
    untrusting = _raw_client_context(Certificate.from_buffer(other_ca.cert_pem.bytes()))
    client, server = _raw_pair(untrusting, _raw_server_context(chain_of(pki.server)))
    assert verify_result(client) == codes.OK
    with pytest.raises(SSL.Error):
        _raw_handshake(client, server)
    assert verify_result(client) == codes.ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    # The reason strings the backend reports (see test_expired_certificate_reason).
    assert verify_reason(codes.ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) == (
        "unable to get local issuer certificate"
    )
    assert verify_reason(codes.ERR_CERT_HAS_EXPIRED) == "certificate has expired"
    assert verify_reason(codes.ERR_DEPTH_ZERO_SELF_SIGNED_CERT) == "self-signed certificate"


def test_compat_set_context_verify_flags_reach_new_connections() -> None:
    """PARTIAL_CHAIN set on the context: an intermediate alone becomes a trust anchor."""
    from OpenSSL import SSL, crypto

    root = trustme.CA()
    leaf = root.create_child_ca().issue_cert("localhost")
    chain = chain_of(leaf)
    intermediate = chain[0][1]
    server_ctx = _raw_server_context(chain)
    client_ctx = _raw_client_context(intermediate)
    client, server = _raw_pair(client_ctx, server_ctx)
    with pytest.raises(SSL.Error):
        _raw_handshake(client, server)
    assert verify_result(client) == SSL.X509VerificationCodes.ERR_UNABLE_TO_GET_ISSUER_CERT
    flags = crypto.X509StoreFlags.X509_STRICT | crypto.X509StoreFlags.PARTIAL_CHAIN
    set_context_verify_flags(client_ctx, flags)
    client, server = _raw_pair(client_ctx, server_ctx)
    _raw_handshake(client, server)
    assert verify_result(client) == SSL.X509VerificationCodes.OK


@pytest.mark.parametrize(
    ("verdict", "alert"), [(None, None), (80, "internal error"), (-1, "unrecognized name")]
)
def test_compat_set_servername_hook(pki: PKI, verdict: int | None, alert: str | None) -> None:
    from OpenSSL import SSL

    assert verdict != -1 or SNI_DEFAULT_ALERT == -1
    seen: list[tuple[SSL.Connection, bytes | None]] = []

    def hook(conn: SSL.Connection) -> int | None:
        seen.append((conn, conn.get_servername()))
        return verdict

    server_ctx = _raw_server_context(chain_of(pki.server))
    handle = set_servername_hook(server_ctx, hook)
    client, server = _raw_pair(_raw_client_context(_ca_certificate(pki)), server_ctx)
    client.set_tlsext_host_name(b"localhost")
    if alert is None:
        _raw_handshake(client, server)
    else:
        with pytest.raises(SSL.Error, match="callback failed"):  # the server's side
            _raw_handshake(client, server)
        client.bio_write(server.bio_read(65536))  # its alert
        with pytest.raises(SSL.Error) as info:
            client.do_handshake()
        assert alert in str(info.value)
    assert seen == [(server, b"localhost")]
    assert handle is not None  # kept alive until here, as the backend keeps it


def test_compat_incoming_bio_pending(pki: PKI) -> None:
    from OpenSSL import SSL

    conn = SSL.Connection(_raw_server_context(chain_of(pki.server)), None)
    conn.set_accept_state()
    assert incoming_bio_pending(conn) == 0
    conn.bio_write(b"\x16\x03\x01")  # the start of a record header: OpenSSL waits for more
    assert incoming_bio_pending(conn) == 3
    with pytest.raises(SSL.WantReadError):
        conn.do_handshake()
    assert incoming_bio_pending(conn) == 0  # read, and held inside OpenSSL


def test_compat_outgoing_bio_probe(pki: PKI) -> None:
    from OpenSSL import SSL

    conn = SSL.Connection(SSL.Context(SSL.TLS_CLIENT_METHOD), None)
    conn.set_connect_state()
    outgoing_bio_pending = outgoing_bio_probe(conn)
    assert outgoing_bio_pending() == 0
    with pytest.raises(SSL.WantReadError):
        conn.do_handshake()  # writes the ClientHello into the outgoing BIO
    waiting = outgoing_bio_pending()
    assert waiting > 0
    hello = conn.bio_read(65536)
    assert len(hello) == waiting and hello[:1] == b"\x16"
    assert outgoing_bio_pending() == 0


def test_compat_bundled_cipher_names() -> None:
    table = bundled_cipher_names()
    assert table is not None
    assert table[0x1301] == "TLS_AES_128_GCM_SHA256"
    assert table[0x1303] == "TLS_CHACHA20_POLY1305_SHA256"
    assert table[0xC02F] == "ECDHE-RSA-AES128-GCM-SHA256"
    assert table[0x009C] == "AES128-GCM-SHA256"


def test_compat_legacy_tls13_setter() -> None:
    """The fallback for pyOpenSSL 25.0/25.1 (no Context.set_tls13_ciphersuites)."""
    from OpenSSL import SSL

    setter = legacy_tls13_setter()
    assert setter is not None
    native = SSL.Context(SSL.TLS_METHOD)
    setter(native, b"TLS_CHACHA20_POLY1305_SHA256")
    names = SSL.Connection(native, None).get_cipher_list()
    assert [n for n in names if n.startswith("TLS_")] == ["TLS_CHACHA20_POLY1305_SHA256"]
    with pytest.raises(SSL.Error):
        setter(native, b"NOT_A_SUITE")


def test_backend_module_uses_no_private_pyopenssl_api() -> None:
    """Private names of pyOpenSSL appear only in the wrappers of ``_compat``."""
    from tls_adapter.backends import pyopenssl as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    for pattern in (
        r"OpenSSL\._util",
        r"\b_?lib\.",
        r"\b_?ffi\.",
        r"\._ssl\b",
        r"\._(from|into)_ssl\b",
        r"\._reverse_mapping\b",
        r"native\._context\b",
        # (not our own modules: ``tls_adapter._socket``, ``from .._socket import``)
        r"(?<!tls_adapter)(?<!from \.)\._(tlsext_\w+|verify_helper|app_data|socket)\b",
    ):
        assert not re.search(pattern, source), pattern


def test_socket_reset_by_peer_is_an_oserror(pki: PKI, pyopenssl: tls_adapter.Backend) -> None:
    """On a descriptor, OpenSSL's failing recv reports errno: the caller sees
    ConnectionResetError, as with ssl (not a TLS error, not a ragged EOF)."""
    import struct

    with socket.create_server(("127.0.0.1", 0)) as listener:
        raw = socket.create_connection(listener.getsockname(), timeout=5)
        peer, _ = listener.accept()
        with raw, peer:
            tls = pyopenssl.client_context(client_config(pki)).wrap_socket(raw, "localhost")
            tls.settimeout(0)
            with pytest.raises(WantReadError):
                tls.do_handshake()  # the ClientHello is sent
            assert peer.recv(1) == b"\x16"
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            peer.close()  # with SO_LINGER 0: an RST
            tls.settimeout(5)
            with pytest.raises(ConnectionResetError):
                tls.do_handshake()
