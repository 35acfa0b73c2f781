"""The validation policy's own pieces: fail-closed without its verifier, the private-API
wrapper it needs on the ``ssl`` backend, and its verdicts on chains built here.

Misissued certificates through every backend, requests and urllib3 are in
``test_validation_policy.py``; x509-limbo's cases run in ``nox -s limbo``.
"""

from __future__ import annotations

import contextlib
import ssl
import sys

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

import tls_adapter
from tls_adapter import CertificateValidationError, ConfigurationError, TLSConfiguration, TrustStore
from tls_adapter._api import ServerName
from tls_adapter._policy import ChainPolicy, SecurityLevelGaps, ec_curve_oid
from tls_adapter.backends.openssl import verified_chain_der

from .peers import PKI


def _der_chain(leaf: trustme.LeafCert) -> list[bytes]:
    return [
        x509.load_pem_x509_certificate(blob.bytes()).public_bytes(Encoding.DER)
        for blob in leaf.cert_chain_pems
    ]


def test_verified_chain_of_the_stdlib_is_read_through_one_function(pki: PKI) -> None:
    """``verified_chain_der`` wraps ``get_verified_chain`` (private before 3.13): if a
    Python release moves it, this fails instead of the ``ssl`` backend's policy check."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki.server.configure_cert(server_ctx)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    pki.ca.configure_trust(client_ctx)
    bios = [ssl.MemoryBIO() for _ in range(4)]
    client = client_ctx.wrap_bio(bios[0], bios[1], server_hostname="localhost")
    server = server_ctx.wrap_bio(bios[1], bios[0], server_side=True)
    assert verified_chain_der(client) == []  # before the handshake
    for _ in range(10):
        for obj in (client, server):
            with contextlib.suppress(ssl.SSLWantReadError):
                obj.do_handshake()
    chain = verified_chain_der(client)
    assert chain[0] == _der_chain(pki.server)[0]
    assert chain[-1] == x509.load_pem_x509_certificate(pki.ca.cert_pem.bytes()).public_bytes(
        Encoding.DER
    )


def test_backends_fail_closed_without_the_verifier(
    monkeypatch: pytest.MonkeyPatch, pki: PKI
) -> None:
    """No cryptography: a validating context of a policy backend is refused, naming why."""
    monkeypatch.setitem(sys.modules, "cryptography.x509.verification", None)
    with pytest.raises(ConfigurationError, match=r"gnutls backend .*'cryptography'"):
        ChainPolicy(pki.trust, "gnutls")
    for name in ("gnutls", "wolfssl", "rustls", "boringssl", "mbedtls"):
        if name not in tls_adapter.available_backends():
            continue
        with pytest.raises(ConfigurationError, match="cryptography"):
            tls_adapter.get_backend(name).client_context(TLSConfiguration(trust_store=pki.trust))
    # The ssl backend needs no cryptography: its gaps are checked with our DER reader.
    tls_adapter.get_backend("openssl").client_context(TLSConfiguration(trust_store=pki.trust))


def test_policy_verdicts_on_a_trustme_chain(pki: PKI, other_ca: trustme.CA) -> None:
    policy = ChainPolicy(pki.trust, "test")
    chain = _der_chain(pki.server)
    policy.verify_server(chain, ServerName("localhost", True))
    policy.verify_server(chain, ServerName("127.0.0.1", True))
    policy.verify_server(chain, ServerName("elsewhere.example", False))  # name not checked
    policy.verify_server(chain, None)
    with pytest.raises(CertificateValidationError, match="subjectAltName"):
        policy.verify_server(chain, ServerName("elsewhere.example", True))
    with pytest.raises(CertificateValidationError):
        ChainPolicy(TrustStore.from_buffer(other_ca.cert_pem.bytes()), "test").verify_server(
            chain, ServerName("localhost", True)
        )
    with pytest.raises(CertificateValidationError, match="no certificate"):
        policy.verify_server([], None)
    with pytest.raises(CertificateValidationError, match="malformed"):
        policy.verify_server([b"\x30\x03\x02\x01\x00"], None)


def test_security_level_gaps(pki: PKI) -> None:
    gaps = SecurityLevelGaps()
    gaps.verify(_der_chain(pki.server), None, False)
    ca_der = _der_chain(pki.server)[-1] if len(_der_chain(pki.server)) > 1 else None
    root = x509.load_pem_x509_certificate(pki.ca.cert_pem.bytes()).public_bytes(Encoding.DER)
    with pytest.raises(CertificateValidationError, match="CA certificate"):
        gaps.verify([ca_der or root], None, False)
    with pytest.raises(CertificateValidationError, match="no certificate"):
        gaps.verify([], None, False)
    with pytest.raises(CertificateValidationError, match="malformed"):
        gaps.verify([_der_chain(pki.server)[0], b"\x30\x00"], None, False)


def test_ec_curve_oid() -> None:
    ec_leaf = trustme.CA(key_type=trustme.KeyType.ECDSA).issue_cert("localhost")
    rsa_leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "localhost", key_type=trustme.KeyType.RSA
    )
    assert ec_curve_oid(_der_chain(ec_leaf)[0]) in ("1.2.840.10045.3.1.7", "1.3.132.0.34")
    assert ec_curve_oid(_der_chain(rsa_leaf)[0]) is None
    with pytest.raises(ValueError):
        ec_curve_oid(b"\x30\x03\x02\x01\x00")
