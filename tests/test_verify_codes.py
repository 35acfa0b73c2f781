"""``CertificateValidationError.verify_code``: what failed, as OpenSSL numbers it.

For a handful of certificate failures every available backend, as a client, must raise
:class:`CertificateValidationError` whose ``verify_code`` is the ``X509_V_ERR_*`` code
the stdlib :mod:`ssl` module (OpenSSL 3) reports for the same failure, and the urllib3
shim's ``ssl.SSLCertVerificationError`` must carry that code too. Where a backend's
library cannot tell, :data:`ALLOWED` says what it reports instead, and why.

The servers are the stdlib-based ``openssl`` backend, in memory, presenting chains from
:mod:`tests.misissued`. The validation policy's own codes (the one table that maps
``cryptography``'s messages) are checked chain by chain without a handshake.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import tls_adapter
from tls_adapter import (
    Certificate,
    CertificateValidationError,
    PrivateKey,
    TLSConfiguration,
    TLSError,
    TrustStore,
)
from tls_adapter._api import ServerName
from tls_adapter._policy import ChainPolicy
from tls_adapter._shim_socket import ssl_error_from
from tls_adapter._verify_codes import VerifyCode, from_legacy
from tls_adapter.urllib3 import SSLContext

from . import misissued
from .peers import drive_handshake


@dataclass(frozen=True)
class Scenario:
    """A chain to serve, the anchors the client trusts, and the name it connects to."""

    case: misissued.Case
    anchors_pem: bytes
    host: str


def _scenario(name: str) -> Scenario:
    if name == "untrusted_root":  # a good chain, but the client trusts another CA
        good = misissued.case("ok_ecdsa_p256_with_intermediate")
        other = misissued.case("ok_rsa2048_direct")
        return Scenario(good, other.anchors_pem, good.host)
    if name == "ip_mismatch":  # a leaf for localhost, reached by an address it lacks
        good = misissued.case("ok_ecdsa_p256_with_intermediate")
        return Scenario(good, good.anchors_pem, "127.0.0.9")
    case = misissued.case(name)
    return Scenario(case, case.anchors_pem, case.host)


#: scenario -> the X509_V_ERR_* code OpenSSL reports (checked against ssl itself below).
EXPECTED: dict[str, int] = {
    "leaf_expired": VerifyCode.CERT_HAS_EXPIRED,  # 10
    "leaf_not_yet_valid": VerifyCode.CERT_NOT_YET_VALID,  # 9
    "wrong_hostname": VerifyCode.HOSTNAME_MISMATCH,  # 62
    "ip_mismatch": VerifyCode.IP_ADDRESS_MISMATCH,  # 64
    "untrusted_root": VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,  # 20
    "eku_client_auth_only": VerifyCode.INVALID_PURPOSE,  # 26
    "path_len_exceeded": VerifyCode.PATH_LENGTH_EXCEEDED,  # 25
}

#: (backend, scenario) -> the codes a backend may report instead, where its library
#: cannot tell what OpenSSL tells (``None``: no code; the shim then says 1, UNSPECIFIED).
ALLOWED: dict[tuple[str, str], set[int | None]] = {
    # GnuTLS has one status bit, SIGNER_CONSTRAINTS_FAILURE, for a violated path length
    # and a violated name constraint alike, so it cannot say which.
    ("gnutls", "path_len_exceeded"): {None, VerifyCode.PATH_LENGTH_EXCEEDED},
    # wolfSSL 5.5.4 does not accept an issuer whose pathLenConstraint is exceeded as a
    # signer at all: it reports that no signer was found (ASN_NO_SIGNER_E).
    ("wolfssl", "path_len_exceeded"): {
        VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        VerifyCode.PATH_LENGTH_EXCEEDED,
    },
    # NSS's libpkix builds no path through an issuer whose pathLenConstraint is exceeded,
    # and reports that no issuer was found (SEC_ERROR_UNKNOWN_ISSUER).
    ("nss", "path_len_exceeded"): {
        VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        VerifyCode.PATH_LENGTH_EXCEEDED,
    },
}


def _allowed(backend: str, scenario: str) -> set[int | None]:
    return ALLOWED.get((backend, scenario), {EXPECTED[scenario]})


@functools.cache
def _server(name: str) -> tls_adapter.ServerContext:
    case = _scenario(name).case
    certs = tuple(
        Certificate.from_buffer(c.public_bytes(serialization.Encoding.PEM))
        for c in x509.load_pem_x509_certificates(case.chain_pem)
    )
    server_context = tls_adapter.get_backend("openssl").server_context
    assert server_context is not None
    chain = (certs, PrivateKey.from_buffer(case.key_pem))
    return server_context(TLSConfiguration(certificate_chain=chain))


def _drive_bio(
    obj: Any, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, server: tls_adapter.TLSWrappedBuffer
) -> None:
    """Run the handshake of a client ``SSLObject`` (the stdlib's or the shim's) against
    *server*, in memory; a certificate failure propagates as the client's exception."""
    for _ in range(30):
        try:
            obj.do_handshake()
            return
        except ssl.SSLWantReadError:
            pass
        data = outgoing.read()
        if data:
            server.receive_from_network(data)
        with contextlib.suppress(TLSError):  # the server's fate is not under test
            server.do_handshake()
        n = server.outgoing_bytes_buffered()
        if n:
            incoming.write(server.peek_outgoing(n))
            server.consume_outgoing(n)
        elif not data:
            incoming.write_eof()
    raise AssertionError("the handshake neither finished nor failed")


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_backend_reports_the_code(backend: tls_adapter.Backend, scenario: str) -> None:
    s = _scenario(scenario)
    context = backend.client_context(
        TLSConfiguration(trust_store=TrustStore.from_buffer(s.anchors_pem))
    )
    outcome = drive_handshake(context.wrap_buffers(s.host), _server(scenario).wrap_buffers())
    error = outcome.client_error
    assert isinstance(error, CertificateValidationError), repr(error)
    assert error.verify_code in _allowed(backend.name, scenario), (error.verify_code, error)
    assert str(error) == f"certificate verify failed: {error.reason}"


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_shim_carries_the_code(backend: tls_adapter.Backend, scenario: str) -> None:
    s = _scenario(scenario)
    ctx = SSLContext(backend=backend)
    ctx.load_verify_locations(cadata=s.anchors_pem.decode("ascii"))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=s.host)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        _drive_bio(obj, incoming, outgoing, _server(scenario).wrap_buffers())
    shim_codes = {code or VerifyCode.UNSPECIFIED for code in _allowed(backend.name, scenario)}
    assert info.value.verify_code in shim_codes, info.value
    assert isinstance(info.value.__cause__, CertificateValidationError)
    backend_code = info.value.__cause__.verify_code
    if scenario not in ("wrong_hostname", "ip_mismatch"):  # the shim names mismatches itself
        assert info.value.verify_code == (backend_code or VerifyCode.UNSPECIFIED)


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_expected_codes_are_the_stdlib_ones(scenario: str) -> None:
    """:data:`EXPECTED` is what :mod:`ssl` itself reports (when it runs on OpenSSL 3)."""
    if not ssl.OPENSSL_VERSION.startswith("OpenSSL 3"):
        pytest.skip(f"ssl runs on {ssl.OPENSSL_VERSION}, not OpenSSL 3")
    s = _scenario(scenario)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=s.anchors_pem.decode("ascii"))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=s.host)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        _drive_bio(obj, incoming, outgoing, _server(scenario).wrap_buffers())
    assert info.value.verify_code == EXPECTED[scenario]


# -- the validation policy: cryptography's verdicts, as codes ---------------------------------
POLICY_CODES = {
    "leaf_expired": VerifyCode.CERT_HAS_EXPIRED,
    "leaf_not_yet_valid": VerifyCode.CERT_NOT_YET_VALID,
    "wrong_hostname": VerifyCode.HOSTNAME_MISMATCH,
    "cn_only_no_san": VerifyCode.HOSTNAME_MISMATCH,
    "missing_intermediate": VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    "eku_client_auth_only": VerifyCode.INVALID_PURPOSE,
    "eku_any_only": VerifyCode.INVALID_PURPOSE,
    "leaf_is_ca": VerifyCode.INVALID_NON_CA,
    "root_without_basic_constraints": VerifyCode.INVALID_CA,
    "path_len_exceeded": VerifyCode.PATH_LENGTH_EXCEEDED,
    "leaf_ku_cert_sign_only": VerifyCode.KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA,
    "leaf_rsa1024": VerifyCode.EE_KEY_TOO_SMALL,
    "leaf_ec_p192": VerifyCode.EE_KEY_TOO_SMALL,
    "intermediate_ec_p224": VerifyCode.CA_KEY_TOO_SMALL,
    "leaf_sha1_signature": VerifyCode.CA_MD_TOO_WEAK,
    "leaf_md5_signature": VerifyCode.CA_MD_TOO_WEAK,
    "leaf_unknown_critical_extension": VerifyCode.UNHANDLED_CRITICAL_EXTENSION,
    "root_unknown_critical_extension": VerifyCode.UNHANDLED_CRITICAL_EXTENSION,
    "nc_dns_outside_permitted": VerifyCode.PERMITTED_VIOLATION,
    "nc_dns_excluded": VerifyCode.EXCLUDED_VIOLATION,
    "nc_ip_excluded": VerifyCode.EXCLUDED_VIOLATION,
    "nc_othername_excluded": VerifyCode.UNSUPPORTED_CONSTRAINT_TYPE,
}


def _presented(case: misissued.Case) -> list[bytes]:
    return [
        c.public_bytes(serialization.Encoding.DER)
        for c in x509.load_pem_x509_certificates(case.chain_pem)
    ]


@pytest.mark.parametrize("name", sorted(POLICY_CODES))
def test_policy_codes(name: str) -> None:
    case = misissued.case(name)
    policy = ChainPolicy(TrustStore.from_buffer(case.anchors_pem), "test")
    with pytest.raises(CertificateValidationError) as info:
        policy.verify_server(_presented(case), ServerName(case.host, True))
    assert info.value.verify_code == POLICY_CODES[name], info.value


def test_policy_ip_mismatch_and_client_purpose() -> None:
    case = misissued.case("ok_ecdsa_p256_with_intermediate")
    policy = ChainPolicy(TrustStore.from_buffer(case.anchors_pem), "test")
    with pytest.raises(CertificateValidationError) as info:
        policy.verify_server(_presented(case), ServerName("127.0.0.9", True))
    assert info.value.verify_code == VerifyCode.IP_ADDRESS_MISMATCH
    # A server certificate offered as a client's: its EKU allows serverAuth only.
    with pytest.raises(CertificateValidationError) as info:
        policy.verify_client(_presented(case))
    assert info.value.verify_code == VerifyCode.INVALID_PURPOSE


# -- the error and the shim's fallback ---------------------------------------------------------
def test_error_carries_a_plain_int_or_none() -> None:
    error = CertificateValidationError("certificate has expired", verify_code=VerifyCode(10))
    assert error.verify_code == 10 and type(error.verify_code) is int
    assert str(error) == "certificate verify failed: certificate has expired"
    assert error.reason == "certificate has expired"
    assert CertificateValidationError("no idea").verify_code is None
    with pytest.raises(TypeError):
        CertificateValidationError("positional", 10)  # type: ignore[call-arg]


def test_shim_maps_from_the_code_not_the_text() -> None:
    # The words say "expired"; the code says what failed, and is what the shim passes on.
    err = ssl_error_from(CertificateValidationError("certificate has expired", verify_code=26))
    assert isinstance(err, ssl.SSLCertVerificationError)
    assert err.verify_code == 26
    assert err.verify_message == "certificate has expired"
    # No code: X509_V_ERR_UNSPECIFIED, whatever the words.
    err = ssl_error_from(CertificateValidationError("certificate has expired"))
    assert isinstance(err, ssl.SSLCertVerificationError)
    assert err.verify_code == VerifyCode.UNSPECIFIED


def test_legacy_numbering() -> None:
    assert from_legacy(24) == VerifyCode.INVALID_CA
    assert int(VerifyCode.INVALID_CA) == 79
    assert from_legacy(10) == 10


def test_codes_match_openssl() -> None:
    """Each code is OpenSSL's own number, where the ``cryptography`` bindings define it."""
    util = pytest.importorskip("OpenSSL._util")
    checked = 0
    for member in VerifyCode:
        value = getattr(util.lib, f"X509_V_ERR_{member.name}", None)
        if value is not None:
            assert value == member.value, member
            checked += 1
    assert checked >= 20
