"""A ctypes binding to the system GnuTLS (``libgnutls.so.30``) that runs TLS over memory
or on a socket's descriptor.

Theory of operation
===================

Importing this module does nothing. :func:`load` opens the library (found with
``ctypes.util.find_library("gnutls")``, falling back to ``libgnutls.so.30``), declares the
``argtypes``/``restype`` of every function used here, checks the version (3.6.5 or newer,
for TLS 1.3) and calls ``gnutls_global_init``. It is cached, and every class calls it on
construction; a missing or unusable library raises :class:`ImportError`.

The objects mirror GnuTLS's own:

* :class:`Credentials` wraps ``gnutls_certificate_credentials_t``: trust anchors (PEM or DER
  bytes, a file, a directory, the system store) and certificate chains with their private
  keys, loaded from memory only. Encrypted keys (PKCS#8, or OpenSSL's legacy PEM
  encryption) are decrypted by GnuTLS with the given password; key bytes are copied into a
  C buffer that is zeroed afterwards and are never written to disk. Build one, then share
  it between any number of sessions. A client's chain can be made to go out whenever a
  server asks (``always_send``): a certificate-retrieve callback returns it, instead of
  GnuTLS's rule of sending only a certificate whose issuer the server's
  CertificateRequest names.
* :class:`Priority` wraps a parsed ``gnutls_priority_t``. :func:`build_priority` turns a
  version range and an optional list of IANA cipher-suite ids into a priority string and
  says whether GnuTLS can express that list exactly (:class:`PriorityPlan`). Its base,
  :data:`DEFAULT_BASE`, is ``NORMAL`` with X25519 as the first group, so a server does
  not answer the common X25519 key share with a HelloRetryRequest.
* :class:`Session` wraps a non-blocking ``gnutls_session_t`` whose transport is custom
  callbacks, so it never touches a socket (unless attached to one, below). *pull*
  drains an incoming ``bytearray`` fed by :meth:`Session.receive`; when it is empty it
  sets ``EAGAIN`` with ``gnutls_transport_set_errno`` and returns -1 (or returns 0,
  i.e. EOF, after ``receive(b"")``). *push* appends to an outgoing ``bytearray`` and
  never fails, so GnuTLS never has a write to retry; the caller drains it with
  :meth:`Session.outgoing` (or :meth:`Session.peek` + :meth:`Session.consume`). A
  *pull-timeout* callback, which GnuTLS wants for TLS 1.3, only answers "is input
  available now".

  Bulk data: ``gnutls_record_recv`` decrypts straight into the caller's buffer
  (``readinto``, through :class:`~._ffi_buffer.MemoryIO`), and *write* encrypts from it.
  GnuTLS pulls every record in two calls (the 5-byte header, then the body), so *pull*
  is the hot Python code: it copies with a ctypes array's ``raw`` setter, which keeps the
  GIL (``ctypes.memmove`` would drop and re-take it). GnuTLS has no memory transport of
  its own; the only callback-free one would be a kernel socketpair read by libc ``read``
  (two descriptors per session), which measured about 0.35 ms/MiB cheaper and is not used.

  Attached to a socket instead (``Session(fd=...)``, ``gnutls_transport_set_int2``),
  GnuTLS uses its own ``recv``/``send`` on the non-blocking descriptor and no Python
  callback runs per record. It reads a record's 5-byte header, then exactly its body.
  ``GNUTLS_E_AGAIN``/``GNUTLS_E_INTERRUPTED`` become :class:`WantRead` or
  :class:`WantWrite` by ``gnutls_record_get_direction``; a write GnuTLS could not
  finish must be repeated with the same data. ``GNUTLS_E_PULL_ERROR``/``PUSH_ERROR``,
  and ``GNUTLS_E_PREMATURE_TERMINATION`` when ``send`` saw ECONNRESET (GnuTLS's mapping),
  raise the socket's :class:`OSError`, read from the errno ctypes saved
  (the library is loaded with ``use_errno=True``); an EOF without close_notify is
  :class:`RaggedEOFError`. Sessions get ``GNUTLS_NO_SIGNAL``, so a send to a closed peer
  fails with EPIPE instead of raising SIGPIPE.

The want-read dance: an operation that needs peer data raises :class:`WantRead`; flush
:meth:`Session.outgoing`, feed whatever arrives, retry. Flush after *every* call, failed
ones included: on a fatal error the matching TLS alert is queued there (GnuTLS does not
send alerts on handshake failure by itself; this module calls
``gnutls_alert_send_appropriate``). After a fatal error the session is dead: every later
:meth:`~Session.handshake`/:meth:`~Session.read`/:meth:`~Session.write` re-raises it.
TLS 1.3 post-handshake records (session tickets, key updates) make ``gnutls_record_recv``
return ``EAGAIN`` once per record even when more input is queued; :meth:`Session.read`
keeps calling while GnuTLS keeps consuming input, so it only raises :class:`WantRead`
when the input is really exhausted.

Callbacks (transport, server-side SNI hook, optional-client-cert verifier) are
``CFUNCTYPE`` objects kept on the session for as long as C may call them. They catch every
exception, stash it, return an error code to C, and the stashed exception is re-raised
once control is back in Python. They hold no strong reference to the :class:`Session`, so
a dropped session is freed (``gnutls_deinit``) at once by ``__del__``; :meth:`Session.close`
does it explicitly.

Certificate checks run inside the handshake, done by GnuTLS at its strictest usable
setting. Every verification is for a key purpose, ``GNUTLS_DT_KEY_PURPOSE_OID``: serverAuth
when a client verifies a server, clientAuth when a server verifies a client (a leaf whose
extendedKeyUsage lacks it fails, as does an intermediate's that lacks it; GnuTLS lets a leaf
without the extension, or with anyExtendedKeyUsage, pass). And every verification runs
under the MEDIUM verification profile (:data:`VERIFY_PROFILE_MEDIUM`: no RSA key under
2048 bits, no EC key under 224 bits, no SHA-1 or MD5 signature), set with
``gnutls_session_set_verify_cert`` since that one replaces the priority's profile. Then
``gnutls_session_set_verify_cert2`` is installed with the key purpose alone for chain-only
checks, or with ``GNUTLS_DT_IP_ADDRESS`` too for IP literals; for DNS names a verify
function calls ``gnutls_certificate_verify_peers`` with the name and the key purpose and
then also requires a dNSName subjectAltName (GnuTLS would otherwise fall back to the
subject CN, which the OpenSSL-based backends never do). The typed data lives as long as
the session. Failure raises :class:`VerifyError`, whose reason comes from
``gnutls_certificate_verification_status_print``, plus which key purpose was required or
what the profile requires. A peer certificate GnuTLS refuses in
the handshake outside that verification (one it cannot parse, or whose keyUsage does not
allow what the handshake does with its key, which GnuTLS checks when it uses the key)
raises :class:`PeerCertificateError` (:data:`PEER_CERTIFICATE_ERRORS`).

Session resumption (clients): :meth:`Session.resumption_data` is
``gnutls_session_get_data2`` (copied to ``bytes``; GnuTLS's copy is zeroed and freed),
under TLS 1.3 only once the server's NewSessionTicket has arrived on this connection
(``GNUTLS_SFLAGS_SESSION_TICKET``: called earlier, ``get_data2`` would wait for a ticket
on the transport and then return data that cannot resume). ``Session(resume=data)``
offers it with ``gnutls_session_set_data`` before the handshake (data GnuTLS refuses is
not offered: a full handshake); :meth:`Session.session_reused` is
``gnutls_session_is_resumed``. A resumed handshake carries no certificate and runs no
verification; GnuTLS restores the peer's certificates from the data. A declined offer
is a full handshake with full verification.

Threads: ctypes releases the GIL while GnuTLS runs. :class:`Credentials` and
:class:`Priority` objects may be shared by sessions in many threads once loaded, but must
not be modified (``load_*``) while sessions use them. A :class:`Session` must be driven by
one thread at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import errno
import functools
import ipaddress
import os
import weakref
from collections.abc import Callable, Sequence
from ctypes.util import find_library
from dataclasses import dataclass
from typing import Any

from .._session import DEFAULT_SESSION_LIFETIME
from .._verify_codes import VerifyCode
from .._x509 import has_matching_dns_name
from ._ffi_buffer import MemoryIO, MemoryTransport, c_buffer, connection_error

__all__ = [
    "DEFAULT_BASE",
    "KP_TLS_WWW_CLIENT",
    "KP_TLS_WWW_SERVER",
    "VERIFY_PROFILE_MEDIUM",
    "CertRequest",
    "CipherSuite",
    "Credentials",
    "GnuTLSError",
    "PeerCertificateError",
    "Priority",
    "PriorityPlan",
    "RaggedEOFError",
    "SNICallback",
    "Session",
    "VerifyError",
    "VerifyMode",
    "WantRead",
    "WantWrite",
    "build_priority",
    "cipher_suite_table",
    "library_version",
    "load",
]

# ======================================================================================
# Low-level declarations
# ======================================================================================

# Error codes (gnutls/gnutls.h).
E_SUCCESS = 0
E_INVALID_SESSION = -10
E_FATAL_ALERT_RECEIVED = -12
E_WARNING_ALERT_RECEIVED = -16
E_AGAIN = -28
E_REHANDSHAKE = -37
E_NO_CERTIFICATE_FOUND = -49
E_INTERRUPTED = -52
E_PUSH_ERROR = -53
E_PULL_ERROR = -54
E_REQUESTED_DATA_NOT_AVAILABLE = -56
E_INTERNAL_ERROR = -59
E_PREMATURE_TERMINATION = -110
E_CERTIFICATE_REQUIRED = -112
E_USER_ERROR = -320
E_CERTIFICATE_VERIFICATION_ERROR = -348
#: Handshake errors that mean "the peer's certificate is unacceptable" although no
#: verification status says so: GnuTLS refused the certificate while parsing it, or its
#: key for the use the handshake makes of it (gnutls/gnutls.h).
PEER_CERTIFICATE_ERRORS = frozenset(
    {
        -43,  # GNUTLS_E_CERTIFICATE_ERROR
        -47,  # GNUTLS_E_X509_UNSUPPORTED_CRITICAL_EXTENSION
        -48,  # GNUTLS_E_KEY_USAGE_VIOLATION
        -62,  # GNUTLS_E_X509_UNKNOWN_SAN
        -95,  # GNUTLS_E_X509_UNSUPPORTED_ATTRIBUTE
        -324,  # GNUTLS_E_CERTIFICATE_LIST_UNSORTED
        -327,  # GNUTLS_E_X509_UNSUPPORTED_EXTENSION
        -416,  # GNUTLS_E_CERTIFICATE_TIME_ERROR
        -418,  # GNUTLS_E_ASN1_TIME_ERROR
    }
    | set(range(-77, -66))  # GNUTLS_E_ASN1_ELEMENT_NOT_FOUND .. GNUTLS_E_ASN1_DER_OVERFLOW
)

_SERVER, _CLIENT, _NONBLOCK, _NO_SIGNAL = 1, 1 << 1, 1 << 3, 1 << 6  # gnutls_init flags
_SFLAGS_SESSION_TICKET = 1 << 7  # gnutls_session_get_flags: a ticket has arrived
_CRD_CERTIFICATE = 1
_FMT_DER, _FMT_PEM = 0, 1
_PKCS_PLAIN = 1
_SHUT_WR = 1
_NAME_DNS = 1
_CRT_X509 = 1
_DT_DNS_HOSTNAME, _DT_KEY_PURPOSE_OID, _DT_IP_ADDRESS = 1, 2, 4  # gnutls_vdata_types_t
_SAN_DNSNAME = 1
_E_SHORT_MEMORY_BUFFER = -51
_STATUS_INVALID, _STATUS_UNEXPECTED_OWNER = 1 << 1, 1 << 14
_STATUS_INSECURE_ALGORITHM, _STATUS_PURPOSE_MISMATCH = 1 << 8, 1 << 18
_AL_WARNING, _AL_FATAL = 1, 2
_A_CLOSE_NOTIFY = 0
_A_HANDSHAKE_FAILURE = 40
_A_NO_RENEGOTIATION = 100
_A_CERTIFICATE_REQUIRED = 116
_ALPN_SERVER_PRECEDENCE = 1 << 1
_TLS1_3 = 5
_KX_UNKNOWN = 0
_STATUS_NOT_VERIFIED = 0xFFFFFFFF
#: ``gnutls_certificate_status_t`` bits (gnutls/gnutls.h) and the X509_V_ERR_* code each
#: means, in the order OpenSSL's verifier would find them (the first bit set wins):
#: the chain, the certificates' extensions and purpose, the name, then signatures,
#: revocation and dates. SIGNER_CONSTRAINTS_FAILURE has no code: GnuTLS uses it for
#: name constraints and path lengths alike.
_STATUS_CODES = (
    (1 << 6, VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY),  # SIGNER_NOT_FOUND
    (1 << 7, VerifyCode.INVALID_CA),  # SIGNER_NOT_CA
    (1 << 21, VerifyCode.UNHANDLED_CRITICAL_EXTENSION),  # UNKNOWN_CRIT_EXTENSIONS
    (_STATUS_PURPOSE_MISMATCH, VerifyCode.INVALID_PURPOSE),
    (_STATUS_UNEXPECTED_OWNER, VerifyCode.HOSTNAME_MISMATCH),  # or IP_ADDRESS_MISMATCH
    # A weak signature hash, or (with the verification profile) a key too small: GnuTLS
    # has one bit for both.
    (_STATUS_INSECURE_ALGORITHM, VerifyCode.CA_MD_TOO_WEAK),
    (1 << 11, VerifyCode.CERT_SIGNATURE_FAILURE),  # SIGNATURE_FAILURE
    (1 << 5, VerifyCode.CERT_REVOKED),  # REVOKED
    (1 << 9, VerifyCode.CERT_NOT_YET_VALID),  # NOT_ACTIVATED
    (1 << 10, VerifyCode.CERT_HAS_EXPIRED),  # EXPIRED
)
#: Handshake errors of :data:`PEER_CERTIFICATE_ERRORS` that say what is wrong.
_PEER_CERTIFICATE_CODES = {
    -47: VerifyCode.UNHANDLED_CRITICAL_EXTENSION,  # X509_UNSUPPORTED_CRITICAL_EXTENSION
    -48: VerifyCode.INVALID_PURPOSE,  # KEY_USAGE_VIOLATION
}

#: Key purposes (extendedKeyUsage OIDs; gnutls/x509.h ``GNUTLS_KP_TLS_WWW_*``) a peer's
#: chain is verified for: a server's must allow serverAuth, a client's clientAuth.
KP_TLS_WWW_SERVER = "1.3.6.1.5.5.7.3.1"
KP_TLS_WWW_CLIENT = "1.3.6.1.5.5.7.3.2"
_KEY_PURPOSE_NAMES = {KP_TLS_WWW_SERVER: "serverAuth", KP_TLS_WWW_CLIENT: "clientAuth"}
#: ``GNUTLS_PROFILE_TO_VFLAGS(GNUTLS_PROFILE_MEDIUM)``: the verification profile of
#: ``GNUTLS_SEC_PARAM_MEDIUM`` (112 bits): every key in the chain, the anchor's included,
#: at least RSA-2048 or a 224-bit EC curve (P-192 and RSA-1024 fail; P-224 passes), and
#: every signature below the anchor made with a hash of at least 112 bits of collision
#: resistance (not SHA-1 or MD5). NORMAL's own profile is LOW (RSA-1024, P-192 pass).
#: HIGH would also refuse RSA-2048, so MEDIUM is the strictest usable one.
VERIFY_PROFILE_MEDIUM = 5 << 24

_PROTOCOLS = {2: "TLSv1", 3: "TLSv1.1", 4: "TLSv1.2", 5: "TLSv1.3"}
_VERSIONS = {  # name: (gnutls_protocol_t, priority keyword)
    "TLSv1": (2, "VERS-TLS1.0"),
    "TLSv1.1": (3, "VERS-TLS1.1"),
    "TLSv1.2": (4, "VERS-TLS1.2"),
    "TLSv1.3": (5, "VERS-TLS1.3"),
}
# GnuTLS 3.7 limits (lib/ext/alpn.h: MAX_ALPN_PROTOCOLS 8, MAX_ALPN_PROTOCOL_NAME 32).
_ALPN_MAX_PROTOCOLS, _ALPN_MAX_NAME = 8, 31


class _Datum(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("size", ctypes.c_uint)]


class _TypedVData(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("data", ctypes.c_void_p), ("size", ctypes.c_uint)]


_vp, _int, _uint, _cp, _size = (
    ctypes.c_void_p,
    ctypes.c_int,
    ctypes.c_uint,
    ctypes.c_char_p,
    ctypes.c_size_t,
)
_pint, _pdatum = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(_Datum)

_PUSH_FUNC = ctypes.CFUNCTYPE(ctypes.c_ssize_t, _vp, _vp, _size)
_PULL_FUNC = ctypes.CFUNCTYPE(ctypes.c_ssize_t, _vp, _vp, _size)
_PULL_TIMEOUT_FUNC = ctypes.CFUNCTYPE(_int, _vp, _uint)
_SESSION_FUNC = ctypes.CFUNCTYPE(_int, _vp)  # post-client-hello hook and verify function
_FREE_FUNC = ctypes.CFUNCTYPE(None, _vp)


class _PCert(ctypes.Structure):  # gnutls_pcert_st
    _fields_ = [("pubkey", _vp), ("cert", _Datum), ("type", _int)]


# gnutls_certificate_retrieve_function2: (session, req_ca_rdn, nreqs, pk_algos,
# pk_algos_length, gnutls_pcert_st **pcert, unsigned *pcert_length, gnutls_privkey_t *key)
_RETRIEVE_FUNC = ctypes.CFUNCTYPE(
    _int,
    _vp,
    _pdatum,
    _int,
    _pint,
    _int,
    ctypes.POINTER(ctypes.POINTER(_PCert)),
    ctypes.POINTER(_uint),
    ctypes.POINTER(_vp),
)

_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {  # name: (restype, argtypes)
    "gnutls_check_version": (_cp, [_cp]),
    "gnutls_global_init": (_int, []),
    "gnutls_strerror": (_cp, [_int]),
    "gnutls_error_is_fatal": (_int, [_int]),
    "gnutls_error_to_alert": (_int, [_int, _pint]),
    "gnutls_alert_get": (_int, [_vp]),
    "gnutls_alert_get_name": (_cp, [_int]),
    "gnutls_alert_send": (_int, [_vp, _int, _int]),
    "gnutls_alert_send_appropriate": (_int, [_vp, _int]),
    "gnutls_certificate_allocate_credentials": (_int, [ctypes.POINTER(_vp)]),
    "gnutls_certificate_free_credentials": (None, [_vp]),
    "gnutls_certificate_set_x509_trust_mem": (_int, [_vp, _pdatum, _int]),
    "gnutls_certificate_set_x509_trust_file": (_int, [_vp, _cp, _int]),
    "gnutls_certificate_set_x509_trust_dir": (_int, [_vp, _cp, _int]),
    "gnutls_certificate_set_x509_system_trust": (_int, [_vp]),
    "gnutls_certificate_set_x509_key_mem2": (_int, [_vp, _pdatum, _pdatum, _int, _cp, _uint]),
    "gnutls_certificate_set_retrieve_function2": (None, [_vp, _RETRIEVE_FUNC]),
    "gnutls_pcert_list_import_x509_raw": (
        _int,
        [ctypes.POINTER(_PCert), ctypes.POINTER(_uint), _pdatum, _int, _uint],
    ),
    "gnutls_pcert_deinit": (None, [ctypes.POINTER(_PCert)]),
    "gnutls_privkey_init": (_int, [ctypes.POINTER(_vp)]),
    "gnutls_privkey_deinit": (None, [_vp]),
    "gnutls_privkey_import_x509_raw": (_int, [_vp, _pdatum, _int, _cp, _uint]),
    "gnutls_priority_init": (_int, [ctypes.POINTER(_vp), _cp, ctypes.POINTER(_cp)]),
    "gnutls_priority_deinit": (None, [_vp]),
    "gnutls_priority_set": (_int, [_vp, _vp]),
    "gnutls_priority_get_cipher_suite_index": (_int, [_vp, _uint, ctypes.POINTER(_uint)]),
    "gnutls_cipher_suite_info": (_cp, [_size, _vp, _pint, _pint, _pint, _pint]),
    "gnutls_kx_get_name": (_cp, [_int]),
    "gnutls_cipher_get_name": (_cp, [_int]),
    "gnutls_mac_get_name": (_cp, [_int]),
    "gnutls_init": (_int, [ctypes.POINTER(_vp), _uint]),
    "gnutls_deinit": (None, [_vp]),
    "gnutls_credentials_set": (_int, [_vp, _int, _vp]),
    "gnutls_handshake": (_int, [_vp]),
    "gnutls_handshake_set_timeout": (None, [_vp, _uint]),
    "gnutls_handshake_set_post_client_hello_function": (None, [_vp, _SESSION_FUNC]),
    "gnutls_record_send": (ctypes.c_ssize_t, [_vp, _vp, _size]),
    "gnutls_record_recv": (ctypes.c_ssize_t, [_vp, _vp, _size]),
    "gnutls_record_check_pending": (_size, [_vp]),
    "gnutls_bye": (_int, [_vp, _int]),
    "gnutls_transport_set_ptr": (None, [_vp, _vp]),
    "gnutls_transport_set_int2": (None, [_vp, _int, _int]),
    "gnutls_record_get_direction": (_int, [_vp]),
    "gnutls_transport_set_push_function": (None, [_vp, _PUSH_FUNC]),
    "gnutls_transport_set_pull_function": (None, [_vp, _PULL_FUNC]),
    "gnutls_transport_set_pull_timeout_function": (None, [_vp, _PULL_TIMEOUT_FUNC]),
    "gnutls_transport_set_errno": (None, [_vp, _int]),
    "gnutls_server_name_set": (_int, [_vp, _int, _vp, _size]),
    "gnutls_server_name_get": (
        _int,
        [_vp, _vp, ctypes.POINTER(_size), ctypes.POINTER(_uint), _uint],
    ),
    "gnutls_alpn_set_protocols": (_int, [_vp, _pdatum, _uint, _uint]),
    "gnutls_alpn_get_selected_protocol": (_int, [_vp, _pdatum]),
    "gnutls_certificate_server_set_request": (None, [_vp, _int]),
    "gnutls_session_set_verify_cert": (None, [_vp, _cp, _uint]),
    "gnutls_session_set_verify_cert2": (None, [_vp, ctypes.POINTER(_TypedVData), _uint, _uint]),
    "gnutls_session_set_verify_function": (None, [_vp, _SESSION_FUNC]),
    "gnutls_session_get_verify_cert_status": (_uint, [_vp]),
    "gnutls_certificate_verify_peers": (
        _int,
        [_vp, ctypes.POINTER(_TypedVData), _uint, ctypes.POINTER(_uint)],
    ),
    "gnutls_x509_crt_init": (_int, [ctypes.POINTER(_vp)]),
    "gnutls_x509_crt_deinit": (None, [_vp]),
    "gnutls_x509_crt_import": (_int, [_vp, _pdatum, _int]),
    "gnutls_x509_crt_get_subject_alt_name": (
        _int,
        [_vp, _uint, _vp, ctypes.POINTER(_size), ctypes.POINTER(_uint)],
    ),
    "gnutls_certificate_verification_status_print": (_int, [_uint, _int, _pdatum, _uint]),
    "gnutls_certificate_get_peers": (_pdatum, [_vp, ctypes.POINTER(_uint)]),
    "gnutls_protocol_get_version": (_int, [_vp]),
    "gnutls_session_get_data2": (_int, [_vp, _pdatum]),
    "gnutls_session_set_data": (_int, [_vp, _vp, _size]),
    "gnutls_session_is_resumed": (_int, [_vp]),
    "gnutls_session_get_flags": (_uint, [_vp]),
    "gnutls_kx_get": (_int, [_vp]),
    "gnutls_cipher_get": (_int, [_vp]),
    "gnutls_mac_get": (_int, [_vp]),
}


class _Lib:
    """The loaded library: the ``CDLL`` and the ``gnutls_free`` function pointer."""

    def __init__(self, cdll: ctypes.CDLL, free: Callable[[int | None], None]) -> None:
        self.c: Any = cdll
        self.free = free


@functools.cache
def load() -> _Lib:
    """Open libgnutls, declare the prototypes and initialise it; runs once.

    :raises ImportError: libgnutls is missing, older than 3.6.5, or lacks a symbol.
    """
    names = dict.fromkeys(n for n in (find_library("gnutls"), "libgnutls.so.30") if n)
    cdll, errors = None, []
    for name in names:
        try:
            # use_errno: a session attached to a socket reports why the socket failed.
            cdll = ctypes.CDLL(name, use_errno=True)
            break
        except OSError as exc:
            errors.append(str(exc))
    if cdll is None:
        raise ImportError(
            "libgnutls30 not found; install it with apt-get install libgnutls30"
            f" ({'; '.join(errors)})"
        )
    for fname, (restype, argtypes) in _SIGNATURES.items():
        try:
            func = getattr(cdll, fname)
        except AttributeError:
            raise ImportError(f"{cdll._name} lacks {fname}; GnuTLS >= 3.6.5 is required") from None
        func.restype, func.argtypes = restype, argtypes
    if cdll.gnutls_check_version(b"3.6.5") is None:
        found = cdll.gnutls_check_version(None).decode()
        raise ImportError(f"GnuTLS {found} is too old; 3.6.5 or newer is required")
    rc = int(cdll.gnutls_global_init())
    if rc < 0:
        raise ImportError(f"gnutls_global_init failed: {cdll.gnutls_strerror(rc).decode()}")
    return _Lib(cdll, _FREE_FUNC.in_dll(cdll, "gnutls_free"))


def library_version() -> str:
    """The runtime GnuTLS version, e.g. ``"3.7.9"`` (``gnutls_check_version(NULL)``)."""
    return str(load().c.gnutls_check_version(None).decode())


# ======================================================================================
# Exceptions
# ======================================================================================


class WantRead(Exception):
    """More bytes from the peer are needed: send the outgoing data, ``receive()``, retry
    (attached to a socket: retry once it is readable)."""


class WantWrite(Exception):
    """A session attached to a non-blocking socket could not send: retry the same call
    (with the same data) once the socket is writable."""


def socket_error(rc: int, context: str) -> BaseException:
    """What a failed ``recv``/``send`` on an attached socket raises: the :class:`OSError`
    of the errno it left (``ConnectionResetError``, ``BrokenPipeError``, ...), as
    :mod:`ssl` does, or a :class:`GnuTLSError` naming *rc* (``GNUTLS_E_PUSH_ERROR``,
    ``GNUTLS_E_PULL_ERROR``) when there is none. GnuTLS reports a reset seen by
    ``send`` as a premature termination: with ECONNRESET that is this error too."""
    exc = connection_error()
    if exc is not None:
        return exc
    if rc == E_PREMATURE_TERMINATION:
        return RaggedEOFError(rc, f"{context}: transport closed without close_notify")
    return GnuTLSError(rc, context)


class GnuTLSError(Exception):
    """A GnuTLS operation failed.

    :ivar code: the negative GnuTLS error code.
    :ivar alert: the alert received from the peer (``GNUTLS_E_*_ALERT_RECEIVED``), or None.
    :ivar alert_sent: the fatal alert this side queued in the outgoing buffer, or None.
    """

    def __init__(
        self, code: int, context: str = "", alert: int | None = None, alert_sent: int | None = None
    ) -> None:
        self.code, self.alert, self.alert_sent = code, alert, alert_sent
        message = _strerror(code)
        if alert is not None:
            message += f" (peer sent {_alert_name(alert)})"
        if alert_sent is not None:
            message += f" (sent alert {_alert_name(alert_sent)})"
        super().__init__(
            f"{context}: {message} [GnuTLS error {code}]"
            if context
            else f"{message} [GnuTLS error {code}]"
        )


class VerifyError(GnuTLSError):
    """The peer certificate failed verification.

    :ivar status: the ``gnutls_certificate_status_t`` bit mask.
    :ivar reason: GnuTLS's text, e.g. ``"The certificate is NOT trusted. The name in the
        certificate does not match the expected."``
    :ivar verify_code: what *status* says failed, as an OpenSSL ``X509_V_ERR_*`` code
        (``None`` if no bit says); a name mismatch is an IP address mismatch when
        *ip_address* is true (the name verified was one).
    """

    def __init__(
        self, code: int, status: int, reason: str, alert_sent: int | None, ip_address: bool = False
    ) -> None:
        super().__init__(code, "certificate verify failed", alert_sent=alert_sent)
        self.status, self.reason = status, reason
        self.verify_code = _status_code(status, ip_address)
        self.args = (f"certificate verify failed: {reason}",)


def _status_code(status: int, ip_address: bool) -> int | None:
    if status == _STATUS_NOT_VERIFIED:
        return None
    for bit, code in _STATUS_CODES:
        if status & bit:
            if code == VerifyCode.HOSTNAME_MISMATCH and ip_address:
                return int(VerifyCode.IP_ADDRESS_MISMATCH)
            return int(code)
    return None


class PeerCertificateError(GnuTLSError):
    """GnuTLS refused the peer's certificate in the handshake outside verification: it
    could not parse it, or its key may not be used as the handshake needs (keyUsage).

    :ivar reason: GnuTLS's text, e.g. ``"Key usage violation in certificate has been
        detected."``
    """

    def __init__(self, code: int, context: str, alert_sent: int | None) -> None:
        super().__init__(code, context, alert_sent=alert_sent)
        self.reason = (
            f"GnuTLS refused the peer's certificate: {_strerror(code)} [GnuTLS error {code}]"
        )
        #: The OpenSSL ``X509_V_ERR_*`` code, when the error says what is wrong.
        self.verify_code: int | None = _PEER_CERTIFICATE_CODES.get(code)


class RaggedEOFError(GnuTLSError):
    """The transport reached EOF without a TLS close_notify (data may be truncated)."""


def _strerror(code: int) -> str:
    text = load().c.gnutls_strerror(code)
    return text.decode(errors="replace") if text else f"unknown error {code}"


def _alert_name(alert: int) -> str:
    name = load().c.gnutls_alert_get_name(alert)
    return f"{name.decode()} ({alert})" if name else f"alert {alert}"


def _check(result: Any, context: str) -> int:
    """Return a GnuTLS call's int result, or raise :class:`GnuTLSError` if negative."""
    rc = int(result)
    if rc < 0:
        raise GnuTLSError(rc, context)
    return rc


def _status_text(status: int, purpose: str | None = None) -> str:
    """GnuTLS's text for a verification *status*, and what our settings add to it: which
    key purpose the chain was verified for, and what the verification profile requires."""
    lib = load()
    if status == _STATUS_NOT_VERIFIED:
        return "no certificate was verified"
    out = _Datum()
    rc = lib.c.gnutls_certificate_verification_status_print(status, _CRT_X509, ctypes.byref(out), 0)
    if rc < 0 or not out.data:
        text = f"verification status 0x{status:x}"
    else:
        try:
            text = ctypes.string_at(out.data, out.size).decode(errors="replace").strip()
        finally:
            lib.free(out.data)
    if status & _STATUS_PURPOSE_MISMATCH and purpose is not None:
        name = _KEY_PURPOSE_NAMES.get(purpose, purpose)
        text += (
            f" The certificate's key purpose (extendedKeyUsage, of the leaf or of an "
            f"intermediate CA) does not allow {name} ({purpose})."
        )
    if status & _STATUS_INSECURE_ALGORITHM:
        text += (
            " (GnuTLS's MEDIUM verification profile requires RSA keys of at least 2048 "
            "bits, EC keys of at least 224 bits and no SHA-1 or MD5 signatures.)"
        )
    return text


class _InBuffer:
    """A C copy of *data* and a datum pointing at it; :meth:`wipe` zeroes it."""

    def __init__(self, data: bytes) -> None:
        self.buf = ctypes.create_string_buffer(bytes(data), len(data))
        self.datum = _Datum(ctypes.cast(self.buf, ctypes.c_void_p), len(data))

    def wipe(self) -> None:
        ctypes.memset(self.buf, 0, len(self.buf))


# ======================================================================================
# Credentials, cipher suites, priorities
# ======================================================================================


class _FixedChain:
    """A chain and key imported as ``gnutls_pcert_st``/``gnutls_privkey_t``, handed to
    GnuTLS by a certificate-retrieve callback whenever a server asks for a certificate."""

    def __init__(self, c: Any, cert: _InBuffer, key: _InBuffer, pwd: bytes | None, flags: int):
        self._c = c
        self.count = 0
        self.key: int | None = None
        capacity = cert.buf.raw.count(b"-----BEGIN ") + 1
        self.pcerts = (_PCert * capacity)()
        try:
            size = ctypes.c_uint(capacity)
            rc = c.gnutls_pcert_list_import_x509_raw(
                self.pcerts, ctypes.byref(size), ctypes.byref(cert.datum), _FMT_PEM, 0
            )
            _check(rc, "import certificate chain")
            self.count = size.value
            handle = ctypes.c_void_p()
            _check(c.gnutls_privkey_init(ctypes.byref(handle)), "allocate private key")
            self.key = handle.value
            rc = c.gnutls_privkey_import_x509_raw(
                self.key, ctypes.byref(key.datum), _FMT_PEM, pwd, flags
            )
            _check(rc, "import private key")
        except BaseException:
            self.close()
            raise

        def retrieve(
            session: int | None,
            req_ca_rdn: Any,
            nreqs: int,
            pk_algos: Any,
            pk_algos_length: int,
            pcert: Any,
            pcert_length: Any,
            privkey: Any,
        ) -> int:
            try:
                pcert[0] = ctypes.cast(self.pcerts, ctypes.POINTER(_PCert))
                pcert_length[0] = self.count
                privkey[0] = self.key
                return 0
            except BaseException:  # never into C
                return E_INTERNAL_ERROR

        self.func = _RETRIEVE_FUNC(retrieve)

    def close(self) -> None:
        key, self.key = self.key, None
        if key is not None:
            self._c.gnutls_privkey_deinit(key)
        for i in range(self.count):
            self._c.gnutls_pcert_deinit(ctypes.byref(self.pcerts[i]))
        self.count = 0


class Credentials:
    """``gnutls_certificate_credentials_t``: trust anchors plus own certificate chains.

    Build once, share between sessions (see the module docstring on threads). Every
    ``load_*`` method raises :class:`GnuTLSError` on failure.
    """

    def __init__(self) -> None:
        self._lib = load()
        handle = ctypes.c_void_p()
        alloc = self._lib.c.gnutls_certificate_allocate_credentials
        _check(alloc(ctypes.byref(handle)), "allocate credentials")
        self._handle: int | None = handle.value
        self._retrieve: _FixedChain | None = None
        self.has_trust = False
        self.has_certificate = False

    @property
    def handle(self) -> int:
        """The ``gnutls_certificate_credentials_t`` (ValueError once closed)."""
        if self._handle is None:
            raise ValueError("credentials are closed")
        return self._handle

    def _trusted(self, result: Any, context: str) -> int:
        count = _check(result, context)
        self.has_trust |= count > 0
        return count

    def load_trust_mem(self, data: bytes, *, der: bool = False) -> int:
        """Trust the CA certificate(s) in *data* (PEM, any number; or one DER).

        :returns: how many certificates were added; 0 means none were found.
        """
        buf, fmt = _InBuffer(data), _FMT_DER if der else _FMT_PEM
        add = self._lib.c.gnutls_certificate_set_x509_trust_mem
        return self._trusted(add(self.handle, ctypes.byref(buf.datum), fmt), "load CA certificates")

    def load_trust_file(self, path: str | os.PathLike[str], *, der: bool = False) -> int:
        """Trust the CA certificate(s) in file *path*; returns how many were added."""
        add, fmt = self._lib.c.gnutls_certificate_set_x509_trust_file, _FMT_DER if der else _FMT_PEM
        rc = add(self.handle, os.fsencode(path), fmt)
        return self._trusted(rc, f"load CA file {os.fspath(path)!r}")

    def load_trust_dir(self, path: str | os.PathLike[str]) -> int:
        """Trust every PEM CA certificate file in directory *path*; returns how many."""
        add = self._lib.c.gnutls_certificate_set_x509_trust_dir
        rc = add(self.handle, os.fsencode(path), _FMT_PEM)
        return self._trusted(rc, f"load CA directory {os.fspath(path)!r}")

    def load_system_trust(self) -> int:
        """Trust the system store GnuTLS was built with; returns how many were added."""
        rc = self._lib.c.gnutls_certificate_set_x509_system_trust(self.handle)
        return self._trusted(rc, "load system trust store")

    def load_cert_chain_mem(
        self,
        cert_pem: bytes,
        key_pem: bytes,
        password: bytes | str | None = None,
        *,
        always_send: bool = False,
    ) -> None:
        """Add a certificate chain (PEM, leaf first) and its private key (PEM).

        The key may be PKCS#1, SEC1 or PKCS#8, or encrypted (PKCS#8 or OpenSSL's legacy
        PEM encryption) when *password* is given (``GNUTLS_PKCS_PLAIN`` is passed when it
        is not). The C copies of the key are zeroed before returning.

        :param always_send: for client credentials: present this chain whenever a server
            asks for a certificate. (By default a GnuTLS client sends a certificate only
            if the server's ``certificate_authorities`` list names its issuer, or is
            empty; this installs a ``gnutls_certificate_set_retrieve_function2`` callback
            that returns this chain instead.)
        """
        cert, key = _InBuffer(cert_pem), _InBuffer(key_pem)
        if password is None:
            pwd, flags = None, _PKCS_PLAIN
        else:
            pwd, flags = (password.encode() if isinstance(password, str) else bytes(password)), 0
        c = self._lib.c
        try:
            rc = c.gnutls_certificate_set_x509_key_mem2(
                self.handle, ctypes.byref(cert.datum), ctypes.byref(key.datum), _FMT_PEM, pwd, flags
            )
            _check(rc, "load certificate and private key")
            self.has_certificate = True
            if always_send:
                self._retrieve = _FixedChain(c, cert, key, pwd, flags)
                c.gnutls_certificate_set_retrieve_function2(self.handle, self._retrieve.func)
        finally:
            key.wipe()

    def close(self) -> None:
        """Free the credentials now; only when no session uses them (sessions keep a
        reference, so normally leave this to ``__del__``)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.c.gnutls_certificate_free_credentials(handle)
        retrieve, self._retrieve = self._retrieve, None
        if retrieve is not None:
            retrieve.close()

    def __del__(self) -> None:
        # No module globals (contextlib) here: they may be gone at interpreter shutdown.
        try:  # noqa: SIM105
            self.close()
        except Exception:
            pass


@dataclass(frozen=True)
class CipherSuite:
    """One row of GnuTLS's cipher-suite table (``gnutls_cipher_suite_info``).

    ``name`` is GnuTLS's, e.g. ``"TLS_ECDHE_RSA_AES_128_GCM_SHA256"``; ``kx``/``cipher``/``mac``
    are priority-string keywords (``kx`` is None for TLS 1.3 suites); ``min_version`` is a
    ``gnutls_protocol_t`` (4 = TLS 1.2, 5 = TLS 1.3).
    """

    id: int
    name: str
    kx: str | None
    cipher: str
    mac: str
    min_version: int
    kx_id: int
    cipher_id: int
    mac_id: int


def _suite_info(c: Any, idx: int) -> CipherSuite | None:
    cs = (ctypes.c_ubyte * 2)()
    kx, cipher, mac, ver = ctypes.c_int(), ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    name = c.gnutls_cipher_suite_info(
        idx, cs, ctypes.byref(kx), ctypes.byref(cipher), ctypes.byref(mac), ctypes.byref(ver)
    )
    if name is None:
        return None
    kx_name = c.gnutls_kx_get_name(kx.value) if kx.value != _KX_UNKNOWN else None
    return CipherSuite(
        cs[0] << 8 | cs[1],
        name.decode(),
        kx_name.decode() if kx_name else None,
        c.gnutls_cipher_get_name(cipher.value).decode(),
        c.gnutls_mac_get_name(mac.value).decode(),
        ver.value,
        kx.value,
        cipher.value,
        mac.value,
    )


@functools.cache
def cipher_suite_table() -> dict[int, CipherSuite]:
    """Every cipher suite this GnuTLS knows (enabled or not), by IANA id."""
    c, table, idx = load().c, {}, 0
    while (info := _suite_info(c, idx)) is not None:
        table[info.id] = info
        idx += 1
    return table


class Priority:
    """A parsed GnuTLS priority string (``gnutls_priority_t``); shareable between sessions.

    :raises GnuTLSError: the string is invalid (the message quotes the offending part).
    """

    def __init__(self, spec: str) -> None:
        self._lib = load()
        handle, err_pos = ctypes.c_void_p(), ctypes.c_char_p()
        init = self._lib.c.gnutls_priority_init
        rc = int(init(ctypes.byref(handle), spec.encode(), ctypes.byref(err_pos)))
        if rc < 0:
            where = f" at {err_pos.value.decode(errors='replace')!r}" if err_pos.value else ""
            raise GnuTLSError(rc, f"invalid priority string {spec!r}{where}")
        self.spec = spec
        self._handle: int | None = handle.value

    @property
    def handle(self) -> int:
        """The ``gnutls_priority_t`` (ValueError once closed)."""
        if self._handle is None:
            raise ValueError("priority is closed")
        return self._handle

    def cipher_suite_ids(self) -> list[int]:
        """IANA ids this priority enables, in preference order, for every version."""
        c, idx = self._lib.c, 0
        out: list[int] = []
        while True:
            sidx = ctypes.c_uint()
            rc = int(c.gnutls_priority_get_cipher_suite_index(self.handle, idx, ctypes.byref(sidx)))
            if rc == E_REQUESTED_DATA_NOT_AVAILABLE:
                return out
            idx += 1
            if rc >= 0 and (info := _suite_info(c, sidx.value)) is not None:
                out.append(info.id)

    def close(self) -> None:
        """``gnutls_priority_deinit``; idempotent (sessions already set keep working)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.c.gnutls_priority_deinit(handle)

    def __del__(self) -> None:
        # No module globals (contextlib) here: they may be gone at interpreter shutdown.
        try:  # noqa: SIM105
            self.close()
        except Exception:
            pass


#: ``NORMAL`` with X25519 moved to the front of the groups. GnuTLS's own order puts
#: SECP256R1 first, and a server with ``%SERVER_PRECEDENCE`` then answers the usual
#: X25519 key share of OpenSSL/BoringSSL/rustls clients with a HelloRetryRequest.
DEFAULT_BASE = (
    "NORMAL:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:"
    "+GROUP-X448:+GROUP-FFDHE2048:+GROUP-FFDHE3072:+GROUP-FFDHE4096:+GROUP-FFDHE6144:"
    "+GROUP-FFDHE8192"
)


@dataclass(frozen=True)
class PriorityPlan:
    """What :func:`build_priority` produced.

    :ivar string: the GnuTLS priority string.
    :ivar versions: the TLS versions it enables, highest first, e.g. ``("TLSv1.3", "TLSv1.2")``.
    :ivar suites: IANA ids GnuTLS will offer/accept for those versions, in its order.
    :ivar exact: True when *suites* is exactly the requested set (minus *unsupported*).
        GnuTLS enables the cross-product of kx x cipher x mac keywords, so a list such as
        ECDHE-ECDSA+AES-128-GCM with ECDHE-RSA+CHACHA20 also enables the two mixed suites:
        those are listed in *extra*; requested suites GnuTLS would not enable in *missing*.
    :ivar unsupported: requested ids this GnuTLS does not know.
    """

    string: str
    versions: tuple[str, ...]
    suites: tuple[int, ...]
    exact: bool
    extra: tuple[int, ...] = ()
    missing: tuple[int, ...] = ()
    unsupported: tuple[int, ...] = ()


def build_priority(
    min_version: str = "TLSv1.2",
    max_version: str = "TLSv1.3",
    cipher_suites: Sequence[int] | None = None,
    *,
    server_precedence: bool = False,
    base: str = DEFAULT_BASE,
) -> PriorityPlan:
    """Build a priority string from a version range and optional IANA cipher-suite ids.

    Versions are ``"TLSv1"``, ``"TLSv1.1"``, ``"TLSv1.2"``, ``"TLSv1.3"`` (1.2 and 1.3 are
    the tested ones). With *cipher_suites*, each id becomes its GnuTLS keywords
    (``+ECDHE-RSA``, ``+AES-128-GCM``, ``+AEAD``, ...) and all others are removed; a
    version for which no listed suite exists is disabled. Keyword order follows the list,
    but GnuTLS orders suites by cipher, then kx, then mac, not by the list itself.

    :raises ValueError: an unknown version, an empty range, or no usable suite.
    :raises GnuTLSError: GnuTLS rejected the resulting string (e.g. a bad *base*).
    """
    try:
        lo, hi = _VERSIONS[min_version][0], _VERSIONS[max_version][0]
    except KeyError as exc:
        raise ValueError(f"unsupported TLS version {exc.args[0]!r}") from None
    versions = [v for v, (num, _) in reversed(_VERSIONS.items()) if lo <= num <= hi]
    if not versions:
        raise ValueError(f"empty version range {min_version}..{max_version}")
    table = cipher_suite_table()
    known: list[CipherSuite] = []
    unsupported: list[int] = []
    for sid in cipher_suites or ():
        info = table.get(sid)
        if info is None or info.kx == "VKO-GOST-12":
            unsupported.append(sid)
        elif info not in known:
            known.append(info)
    if cipher_suites is not None:
        if not any(s.min_version == _TLS1_3 for s in known):
            versions = [v for v in versions if v != "TLSv1.3"]
        if not any(s.min_version < _TLS1_3 for s in known):
            versions = [v for v in versions if v == "TLSv1.3"]
        if not versions:
            raise ValueError(
                "none of the requested cipher suites is usable by GnuTLS with "
                f"{min_version}..{max_version}"
            )
    parts = [base, "-VERS-ALL", *(f"+{_VERSIONS[v][1]}" for v in versions)]
    if cipher_suites is not None:
        parts += ["-CIPHER-ALL", *(f"+{x}" for x in dict.fromkeys(s.cipher for s in known))]
        parts += ["-KX-ALL", *(f"+{x}" for x in dict.fromkeys(s.kx for s in known if s.kx))]
        parts += ["-MAC-ALL", *(f"+{x}" for x in dict.fromkeys(s.mac for s in known))]
    if server_precedence:
        parts.append("%SERVER_PRECEDENCE")
    string = ":".join(parts)
    prio = Priority(string)
    try:
        ids = prio.cipher_suite_ids()
    finally:
        prio.close()
    nums = [_VERSIONS[v][0] for v in versions]

    def usable(sid: int) -> bool:
        v = table[sid].min_version
        return _TLS1_3 in nums if v == _TLS1_3 else any(v <= n < _TLS1_3 for n in nums)

    effective = tuple(sid for sid in ids if sid in table and usable(sid))
    if cipher_suites is None:
        return PriorityPlan(string, tuple(versions), effective, True)
    wanted = [s.id for s in known if usable(s.id)]
    extra = tuple(sid for sid in effective if sid not in wanted)
    missing = tuple(sid for sid in wanted if sid not in effective)
    return PriorityPlan(
        string,
        tuple(versions),
        effective,
        not extra and not missing,
        extra,
        missing,
        tuple(unsupported),
    )


# ======================================================================================
# Sessions
# ======================================================================================


class VerifyMode(enum.IntEnum):
    """How the peer certificate is checked."""

    NONE = 0  #: no verification at all
    CHAIN = 1  #: chain to a trusted CA and validity dates; no name check
    HOSTNAME = 2  #: CHAIN plus the DNS name or IP literal (clients; servers treat it as CHAIN)


class CertRequest(enum.IntEnum):
    """Server-side client-certificate policy (values of ``gnutls_certificate_request_t``)."""

    NONE = 0
    REQUEST = 1
    REQUIRE = 2


#: ``callback(session, server_name_or_None) -> Credentials | None`` (see :class:`Session`).
SNICallback = Callable[["Session", "str | None"], "Credentials | None"]


class _Transport(MemoryTransport):
    """The memory buffers, and the slots where callbacks leave results for Python."""

    __slots__ = ("hook_alert", "verify_status")

    def __init__(self) -> None:
        super().__init__()
        self.hook_alert: int | None = None
        self.verify_status: int | None = None


def _transport_callbacks(t: _Transport, c: Any) -> tuple[Any, Any, Any]:
    # The transport pointer GnuTLS hands back is the session itself (for set_errno).
    def push(ptr: int | None, data: int | None, size: int) -> int:
        try:
            t.outgoing += ctypes.string_at(data or 0, size)
            return size
        except BaseException as exc:  # must never reach C
            t.error = exc
            c.gnutls_transport_set_errno(ptr, errno.EIO)
            return -1

    def pull(ptr: int | None, buf: int | None, size: int) -> int:
        try:
            n = min(size, len(t.incoming))
            if n == 0:
                if t.eof:
                    return 0
                c.gnutls_transport_set_errno(ptr, errno.EAGAIN)
                return -1
            # Copied by the ``raw`` setter: unlike ctypes.memmove, a foreign function,
            # it does not release (and re-take) the GIL. (It takes any bytes-like
            # object; typeshed says bytes.)
            with memoryview(t.incoming) as src:
                (ctypes.c_char * n).from_address(buf or 0).raw = src[:n]  # type: ignore[assignment]
            del t.incoming[:n]
            return n
        except BaseException as exc:
            t.error = exc
            c.gnutls_transport_set_errno(ptr, errno.EIO)
            return -1

    def pull_timeout(ptr: int | None, ms: int) -> int:
        return 1 if (t.incoming or t.eof) else 0

    return _PUSH_FUNC(push), _PULL_FUNC(pull), _PULL_TIMEOUT_FUNC(pull_timeout)


def _optional_cert_verifier(t: _Transport, c: Any, vdata: Any) -> Callable[[int | None], int]:
    """Verify a client certificate, for the key purpose in *vdata*, if one was sent.
    (GnuTLS's auto-verification also rejects a missing certificate, which is wrong for
    ``CertRequest.REQUEST``.)"""

    def verify(ptr: int | None) -> int:
        try:
            count, status = ctypes.c_uint(), ctypes.c_uint()
            if not c.gnutls_certificate_get_peers(ptr, ctypes.byref(count)) or not count.value:
                return 0
            rc = int(
                c.gnutls_certificate_verify_peers(ptr, vdata, len(vdata), ctypes.byref(status))
            )
            if rc < 0:
                return rc
            t.verify_status = status.value
            return E_CERTIFICATE_VERIFICATION_ERROR if status.value else 0
        except BaseException as exc:
            t.error = exc
            return E_INTERNAL_ERROR

    return verify


def _hostname_verifier(t: _Transport, c: Any, vdata: Any, host: str) -> Callable[[int | None], int]:
    """GnuTLS's own check of the chain, the DNS name and the key purpose (*vdata*), made as
    strict as OpenSSL's: the name must also match a dNSName subjectAltName by OpenSSL's
    rules (no fallback to the subject CN, no partial wildcards such as ``f*.example.org``)."""

    def verify(ptr: int | None) -> int:
        try:
            status = ctypes.c_uint()
            rc = int(
                c.gnutls_certificate_verify_peers(ptr, vdata, len(vdata), ctypes.byref(status))
            )
            if rc < 0:
                return rc
            value = status.value
            if value == 0:
                count = ctypes.c_uint()
                peers = c.gnutls_certificate_get_peers(ptr, ctypes.byref(count))
                leaf = ctypes.string_at(peers[0].data, peers[0].size) if count.value else b""
                if not has_matching_dns_name(leaf, host):
                    value = _STATUS_INVALID | _STATUS_UNEXPECTED_OWNER
            t.verify_status = value
            return E_CERTIFICATE_VERIFICATION_ERROR if value else 0
        except BaseException as exc:
            t.error = exc
            return E_INTERNAL_ERROR

    return verify


def _sni_hook(wself: weakref.ref[Session]) -> Callable[[int | None], int]:
    def hook(ptr: int | None) -> int:
        sess = wself()
        # Once per connection: after a HelloRetryRequest the second ClientHello runs the
        # hook again, and the credentials chosen the first time stay set.
        if sess is None or sess._sni_callback is None or sess._sni_called:
            return 0
        sess._sni_called = True
        try:
            new = sess._sni_callback(sess, sess.server_name())
            if new is not None:
                rc = sess._lib.c.gnutls_credentials_set(ptr, _CRD_CERTIFICATE, new.handle)
                _check(rc, "switch credentials")
                sess._credentials.append(new)
            return 0
        except BaseException as exc:  # re-raised by Session.handshake()
            sess._t.error = exc
            alert = exc.alert if isinstance(exc, GnuTLSError) else None
            sess._t.hook_alert = _A_HANDSHAKE_FAILURE if alert is None else alert
            return E_USER_ERROR

    return hook


def _intact(fatal: BaseException | None) -> bool:
    """Whether a session that failed with *fatal* (or did not) may still be resumed: only
    a transport closed without close_notify leaves it so (RFC 4346 dropped the rule
    against resuming such a session)."""
    return fatal is None or isinstance(fatal, RaggedEOFError)


class Session(MemoryIO):
    """One TLS connection, driven through memory buffers or attached to a socket.

    :param credentials: trust anchors, and the own chain (required for servers).
    :param server_side: True for a server, False for a client.
    :param priority: a :class:`Priority` or a priority string (see :func:`build_priority`).
    :param verify: a :class:`VerifyMode`; on servers it applies to client certificates.
    :param server_hostname: clients: sent as SNI unless it is an IP literal, and the DNS
        name or IP address the certificate must match under ``VerifyMode.HOSTNAME``
        (which requires it).
    :param alpn_protocols: ALPN ids in preference order; at most 8 of 1..31 bytes each (a
        GnuTLS 3.7 limit, :class:`ValueError` otherwise). Servers choose by their own order.
    :param client_cert: servers: a :class:`CertRequest`.
    :param sni_callback: servers: called as ``cb(session, server_name_or_None)`` once per
        connection, after the (first) ClientHello is parsed; return new :class:`Credentials`
        to switch certificates, or None. If it raises, the handshake fails, a fatal alert
        is queued (the exception's ``.alert`` if it is a :class:`GnuTLSError` that has one,
        else handshake_failure), and :meth:`handshake` re-raises the exception.
    :param fd: a connected, non-blocking stream socket's descriptor for GnuTLS to read
        and write itself (``gnutls_transport_set_int2``) instead of memory buffers; the
        caller keeps it open while the session is used. Operations that cannot progress
        then raise :class:`WantRead` or :class:`WantWrite`, a failed ``recv``/``send``
        raises its :class:`OSError` (:func:`socket_error`), and nothing is ever queued
        in :meth:`peek`.
    :param resume: clients: :meth:`resumption_data` of an earlier session, offered for
        resumption (``gnutls_session_set_data``); data GnuTLS refuses is not offered.
    :raises ValueError: inconsistent arguments. :raises GnuTLSError: GnuTLS refused them.
    """

    _t: _Transport

    def __init__(
        self,
        credentials: Credentials,
        *,
        server_side: bool,
        priority: Priority | str,
        verify: VerifyMode = VerifyMode.HOSTNAME,
        server_hostname: str | None = None,
        alpn_protocols: Sequence[bytes] = (),
        client_cert: CertRequest = CertRequest.NONE,
        sni_callback: SNICallback | None = None,
        fd: int | None = None,
        resume: bytes | None = None,
    ) -> None:
        self._lib = load()
        c = self._lib.c
        self._handle: int | None = None
        self._fd = fd
        self.server_side = server_side
        self.server_hostname = server_hostname
        self._sni_callback = sni_callback
        self._sni_called = False
        self._credentials = [credentials]  # keeps every credential set on the session alive
        self._done = self._bye_sent = self._bye_done = False
        self._fatal: BaseException | None = None
        #: The latest resumption data seen (clients): GnuTLS refuses to give it once a
        #: read failed, even for a transport that closed without close_notify.
        self._resume_data: bytes | None = None
        self._rbuf = ctypes.create_string_buffer(0)
        self._t = _Transport()
        self._keep: list[Any] = []  # C data GnuTLS points to for the session's lifetime
        self._verifies_ip = False  # whether the name verified is an IP address
        #: The key purpose the peer's chain is verified for (see :meth:`_verify_data`).
        self.key_purpose = KP_TLS_WWW_CLIENT if server_side else KP_TLS_WWW_SERVER
        if server_side and server_hostname is not None:
            raise ValueError("server_hostname is for client sessions")
        if not server_side and (sni_callback is not None or client_cert != CertRequest.NONE):
            raise ValueError("sni_callback and client_cert are for server sessions")
        if not server_side and verify == VerifyMode.HOSTNAME and not server_hostname:
            raise ValueError("VerifyMode.HOSTNAME needs server_hostname")
        if server_side and resume is not None:
            raise ValueError("resume is for client sessions")
        protos = [bytes(p) for p in alpn_protocols]
        if len(protos) > _ALPN_MAX_PROTOCOLS or any(
            not 0 < len(p) <= _ALPN_MAX_NAME for p in protos
        ):
            raise ValueError(
                f"GnuTLS accepts at most {_ALPN_MAX_PROTOCOLS} ALPN protocols "
                f"of 1..{_ALPN_MAX_NAME} bytes each"
            )
        self._priority = priority if isinstance(priority, Priority) else Priority(priority)

        handle = ctypes.c_void_p()
        flags = (_SERVER if server_side else _CLIENT) | _NONBLOCK
        if fd is not None:
            flags |= _NO_SIGNAL  # a send to a closed peer fails with EPIPE, no SIGPIPE
        _check(c.gnutls_init(ctypes.byref(handle), flags), "gnutls_init")
        self._handle = h = int(handle.value or 0)
        _check(c.gnutls_priority_set(h, self._priority.handle), "set priority")
        _check(c.gnutls_credentials_set(h, _CRD_CERTIFICATE, credentials.handle), "credentials")
        c.gnutls_handshake_set_timeout(h, 0)
        if fd is None:
            push, pull, pull_timeout = _transport_callbacks(self._t, c)
            self._keep += [push, pull, pull_timeout]
            c.gnutls_transport_set_ptr(h, h)
            c.gnutls_transport_set_push_function(h, push)
            c.gnutls_transport_set_pull_function(h, pull)
            c.gnutls_transport_set_pull_timeout_function(h, pull_timeout)
        else:  # GnuTLS's own recv/send on the descriptor
            c.gnutls_transport_set_int2(h, fd, fd)
        if protos:
            bufs = [_InBuffer(p) for p in protos]
            arr = (_Datum * len(bufs))(*[b.datum for b in bufs])
            alpn_flags = _ALPN_SERVER_PRECEDENCE if server_side else 0
            _check(c.gnutls_alpn_set_protocols(h, arr, len(bufs), alpn_flags), "set ALPN")
        if server_side:
            self._setup_server(c, h, verify, client_cert)
        else:
            self._setup_client(c, h, verify, server_hostname)
            if resume:
                # Refused data (corrupt, expired) is not offered: a full handshake.
                c.gnutls_session_set_data(h, bytes(resume), len(resume))

    def _setup_server(self, c: Any, h: int, verify: VerifyMode, client_cert: CertRequest) -> None:
        if client_cert != CertRequest.NONE:
            self._client_auth(c, h, verify, client_cert)
        if self._sni_callback is not None:
            hook = _SESSION_FUNC(_sni_hook(weakref.ref(self)))
            self._keep.append(hook)
            c.gnutls_handshake_set_post_client_hello_function(h, hook)

    def _verify_data(self, c: Any, h: int, *names: tuple[int, bytes]) -> Any:
        """Prepare verification: the profile, and the typed data to verify for.

        Sets :data:`VERIFY_PROFILE_MEDIUM` on the session and returns a C array of
        ``gnutls_typed_vdata_st``: *names* (``(GNUTLS_DT_*, value)``), then
        ``GNUTLS_DT_KEY_PURPOSE_OID`` with :attr:`key_purpose`, all kept alive with the
        session (GnuTLS keeps the pointers). The caller then installs the verification
        (``gnutls_session_set_verify_cert2`` or a verify function using the array).

        ``gnutls_session_set_verify_cert`` is what sets the profile: it *replaces* the
        profile the priority string set (NORMAL's LOW), where ``..._verify_cert2`` and
        ``gnutls_certificate_set_verify_flags`` would OR the two profile numbers into
        another profile. Its NULL-hostname verification is replaced by the caller.
        """
        c.gnutls_session_set_verify_cert(h, None, VERIFY_PROFILE_MEDIUM)
        items = [*names, (_DT_KEY_PURPOSE_OID, self.key_purpose.encode("ascii"))]
        vdata = (_TypedVData * len(items))()
        for slot, (kind, value) in zip(vdata, items, strict=True):
            if kind == _DT_IP_ADDRESS:  # raw bytes, with their size
                buf = ctypes.create_string_buffer(value, len(value))
                size = len(value)
            else:  # a NUL-terminated string: size 0
                buf, size = ctypes.create_string_buffer(value), 0
            slot.type, slot.data, slot.size = kind, ctypes.cast(buf, ctypes.c_void_p), size
            self._keep.append(buf)
        self._keep.append(vdata)
        return vdata

    def _client_auth(self, c: Any, h: int, verify: VerifyMode, client_cert: CertRequest) -> None:
        c.gnutls_certificate_server_set_request(h, int(client_cert))
        if client_cert == CertRequest.NONE or verify == VerifyMode.NONE:
            return
        vdata = self._verify_data(c, h)
        if client_cert == CertRequest.REQUIRE:
            c.gnutls_session_set_verify_cert2(h, vdata, len(vdata), 0)
        else:
            func = _SESSION_FUNC(_optional_cert_verifier(self._t, c, vdata))
            self._keep.append(func)
            c.gnutls_session_set_verify_function(h, func)

    def set_client_cert_policy(self, client_cert: CertRequest, verify: VerifyMode) -> None:
        """Servers: change the client-certificate policy before the server's first flight
        (from the ``sni_callback``, which runs after the ClientHello is parsed).

        Going back to :attr:`CertRequest.NONE` stops asking; no certificate is then
        processed, so no verification runs.
        """
        if not self.server_side:
            raise ValueError("the client-certificate policy is for server sessions")
        self._client_auth(self._lib.c, self.handle, verify, client_cert)

    def _setup_client(self, c: Any, h: int, verify: VerifyMode, hostname: str | None) -> None:
        ip = None
        if hostname:
            with contextlib.suppress(ValueError):
                ip = ipaddress.ip_address(hostname.strip("[]")).packed
        if hostname and ip is None:  # a DNS name: SNI, and maybe the name to verify
            name = hostname.encode("ascii" if hostname.isascii() else "idna")
            _check(c.gnutls_server_name_set(h, _NAME_DNS, name, len(name)), "set SNI")
            if verify == VerifyMode.HOSTNAME:
                vdata = self._verify_data(c, h, (_DT_DNS_HOSTNAME, name))
                host = name.decode("ascii").lower().rstrip(".")
                func = _SESSION_FUNC(_hostname_verifier(self._t, c, vdata, host))
                self._keep.append(func)
                c.gnutls_session_set_verify_function(h, func)
                return
        elif ip is not None and verify == VerifyMode.HOSTNAME:  # IP literal: no SNI
            self._verifies_ip = True
            vdata = self._verify_data(c, h, (_DT_IP_ADDRESS, ip))
            c.gnutls_session_set_verify_cert2(h, vdata, len(vdata), 0)
            return
        if verify != VerifyMode.NONE:
            vdata = self._verify_data(c, h)
            c.gnutls_session_set_verify_cert2(h, vdata, len(vdata), 0)

    # -- buffers ---------------------------------------------------------------------

    def pending(self) -> int:
        """Decrypted bytes GnuTLS holds, readable without input (``record_check_pending``)."""
        return int(self._lib.c.gnutls_record_check_pending(self.handle))

    # -- TLS operations --------------------------------------------------------------

    def handshake(self) -> None:
        """Advance the handshake until it completes.

        :raises WantRead: input is needed (send the outgoing data first: :meth:`peek`).
        :raises VerifyError: the peer certificate failed verification.
        :raises PeerCertificateError: GnuTLS refused the peer certificate otherwise
            (unparseable, or a key usage violation).
        :raises RaggedEOFError: the transport closed mid-handshake.
        :raises GnuTLSError: any other failure, e.g. a fatal alert from the peer.
        """
        self._raise_if_dead()
        if self._done:
            return
        c, h = self._lib.c, self.handle
        while True:
            before = len(self._t.incoming)
            rc = int(c.gnutls_handshake(h))
            self._after_call(rc, "handshake")
            if rc == E_SUCCESS:
                self._done = True
                if not self.server_side:
                    self._keep_resumption_data()
                return
            if rc in (E_AGAIN, E_INTERRUPTED):
                if 0 < len(self._t.incoming) < before:
                    continue
                if self._fd is not None and c.gnutls_record_get_direction(h):
                    raise WantWrite("handshake: the socket cannot take more data yet")
                raise WantRead("handshake needs more data")
            if rc == E_WARNING_ALERT_RECEIVED and c.gnutls_alert_get(h) != _A_CLOSE_NOTIFY:
                continue
            self._fail(rc, "handshake")

    def _recv(self, target: Any, n: int) -> int:
        """``gnutls_record_recv`` into *target*: the count, 0 after close_notify.

        Completes the handshake first if needed.

        :raises WantRead: no application data is available yet.
        :raises RaggedEOFError: transport EOF without close_notify.
        """
        if not self._done or self._fatal is not None:
            self.handshake()
        if n <= 0:
            return 0
        c, t, h = self._lib.c, self._t, self._handle
        if h is None:
            raise ValueError("session is closed")
        while True:
            before = len(t.incoming)
            rc = int(c.gnutls_record_recv(h, target, n))
            if t.error is not None:
                self._after_call(rc, "read")
            if rc >= 0:
                return rc
            if rc in (E_AGAIN, E_INTERRUPTED):
                if self._resume_data is None and not self.server_side:
                    self._keep_resumption_data()  # the first NewSessionTicket came, say
                if 0 < len(t.incoming) < before:  # a TLS 1.3 post-handshake record
                    continue
                if self._fd is not None and c.gnutls_record_get_direction(h):
                    raise WantWrite("read: the socket cannot take more data yet")
                raise WantRead("no application data yet")
            if rc == E_REHANDSHAKE:  # a TLS 1.2 HelloRequest: decline
                c.gnutls_alert_send(self.handle, _AL_WARNING, _A_NO_RENEGOTIATION)
                continue
            if rc != E_WARNING_ALERT_RECEIVED:
                self._fail(rc, "read")

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt all of *data* into the outgoing buffer; returns ``len(data)``.

        Completes the handshake first if needed (and may raise :class:`WantRead` for that).
        Attached to a socket, returns how many bytes were sent, or raises
        :class:`WantWrite` when none could be: GnuTLS then holds the record it could not
        send, and the next call must pass the same data again (as with OpenSSL).
        """
        self.handshake()
        if self._bye_sent:
            raise GnuTLSError(E_INVALID_SESSION, "write after close_notify()")
        view = memoryview(data).cast("B")
        total = view.nbytes
        if not total:
            return 0
        keep = c_buffer(view)  # the caller's memory when writable, else a copy
        try:
            return self._send_all(ctypes.cast(keep, ctypes.c_void_p).value or 0, total)
        finally:
            del keep  # release the export of the caller's buffer

    def _send_all(self, base: int, total: int) -> int:
        off, stalls, c = 0, 0, self._lib.c
        while off < total:
            rc = int(c.gnutls_record_send(self.handle, base + off, total - off))
            self._after_call(rc, "write")
            if rc > 0:
                off += rc
            elif rc in (E_AGAIN, E_INTERRUPTED) and self._fd is not None:
                # The socket is full: GnuTLS keeps the record it encrypted, and sends it
                # when called again with the same data (from offset *off*).
                if off:
                    return off
                raise WantWrite("write: the socket cannot take more data yet")
            elif rc in (E_AGAIN, E_INTERRUPTED) and stalls < 8:
                # Not expected (push never fails); GnuTLS's contract is to resume the
                # interrupted record by calling again with (NULL, 0).
                stalls += 1
                rc = int(c.gnutls_record_send(self.handle, None, 0))
                self._after_call(rc, "write")
                off += max(rc, 0)
            else:
                self._fail(rc, "write")
        return off

    def close_notify(self) -> None:
        """Queue a close_notify (``gnutls_bye(GNUTLS_SHUT_WR)``). Idempotent; does nothing
        on a session that failed fatally. Attached to a socket that cannot take it yet,
        raises :class:`WantWrite` (call again)."""
        if self._bye_done or self._fatal is not None:
            return
        self._bye_sent = True
        rc = int(self._lib.c.gnutls_bye(self.handle, _SHUT_WR))
        self._after_call(rc, "bye")
        if self._fd is not None and rc < 0:
            if rc in (E_AGAIN, E_INTERRUPTED):
                raise WantWrite("close_notify: the socket cannot take more data yet")
            if rc in (E_PUSH_ERROR, E_PULL_ERROR, E_PREMATURE_TERMINATION):
                self._fatal = socket_error(rc, "bye")
                raise self._fatal
        self._bye_done = True
        _check(rc, "bye")

    # -- failures --------------------------------------------------------------------

    def _after_call(self, rc: int, context: str) -> None:
        """Re-raise an exception a callback stashed during the last C call."""
        exc, self._t.error = self._t.error, None
        if exc is None:
            return
        alert, self._t.hook_alert = self._t.hook_alert, None
        if alert is not None:
            self._lib.c.gnutls_alert_send(self.handle, _AL_FATAL, alert)
        if rc < 0 and self._lib.c.gnutls_error_is_fatal(rc):
            self._fatal = GnuTLSError(rc, f"{context} aborted by {exc!r}", alert_sent=alert)
        raise exc

    def _fail(self, rc: int, context: str) -> None:
        if self._fd is not None and rc in (E_PUSH_ERROR, E_PULL_ERROR, E_PREMATURE_TERMINATION):
            # The socket failed (ECONNRESET, EPIPE, ...) or reached EOF: no alert can
            # reach the peer.
            self._fatal = socket_error(rc, context)
            raise self._fatal
        c, h = self._lib.c, self.handle
        received = sent = None
        if rc in (E_FATAL_ALERT_RECEIVED, E_WARNING_ALERT_RECEIVED):
            received = int(c.gnutls_alert_get(h))
        elif self.server_side and rc in (E_NO_CERTIFICATE_FOUND, E_CERTIFICATE_REQUIRED):
            # GnuTLS would map this to decode_error; peers expect these (RFC 5246/8446).
            tls13 = int(c.gnutls_protocol_get_version(h)) == _TLS1_3
            sent = _A_CERTIFICATE_REQUIRED if tls13 else _A_HANDSHAKE_FAILURE
            c.gnutls_alert_send(h, _AL_FATAL, sent)
        elif rc not in (E_PREMATURE_TERMINATION, E_INVALID_SESSION) and c.gnutls_error_is_fatal(rc):
            level = ctypes.c_int()
            alert = int(c.gnutls_error_to_alert(rc, ctypes.byref(level)))
            if alert >= 0 and int(c.gnutls_alert_send_appropriate(h, rc)) >= 0:
                sent = alert
        exc: GnuTLSError
        if rc == E_CERTIFICATE_VERIFICATION_ERROR:
            status = self._t.verify_status
            if status is None:
                status = int(c.gnutls_session_get_verify_cert_status(h))
            exc = VerifyError(
                rc, status, _status_text(status, self.key_purpose), sent, self._verifies_ip
            )
        elif rc in PEER_CERTIFICATE_ERRORS and not self._done:
            exc = PeerCertificateError(rc, context, sent)
        elif rc == E_PREMATURE_TERMINATION:
            exc = RaggedEOFError(rc, f"{context}: transport closed without close_notify")
        else:
            exc = GnuTLSError(rc, context, alert=received, alert_sent=sent)
        if c.gnutls_error_is_fatal(rc) or not self._done:
            self._fatal = exc
        raise exc

    # -- session information ---------------------------------------------------------

    def version(self) -> str | None:
        """``"TLSv1.2"`` or ``"TLSv1.3"`` (or older) once the handshake is done, else None."""
        if not self._done:
            return None
        return _PROTOCOLS.get(int(self._lib.c.gnutls_protocol_get_version(self.handle)))

    def cipher_suite(self) -> CipherSuite | None:
        """The negotiated suite, or None before the handshake completes."""
        if not self._done:
            return None
        c, h = self._lib.c, self.handle
        tls13 = int(c.gnutls_protocol_get_version(h)) == _TLS1_3
        kx, cipher, mac = (
            int(c.gnutls_kx_get(h)),
            int(c.gnutls_cipher_get(h)),
            int(c.gnutls_mac_get(h)),
        )
        for s in cipher_suite_table().values():
            if (s.cipher_id, s.mac_id) == (cipher, mac) and (
                s.min_version == _TLS1_3 if tls13 else (s.min_version < _TLS1_3 and s.kx_id == kx)
            ):
                return s
        return None

    def cipher_suite_id(self) -> int | None:
        """IANA id of the negotiated suite (e.g. 0x1301, 0xC02F), or None."""
        suite = self.cipher_suite()
        return suite.id if suite else None

    def alpn(self) -> bytes | None:
        """The negotiated ALPN protocol, or None."""
        datum = _Datum()
        rc = int(self._lib.c.gnutls_alpn_get_selected_protocol(self.handle, ctypes.byref(datum)))
        return ctypes.string_at(datum.data, datum.size) if rc >= 0 and datum.data else None

    def server_name(self) -> str | None:
        """Servers: the SNI host name the client sent, or None."""
        buf = ctypes.create_string_buffer(256)
        size, kind = ctypes.c_size_t(len(buf)), ctypes.c_uint()
        rc = int(
            self._lib.c.gnutls_server_name_get(
                self.handle, buf, ctypes.byref(size), ctypes.byref(kind), 0
            )
        )
        if rc < 0 or kind.value != _NAME_DNS:
            return None
        return buf.raw[: size.value].rstrip(b"\0").decode("ascii", errors="replace")

    def peer_certificate_chain_der(self) -> list[bytes]:
        """The certificates the peer sent (leaf first), DER; empty if none."""
        count = ctypes.c_uint()
        arr = self._lib.c.gnutls_certificate_get_peers(self.handle, ctypes.byref(count))
        if not arr:
            return []
        return [ctypes.string_at(arr[i].data, arr[i].size) for i in range(count.value)]

    def peer_certificate_der(self) -> bytes | None:
        """The peer's leaf certificate (DER), or None."""
        chain = self.peer_certificate_chain_der()
        return chain[0] if chain else None

    # -- resumption ------------------------------------------------------------------

    def session_reused(self) -> bool:
        """Whether the handshake resumed a session (``gnutls_session_is_resumed``)."""
        h = self._handle
        return self._done and h is not None and bool(self._lib.c.gnutls_session_is_resumed(h))

    def resumption_data(self) -> bytes | None:
        """Clients: the data that resumes this session (``gnutls_session_get_data2``),
        or None: before the handshake, after a fatal error, or under TLS 1.3 until the
        server's NewSessionTicket has arrived (read application data first).

        A transport that closed without close_notify is no such error (TLS 1.1 and later
        may resume that session), but GnuTLS then refuses the data: what was taken before
        is returned (after the handshake, or when the first ticket came, or by an
        earlier call).
        """
        if self.server_side or not self._done or self._handle is None:
            return None
        if not _intact(self._fatal):
            return None
        if self._fatal is None:
            self._keep_resumption_data()
        return self._resume_data

    def _keep_resumption_data(self) -> None:
        """Take the current resumption data, if GnuTLS has any, into ``_resume_data``."""
        data = self._live_resumption_data()
        if data is not None:
            self._resume_data = data

    def _live_resumption_data(self) -> bytes | None:
        c, h = self._lib.c, self._handle
        if h is None:
            return None
        tls13 = int(c.gnutls_protocol_get_version(h)) == _TLS1_3
        if tls13 and not c.gnutls_session_get_flags(h) & _SFLAGS_SESSION_TICKET:
            return None  # get_data2 would wait for the ticket, then return dummy data
        datum = _Datum()
        if int(c.gnutls_session_get_data2(h, ctypes.byref(datum))) < 0 or not datum.data:
            return None
        try:
            return ctypes.string_at(datum.data, datum.size)
        finally:
            ctypes.memset(datum.data, 0, datum.size)  # it holds the session's secret
            self._lib.free(datum.data)

    def resumption_state(self) -> tuple[bytes, float] | None:
        """:meth:`resumption_data` and its lifetime, or None. GnuTLS does not say what
        lifetime the server gave its ticket (and refuses to offer an expired TLS 1.3
        ticket itself): :data:`~tls_adapter._session.DEFAULT_SESSION_LIFETIME`."""
        data = self.resumption_data()
        return None if data is None else (data, DEFAULT_SESSION_LIFETIME)

    def close(self) -> None:
        """``gnutls_deinit``; idempotent. Sends nothing (see :meth:`close_notify`)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.c.gnutls_deinit(handle)
