"""Quirks of the GnuTLS backend that the generic conformance suite does not single out.

GnuTLS checks certificates and host names itself, inside the handshake (and would fall
back to the subject CN); its priority strings cannot express every cipher list; its ALPN
has fixed limits; a GnuTLS client only offers a certificate whose issuer the server
names; a GnuTLS server prefers SECP256R1, which costs a HelloRetryRequest with most
clients. These tests pin down how the backend handles each. Peers are real: the
standard library's ``ssl`` (through the openssl backend or raw), the backend itself and
Debian's ``gnutls-serv``. (Interop with ``gnutls-serv``/``gnutls-cli`` for every backend
is in ``tests/test_interop_cli.py``.)
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import trustme

import tls_adapter
from tls_adapter import (
    DEFAULT_CIPHER_LIST,
    CertificateValidationError,
    CipherSuite,
    ConfigurationError,
    TLSConfiguration,
    TLSError,
    TLSVersion,
)

from .. import misissued
from ..peers import (
    PKI,
    buffer_pair,
    chain_of,
    der_of,
    drive_handshake,
    free_port,
    handshake_buffers,
    make_server_context,
    move,
    read_exactly,
    wait_for_port,
)
from .support import failure_reason, pinned, requires_backend

pytestmark = requires_backend("gnutls")


@pytest.fixture
def gnutls() -> tls_adapter.Backend:
    """The backend under test."""
    return tls_adapter.get_backend("gnutls")


# -- certificate and host name checks, done by GnuTLS itself -------------------------------
def test_wrong_hostname_is_rejected_by_gnutls_with_an_alert(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    client, server = buffer_pair(
        gnutls.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
        "wrong.example",
    )
    outcome = drive_handshake(client, server)
    assert "does not match" in failure_reason(outcome.client_error)  # GnuTLS's own wording
    # The check ran inside the handshake: the server got the alert, not a bare EOF.
    assert isinstance(outcome.server_error, TLSError)
    assert "certificate" in str(outcome.server_error).lower()


@pytest.mark.parametrize("address", ["10.9.8.7", "::2", "[::2]"])
def test_ip_address_mismatch_is_rejected(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI, address: str
) -> None:
    client, server = buffer_pair(
        gnutls.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
        address,
    )
    outcome = drive_handshake(client, server)
    assert "does not match" in failure_reason(outcome.client_error)
    assert not outcome.client_done


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_ip_address_match_and_no_sni(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI, address: str
) -> None:
    seen: list[str | None] = []

    def record(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        seen.append(name)
        return config

    client, server = buffer_pair(
        gnutls.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(
            openssl, TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=record)
        ),
        address,
    )
    handshake_buffers(client, server)
    assert seen == [None]
    assert client.getpeercert() == der_of(pki.server)


def test_untrusted_ca_is_rejected(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    stranger = TLSConfiguration(
        trust_store=tls_adapter.TrustStore.from_buffer(other_ca.cert_pem.bytes())
    )
    for check_hostname in (True, False):
        client, server = buffer_pair(
            gnutls.client_context(stranger),
            make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
            "localhost",
            check_hostname=check_hostname,
        )
        outcome = drive_handshake(client, server)
        assert "NOT trusted" in failure_reason(outcome.client_error)


def test_check_hostname_false_still_sends_sni_and_checks_the_chain(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    seen: list[str | None] = []

    def record(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        seen.append(name)
        return config

    client, server = buffer_pair(
        gnutls.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(
            openssl, TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=record)
        ),
        "wrong.example",
        check_hostname=False,
    )
    handshake_buffers(client, server)
    assert seen == ["wrong.example"]


def test_validation_off_accepts_anything(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    with pytest.warns(tls_adapter.SecurityWarning):
        context = gnutls.client_context(TLSConfiguration(validate_certificates=False))
    leaf = other_ca.issue_cert("somewhere.example")
    client, server = buffer_pair(
        context,
        make_server_context(openssl, TLSConfiguration(certificate_chain=chain_of(leaf))),
        "localhost",
    )
    handshake_buffers(client, server)
    assert client.getpeercert() == der_of(leaf)


# -- cipher suites: exactly what was asked for, or nothing -----------------------------------
def test_inexact_cipher_list_is_refused_naming_the_extras(gnutls: tls_adapter.Backend) -> None:
    """ECDHE-RSA+AES-128-GCM and ECDHE-ECDSA+CHACHA20 would also enable both mixed suites."""
    config = TLSConfiguration(
        ciphers=[
            CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        highest_supported_version=TLSVersion.TLSv1_2,
    )
    with pytest.raises(ConfigurationError) as info:
        gnutls.client_context(config)
    text = str(info.value)
    assert "gnutls" in text
    assert "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" in text
    assert "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" in text


def test_cross_product_cipher_list_is_exact(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """The complete kx x cipher product can be expressed, so it is accepted."""
    suites = [
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ]
    config = TLSConfiguration(
        trust_store=pki.trust, ciphers=suites, highest_supported_version=TLSVersion.TLSv1_2
    )
    client, server = buffer_pair(
        gnutls.client_context(config),
        make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
    )
    handshake_buffers(client, server)
    assert client.cipher() is CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256


def test_tls13_ccm_suites_are_not_offered_when_they_would_drag_in_tls12_suites(
    gnutls: tls_adapter.Backend, pki: PKI
) -> None:
    """DEFAULT_CIPHER_LIST is accepted; its TLS 1.3 CCM suites are left out (not the reverse)."""
    ccm_only = pinned(
        TLSConfiguration(
            certificate_chain=pki.server_chain, ciphers=[CipherSuite.TLS_AES_128_CCM_SHA256]
        ),
        TLSVersion.TLSv1_3,
    )
    server_context = make_server_context(gnutls, ccm_only)
    default_list = gnutls.client_context(
        TLSConfiguration(trust_store=pki.trust, ciphers=list(DEFAULT_CIPHER_LIST))
    )
    outcome = drive_handshake(*buffer_pair(default_list, server_context))
    assert isinstance(outcome.server_error, TLSError), outcome
    assert not outcome.client_done
    # Without TLS 1.2 there is nothing to drag in: the CCM suite is offered.
    tls13_ccm = gnutls.client_context(
        pinned(
            TLSConfiguration(trust_store=pki.trust, ciphers=[CipherSuite.TLS_AES_128_CCM_SHA256]),
            TLSVersion.TLSv1_3,
        )
    )
    client, server = buffer_pair(tls13_ccm, server_context)
    handshake_buffers(client, server)
    assert client.cipher() is CipherSuite.TLS_AES_128_CCM_SHA256


def test_unknown_suites_are_not_offered_but_known_ones_are(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    config = TLSConfiguration(
        trust_store=pki.trust,
        ciphers=[0x0A0A, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384],
        highest_supported_version=TLSVersion.TLSv1_2,
    )
    client, server = buffer_pair(
        gnutls.client_context(config),
        make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
    )
    handshake_buffers(client, server)
    assert client.cipher() is CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384


# -- versions ---------------------------------------------------------------------------------
def test_tls10_works_with_a_cipher_list_that_has_suites_for_it(
    gnutls: tls_adapter.Backend, pki: PKI
) -> None:
    suite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    client, server = buffer_pair(
        gnutls.client_context(
            pinned(TLSConfiguration(trust_store=pki.trust, ciphers=[suite]), TLSVersion.TLSv1)
        ),
        make_server_context(
            gnutls,
            pinned(
                TLSConfiguration(certificate_chain=pki.server_chain, ciphers=[suite]),
                TLSVersion.TLSv1,
            ),
        ),
    )
    handshake_buffers(client, server)
    assert client.negotiated_tls_version() is TLSVersion.TLSv1
    assert server.cipher() is suite
    client.write(b"old but working")
    assert read_exactly(server, client, 15) == b"old but working"


def test_old_versions_without_suites_are_refused_or_dropped(gnutls: tls_adapter.Backend) -> None:
    with pytest.raises(ConfigurationError, match="none of the configured ciphers"):
        gnutls.client_context(pinned(TLSConfiguration(), TLSVersion.TLSv1_1))
    # A range that reaches down to TLS 1.0 keeps only what the AEAD default can do.
    gnutls.client_context(TLSConfiguration(lowest_supported_version=TLSVersion.MINIMUM_SUPPORTED))
    with pytest.raises(ConfigurationError, match="SSLv3"):
        gnutls.client_context(TLSConfiguration(lowest_supported_version=TLSVersion.SSLv3))


# -- ALPN limits --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "protocols",
    [[b"p%d" % i for i in range(9)], [b"x" * 32], [b"h2", b"y" * 255]],
    ids=["nine-protocols", "32-bytes", "255-bytes"],
)
def test_alpn_beyond_gnutls_limits_is_refused_at_build(
    gnutls: tls_adapter.Backend, pki: PKI, protocols: list[bytes]
) -> None:
    with pytest.raises(ConfigurationError, match="ALPN"):
        gnutls.client_context(TLSConfiguration(inner_protocols=protocols))
    with pytest.raises(ConfigurationError, match="ALPN"):
        make_server_context(
            gnutls, TLSConfiguration(certificate_chain=pki.server_chain, inner_protocols=protocols)
        )


def test_alpn_at_the_limits_works(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    protocols = [bytes([ord("a") + i]) * 31 for i in range(8)]
    client, server = buffer_pair(
        gnutls.client_context(TLSConfiguration(trust_store=pki.trust, inner_protocols=protocols)),
        make_server_context(
            openssl,
            TLSConfiguration(certificate_chain=pki.server_chain, inner_protocols=protocols[-1:]),
        ),
    )
    handshake_buffers(client, server)
    assert client.negotiated_protocol() == protocols[-1]


# -- servers: SNI, HelloRetryRequest, client certificates ----------------------------------------
def test_openssl_clients_get_no_hello_retry_and_one_sni_call(
    gnutls: tls_adapter.Backend, pki: PKI
) -> None:
    """X25519 comes first, so a stdlib client's key share is accepted as it is."""
    calls: list[str | None] = []

    def record(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        calls.append(name)
        return config

    server = make_server_context(
        gnutls, TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=record)
    ).wrap_buffers()
    ctx = ssl.create_default_context(cadata=pki.ca.cert_pem.bytes().decode())
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    flights = 0
    for _ in range(10):
        try:
            client.do_handshake()
            break
        except ssl.SSLWantReadError:
            pass
        if outgoing.pending:
            flights += 1
            server.receive_from_network(outgoing.read())
        with suppress(tls_adapter.WantReadError):
            server.do_handshake()
        n = server.outgoing_bytes_buffered()
        incoming.write(server.peek_outgoing(n))
        server.consume_outgoing(n)
    assert client.version() == "TLSv1.3"
    assert flights == 1, "a HelloRetryRequest made the client send a second ClientHello"
    assert calls == ["localhost"]


def test_sni_callback_can_switch_to_a_chain_the_base_lacks(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """A server without certificate_chain is fine when the callback supplies one."""

    def pick(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        return config.update(certificate_chain=pki.server_chain)

    server_context = make_server_context(gnutls, TLSConfiguration(sni_callback=pick))
    client, server = buffer_pair(
        openssl.client_context(TLSConfiguration(trust_store=pki.trust)), server_context
    )
    handshake_buffers(client, server)
    assert client.getpeercert() == der_of(pki.server)


def test_client_presents_its_chain_even_if_the_server_names_other_cas(
    gnutls: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    """Plain GnuTLS would send no certificate here; the backend sends it (like OpenSSL)."""
    stranger = other_ca.issue_cert("client@example.org")
    client, server = buffer_pair(
        gnutls.client_context(
            TLSConfiguration(trust_store=pki.trust, certificate_chain=chain_of(stranger))
        ),
        make_server_context(
            gnutls, TLSConfiguration(certificate_chain=pki.server_chain, trust_store=pki.trust)
        ),
    )
    outcome = drive_handshake(client, server)
    assert "NOT trusted" in failure_reason(outcome.server_error)


# -- contexts build their GnuTLS objects once ---------------------------------------------------
def test_credentials_and_priority_are_built_once_per_context(
    gnutls: tls_adapter.Backend,
    openssl: tls_adapter.Backend,
    pki: PKI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tls_adapter.backends import _gnutls_ffi

    made: list[str] = []

    class CountingCredentials(_gnutls_ffi.Credentials):
        def __init__(self) -> None:
            made.append("credentials")
            super().__init__()

    class CountingPriority(_gnutls_ffi.Priority):
        def __init__(self, spec: str) -> None:
            made.append("priority")
            super().__init__(spec)

    monkeypatch.setattr(_gnutls_ffi, "Credentials", CountingCredentials)
    monkeypatch.setattr(_gnutls_ffi, "Priority", CountingPriority)
    context = gnutls.client_context(TLSConfiguration(trust_store=pki.trust))
    assert made.count("credentials") == 1
    built = list(made)  # (planning the priority string parses a probe too)
    server_context = make_server_context(
        openssl, TLSConfiguration(certificate_chain=pki.server_chain)
    )
    for name in ("localhost", "127.0.0.1", None, "localhost"):
        client, server = buffer_pair(context, server_context, name)
        handshake_buffers(client, server)
    assert made == built


def test_shutdown_discards_data_that_arrives_before_close_notify(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    client, server = buffer_pair(
        gnutls.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
    )
    handshake_buffers(client, server)
    with pytest.raises(tls_adapter.WantReadError):
        client.shutdown()
    server.write(b"late data")
    move(client, server)
    assert server.read(10) == b""
    server.shutdown()
    move(server, client)
    client.shutdown()  # the late data is dropped, the close_notify completes it
    assert client.read(10) == b""


# -- against Debian's gnutls-serv (the generic interop is in tests/test_interop_cli.py) --------
def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package gnutls-bin)")
    return path


@contextmanager
def gnutls_serv(log: Path, *args: str) -> Iterator[int]:
    """``gnutls-serv --echo`` on a free loopback port, logging to *log*; yields the port."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [_tool("gnutls-serv"), "--echo", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            if not wait_for_port("127.0.0.1", port):
                pytest.fail("gnutls-serv did not start listening")
            yield port
        finally:
            proc.terminate()
            proc.wait(10)


@pytest.mark.network_tools
def test_client_certificate_reaches_gnutls_serv_that_names_another_ca(
    gnutls: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA, tmp_path: Path
) -> None:
    """The chain goes out although gnutls-serv only lists *other_ca*: the server then
    rejects the certificate ("Error in the certificate"), not its absence."""
    (tmp_path / "other-ca.pem").write_bytes(other_ca.cert_pem.bytes())
    (tmp_path / "server.pem").write_bytes(b"".join(p.bytes() for p in pki.server.cert_chain_pems))
    (tmp_path / "server.key").write_bytes(pki.server.private_key_pem.bytes())
    log = tmp_path / "gnutls-serv.log"
    args = (
        "--require-client-cert",
        "--verify-client-cert",
        "--x509cafile",
        str(tmp_path / "other-ca.pem"),
        "--x509certfile",
        str(tmp_path / "server.pem"),
        "--x509keyfile",
        str(tmp_path / "server.key"),
    )
    config = TLSConfiguration(trust_store=pki.trust, certificate_chain=pki.client_chain)
    with gnutls_serv(log, *args) as port:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        with (
            gnutls.client_context(config).wrap_socket(raw, "localhost") as sock,
            suppress(TLSError, OSError),  # TLS 1.2 fails in the handshake, 1.3 later
        ):
            sock.do_handshake()
            sock.sendall(b"x\n")
            sock.recv(10)
        deadline = time.monotonic() + 5
        while b"Error in handshake" not in log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
    text = log.read_text(errors="replace")
    assert "Error in the certificate" in text, text
    assert "Certificate is required" not in text, text


def _cn_only_chain(
    ca: trustme.CA,
) -> tuple[tuple[tls_adapter.Certificate, ...], tls_adapter.PrivateKey]:
    """A server certificate for CN=localhost with no subjectAltName at all."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=10))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return (
        (tls_adapter.Certificate.from_buffer(cert.public_bytes(serialization.Encoding.PEM)),),
        tls_adapter.PrivateKey.from_buffer(pem_key),
    )


def test_subject_common_name_is_never_matched(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """GnuTLS alone would accept CN=localhost without subjectAltName; the backend does not."""
    server_context = make_server_context(
        openssl, TLSConfiguration(certificate_chain=_cn_only_chain(pki.ca))
    )
    for backend in (openssl, gnutls):  # the reference refuses it too
        client, server = buffer_pair(
            backend.client_context(TLSConfiguration(trust_store=pki.trust)), server_context
        )
        outcome = drive_handshake(client, server)
        assert isinstance(outcome.client_error, CertificateValidationError), backend.name
    # The chain itself is fine: without the name check it is accepted.
    client, server = buffer_pair(
        gnutls.client_context(TLSConfiguration(trust_store=pki.trust)),
        server_context,
        "localhost",
        check_hostname=False,
    )
    handshake_buffers(client, server)


# -- GnuTLS's own verifier at its strictest: key purpose and the MEDIUM profile ---------------
# The backend also runs the core validation policy (tls_adapter._policy.ChainPolicy) after
# the handshake, which refuses all of these chains anyway. To show that GnuTLS's verifier
# refuses them by itself, inside the handshake, these tests switch the policy off on the one
# context object they build (``context._policy = None``). That is only ever done here: the
# policy is part of every backend's contract and no configuration can turn it off.
def _served(case: misissued.Case, *, full: bool = False) -> TLSConfiguration:
    chain = tls_adapter.Certificate.chain_from_buffer(
        case.full_chain_pem if full else case.chain_pem
    )
    return TLSConfiguration(
        certificate_chain=(chain, tls_adapter.PrivateKey.from_buffer(case.key_pem))
    )


def _without_policy(
    context: tls_adapter.ClientContext | tls_adapter.ServerContext,
) -> tls_adapter.ClientContext | tls_adapter.ServerContext:
    assert getattr(context, "_policy", None) is not None  # it was on: now prove GnuTLS alone
    context._policy = None  # type: ignore[union-attr]  # tests only, see above
    return context


@pytest.mark.parametrize(
    ("case_name", "reason"),
    [
        (
            "eku_client_auth_only",
            r"does not match the intended purpose.*key purpose .*does not allow serverAuth "
            r"\(1\.3\.6\.1\.5\.5\.7\.3\.1\)",
        ),
        ("leaf_rsa1024", r"insecure algorithm.*MEDIUM verification profile"),
        ("intermediate_ec_p192", r"insecure algorithm.*MEDIUM verification profile"),
        ("leaf_sha1_signature", r"insecure algorithm"),
        ("ok_ecdsa_p256_with_intermediate", None),
        ("ok_rsa2048_direct", None),
        ("ok_leaf_without_eku", None),
    ],
)
@pytest.mark.parametrize("check_hostname", [True, False])
def test_gnutls_alone_refuses_wrong_key_purpose_and_weak_chains(
    gnutls: tls_adapter.Backend, case_name: str, reason: str | None, check_hostname: bool
) -> None:
    """GnuTLS verifies for serverAuth under the MEDIUM profile (RSA >= 2048, no P-192, no
    SHA-1), with or without the host name check; correct chains still pass."""
    case = misissued.case(case_name)
    client_context = _without_policy(
        gnutls.client_context(
            TLSConfiguration(trust_store=tls_adapter.TrustStore.from_buffer(case.anchors_pem))
        )
    )
    assert isinstance(client_context, tls_adapter.ClientContext)
    # A GnuTLS server: it loads RSA-1024 and SHA-1 chains that OpenSSL would refuse to.
    client, server = buffer_pair(
        client_context,
        make_server_context(gnutls, _served(case)),
        case.host,
        check_hostname=check_hostname,
    )
    outcome = drive_handshake(client, server)
    if reason is None:
        assert outcome.client_error is None and outcome.client_done, outcome
    else:
        assert re.search(reason, failure_reason(outcome.client_error)), outcome.client_error
        assert not outcome.client_done


def test_gnutls_server_alone_refuses_a_client_certificate_without_client_auth(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """A GnuTLS server verifies client chains for clientAuth: a serverAuth-only leaf fails."""
    case = misissued.case("ok_ecdsa_p256_with_intermediate")  # its leaf: serverAuth only
    server_context = _without_policy(
        make_server_context(
            gnutls,
            TLSConfiguration(
                certificate_chain=pki.server_chain,
                trust_store=tls_adapter.TrustStore.from_buffer(case.anchors_pem),
            ),
        )
    )
    assert isinstance(server_context, tls_adapter.ServerContext)
    client_config = _served(case, full=True).update(trust_store=pki.trust)
    client, server = buffer_pair(openssl.client_context(client_config), server_context)
    outcome = drive_handshake(client, server)
    assert re.search(
        r"key purpose .*does not allow clientAuth \(1\.3\.6\.1\.5\.5\.7\.3\.2\)",
        failure_reason(outcome.server_error),
    ), outcome.server_error


# -- the system trust store -------------------------------------------------------------------
def test_system_store_is_gnutls_own_and_does_not_trust_the_test_ca(
    gnutls: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """With SSL_CERT_FILE/SSL_CERT_DIR unset (conftest), GnuTLS's built-in store is used."""
    client, server = buffer_pair(
        gnutls.client_context(TLSConfiguration()),
        make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
    )
    outcome = drive_handshake(client, server)
    assert "NOT trusted" in failure_reason(outcome.client_error)


def test_ssl_cert_file_naming_nothing_is_refused(
    gnutls: tls_adapter.Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigurationError, match="SSL_CERT_FILE"):
        gnutls.client_context(TLSConfiguration())
