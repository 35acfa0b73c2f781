"""The BoringSSL backend, through ``utls`` (``pip install 'tls_adapter[boringssl]'``).

``utls`` gives BoringSSL an ``ssl``-module shape, so this backend is the shared engine
(``_sslmodule.py``) plus the quirks below. Buffers are ``utls`` ``SSLObject``s over
``ssl.MemoryBIO``; sockets go through the generic pump (utls's own socket raises
``BlockingIOError`` where ``ssl`` raises ``SSLWantReadError`` and reads ahead past the
records a read needs: see the capability notes).

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
  ``X509_V_ERR_INVALID_CALL`` (65) and the text "certificate verification failed": utls
  drops BoringSSL's error queue, so that is all it says, whatever went wrong. Such a
  failure is a :class:`TLSError`, not a certificate failure. Its message comes from the
  records themselves: each connection notes the plaintext alerts going by during the
  handshake, so a fatal alert either side sent is named; otherwise the message says
  where the handshake stopped. The one case this cannot resolve is a refusal inside the
  server's encrypted TLS 1.3 flight: BoringSSL checks the leaf's keyUsage
  (``digitalSignature``) and parses its key there, before verification runs, and aborts
  with an encrypted alert, as it would for, say, a malformed EncryptedExtensions
  message. That stays a :class:`TLSError` (never a guess at a certificate error), whose
  message says where the handshake stopped.
* Real ``X509_V_ERR_*`` codes are certificate failures; utls gives only its generic text
  for most of them, so the reason carries BoringSSL's own text and the code.
* This BoringSSL build does not implement ``iPAddress`` (or ``otherName``) name
  constraints: a chain whose CA constrains IP addresses is refused with
  ``X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE`` (51) whenever the leaf names an IP address,
  even one the constraint permits (fails closed).
* Session resumption works with TLS 1.2 only. utls's ``SSLObject.session`` is
  BoringSSL's ``SSL_get_session``: in TLS 1.3 that is the handshake's session, which
  never gets the server's ticket (BoringSSL hands each ticket, in a new session, only to
  the ``SSL_CTX_sess_set_new_cb`` callback, which utls does not expose), so offering it
  makes a full handshake. :meth:`BoringSSLBuffer.session` is therefore ``None`` with
  TLS 1.3. utls passes any session to BoringSSL, which does not check where it came
  from; sessions are tagged with the native context that made them and refused
  (``ValueError``) by any other, as the ``openssl`` backend refuses them.
"""

from __future__ import annotations

import re
import ssl
import weakref
from typing import TYPE_CHECKING, Any

import utls
from utls import _utls as _core

from .._ciphers import CipherSuite
from .._enums import TLSVersion
from .._errors import CertificateValidationError, RaggedEOF, TLSError, WantReadError
from .._session import DEFAULT_SESSION_LIFETIME, TLSSession
from .._system import OS_VERIFIER
from .._verify_codes import VerifyCode, from_legacy
from . import Capabilities, _make_backend
from . import _sslmodule as _engine

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["BACKEND"]

# X509_V_OK, and X509_V_ERR_INVALID_CALL: what BoringSSL reports when no verification ran.
_NOT_VERIFIED = (None, 0, 65)
# utls says only "certificate verification failed" for most X509_V_ERR_* codes; these
# texts follow BoringSSL's own (X509_verify_cert_error_string).
_GENERIC = "certificate verification failed"
_VERIFY_TEXT = {
    62: "hostname mismatch",
    63: "email address mismatch",
    64: "IP address mismatch",
}
_X509_V_ERR_TEXT = {
    1: "unspecified certificate verification error",
    2: "unable to get issuer certificate",
    4: "unable to decrypt certificate's signature",
    6: "unable to decode issuer public key",
    13: "format error in certificate's notBefore field",
    14: "format error in certificate's notAfter field",
    29: "subject issuer mismatch",
    30: "authority and subject key identifier mismatch",
    31: "authority and issuer serial number mismatch",
    32: "key usage does not include certificate signing",
    34: "unhandled critical extension",
    37: "invalid non-CA certificate (has CA markings)",
    39: "key usage does not include digital signature",
    41: "invalid or inconsistent certificate extension",
    42: "invalid or inconsistent certificate policy extension",
    43: "no explicit policy",
    45: "unsupported extension feature",
    47: "permitted subtree violation",
    48: "excluded subtree violation",
    49: "name constraints minimum and maximum not supported",
    50: "application verification failure",
    51: "unsupported name constraint type",
    52: "unsupported or invalid name constraint syntax",
    53: "unsupported or invalid name syntax",
    66: "issuer certificate lookup error",
    67: "issuer has name constraints but the leaf has no subjectAltName",
}
# BoringSSL numbers X509_V_ERR_* as OpenSSL 1.1 did (24 is INVALID_CA) and has codes of
# its own from 65 up; these are the OpenSSL 3.0 numbers for them. (65, INVALID_CALL,
# means no verification ran: never a certificate failure here.)
_OPENSSL_CODES = {
    66: VerifyCode.STORE_LOOKUP,
    # NAME_CONSTRAINTS_WITHOUT_SANS: OpenSSL checks the subject CN against the constraint
    # instead, and reports a violation as this.
    67: VerifyCode.PERMITTED_VIOLATION,
}
# What a code means for this backend, when that is more than BoringSSL's text says.
_X509_V_ERR_GAP = {
    51: "this BoringSSL build cannot check iPAddress or otherName name constraints, so "
    "it refuses a chain where one applies to a name the certificate holds",
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
    resumption = True
    client_auth = False
    extra_errors = (_core.CoreError,)
    load_errors = (ssl.SSLError, ValueError)
    # utls exposes no verify flags or security level for SHA-1, weak keys, keyUsage or
    # unknown critical extensions in anchors.
    policy = True

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
            if code in _VERIFY_TEXT:
                return _VERIFY_TEXT[code]
            reason = f"{_X509_V_ERR_TEXT.get(code, message)} (X509_V_ERR {code})"
            gap = _X509_V_ERR_GAP.get(code)
            return f"{reason}: {gap}" if gap else reason
        return message

    def verify_code(self, exc: ssl.SSLCertVerificationError) -> int | None:
        """BoringSSL's code, as OpenSSL 3.0 numbers it."""
        code = super().verify_code(exc)
        if code is None or code in _NOT_VERIFIED:
            return None
        return int(_OPENSSL_CODES.get(code, from_legacy(code)))

    def peer_certificate(self, obj: Any, server_side: bool) -> bytes | None:
        """The client side's view; a server never requests a client certificate."""
        if server_side:
            return None
        return super().peer_certificate(obj, server_side)


_FLAVOUR = _BoringSSLFlavour(utls)


def _alert_name(description: int) -> str:
    try:
        name = ssl.AlertDescription(description).name.removeprefix("ALERT_DESCRIPTION_")
    except ValueError:
        name = "alert"
    return f"{name.lower()} ({description})"


class _Records:
    """Follows one direction of a connection's TLS records during the handshake.

    Notes the last plaintext alert (a 2-byte alert record: encrypted ones are longer, or
    TLS 1.3 application_data records) and whether encrypted records went by. Nothing is
    kept but record headers and alert bodies.
    """

    __slots__ = ("_body", "_head", "_left", "alert", "encrypted")

    def __init__(self) -> None:
        self.alert: tuple[int, int] | None = None
        self.encrypted = False
        self._head = bytearray()
        self._body: bytearray | None = None
        self._left = 0

    def feed(self, data: Buffer) -> None:
        view = memoryview(data).cast("B")
        pos, end = 0, view.nbytes
        while pos < end:
            if self._left:
                take = min(self._left, end - pos)
                if self._body is not None:
                    self._body += view[pos : pos + take]
                self._left -= take
                pos += take
                if not self._left and self._body is not None:
                    self.alert = (self._body[0], self._body[1])
                    self._body = None
                continue
            take = min(5 - len(self._head), end - pos)
            self._head += view[pos : pos + take]
            pos += take
            if len(self._head) == 5:
                kind, length = self._head[0], int.from_bytes(self._head[3:5], "big")
                self._head.clear()
                self.encrypted = self.encrypted or kind == 23
                self._body = bytearray() if kind == 21 and length == 2 else None
                self._left = length


class _Session(utls.SSLSession):
    """A utls session that remembers the native context that made it (``made_by``)."""

    __slots__ = ("made_by",)

    def __init__(self, _handle: Any) -> None:  # as utls's from_der() calls it
        super().__init__(_handle)
        self.made_by: weakref.ref[Any] | None = None


class BoringSSLBuffer(_engine.SSLModuleBuffer):
    """A TLS connection over memory buffers: a utls ``SSLObject`` and two ``ssl.MemoryBIO``.

    It watches the records of the handshake to say why one failed when utls cannot
    (see the module docstring).
    """

    _received: _Records
    _sent: _Records
    _native_ref: weakref.ref[Any]

    @classmethod
    def _create(
        cls,
        context: Any,
        native: Any,
        server_side: bool,
        server_hostname: str | None,
        name: Any = None,
        session: Any = None,
    ) -> _engine.SSLModuleBuffer:
        if session is not None and not (
            isinstance(session.handle, _Session)
            and session.handle.made_by is not None
            and session.handle.made_by() is native
        ):
            raise ValueError(
                "this session was made by another boringssl client context (or "
                "check_hostname setting): it can only be offered by the one that made it"
            )
        self = super()._create(context, native, server_side, server_hostname, name, session)
        assert isinstance(self, BoringSSLBuffer)
        self._native_ref = weakref.ref(native)
        self._received = _Records()
        self._sent = _Records()
        return self

    def session(self) -> TLSSession | None:
        """The session to offer when connecting again: TLS 1.2 only (module docstring)."""
        made = super().session()
        if made is None or made.tls_version is not TLSVersion.TLSv1_2:
            return None
        tagged = _Session.from_der(made.handle.to_der())  # public API only, to tag it
        assert isinstance(tagged, _Session)
        tagged.made_by = self._native_ref
        return TLSSession(made.backend, tagged, made.tls_version, DEFAULT_SESSION_LIFETIME)

    def receive_from_network(self, data: Buffer) -> None:
        """Feed ciphertext from the network; ``b""`` signals transport EOF."""
        if not self._handshake_done:
            self._received.feed(data)
        super().receive_from_network(data)

    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""
        try:
            super().do_handshake()
        except (WantReadError, RaggedEOF, CertificateValidationError):
            raise
        except TLSError as e:
            cause = e.__cause__
            if (
                isinstance(cause, ssl.SSLCertVerificationError)
                and getattr(cause, "verify_code", None) in _NOT_VERIFIED
            ):
                raise TLSError(self._unverified_failure()) from cause
            raise

    def _unverified_failure(self) -> str:
        """Why a handshake failed that utls reports only as "certificate verification
        failed" with no verification result: what the records show."""
        before = len(self._staged)
        self._stage()  # the alert BoringSSL queued, if any, is in the outgoing BIO
        self._sent.feed(self._staged[before:])
        received, sent = self._received.alert, self._sent.alert
        if received is not None and received[0] == 2:
            return f"the peer aborted the handshake with a fatal alert: {_alert_name(received[1])}"
        if sent is not None and sent[0] == 2:
            return f"BoringSSL aborted the handshake with a fatal alert: {_alert_name(sent[1])}"
        if self._received.encrypted:
            return (
                "BoringSSL aborted the handshake while processing the peer's encrypted "
                "handshake messages, before verifying its certificate chain (utls does not "
                "report BoringSSL's reason; it refuses there, for example, a leaf certificate "
                "whose keyUsage lacks digitalSignature or whose key it cannot parse)"
            )
        return "the handshake failed before certificate verification (utls reports no reason)"


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
            "sockets use the generic pump, not utls's own SSLSocket: that one is "
            "blocking-only (non-blocking use raises BlockingIOError, not SSLWantReadError) "
            "and reads 64 KiB ahead, so a close_notify sent right after a response is "
            "swallowed and urllib3 reuses a dead connection; it saves no CPU over the pump",
            "ALPN identifiers must be ASCII",
            "sni_callback can switch the certificate chain; other fields keep their values",
            "name constraints: this BoringSSL build cannot check iPAddress or otherName "
            "constraints; a chain whose CA constrains IP addresses is refused for a leaf "
            "naming an IP address, even a permitted one (CertificateValidationError, "
            "X509_V_ERR 51: fails closed)",
            "a certificate BoringSSL refuses inside the server's encrypted TLS 1.3 flight, "
            "before verification (a leaf whose keyUsage lacks digitalSignature, a key it "
            "cannot parse), fails the handshake with TLSError rather than "
            "CertificateValidationError: utls drops BoringSSL's reason, and there it "
            "cannot be told from a protocol failure (fails closed)",
            "session resumption (client): TLS 1.2 only; with TLS 1.3 session() is None: "
            "utls's session never receives the server's ticket (BoringSSL passes tickets "
            "only to a new-session callback utls does not expose). A session is accepted "
            "only by the client context and check_hostname setting that made it "
            "(ValueError)",
        ),
    )


#: The BoringSSL backend (utls).
BACKEND = _make_backend(
    "boringssl", BoringSSLClientContext, BoringSSLServerContext, _capabilities()
)
