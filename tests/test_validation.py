"""Certificate validation, for every backend as the validating side.

Each failure must be a :class:`CertificateValidationError` raised by the handshake, whose
``reason`` says what is wrong (checked loosely: libraries word it differently).
"""

from __future__ import annotations

import datetime
import re
import socket
import warnings
from typing import Any

import pytest
import trustme

import tls_adapter
from tls_adapter import (
    CertificateValidationError,
    SecurityWarning,
    TLSConfiguration,
    TLSError,
    TLSVersion,
    TrustStore,
)

from .peers import (
    PKI,
    HandshakeOutcome,
    ThreadedServer,
    buffer_pair,
    chain_of,
    connect_to,
    custom_leaf,
    der_of,
    drive_handshake,
    echo_handler,
    make_server_context,
    server_peer,
    serving_context,
    wrap_client_socket,
)
from .test_conformance_buffers import pinned, require_client_auth, require_version

Backend = tls_adapter.Backend

EXPIRED = ("expired",)
NOT_YET_VALID = ("notyetvalid", "notvalidyet", "notyetactivated", "future", "notbefore")
HOSTNAME = ("hostname", "mismatch", "notvalidfor", "doesnotmatch", "namemismatch")
UNTRUSTED = ("selfsigned", "issuer", "unknownca", "trust", "signer", "chain", "unknownauthority")


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def assert_reason(error: BaseException | None, keywords: tuple[str, ...]) -> None:
    """*error* is a CertificateValidationError whose reason has one of *keywords*."""
    assert isinstance(error, CertificateValidationError), f"expected a validation error: {error!r}"
    assert isinstance(error.reason, str) and error.reason
    assert any(k in _squash(error.reason) for k in keywords), (
        f"reason {error.reason!r} mentions none of {keywords}"
    )


@pytest.fixture(scope="module")
def expired_leaf(pki: PKI, now: datetime.datetime) -> trustme.LeafCert:
    return pki.ca.issue_cert(
        "localhost",
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=1),
    )


@pytest.fixture(scope="module")
def future_leaf(pki: PKI, now: datetime.datetime) -> trustme.LeafCert:
    return pki.ca.issue_cert(
        "localhost",
        not_before=now + datetime.timedelta(days=1),
        not_after=now + datetime.timedelta(days=30),
    )


@pytest.fixture(scope="module")
def intermediate_pki() -> tuple[trustme.CA, trustme.LeafCert]:
    """A root, an intermediate below it, and a leaf issued by the intermediate."""
    root = trustme.CA()
    intermediate = root.create_child_ca()
    return root, intermediate.issue_cert("localhost")


def handshake(
    client_backend: Backend,
    client_config: TLSConfiguration,
    chain: tuple[tuple[tls_adapter.Certificate, ...], tls_adapter.PrivateKey],
    server_hostname: str | None = "localhost",
    *,
    check_hostname: bool = True,
) -> HandshakeOutcome:
    """An in-memory handshake against a server (of the same backend if it can serve)."""
    server_context = make_server_context(
        server_peer(client_backend), TLSConfiguration(certificate_chain=chain)
    )
    client, server = buffer_pair(
        client_backend.client_context(client_config),
        server_context,
        server_hostname,
        check_hostname=check_hostname,
    )
    outcome = drive_handshake(client, server)
    if outcome.client_done:
        assert outcome.server_error is None and outcome.server_done, outcome
    return outcome


def assert_ok(outcome: HandshakeOutcome) -> None:
    assert outcome.client_error is None and outcome.server_error is None, outcome
    assert outcome.client_done and outcome.server_done


def assert_rejected(outcome: HandshakeOutcome, keywords: tuple[str, ...]) -> None:
    assert not outcome.client_done
    assert_reason(outcome.client_error, keywords)
    # The server learns of it through an alert (or EOF): a TLS error, never success.
    assert isinstance(outcome.server_error, TLSError) or not outcome.server_done, outcome


# -- dates ------------------------------------------------------------------------------
def test_expired(backend: Backend, pki: PKI, expired_leaf: trustme.LeafCert) -> None:
    outcome = handshake(backend, TLSConfiguration(trust_store=pki.trust), chain_of(expired_leaf))
    assert_rejected(outcome, EXPIRED)


def test_not_yet_valid(backend: Backend, pki: PKI, future_leaf: trustme.LeafCert) -> None:
    outcome = handshake(backend, TLSConfiguration(trust_store=pki.trust), chain_of(future_leaf))
    assert_rejected(outcome, NOT_YET_VALID)


# -- names ------------------------------------------------------------------------------
def test_wrong_hostname(backend: Backend, pki: PKI, tls_version: TLSVersion) -> None:
    require_version(backend, tls_version)
    config = pinned(TLSConfiguration(trust_store=pki.trust), tls_version)
    outcome = handshake(backend, config, pki.server_chain, "wrong.example")
    assert_rejected(outcome, HOSTNAME)


@pytest.mark.parametrize("name", ["127.0.0.1", "::1", "localhost", "LOCALHOST", "localhost."])
def test_matching_names(backend: Backend, pki: PKI, name: str) -> None:
    assert_ok(handshake(backend, TLSConfiguration(trust_store=pki.trust), pki.server_chain, name))


@pytest.mark.parametrize("name", ["127.0.0.2", "::2", "10.0.0.1"])
def test_ip_san_mismatch(backend: Backend, pki: PKI, name: str) -> None:
    outcome = handshake(backend, TLSConfiguration(trust_store=pki.trust), pki.server_chain, name)
    assert_rejected(outcome, (*HOSTNAME, "ipaddress"))


def test_ip_literal_does_not_match_dns_san(backend: Backend, pki: PKI) -> None:
    leaf = pki.ca.issue_cert("127.0.0.1.example")
    outcome = handshake(
        backend, TLSConfiguration(trust_store=pki.trust), chain_of(leaf), "127.0.0.1"
    )
    assert_rejected(outcome, (*HOSTNAME, "ipaddress"))


@pytest.mark.parametrize(
    ("name", "ok"),
    [("www.example.org", True), ("a.b.example.org", False), ("example.org", False)],
)
def test_wildcard(backend: Backend, pki: PKI, name: str, ok: bool) -> None:
    leaf = pki.ca.issue_cert("*.example.org")
    outcome = handshake(backend, TLSConfiguration(trust_store=pki.trust), chain_of(leaf), name)
    if ok:
        assert_ok(outcome)
    else:
        assert_rejected(outcome, HOSTNAME)


def test_check_hostname_false_skips_the_name_only(
    backend: Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    config = TLSConfiguration(trust_store=pki.trust)
    outcome = handshake(backend, config, pki.server_chain, "wrong.example", check_hostname=False)
    assert_ok(outcome)
    untrusted = other_ca.issue_cert("wrong.example")
    outcome = handshake(backend, config, chain_of(untrusted), "wrong.example", check_hostname=False)
    assert_rejected(outcome, UNTRUSTED)


def test_check_hostname_false_still_sends_sni(backend: Backend, pki: PKI) -> None:
    """The urllib3 shim's "send SNI, skip the hostname check" (SPEC 2.2)."""
    server_backend = server_peer(backend)
    if not server_backend.capabilities.sni_callback:
        server_backend = tls_adapter.default_backend()  # any server that can observe SNI
    names: list[str | None] = []

    def callback(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        names.append(name)
        return config

    server_context = make_server_context(
        server_backend, TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=callback)
    )
    client, server = buffer_pair(
        backend.client_context(TLSConfiguration(trust_store=pki.trust)),
        server_context,
        "wrong.example",
        check_hostname=False,
    )
    assert_ok(drive_handshake(client, server))
    assert names == ["wrong.example"]


def test_server_hostname_none_skips_the_name(
    backend: Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    leaf = pki.ca.issue_cert("somewhere-else.example")
    config = TLSConfiguration(trust_store=pki.trust)
    assert_ok(handshake(backend, config, chain_of(leaf), None))
    untrusted = other_ca.issue_cert("localhost")
    assert_rejected(handshake(backend, config, chain_of(untrusted), None), UNTRUSTED)


def test_invalid_server_hostname_is_refused(backend: Backend, pki: PKI) -> None:
    context = backend.client_context(TLSConfiguration(trust_store=pki.trust))
    with pytest.raises(ValueError):
        context.wrap_buffers("")
    with pytest.raises(TypeError):
        context.wrap_buffers(b"localhost")  # type: ignore[arg-type]


# -- chains -----------------------------------------------------------------------------
def test_self_signed(backend: Backend, pki: PKI) -> None:
    """A CA's own certificate used as the server's leaf, by a client trusting another CA."""
    rogue = trustme.CA()
    chain = (
        (tls_adapter.Certificate.from_buffer(rogue.cert_pem.bytes()),),
        tls_adapter.PrivateKey.from_buffer(rogue.private_key_pem.bytes()),
    )
    outcome = handshake(backend, TLSConfiguration(trust_store=pki.trust), chain, None)
    assert_rejected(outcome, UNTRUSTED)


def test_untrusted_ca(
    backend: Backend, pki: PKI, other_ca: trustme.CA, tls_version: TLSVersion
) -> None:
    require_version(backend, tls_version)
    leaf = other_ca.issue_cert("localhost")
    config = pinned(TLSConfiguration(trust_store=pki.trust), tls_version)
    assert_rejected(handshake(backend, config, chain_of(leaf)), UNTRUSTED)


def test_missing_intermediate(
    backend: Backend, intermediate_pki: tuple[trustme.CA, trustme.LeafCert]
) -> None:
    root, leaf = intermediate_pki
    assert len(leaf.cert_chain_pems) == 2  # leaf, intermediate
    certs, key = chain_of(leaf)
    config = TLSConfiguration(trust_store=TrustStore.from_buffer(root.cert_pem.bytes()))
    assert_rejected(handshake(backend, config, ((certs[0],), key)), UNTRUSTED)
    outcome = handshake(backend, config, (certs, key))
    assert_ok(outcome)


def test_trusting_the_intermediate_only(
    backend: Backend, intermediate_pki: tuple[trustme.CA, trustme.LeafCert]
) -> None:
    """A trust anchor need not be self-signed (partial chains), but it must be in the store."""
    _, leaf = intermediate_pki
    certs, key = chain_of(leaf)
    config = TLSConfiguration(trust_store=TrustStore.from_buffer(certs[1].to_pem()))
    try:
        outcome = handshake(backend, config, (certs, key))
    except tls_adapter.ConfigurationError as e:  # pragma: no cover - depends on backend
        pytest.skip(f"{backend.name} cannot use a non-root trust anchor: {e}")
    if outcome.client_error is not None:
        assert_reason(outcome.client_error, UNTRUSTED)
        pytest.skip(f"{backend.name} needs a self-signed trust anchor")
    assert_ok(outcome)


def test_leaf_trusted_directly_is_not_a_ca(backend: Backend, pki: PKI) -> None:
    """Trusting only a leaf (no CA) must not validate a different leaf."""
    store = TrustStore.from_buffer(pki.client.cert_chain_pems[0].bytes())
    outcome = handshake(backend, TLSConfiguration(trust_store=store), pki.server_chain)
    assert_rejected(outcome, UNTRUSTED)


def test_chain_order_leaf_first(backend: Backend, pki: PKI) -> None:
    outcome = handshake(backend, TLSConfiguration(trust_store=pki.trust), pki.server_chain)
    assert_ok(outcome)


# -- validation off -------------------------------------------------------------------
def test_validation_off_warns_at_build_and_accepts_anything(
    backend: Backend,
    pki: PKI,
    other_ca: trustme.CA,
    expired_leaf: trustme.LeafCert,
) -> None:
    with pytest.warns(SecurityWarning):
        context = backend.client_context(TLSConfiguration(validate_certificates=False))
    rogue = trustme.CA()
    self_signed = (
        (tls_adapter.Certificate.from_buffer(rogue.cert_pem.bytes()),),
        tls_adapter.PrivateKey.from_buffer(rogue.private_key_pem.bytes()),
    )
    chains = [
        chain_of(other_ca.issue_cert("localhost")),
        chain_of(expired_leaf),
        chain_of(pki.ca.issue_cert("elsewhere.example")),
        self_signed,
    ]
    server_backend = server_peer(backend)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no further warning per connection
        for chain in chains:
            server_context = make_server_context(
                server_backend, TLSConfiguration(certificate_chain=chain)
            )
            client, server = buffer_pair(context, server_context, "localhost")
            assert_ok(drive_handshake(client, server))
            assert client.getpeercert() == chain[0][0].to_der()


def test_validation_off_on_server_warns(backend: Backend, pki: PKI) -> None:
    if backend.server_context is None:
        pytest.skip(f"{backend.name} has no server side")
    with pytest.warns(SecurityWarning):
        make_server_context(
            backend,
            TLSConfiguration(certificate_chain=pki.server_chain, validate_certificates=False),
        )


def test_validation_on_does_not_warn(backend: Backend, pki: PKI) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backend.client_context(TLSConfiguration(trust_store=pki.trust))


# -- server side ----------------------------------------------------------------------
def test_untrusted_client_certificate_is_rejected(
    backend: Backend, pki: PKI, other_ca: trustme.CA, tls_version: TLSVersion
) -> None:
    server_backend = backend
    client_backend = backend if backend.capabilities.client_certificates else None
    if server_backend.server_context is None:
        pytest.skip(f"{backend.name} has no server side")
    client_backend = client_backend or tls_adapter.default_backend()
    require_client_auth(client_backend, server_backend, pki)
    require_version(server_backend, tls_version)
    require_version(client_backend, tls_version)
    stranger = other_ca.issue_cert("client@example.org")
    client, server = buffer_pair(
        client_backend.client_context(
            pinned(
                TLSConfiguration(trust_store=pki.trust, certificate_chain=chain_of(stranger)),
                tls_version,
            )
        ),
        make_server_context(
            server_backend,
            TLSConfiguration(certificate_chain=pki.server_chain, trust_store=pki.trust),
        ),
    )
    outcome = drive_handshake(client, server)
    assert not outcome.server_done
    assert_reason(outcome.server_error, UNTRUSTED)


def test_expired_client_certificate_is_rejected(
    backend: Backend, pki: PKI, now: datetime.datetime
) -> None:
    if backend.server_context is None:
        pytest.skip(f"{backend.name} has no server side")
    client_backend = (
        backend if backend.capabilities.client_certificates else tls_adapter.default_backend()
    )
    require_client_auth(client_backend, backend, pki)
    old = pki.ca.issue_cert(
        "client@example.org",
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=1),
    )
    client, server = buffer_pair(
        client_backend.client_context(
            TLSConfiguration(trust_store=pki.trust, certificate_chain=chain_of(old))
        ),
        make_server_context(
            backend, TLSConfiguration(certificate_chain=pki.server_chain, trust_store=pki.trust)
        ),
    )
    outcome = drive_handshake(client, server)
    assert_reason(outcome.server_error, EXPIRED)


# -- over sockets ---------------------------------------------------------------------
@pytest.mark.parametrize("case", ["untrusted", "hostname", "expired"])
def test_validation_over_sockets(
    backend: Backend,
    socket_flavour: str,
    pki: PKI,
    other_ca: trustme.CA,
    expired_leaf: trustme.LeafCert,
    case: str,
) -> None:
    chain, name, keywords = {
        "untrusted": (chain_of(other_ca.issue_cert("localhost")), "localhost", UNTRUSTED),
        "hostname": (pki.server_chain, "wrong.example", HOSTNAME),
        "expired": (chain_of(expired_leaf), "localhost", EXPIRED),
    }[case]
    server_context = make_server_context(
        server_peer(backend), TLSConfiguration(certificate_chain=chain)
    )
    with ThreadedServer(serving_context(server_context, socket_flavour), echo_handler) as server:
        context = backend.client_context(TLSConfiguration(trust_store=pki.trust))
        with wrap_client_socket(context, connect_to(server), name, socket_flavour) as sock:
            with pytest.raises(CertificateValidationError) as info:
                sock.do_handshake()
            assert_reason(info.value, keywords)
    # The server was told (alert) or saw the connection drop: it failed, with a TLSError.
    assert len(server.errors) == 1, server.errors
    assert isinstance(server.errors[0], (TLSError, ConnectionResetError)), server.errors


def test_valid_over_sockets_with_ip(backend: Backend, socket_flavour: str, pki: PKI) -> None:
    server_context = make_server_context(
        server_peer(backend), TLSConfiguration(certificate_chain=pki.server_chain)
    )
    with ThreadedServer(serving_context(server_context, socket_flavour), echo_handler) as server:
        context = backend.client_context(TLSConfiguration(trust_store=pki.trust))
        raw = socket.create_connection((server.host, server.port), timeout=10)
        with wrap_client_socket(context, raw, "127.0.0.1", socket_flavour) as sock:
            sock.do_handshake()
            assert sock.getpeercert() == der_of(pki.server)
            sock.sendall(b"ok")
            data = b""
            while len(data) < 2:
                data += sock.recv(2 - len(data))
            assert data == b"ok"
    assert not server.errors, server.errors


# -- name matching is OpenSSL-strict on every backend ------------------------------------
@pytest.mark.parametrize(
    ("pattern", "host"),
    [
        ("*", "localhost"),
        ("*.org", "example.org"),
        ("a.*.org", "a.b.org"),
        ("*.*.org", "a.b.org"),
        ("f*.example.org", "foo.example.org"),
        ("*.example.org", "a.b.example.org"),
    ],
)
def test_lax_wildcards_are_refused(backend: Backend, pki: PKI, pattern: str, host: str) -> None:
    """Partial, bare, multi-label and nested wildcards never match (OpenSSL's rules)."""
    from cryptography import x509

    chain = custom_leaf(pki, "x", [x509.DNSName(pattern)])
    outcome = _name_check(backend, pki, chain, host)
    assert not outcome.client_done
    assert isinstance(outcome.client_error, CertificateValidationError), outcome.client_error


def test_left_most_wildcard_matches_one_label(backend: Backend, pki: PKI) -> None:
    from cryptography import x509

    chain = custom_leaf(pki, "x", [x509.DNSName("*.Example.ORG")])
    outcome = _name_check(backend, pki, chain, "www.example.org")
    assert outcome.client_done, outcome.client_error


def test_subject_cn_is_never_used_for_names(backend: Backend, pki: PKI) -> None:
    """A certificate without a dNSName subjectAltName matches no host name, CN or not."""
    outcome = _name_check(backend, pki, custom_leaf(pki, "localhost", []), "localhost")
    assert not outcome.client_done
    assert isinstance(outcome.client_error, CertificateValidationError), outcome.client_error


def _name_check(
    backend: Backend, pki: PKI, chain: tuple[tuple[tls_adapter.Certificate, ...], Any], host: str
) -> HandshakeOutcome:
    openssl = tls_adapter.get_backend("openssl")
    client, server = buffer_pair(
        backend.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(openssl, TLSConfiguration(certificate_chain=chain)),
        host,
    )
    return drive_handshake(client, server)
