"""OpenSSL's certificate verification codes: what a failed validation was about.

:attr:`~tls_adapter.CertificateValidationError.verify_code` carries one of these, in
OpenSSL 3.0's ``X509_V_ERR_*`` numbering (``openssl/x509_vfy.h``), the numbers
``ssl.SSLCertVerificationError.verify_code`` carries, so the urllib3 shim passes it on
unchanged. Every backend sets the code where its library (or the validation policy)
says what failed, and leaves it ``None`` where it cannot tell; nothing here matches
text.

This is the one table of the numbers: backends name them, never spell them.

Libraries that follow OpenSSL's numbering but kept the numbers OpenSSL 3.0 changed
(BoringSSL, wolfSSL's compatibility layer, OpenSSL 1.1) are mapped with
:func:`from_legacy`.
"""

from __future__ import annotations

import enum

__all__ = ["VerifyCode", "describe", "from_legacy"]


class VerifyCode(enum.IntEnum):
    """``X509_V_ERR_*`` codes of OpenSSL 3.0 that backends report (``x509_vfy.h``)."""

    UNSPECIFIED = 1
    UNABLE_TO_GET_ISSUER_CERT = 2
    CERT_SIGNATURE_FAILURE = 7
    CERT_NOT_YET_VALID = 9
    CERT_HAS_EXPIRED = 10
    DEPTH_ZERO_SELF_SIGNED_CERT = 18
    SELF_SIGNED_CERT_IN_CHAIN = 19
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
    UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
    CERT_CHAIN_TOO_LONG = 22
    CERT_REVOKED = 23
    #: OpenSSL 1.1 (and BoringSSL, wolfSSL) used 24 for INVALID_CA; 3.0 moved that to 79.
    NO_ISSUER_PUBLIC_KEY = 24
    PATH_LENGTH_EXCEEDED = 25
    INVALID_PURPOSE = 26
    CERT_UNTRUSTED = 27
    CERT_REJECTED = 28
    KEYUSAGE_NO_CERTSIGN = 32
    UNHANDLED_CRITICAL_EXTENSION = 34
    INVALID_NON_CA = 37
    KEYUSAGE_NO_DIGITAL_SIGNATURE = 39
    INVALID_EXTENSION = 41
    PERMITTED_VIOLATION = 47
    EXCLUDED_VIOLATION = 48
    UNSUPPORTED_CONSTRAINT_TYPE = 51
    UNSUPPORTED_CONSTRAINT_SYNTAX = 52
    UNSUPPORTED_NAME_SYNTAX = 53
    HOSTNAME_MISMATCH = 62
    EMAIL_MISMATCH = 63
    IP_ADDRESS_MISMATCH = 64
    EE_KEY_TOO_SMALL = 66
    CA_KEY_TOO_SMALL = 67
    CA_MD_TOO_WEAK = 68
    STORE_LOOKUP = 70
    INVALID_CA = 79
    KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA = 82


#: OpenSSL 3.0's words for each code (``X509_verify_cert_error_string``), for backends
#: whose library says what failed by a number or in words of its own.
_TEXT: dict[int, str] = {
    VerifyCode.UNSPECIFIED: "unspecified certificate verification error",
    VerifyCode.UNABLE_TO_GET_ISSUER_CERT: "unable to get issuer certificate",
    VerifyCode.CERT_SIGNATURE_FAILURE: "certificate signature failure",
    VerifyCode.CERT_NOT_YET_VALID: "certificate is not yet valid",
    VerifyCode.CERT_HAS_EXPIRED: "certificate has expired",
    VerifyCode.DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
    VerifyCode.SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in certificate chain",
    VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unable to get local issuer certificate",
    VerifyCode.UNABLE_TO_VERIFY_LEAF_SIGNATURE: "unable to verify the first certificate",
    VerifyCode.CERT_CHAIN_TOO_LONG: "certificate chain too long",
    VerifyCode.CERT_REVOKED: "certificate revoked",
    VerifyCode.NO_ISSUER_PUBLIC_KEY: "issuer certificate doesn't have a public key",
    VerifyCode.PATH_LENGTH_EXCEEDED: "path length constraint exceeded",
    VerifyCode.INVALID_PURPOSE: "unsuitable certificate purpose",
    VerifyCode.CERT_UNTRUSTED: "certificate not trusted",
    VerifyCode.CERT_REJECTED: "certificate rejected",
    VerifyCode.KEYUSAGE_NO_CERTSIGN: "key usage does not include certificate signing",
    VerifyCode.UNHANDLED_CRITICAL_EXTENSION: "unhandled critical extension",
    VerifyCode.INVALID_NON_CA: "invalid non-CA certificate (has CA markings)",
    VerifyCode.KEYUSAGE_NO_DIGITAL_SIGNATURE: "key usage does not include digital signature",
    VerifyCode.INVALID_EXTENSION: "invalid or inconsistent certificate extension",
    VerifyCode.PERMITTED_VIOLATION: "permitted subtree violation",
    VerifyCode.EXCLUDED_VIOLATION: "excluded subtree violation",
    VerifyCode.UNSUPPORTED_CONSTRAINT_TYPE: "unsupported name constraint type",
    VerifyCode.UNSUPPORTED_CONSTRAINT_SYNTAX: "unsupported or invalid name constraint syntax",
    VerifyCode.UNSUPPORTED_NAME_SYNTAX: "unsupported or invalid name syntax",
    VerifyCode.HOSTNAME_MISMATCH: "hostname mismatch",
    VerifyCode.EMAIL_MISMATCH: "email address mismatch",
    VerifyCode.IP_ADDRESS_MISMATCH: "IP address mismatch",
    VerifyCode.EE_KEY_TOO_SMALL: "EE certificate key too weak",
    VerifyCode.CA_KEY_TOO_SMALL: "CA certificate key too weak",
    VerifyCode.CA_MD_TOO_WEAK: "CA signature digest algorithm too weak",
    VerifyCode.STORE_LOOKUP: "issuer certificate lookup error",
    VerifyCode.INVALID_CA: "invalid CA certificate",
    VerifyCode.KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA: "key usage keyCertSign invalid for non-CA cert",
}


def describe(code: int | None) -> str | None:
    """OpenSSL 3.0's words for *code* (e.g. ``"certificate has expired"``), or ``None``."""
    return None if code is None else _TEXT.get(code)


#: The numbers OpenSSL 3.0 changed, in the numbering before it.
_LEGACY = {24: VerifyCode.INVALID_CA}


def from_legacy(code: int) -> int:
    """*code* in pre-3.0 OpenSSL numbering (24 meant INVALID_CA) as OpenSSL 3.0 numbers it."""
    return int(_LEGACY.get(code, code))
