"""Quirks of the wolfSSL backend that the generic conformance suite does not single out.

wolfSSL checks certificates and host names itself, inside the handshake, but its name
matching is laxer than OpenSSL's (subject CN fallback, ``*`` for any labels, CN and
dNSName for IP addresses), so the backend adds a stricter check of its own in wolfSSL's
verify callback; this wolfSSL has no TLS 1.0/1.1; its ALPN list is one comma-separated
string; its own private-key check passes mismatched ECDSA keys; it cannot parse TLS 1.3
session tickets with nonces longer than 8 bytes. These tests pin down how the backend
handles each. Peers are real: the standard library's ``ssl`` (through the openssl
backend or raw) and the backend itself.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from contextlib import suppress

import pytest
import trustme
from cryptography import x509

import tls_adapter
from tls_adapter import (
    CipherSuite,
    ConfigurationError,
    NextProtocol,
    TLSConfiguration,
    TLSError,
    TLSVersion,
)

from ..peers import (
    PKI,
    buffer_pair,
    chain_of,
    custom_leaf,
    der_of,
    drive_handshake,
    handshake_buffers,
    make_server_context,
    read_exactly,
)
from .support import failure_reason, pinned, requires_backend

pytestmark = requires_backend("wolfssl")

Chain = tuple[tuple[tls_adapter.Certificate, ...], tls_adapter.PrivateKey]


@pytest.fixture
def wolfssl() -> tls_adapter.Backend:
    """The backend under test."""
    return tls_adapter.get_backend("wolfssl")


def _handshake_with(
    wolfssl: tls_adapter.Backend,
    openssl: tls_adapter.Backend,
    pki: PKI,
    chain: Chain,
    hostname: str,
) -> tuple[bool, BaseException | None]:
    client, server = buffer_pair(
        wolfssl.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(openssl, TLSConfiguration(certificate_chain=chain)),
        hostname,
    )
    outcome = drive_handshake(client, server)
    return outcome.client_done, outcome.client_error


# -- certificate and host name checks -----------------------------------------------------
def test_wrong_hostname_is_rejected_by_wolfssl_with_an_alert(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    client, server = buffer_pair(
        wolfssl.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
        "wrong.example",
    )
    outcome = drive_handshake(client, server)
    reason = failure_reason(outcome.client_error)
    assert "hostname mismatch" in reason
    assert "peer subject name mismatch" in reason  # wolfSSL's own wording: its check ran
    # The check ran inside the handshake: the server got the alert, not a bare EOF.
    assert isinstance(outcome.server_error, TLSError)
    assert "certificate" in str(outcome.server_error).lower()


@pytest.mark.parametrize("address", ["10.9.8.7", "::2", "[::2]"])
def test_ip_address_mismatch_is_rejected(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI, address: str
) -> None:
    client, server = buffer_pair(
        wolfssl.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
        address,
    )
    outcome = drive_handshake(client, server)
    assert "IP address mismatch" in failure_reason(outcome.client_error)
    assert not outcome.client_done


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_ip_address_match_and_no_sni(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI, address: str
) -> None:
    """IPv6 works too (wolfSSL compares text: the backend hands it the full form)."""
    seen: list[str | None] = []

    def record(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        seen.append(name)
        return config

    leaf = pki.ca.issue_cert("localhost", "127.0.0.1", "::1")
    client, server = buffer_pair(
        wolfssl.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(
            openssl, TLSConfiguration(certificate_chain=chain_of(leaf), sni_callback=record)
        ),
        address,
    )
    handshake_buffers(client, server)
    assert seen == [None]
    assert client.getpeercert() == der_of(leaf)


def test_untrusted_ca_is_rejected(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    stranger = TLSConfiguration(
        trust_store=tls_adapter.TrustStore.from_buffer(other_ca.cert_pem.bytes())
    )
    for check_hostname in (True, False):
        client, server = buffer_pair(
            wolfssl.client_context(stranger),
            make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
            "localhost",
            check_hostname=check_hostname,
        )
        outcome = drive_handshake(client, server)
        assert "no trusted CA" in failure_reason(outcome.client_error)
        assert not outcome.client_done


def test_subject_cn_is_never_used_for_names(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """wolfSSL alone would accept a SAN-less certificate whose CN is the host name."""
    done, error = _handshake_with(
        wolfssl, openssl, pki, custom_leaf(pki, "localhost", []), "localhost"
    )
    assert not done
    assert "no DNS subjectAltName" in failure_reason(error)
    # With a matching subjectAltName the same CN is fine.
    chain = custom_leaf(pki, "localhost", [x509.DNSName("localhost")])
    assert _handshake_with(wolfssl, openssl, pki, chain, "localhost") == (True, None)


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
def test_lax_wildcards_are_refused(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI, pattern: str, host: str
) -> None:
    """wolfSSL 5.5.4 alone matches all but the last of these; OpenSSL matches none."""
    done, error = _handshake_with(
        wolfssl, openssl, pki, custom_leaf(pki, "x", [x509.DNSName(pattern)]), host
    )
    assert not done
    assert "hostname mismatch" in failure_reason(error)


def test_left_most_wildcard_matches_one_label(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    chain = custom_leaf(pki, "x", [x509.DNSName("*.Example.ORG")])
    assert _handshake_with(wolfssl, openssl, pki, chain, "www.example.org") == (True, None)


@pytest.mark.parametrize(
    ("common_name", "names"),
    [
        ("127.0.0.1", []),
        ("x", [x509.DNSName("127.0.0.1")]),
        ("x", [x509.IPAddress(ipaddress.ip_address("127.0.0.2"))]),
    ],
    ids=["cn", "dns-name", "other-ip"],
)
def test_ip_addresses_need_an_ip_san(
    wolfssl: tls_adapter.Backend,
    openssl: tls_adapter.Backend,
    pki: PKI,
    common_name: str,
    names: list[x509.GeneralName],
) -> None:
    """wolfSSL alone would accept the address in the CN or in a dNSName."""
    done, error = _handshake_with(
        wolfssl, openssl, pki, custom_leaf(pki, common_name, names), "127.0.0.1"
    )
    assert not done
    assert "IP address mismatch" in failure_reason(error)


def test_check_hostname_false_still_sends_sni_and_checks_the_chain(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    seen: list[str | None] = []

    def record(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        seen.append(name)
        return config

    client, server = buffer_pair(
        wolfssl.client_context(TLSConfiguration(trust_store=pki.trust)),
        make_server_context(
            openssl, TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=record)
        ),
        "wrong.example",
        check_hostname=False,
    )
    handshake_buffers(client, server)
    assert seen == ["wrong.example"]


def test_validation_off_accepts_anything(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, other_ca: trustme.CA
) -> None:
    with pytest.warns(tls_adapter.SecurityWarning):
        context = wolfssl.client_context(TLSConfiguration(validate_certificates=False))
    leaf = other_ca.issue_cert("somewhere.example")
    client, server = buffer_pair(
        context,
        make_server_context(openssl, TLSConfiguration(certificate_chain=chain_of(leaf))),
        "localhost",
    )
    handshake_buffers(client, server)
    assert client.getpeercert() == der_of(leaf)


# -- what is refused at build --------------------------------------------------------------
@pytest.mark.parametrize("version", [TLSVersion.SSLv3, TLSVersion.TLSv1, TLSVersion.TLSv1_1])
def test_old_versions_are_refused(wolfssl: tls_adapter.Backend, version: TLSVersion) -> None:
    with pytest.raises(ConfigurationError, match=r"only TLS 1\.2 and 1\.3"):
        wolfssl.client_context(pinned(TLSConfiguration(), version))


def test_a_range_reaching_below_tls12_is_narrowed(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    config = TLSConfiguration(
        trust_store=pki.trust,
        lowest_supported_version=TLSVersion.MINIMUM_SUPPORTED,
        highest_supported_version=TLSVersion.TLSv1_2,
    )
    client, server = buffer_pair(
        wolfssl.client_context(config),
        make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
    )
    handshake_buffers(client, server)
    assert client.negotiated_tls_version() is TLSVersion.TLSv1_2


@pytest.mark.parametrize("protocol", [b"a,b", b"nul\x00"])
def test_alpn_with_a_comma_or_nul_is_refused(
    wolfssl: tls_adapter.Backend, pki: PKI, protocol: bytes
) -> None:
    with pytest.raises(ConfigurationError, match="ALPN"):
        wolfssl.client_context(TLSConfiguration(inner_protocols=[protocol]))
    with pytest.raises(ConfigurationError, match="ALPN"):
        make_server_context(
            wolfssl,
            TLSConfiguration(certificate_chain=pki.server_chain, inner_protocols=[protocol]),
        )


def test_server_needs_a_chain_even_with_an_sni_callback(
    wolfssl: tls_adapter.Backend, pki: PKI
) -> None:
    with pytest.raises(ConfigurationError, match="certificate_chain"):
        make_server_context(wolfssl, TLSConfiguration(sni_callback=lambda b, n, c: c))


def test_mismatched_ecdsa_key_is_refused(wolfssl: tls_adapter.Backend, pki: PKI) -> None:
    """wolfSSL_CTX_check_private_key passes it; the backend's sign-and-verify check does not."""
    other = pki.ca.issue_cert("other.example")
    certs, _ = pki.server_chain
    with pytest.raises(ConfigurationError, match="does not match"):
        make_server_context(
            wolfssl, TLSConfiguration(certificate_chain=(certs, chain_of(other)[1]))
        )


def test_only_ciphers_wolfssl_lacks_are_refused(wolfssl: tls_adapter.Backend) -> None:
    with pytest.raises(ConfigurationError, match="none of the configured ciphers"):
        wolfssl.client_context(TLSConfiguration(ciphers=[0x0A0A]))


# -- ciphers and ALPN ------------------------------------------------------------------------
def test_tls13_suites_can_be_restricted(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    suite = CipherSuite.TLS_CHACHA20_POLY1305_SHA256
    client, server = buffer_pair(
        wolfssl.client_context(
            pinned(TLSConfiguration(trust_store=pki.trust, ciphers=[suite]), TLSVersion.TLSv1_3)
        ),
        make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
    )
    handshake_buffers(client, server)
    assert client.cipher() is suite
    assert server.cipher() is suite


def test_a_tls12_only_cipher_list_switches_tls13_off(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    suite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    client, server = buffer_pair(
        wolfssl.client_context(TLSConfiguration(trust_store=pki.trust, ciphers=[0x0A0A, suite])),
        make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain)),
    )
    handshake_buffers(client, server)
    assert client.negotiated_tls_version() is TLSVersion.TLSv1_2
    assert client.cipher() is suite


def test_alpn_server_picks_by_its_own_order(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    client, server = buffer_pair(
        openssl.client_context(
            TLSConfiguration(
                trust_store=pki.trust, inner_protocols=[NextProtocol.HTTP1, NextProtocol.H2]
            )
        ),
        make_server_context(
            wolfssl,
            TLSConfiguration(
                certificate_chain=pki.server_chain,
                inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1],
            ),
        ),
    )
    handshake_buffers(client, server)
    assert client.negotiated_protocol() == server.negotiated_protocol()
    assert server.negotiated_protocol() in (NextProtocol.H2, NextProtocol.HTTP1)


# -- session tickets ---------------------------------------------------------------------------
def test_client_offers_only_the_psk_ke_mode(wolfssl: tls_adapter.Backend) -> None:
    """So servers that follow it (rustls) send no NewSessionTicket, whose 32-byte nonce
    wolfSSL 5.5.4 would fail the connection on (it parses at most 8 bytes)."""
    client = wolfssl.client_context(TLSConfiguration()).wrap_buffers("localhost")
    with pytest.raises(tls_adapter.WantReadError):
        client.do_handshake()
    hello = client.peek_outgoing(client.outgoing_bytes_buffered())
    pos = 5 + 4 + 2 + 32  # record header, handshake header, version, random
    pos += 1 + hello[pos]  # session id
    pos += 2 + int.from_bytes(hello[pos : pos + 2], "big")  # cipher suites
    pos += 1 + hello[pos]  # compression methods
    end = pos + 2 + int.from_bytes(hello[pos : pos + 2], "big")
    pos += 2
    extensions: dict[int, bytes] = {}
    while pos < end:
        kind, size = (
            int.from_bytes(hello[pos : pos + 2], "big"),
            int.from_bytes(hello[pos + 2 : pos + 4], "big"),
        )
        extensions[kind] = hello[pos + 4 : pos + 4 + size]
        pos += 4 + size
    assert extensions[45] == b"\x01\x00"  # psk_key_exchange_modes: [psk_ke]


def test_tickets_from_a_stdlib_server_are_read_past(wolfssl: tls_adapter.Backend, pki: PKI) -> None:
    """OpenSSL sends two tickets anyway (8-byte nonces): the first read gets the data."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki.server.configure_cert(server_ctx)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = server_ctx.wrap_bio(incoming, outgoing, server_side=True)
    client = wolfssl.client_context(TLSConfiguration(trust_store=pki.trust)).wrap_buffers(
        "localhost"
    )
    for _ in range(10):
        with suppress(tls_adapter.WantReadError):
            client.do_handshake()
        n = client.outgoing_bytes_buffered()
        incoming.write(client.peek_outgoing(n))
        client.consume_outgoing(n)
        with suppress(ssl.SSLWantReadError):
            server.do_handshake()
        data = outgoing.read()
        if data:
            client.receive_from_network(data)
        if server.version() and client.negotiated_tls_version():
            break
    assert client.negotiated_tls_version() is TLSVersion.TLSv1_3
    server.write(b"after the tickets")
    client.receive_from_network(outgoing.read())
    assert client.read(100) == b"after the tickets"


# -- servers: client certificates through the SNI callback -----------------------------------
def test_sni_callback_can_switch_on_client_authentication(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """The switched-to context's client-certificate policy applies to the connection."""

    def pick(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        if name == "secure.localhost":
            return config.update(trust_store=pki.trust)
        return config

    leaf = pki.ca.issue_cert("secure.localhost", "localhost")
    server_context = make_server_context(
        wolfssl, TLSConfiguration(certificate_chain=chain_of(leaf), sni_callback=pick)
    )
    anonymous = openssl.client_context(TLSConfiguration(trust_store=pki.trust))
    client, server = buffer_pair(anonymous, server_context, "localhost")
    handshake_buffers(client, server)
    assert server.getpeercert() is None

    client, server = buffer_pair(anonymous, server_context, "secure.localhost")
    outcome = drive_handshake(client, server)
    assert isinstance(outcome.server_error, TLSError), outcome
    assert not outcome.server_done

    with_cert = openssl.client_context(
        TLSConfiguration(trust_store=pki.trust, certificate_chain=pki.client_chain)
    )
    client, server = buffer_pair(with_cert, server_context, "secure.localhost")
    handshake_buffers(client, server)
    assert server.getpeercert() == der_of(pki.client)
    client.write(b"ok")
    assert read_exactly(server, client, 2) == b"ok"


def test_verification_failure_reasons_are_readable(
    wolfssl: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = pki.ca.issue_cert(
        "localhost",
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=1),
    )
    done, error = _handshake_with(wolfssl, openssl, pki, chain_of(expired), "localhost")
    assert not done
    assert "expired" in failure_reason(error)
    assert "ASN date error" in failure_reason(error)  # wolfSSL's own text is kept
