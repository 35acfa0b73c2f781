"""The rustls backend, through ``rtls`` (``pip install 'tls_adapter[rustls]'``).

``rtls`` gives rustls an ``ssl``-module shape, so this backend is the shared engine
(``_sslmodule.py``) plus the quirks below. Buffers are ``rtls`` ``SSLObject``s over
``ssl.MemoryBIO``; sockets go through the generic pump (rtls's own ``TLSSocket``
reads ahead past the records a read needs and never reports the peer's
``close_notify``: see the capability notes).

What rtls cannot do, and how this backend deals with it:

* A server never asks for a client certificate (``verify_mode`` is ignored on the
  server side) and never calls an SNI callback, so a server configuration with
  ``trust_store`` or ``sni_callback`` raises ``ConfigurationError``.
* TLS 1.3 suites cannot be restricted: the three rustls TLS 1.3 suites must all be
  allowed, or TLS 1.3 switched off (``ConfigurationError`` otherwise).
* ``wrap_bio(server_hostname=None)`` silently sends and checks ``"localhost"``. For
  ``server_hostname=None`` this backend uses a context with hostname checking off and
  passes an IP literal, for which rustls sends no SNI; the chain is still validated.
* rtls reports neither the peer's ``close_notify`` nor EOF during the handshake. The
  backend asks the rustls connection itself (``wants_read()`` is false once the peer's
  ``close_notify`` was processed) and stops a handshake whose transport is at EOF.
* ``write()`` may take only part of the data (64 KiB); the short count is returned.
* A key that does not match its certificate is found only when a connection is made,
  so the context makes one throwaway connection when it is built.
* No session resumption: rtls exposes none, and it builds a rustls ``ClientConfig``
  per connection, so rustls's own session store (keyed by server name alone) never
  outlives a connection. Were rtls to share one config per context, rustls would
  resume by itself, out of tls_adapter's sight: ``tests/backends/
  test_resumption_bindings.py`` checks that a server never sees a resumed handshake.
"""

from __future__ import annotations

import contextlib
import ssl
from typing import Any

import rtls

from .._ciphers import CipherSuite
from .._errors import CertificateValidationError
from .._system import OS_VERIFIER, find_system_ca
from .._verify_codes import VerifyCode
from . import Capabilities, _make_backend
from . import _sslmodule as _engine

__all__ = ["BACKEND"]

# rustls sends no SNI for an IP literal; with hostname checking off it checks no name.
_NO_NAME = "0.0.0.0"
_DRAIN = 65536
# rtls turns rustls's typed certificate error (rustls::CertificateError, webpki's inside
# Other) into text and always reports verify_code 0, so the variant, named in that
# text, is all there is to go by: (the variant's name or its Display prefix, plain words
# for a bare name or None, the X509_V_ERR_* code or None). The first one found wins.
_WEBPKI: tuple[tuple[str, str | None, int | None], ...] = (
    ("ExpiredRevocationList", None, None),  # before "Expired"
    ("certificate expired", None, VerifyCode.CERT_HAS_EXPIRED),
    ("Expired", None, VerifyCode.CERT_HAS_EXPIRED),
    ("certificate not valid yet", None, VerifyCode.CERT_NOT_YET_VALID),
    ("NotValidYet", None, VerifyCode.CERT_NOT_YET_VALID),
    # A DNS name or an IP address: RustlsBuffer tells which.
    ("certificate not valid for name", None, VerifyCode.HOSTNAME_MISMATCH),
    ("NotValidForName", None, VerifyCode.HOSTNAME_MISMATCH),
    (
        "UnknownIssuer",
        "unable to get local issuer certificate",
        VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    ),
    (
        "CaUsedAsEndEntity",
        "a CA certificate was presented as the end-entity certificate of the chain",
        VerifyCode.INVALID_NON_CA,
    ),
    (
        "BadSignature",
        "a certificate signature in the chain is invalid",
        VerifyCode.CERT_SIGNATURE_FAILURE,
    ),
    ("certificate does not allow extended key usage", None, VerifyCode.INVALID_PURPOSE),
    ("InvalidPurpose", "certificate is not valid for this purpose", VerifyCode.INVALID_PURPOSE),
    ("Revoked", "certificate is revoked", VerifyCode.CERT_REVOKED),
    ("PathLenConstraintViolated", None, VerifyCode.PATH_LENGTH_EXCEEDED),
    ("UnsupportedCriticalExtension", None, VerifyCode.UNHANDLED_CRITICAL_EXTENSION),
    # webpki does not say whether a permitted or an excluded subtree was violated.
    ("NameConstraintViolation", None, VerifyCode.PERMITTED_VIOLATION),
)


def _webpki_error(reason: str) -> tuple[str | None, int | None]:
    """Plain words and the ``X509_V_ERR_*`` code for rustls's error in *reason*."""
    for name, gloss, code in _WEBPKI:
        if name in reason:
            return gloss, code
    return None, None


def _record_size(data: memoryview) -> int:
    """The size of the complete TLS record at the start of *data*, or 0."""
    if len(data) < 5:
        return 0
    size = 5 + int.from_bytes(data[3:5], "big")
    return size if len(data) >= size else 0


def _conn_api_available() -> bool:
    """Whether rtls's connection object has what close_notify detection needs."""
    from rtls import _rustls

    needed = ("wants_read", "read_tls", "process_new_packets", "read_plaintext")
    return all(
        hasattr(cls, n)
        for cls in (_rustls.RustlsClientConnection, _rustls.RustlsServerConnection)
        for n in needed
    )


class _RustlsFlavour(_engine.Flavour):
    """rtls: rustls with an ``ssl``-module face."""

    name = "rustls"
    sni_callback = False
    client_auth = False
    implicit_handshake = False
    load_errors = (ssl.SSLError, ValueError)
    # webpki accepts keyCertSign on a leaf, and an anchor's unknown critical extensions.
    policy = True

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        self.clean_close = _conn_api_available()

    def peer_chain(self, obj: Any) -> list[bytes]:
        """The presented chain (rtls's certificates take no encoding argument)."""
        return [bytes(c.public_bytes()) for c in obj.get_unverified_chain() or ()]

    def tls13_suites(self) -> frozenset[int]:
        """The TLS 1.3 suites rustls offers (rtls lists them, with ids of 0, by name)."""
        probe = self.module.SSLContext(self.module.PROTOCOL_TLS_CLIENT)
        return frozenset(
            int(CipherSuite[c["name"]])
            for c in probe.get_ciphers()
            if c["protocol"] == "TLSv1.3" and c["name"] in CipherSuite.__members__
        )

    def load_system_trust(self, ctx: Any, purpose: ssl.Purpose) -> None:
        """The system bundle; the CA directory only if there is no bundle or SSL_CERT_DIR.

        rtls reads every ``*.pem``, ``*.crt`` and ``*.0`` file of a directory eagerly (each
        CA three times in Debian's ``/etc/ssl/certs``, plus the bundle itself), where
        OpenSSL looks certificates up by hash. OpenSSL's compiled-in directory holds the
        same CAs as the system bundle, so it is read only when no bundle was found;
        a directory named by ``SSL_CERT_DIR`` is always read.
        """
        if OS_VERIFIER:  # pragma: no cover - macOS/Windows: wassima's OS store
            super().load_system_trust(ctx, purpose)
            return
        found = find_system_ca()
        if found.cafile is not None:
            ctx.load_verify_locations(cafile=found.cafile)
        default_dir = ssl.get_default_verify_paths().openssl_capath
        if found.capath is not None and (found.cafile is None or found.capath != default_dir):
            ctx.load_verify_locations(capath=found.capath)

    def check_native(self, ctx: Any, server_side: bool) -> None:
        """rtls finds a key that does not match its certificate only per connection."""
        ctx.wrap_bio(
            ssl.MemoryBIO(),
            ssl.MemoryBIO(),
            server_side=server_side,
            server_hostname=None if server_side else _NO_NAME,
        )

    def bio_hostname(self, ctx: Any, server_side: bool, server_hostname: str | None) -> str | None:
        """Never let rtls default the name to ``"localhost"``."""
        if not server_side and server_hostname is None:
            # Only reached with the no-hostname-check context (ServerName.check is
            # false for None): an IP literal means no SNI and, there, no name check.
            assert not ctx.check_hostname
            return _NO_NAME
        return server_hostname

    def certificate_failure(self, exc: ssl.SSLCertVerificationError) -> str | None:
        """rtls leaves ``verify_message`` empty; its text (glossed) is the reason."""
        reason = exc.verify_message or _engine.describe(exc)
        gloss, _ = _webpki_error(reason)
        return f"{reason} ({gloss})" if gloss else reason

    def verify_code(self, exc: ssl.SSLCertVerificationError) -> int | None:
        """The code of the rustls error rtls names in its text (its own code is 0)."""
        code = super().verify_code(exc)
        if code is not None and code != VerifyCode.UNSPECIFIED:
            return code
        return _webpki_error(exc.verify_message or _engine.describe(exc))[1] or code

    def peer_closed(self, obj: Any) -> bool:
        """rustls's ``wants_read()`` turns false once the peer's close_notify is processed.

        Called only after the handshake, when a read produced no data (so no decrypted
        data is waiting, the other reason ``wants_read()`` is false).
        """
        if not self.clean_close:
            return False
        conn = getattr(obj, "_conn", None)
        return conn is not None and not conn.wants_read()

    def shutdown(self, obj: Any, incoming: ssl.MemoryBIO, first: bool) -> None:
        """Send close_notify, then read (and drop) records until the peer's arrives.

        rtls's own ``read()`` refuses to run after ``unwrap()``, so records are fed to
        the rustls connection directly, one at a time: bytes after the peer's
        close_notify are not TLS (e.g. plaintext after STARTTLS-style unwrapping) and
        stay in *incoming*.
        """
        if first:
            obj.unwrap()
        if not self.clean_close:
            return  # cannot see the peer's close_notify: ours is sent, that is all
        conn = obj._conn
        data = memoryview(incoming.read())
        try:
            while True:
                while conn.read_plaintext(_DRAIN):  # data after our close_notify is dropped
                    pass
                if not conn.wants_read():
                    return  # the peer's close_notify was processed
                size = _record_size(data)
                if not size:
                    break
                record, data = data[:size], data[size:]
                while record:
                    record = record[conn.read_tls(bytes(record)) :]
                conn.process_new_packets()
        finally:
            if data:
                with contextlib.suppress(ssl.SSLError):  # after write_eof(): nowhere to go
                    incoming.write(data)
        if incoming.eof:
            raise ssl.SSLEOFError("EOF before the peer's close_notify")
        raise ssl.SSLWantReadError("waiting for the peer's close_notify")

    def peer_certificate(self, obj: Any, server_side: bool) -> bytes | None:
        """The client side's view; a server never requests a client certificate."""
        if server_side:
            return None
        return super().peer_certificate(obj, server_side)


_FLAVOUR = _RustlsFlavour(rtls)


class RustlsBuffer(_engine.SSLModuleBuffer):
    """A TLS connection over memory buffers: an rtls ``SSLObject`` and two ``ssl.MemoryBIO``."""

    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""
        try:
            super().do_handshake()
        except CertificateValidationError as e:
            # rustls has one error for a DNS name and an IP address that do not match.
            name = self._name
            if (
                e.verify_code == VerifyCode.HOSTNAME_MISMATCH
                and name is not None
                and name.ip is not None
            ):
                e.verify_code = int(VerifyCode.IP_ADDRESS_MISMATCH)
            raise


class RustlsClientContext(_engine.SSLModuleClientContext):
    """A client context whose rtls ``SSLContext`` is built once, here."""

    _flavour = _FLAVOUR
    _buffer_type = RustlsBuffer


class RustlsServerContext(_engine.SSLModuleServerContext):
    """A server context whose rtls ``SSLContext`` is built once (no client auth, no SNI hook)."""

    _flavour = _FLAVOUR
    _buffer_type = RustlsBuffer


def _capabilities() -> Capabilities:
    notes = [
        "server: client certificates cannot be required (rtls ignores verify_mode on "
        "servers): trust_store on a server configuration raises ConfigurationError",
        "server: sni_callback is never called by rtls: raises ConfigurationError",
        "TLS 1.3 suites cannot be restricted: the three rustls TLS 1.3 suites must all be allowed",
        "only TLS 1.2 and 1.3, and only ECDHE with AES-GCM or ChaCha20-Poly1305",
        "ALPN identifiers must be ASCII; a server with ALPN refuses a client that offers "
        "none of its protocols (no_application_protocol), as RFC 7301 says",
        "server_hostname=None uses an IP literal placeholder with hostname checking off, "
        "so no SNI is sent and the chain is still validated",
        "the peer's close_notify is read from the rustls connection inside rtls "
        "(rtls does not report it); write() may accept only part of the data",
        "sockets use the generic pump, not rtls's own TLSSocket: that reads 64 KiB ahead "
        "and never reports the peer's close_notify, so a pooled connection the server "
        "has closed still looks alive to urllib3 and a body that ends at connection "
        "close never ends; its non-blocking send() and close() busy-loop and unwrap() "
        "returns a socket with TLS records still unread",
        "no session resumption: rtls has no session API (wrap_bio takes no session, "
        "SSLObject.session is always None) and builds a new rustls configuration, with "
        "its own session store, for every connection, so connections never resume by "
        "themselves either; wrap_socket(session=...) raises ConfigurationError",
    ]
    if not _FLAVOUR.clean_close:  # pragma: no cover - an rtls without the connection API
        notes.append(
            "close_notify cannot be told from EOF with this rtls: a clean close reads as "
            "RaggedEOF, and unwrap() does not wait for the peer's close_notify"
        )
    return _FLAVOUR.capabilities(
        library=f"{rtls.OPENSSL_VERSION} (rtls {rtls.__version__})",
        system_trust="system CA bundle and directory (as OpenSSL finds them: SSL_CERT_FILE "
        "and SSL_CERT_DIR are honoured), loaded per context"
        if not OS_VERIFIER
        else "OS store via wassima, loaded per context",
        notes=tuple(notes),
    )


#: The rustls backend (rtls).
BACKEND = _make_backend("rustls", RustlsClientContext, RustlsServerContext, _capabilities())
