"""A ctypes binding to the system NSS (``libssl3``, ``libnss3``, ``libnspr4``) that runs TLS
over memory.

Theory of operation
===================

Importing this module does nothing. :func:`load` opens the three libraries, declares
the ``argtypes``/``restype`` of every function used here and initialises NSS once per
process with ``NSS_InitContext`` and no database at all (no certificate or key
database, no module database, no built-in roots: ``NSS_INIT_NOCERTDB``,
``NSS_INIT_NOMODDB``, ``NSS_INIT_NOROOTINIT``, read-only): nothing of a user's NSS
database is read or written, and the initialisation is reference-counted, so it
coexists with other users of NSS in the process. ``NSS_SetDomesticPolicy`` then allows
every cipher suite NSS implements; each context enables exactly the suites it wants. A
missing or unusable library raises :class:`ImportError`.

NSS keeps certificates in process-wide state, which this binding never relies on for
a verdict:

* **Trust is per context.** A :class:`Context`'s anchors are temporary certificates
  (``CERT_NewTempCertificate``, never marked trusted) held in the context's own
  ``CERTCertList``. The peer's chain is checked by an ``SSL_AuthCertificateHook``:
  first the context's validation ``policy`` on the chain as presented (bounded; it
  refuses the pathological chains that make NSS's libpkix run without end), then
  ``CERT_PKIXVerifyCert`` with exactly the context's anchors (``cert_pi_trustAnchors``
  with ``cert_pi_useOnlyTrustAnchors``), no revocation fetching, for the key purpose
  of the role (``certificateUsageSSLServer`` or ``SSLClient``), then
  ``CERT_VerifyCertName`` for the name or IP address. NSS's own default hook, which
  would consult process-wide trust, never runs. A refusal sets the NSS error whose
  alert OpenSSL would send (unknown_ca, certificate_expired, ...).
* **Keys are per context.** A private key is imported into NSS's internal slot from
  memory as a session object (``PK11_ImportDERPrivateKeyInfoAndReturnKey`` with
  ``isPerm=PR_FALSE``), referenced only by the context that loaded it and destroyed
  with it. A server's chain goes to ``SSL_ConfigServerCert`` with an explicit
  ``certChain``; a client's is handed out by its ``SSL_GetClientAuthDataHook``.
* **No session cache.** ``SSL_NO_CACHE`` is set on every socket: NSS's client cache
  is process-wide and keyed by the peer's address, so a session it remembered could
  skip a verdict on a later connection.

I/O: every connection is an NSPR I/O layer of our own (``PR_CreateIOLayerStub`` with a
methods table whose ``read``/``recv``/``write``/``send`` and the few other methods NSS
calls are ctypes callbacks), under the SSL layer (``SSL_ImportFD`` with the context's
*model* socket, which carries the options, versions, cipher suites and server
certificates, set once per context). *recv* drains an incoming ``bytearray`` fed by
:meth:`Session.receive`; when it is empty it fails with ``PR_WOULD_BLOCK_ERROR`` (or
returns 0, EOF, after ``receive(b"")``). *send* appends to an outgoing ``bytearray``
and never fails. The callbacks find their connection by the ``PRFileDesc`` address,
in one table shared by every session. The layer claims to be non-blocking, so every
operation that needs peer data fails with ``PR_WOULD_BLOCK_ERROR``, raised here as
:class:`WantRead`.

Attached to a socket instead (``Session(fd=...)``), the layer under SSL is an NSPR
socket on the caller's descriptor (``PR_ImportTCPSocket``, made non-blocking): NSS
calls ``recv``/``send`` itself, one record at a time, and no Python runs per record.
Its methods table is NSPR's with ``shutdown`` made a no-op (a close_notify must not
half-close TCP) and the address queries answered with a placeholder (NSS wants them
only for its session cache, and NSPR has none for a Unix-domain socket); before the
connection is freed, NSPR is handed a descriptor of /dev/null to close in place of the
socket's (:func:`_release_socket_layer`). "Would block" is :class:`WantWrite` for a
write, and for a handshake step when the socket cannot take more, else
:class:`WantRead`; a failed socket raises its :class:`OSError`. NSS returns 0 from a
read both after a close_notify and at an EOF without one: the alert hook
(``SSL_AlertReceivedCallback``) tells which, in both modes.

NSS quirks handled here: ``SSL_ImportFD`` pushes the SSL layer by swapping the two
``PRFileDesc`` structures' contents (so callbacks find their transport through the
layer's ``secret``, not its address); NSS accepts certificates a day before their
notBefore unless ``CERT_SetSlopTime(0)``; it stores an ALPN list with its first
protocol moved last and sends and selects from that order (:meth:`Context.set_alpn`
compensates), and ``SSL_ReconfigFD`` copies that list by pointer (so it lives on each
connection); it calls its SNI hook only for a ClientHello with a server_name
(:func:`client_hello_has_sni` lets the ``sni_callback`` run without one); and it reads
a whole record before looking at its type, so a stream whose first byte is no
handshake or alert record is refused at once.

Callbacks (I/O, certificate, client-auth, SNI, handshake) catch every exception,
park it on the session, return an error to NSS, and the parked exception is raised
once control is back in Python. A session is driven by one thread at a time; separate
sessions may run in separate threads (ctypes releases the GIL while NSS runs, and each
callback re-acquires it).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import itertools
import os
import select
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._policy import PeerCheck, date_failure
from .._verify_codes import VerifyCode, describe
from ._ffi_buffer import MemoryIO, MemoryTransport, connection_error

if TYPE_CHECKING:
    from .._api import ServerName

__all__ = [
    "Context",
    "NSSError",
    "RaggedEOFError",
    "SNICallback",
    "Session",
    "VerifyError",
    "WantRead",
    "WantWrite",
    "implemented_ciphers",
    "library_version",
    "load",
]

# -- constants (NSS 3.x headers) ---------------------------------------------------------
_PR_WOULD_BLOCK_ERROR = -5998
_PR_NOT_IMPLEMENTED_ERROR = -5992
_PR_END_OF_FILE_ERROR = -5938
_PR_DESC_LAYERED = 4
_PR_SOCKOPT_NONBLOCKING = 0
_PR_SHUTDOWN_SEND = 1
_PR_INTERVAL_NO_WAIT = 0

_NSS_INIT_FLAGS = (
    1 | 2 | 4 | 8 | 16 | 32
)  # READONLY NOCERTDB NOMODDB FORCEOPEN NOROOTINIT OPTIMIZESPACE

_SSL_SECURITY = 1
_SSL_REQUEST_CERTIFICATE = 3
_SSL_HANDSHAKE_AS_CLIENT = 5
_SSL_HANDSHAKE_AS_SERVER = 6
_SSL_NO_CACHE = 9
_SSL_REQUIRE_CERTIFICATE = 10
_SSL_ENABLE_SESSION_TICKETS = 18
_SSL_ENABLE_RENEGOTIATION = 20
_SSL_REQUIRE_SAFE_NEGOTIATION = 21
_SSL_ENABLE_FALSE_START = 22
_SSL_ENABLE_ALPN = 26
_SSL_ENABLE_EXTENDED_MASTER_SECRET = 30
_SSL_ENABLE_0RTT_DATA = 33
_SSL_RENEGOTIATE_NEVER = 0
_SSL_REQUIRE_ALWAYS = 1
_SSL_REQUIRE_NEVER = 0
_SSL_SNI_CURRENT_CONFIG_IS_USED = -1
_SSL_SNI_SEND_ALERT = -2
_SSL_NEXT_PROTO_NEGOTIATED = 1
_CONTENT_ALERT = 21
_CONTENT_HANDSHAKE = 22
_SSL_NEXT_PROTO_SELECTED = 3

_CERT_PI_END = 0
_CERT_PI_REVOCATION_FLAGS = 9
_CERT_PI_TRUST_ANCHORS = 11
_CERT_PI_USE_ONLY_TRUST_ANCHORS = 14
_CERTIFICATE_USAGE_SSL_CLIENT = 1
_CERTIFICATE_USAGE_SSL_SERVER = 2
_CERT_USAGE_SSL_CLIENT = 0  # SECCertUsage, not the certificateUsage bit
_SEC_ERROR_LIBRARY_FAILURE = -8191
_KU_ALL = 0xFF

_SSL_ERROR_BAD_CERT_DOMAIN = -12276
_SSL_ERROR_NO_CERTIFICATE = -12285
_SSL_ERROR_BAD_CERTIFICATE = -12284
_SSL_ERROR_RX_UNKNOWN_RECORD_TYPE = -12233
_SSL_ERROR_RX_RECORD_TOO_LONG = -12263
#: What NSS says of a peer whose handshake bytes are no TLS records (an HTTP server's
#: "HTTP/1.1 ..." reads as a record longer than TLS allows).
_NOT_TLS = (_SSL_ERROR_RX_RECORD_TOO_LONG, _SSL_ERROR_RX_UNKNOWN_RECORD_TYPE)
_SEC_ERROR_BASE = -8192
_SEC_ERROR_LIMIT = _SEC_ERROR_BASE + 1000

#: NSS's protocol numbers, and the names :class:`~._ffi_buffer.FFIBuffer` maps.
VERSIONS = {0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}
_VERSION_NUMBERS = {name: number for number, name in VERSIONS.items()}


# -- structures --------------------------------------------------------------------------
class _SECItem(ctypes.Structure):
    _fields_ = (("type", ctypes.c_int), ("data", ctypes.c_void_p), ("len", ctypes.c_uint))


class _CERTCertificateHead(ctypes.Structure):
    """The start of ``CERTCertificate``, up to ``derCert``."""

    _fields_ = (
        ("arena", ctypes.c_void_p),
        ("subjectName", ctypes.c_char_p),
        ("issuerName", ctypes.c_char_p),
        ("signatureWrap", _SECItem * 4),  # CERTSignedData: data, algorithm (2 items), signature
        ("derCert", _SECItem),
    )


class _PRCList(ctypes.Structure):
    pass


_PRCList._fields_ = (("next", ctypes.POINTER(_PRCList)), ("prev", ctypes.POINTER(_PRCList)))


class _CERTCertListNode(ctypes.Structure):
    _fields_ = (("links", _PRCList), ("cert", ctypes.c_void_p), ("appData", ctypes.c_void_p))


class _CERTCertList(ctypes.Structure):
    _fields_ = (("list", _PRCList), ("arena", ctypes.c_void_p))


class _CERTValParamInValue(ctypes.Structure):
    _fields_ = (
        ("scalar", ctypes.c_int64),
        ("pointer", ctypes.c_void_p),
        ("array", ctypes.c_void_p),
        ("arraySize", ctypes.c_int),
    )


class _CERTValInParam(ctypes.Structure):
    _fields_ = (("type", ctypes.c_int), ("value", _CERTValParamInValue))


class _CERTRevocationTests(ctypes.Structure):
    _fields_ = (
        ("number_of_defined_methods", ctypes.c_uint32),
        ("cert_rev_flags_per_method", ctypes.POINTER(ctypes.c_uint64)),
        ("number_of_preferred_methods", ctypes.c_uint32),
        ("preferred_methods", ctypes.c_void_p),
        ("cert_rev_method_independent_flags", ctypes.c_uint64),
    )


class _CERTRevocationFlags(ctypes.Structure):
    _fields_ = (("leafTests", _CERTRevocationTests), ("chainTests", _CERTRevocationTests))


class _CERTCertificateList(ctypes.Structure):
    _fields_ = (
        ("certs", ctypes.POINTER(_SECItem)),
        ("len", ctypes.c_int),
        ("arena", ctypes.c_void_p),
    )


class _SSLExtraServerCertData(ctypes.Structure):
    _fields_ = (
        ("authType", ctypes.c_int),
        ("certChain", ctypes.POINTER(_CERTCertificateList)),
        ("stapledOCSPResponses", ctypes.c_void_p),
        ("signedCertTimestamps", ctypes.c_void_p),
    )


class _SSLVersionRange(ctypes.Structure):
    _fields_ = (("min", ctypes.c_uint16), ("max", ctypes.c_uint16))


class _SSLChannelInfo(ctypes.Structure):
    _fields_ = (
        ("length", ctypes.c_uint32),
        ("protocolVersion", ctypes.c_uint16),
        ("cipherSuite", ctypes.c_uint16),
        ("_middle", ctypes.c_ubyte * (112 - 8)),
        ("resumed", ctypes.c_int),
        ("_rest", ctypes.c_ubyte * (136 - 116)),
    )


class _PRFileDesc(ctypes.Structure):
    _fields_ = (
        ("methods", ctypes.c_void_p),
        ("secret", ctypes.c_void_p),
        ("lower", ctypes.c_void_p),
        ("higher", ctypes.c_void_p),
        ("dtor", ctypes.c_void_p),
        ("identity", ctypes.c_int),
    )


_FN = ctypes.c_void_p  # a method slot
_METHOD_NAMES = [
    "close",
    "read",
    "write",
    "available",
    "available64",
    "fsync",
    "seek",
    "seek64",
    "fileInfo",
    "fileInfo64",
    "writev",
    "connect",
    "accept",
    "bind",
    "listen",
    "shutdown",
    "recv",
    "send",
    "recvfrom",
    "sendto",
    "poll",
    "acceptread",
    "transmitfile",
    "getsockname",
    "getpeername",
    "reserved_fn_6",
    "reserved_fn_5",
    "getsocketoption",
    "setsocketoption",
    "sendfile",
    "connectcontinue",
    "reserved_fn_3",
    "reserved_fn_2",
    "reserved_fn_1",
    "reserved_fn_0",
]


class _PRIOMethods(ctypes.Structure):
    _fields_ = (("file_type", ctypes.c_int), *((name, _FN) for name in _METHOD_NAMES))


# Callback types.
_CLOSE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_READ = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32)
_AVAILABLE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)
_SHUTDOWN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
_RECV = ctypes.CFUNCTYPE(
    ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int, ctypes.c_uint32
)
_ADDR = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_SOCKOPT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_DTOR = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

_AUTH_CERT = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int
)
_CLIENT_AUTH = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_void_p),
    ctypes.POINTER(ctypes.c_void_p),
)
_SNI = ctypes.CFUNCTYPE(
    ctypes.c_int32, ctypes.c_void_p, ctypes.POINTER(_SECItem), ctypes.c_uint32, ctypes.c_void_p
)
_HANDSHAKE_DONE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


class _SSLAlert(ctypes.Structure):
    _fields_ = (("level", ctypes.c_uint8), ("description", ctypes.c_uint8))


_ALERT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(_SSLAlert))
_CIPHER_ORDER = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint16), ctypes.c_uint16
)


# -- errors ------------------------------------------------------------------------------
class WantRead(Exception):
    """More data from the peer is needed."""


class WantWrite(Exception):
    """Never raised over memory (the outgoing buffer takes everything); declared for
    :class:`~._ffi_buffer.FFIErrors`."""


#: Words for NSS's handshake failures, as the other backends say them.
_HANDSHAKE_WORDS = {
    "SSL_ERROR_NO_CYPHER_OVERLAP": "handshake failure: no shared cipher",
    "SSL_ERROR_RX_RECORD_TOO_LONG": "record overflow",
    "SSL_ERROR_UNSUPPORTED_VERSION": "unsupported protocol version",
    "SSL_ERROR_NO_SUPPORTED_SIGNATURE_ALGORITHM": "handshake failure: no suitable signature "
    "algorithm",
    "SSL_ERROR_UNSUPPORTED_SIGNATURE_ALGORITHM": "handshake failure: unsupported signature "
    "algorithm",
    "SSL_ERROR_WEAK_SERVER_CERT_KEY": "handshake failure: the peer's key is too weak",
}


class NSSError(Exception):
    """An NSS failure: ``code`` is the NSPR/NSS error number, ``name`` its symbol."""

    def __init__(self, code: int, context: str) -> None:
        self.code = code
        self.name = error_name(code)
        words = _HANDSHAKE_WORDS.get(self.name)
        detail = f"{words}; {error_text(code)}" if words else error_text(code)
        super().__init__(f"{context}: {self.name} ({detail})")


_B = _SEC_ERROR_BASE
#: NSS's verification errors, as OpenSSL ``X509_V_ERR_*`` codes (whose words, from
#: :func:`~tls_adapter._verify_codes.describe`, lead the reason).
_VERIFY_CODES: dict[int, VerifyCode] = {
    _B + 13: VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,  # SEC_ERROR_UNKNOWN_ISSUER
    _B + 20: VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,  # ..._UNTRUSTED_ISSUER
    _B + 21: VerifyCode.CERT_UNTRUSTED,
    _B + 10: VerifyCode.CERT_SIGNATURE_FAILURE,
    _B + 36: VerifyCode.INVALID_CA,
    _B + 37: VerifyCode.PATH_LENGTH_EXCEEDED,
    _B + 41: VerifyCode.UNHANDLED_CRITICAL_EXTENSION,
    _B + 90: VerifyCode.INVALID_PURPOSE,  # ..._INADEQUATE_KEY_USAGE
    _B + 91: VerifyCode.INVALID_PURPOSE,  # ..._INADEQUATE_CERT_TYPE
    _B + 112: VerifyCode.PERMITTED_VIOLATION,  # ..._CERT_NOT_IN_NAME_SPACE
    _B + 176: VerifyCode.CA_MD_TOO_WEAK,  # ..._CERT_SIGNATURE_ALGORITHM_DISABLED
    _SSL_ERROR_BAD_CERT_DOMAIN: VerifyCode.HOSTNAME_MISMATCH,
    _SSL_ERROR_NO_CERTIFICATE: VerifyCode.UNSPECIFIED,
}
#: "Expired" (of the leaf, or of an issuer), which NSS also says of a certificate
#: whose notBefore is still in the future.
_EXPIRED = (_B + 11, _B + 30)


class VerifyError(NSSError):
    """The peer's certificate was refused: ``reason`` says why, ``verify_code`` is the
    matching OpenSSL ``X509_V_ERR_*`` number (or ``None``).

    *chain* (the presented certificates, DER) tells an expired certificate from one
    not yet valid; *ip_address*, a hostname mismatch from an IP address mismatch.
    """

    def __init__(
        self, code: int, context: str, chain: Sequence[bytes] = (), *, ip_address: bool = False
    ) -> None:
        super().__init__(code, context)
        verify_code: int | None = _VERIFY_CODES.get(code)
        if code == _SSL_ERROR_BAD_CERT_DOMAIN and ip_address:
            verify_code = VerifyCode.IP_ADDRESS_MISMATCH
        elif code in _EXPIRED:
            verify_code = _date_failure(chain)
        words = (
            "the peer sent no certificate"
            if code == _SSL_ERROR_NO_CERTIFICATE
            else describe(verify_code) or error_text(code)
        )
        self.reason = f"{words} ({self.name})"
        self.verify_code = None if verify_code is None else int(verify_code)
        self.args = (f"certificate verify failed: {self.reason}",)


def _date_failure(chain: Sequence[bytes]) -> int:
    """Expired or not yet valid, told apart as the policy does
    (:func:`~tls_adapter._policy.date_failure`)."""
    from cryptography import x509

    certs = []
    for der in chain:
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    return date_failure(certs)


class RaggedEOFError(NSSError):
    """The transport closed without a close_notify."""


# -- the library -------------------------------------------------------------------------
class _Lib:
    """The loaded libraries: ``ssl`` (libssl3), ``nss`` (libnss3), ``nspr`` (libnspr4);
    and the process-wide objects built once."""

    def __init__(self) -> None:
        # use_errno: a connection attached to a socket reports why the socket failed.
        self.nspr = ctypes.CDLL("libnspr4.so", use_errno=True)
        self.nss = ctypes.CDLL("libnss3.so")
        self.ssl = ctypes.CDLL("libssl3.so", use_errno=True)
        self.identity = 0
        self.methods = _PRIOMethods()
        #: NSPR's TCP socket methods with ``shutdown`` made a no-op (built on first use).
        self.socket_methods: _PRIOMethods | None = None
        self.cipher_order: Callable[..., int] | None = None
        self.keep: list[Any] = []


def _declare(lib: _Lib) -> None:
    vp, i, u, c = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_char_p
    table: list[tuple[ctypes.CDLL, str, Any, list[Any]]] = [
        (lib.nspr, "PR_GetError", ctypes.c_int32, []),
        (lib.nspr, "PR_SetError", None, [ctypes.c_int32, ctypes.c_int32]),
        (lib.nspr, "PR_GetUniqueIdentity", i, [c]),
        (lib.nspr, "PR_GetDefaultIOMethods", vp, []),
        (lib.nspr, "PR_CreateIOLayerStub", vp, [i, vp]),
        (lib.nspr, "PR_Close", i, [vp]),
        (lib.nspr, "PR_Recv", ctypes.c_int32, [vp, vp, ctypes.c_int32, i, ctypes.c_uint32]),
        (lib.nspr, "PR_Send", ctypes.c_int32, [vp, vp, ctypes.c_int32, i, ctypes.c_uint32]),
        (lib.nspr, "PR_Shutdown", i, [vp, i]),
        (lib.nspr, "PR_GetVersion", c, []),
        (lib.nspr, "PR_ImportTCPSocket", vp, [i]),
        (lib.nspr, "PR_SetSocketOption", i, [vp, vp]),
        (lib.nspr, "PR_GetIdentitiesLayer", vp, [vp, i]),
        (lib.nspr, "PR_ChangeFileDescNativeHandle", None, [vp, i]),
        (lib.nspr, "PR_ErrorToName", c, [ctypes.c_int32]),
        (lib.nspr, "PR_ErrorToString", c, [ctypes.c_int32, ctypes.c_uint32]),
        (lib.nss, "SECITEM_FreeItem", None, [vp, i]),
        (lib.nss, "NSS_InitContext", vp, [c, c, c, c, vp, u]),
        (lib.nss, "NSS_GetVersion", c, []),
        (lib.nss, "CERT_GetDefaultCertDB", vp, []),
        (lib.nss, "CERT_NewTempCertificate", vp, [vp, ctypes.POINTER(_SECItem), c, i, i]),
        (lib.nss, "CERT_DupCertificate", vp, [vp]),
        (lib.nss, "CERT_DestroyCertificate", None, [vp]),
        (lib.nss, "CERT_NewCertList", vp, []),
        (lib.nss, "CERT_AddCertToListTail", i, [vp, vp]),
        (lib.nss, "CERT_DestroyCertList", None, [vp]),
        (lib.nss, "CERT_CertChainFromCert", vp, [vp, i, i]),
        (lib.nss, "CERT_DestroyCertificateList", None, [vp]),
        (lib.nss, "CERT_PKIXVerifyCert", i, [vp, ctypes.c_int64, vp, vp, vp]),
        (lib.nss, "CERT_VerifyCertName", i, [vp, c]),
        (lib.nss, "CERT_SetSlopTime", i, [ctypes.c_int32]),
        (lib.nss, "PK11_GetInternalSlot", vp, []),
        (lib.nss, "PK11_FreeSlot", None, [vp]),
        (
            lib.nss,
            "PK11_ImportDERPrivateKeyInfoAndReturnKey",
            i,
            [vp, ctypes.POINTER(_SECItem), vp, vp, i, i, u, ctypes.POINTER(vp), vp],
        ),
        (lib.nss, "SECKEY_DestroyPrivateKey", None, [vp]),
        (lib.nss, "SECKEY_CopyPrivateKey", vp, [vp]),
        (lib.ssl, "NSS_SetDomesticPolicy", i, []),
        (lib.ssl, "SSL_ImportFD", vp, [vp, vp]),
        (lib.ssl, "SSL_OptionSet", i, [vp, i, i]),
        (lib.ssl, "SSL_VersionRangeSet", i, [vp, ctypes.POINTER(_SSLVersionRange)]),
        (lib.ssl, "SSL_VersionRangeGetSupported", i, [i, ctypes.POINTER(_SSLVersionRange)]),
        (lib.ssl, "SSL_CipherPrefSet", i, [vp, ctypes.c_int32, i]),
        (lib.ssl, "SSL_GetImplementedCiphers", ctypes.POINTER(ctypes.c_uint16), []),
        (lib.ssl, "SSL_GetExperimentalAPI", vp, [c]),
        (lib.ssl, "SSL_SetURL", i, [vp, c]),
        (lib.ssl, "SSL_SetNextProtoNego", i, [vp, c, u]),
        (lib.ssl, "SSL_GetNextProto", i, [vp, ctypes.POINTER(i), c, ctypes.POINTER(u), u]),
        (lib.ssl, "SSL_AuthCertificateHook", i, [vp, _AUTH_CERT, vp]),
        (lib.ssl, "SSL_GetClientAuthDataHook", i, [vp, _CLIENT_AUTH, vp]),
        (lib.ssl, "SSL_SNISocketConfigHook", i, [vp, _SNI, vp]),
        (lib.ssl, "SSL_HandshakeCallback", i, [vp, _HANDSHAKE_DONE, vp]),
        (lib.ssl, "SSL_AlertReceivedCallback", i, [vp, _ALERT, vp]),
        (lib.ssl, "SSL_ReconfigFD", vp, [vp, vp]),
        (lib.ssl, "SSL_ResetHandshake", i, [vp, i]),
        (lib.ssl, "SSL_ForceHandshake", i, [vp]),
        (lib.ssl, "SSL_DataPending", i, [vp]),
        (lib.ssl, "SSL_GetChannelInfo", i, [vp, ctypes.POINTER(_SSLChannelInfo), u]),
        (lib.ssl, "SSL_PeerCertificate", vp, [vp]),
        (lib.ssl, "SSL_PeerCertificateChain", vp, [vp]),
        (lib.ssl, "SSL_GetNegotiatedHostInfo", ctypes.POINTER(_SECItem), [vp]),
        (
            lib.ssl,
            "SSL_ConfigServerCert",
            i,
            [vp, vp, vp, ctypes.POINTER(_SSLExtraServerCertData), u],
        ),
    ]
    for dll, name, restype, argtypes in table:
        fn = getattr(dll, name)
        fn.restype = restype
        fn.argtypes = argtypes


_loaded: list[_Lib] = []  # the one _Lib, once load() has built it
_load_lock = threading.Lock()


def load() -> _Lib:
    """The libraries, loaded and NSS initialised (once per process).

    :raises ImportError: a library is missing or NSS cannot be initialised.
    """
    if _loaded:
        return _loaded[0]
    with _load_lock:
        if not _loaded:
            _loaded.append(_open())
        return _loaded[0]


def _open() -> _Lib:
    try:
        lib = _Lib()
        _declare(lib)
    except (OSError, AttributeError) as e:
        raise ImportError(f"the system NSS libraries are not usable: {e}") from e
    if not lib.nss.NSS_InitContext(b"", b"", b"", b"", None, _NSS_INIT_FLAGS):
        code = lib.nspr.PR_GetError()
        raise ImportError(f"NSS_InitContext (no database) failed: NSS error {code}")
    if lib.ssl.NSS_SetDomesticPolicy() != 0:
        raise ImportError("NSS_SetDomesticPolicy failed")
    # NSS accepts a certificate up to a day before its notBefore by default.
    lib.nss.CERT_SetSlopTime(0)
    _install_layer(lib)
    order = lib.ssl.SSL_GetExperimentalAPI(b"SSL_CipherSuiteOrderSet")
    if order:
        lib.cipher_order = _CIPHER_ORDER(order)
    return lib


def library_version() -> str:
    """NSS's version, e.g. ``"3.87.1"``."""
    version = load().nss.NSS_GetVersion()
    return version.decode() if version else "unknown"


def error_name(code: int) -> str:
    """The symbol of an NSPR/NSS error number (``SEC_ERROR_UNKNOWN_ISSUER``...)."""
    name = _loaded[0].nspr.PR_ErrorToName(code) if _loaded else None
    return name.decode() if name else f"error {code}"


def error_text(code: int) -> str:
    """NSS's description of an error number."""
    text = _loaded[0].nspr.PR_ErrorToString(code, 0) if _loaded else None
    return text.decode(errors="replace") if text else "unknown error"


def _last_error() -> int:
    return int(_loaded[0].nspr.PR_GetError())


def _check(rc: int, context: str) -> None:
    if rc != 0:
        raise NSSError(_last_error(), context)


# -- the I/O layer -----------------------------------------------------------------------
class _Transport(MemoryTransport):
    """A connection's ciphertext, and what its callbacks report."""

    __slots__ = ("close_notify", "eof_returned", "handshake_done")

    def __init__(self) -> None:
        super().__init__()
        self.eof_returned = False
        self.handshake_done = False
        self.close_notify = False  # the peer's close_notify alert arrived


#: Every live layer's transport, by the number in its ``PRFileDesc``'s ``secret``. (Not
#: by the descriptor's address: ``SSL_ImportFD`` pushes the SSL layer on top by swapping
#: the two structures' contents, so the top keeps the address the bottom had.)
_TRANSPORTS: dict[int, _Transport] = {}
_next_key = itertools.count(1)


def _transport(fd: int | None) -> _Transport | None:
    return _TRANSPORTS.get(_PRFileDesc.from_address(fd).secret or 0) if fd else None


def _set_error(code: int) -> None:
    _loaded[0].nspr.PR_SetError(code, 0)


def _recv(fd: int | None, buf: int | None, amount: int, flags: int = 0, timeout: int = 0) -> int:
    t = _transport(fd)
    if t is None:
        _set_error(_PR_NOT_IMPLEMENTED_ERROR)
        return -1
    incoming = t.incoming
    if not incoming:
        if t.eof:
            t.eof_returned = True
            return 0
        _set_error(_PR_WOULD_BLOCK_ERROR)
        return -1
    n = min(amount, len(incoming))
    (ctypes.c_char * n).from_address(buf or 0).raw = bytes(incoming[:n])
    del incoming[:n]
    return n


def _send(fd: int | None, buf: int | None, amount: int, flags: int = 0, timeout: int = 0) -> int:
    t = _transport(fd)
    if t is None:
        _set_error(_PR_NOT_IMPLEMENTED_ERROR)
        return -1
    if amount > 0:
        t.outgoing += ctypes.string_at(buf or 0, amount)
    return amount


def _read(fd: int | None, buf: int | None, amount: int) -> int:
    return _recv(fd, buf, amount)


def _write(fd: int | None, buf: int | None, amount: int) -> int:
    return _send(fd, buf, amount)


def _available(fd: int | None) -> int:
    t = _transport(fd)
    return 0 if t is None else len(t.incoming)


def _close(fd: int | None) -> int:
    if not fd:
        return -1
    desc = _PRFileDesc.from_address(fd)
    _TRANSPORTS.pop(desc.secret or 0, None)
    if desc.dtor:
        _DTOR(desc.dtor)(fd)
    return 0


def _shutdown(fd: int | None, how: int) -> int:
    return 0


def _name(fd: int | None, addr: int | None) -> int:
    # A PRNetAddr (112 bytes): family AF_INET, address 0.0.0.0, port 0. NSS asks for
    # the peer's address only to key its session cache, which is off.
    if addr:
        ctypes.memset(addr, 0, 112)
        ctypes.c_uint16.from_address(addr).value = 2
    return 0


def _getsockopt(fd: int | None, data: int | None) -> int:
    if not data:
        return -1
    option = ctypes.c_int.from_address(data).value
    ctypes.memset(data + 8, 0, 8)
    if option == _PR_SOCKOPT_NONBLOCKING:
        ctypes.c_int.from_address(data + 8).value = 1  # non-blocking: NSS never waits
    return 0


def _setsockopt(fd: int | None, data: int | None) -> int:
    return 0


def _install_layer(lib: _Lib) -> None:
    """Our methods table: NSPR's defaults, with the methods NSS calls on the layer below
    the SSL layer replaced by callbacks over :data:`_TRANSPORTS`."""
    lib.identity = lib.nspr.PR_GetUniqueIdentity(b"tls_adapter memory")
    ctypes.memmove(
        ctypes.byref(lib.methods), lib.nspr.PR_GetDefaultIOMethods(), ctypes.sizeof(_PRIOMethods)
    )
    m = lib.methods
    m.file_type = _PR_DESC_LAYERED
    slots: dict[str, Any] = {
        "close": _CLOSE(_close),
        "read": _READ(_read),
        "write": _READ(_write),
        "available": _AVAILABLE(_available),
        "shutdown": _SHUTDOWN(_shutdown),
        "recv": _RECV(_recv),
        "send": _RECV(_send),
        "getsockname": _ADDR(_name),
        "getpeername": _ADDR(_name),
        "getsocketoption": _SOCKOPT(_getsockopt),
        "setsocketoption": _SOCKOPT(_setsockopt),
    }
    for name, callback in slots.items():
        setattr(m, name, ctypes.cast(callback, ctypes.c_void_p).value)
        lib.keep.append(callback)


def _new_layer(lib: _Lib, transport: _Transport | None) -> int:
    """A new bottom layer over *transport* (``None``: a model socket's, never read)."""
    fd = lib.nspr.PR_CreateIOLayerStub(lib.identity, ctypes.byref(lib.methods))
    if not fd:
        raise MemoryError("PR_CreateIOLayerStub failed")
    key = next(_next_key)
    _TRANSPORTS[key] = transport if transport is not None else _Transport()
    _PRFileDesc.from_address(fd).secret = key
    return int(fd)


def _socket_layer(lib: _Lib, fd: int) -> int:
    """An NSPR socket over the connected descriptor *fd* (which stays the caller's):
    non-blocking, any stream socket (its addresses are not asked for), and its
    ``shutdown`` a no-op, so that a TLS ``close_notify``
    (``PR_Shutdown``) does not half-close the TCP connection (the socket stays usable,
    as :mod:`ssl`'s ``unwrap()`` leaves it). :func:`_release_socket_layer` gives it back."""
    layer = lib.nspr.PR_ImportTCPSocket(fd)
    if not layer:
        raise NSSError(_last_error(), "PR_ImportTCPSocket")
    desc = _PRFileDesc.from_address(layer)
    if lib.socket_methods is None:
        methods = _PRIOMethods()
        ctypes.memmove(ctypes.byref(methods), desc.methods, ctypes.sizeof(_PRIOMethods))
        shutdown, name = _SHUTDOWN(_shutdown), _ADDR(_name)
        lib.keep += (shutdown, name)
        methods.shutdown = ctypes.cast(shutdown, ctypes.c_void_p).value
        # NSS asks for the addresses only to key its session cache (off); NSPR knows
        # none for a Unix-domain socket and would fail the handshake.
        methods.getpeername = methods.getsockname = ctypes.cast(name, ctypes.c_void_p).value
        lib.socket_methods = methods
    desc.methods = ctypes.addressof(lib.socket_methods)
    option = (ctypes.c_int * 4)(_PR_SOCKOPT_NONBLOCKING, 0, 1, 0)  # PRSocketOptionData
    if lib.nspr.PR_SetSocketOption(layer, option) != 0:
        code = _last_error()
        _release_socket_layer(lib, int(layer))
        lib.nspr.PR_Close(layer)
        raise NSSError(code, "make the socket non-blocking")
    return int(layer)


def _release_socket_layer(lib: _Lib, layer: int) -> None:
    """Give the descriptor of an NSPR socket back before it is closed: NSPR closes a
    socket's descriptor with it, so it is handed a descriptor of /dev/null to close
    (``PR_ChangeFileDescNativeHandle``, NSPR's private API, here only)."""
    spare = os.open(os.devnull, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    lib.nspr.PR_ChangeFileDescNativeHandle(layer, spare)


# -- certificates and keys ----------------------------------------------------------------
def _item(data: bytes) -> tuple[_SECItem, Any]:
    buf = ctypes.create_string_buffer(data, len(data))
    return _SECItem(0, ctypes.cast(buf, ctypes.c_void_p), len(data)), buf


def _temp_certificate(lib: _Lib, der: bytes) -> int:
    """A temporary certificate (never trusted by itself) for *der*; the caller owns it."""
    item, keep = _item(der)
    cert = lib.nss.CERT_NewTempCertificate(
        lib.nss.CERT_GetDefaultCertDB(), ctypes.byref(item), None, 0, 1
    )
    del keep
    if not cert:
        raise NSSError(_last_error(), "parse a certificate")
    return int(cert)


def _cert_der(cert: int) -> bytes:
    head = _CERTCertificateHead.from_address(cert)
    return ctypes.string_at(head.derCert.data, head.derCert.len)


def _list_ders(cert_list: int) -> list[bytes]:
    """The DER of every certificate in a ``CERTCertList``, in order."""
    head = _CERTCertList.from_address(cert_list)
    sentinel = ctypes.addressof(head.list)
    out: list[bytes] = []
    node = head.list.next
    while ctypes.cast(node, ctypes.c_void_p).value != sentinel:
        entry = ctypes.cast(node, ctypes.POINTER(_CERTCertListNode)).contents
        if entry.cert:
            out.append(_cert_der(entry.cert))
        node = entry.links.next
    return out


class Context:
    """A context's NSS objects: the model socket every connection copies (options,
    versions, cipher suites, server certificate), its own trust anchors, and its own
    certificate and key.

    :param server_side: a server's model socket (else a client's).
    """

    def __init__(self, *, server_side: bool) -> None:
        self._lib = lib = load()
        self.server_side = server_side
        self.model: int | None = None
        self._anchors: int | None = None
        self.anchor_count = 0
        self._cert: int | None = None
        self._key: int | None = None
        self._chain: list[int] = []
        self._chain_der: list[bytes] = []
        self.verify = False
        self.require_client_cert = False
        #: The validation policy the certificate hook runs first (set by the backend).
        self.policy: PeerCheck | None = None
        self.alpn_wire = b""
        self._verify_params: ctypes.Array[_CERTValInParam] | None = None
        self._keep_params: tuple[object, ...] = ()
        bottom = _new_layer(lib, None)
        model = lib.ssl.SSL_ImportFD(None, bottom)
        if not model:
            _close(bottom)
            raise NSSError(_last_error(), "SSL_ImportFD (model socket)")
        self.model = int(model)
        for option, value in (
            (_SSL_SECURITY, 1),
            (_SSL_HANDSHAKE_AS_CLIENT, int(not server_side)),
            (_SSL_HANDSHAKE_AS_SERVER, int(server_side)),
            (_SSL_NO_CACHE, 1),
            (_SSL_ENABLE_SESSION_TICKETS, 0),
            (_SSL_ENABLE_RENEGOTIATION, _SSL_RENEGOTIATE_NEVER),
            # Renegotiation is off, so a peer without renegotiation_info (wolfSSL's TLS
            # 1.2 client) is no risk; OpenSSL does not require it either.
            (_SSL_REQUIRE_SAFE_NEGOTIATION, 0),
            (_SSL_ENABLE_EXTENDED_MASTER_SECRET, 1),
            (_SSL_ENABLE_FALSE_START, 0),
            (_SSL_ENABLE_0RTT_DATA, 0),
        ):
            _check(lib.ssl.SSL_OptionSet(self.model, option, value), f"SSL_OptionSet({option})")

    def set_versions(self, low: str, high: str) -> None:
        """The protocol versions to negotiate (``"TLSv1.2"``, ``"TLSv1.3"``)."""
        rng = _SSLVersionRange(_VERSION_NUMBERS[low], _VERSION_NUMBERS[high])
        _check(self._lib.ssl.SSL_VersionRangeSet(self.model, ctypes.byref(rng)), "set the versions")

    def set_ciphers(self, suites: Sequence[int]) -> None:
        """Enable exactly *suites* (IANA ids NSS implements), preferred in that order."""
        ssl = self._lib.ssl
        wanted = set(suites)
        for suite in implemented_ciphers():
            _check(ssl.SSL_CipherPrefSet(self.model, suite, int(suite in wanted)), "set a cipher")
        order = self._lib.cipher_order
        if order is not None and suites:
            array = (ctypes.c_uint16 * len(suites))(*suites)
            _check(order(self.model, array, len(suites)), "order the cipher suites")

    def set_alpn(self, protocols: Sequence[bytes]) -> None:
        """The ALPN protocols to offer (clients) or accept (servers), in preference order.

        Set on each connection, not on the model socket: ``SSL_ReconfigFD`` copies the
        model's list by pointer, which the connection would then free. NSS stores (and
        a client sends, and a server picks from) the list with its first protocol
        moved to the end (NPN's fallback rule), so the list is handed over with its
        last protocol first.
        """
        if not protocols:
            return
        ordered = [*protocols[-1:], *protocols[:-1]]
        self.alpn_wire = b"".join(bytes([len(p)]) + p for p in ordered)
        _check(self._lib.ssl.SSL_OptionSet(self.model, _SSL_ENABLE_ALPN, 1), "enable ALPN")

    def load_anchors(self, ders: Sequence[bytes]) -> int:
        """This context's trust anchors (DER). Certificates NSS cannot parse are skipped,
        which trusts less, never more. Returns how many were loaded."""
        lib = self._lib
        if self._anchors is None:
            self._anchors = lib.nss.CERT_NewCertList()
            if not self._anchors:
                raise MemoryError("CERT_NewCertList failed")
        for der in ders:
            try:
                cert = _temp_certificate(lib, der)
            except NSSError:
                continue
            if lib.nss.CERT_AddCertToListTail(self._anchors, cert) != 0:
                lib.nss.CERT_DestroyCertificate(cert)
                continue
            self.anchor_count += 1
        if self.anchor_count:
            self._build_verify_params()
        return self.anchor_count

    def verify_peer(self, *, require: bool) -> None:
        """Verify the peer's chain against this context's anchors; with *require*
        (servers), a client must send a certificate."""
        self.verify = True
        if self.server_side:
            ssl = self._lib.ssl
            _check(
                ssl.SSL_OptionSet(self.model, _SSL_REQUEST_CERTIFICATE, 1), "request certificates"
            )
            _check(
                ssl.SSL_OptionSet(
                    self.model,
                    _SSL_REQUIRE_CERTIFICATE,
                    _SSL_REQUIRE_ALWAYS if require else _SSL_REQUIRE_NEVER,
                ),
                "require certificates",
            )
            self.require_client_cert = require

    def use_chain(self, chain: Sequence[bytes], pkcs8_key: bytes) -> None:
        """This context's certificate chain (DER, leaf first) and its private key
        (unencrypted PKCS#8 DER), imported as a session object of the internal slot."""
        lib = self._lib
        certs = [_temp_certificate(lib, der) for der in chain]
        self._chain = certs
        self._chain_der = list(chain)
        self._cert = certs[0]
        slot = lib.nss.PK11_GetInternalSlot()
        if not slot:
            raise NSSError(_last_error(), "PK11_GetInternalSlot")
        key = ctypes.c_void_p()
        item, keep = _item(pkcs8_key)
        try:
            rc = lib.nss.PK11_ImportDERPrivateKeyInfoAndReturnKey(
                slot, ctypes.byref(item), None, None, 0, 1, _KU_ALL, ctypes.byref(key), None
            )
        finally:
            ctypes.memset(keep, 0, len(pkcs8_key))
            del keep
            lib.nss.PK11_FreeSlot(slot)
        if rc != 0 or not key.value:
            raise NSSError(_last_error(), "import the private key")
        self._key = key.value
        if self.server_side:
            ders = [_item(der) for der in chain]
            items = (_SECItem * len(ders))(*(it for it, _ in ders))
            clist = _CERTCertificateList(items, len(ders), None)
            extra = _SSLExtraServerCertData(0, ctypes.pointer(clist), None, None)
            _check(
                lib.ssl.SSL_ConfigServerCert(
                    self.model, self._cert, self._key, ctypes.byref(extra), ctypes.sizeof(extra)
                ),
                "configure the server certificate",
            )

    def client_credentials(self) -> tuple[int, int] | None:
        """New references to the client certificate and key, for NSS to own.

        NSS sends the chain ``CERT_CertChainFromCert`` builds from the leaf, out of
        every certificate loaded in the process, not the configured one; so the
        credentials are handed out only when that chain holds nothing but configured
        certificates (it may leave out a root).

        :raises NSSError: NSS would send a certificate the configuration does not
            have (one another context, or a peer, brought into the process).
        """
        if self._cert is None or self._key is None:
            return None
        nss = self._lib.nss
        built = nss.CERT_CertChainFromCert(self._cert, _CERT_USAGE_SSL_CLIENT, 0)
        if not built:
            raise NSSError(_last_error(), "build the client certificate chain")
        try:
            head = _CERTCertificateList.from_address(built)
            sent = [
                ctypes.string_at(head.certs[i].data, head.certs[i].len) for i in range(head.len)
            ]
        finally:
            nss.CERT_DestroyCertificateList(built)
        extra = [der for der in sent if der not in self._chain_der]
        if extra:
            raise NSSError(
                _SEC_ERROR_LIBRARY_FAILURE,
                f"send the configured client certificate chain: NSS would add {len(extra)} "
                "certificate(s) that are not in it (known to this process from another "
                "context or connection), so no client certificate is sent",
            )
        return int(nss.CERT_DupCertificate(self._cert)), int(nss.SECKEY_CopyPrivateKey(self._key))

    def verify_chain(
        self, cert: int, name: ServerName | None = None, chain: Sequence[bytes] = ()
    ) -> None:
        """Verify *cert* (the peer's leaf) against this context's anchors, for the
        peer's role, and, when *name* says ``check``, its name. *chain* (the presented
        certificates, DER) only words the reason of a date failure.

        :raises VerifyError: with NSS's reason.
        """
        lib = self._lib
        params = self._verify_params
        if params is None:
            raise VerifyError(_B + 13, "verify the peer (no trust anchors are configured)")
        usage = _CERTIFICATE_USAGE_SSL_CLIENT if self.server_side else _CERTIFICATE_USAGE_SSL_SERVER
        if lib.nss.CERT_PKIXVerifyCert(cert, usage, params, None, None) != 0:
            raise VerifyError(_last_error(), "verify the peer's certificate", chain)
        if name is None or not name.check:
            return
        assert name.name is not None
        if lib.nss.CERT_VerifyCertName(cert, name.name.encode()) != 0:
            raise VerifyError(
                _last_error(),
                f"check the peer's name against {name.name!r}",
                ip_address=name.ip is not None,
            )

    def _build_verify_params(self) -> None:
        """``CERT_PKIXVerifyCert``'s input, once per context: exactly this context's
        anchors, and no revocation checking (nothing fetched)."""
        flags = (ctypes.c_uint64 * 2)(0, 0)
        tests = _CERTRevocationTests(2, flags, 0, None, 0)
        revocation = _CERTRevocationFlags(tests, tests)
        params = (_CERTValInParam * 4)()
        params[0].type = _CERT_PI_TRUST_ANCHORS
        params[0].value.pointer = self._anchors
        params[1].type = _CERT_PI_USE_ONLY_TRUST_ANCHORS
        params[1].value.scalar = 1
        params[2].type = _CERT_PI_REVOCATION_FLAGS
        params[2].value.pointer = ctypes.addressof(revocation)
        params[3].type = _CERT_PI_END
        self._verify_params = params
        self._keep_params = (flags, revocation)  # what the params point into

    def close(self) -> None:
        """Free the model socket, anchors, certificates and key; idempotent."""
        lib = self._lib
        if self.model is not None:
            lib.nspr.PR_Close(self.model)
            self.model = None
        if self._anchors is not None:
            lib.nss.CERT_DestroyCertList(self._anchors)
            self._anchors = None
        for cert in self._chain:
            lib.nss.CERT_DestroyCertificate(cert)
        self._chain = []
        self._cert = None
        if self._key is not None:
            lib.nss.SECKEY_DestroyPrivateKey(self._key)
            self._key = None

    def __del__(self) -> None:
        try:  # noqa: SIM105
            self.close()
        except Exception:
            pass


@functools.cache
def implemented_ciphers() -> tuple[int, ...]:
    """The IANA ids of every cipher suite this NSS implements."""
    lib = load()
    count = ctypes.c_uint16.in_dll(lib.ssl, "SSL_NumImplementedCiphers").value
    table = lib.ssl.SSL_GetImplementedCiphers()
    return tuple(table[i] for i in range(count))


# -- sessions ----------------------------------------------------------------------------
SNICallback = Callable[["Session", "str | None"], "Context | None"]

#: Every live session, by the address of its SSL-layer ``PRFileDesc``.
_SESSIONS: weakref.WeakValueDictionary[int, Session] = weakref.WeakValueDictionary()


def _session_for(fd: int | None) -> Session | None:
    return _SESSIONS.get(fd or 0)


def _auth_certificate(arg: int | None, fd: int | None, check_sig: int, is_server: int) -> int:
    session = _session_for(fd)
    if session is None:
        return -1
    try:
        session._verify_peer()
    except VerifyError as e:
        session._t.error = e
        _set_error(e.code if e.code < 0 else _SSL_ERROR_BAD_CERTIFICATE)
        return -1
    except BaseException as e:  # re-raised once control is back in Python
        session._t.error = e
        _set_error(_alert_error(getattr(e, "verify_code", None)))
        return -1
    return 0


#: The NSS error whose alert NSS sends (``ssl3_SendAlertForCertError``) for a chain the
#: policy refused, by its ``verify_code``: what OpenSSL sends for the same failure.
_ALERT_ERRORS: dict[int, int] = {
    VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY: _B + 13,  # unknown_ca
    VerifyCode.UNABLE_TO_GET_ISSUER_CERT: _B + 13,
    VerifyCode.DEPTH_ZERO_SELF_SIGNED_CERT: _B + 13,
    VerifyCode.SELF_SIGNED_CERT_IN_CHAIN: _B + 13,
    VerifyCode.CERT_CHAIN_TOO_LONG: _B + 13,
    VerifyCode.CERT_HAS_EXPIRED: _B + 11,  # certificate_expired
    VerifyCode.CERT_NOT_YET_VALID: _B + 11,
    VerifyCode.INVALID_PURPOSE: _B + 91,  # unsupported_certificate
}


def _alert_error(verify_code: int | None) -> int:
    if verify_code is None:
        return _SSL_ERROR_BAD_CERTIFICATE
    return _ALERT_ERRORS.get(verify_code, _SSL_ERROR_BAD_CERTIFICATE)


def _client_auth(arg: int | None, fd: int | None, ca_names: int | None, cert: Any, key: Any) -> int:
    session = _session_for(fd)
    if session is None:
        return -1
    try:
        creds = session._context.client_credentials()
    except BaseException as e:  # fails the handshake once control is back in Python
        session._t.error = e
        return -1
    if creds is None:
        return -1
    cert[0], key[0] = creds
    return 0


def _sni(fd: int | None, names: Any, count: int, arg: int | None) -> int:
    session = _session_for(fd)
    if session is None:
        return _SSL_SNI_SEND_ALERT
    name = None
    if count:
        item = names[0]
        name = ctypes.string_at(item.data, item.len).decode("ascii", "replace")
    try:
        session._run_sni(name)
    except BaseException as e:
        session._t.error = e
        return _SSL_SNI_SEND_ALERT
    return 0 if count else _SSL_SNI_CURRENT_CONFIG_IS_USED


def _alert_received(fd: int | None, arg: int | None, alert: Any) -> None:
    session = _session_for(fd)
    if session is not None and alert and alert.contents.description == 0:  # close_notify
        session._t.close_notify = True


def _handshake_done(fd: int | None, arg: int | None) -> None:
    session = _session_for(fd)
    if session is not None:
        session._t.handshake_done = True


_CALLBACKS = (
    _AUTH_CERT(_auth_certificate),
    _CLIENT_AUTH(_client_auth),
    _SNI(_sni),
    _HANDSHAKE_DONE(_handshake_done),
    _ALERT(_alert_received),
)
_AUTH_CB, _CLIENT_AUTH_CB, _SNI_CB, _HANDSHAKE_CB, _ALERT_CB = _CALLBACKS


class Session(MemoryIO):
    """One TLS connection over memory buffers.

    :param context: the :class:`Context` whose model socket the connection copies.
    :param name: clients: the server name: its ``sni`` is sent, and when it says
        ``check``, the certificate must match its ``name``.
    :param sni_callback: servers: called as ``cb(session, server_name_or_None)`` once
        the ClientHello is parsed; return another :class:`Context` to switch to its
        certificate, key, client-certificate policy and anchors (``SSL_ReconfigFD``).
    """

    _t: _Transport

    def __init__(
        self,
        context: Context,
        *,
        name: ServerName | None = None,
        sni_callback: SNICallback | None = None,
        fd: int | None = None,
    ) -> None:
        self._lib = lib = load()
        self._handle = None
        self._fd = fd
        self._name = name
        self._context = context
        self._contexts = [context]
        self.server_side = context.server_side
        self._sni_callback = sni_callback
        self._sni_called = False
        self._done = self._shutdown_sent = self._started = False
        self._fatal: BaseException | None = None
        self._rbuf = ctypes.create_string_buffer(16384)
        self._t = t = _Transport()
        if fd is None:
            bottom = _new_layer(lib, t)
        else:
            bottom = _socket_layer(lib, fd)
            self._started = True  # nothing passes through _take_input
        top = lib.ssl.SSL_ImportFD(context.model, bottom)
        if not top:
            code = _last_error()
            if fd is None:
                _close(bottom)
            else:
                _release_socket_layer(lib, bottom)
                lib.nspr.PR_Close(bottom)
            raise NSSError(code, "SSL_ImportFD")
        self._handle = h = int(top)
        _SESSIONS[h] = self
        ssl = lib.ssl
        _check(ssl.SSL_AuthCertificateHook(h, _AUTH_CB, None), "install the certificate hook")
        _check(ssl.SSL_HandshakeCallback(h, _HANDSHAKE_CB, None), "install the handshake hook")
        _check(ssl.SSL_AlertReceivedCallback(h, _ALERT_CB, None), "install the alert hook")
        self._set_alpn(context)
        if self.server_side:
            if sni_callback is not None:
                _check(ssl.SSL_SNISocketConfigHook(h, _SNI_CB, None), "install the SNI hook")
        else:
            _check(
                ssl.SSL_GetClientAuthDataHook(h, _CLIENT_AUTH_CB, None), "install the client hook"
            )
            if name is not None and name.sni is not None:
                _check(ssl.SSL_SetURL(h, name.sni.encode("ascii")), "set the server name")
        _check(ssl.SSL_ResetHandshake(h, int(self.server_side)), "start the handshake")

    # -- callbacks' work -----------------------------------------------------------
    def _verify_peer(self) -> None:
        """The certificate hook's work: the context's policy on the presented chain
        first (bounded, and it words the reasons as every backend does), then NSS's
        own verification against the context's anchors, and the name."""
        context = self._context
        if not context.verify:
            return
        lib = self._lib
        cert = lib.ssl.SSL_PeerCertificate(self.handle)
        if not cert:
            if self.server_side and not context.require_client_cert:
                return
            raise VerifyError(_SSL_ERROR_NO_CERTIFICATE, "verify the peer")
        try:
            chain = self.peer_certificate_chain_der()
            if context.policy is not None:
                context.policy.verify(chain, self._name, self.server_side)
                self.policy_checked = True
            context.verify_chain(cert, self._name, chain)
        finally:
            lib.nss.CERT_DestroyCertificate(cert)

    def _run_sni(self, name: str | None) -> None:
        self._sni_called = True
        callback = self._sni_callback
        if callback is None:
            return
        derived = callback(self, name)
        if derived is not None and derived is not self._context:
            ssl = self._lib.ssl
            # The connection's own ALPN list is freed first: the model's is empty, and
            # SSL_ReconfigFD copies the options (that list included) by value.
            _check(ssl.SSL_SetNextProtoNego(self.handle, None, 0), "clear the ALPN protocols")
            if not ssl.SSL_ReconfigFD(derived.model, self.handle):
                raise NSSError(_last_error(), "switch to the sni_callback's configuration")
            self._contexts.append(derived)
            self._context = derived
            self._set_alpn(derived)

    def _set_alpn(self, context: Context) -> None:
        wire = context.alpn_wire
        if wire:
            _check(
                self._lib.ssl.SSL_SetNextProtoNego(self.handle, wire, len(wire)),
                "set the ALPN protocols",
            )

    # -- driving -------------------------------------------------------------------
    def _take_input(self, view: memoryview) -> None:
        if not self._started and view.nbytes:
            # NSS reads a whole record before it looks at the content type, so a peer
            # that does not speak TLS (a plain HTTP server, say) would leave it waiting
            # for as much as its garbage "length" says; a handshake starts with a
            # handshake record (or an alert), so anything else fails the next call.
            self._started = True
            if view[0] not in (_CONTENT_ALERT, _CONTENT_HANDSHAKE):
                self._fatal = NSSError(
                    _SSL_ERROR_RX_UNKNOWN_RECORD_TYPE,
                    "wrong version number: the peer does not speak TLS (its first byte "
                    f"is {view[0]:#04x})",
                )
        self._t.incoming += view
        if self._sni_callback is not None and not self._sni_called:
            self._sni_without_name()

    def _sni_without_name(self) -> None:
        """Servers: run the ``sni_callback`` for a ClientHello without a server_name.

        NSS calls its SNI hook only when the client sent a server_name; the callback
        runs once per connection either way, so the ClientHello is looked at here,
        before NSS reads it (:func:`client_hello_has_sni`). A failure answers with a
        handshake_failure alert (nothing is encrypted yet) and fails the connection.
        """
        has_sni = client_hello_has_sni(self._t.incoming)
        if has_sni is None or has_sni:
            return  # incomplete (wait for more), or NSS's hook will run
        try:
            self._run_sni(None)
        except BaseException as e:
            self._fatal = e
            self._t.outgoing += _HANDSHAKE_FAILURE_ALERT

    def _raise_parked(self) -> None:
        error = self._t.error
        if error is not None:
            self._t.error = None
            self._fatal = error
            raise error

    def _failure(self, context: str, *, writing: bool = False) -> BaseException:
        """The exception for a failed call (after the callbacks' parked one).

        "Would block" is :class:`WantRead` over memory. On a socket it is
        :class:`WantWrite` for a write, and for a handshake step whose socket cannot
        take more (NSS keeps what it could not send and sends it first next time),
        else :class:`WantRead`; a socket failure is its :class:`OSError`.
        """
        code = _last_error()
        parked = self._t.error
        if parked is not None:
            self._t.error = None
            self._fatal = parked
            return parked
        fd = self._fd
        if code == _PR_WOULD_BLOCK_ERROR:
            if fd is not None and (writing or (context == "handshake" and not _writable(fd))):
                return WantWrite()
            return WantRead()
        if fd is not None:
            failed = connection_error() or _socket_error(code)
            if failed is not None:
                self._fatal = failed
                return failed
        if code in (_PR_END_OF_FILE_ERROR,) or self._t.eof_returned:
            error: BaseException = RaggedEOFError(code, context)
        elif context == "handshake" and code in _NOT_TLS:
            # OpenSSL's words, which urllib3 looks for ("is the proxy really HTTPS?").
            error = NSSError(code, "wrong version number: the peer does not speak TLS")
        elif code == _SSL_ERROR_BAD_CERT_DOMAIN or (
            self.server_side is False and _SEC_ERROR_BASE <= code < _SEC_ERROR_LIMIT
        ):
            error = VerifyError(code, context)
        else:
            error = NSSError(code, context)
        self._fatal = error
        return error

    def pending(self) -> int:
        """Decrypted bytes NSS holds, readable without input."""
        if self._handle is None or not self._done:
            return 0
        return max(int(self._lib.ssl.SSL_DataPending(self._handle)), 0)

    def handshake(self) -> None:
        """Advance the handshake; :class:`WantRead` until the peer's next flight."""
        self._raise_if_dead()
        if self._done:
            return
        rc = self._lib.ssl.SSL_ForceHandshake(self.handle)
        if rc != 0:
            raise self._failure("handshake")
        self._raise_parked()
        if not self._t.handshake_done:
            raise WantRead()
        self._done = True

    def _recv(self, target: Any, n: int) -> int:
        if not self._done:
            self.handshake()
        if n <= 0:
            return 0
        self._raise_if_dead()
        got = self._lib.nspr.PR_Recv(self.handle, target, n, 0, _PR_INTERVAL_NO_WAIT)
        if got < 0:
            raise self._failure("read")
        if got == 0 and not self._t.close_notify:
            # NSS returns 0 for the peer's close_notify and for an EOF without one
            # alike; the alert hook tells them apart.
            error = RaggedEOFError(_PR_END_OF_FILE_ERROR, "read")
            self._fatal = error
            raise error
        return int(got)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt all of *data* into the outgoing buffer; returns its length. On a
        socket: how much was sent, or :class:`WantWrite` when nothing could be."""
        if not self._done:
            self.handshake()
        self._raise_if_dead()
        view = memoryview(data).cast("B")
        total = view.nbytes
        if not total:
            return 0
        buf: ctypes.Array[ctypes.c_char] = (
            ctypes.create_string_buffer(view.tobytes(), total)
            if view.readonly
            else (ctypes.c_char * total).from_buffer(view)
        )
        try:
            sent = 0
            send = self._lib.nspr.PR_Send
            base = ctypes.cast(buf, ctypes.c_void_p).value or 0
            while sent < total:
                rc = send(self.handle, base + sent, total - sent, 0, _PR_INTERVAL_NO_WAIT)
                if rc < 0:
                    failure = self._failure("write", writing=True)
                    if sent and isinstance(failure, WantWrite):
                        return sent
                    raise failure
                sent += rc
        finally:
            del buf
        return total

    def close_notify(self) -> None:
        """Queue this side's close_notify (idempotent; nothing on a dead session; on a
        socket that cannot take it now, NSS keeps it and sends it before anything else)."""
        if self._shutdown_sent or self._fatal is not None or self._handle is None:
            return
        self._shutdown_sent = True
        self._lib.nspr.PR_Shutdown(self._handle, _PR_SHUTDOWN_SEND)

    # -- state ---------------------------------------------------------------------
    def _channel(self) -> _SSLChannelInfo | None:
        if not self._done or self._handle is None:
            return None
        info = _SSLChannelInfo()
        if self._lib.ssl.SSL_GetChannelInfo(self._handle, ctypes.byref(info), ctypes.sizeof(info)):
            return None
        return info

    def version(self) -> str | None:
        """``"TLSv1.2"``, ``"TLSv1.3"`` once the handshake is done, else None."""
        info = self._channel()
        return None if info is None else VERSIONS.get(info.protocolVersion)

    def cipher_suite_id(self) -> int | None:
        """IANA id of the negotiated suite, or None."""
        info = self._channel()
        return None if info is None else int(info.cipherSuite)

    def session_reused(self) -> bool:
        """Whether the handshake resumed a session (never: resumption is off)."""
        info = self._channel()
        return bool(info is not None and info.resumed)

    def alpn(self) -> bytes | None:
        """The negotiated ALPN protocol, or None."""
        if not self._done or self._handle is None:
            return None
        state = ctypes.c_int()
        buf = ctypes.create_string_buffer(256)
        length = ctypes.c_uint()
        if self._lib.ssl.SSL_GetNextProto(
            self._handle, ctypes.byref(state), buf, ctypes.byref(length), 256
        ):
            return None
        if state.value not in (_SSL_NEXT_PROTO_NEGOTIATED, _SSL_NEXT_PROTO_SELECTED):
            return None
        return buf.raw[: length.value] or None

    def server_name(self) -> str | None:
        """Servers: the SNI host name the client sent, or None."""
        if self._handle is None:
            return None
        item = self._lib.ssl.SSL_GetNegotiatedHostInfo(self._handle)
        if not item:
            return None
        try:
            return ctypes.string_at(item.contents.data, item.contents.len).decode(
                "ascii", "replace"
            )
        finally:
            self._lib.nss.SECITEM_FreeItem(item, 1)

    def peer_certificate_chain_der(self) -> list[bytes]:
        """The certificates the peer presented (DER, leaf first)."""
        if self._handle is None:
            return []
        chain = self._lib.ssl.SSL_PeerCertificateChain(self._handle)
        if not chain:
            return []
        try:
            return _list_ders(chain)
        finally:
            self._lib.nss.CERT_DestroyCertList(chain)

    def peer_certificate_der(self) -> bytes | None:
        """The peer's leaf certificate (DER), or None."""
        if self._handle is None:
            return None
        cert = self._lib.ssl.SSL_PeerCertificate(self._handle)
        if not cert:
            return None
        try:
            return _cert_der(cert)
        finally:
            self._lib.nss.CERT_DestroyCertificate(cert)

    def resumption_state(self) -> tuple[object, float] | None:
        """Nothing: this binding does not resume sessions."""
        return None

    def close(self) -> None:
        """Free the connection (both layers); idempotent. Sends nothing."""
        handle = self._handle
        if handle is None:
            return
        self._handle = None
        _SESSIONS.pop(handle, None)
        lib = self._lib
        if self._fd is not None:  # the descriptor stays the socket's
            _release_socket_layer(lib, int(lib.nspr.PR_GetIdentitiesLayer(handle, 0)))
        lib.nspr.PR_Close(handle)


def _writable(fd: int) -> bool:
    """Whether the socket *fd* can take more data now."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return bool(poller.poll(0))


#: NSPR's socket errors, as the OSError a socket would raise.
_SOCKET_ERRORS = {
    -5961: errno.ECONNRESET,  # PR_CONNECT_RESET_ERROR
    -5928: errno.ECONNABORTED,  # PR_CONNECT_ABORTED_ERROR
    -5955: errno.EPIPE,  # PR_PIPE_ERROR
    -5978: errno.ENOTCONN,  # PR_NOT_CONNECTED_ERROR
}


def _socket_error(code: int) -> OSError | None:
    number = _SOCKET_ERRORS.get(code)
    return None if number is None else OSError(number, os.strerror(number))


_HANDSHAKE_FAILURE_ALERT = bytes((_CONTENT_ALERT, 3, 3, 0, 2, 2, 40))


def client_hello_has_sni(data: bytes | bytearray) -> bool | None:
    """Whether the ClientHello at the start of *data* (TLS records) carries a
    server_name extension; ``None`` while it is incomplete. Anything malformed counts
    as "has one": NSS then reads it and fails the handshake itself."""
    body = bytearray()
    pos = 0
    while True:
        if len(body) >= 4:
            needed = 4 + int.from_bytes(body[1:4], "big")
            if len(body) >= needed:
                break
        if len(data) < pos + 5:
            return None
        if data[pos] != _CONTENT_HANDSHAKE:
            return True
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        if len(data) < pos + 5 + length:
            return None
        body += data[pos + 5 : pos + 5 + length]
        pos += 5 + length
    try:
        if body[0] != 1:  # client_hello
            return True
        i = 4 + 2 + 32
        i += 1 + body[i]  # session_id
        i += 2 + int.from_bytes(body[i : i + 2], "big")  # cipher_suites
        i += 1 + body[i]  # compression_methods
        end = i + 2 + int.from_bytes(body[i : i + 2], "big")
        i += 2
        while i + 4 <= end:
            kind = int.from_bytes(body[i : i + 2], "big")
            if kind == 0:  # server_name
                return True
            i += 4 + int.from_bytes(body[i + 2 : i + 4], "big")
    except IndexError:
        return True
    return False
