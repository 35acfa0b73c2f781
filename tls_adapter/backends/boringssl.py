"""The BoringSSL backend, through ``utls`` (``pip install 'tls_adapter[boringssl]'``).

``utls`` gives BoringSSL an ``ssl``-module shape, so this backend is the shared engine
(``_sslmodule.py``) plus the quirks below. Buffers are ``utls`` ``SSLObject``s over
``ssl.MemoryBIO``; sockets go through the generic pump (utls's own socket raises
``BlockingIOError`` where ``ssl`` raises ``SSLWantReadError``).

What utls cannot do, and how this backend deals with it:

* A server cannot report the client's certificate: on the server side utls returns the
  peer chain *without* the leaf (BoringSSL's ``SSL_get_peer_cert_chain``), so
  ``getpeercert(True)`` gives the client's CA, or nothing. Client certificates are
  therefore not requested: a server configuration with ``trust_store`` raises
  ``ConfigurationError``. Everything else on the server side works.
* The ``sni_callback`` attribute is ignored by utls; ``set_servername_callback()`` is
  used instead.
* TLS 1.3 suites cannot be restricted: BoringSSL's three TLS 1.3 suites must all be
  allowed, or TLS 1.3 switched off (``ConfigurationError`` otherwise).
* A handshake that fails before any certificate was checked (a fatal alert, no shared
  cipher or version) surfaces in utls as ``SSLCertVerificationError`` with
  ``X509_V_ERR_INVALID_CALL`` (65): that is a :class:`TLSError`, not a certificate
  failure.
"""

from __future__ import annotations

import re
import ssl
from typing import Any

import utls
from utls import _utls as _core

from .._ciphers import CipherSuite
from .._trust import Certificate, PrivateKey, TrustStore
from . import Backend, Capabilities
from . import _sslmodule as _engine
from ._system import OS_VERIFIER

__all__ = ["BACKEND"]

# X509_V_OK, and X509_V_ERR_INVALID_CALL: what BoringSSL reports when no verification ran.
_NOT_VERIFIED = (None, 0, 65)
# utls says only "certificate verification failed" for these X509_V_ERR_* codes.
_GENERIC = "certificate verification failed"
_VERIFY_TEXT = {
    62: "hostname mismatch",
    63: "email address mismatch",
    64: "IP address mismatch",
}
# BoringSSL's TLS 1.3 suites: always all enabled, in every build.
_TLS13_SUITES = frozenset(
    {
        CipherSuite.TLS_AES_128_GCM_SHA256,
        CipherSuite.TLS_AES_256_GCM_SHA384,
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    }
)


class _BoringSSLFlavour(_engine.Flavour):
    """utls: BoringSSL with an ``ssl``-module face."""

    name = "boringssl"
    client_auth = False
    extra_errors = (_core.CoreError,)
    load_errors = (ssl.SSLError, ValueError)

    def tls13_suites(self) -> frozenset[int]:
        """BoringSSL's TLS 1.3 suites (utls's ``get_ciphers()`` reports the stdlib's)."""
        return frozenset(int(s) for s in _TLS13_SUITES)

    def strict_verification(self, ctx: Any) -> None:
        """Any trusted certificate may anchor a chain (partial chains), as with OpenSSL."""
        ctx.verify_flags |= self.module.VERIFY_X509_PARTIAL_CHAIN

    def install_sni_callback(self, ctx: Any, callback: Any) -> None:
        """utls ignores the ``sni_callback`` attribute; this is its working hook."""
        ctx.set_servername_callback(callback)

    def certificate_failure(self, exc: ssl.SSLCertVerificationError) -> str | None:
        """Only a real ``X509_V_ERR_*`` code is a certificate failure."""
        code = getattr(exc, "verify_code", None)
        if code in _NOT_VERIFIED:
            return None
        message = exc.verify_message or _engine.describe(exc)
        if message == _GENERIC:
            return _VERIFY_TEXT.get(code, f"{message} (X509_V_ERR {code})")
        return message

    def peer_certificate(self, obj: Any, server_side: bool) -> bytes | None:
        """The client side's view; a server never requests a client certificate."""
        if server_side:
            return None
        return super().peer_certificate(obj, server_side)


_FLAVOUR = _BoringSSLFlavour(utls)


class BoringSSLBuffer(_engine.SSLModuleBuffer):
    """A TLS connection over memory buffers: a utls ``SSLObject`` and two ``ssl.MemoryBIO``."""


class BoringSSLClientContext(_engine.SSLModuleClientContext):
    """A client context whose utls ``SSLContext`` is built once, here."""

    _flavour = _FLAVOUR
    _buffer_type = BoringSSLBuffer


class BoringSSLServerContext(_engine.SSLModuleServerContext):
    """A server context whose utls ``SSLContext`` is built once (no client auth)."""

    _flavour = _FLAVOUR
    _buffer_type = BoringSSLBuffer


def _library() -> str:
    found = re.search(r"boring-sys [0-9.]+", utls.OPENSSL_VERSION)
    build = f" ({found.group(0)})" if found else ""
    return f"BoringSSL{build} via utls {utls.__version__}"


def _capabilities() -> Capabilities:
    return _FLAVOUR.capabilities(
        library=_library(),
        system_trust="system CA bundle and directory (as OpenSSL finds them: SSL_CERT_FILE "
        "and SSL_CERT_DIR are honoured), loaded per context"
        if not OS_VERIFIER
        else "OS store via wassima, loaded per context",
        notes=(
            "server: client certificates cannot be required: utls cannot report the "
            "client's leaf certificate, so trust_store on a server configuration raises "
            "ConfigurationError",
            "TLS 1.3 suites cannot be restricted: BoringSSL's three TLS 1.3 suites must "
            "all be allowed",
            "only TLS 1.2 and 1.3",
            "ALPN identifiers must be ASCII",
            "sni_callback can switch the certificate chain; other fields keep their values",
        ),
    )


#: The BoringSSL backend (utls).
BACKEND = Backend(
    client_context=BoringSSLClientContext,
    server_context=BoringSSLServerContext,
    certificate=Certificate,
    private_key=PrivateKey,
    trust_store=TrustStore,
    name="boringssl",
    capabilities=_capabilities(),
)
