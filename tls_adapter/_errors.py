"""The exception tree of :mod:`tls_adapter`, and its one warning category.

::

    Exception
     └── TLSError                      any failure of a TLS operation or configuration
          ├── WantReadError            buffer/non-blocking I/O: more input is needed
          ├── WantWriteError           buffer/non-blocking I/O: output must drain first
          ├── RaggedEOF                the peer closed TCP without close_notify
          ├── ConfigurationError       a backend cannot honour a configuration
          └── CertificateValidationError   chain, date or hostname check failed

    UserWarning
     └── SecurityWarning               certificate validation was turned off

Every backend converts its library's exceptions into this tree at one boundary and
chains the original with ``raise ... from``. No backend-specific exception escapes the
public API.
"""

from __future__ import annotations

__all__ = [
    "CertificateValidationError",
    "ConfigurationError",
    "RaggedEOF",
    "SecurityWarning",
    "TLSError",
    "WantReadError",
    "WantWriteError",
]


class TLSError(Exception):
    """The root of every error raised by :mod:`tls_adapter` and its backends."""


class WantReadError(TLSError):
    """No progress is possible until more data arrives from the network.

    Raised only by buffer objects and by non-blocking sockets, and only when the
    operation made no progress at all.
    """


class WantWriteError(TLSError):
    """No progress is possible until buffered outgoing data is sent.

    Raised only by buffer objects and by non-blocking sockets, and only when the
    operation made no progress at all.
    """


class RaggedEOF(TLSError):
    """The transport reached end-of-file without the peer's TLS ``close_notify``.

    The data received so far may be truncated. Protocols that frame their own
    messages (HTTP/1.1 with Content-Length, HTTP/2) can treat this as a normal close.
    """


class ConfigurationError(TLSError):
    """A configuration asks for something the chosen backend cannot do.

    Raised when a context is built (never later, and never as a silent downgrade), or
    when a backend is requested whose library is not installed. The message names the
    option and the backend.
    """


class CertificateValidationError(TLSError):
    """The peer's certificate failed validation (chain, dates, or hostname).

    :param reason: a human-readable reason from the backend, e.g. ``"certificate has
        expired"`` or ``"Hostname mismatch, certificate is not valid for 'example.com'"``.
    :param verify_code: what failed, as OpenSSL 3.0 numbers it (``X509_V_ERR_*`` in
        ``openssl/x509_vfy.h``): the number ``ssl.SSLCertVerificationError.verify_code``
        carries. ``None`` when the backend's library does not say. For example: 9 not
        yet valid, 10 expired; 18 self-signed leaf, 19 self-signed root not trusted, 20
        no trusted issuer (unknown CA), 21 leaf signature not verifiable; 62 hostname
        mismatch, 64 IP address mismatch; 26 unsuitable purpose (extendedKeyUsage); 79
        an issuer is not a CA, 37 the leaf is one, 25 pathLenConstraint exceeded; 34
        unhandled critical extension; 47/48 name constraints (permitted/excluded), 51
        unsupported constraint type; 66/67 leaf/CA key too small, 68 signature digest
        too weak; 7 bad signature, 23 revoked.
    """

    def __init__(self, reason: str, *, verify_code: int | None = None) -> None:
        super().__init__(f"certificate verify failed: {reason}")
        #: The backend's description of what failed.
        self.reason: str = reason
        #: What failed, as an OpenSSL ``X509_V_ERR_*`` number, or ``None`` if unknown.
        self.verify_code: int | None = None if verify_code is None else int(verify_code)


class SecurityWarning(UserWarning):
    """Emitted when a context is built with certificate validation turned off."""
