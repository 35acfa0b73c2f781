"""Quirk tests shared by the backends that run on the ``ssl``-module engine.

The rustls (rtls) and BoringSSL (utls) backends both drive their binding through one
engine, ``tls_adapter/backends/_sslmodule.py``, so most of what their quirk tests pin
down is the engine's behaviour: a server that never asks for a client certificate and
refuses a trust store, IP literals sent without SNI, no SNI and no name check without
``server_hostname`` (but a chain check all the same), a socket handshake that fails
promptly at EOF, TLS 1.3 suites that cannot be restricted, encrypted keys from memory,
client certificates over real sockets, and expired certificates reported as such.
Each such test is written once here and runs for every backend that shares it (a test
that pyOpenSSL passes in exactly the same way adds pyopenssl too); where only an input
or the library's wording differs, that is a parameter paired with the backend. What
only one backend does stays in that backend's own module. A backend that is
unavailable here is skipped with its reason.
"""

from __future__ import annotations

import datetime
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

import tls_adapter
from tls_adapter import (
    CipherSuite,
    ConfigurationError,
    PrivateKey,
    RaggedEOF,
    TLSConfiguration,
    TLSVersion,
    TrustStore,
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
    server_config,
)
from .stdlib_peer import StdlibPeer, handshake, stdlib_client_context, stdlib_server
from .support import failure_reason, requires_backend

ENGINE_BACKENDS = ("rustls", "boringssl")
"""The backends built on the shared ``_sslmodule`` engine."""


def backend_params(*names: str) -> list[object]:
    """One parameter a backend in *names*, skipped with the backend's reason where unavailable."""
    return [pytest.param(name, marks=requires_backend(name), id=name) for name in names]


def per_backend(**values: object) -> list[object]:
    """``(backend, value)`` parameters, for an ``engine_backend`` test whose inputs differ.

    Use with ``indirect=["engine_backend"]``; each backend is skipped with its reason
    where it is unavailable.
    """
    return [
        pytest.param(name, value, marks=requires_backend(name), id=name)
        for name, value in values.items()
    ]


def assert_failure_reason(error: BaseException | None, reason: str) -> None:
    """*error* is a certificate validation failure whose whole reason matches *reason*.

    Plain words ask for that exact text; ``.*word.*`` only for *word* somewhere in it.
    """
    text = failure_reason(error)
    assert re.fullmatch(reason, text, re.DOTALL), f"{text!r} does not match {reason!r}"


@pytest.fixture(params=backend_params(*ENGINE_BACKENDS))
def engine_backend(request: pytest.FixtureRequest) -> tls_adapter.Backend:
    """The backend under test: each backend on the shared engine in turn.

    A test parametrizes ``engine_backend`` itself (``indirect=True``) to run for another
    set of backends, or to pair each backend with a value of its own.
    """
    name: str = request.param
    return tls_adapter.get_backend(name)


# -- the server side: no client auth ----------------------------------------------------------
def test_server_trust_store_is_refused(engine_backend: tls_adapter.Backend, pki: PKI) -> None:
    """Neither binding can require client certificates: rtls ignores verify_mode on
    servers, and utls's server cannot report the client's leaf."""
    assert engine_backend.server_context is not None
    with pytest.raises(ConfigurationError, match=rf"{engine_backend.name}.*client certificates"):
        engine_backend.server_context(server_config(pki, trust_store=pki.trust))


def test_server_never_asks_for_a_client_certificate(
    engine_backend: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """A client that has a certificate is not asked for it: the server reports none."""
    assert engine_backend.server_context is not None
    server = engine_backend.server_context(server_config(pki)).wrap_buffers()
    client = openssl.client_context(client_config(pki, certificate_chain=pki.client_chain))
    buffer = client.wrap_buffers("localhost")
    handshake_buffers(buffer, server)
    assert server.getpeercert() is None
    assert buffer.getpeercert() == der_of(pki.server)


def test_stdlib_client_against_the_server(engine_backend: tls_adapter.Backend, pki: PKI) -> None:
    """Server side, seen by an independent client: ALPN and data."""
    assert engine_backend.server_context is not None
    server = engine_backend.server_context(
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


# -- names: SNI ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["127.0.0.1", "::1", "[::1]"])
@pytest.mark.parametrize(
    "engine_backend", backend_params(*ENGINE_BACKENDS, "pyopenssl"), indirect=True
)
def test_ip_literals_send_no_sni_and_are_checked(
    engine_backend: tls_adapter.Backend, pki: PKI, name: str
) -> None:
    """An IP literal is checked against the certificate's IP SANs and never sent as SNI."""
    peer = stdlib_server(pki)
    buffer = engine_backend.client_context(client_config(pki)).wrap_buffers(name)
    outcome = handshake(buffer, peer)
    assert outcome.buffer_done and outcome.peer_done, outcome
    assert peer.names == [None]
    assert buffer.getpeercert() == der_of(pki.server)


def test_no_server_hostname_sends_no_sni_and_checks_no_name(
    engine_backend: tls_adapter.Backend, pki: PKI
) -> None:
    """rtls would send and check "localhost"; the backend sends no name at all."""
    leaf = pki.ca.issue_cert("elsewhere.example")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(ctx)
    peer = StdlibPeer(ctx, server_side=True)
    buffer = engine_backend.client_context(client_config(pki)).wrap_buffers(None)
    outcome = handshake(buffer, peer)
    assert outcome.buffer_done and outcome.peer_done, outcome
    assert peer.names == [None]
    assert buffer.getpeercert() == der_of(leaf)


@pytest.mark.parametrize(
    ("engine_backend", "reason"),
    per_backend(rustls=r".*UnknownIssuer.*", boringssl=r"unable to get local issuer certificate"),
    indirect=["engine_backend"],
)
def test_no_server_hostname_still_validates_the_chain(
    engine_backend: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA, reason: str
) -> None:
    """Without a name only the name check is skipped: an untrusted chain still fails.

    *reason* must match the whole failure reason: rtls's wording is pinned only around
    its error name, utls's to the letter.
    """
    untrusting = engine_backend.client_context(
        TLSConfiguration(trust_store=TrustStore.from_buffer(other_ca.cert_pem.bytes()))
    )
    outcome = handshake(untrusting.wrap_buffers(None), stdlib_server(pki))
    assert_failure_reason(outcome.buffer_error, reason)


# -- end of stream ------------------------------------------------------------------------------
def test_server_closing_at_once_fails_a_socket_handshake_promptly(
    engine_backend: tls_adapter.Backend, pki: PKI
) -> None:
    """A server that sends EOF at once fails the client's handshake, without a long wait."""
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
        tls = engine_backend.client_context(client_config(pki)).wrap_socket(raw, "localhost")
        started = time.monotonic()
        with pytest.raises(RaggedEOF):
            tls.do_handshake()
        assert time.monotonic() - started < 5
        tls.close()
    finally:
        thread.join(10)
        listener.close()


# -- cipher suites ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("engine_backend", "suites"),
    per_backend(
        rustls=(
            CipherSuite.TLS_AES_128_GCM_SHA256,
            CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        boringssl=(
            CipherSuite.TLS_AES_256_GCM_SHA384,
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
    ),
    indirect=["engine_backend"],
)
def test_tls13_suites_cannot_be_restricted(
    engine_backend: tls_adapter.Backend, suites: tuple[CipherSuite, CipherSuite]
) -> None:
    """A TLS 1.3 suite restriction is refused; a TLS 1.2 one without TLS 1.3 is fine."""
    tls13_suite, tls12_suite = suites
    with pytest.raises(ConfigurationError, match=r"TLS 1\.3"):
        engine_backend.client_context(TLSConfiguration(ciphers=[tls13_suite]))
    engine_backend.client_context(
        TLSConfiguration(ciphers=[tls12_suite], highest_supported_version=TLSVersion.TLSv1_2)
    )


# -- keys and client certificates ---------------------------------------------------------------
def _encrypted(leaf: trustme.LeafCert, fmt: serialization.PrivateFormat) -> bytes:
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    return key.private_bytes(
        serialization.Encoding.PEM, fmt, serialization.BestAvailableEncryption(b"s3cret")
    )


@pytest.mark.parametrize(
    "fmt", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
)
@pytest.mark.parametrize(
    ("engine_backend", "password"),
    per_backend(rustls=lambda: b"s3cret", boringssl=b"s3cret"),
    indirect=["engine_backend"],
)
def test_encrypted_client_key_from_memory(
    engine_backend: tls_adapter.Backend,
    openssl: tls_adapter.Backend,
    pki: PKI,
    fmt: serialization.PrivateFormat,
    password: bytes | Callable[[], bytes],
) -> None:
    """An encrypted key is decrypted with its password (a callable for rustls, bytes for
    boringssl) and really signs; a wrong password is a configuration error that does not
    leak the right one."""
    certs, _ = pki.client_chain
    key = PrivateKey.from_buffer(_encrypted(pki.client, fmt), password=password)
    assert key.encrypted
    client = engine_backend.client_context(client_config(pki, certificate_chain=(certs, key)))
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
        engine_backend.client_context(client_config(pki, certificate_chain=(certs, wrong)))
    assert "s3cret" not in str(info.value)


def test_client_certificate_over_sockets(
    engine_backend: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """The client presents its certificate to a server that requires one, over a socket."""
    assert openssl.server_context is not None
    seen: list[bytes | None] = []

    def handler(sock: tls_adapter.TLSWrappedSocket) -> None:
        seen.append(sock.getpeercert())
        echo_handler(sock)

    server_ctx = openssl.server_context(server_config(pki, trust_store=pki.trust))
    client_ctx = engine_backend.client_context(
        client_config(pki, certificate_chain=pki.client_chain)
    )
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


# -- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("engine_backend", "reason"),
    per_backend(rustls=r".*expired.*", boringssl=r"certificate has expired"),
    indirect=["engine_backend"],
)
def test_expired_certificate_is_a_certificate_error(
    engine_backend: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI, reason: str
) -> None:
    """An expired server certificate is a CertificateValidationError whose whole reason
    matches *reason* (rtls's wording pinned only around "expired", utls's to the letter)."""
    expired = pki.ca.issue_cert(
        "localhost", not_after=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(1)
    )
    assert openssl.server_context is not None
    server = openssl.server_context(TLSConfiguration(certificate_chain=chain_of(expired)))
    outcome = drive_handshake(
        engine_backend.client_context(client_config(pki)).wrap_buffers("localhost"),
        server.wrap_buffers(),
    )
    assert_failure_reason(outcome.client_error, reason)
