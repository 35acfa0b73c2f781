"""Quirks of the Mbed TLS backend (python-mbedtls 2.10.1) that the conformance suite
does not single out: one regression test per problem the library has, proving that the
backend closes it.

Peers are real: the backend against itself, against the standard library's ``ssl``
(raw ``SSLObject`` over memory BIOs, to see exactly what goes over the wire) and
against the openssl backend.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import socket
import ssl
import warnings
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

import tls_adapter
from tls_adapter import (
    CertificateValidationError,
    CipherSuite,
    ConfigurationError,
    NextProtocol,
    PrivateKey,
    RaggedEOF,
    SecurityWarning,
    TLSConfiguration,
    TLSError,
    TLSVersion,
    TLSWrappedBuffer,
    TrustStore,
    WantReadError,
)
from tls_adapter.backends._buffer_kit import BufferBase
from tls_adapter.backends._compat import (
    mbedtls_handshake_step,
    mbedtls_input_room,
    mbedtls_input_unread,
    mbedtls_set_hostname,
)

from ..peers import (
    PKI,
    ThreadedServer,
    chain_of,
    der_of,
    drive_handshake,
    echo_handler,
    handshake_buffers,
    move,
)
from .support import requires_backend

Backend = tls_adapter.Backend

pytestmark = requires_backend("mbedtls")
PASSWORD = b"open sesame"


@pytest.fixture
def mbedtls() -> Backend:
    """The backend under test."""
    return tls_adapter.get_backend("mbedtls")


# -- helpers ----------------------------------------------------------------------------
def client_of(backend: Backend, pki: PKI, **options: object) -> tls_adapter.ClientContext:
    return backend.client_context(TLSConfiguration(trust_store=pki.trust, **options))  # type: ignore[arg-type]


def server_of(backend: Backend, pki: PKI, **options: object) -> tls_adapter.ServerContext:
    assert backend.server_context is not None
    config = TLSConfiguration(certificate_chain=pki.server_chain, **options)  # type: ignore[arg-type]
    return backend.server_context(config)


class StdlibPeer:
    """A raw ``ssl.SSLObject`` over memory BIOs; as a server it records the SNI it sees."""

    def __init__(
        self, ctx: ssl.SSLContext, server_side: bool, server_hostname: str | None = None
    ) -> None:
        self.names: list[str | None] = []
        if server_side:
            ctx.sni_callback = self._record
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(
            self.incoming, self.outgoing, server_side=server_side, server_hostname=server_hostname
        )
        self.done = False

    def _record(self, obj: object, name: str | None, ctx: object) -> None:
        self.names.append(name)

    def exchange(self, buf: TLSWrappedBuffer) -> int:
        """Move bytes both ways between *buf* and this peer; how many moved."""
        moved = 0
        n = buf.outgoing_bytes_buffered()
        if n:
            self.incoming.write(buf.peek_outgoing(n))
            buf.consume_outgoing(n)
            moved += n
        if self.outgoing.pending:
            data = self.outgoing.read()
            buf.receive_from_network(data)
            moved += len(data)
        return moved

    def step(self) -> None:
        if not self.done:
            try:
                self.obj.do_handshake()
                self.done = True
            except ssl.SSLWantReadError:
                pass


def stdlib_server(
    pki: PKI, leaf: trustme.LeafCert | None = None, **options: object
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    (leaf or pki.server).configure_cert(ctx)
    for name, value in options.items():
        setattr(ctx, name, value)
    return ctx


def stdlib_client(pki: PKI, **options: object) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    pki.ca.configure_trust(ctx)
    for name, value in options.items():
        setattr(ctx, name, value)
    return ctx


def handshake_stdlib(buf: TLSWrappedBuffer, peer: StdlibPeer, rounds: int = 30) -> None:
    done = False
    for _ in range(rounds):
        if not done:
            try:
                buf.do_handshake()
                done = True
            except WantReadError:
                pass
        peer.exchange(buf)
        peer.step()
        moved = peer.exchange(buf)
        if done and peer.done and not moved:
            return
    raise AssertionError("handshake with the stdlib peer did not finish")


def serve_stdlib_client(server: TLSWrappedBuffer, peer: StdlibPeer, rounds: int = 30) -> None:
    """Drive a tls_adapter server against a raw stdlib client until both are done."""
    for _ in range(rounds):
        peer.step()
        peer.exchange(server)
        with contextlib.suppress(WantReadError):
            server.do_handshake()
        peer.exchange(server)
        if peer.done and server.negotiated_tls_version() is not None:
            return
    raise AssertionError("handshake with the stdlib client did not finish")


def drain_reads(buf: TLSWrappedBuffer, size: int) -> bytes:
    """Read from *buf* in *size* pieces until it wants more data."""
    out = bytearray()
    while True:
        try:
            piece = buf.read(size)
        except WantReadError:
            return bytes(out)
        if not piece:
            return bytes(out)
        out += piece


# -- the capability row ----------------------------------------------------------------
def test_capability_row(mbedtls: Backend) -> None:
    caps = mbedtls.capabilities
    assert caps.library.startswith("Mbed TLS 2.28.") and "python-mbedtls 2.10.1" in caps.library
    assert caps.tls_versions == (TLSVersion.TLSv1, TLSVersion.TLSv1_1, TLSVersion.TLSv1_2)
    assert TLSVersion.TLSv1_3 not in caps.tls_versions
    assert caps.native_socket is False  # python-mbedtls's own socket loses data
    assert caps.buffer_api and caps.server_side and caps.alpn
    assert caps.client_auth and caps.client_certificates
    assert caps.sni_callback is False
    assert caps.cipher_control == "tls1.2"
    assert any("TLS 1.3" in note for note in caps.notes)


# -- data integrity: reads smaller than a record, writes larger than the ring ---------
def test_small_reads_of_large_records_lose_nothing(mbedtls: Backend, pki: PKI) -> None:
    """python-mbedtls's read(5) of a 12-byte record returned 5 bytes and lost the other 7."""
    client, server = (
        client_of(mbedtls, pki).wrap_buffers("localhost"),
        server_of(mbedtls, pki).wrap_buffers(),
    )
    handshake_buffers(client, server)
    payload = b"hello server" + os.urandom(100_000)
    sent = 0
    while sent < len(payload):
        sent += server.write(payload[sent:])
    move(server, client)
    received = bytearray(client.read(5))
    assert bytes(received) == b"hello"
    buf = bytearray(3)
    while len(received) < len(payload):
        n = client.readinto(buf, 3)
        assert n > 0
        received += buf[:n]
    assert bytes(received) == payload
    with pytest.raises(WantReadError):
        client.read(1)


def test_small_reads_from_a_stdlib_peer(mbedtls: Backend, pki: PKI) -> None:
    client = client_of(mbedtls, pki).wrap_buffers("localhost")
    peer = StdlibPeer(stdlib_server(pki), server_side=True)
    handshake_stdlib(client, peer)
    peer.obj.write(b"0123456789" * 3000)  # two records
    peer.exchange(client)
    got = drain_reads(client, 7)
    assert got == b"0123456789" * 3000


def test_write_counts_plaintext_and_takes_large_buffers(mbedtls: Backend, pki: PKI) -> None:
    """python-mbedtls returns a ciphertext count, and a 100 KB write raised WantReadError."""
    client = client_of(mbedtls, pki).wrap_buffers("localhost")
    peer = StdlibPeer(stdlib_server(pki), server_side=True)
    handshake_stdlib(client, peer)
    assert client.write(b"hello server") == 12  # not 33 (the record's size)
    big = os.urandom(100 * 1024)
    assert client.write(big) == len(big)  # 100 KiB is under the 256 KiB high-water mark
    peer.exchange(client)
    received = bytearray()
    while True:
        try:
            received += peer.obj.read(1 << 20)
        except ssl.SSLWantReadError:
            break
    assert bytes(received) == b"hello server" + big


def test_sockets_use_the_pump_and_big_recvs_work(
    mbedtls: Backend, openssl: Backend, pki: PKI
) -> None:
    """python-mbedtls's own socket broke on recv() > 16 KiB; the generic pump does not."""
    assert openssl.server_context is not None
    server_ctx = openssl.server_context(TLSConfiguration(certificate_chain=pki.server_chain))
    payload = os.urandom(3 * 1024 * 1024 + 7)
    with ThreadedServer(server_ctx, echo_handler) as server:
        raw = socket.create_connection((server.host, server.port), timeout=10)
        with client_of(mbedtls, pki).wrap_socket(raw, "127.0.0.1") as sock:
            assert type(sock).__name__ == "BufferSocket"
            sock.do_handshake()
            sock.sendall(payload)
            received = bytearray()
            while len(received) < len(payload):
                chunk = sock.recv(1 << 20)
                assert chunk
                received += chunk
            assert bytes(received) == payload
    assert not server.errors


# -- the read path: whole records straight into the caller's buffer -------------------
def _records(ciphertext: bytes) -> list[bytes]:
    """*ciphertext* cut into its TLS records."""
    out, pos = [], 0
    while pos < len(ciphertext):
        end = pos + 5 + int.from_bytes(ciphertext[pos + 3 : pos + 5], "big")
        out.append(ciphertext[pos:end])
        pos = end
    return out


def _client_and_stdlib_server(mbedtls: Backend, pki: PKI) -> tuple[BufferBase[Any], StdlibPeer]:
    client = client_of(mbedtls, pki).wrap_buffers("localhost")
    assert isinstance(client, BufferBase)  # for pending()
    peer = StdlibPeer(stdlib_server(pki), server_side=True)
    handshake_stdlib(client, peer)
    return client, peer


def _feed_like_the_pump(buf: TLSWrappedBuffer, ciphertext: bytes, size: int = 70_000) -> None:
    """Feed *ciphertext* as the socket pump does: memoryview slices of one reused
    bytearray, overwritten as soon as each call returns."""
    scratch = bytearray(size)
    view = memoryview(scratch)
    for pos in range(0, len(ciphertext), size):
        piece = ciphertext[pos : pos + size]
        view[: len(piece)] = piece
        buf.receive_from_network(view[: len(piece)])
        view[: len(piece)] = bytes(len(piece))  # the pump reuses its buffer


def test_readinto_memoryview_slices_many_records_fed_at_once(mbedtls: Backend, pki: PKI) -> None:
    client, peer = _client_and_stdlib_server(mbedtls, pki)
    payload = os.urandom(1024 * 1024 + 123)  # 65 records
    peer.obj.write(payload)
    _feed_like_the_pump(client, peer.outgoing.read())
    target = bytearray(3 * 65536)
    received = bytearray()
    sizes = [65536, 16384, 40000, 16383, 7, 100_000]  # straight in, and through _scratch
    turn = 0
    while True:
        amt = sizes[turn % len(sizes)]
        turn += 1
        offset = 1000 + turn % 3  # a slice that does not start the buffer
        window = memoryview(target)[offset : offset + min(amt, 65536)]
        try:
            n = client.readinto(window, amt)
        except WantReadError:
            break
        assert 0 < n <= min(amt, 65536)
        received += window[:n]
        if amt >= 16384:
            assert client.pending() == 0  # whole records: nothing held back
    assert bytes(received) == payload
    assert client.pending() == 0


def test_small_readinto_keeps_the_rest_of_the_record_pending(mbedtls: Backend, pki: PKI) -> None:
    client, peer = _client_and_stdlib_server(mbedtls, pki)
    peer.obj.write(b"a" * 10_000)
    peer.exchange(client)
    buf = bytearray(100)
    assert client.readinto(memoryview(buf)[10:20], 5) == 5
    assert bytes(buf[10:15]) == b"aaaaa" and bytes(buf[15:20]) == bytes(5)
    assert client.pending() == 10_000 - 5
    assert client.readinto(buf, 0) == 100  # amt <= 0: the whole buffer
    assert client.pending() == 10_000 - 105
    rest = drain_reads(client, 65536)
    assert len(rest) == 10_000 - 105 and client.pending() == 0


def test_readinto_refuses_a_read_only_buffer(mbedtls: Backend, pki: PKI) -> None:
    client, peer = _client_and_stdlib_server(mbedtls, pki)
    peer.obj.write(b"still here")
    peer.exchange(client)
    with pytest.raises(TypeError):
        client.readinto(b"x" * 20, 20)
    assert client.read(100) == b"still here"  # the connection is unharmed


def test_data_then_close_notify_fed_at_once(mbedtls: Backend, pki: PKI) -> None:
    """Records and the close_notify behind them in one feed: the data comes out in full,
    our close_notify is queued before Mbed TLS sees the peer's, then readinto gives 0."""
    client, peer = _client_and_stdlib_server(mbedtls, pki)
    payload = os.urandom(100_000)
    peer.obj.write(payload)
    with pytest.raises(ssl.SSLWantReadError):
        peer.obj.unwrap()
    _feed_like_the_pump(client, peer.outgoing.read(), size=1 << 20)
    buf = bytearray(65536)
    received = bytearray()
    while True:
        n = client.readinto(buf, len(buf))
        if n == 0:
            break
        received += buf[:n]
    assert bytes(received) == payload
    assert client.readinto(buf, len(buf)) == 0
    assert client.readinto(memoryview(buf)[5:10], 3) == 0
    assert client.read(10) == b""
    peer.exchange(client)
    peer.obj.unwrap()  # the stdlib peer received our close_notify
    client.shutdown()  # nothing left to wait for


def test_fatal_error_after_good_records_returns_the_good_data_first(
    mbedtls: Backend, pki: PKI
) -> None:
    client, peer = _client_and_stdlib_server(mbedtls, pki)
    peer.obj.write(b"a" * 16384)
    peer.obj.write(b"b" * 16384)
    peer.obj.write(b"c" * 100)
    records = _records(peer.outgoing.read())
    assert len(records) == 3
    last = bytearray(records[2])
    last[-1] ^= 1  # a forged tag: bad_record_mac
    client.receive_from_network(records[0] + records[1] + bytes(last))
    buf = bytearray(65536)
    assert client.readinto(buf, len(buf)) == 2 * 16384
    assert bytes(buf[: 2 * 16384]) == b"a" * 16384 + b"b" * 16384
    with pytest.raises(TLSError) as failed:
        client.readinto(buf, len(buf))
    assert not isinstance(failed.value, WantReadError)
    with pytest.raises(TLSError):
        client.read(10)  # dead for good


def test_transport_eof_after_records_fed_at_once_is_ragged(mbedtls: Backend, pki: PKI) -> None:
    client, peer = _client_and_stdlib_server(mbedtls, pki)
    payload = os.urandom(50_000)
    peer.obj.write(payload)
    _feed_like_the_pump(client, peer.outgoing.read())
    client.receive_from_network(b"")
    buf = bytearray(65536)
    assert client.readinto(buf, len(buf)) == len(payload)  # all four records at once
    assert bytes(buf[: len(payload)]) == payload
    with pytest.raises(RaggedEOF):
        client.readinto(buf, len(buf))


# -- IP literals: no SNI, and the IP SAN checked by the backend -------------------------
@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]"])
def test_ip_literal_matches_ip_san(mbedtls: Backend, pki: PKI, host: str) -> None:
    """Mbed TLS 2.28 rejects an IP that *is* in the SAN; the backend checks it itself."""
    client = client_of(mbedtls, pki).wrap_buffers(host)
    server = server_of(mbedtls, pki).wrap_buffers()
    handshake_buffers(client, server)
    assert client.getpeercert() == der_of(pki.server)


def test_ip_mismatch_is_rejected_before_the_client_flight(mbedtls: Backend, pki: PKI) -> None:
    client = client_of(mbedtls, pki).wrap_buffers("127.0.0.2")
    server = server_of(mbedtls, pki).wrap_buffers()
    with pytest.raises(WantReadError):
        client.do_handshake()  # ClientHello
    move(client, server)
    with pytest.raises(WantReadError):
        server.do_handshake()  # ServerHello .. ServerHelloDone
    move(server, client)
    with pytest.raises(CertificateValidationError) as info:
        client.do_handshake()
    assert info.value.reason == "IP address mismatch, certificate is not valid for '127.0.0.2'."
    # Nothing of the client's second flight (key exchange, Finished) was produced.
    assert client.outgoing_bytes_buffered() == 0
    with pytest.raises(WantReadError):
        server.do_handshake()
    # The connection is dead for good (the library would otherwise start over).
    with pytest.raises(TLSError):
        client.do_handshake()
    assert client.outgoing_bytes_buffered() == 0


def test_ip_literal_needs_an_ip_san(mbedtls: Backend, openssl: Backend, pki: PKI) -> None:
    leaf = pki.ca.issue_cert("localhost")
    assert openssl.server_context is not None
    server = openssl.server_context(TLSConfiguration(certificate_chain=chain_of(leaf)))
    outcome = drive_handshake(
        client_of(mbedtls, pki).wrap_buffers("127.0.0.1"), server.wrap_buffers()
    )
    assert isinstance(outcome.client_error, CertificateValidationError)
    assert "IP address mismatch" in outcome.client_error.reason


def test_dns_name_is_not_matched_against_the_common_name(
    mbedtls: Backend, openssl: Backend, pki: PKI
) -> None:
    """Mbed TLS falls back to the CN when there is no SAN; the backend does not."""
    leaf = pki.ca.issue_cert("127.0.0.1", common_name="localhost")  # SAN holds only the IP
    assert openssl.server_context is not None
    server = openssl.server_context(TLSConfiguration(certificate_chain=chain_of(leaf)))
    outcome = drive_handshake(
        client_of(mbedtls, pki).wrap_buffers("localhost"), server.wrap_buffers()
    )
    assert isinstance(outcome.client_error, CertificateValidationError)
    assert "Hostname mismatch" in outcome.client_error.reason


@pytest.mark.parametrize(
    ("host", "check_hostname", "validate", "expected"),
    [
        ("localhost", True, True, "localhost"),
        ("LocalHost.", True, True, "localhost"),
        ("127.0.0.1", True, True, None),
        ("::1", True, True, None),
        (None, True, True, None),
        ("localhost", True, False, "localhost"),
        ("127.0.0.1", True, False, None),
        ("localhost", False, True, "localhost"),
        ("wrong.example", False, True, "wrong.example"),
    ],
)
def test_sni_seen_by_a_stdlib_server(
    mbedtls: Backend,
    pki: PKI,
    host: str | None,
    check_hostname: bool,
    validate: bool,
    expected: str | None,
) -> None:
    """python-mbedtls sent '127.0.0.1' as SNI; RFC 6066 forbids IP literals there."""
    config = TLSConfiguration(trust_store=pki.trust, validate_certificates=validate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        context = mbedtls.client_context(config)
    client = context.wrap_buffers(host, check_hostname=check_hostname)
    peer = StdlibPeer(stdlib_server(pki), server_side=True)
    handshake_stdlib(client, peer)
    assert peer.names == [expected]


@pytest.mark.parametrize(
    ("identities", "common_name", "works"),
    [
        (("*.example.org",), None, True),  # Mbed TLS is pointed at "wildcard.example.org"
        (("other.example", "127.0.0.1"), None, True),
        (("127.0.0.1",), "localhost", False),  # a SAN without DNS name: nothing to point at
    ],
)
def test_check_hostname_false_still_validates_the_chain(
    mbedtls: Backend,
    openssl: Backend,
    pki: PKI,
    other_ca: trustme.CA,
    identities: tuple[str, ...],
    common_name: str | None,
    works: bool,
) -> None:
    """SNI goes out; Mbed TLS then checks the chain against a name taken from the leaf."""
    assert openssl.server_context is not None
    for ca, trusted in ((pki.ca, True), (other_ca, False)):
        leaf = ca.issue_cert(*identities, common_name=common_name)
        server = openssl.server_context(TLSConfiguration(certificate_chain=chain_of(leaf)))
        client = client_of(mbedtls, pki).wrap_buffers("localhost", check_hostname=False)
        outcome = drive_handshake(client, server.wrap_buffers())
        if trusted and works:
            assert outcome.client_error is None and outcome.client_done
            assert client.getpeercert() == der_of(leaf)
        else:
            assert isinstance(outcome.client_error, CertificateValidationError)
            expected = "unable to get local issuer" if not trusted else "check_hostname=False"
            assert expected in outcome.client_error.reason


# -- keys --------------------------------------------------------------------------------
def _encrypted(leaf: trustme.LeafCert, fmt: serialization.PrivateFormat) -> bytes:
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM, fmt, serialization.BestAvailableEncryption(PASSWORD)
    )


@pytest.mark.parametrize(
    "fmt",
    [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL],
    ids=["pkcs8", "traditional"],
)
@pytest.mark.parametrize(
    "key_type", [trustme.KeyType.ECDSA, trustme.KeyType.RSA], ids=["ec", "rsa"]
)
def test_encrypted_keys_load(
    mbedtls: Backend,
    openssl: Backend,
    pki: PKI,
    fmt: serialization.PrivateFormat,
    key_type: trustme.KeyType,
) -> None:
    """Mbed TLS 2.28 fails on PBES2/AES PKCS#8 keys; the backend decrypts them in memory."""
    leaf = pki.ca.issue_cert("localhost", key_type=key_type)
    pem = _encrypted(leaf, fmt)
    assert b"ENCRYPTED" in pem
    certs = chain_of(leaf)[0]
    assert mbedtls.server_context is not None
    server = mbedtls.server_context(
        TLSConfiguration(certificate_chain=(certs, PrivateKey.from_buffer(pem, password=PASSWORD)))
    )
    client = client_of(openssl, pki).wrap_buffers("localhost")
    handshake_buffers(client, server.wrap_buffers())
    assert client.getpeercert() == der_of(leaf)


@pytest.mark.parametrize(
    "fmt",
    [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL],
    ids=["pkcs8", "traditional"],
)
def test_wrong_password_is_a_configuration_error(
    mbedtls: Backend, pki: PKI, fmt: serialization.PrivateFormat
) -> None:
    pem = _encrypted(pki.server, fmt)
    key = PrivateKey.from_buffer(pem, password=b"not the password")
    assert mbedtls.server_context is not None
    with pytest.raises(ConfigurationError) as info:
        mbedtls.server_context(TLSConfiguration(certificate_chain=(pki.server_chain[0], key)))
    assert "password" in str(info.value)
    assert "not the password" not in str(info.value)


def test_mismatched_key_is_refused(mbedtls: Backend, pki: PKI) -> None:
    other = pki.ca.issue_cert("localhost")
    assert mbedtls.server_context is not None
    with pytest.raises(ConfigurationError, match="does not match"):
        mbedtls.server_context(
            TLSConfiguration(certificate_chain=(pki.server_chain[0], chain_of(other)[1]))
        )


# -- versions and ciphers ---------------------------------------------------------------
def test_tls13_only_configurations_are_refused(mbedtls: Backend, pki: PKI) -> None:
    tls13 = {
        "lowest_supported_version": TLSVersion.TLSv1_3,
        "highest_supported_version": TLSVersion.TLSv1_3,
    }
    with pytest.raises(ConfigurationError, match="TLSv1_3"):
        client_of(mbedtls, pki, **tls13)
    with pytest.raises(ConfigurationError, match="TLSv1_3"):
        server_of(mbedtls, pki, **tls13)
    with pytest.raises(ConfigurationError):
        client_of(mbedtls, pki, lowest_supported_version=TLSVersion.TLSv1_3)


def test_highest_tls13_negotiates_tls12_with_a_tls13_peer(mbedtls: Backend, pki: PKI) -> None:
    """Allowing up to TLS 1.3 is honoured within the range: Mbed TLS tops out at 1.2."""
    client = client_of(mbedtls, pki, highest_supported_version=TLSVersion.TLSv1_3).wrap_buffers(
        "localhost"
    )
    peer = StdlibPeer(stdlib_server(pki), server_side=True)  # allows TLS 1.3
    handshake_stdlib(client, peer)
    assert client.negotiated_tls_version() is TLSVersion.TLSv1_2
    assert peer.obj.version() == "TLSv1.2"


def test_one_cipher_maps_to_its_iana_value(mbedtls: Backend, pki: PKI) -> None:
    suite = CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    client = client_of(mbedtls, pki, ciphers=[suite]).wrap_buffers("localhost")
    peer = StdlibPeer(stdlib_server(pki), server_side=True)
    handshake_stdlib(client, peer)
    assert client.cipher() is suite
    cipher = peer.obj.cipher()
    assert cipher is not None and cipher[0] == "ECDHE-ECDSA-CHACHA20-POLY1305"


def test_unusable_cipher_lists_are_refused(mbedtls: Backend, pki: PKI) -> None:
    with pytest.raises(ConfigurationError, match="ciphers"):
        client_of(mbedtls, pki, ciphers=[CipherSuite.TLS_AES_128_GCM_SHA256])  # TLS 1.3 only
    with pytest.raises(ConfigurationError, match="ciphers"):  # AEAD defaults need TLS 1.2
        client_of(
            mbedtls,
            pki,
            lowest_supported_version=TLSVersion.TLSv1,
            highest_supported_version=TLSVersion.TLSv1_1,
        )


def test_alpn_identifiers(mbedtls: Backend, pki: PKI) -> None:
    """NUL cannot pass python-mbedtls's C strings; non-ASCII it cannot decode is kept raw."""
    with pytest.raises(ConfigurationError, match="NUL"):
        client_of(mbedtls, pki, inner_protocols=[b"\x00custom"])
    with pytest.raises(ConfigurationError, match="inner_protocols"):
        client_of(mbedtls, pki, inner_protocols=[bytes([65 + i]) for i in range(9)])
    protocol = b"\xffbinary\x80"
    client = client_of(mbedtls, pki, inner_protocols=[NextProtocol.H2, protocol]).wrap_buffers(
        "localhost"
    )
    server = server_of(mbedtls, pki, inner_protocols=[protocol]).wrap_buffers()
    handshake_buffers(client, server)
    assert client.negotiated_protocol() == protocol
    assert server.negotiated_protocol() == protocol


# -- closing ----------------------------------------------------------------------------
def test_peer_close_notify_is_a_clean_eof_and_is_answered(mbedtls: Backend, pki: PKI) -> None:
    """The library reports close_notify as error 0x7880 and resets the session; the
    backend turns it into b"" and has already answered with its own close_notify."""
    server = server_of(mbedtls, pki).wrap_buffers()
    peer = StdlibPeer(stdlib_client(pki), server_side=False, server_hostname="localhost")
    serve_stdlib_client(server, peer)
    peer.obj.write(b"bye")
    with pytest.raises(ssl.SSLWantReadError):
        peer.obj.unwrap()  # close_notify out, waiting for ours
    peer.exchange(server)
    assert server.read(100) == b"bye"
    assert server.read(100) == b""
    assert server.readinto(bytearray(10), 10) == 0
    with pytest.raises(TLSError):
        server.write(b"too late")
    server.shutdown()  # complete at once: both close_notify alerts are accounted for
    peer.exchange(server)
    peer.obj.unwrap()  # the stdlib peer received our close_notify
    server.receive_from_network(b"")
    assert server.read(100) == b""


def test_transport_eof_without_close_notify_is_ragged(mbedtls: Backend, pki: PKI) -> None:
    client = client_of(mbedtls, pki).wrap_buffers("localhost")
    peer = StdlibPeer(stdlib_server(pki), server_side=True)
    handshake_stdlib(client, peer)
    peer.obj.write(b"cut short")
    peer.exchange(client)
    client.receive_from_network(b"")
    assert client.read(100) == b"cut short"
    with pytest.raises(RaggedEOF):
        client.read(100)


def test_transport_eof_during_the_handshake_is_ragged(mbedtls: Backend, pki: PKI) -> None:
    client = client_of(mbedtls, pki).wrap_buffers("localhost")
    with pytest.raises(WantReadError):
        client.do_handshake()
    client.receive_from_network(b"")
    with pytest.raises(RaggedEOF):
        client.do_handshake()


def test_our_shutdown_waits_for_the_peer(mbedtls: Backend, pki: PKI) -> None:
    client = client_of(mbedtls, pki).wrap_buffers("localhost")
    peer = StdlibPeer(stdlib_server(pki), server_side=True)
    handshake_stdlib(client, peer)
    with pytest.raises(WantReadError):
        client.shutdown()
    peer.exchange(client)
    peer.obj.unwrap()  # got ours, sends its own
    peer.exchange(client)
    client.shutdown()
    assert client.read(10) == b""


# -- why a certificate was rejected (Mbed TLS always says 0x2700) ----------------------
def _reason(mbedtls: Backend, pki: PKI, leaf: trustme.LeafCert, host: str = "localhost") -> str:
    client = client_of(mbedtls, pki).wrap_buffers(host)
    peer = StdlibPeer(stdlib_server(pki, leaf), server_side=True)
    with pytest.raises(CertificateValidationError) as info:
        handshake_stdlib(client, peer)
    return info.value.reason


def test_reason_expired(mbedtls: Backend, pki: PKI) -> None:
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
    leaf = pki.ca.issue_cert(
        "localhost", not_before=past, not_after=past + datetime.timedelta(days=1)
    )
    assert _reason(mbedtls, pki, leaf) == "certificate has expired"


def test_reason_not_yet_valid(mbedtls: Backend, pki: PKI) -> None:
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
    leaf = pki.ca.issue_cert(
        "localhost", not_before=future, not_after=future + datetime.timedelta(days=1)
    )
    assert _reason(mbedtls, pki, leaf) == "certificate is not yet valid"


def test_reason_untrusted_issuer(mbedtls: Backend, pki: PKI, other_ca: trustme.CA) -> None:
    leaf = other_ca.issue_cert("localhost")
    assert _reason(mbedtls, pki, leaf) == "unable to get local issuer certificate"


def test_reason_hostname(mbedtls: Backend, pki: PKI) -> None:
    assert (
        _reason(mbedtls, pki, pki.server, "wrong.example")
        == "Hostname mismatch, certificate is not valid for 'wrong.example'."
    )


def test_reason_self_signed(
    mbedtls: Backend, openssl: Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    """A server presenting a self-signed certificate (here: another CA's own)."""
    own = (
        (tls_adapter.Certificate.from_buffer(other_ca.cert_pem.bytes()),),
        PrivateKey.from_buffer(other_ca.private_key_pem.bytes()),
    )
    assert openssl.server_context is not None
    server = openssl.server_context(TLSConfiguration(certificate_chain=own))
    client = client_of(mbedtls, pki).wrap_buffers("localhost")
    outcome = drive_handshake(client, server.wrap_buffers())
    assert isinstance(outcome.client_error, CertificateValidationError)
    assert outcome.client_error.reason == "self-signed certificate"


def test_reason_for_a_rejected_client_certificate(
    mbedtls: Backend, openssl: Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    stranger = other_ca.issue_cert("client@example.org")
    client = client_of(openssl, pki, certificate_chain=chain_of(stranger)).wrap_buffers("localhost")
    server = server_of(mbedtls, pki, trust_store=pki.trust).wrap_buffers()
    outcome = drive_handshake(client, server)
    assert isinstance(outcome.server_error, CertificateValidationError)
    assert outcome.server_error.reason == "unable to get local issuer certificate"
    assert outcome.client_error is not None


def test_fatal_alert_from_the_peer_is_named(
    mbedtls: Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    stranger = other_ca.issue_cert("client@example.org")
    client = client_of(mbedtls, pki, certificate_chain=chain_of(stranger)).wrap_buffers("localhost")
    peer = StdlibPeer(stdlib_server(pki, verify_mode=ssl.CERT_REQUIRED), server_side=True)
    pki.ca.configure_trust(peer.obj.context)
    with pytest.raises(TLSError) as info:
        for _ in range(30):
            with contextlib.suppress(WantReadError):
                client.do_handshake()
            peer.exchange(client)
            with contextlib.suppress(ssl.SSLError):  # it fails too, having sent its alert
                peer.step()
            peer.exchange(client)
    assert not isinstance(info.value, CertificateValidationError)
    assert "unknown_ca (48)" in str(info.value)


# -- server side ------------------------------------------------------------------------
def test_server_requires_client_certificates_with_a_trust_store(
    mbedtls: Backend, openssl: Backend, pki: PKI
) -> None:
    server_ctx = server_of(mbedtls, pki, trust_store=pki.trust)
    outcome = drive_handshake(
        client_of(openssl, pki).wrap_buffers("localhost"), server_ctx.wrap_buffers()
    )
    assert isinstance(outcome.server_error, TLSError)
    assert not isinstance(outcome.server_error, CertificateValidationError)
    assert "did not return a certificate" in str(outcome.server_error)
    client = client_of(openssl, pki, certificate_chain=pki.client_chain).wrap_buffers("localhost")
    server = server_ctx.wrap_buffers()
    handshake_buffers(client, server)
    assert server.getpeercert() == der_of(pki.client)


def test_server_without_trust_store_reports_no_client_certificate(
    mbedtls: Backend, pki: PKI
) -> None:
    """Mbed TLS always sends a CertificateRequest; an unvalidated certificate is not reported."""
    server = server_of(mbedtls, pki).wrap_buffers()
    ctx = stdlib_client(pki)
    pki.client.configure_cert(ctx)
    peer = StdlibPeer(ctx, server_side=False, server_hostname="localhost")
    serve_stdlib_client(server, peer)
    assert server.negotiated_tls_version() is TLSVersion.TLSv1_2
    assert server.getpeercert() is None


def test_sni_callback_is_refused(mbedtls: Backend, pki: PKI) -> None:
    with pytest.raises(ConfigurationError, match="sni_callback"):
        server_of(mbedtls, pki, sni_callback=lambda conn, name, config: config)


def test_server_validating_nothing_with_a_trust_store_is_refused(
    mbedtls: Backend, pki: PKI
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        with pytest.raises(ConfigurationError):
            server_of(mbedtls, pki, trust_store=pki.trust, validate_certificates=False)


# -- trust stores -----------------------------------------------------------------------
def test_trust_store_with_many_cas(mbedtls: Backend, pki: PKI) -> None:
    """python-mbedtls links CAs only through TrustStore.add(); the right CA may be last."""
    others = b"".join(trustme.CA().cert_pem.bytes() for _ in range(3))
    store = TrustStore.from_buffer(others + pki.ca.cert_pem.bytes())
    client = mbedtls.client_context(TLSConfiguration(trust_store=store)).wrap_buffers("localhost")
    handshake_buffers(client, server_of(mbedtls, pki).wrap_buffers())
    assert client.negotiated_tls_version() is TLSVersion.TLSv1_2


def test_system_trust_store_is_the_os_bundle_not_certifi(
    mbedtls: Backend, pki: PKI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mbedtls.tls.TrustStore.system() is certifi's bundle; the backend loads the OS one
    (found as OpenSSL finds it, so SSL_CERT_FILE points it at a bundle of our own)."""
    bundle = tmp_path / "only-test-ca.pem"
    bundle.write_bytes(pki.ca.cert_pem.bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "missing"))
    context = mbedtls.client_context(TLSConfiguration())  # the default: TrustStore.system()
    monkeypatch.delenv("SSL_CERT_FILE")  # loaded once, at build: the context keeps it
    for _ in range(2):
        client = context.wrap_buffers("localhost")
        handshake_buffers(client, server_of(mbedtls, pki).wrap_buffers())
        assert client.getpeercert() == der_of(pki.server)


# -- private API wrappers (tls_adapter.backends._compat) --------------------------------
# Each test calls one wrapper directly, so that a python-mbedtls release that moves a
# private name fails here, by name (AttributeError and the like), and checks the
# behaviour the backend relies on.
def _raw_client(pki: PKI, hostname: str) -> Any:
    """A python-mbedtls client buffer (its own API, not the backend's) trusting *pki*."""
    from mbedtls import tls as _mtls
    from mbedtls import x509 as _mx509

    store = _mtls.TrustStore()
    store.add(_mx509.CRT.from_PEM(pki.ca.cert_pem.bytes().decode("ascii")))
    config = _mtls.TLSConfiguration(validate_certificates=True, trust_store=store)
    return _mtls.ClientContext(config).wrap_buffers(hostname)


def _raw_handshake(mb: Any, peer: StdlibPeer, rounds: int = 30) -> None:
    """Drive a python-mbedtls buffer against a stdlib server; Mbed TLS errors propagate."""
    from mbedtls import tls as _mtls

    over: Any = _mtls.HandshakeStep.HANDSHAKE_OVER  # the stub types members as int
    for _ in range(rounds):
        if mbedtls_handshake_step(mb) is not over:
            with contextlib.suppress(_mtls.WantReadError, _mtls.WantWriteError):
                mb.do_handshake()
        produced = mb.peek_outgoing(1 << 20)
        if produced:
            peer.incoming.write(produced)
            mb.consume_outgoing(len(produced))
        peer.step()
        if peer.outgoing.pending:
            mb.receive_from_network(peer.outgoing.read())
        if peer.done and mbedtls_handshake_step(mb) is over:
            return
    raise AssertionError("the raw python-mbedtls handshake did not finish")


def test_compat_mbedtls_input_levels(pki: PKI) -> None:
    mb = _raw_client(pki, "localhost")
    assert mbedtls_input_unread(mb) == 0
    capacity = mbedtls_input_room(mb)
    assert capacity == 32 * 1024  # python-mbedtls 2.10.1's ring (TLS_BUFFER_CAPACITY)
    mb.receive_from_network(b"\x16\x03\x03")
    assert mbedtls_input_unread(mb) == 3
    assert mbedtls_input_room(mb) == capacity - 3
    with pytest.raises(BufferError):  # what feeding more than the room does
        mb.receive_from_network(bytes(capacity))


def test_compat_mbedtls_handshake_step(mbedtls: Backend, pki: PKI) -> None:
    from mbedtls import tls as _mtls

    steps: Any = _mtls.HandshakeStep  # the stub types its members as int
    mb = _raw_client(pki, "localhost")
    assert mbedtls_handshake_step(mb) is steps.HELLO_REQUEST
    mb.do_handshake()
    assert mbedtls_handshake_step(mb) is steps.CLIENT_HELLO
    with pytest.raises(_mtls.WantWriteError):  # the ClientHello is out
        mb.do_handshake()
    assert mbedtls_handshake_step(mb) is steps.SERVER_HELLO
    # The backend's own buffers, after a full handshake.
    client = client_of(mbedtls, pki).wrap_buffers("localhost")
    handshake_buffers(client, server_of(mbedtls, pki).wrap_buffers())
    assert mbedtls_handshake_step(client._mb) is steps.HANDSHAKE_OVER  # type: ignore[attr-defined]


def test_compat_mbedtls_set_hostname(pki: PKI) -> None:
    from mbedtls import exceptions as _mexc

    # The name given to wrap_buffers is the one checked...
    mb = _raw_client(pki, "wrong.example")
    with pytest.raises(_mexc.TLSError) as info:
        _raw_handshake(mb, StdlibPeer(stdlib_server(pki), server_side=True))
    assert (getattr(info.value, "err", 0) or 0) & 0xFF80 == 0x2700  # X509_CERT_VERIFY_FAILED
    # ...unless it is changed before the certificate arrives.
    mb = _raw_client(pki, "wrong.example")
    mbedtls_set_hostname(mb, "localhost")
    _raw_handshake(mb, StdlibPeer(stdlib_server(pki), server_side=True))
    assert mb.getpeercert(True) == der_of(pki.server)
    with pytest.raises(_mexc.TLSError):  # longer than Mbed TLS allows
        mbedtls_set_hostname(_raw_client(pki, "localhost"), "a" * 300)


def test_backend_module_uses_no_private_mbedtls_api() -> None:
    """Private names of python-mbedtls appear only in the wrappers of ``_compat``."""
    from tls_adapter.backends import mbedtls as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    for pattern in (
        r"\._(input|output)_buffer\b",
        r"\._handshake_state\b",
        r"\._set_hostname\b",
        r"\._server_hostname\b",
        r"\._(verified|cipher_suite|reset|renegotiate|cookieparam)\b",
        r"_ringbuf",
        r"mbedtls\._tls\b",
        r"\b_tls\.",
    ):
        assert not re.search(pattern, source), pattern
