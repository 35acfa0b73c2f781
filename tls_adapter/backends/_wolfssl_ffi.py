"""A ctypes binding to the system wolfSSL (``libwolfssl.so.35``) that runs TLS over memory
or on a socket's descriptor.

Theory of operation
===================

Importing this module does nothing. :func:`load` opens the library (found with
``ctypes.util.find_library("wolfssl")``, falling back to ``libwolfssl.so.35``), declares the
``argtypes``/``restype`` of every function used here, checks that it has TLS 1.3 and the
OpenSSL compatibility layer (Debian builds it with both), and calls ``wolfSSL_Init``. It
is cached, and every class calls it on construction; a missing or unusable library raises
:class:`ImportError`.

The objects mirror wolfSSL's own:

* :class:`Context` wraps a ``WOLFSSL_CTX`` made from ``wolfSSLv23_{client,server}_method``
  (every version, then narrowed with ``wolfSSL_CTX_set_{min,max}_proto_version``): trust
  anchors (PEM bytes, a file, a directory), the cipher list, the own certificate chain and
  private key (from memory only: key bytes are copied into a C buffer that is zeroed
  afterwards, and an encrypted key is decrypted by wolfSSL with the password handed over
  through ``wolfSSL_CTX_set_default_passwd_cb``), and the verification mode. Build one,
  then share it between any number of sessions.
* :class:`Session` wraps a ``WOLFSSL`` whose transport is a pair of wolfSSL's own memory
  BIOs (``wolfSSL_BIO_s_mem``, attached with ``wolfSSL_set_bio``, freed with the session),
  so it never touches a socket (unless attached to one, below) and no Python callback
  runs per record: ``wolfSSL_read`` decrypts the records queued in the read BIO
  entirely in C, with the GIL released.
  :meth:`Session.receive` copies ciphertext into the read BIO (``wolfSSL_BIO_write``,
  straight from the caller's buffer; beyond :data:`BIO_FILL` bytes the rest waits in a
  ``bytearray`` and tops the BIO up as wolfSSL drains it, since wolfSSL moves a memory
  BIO's remaining bytes to the front after every read); once both are empty wolfSSL
  reports *want read*, which after ``receive(b"")`` (the transport's EOF, remembered in
  Python) is a ragged EOF.
  After every call the write BIO is drained (``wolfSSL_BIO_read``) into an outgoing
  ``bytearray``, which never refuses data, so wolfSSL never has a write to retry; the
  caller drains that with :meth:`Session.peek` + :meth:`Session.consume`.

  Attached to a socket instead (``Session(fd=...)``, ``wolfSSL_set_fd``), wolfSSL uses
  its default ``recv``/``send`` I/O on the non-blocking descriptor: no BIOs, nothing
  queued in Python. It reads a record's 5-byte header, then exactly its body (checked
  with strace on Debian's 5.5.4; no read-ahead). ``WOLFSSL_ERROR_WANT_READ``/``WRITE``
  raise :class:`WantRead`/:class:`WantWrite` (a write wolfSSL could not finish must be
  repeated with the same data). wolfSSL reports a reset connection like the peer's EOF
  (``SOCKET_PEER_CLOSED_E``, or ``SOCKET_ERROR_E`` in the handshake), so the errno
  ctypes saved (the library is loaded with ``use_errno=True``) tells them apart:
  ECONNRESET, EPIPE and the like raise the socket's :class:`OSError`, no errno is a
  :class:`RaggedEOFError`.

The want-read dance: an operation that needs peer data raises :class:`WantRead`; flush
the outgoing buffer, feed whatever arrives, retry. Flush after *every* call, failed ones
included: on a fatal error wolfSSL queues the matching alert there. After a fatal error
the session is dead: every later operation re-raises it.

Certificate checks run inside the handshake, done by wolfSSL: the chain and dates
(``SSL_VERIFY_PEER``), and for clients that check the host name, the DNS name
(``wolfSSL_check_domain_name``) or IP address
(``wolfSSL_X509_VERIFY_PARAM_set1_ip_asc``, given IPv6 in the full form wolfSSL compares
against). wolfSSL 5.5.4's name matching is laxer than OpenSSL's (subject CN fallback,
``*`` for any number of labels anywhere, an IP address matched against the CN or a
dNSName), so a verify callback (``wolfSSL_set_verify``) then also requires, for the leaf,
a dNSName subjectAltName that matches by OpenSSL's rules (:func:`dns_name_matches`) or an
iPAddress subjectAltName equal to the address. For IP addresses that callback is the
check that counts: with a verify callback set, wolfSSL calls it with ``preverify=1``
despite an IP mismatch, and the callback's verdict stands. A failure raises
:class:`VerifyError` with a reason.

Session resumption (clients; :func:`resumption_supported`, when the library has the
session functions): :meth:`Session.resumption_state` is a :class:`SessionHandle`, which
owns a copy (``wolfSSL_SESSION_dup`` of ``wolfSSL_SSL_get0_session``) freed with
``wolfSSL_SESSION_free`` when it is collected, so it outlives the connection and never
changes under a connection that offers it; ``Session(resume=handle)`` offers it with
``wolfSSL_set_session``, and :meth:`Session.session_reused` is
``wolfSSL_session_reused``. What wolfSSL 5.5.4 can do safely decides the rest:

* TLS 1.3 by ticket. Clients offer only the psk_ke mode (``wolfSSL_no_dhe_psk``), so
  servers that follow it (rustls) send no NewSessionTicket, whose nonce this wolfSSL
  cannot parse beyond 8 bytes; OpenSSL sends tickets anyway. A connection that offers a
  ticket offers psk_dhe_ke (all OpenSSL accepts). A ticket counts once it has arrived
  on this connection (``wolfSSL_set_SessionTicket_cb``): a resumed session still holds
  the ticket it was offered with until its successor comes.
* TLS 1.2 by session ID only. The client never asks for TLS 1.2 tickets: holding one,
  wolfSSL takes any ServerHello for an accepted resumption, so a server that declines
  the ticket fails the handshake (``DSH_CheckSessionId``).
* ``wolfSSL_set_session`` pins the ClientHello to the session's TLS version: a TLS 1.3
  session fails against a server that now speaks only TLS 1.2, and a TLS 1.2 session
  would hold a TLS 1.3-capable connection at TLS 1.2 (the backend does not offer one
  there).
* A declined offer is a full handshake, verified in full; but wolfSSL appends the chain
  it receives to the offered session's (``SESSION_CERTS``), so
  :meth:`Session.peer_certificate_chain_der` returns only what this handshake brought,
  and such a connection gives no session to resume.

Callbacks (password, verify, servername) are ``CFUNCTYPE`` objects kept alive
for as long as C may call them. They catch every exception, stash it, return an error
code to C, and the stashed exception is re-raised once control is back in Python. They
hold no strong reference to the :class:`Session`, so a dropped session is freed
(``wolfSSL_free``) at once by ``__del__``.

Threads: ctypes releases the GIL while wolfSSL runs. A :class:`Context` may be shared by
sessions in many threads once built, but must not be modified while sessions use it. A
:class:`Session` must be driven by one thread at a time.
"""

from __future__ import annotations

import ctypes
import functools
import ipaddress
import os
import platform
import weakref
from collections.abc import Callable, Sequence
from ctypes.util import find_library
from dataclasses import dataclass
from typing import Any

from .._session import DEFAULT_SESSION_LIFETIME
from .._verify_codes import VerifyCode, from_legacy
from .._x509 import decode_certificate, has_matching_dns_name
from ._ffi_buffer import MemoryIO, MemoryTransport, c_buffer, connection_error

__all__ = [
    "BIO_FILL",
    "CipherSuite",
    "Context",
    "RaggedEOFError",
    "SNICallback",
    "Session",
    "SessionHandle",
    "VerifyError",
    "WantRead",
    "WantWrite",
    "WolfSSLError",
    "cipher_suite_table",
    "error_string",
    "has_aes_instructions",
    "library_version",
    "load",
    "resumption_supported",
]

# ======================================================================================
# Low-level declarations
# ======================================================================================

_SUCCESS = 1
_ERROR_WANT_READ, _ERROR_WANT_WRITE, _ERROR_SYSCALL, _ERROR_ZERO_RETURN = 2, 3, 5, 6
_FILETYPE_PEM, _FILETYPE_ASN1 = 1, 2
_VERIFY_NONE, _VERIFY_PEER, _VERIFY_FAIL_IF_NO_PEER_CERT = 0, 1, 2
_CBIO_ERR_GENERAL, _CBIO_ERR_WANT_READ, _CBIO_ERR_CONN_CLOSE = -1, -2, -5
_SNI_HOST_NAME = 0
_ALPN_CONTINUE_ON_MISMATCH = 2
_ALPN_NOT_FOUND = -9
_LOAD_FLAG_IGNORE_ERR = 1
_SHUTDOWN_NOT_DONE = 2
#: The most ciphertext queued in a session's read BIO. wolfSSL's memory BIO moves what is
#: left to the front after every read, so a bounded fill keeps reads linear in the input.
BIO_FILL = 256 * 1024
_VERSION_NUMBERS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}

# wolfSSL error codes (wolfssl/error-ssl.h, wolfssl/wolfcrypt/error-crypt.h).
E_FATAL_ERROR = -313  # a fatal alert was received
E_ZERO_RETURN = -343  # the peer's close_notify
E_SOCKET_ERROR = -308
E_SOCKET_PEER_CLOSED = -397
E_NO_PEER_CERT = -345
E_BAD_FUNC_ARG = -173
#: Errors that mean "the peer's certificate did not verify": it failed the chain, date
#: or name checks, could not be parsed (ASN), or may not be used as the handshake needs
#: (keyUsage, extendedKeyUsage, key size).
VERIFY_ERRORS = frozenset(
    {-140, -141, -142, -143, -144, -145, -146, -147, -149, -150, -151, -152, -154, -155}
    | {-156, -157, -158, -160, -161, -177, -188, -190, -198, -238, -275, -322, -325, -329}
    | {-330, -360, -361}
    # ASN_UNKNOWN_OID_E, ASN_TIME_E, ASN_ECC_KEY_E, ECC_CURVE_OID_E, KEYUSAGE_E,
    # ASN_PATHLEN_SIZE_E, EXTKEYUSAGE_E
    | {-148, -153, -171, -172, -226, -237, -247}
    # NOT_CA_ERROR, MAX_CHAIN_ERROR, KEYUSE_SIGNATURE_E, KEYUSE_ENCIPHER_E,
    # EXTKEYUSE_AUTH_E, RSA_KEY_SIZE_E, ECC_KEY_SIZE_E
    | {-357, -368, -383, -385, -386, -409, -410}
)

_vp, _int, _cp, _uint = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint
_PASSWD_FUNC = ctypes.CFUNCTYPE(_int, _vp, _int, _int, _vp)
_VERIFY_FUNC = ctypes.CFUNCTYPE(_int, _int, _vp)
_SNI_FUNC = ctypes.CFUNCTYPE(_int, _vp, ctypes.POINTER(_int), _vp)
_SNI_FATAL = 2  # fatal_return: send the alert in *ad and fail the handshake
_A_HANDSHAKE_FAILURE = 40
#: CallbackSessionTicket: (ssl, ticket, size, ctx), called as each ticket arrives.
_TICKET_FUNC = ctypes.CFUNCTYPE(_int, _vp, _vp, _int, _vp)

_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {  # name: (restype, argtypes)
    "wolfSSL_Init": (_int, []),
    "wolfSSL_lib_version": (_cp, []),
    "wolfSSLv23_client_method": (_vp, []),
    "wolfSSLv23_server_method": (_vp, []),
    "wolfSSL_CTX_new": (_vp, [_vp]),
    "wolfSSL_CTX_free": (None, [_vp]),
    "wolfSSL_CTX_set_min_proto_version": (_int, [_vp, _int]),
    "wolfSSL_CTX_set_max_proto_version": (_int, [_vp, _int]),
    "wolfSSL_CTX_set_cipher_list": (_int, [_vp, _cp]),
    "wolfSSL_CTX_no_dhe_psk": (_int, [_vp]),
    "wolfSSL_CTX_set_verify": (None, [_vp, _int, _vp]),
    "wolfSSL_CTX_load_verify_buffer": (_int, [_vp, _vp, ctypes.c_long, _int]),
    "wolfSSL_CTX_load_verify_locations_ex": (_int, [_vp, _cp, _cp, _uint]),
    "wolfSSL_CTX_use_certificate_chain_buffer": (_int, [_vp, _vp, ctypes.c_long]),
    "wolfSSL_CTX_use_PrivateKey_buffer": (_int, [_vp, _vp, ctypes.c_long, _int]),
    "wolfSSL_CTX_check_private_key": (_int, [_vp]),
    "wolfSSL_CTX_set_default_passwd_cb": (None, [_vp, _vp]),
    "wolfSSL_CTX_set_default_passwd_cb_userdata": (None, [_vp, _vp]),
    "wolfSSL_CTX_get0_certificate": (_vp, [_vp]),
    "wolfSSL_CTX_get0_privatekey": (_vp, [_vp]),
    "wolfSSL_X509_get_pubkey": (_vp, [_vp]),
    "wolfSSL_EVP_PKEY_free": (None, [_vp]),
    "wolfSSL_EVP_sha256": (_vp, []),
    "wolfSSL_EVP_MD_CTX_new": (_vp, []),
    "wolfSSL_EVP_MD_CTX_free": (None, [_vp]),
    "wolfSSL_EVP_DigestSignInit": (_int, [_vp, _vp, _vp, _vp, _vp]),
    "wolfSSL_EVP_DigestSignUpdate": (_int, [_vp, _cp, _uint]),
    "wolfSSL_EVP_DigestSignFinal": (_int, [_vp, _vp, ctypes.POINTER(ctypes.c_size_t)]),
    "wolfSSL_EVP_DigestVerifyInit": (_int, [_vp, _vp, _vp, _vp, _vp]),
    "wolfSSL_EVP_DigestVerifyUpdate": (_int, [_vp, _cp, ctypes.c_size_t]),
    "wolfSSL_EVP_DigestVerifyFinal": (_int, [_vp, _vp, ctypes.c_size_t]),
    "wolfSSL_new": (_vp, [_vp]),
    "wolfSSL_free": (None, [_vp]),
    "wolfSSL_BIO_s_mem": (_vp, []),
    "wolfSSL_BIO_new": (_vp, [_vp]),
    "wolfSSL_BIO_free": (_int, [_vp]),
    "wolfSSL_BIO_write": (_int, [_vp, _vp, _int]),
    "wolfSSL_BIO_read": (_int, [_vp, _vp, _int]),
    "wolfSSL_BIO_ctrl_pending": (ctypes.c_size_t, [_vp]),
    "wolfSSL_set_bio": (None, [_vp, _vp, _vp]),
    "wolfSSL_set_fd": (_int, [_vp, _int]),
    "wolfSSL_set_verify": (None, [_vp, _int, _vp]),
    "wolfSSL_X509_STORE_CTX_get_error_depth": (_int, [_vp]),
    "wolfSSL_X509_STORE_CTX_get_current_cert": (_vp, [_vp]),
    "wolfSSL_UseSNI": (_int, [_vp, ctypes.c_ubyte, _vp, ctypes.c_ushort]),
    "wolfSSL_UseALPN": (_int, [_vp, _cp, _uint, ctypes.c_ubyte]),
    "wolfSSL_ALPN_GetProtocol": (
        _int,
        [_vp, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_ushort)],
    ),
    "wolfSSL_check_domain_name": (_int, [_vp, _cp]),
    "wolfSSL_CTX_set_servername_callback": (None, [_vp, _SNI_FUNC]),
    "wolfSSL_SNI_GetRequest": (ctypes.c_ushort, [_vp, ctypes.c_ubyte, ctypes.POINTER(_vp)]),
    "wolfSSL_set_SSL_CTX": (_vp, [_vp, _vp]),
    "wolfSSL_get0_param": (_vp, [_vp]),
    "wolfSSL_X509_VERIFY_PARAM_set1_ip_asc": (_int, [_vp, _cp]),
    "wolfSSL_connect": (_int, [_vp]),
    "wolfSSL_accept": (_int, [_vp]),
    "wolfSSL_read": (_int, [_vp, _vp, _int]),
    "wolfSSL_write": (_int, [_vp, _vp, _int]),
    "wolfSSL_shutdown": (_int, [_vp]),
    "wolfSSL_pending": (_int, [_vp]),
    "wolfSSL_get_error": (_int, [_vp, _int]),
    "wolfSSL_ERR_error_string_n": (None, [ctypes.c_ulong, _cp, ctypes.c_size_t]),
    "wolfSSL_get_verify_result": (ctypes.c_long, [_vp]),
    "wolfSSL_X509_verify_cert_error_string": (_cp, [ctypes.c_long]),
    "wolfSSL_is_init_finished": (_int, [_vp]),
    "wolfSSL_get_version": (_cp, [_vp]),
    "wolfSSL_get_current_cipher_suite": (_int, [_vp]),
    "wolfSSL_get_peer_certificate": (_vp, [_vp]),
    "wolfSSL_get_peer_chain": (_vp, [_vp]),
    "wolfSSL_get_chain_count": (_int, [_vp]),
    "wolfSSL_get_chain_length": (_int, [_vp, _int]),
    "wolfSSL_get_chain_cert": (_vp, [_vp, _int]),
    "wolfSSL_X509_get_der": (_vp, [_vp, ctypes.POINTER(_int)]),
    "wolfSSL_X509_free": (None, [_vp]),
    "wolfSSL_get_cipher_list": (_cp, [_int]),
    "wolfSSL_get_cipher_suite_from_name": (
        _int,
        [_cp, ctypes.POINTER(ctypes.c_ubyte), ctypes.POINTER(ctypes.c_ubyte), ctypes.POINTER(_int)],
    ),
}

#: What session resumption needs; a library without all of them does not resume.
_RESUMPTION_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "wolfSSL_SSL_get0_session": (_vp, [_vp]),
    "wolfSSL_set_session": (_int, [_vp, _vp]),
    "wolfSSL_session_reused": (_int, [_vp]),
    "wolfSSL_SESSION_dup": (_vp, [_vp]),
    "wolfSSL_SESSION_free": (None, [_vp]),
    "wolfSSL_SESSION_has_ticket": (_int, [_vp]),
    "wolfSSL_SESSION_is_resumable": (_int, [_vp]),
    "wolfSSL_SESSION_get_timeout": (ctypes.c_long, [_vp]),
    "wolfSSL_no_dhe_psk": (_int, [_vp]),
    "wolfSSL_set_SessionTicket_cb": (_int, [_vp, _TICKET_FUNC, _vp]),
}


class _Lib:
    """The loaded library: ``c`` is the ``ctypes.CDLL`` with every signature declared;
    ``resumption`` says whether it has the session functions."""

    def __init__(self, c: Any, version: str, resumption: bool) -> None:
        self.c = c
        self.version = version
        self.resumption = resumption


@functools.lru_cache(maxsize=1)
def load() -> _Lib:
    """Open and initialise wolfSSL once; :class:`ImportError` when it is missing or unusable."""
    path = find_library("wolfssl") or "libwolfssl.so.35"
    try:
        # use_errno: a session attached to a socket reports why the socket failed.
        c = ctypes.CDLL(path, use_errno=True)
    except OSError as e:
        raise ImportError(f"cannot load the wolfSSL library ({path}): {e}") from e
    try:
        for name, (restype, argtypes) in _SIGNATURES.items():
            func = getattr(c, name)
            func.restype, func.argtypes = restype, argtypes
    except AttributeError as e:
        raise ImportError(f"this wolfSSL lacks a needed function: {e}") from e
    resumption = True
    for name, (restype, argtypes) in _RESUMPTION_SIGNATURES.items():
        try:
            func = getattr(c, name)
        except AttributeError:
            resumption = False
            continue
        func.restype, func.argtypes = restype, argtypes
    if c.wolfSSL_Init() != _SUCCESS:
        raise ImportError("wolfSSL_Init failed")
    version = (c.wolfSSL_lib_version() or b"?").decode("ascii", "replace")
    return _Lib(c, version, resumption)


def resumption_supported() -> bool:
    """Whether this wolfSSL has what client session resumption needs (session
    functions and session tickets)."""
    return load().resumption


def library_version() -> str:
    """wolfSSL's version string, e.g. ``"5.5.4"``."""
    return load().version


#: The opcode bytes of x86 ``AESENC`` (``66 [REX] 0F 38 DC``); AES-NI code holds hundreds.
_AESENC = b"\x0f\x38\xdc"
_AESENC_MIN = 16


@functools.lru_cache(maxsize=1)
def has_aes_instructions() -> bool:
    """Whether the loaded wolfSSL has AES-NI code, i.e. hardware-speed AES-GCM.

    Read off the library file: x86-64 code that uses AES-NI holds hundreds of ``AESENC``
    instructions (Debian's ``libwolfssl.so.35`` none: its AES is table-driven C, several
    times slower than its ChaCha20-Poly1305). True whenever it cannot tell (another
    architecture, the file not found), so a guess never changes behaviour.
    """
    load()
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return True
    path = None
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                name = line.rsplit(" ", 1)[-1].strip()
                if os.path.basename(name).startswith("libwolfssl.so"):
                    path = name
                    break
        if path is None:
            return True
        with open(path, "rb") as lib:
            return lib.read().count(_AESENC) >= _AESENC_MIN
    except OSError:
        return True


# ======================================================================================
# Errors
# ======================================================================================


def error_string(code: int) -> str:
    """wolfSSL's text for an error code."""
    buf = ctypes.create_string_buffer(256)
    load().c.wolfSSL_ERR_error_string_n(code & 0xFFFFFFFFFFFFFFFF, buf, len(buf))
    return buf.value.decode("utf-8", "replace") or f"wolfSSL error {code}"


class WolfSSLError(Exception):
    """A wolfSSL failure: ``code`` is wolfSSL's (negative) error code."""

    def __init__(self, code: int, context: str, detail: str | None = None) -> None:
        self.code = code
        text = detail if detail is not None else error_string(code)
        super().__init__(f"{context}: {text} ({code})")


class VerifyError(WolfSSLError):
    """The peer's certificate failed verification; ``reason`` says why, ``verify_code``
    (an OpenSSL ``X509_V_ERR_*`` code, or ``None``) what."""

    def __init__(self, code: int, reason: str, verify_code: int | None = None) -> None:
        super().__init__(code, "certificate verification failed", reason)
        self.reason = reason
        self.verify_code = verify_code


class RaggedEOFError(WolfSSLError):
    """The transport closed without a close_notify."""


class WantRead(Exception):
    """More input from the peer is needed: flush the outgoing data, feed input, retry
    (attached to a socket: retry once it is readable)."""


class WantWrite(Exception):
    """A session attached to a non-blocking socket could not send: retry the same call
    (with the same data) once the socket is writable."""


def _check(rc: int, what: str, failed: str = "failed") -> None:
    if rc != _SUCCESS:
        raise WolfSSLError(rc, what, None if rc < 0 else failed)


# ======================================================================================
# Cipher suites
# ======================================================================================


@dataclass(frozen=True)
class CipherSuite:
    """One suite wolfSSL knows: IANA ``id`` and wolfSSL's own ``name``."""

    id: int
    name: str

    @property
    def tls13(self) -> bool:
        """Whether this is a TLS 1.3 suite (usable only with TLS 1.3)."""
        return self.id >> 8 == 0x13


@functools.lru_cache(maxsize=1)
def cipher_suite_table() -> dict[int, CipherSuite]:
    """Every suite this wolfSSL build has, by IANA id."""
    c = load().c
    out: dict[int, CipherSuite] = {}
    index = 0
    while True:
        raw = c.wolfSSL_get_cipher_list(index)
        if not raw:
            break
        index += 1
        b0, b1, flags = ctypes.c_ubyte(), ctypes.c_ubyte(), ctypes.c_int()
        rc = c.wolfSSL_get_cipher_suite_from_name(
            raw, ctypes.byref(b0), ctypes.byref(b1), ctypes.byref(flags)
        )
        if rc == 0:
            value = (b0.value << 8) | b1.value
            out.setdefault(value, CipherSuite(value, raw.decode("ascii")))
    return out


# ======================================================================================
# Contexts
# ======================================================================================


class _InBuffer:
    """Bytes copied into a C buffer that is zeroed when dropped (for key material)."""

    def __init__(self, data: bytes) -> None:
        self.buf = ctypes.create_string_buffer(data, len(data))
        self.size = len(data)

    def wipe(self) -> None:
        ctypes.memset(self.buf, 0, self.size)


class Context:
    """A ``WOLFSSL_CTX``: versions, ciphers, trust anchors, own chain and verify mode."""

    def __init__(self, *, server_side: bool) -> None:
        self._lib = load()
        c = self._lib.c
        self._handle: int | None = None
        self.server_side = server_side
        method = c.wolfSSLv23_server_method() if server_side else c.wolfSSLv23_client_method()
        handle = c.wolfSSL_CTX_new(method)
        if not handle:
            raise MemoryError("wolfSSL_CTX_new failed")
        self._handle = int(handle)
        self._keep: list[Any] = []
        if not server_side and not self._lib.resumption:
            # Offer only the psk_ke resumption mode: servers that follow it (rustls) then
            # send no NewSessionTicket, whose 32-byte nonce this wolfSSL cannot parse (it
            # allows 8 bytes and fails the connection). With resumption, each session
            # does it (wolfSSL_no_dhe_psk) unless it offers a ticket.
            c.wolfSSL_CTX_no_dhe_psk(self._handle)
        self._sessions: weakref.WeakValueDictionary[int, Session] | None = None
        self.verify_mode = _VERIFY_NONE
        self.set_verify(_VERIFY_NONE)

    @property
    def handle(self) -> int:
        """The ``WOLFSSL_CTX*``."""
        if self._handle is None:
            raise ValueError("context is closed")
        return self._handle

    def set_versions(self, low: str, high: str) -> None:
        """Allow TLS *low* .. *high* (``"TLSv1.2"``, ``"TLSv1.3"``)."""
        c = self._lib.c
        _check(c.wolfSSL_CTX_set_min_proto_version(self.handle, _VERSION_NUMBERS[low]), low)
        _check(c.wolfSSL_CTX_set_max_proto_version(self.handle, _VERSION_NUMBERS[high]), high)

    def set_cipher_list(self, names: Sequence[str]) -> None:
        """Allow exactly these wolfSSL suite names, in this order."""
        _check(
            self._lib.c.wolfSSL_CTX_set_cipher_list(self.handle, ":".join(names).encode()),
            "set the cipher list",
        )

    def set_verify(self, mode: int) -> None:
        """``wolfSSL_CTX_set_verify`` (``SSL_VERIFY_*`` bits)."""
        self._lib.c.wolfSSL_CTX_set_verify(self.handle, mode, None)
        self.verify_mode = mode

    def enable_sni_hook(self) -> None:
        """Servers: run each session's ``sni_callback`` once the ClientHello is parsed.

        wolfSSL calls the context's servername callback for every ClientHello (with or
        without SNI); it is dispatched to the :class:`Session` that owns the ``WOLFSSL``.
        """
        if self._sessions is not None:
            return
        sessions: weakref.WeakValueDictionary[int, Session] = weakref.WeakValueDictionary()
        self._sessions = sessions

        def hook(ssl: int | None, alert: Any, arg: int | None) -> int:
            session = sessions.get(ssl or 0)
            if session is None:
                return 0
            try:
                session._run_sni_callback()
                return 0
            except BaseException as exc:  # re-raised once control is back in Python
                session._t.error = exc
                alert[0] = _A_HANDSHAKE_FAILURE
                return _SNI_FATAL

        callback = _SNI_FUNC(hook)
        self._keep.append(callback)
        self._lib.c.wolfSSL_CTX_set_servername_callback(self.handle, callback)

    def verify_peer(self, *, require: bool) -> None:
        """Verify the peer's chain; with *require*, fail when it sends none (servers)."""
        self.set_verify(_VERIFY_PEER | (_VERIFY_FAIL_IF_NO_PEER_CERT if require else 0))

    def load_trust_pem(self, pem: bytes) -> None:
        """Trust the CA certificates in *pem*."""
        buf = ctypes.create_string_buffer(pem, len(pem))
        _check(
            self._lib.c.wolfSSL_CTX_load_verify_buffer(self.handle, buf, len(pem), _FILETYPE_PEM),
            "load CA certificates",
        )

    def load_trust_locations(self, cafile: str | None, capath: str | None) -> None:
        """Trust a PEM bundle and/or every certificate file in a directory."""
        rc = self._lib.c.wolfSSL_CTX_load_verify_locations_ex(
            self.handle,
            os.fsencode(cafile) if cafile else None,
            os.fsencode(capath) if capath else None,
            _LOAD_FLAG_IGNORE_ERR,
        )
        _check(rc, f"load CA certificates from {cafile or capath!r}")

    def use_chain(
        self, chain_pem: bytes, key: bytes, key_der: bool, password: bytes | None
    ) -> None:
        """Present *chain_pem* (leaf first) with its private key (PEM or DER), from memory."""
        c = self._lib.c
        chain = ctypes.create_string_buffer(chain_pem, len(chain_pem))
        _check(
            c.wolfSSL_CTX_use_certificate_chain_buffer(self.handle, chain, len(chain_pem)),
            "load the certificate chain",
        )
        secret = _InBuffer(key)
        pw = _InBuffer(password or b"")
        calls: list[int] = []

        def passwd(buf: int | None, size: int, rwflag: int, userdata: int | None) -> int:
            try:
                calls.append(1)
                if password is None or len(password) > size:
                    return -1
                ctypes.memmove(buf or 0, pw.buf, pw.size)
                return pw.size
            except BaseException:  # must never reach C
                return -1

        callback = _PASSWD_FUNC(passwd)
        c.wolfSSL_CTX_set_default_passwd_cb(self.handle, ctypes.cast(callback, _vp))
        try:
            rc = c.wolfSSL_CTX_use_PrivateKey_buffer(
                self.handle,
                secret.buf,
                secret.size,
                _FILETYPE_ASN1 if key_der else _FILETYPE_PEM,
            )
        finally:
            c.wolfSSL_CTX_set_default_passwd_cb(self.handle, None)
            secret.wipe()
            pw.wipe()
        _check(rc, "load the private key")
        _check(
            c.wolfSSL_CTX_check_private_key(self.handle),
            "load the private key",
            "the key does not match the certificate",
        )
        # wolfSSL_CTX_check_private_key passes mismatched ECDSA keys in this build:
        # prove the match by signing with the key and verifying with the leaf.
        if not self._key_signs_for_leaf():
            raise WolfSSLError(
                E_BAD_FUNC_ARG, "load the private key", "the key does not match the certificate"
            )

    def _key_signs_for_leaf(self) -> bool:
        c = self._lib.c
        cert = c.wolfSSL_CTX_get0_certificate(self.handle)
        key = c.wolfSSL_CTX_get0_privatekey(self.handle)
        if not cert or not key:
            return False
        public = c.wolfSSL_X509_get_pubkey(cert)
        if not public:
            return False
        message = b"tls_adapter wolfssl key check"
        sig = ctypes.create_string_buffer(1024)
        size = ctypes.c_size_t(len(sig))
        try:
            md = c.wolfSSL_EVP_MD_CTX_new()
            try:
                if (
                    c.wolfSSL_EVP_DigestSignInit(md, None, c.wolfSSL_EVP_sha256(), None, key) != 1
                    or c.wolfSSL_EVP_DigestSignUpdate(md, message, len(message)) != 1
                    or c.wolfSSL_EVP_DigestSignFinal(md, sig, ctypes.byref(size)) != 1
                ):
                    return False
            finally:
                c.wolfSSL_EVP_MD_CTX_free(md)
            md = c.wolfSSL_EVP_MD_CTX_new()
            try:
                return bool(
                    c.wolfSSL_EVP_DigestVerifyInit(md, None, c.wolfSSL_EVP_sha256(), None, public)
                    == 1
                    and c.wolfSSL_EVP_DigestVerifyUpdate(md, message, len(message)) == 1
                    and c.wolfSSL_EVP_DigestVerifyFinal(md, sig, size.value) == 1
                )
            finally:
                c.wolfSSL_EVP_MD_CTX_free(md)
        finally:
            c.wolfSSL_EVP_PKEY_free(public)

    def close(self) -> None:
        """``wolfSSL_CTX_free``; idempotent."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.c.wolfSSL_CTX_free(handle)

    def __del__(self) -> None:
        try:  # noqa: SIM105
            self.close()
        except Exception:
            pass


# ======================================================================================
# Sessions
# ======================================================================================

#: ``callback(session, server_name_or_None) -> Context | None`` (see :class:`Session`).
SNICallback = Callable[["Session", "str | None"], "Context | None"]


#: Plain words in front of wolfSSL's terse texts for the common verification failures.
_VERIFY_WORDS = {
    -150: "the certificate is not yet valid",
    -151: "the certificate has expired",
    -155: "a certificate signature is invalid",
    -188: "unable to get the issuer certificate: no trusted CA signed the chain",
    -275: "self-signed certificate not in the trust store",
    -322: "hostname mismatch: the certificate is not valid for the server name",
    -325: "IP address mismatch: the certificate is not valid for the server address",
    -345: "the peer did not send a certificate",
    -357: "an issuer is not a CA (basicConstraints)",
    -368: "the certificate chain is too long",
    -383: "the certificate's keyUsage does not allow digitalSignature",
    -385: "the certificate's keyUsage does not allow keyEncipherment",
    -386: "the certificate's extendedKeyUsage lacks the purpose needed here (serverAuth, "
    "or clientAuth for a client certificate)",
    -409: "the certificate's RSA key is too small",
    -410: "the certificate's EC key is too small",
}


#: The X509_V_ERR_* code of the verification failures wolfSSL says enough about.
_VERIFY_CODES = {
    -150: VerifyCode.CERT_NOT_YET_VALID,  # ASN_BEFORE_DATE_E
    -151: VerifyCode.CERT_HAS_EXPIRED,  # ASN_AFTER_DATE_E
    -155: VerifyCode.CERT_SIGNATURE_FAILURE,  # ASN_SIG_CONFIRM_E
    -160: VerifyCode.UNHANDLED_CRITICAL_EXTENSION,  # ASN_CRIT_EXT_E
    -188: VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,  # ASN_NO_SIGNER_E
    -198: VerifyCode.PERMITTED_VIOLATION,  # ASN_NAME_INVALID_E (permitted or excluded)
    -238: VerifyCode.PATH_LENGTH_EXCEEDED,  # ASN_PATHLEN_INV_E
    -275: VerifyCode.DEPTH_ZERO_SELF_SIGNED_CERT,  # ASN_SELF_SIGNED_E
    -322: VerifyCode.HOSTNAME_MISMATCH,  # DOMAIN_NAME_MISMATCH
    -325: VerifyCode.IP_ADDRESS_MISMATCH,  # IPADDR_MISMATCH
    -330: VerifyCode.CERT_SIGNATURE_FAILURE,  # VERIFY_SIGN_ERROR
    -357: VerifyCode.INVALID_CA,  # NOT_CA_ERROR
    -360: VerifyCode.CERT_REVOKED,  # OCSP_CERT_REVOKED
    -361: VerifyCode.CERT_REVOKED,  # CRL_CERT_REVOKED
    -368: VerifyCode.CERT_CHAIN_TOO_LONG,  # MAX_CHAIN_ERROR
    -383: VerifyCode.INVALID_PURPOSE,  # KEYUSE_SIGNATURE_E
    -385: VerifyCode.INVALID_PURPOSE,  # KEYUSE_ENCIPHER_E
    -386: VerifyCode.INVALID_PURPOSE,  # EXTKEYUSE_AUTH_E
    # RSA_KEY_SIZE_E, ECC_KEY_SIZE_E: wolfSSL does not say whose key (the leaf's or a CA's).
    -409: VerifyCode.EE_KEY_TOO_SMALL,
    -410: VerifyCode.EE_KEY_TOO_SMALL,
}


def _verify_code(error: int, verify_result: int) -> int | None:
    """The X509_V_ERR_* code for a failure (as :func:`_verify_reason` explains it)."""
    if error not in VERIFY_ERRORS and verify_result < 0:
        error = verify_result
    code = _VERIFY_CODES.get(error)
    if code is not None:
        return int(code)
    # wolfSSL's own X509_V_ERR_* numbers are OpenSSL 1.1's.
    return from_legacy(verify_result) if verify_result > 0 else None


def _verify_reason(error: int, verify_result: int) -> str:
    """A readable reason for a verification failure (wolfSSL's text in parentheses)."""
    if error not in VERIFY_ERRORS and verify_result < 0:
        error = verify_result
    text = error_string(error)
    if verify_result > 0:  # an X509_V_ERR_* code
        raw = load().c.wolfSSL_X509_verify_cert_error_string(verify_result)
        detail = raw.decode("utf-8", "replace") if raw else ""
        if detail and "unknown" not in detail.lower():
            text = f"{detail}; {text}"
    words = _VERIFY_WORDS.get(error)
    return f"{words} ({text})" if words else text


class _Transport(MemoryTransport):
    """The memory buffers, and the slots where callbacks leave results for Python."""

    __slots__ = ("tickets", "verify_code", "verify_reason")

    def __init__(self) -> None:
        super().__init__()
        self.verify_reason: str | None = None
        self.verify_code: int | None = None
        self.tickets = 0  # session tickets that arrived on this connection


def _ticket_counter(t: _Transport) -> Any:
    """A session-ticket callback that counts the tickets that arrive."""

    def arrived(ssl: int | None, ticket: int | None, size: int, ctx: int | None) -> int:
        t.tickets += 1
        return 0

    return _TICKET_FUNC(arrived)


class SessionHandle:
    """A client session to resume (a ``WOLFSSL_SESSION*`` this object owns).

    A copy of the connection's session (``wolfSSL_SESSION_dup``), so it stays valid
    after the connection is freed and does not change when more tickets arrive there;
    freed with ``wolfSSL_SESSION_free`` when the object is collected. It holds the
    session's secret: kept in memory only (it cannot be pickled; its repr shows nothing).
    """

    __slots__ = ("__weakref__", "_lib", "_pointer", "has_ticket")

    def __init__(self, lib: _Lib, pointer: int) -> None:
        self._lib = lib
        self._pointer: int | None = pointer
        #: Whether it holds a ticket (TLS 1.3), rather than a TLS 1.2 session ID.
        self.has_ticket = bool(lib.c.wolfSSL_SESSION_has_ticket(pointer))

    @property
    def pointer(self) -> int:
        """The ``WOLFSSL_SESSION*`` (ValueError once freed)."""
        if self._pointer is None:
            raise ValueError("session is freed")
        return self._pointer

    def _free(self) -> None:
        pointer, self._pointer = self._pointer, None
        if pointer is not None:
            self._lib.c.wolfSSL_SESSION_free(pointer)

    def __del__(self) -> None:
        try:  # noqa: SIM105
            self._free()
        except Exception:
            pass

    def __reduce__(self) -> Any:
        raise TypeError("wolfSSL sessions are kept in memory only and cannot be pickled")

    def __repr__(self) -> str:
        return "<wolfSSL SessionHandle>"


def _has_ip_san(der: bytes, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether the DER certificate has an iPAddress subjectAltName equal to *address*."""
    for kind, value in decode_certificate(der).get("subjectAltName", ()):
        if kind == "IP Address":
            try:
                if ipaddress.ip_address(value) == address:
                    return True
            except ValueError:
                continue
    return False


def _leaf_check(
    t: _Transport, c: Any, accept: Callable[[bytes], bool], reason: str, code: VerifyCode
) -> Any:
    """A verify callback that also requires ``accept(leaf_der)`` once wolfSSL's own checks
    (chain, dates, name or address), whose verdict is *preverify*, have passed.

    wolfSSL 5.5.4 matches a DNS name against the subject CN when there is no
    subjectAltName, lets ``*`` stand for any number of labels, anywhere (``*``,
    ``*.org``, ``a.*.org`` and ``f*.example.org`` all match), and matches an IP address
    against the CN or a dNSName. The OpenSSL-based backends never do, so a DNS name must
    also match a dNSName subjectAltName by :func:`dns_name_matches`, and an IP address an
    iPAddress subjectAltName.
    """

    def verify(preverify: int, store: int | None) -> int:
        try:
            if not preverify or c.wolfSSL_X509_STORE_CTX_get_error_depth(store) != 0:
                return preverify
            cert = c.wolfSSL_X509_STORE_CTX_get_current_cert(store)
            size = ctypes.c_int()
            der = c.wolfSSL_X509_get_der(cert, ctypes.byref(size)) if cert else None
            if not der or size.value <= 0 or not accept(ctypes.string_at(der, size.value)):
                t.verify_reason, t.verify_code = reason, int(code)
                return 0
            return 1
        except BaseException as exc:  # must never reach C; fail closed
            t.error = exc
            return 0

    return _VERIFY_FUNC(verify)


def _intact(fatal: BaseException | None) -> bool:
    """Whether a session that failed with *fatal* (or did not) may still be resumed: only
    a transport closed without close_notify leaves it so (RFC 4346 dropped the rule
    against resuming such a session)."""
    return fatal is None or isinstance(fatal, RaggedEOFError)


class Session(MemoryIO):
    """One TLS connection, driven through memory buffers or attached to a socket.

    :param context: the :class:`Context` (kept alive by the session).
    :param server_hostname: clients: sent as SNI (*sni*), and/or checked (*check_name*).
    :param sni: the DNS name to send as SNI, or None (never an IP literal).
    :param check_name: the DNS name the certificate must match, or None.
    :param check_ip: the IP address (text) the certificate must match, or None.
    :param verify: clients: whether to verify the server's chain at all.
    :param alpn_protocols: ALPN ids in preference order (no ``,`` or NUL in them).
    :param sni_callback: servers (whose context ran :meth:`Context.enable_sni_hook`):
        called as ``cb(session, server_name_or_None)`` once per connection, after the
        ClientHello is parsed; return another :class:`Context` to switch to its
        certificate chain, trust anchors and client-certificate policy, or None. If it
        raises, the handshake fails with a handshake_failure alert and :meth:`handshake`
        re-raises the exception.
    :param fd: a connected, non-blocking stream socket's descriptor for wolfSSL to read
        and write itself (``wolfSSL_set_fd``, its default ``recv``/``send`` I/O) instead
        of memory BIOs; the caller keeps it open while the session is used. Operations
        that cannot progress then raise :class:`WantRead` or :class:`WantWrite`, a failed
        ``recv``/``send`` raises its :class:`OSError`, and nothing is ever queued in
        :meth:`peek`.
    :param resume: clients: a :class:`SessionHandle` (:meth:`resumption_state`) to offer
        for resumption (``wolfSSL_set_session``); one wolfSSL refuses (expired) is not
        offered.
    """

    _t: _Transport
    _rbio: int | None
    _wbio: int | None

    def __init__(
        self,
        context: Context,
        *,
        sni: str | None = None,
        check_name: str | None = None,
        check_ip: str | None = None,
        verify: bool | None = None,
        alpn_protocols: Sequence[bytes] = (),
        sni_callback: SNICallback | None = None,
        fd: int | None = None,
        resume: SessionHandle | None = None,
    ) -> None:
        self._lib = load()
        c = self._lib.c
        self._handle: int | None = None
        self._fd = fd
        #: With an offered session: how many certificates wolfSSL copied from it.
        self._offered_chain: int | None = None
        self._context = context
        self._contexts = [context]  # every context the session was switched to
        self.server_side = context.server_side
        self._sni_callback = sni_callback
        self._sni_called = False
        self._done = self._shutdown_sent = self._shutdown_done = False
        self._fatal: BaseException | None = None
        self._rbuf = ctypes.create_string_buffer(16384)
        self._t = _Transport()
        self._keep: list[Any] = []
        handle = c.wolfSSL_new(context.handle)
        if not handle:
            raise MemoryError("wolfSSL_new failed")
        self._handle = h = int(handle)
        self._rbio = self._wbio = None
        if fd is not None:  # wolfSSL's own recv/send on the descriptor
            _check(c.wolfSSL_set_fd(h, fd), "attach the socket")
        else:
            bios = [c.wolfSSL_BIO_new(c.wolfSSL_BIO_s_mem()) for _ in range(2)]
            if not all(bios):
                for bio in filter(None, bios):
                    c.wolfSSL_BIO_free(bio)
                raise MemoryError("wolfSSL_BIO_new failed")
            self._rbio, self._wbio = int(bios[0]), int(bios[1])
            c.wolfSSL_set_bio(h, self._rbio, self._wbio)  # the session owns them now
        if sni_callback is not None:
            if context._sessions is None:
                raise ValueError("sni_callback needs a context with enable_sni_hook()")
            context._sessions[h] = self
        if verify is not None:
            c.wolfSSL_set_verify(h, _VERIFY_PEER if verify else _VERIFY_NONE, None)
        if sni is not None:
            name = sni.encode("ascii")
            _check(c.wolfSSL_UseSNI(h, _SNI_HOST_NAME, name, len(name)), "set SNI")
        if check_name is not None:
            _check(c.wolfSSL_check_domain_name(h, check_name.encode("ascii")), "set host name")
            host = check_name.lower().rstrip(".")
            callback = _leaf_check(
                self._t,
                c,
                lambda der: has_matching_dns_name(der, host),
                f"hostname mismatch: no DNS subjectAltName of the certificate matches "
                f"{check_name!r} (wildcards stand for one whole left-most label; the subject "
                "CN is not used)",
                VerifyCode.HOSTNAME_MISMATCH,
            )
            self._keep.append(callback)
            c.wolfSSL_set_verify(h, context.verify_mode, ctypes.cast(callback, _vp))
        if check_ip is not None:
            param = c.wolfSSL_get0_param(h)
            if not param:
                raise WolfSSLError(E_BAD_FUNC_ARG, "get the verify parameters")
            # wolfSSL compares text: IPv6 SANs in full form (2001:0DB8:0000:...).
            text = ipaddress.ip_address(check_ip).exploded if ":" in check_ip else check_ip
            rc = c.wolfSSL_X509_VERIFY_PARAM_set1_ip_asc(param, text.encode("ascii"))
            _check(rc, "set the IP address to verify")
            address = ipaddress.ip_address(check_ip)
            callback = _leaf_check(
                self._t,
                c,
                lambda der: _has_ip_san(der, address),
                f"IP address mismatch: the certificate has no iPAddress subjectAltName for "
                f"{check_ip} (the subject CN and DNS names are not used)",
                VerifyCode.IP_ADDRESS_MISMATCH,
            )
            self._keep.append(callback)
            c.wolfSSL_set_verify(h, context.verify_mode, ctypes.cast(callback, _vp))
        if not self.server_side and self._lib.resumption:
            self._setup_resumption(c, h, resume)
        elif resume is not None:
            raise ValueError("this wolfSSL session cannot resume a session")
        protos = [bytes(p) for p in alpn_protocols]
        if protos:
            if any(not p or b"," in p or b"\0" in p for p in protos):
                raise ValueError("wolfSSL ALPN protocols must be non-empty, without ',' or NUL")
            joined = b",".join(protos)
            _check(
                c.wolfSSL_UseALPN(h, joined, len(joined), _ALPN_CONTINUE_ON_MISMATCH), "set ALPN"
            )

    def _setup_resumption(self, c: Any, h: int, resume: SessionHandle | None) -> None:
        """Clients: offer *resume*, and count the tickets that arrive."""
        ticket = False
        if resume is not None and c.wolfSSL_set_session(h, resume.pointer) == _SUCCESS:
            chain = c.wolfSSL_get_peer_chain(h)
            self._offered_chain = max(int(c.wolfSSL_get_chain_count(chain)), 0) if chain else 0
            ticket = resume.has_ticket
        if not ticket:
            # Offer only the psk_ke mode: servers that follow it (rustls) then send no
            # NewSessionTicket, whose 32-byte nonce this wolfSSL cannot parse (it allows
            # 8 bytes and fails the connection). A ticket is offered with psk_dhe_ke.
            c.wolfSSL_no_dhe_psk(h)
        counter = _ticket_counter(self._t)
        self._keep.append(counter)
        c.wolfSSL_set_SessionTicket_cb(h, counter, None)

    def _run_sni_callback(self) -> None:
        # Once per connection: after a HelloRetryRequest the second ClientHello runs the
        # hook again, and the context chosen the first time stays set.
        if self._sni_callback is None or self._sni_called:
            return
        self._sni_called = True
        new = self._sni_callback(self, self.server_name())
        if new is not None and new is not self._context:
            c = self._lib.c
            if not c.wolfSSL_set_SSL_CTX(self.handle, new.handle):
                raise WolfSSLError(E_BAD_FUNC_ARG, "switch the context")
            self._contexts.append(new)
            c.wolfSSL_set_verify(self.handle, new.verify_mode, None)

    def server_name(self) -> str | None:
        """Servers: the SNI host name the client sent, or None."""
        data = ctypes.c_void_p()
        size = int(self._lib.c.wolfSSL_SNI_GetRequest(self.handle, _SNI_HOST_NAME, data))
        if not size or not data.value:
            return None
        return ctypes.string_at(data.value, size).decode("ascii", errors="replace")

    # -- buffers ---------------------------------------------------------------------

    def pending(self) -> int:
        """Decrypted bytes wolfSSL holds, readable without input."""
        if self._handle is None or not self._done:
            return 0
        return max(int(self._lib.c.wolfSSL_pending(self._handle)), 0)

    # -- TLS operations --------------------------------------------------------------

    def handshake(self) -> None:
        """Advance the handshake until it completes.

        :raises WantRead: input is needed (flush the outgoing data first).
        :raises VerifyError: the peer certificate failed verification.
        :raises RaggedEOFError: the transport closed mid-handshake.
        :raises WolfSSLError: any other failure, e.g. a fatal alert from the peer.
        """
        self._raise_if_dead()
        if self._done:
            return
        c, h = self._lib.c, self.handle
        while True:
            rc = int(c.wolfSSL_accept(h) if self.server_side else c.wolfSSL_connect(h))
            self._after_call()
            if rc == _SUCCESS:
                self._done = True
                return
            error = int(c.wolfSSL_get_error(h, rc))
            if error not in (_ERROR_WANT_READ, _ERROR_WANT_WRITE) or not self._refill():
                self._fail(rc, "handshake", error)

    def _recv(self, target: Any, n: int) -> int:
        """``wolfSSL_read`` into *target*: the count, 0 after close_notify.

        :raises WantRead: no application data is available yet.
        :raises RaggedEOFError: transport EOF without close_notify.
        """
        if not self._done or self._fatal is not None:
            self.handshake()
        if n <= 0:
            return 0
        c, h = self._lib.c, self.handle
        while True:
            rc = int(c.wolfSSL_read(h, target, n))
            if rc > 0:
                # Decrypting sends nothing, except a KeyUpdate answer (TLS 1.3).
                if self._wbio is not None and c.wolfSSL_BIO_ctrl_pending(self._wbio):
                    self._after_call()
                return rc
            self._after_call()
            error = int(c.wolfSSL_get_error(h, rc))
            if error in (_ERROR_ZERO_RETURN, E_ZERO_RETURN):
                return 0
            if error not in (_ERROR_WANT_READ, _ERROR_WANT_WRITE) or not self._refill():
                self._fail(rc, "read", error)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt all of *data* into the outgoing buffer; returns ``len(data)``.

        Attached to a socket that cannot take all of it, raises :class:`WantWrite`:
        wolfSSL keeps what it encrypted, and the next call must pass the same data
        again (as with OpenSSL).
        """
        self.handshake()
        if self._shutdown_sent:
            raise WolfSSLError(E_BAD_FUNC_ARG, "write", "write after close_notify")
        view = memoryview(data).cast("B")
        if not view.nbytes:
            return 0
        buf = c_buffer(view)  # the caller's memory when writable, else a copy
        try:
            rc = int(self._lib.c.wolfSSL_write(self.handle, buf, view.nbytes))
        finally:
            del buf  # release the export of the caller's buffer
        self._after_call()
        if rc != view.nbytes:
            self._fail(rc, "write")
        return rc

    def close_notify(self) -> None:
        """Queue a close_notify (``wolfSSL_shutdown``). Idempotent; does nothing on a session
        that failed fatally. Attached to a socket that cannot take it yet, raises
        :class:`WantWrite` (call again)."""
        if self._shutdown_done or self._fatal is not None:
            return
        self._shutdown_sent = True
        rc = int(self._lib.c.wolfSSL_shutdown(self.handle))
        self._after_call()
        if rc not in (_SUCCESS, _SHUTDOWN_NOT_DONE, 0):
            error = int(self._lib.c.wolfSSL_get_error(self.handle, rc))
            if error == _ERROR_WANT_WRITE and self._fd is not None:
                raise WantWrite("close_notify: the socket cannot take more data yet")
            if error not in (_ERROR_WANT_READ, _ERROR_ZERO_RETURN, E_ZERO_RETURN):
                self._shutdown_done = True
                exc = connection_error() if self._fd is not None else None
                if exc is not None:
                    raise exc
                raise WolfSSLError(error, "shutdown")
        self._shutdown_done = True

    # -- failures --------------------------------------------------------------------

    def _take_input(self, view: memoryview) -> None:
        """Copy ciphertext into the read BIO, or what would take it past
        :data:`BIO_FILL` to ``_t.incoming`` (moved over by :meth:`_refill`)."""
        if self._t.incoming or self._bio_pending() + view.nbytes > BIO_FILL:
            self._t.incoming += view
            self._refill()
        else:
            self._bio_write(view)

    def _bio_pending(self) -> int:
        return int(self._lib.c.wolfSSL_BIO_ctrl_pending(self._rbio))

    def _bio_write(self, view: memoryview) -> None:
        buf = c_buffer(view)
        try:
            rc = int(self._lib.c.wolfSSL_BIO_write(self._rbio, buf, view.nbytes))
        finally:
            del buf  # release the export of the caller's buffer
        if rc != view.nbytes:
            raise MemoryError(f"wolfSSL_BIO_write took {rc} of {view.nbytes} bytes")

    def _refill(self) -> bool:
        """Top the read BIO up to :data:`BIO_FILL` from ``_t.incoming``; whether any
        bytes moved."""
        incoming = self._t.incoming
        if not incoming:
            return False
        take = min(BIO_FILL - self._bio_pending(), len(incoming))
        if take <= 0:
            return False
        with memoryview(incoming) as view:
            self._bio_write(view[:take])
        del incoming[:take]
        return True

    def incoming_len(self) -> int:
        """Received bytes wolfSSL has not taken yet (in the read BIO or queued for it)."""
        if self._handle is None or self._rbio is None:
            return 0
        return self._bio_pending() + len(self._t.incoming)

    def _after_call(self) -> None:
        """Move what wolfSSL wrote to ``outgoing``; re-raise an exception a callback
        stashed during the last C call."""
        c = self._lib.c
        if self._wbio is not None:
            pending = int(c.wolfSSL_BIO_ctrl_pending(self._wbio))
            if pending:
                self._drain_into_outgoing(pending, self._read_wbio)
        exc, self._t.error = self._t.error, None
        if exc is not None:
            self._fatal = WolfSSLError(_CBIO_ERR_GENERAL, f"transport callback failed: {exc!r}")
            raise exc

    def _read_wbio(self, target: Any, n: int) -> int:
        return int(self._lib.c.wolfSSL_BIO_read(self._wbio, target, n))

    def _fail(self, rc: int, context: str, error: int | None = None) -> None:
        c, h = self._lib.c, self.handle
        if error is None:
            error = int(c.wolfSSL_get_error(h, rc))
        if self._fd is not None:
            self._socket_failure(error, context)
        elif error in (_ERROR_WANT_READ, _ERROR_WANT_WRITE):
            if self._t.eof and not self.incoming_len():
                error = E_SOCKET_PEER_CLOSED
            else:
                raise WantRead(f"{context} needs more data")
        exc: WolfSSLError
        verify_result = int(c.wolfSSL_get_verify_result(h))
        if self._t.verify_reason is not None:
            exc = VerifyError(error, self._t.verify_reason, self._t.verify_code)
        elif error in VERIFY_ERRORS or (verify_result != 0 and not self._done):
            exc = VerifyError(
                error,
                _verify_reason(error, verify_result),
                _verify_code(error, verify_result),
            )
        elif (
            error in (E_SOCKET_PEER_CLOSED, _ERROR_SYSCALL)
            or (self._t.eof and not self.incoming_len() and error == _CBIO_ERR_CONN_CLOSE)
            or (self._fd is not None and error == E_SOCKET_ERROR)  # recv() returned 0
        ):
            exc = RaggedEOFError(error, context, "transport closed without close_notify")
        else:
            exc = WolfSSLError(error, context)
        self._fatal = exc
        raise exc

    def _socket_failure(self, error: int, context: str) -> None:
        """Attached to a socket: raise :class:`WantRead`/:class:`WantWrite` for a socket
        that cannot progress, or the :class:`OSError` of one that failed
        (``ConnectionResetError``, ``BrokenPipeError``, ...; wolfSSL reports a reset as
        the peer's EOF, errno tells them apart). Returns for every other error."""
        if error in (_ERROR_WANT_READ, _ERROR_WANT_WRITE):
            if error == _ERROR_WANT_WRITE:
                raise WantWrite(f"{context}: the socket cannot take more data yet")
            raise WantRead(f"{context} needs more data")
        if error in (E_SOCKET_ERROR, E_SOCKET_PEER_CLOSED, _ERROR_SYSCALL):
            exc = connection_error()
            if exc is not None:
                self._fatal = exc
                raise exc

    # -- session information ---------------------------------------------------------

    def version(self) -> str | None:
        """``"TLSv1.2"`` or ``"TLSv1.3"`` once the handshake is done, else None."""
        if not self._done:
            return None
        raw = self._lib.c.wolfSSL_get_version(self.handle)
        return raw.decode("ascii") if raw else None

    def cipher_suite_id(self) -> int | None:
        """IANA id of the negotiated suite (e.g. 0x1301, 0xC02F), or None."""
        if not self._done:
            return None
        value = int(self._lib.c.wolfSSL_get_current_cipher_suite(self.handle))
        return value if value > 0 else None

    def alpn(self) -> bytes | None:
        """The negotiated ALPN protocol, or None."""
        name, size = ctypes.c_void_p(), ctypes.c_ushort()
        rc = int(
            self._lib.c.wolfSSL_ALPN_GetProtocol(
                self.handle, ctypes.byref(name), ctypes.byref(size)
            )
        )
        if rc != _SUCCESS or not name.value or not size.value:
            return None
        return ctypes.string_at(name.value, size.value)

    def peer_certificate_chain_der(self) -> list[bytes]:
        """The chain the peer presented in this handshake (DER, leaf first).

        After an offered session was declined, wolfSSL keeps that session's chain ahead
        of the one this handshake brought: only the latter is returned (just the leaf
        if it cannot be told apart). A resumed session's chain is the original one.
        """
        if not self._done:
            return []
        c = self._lib.c
        chain = c.wolfSSL_get_peer_chain(self.handle)
        certs = []
        for i in range(max(c.wolfSSL_get_chain_count(chain), 0) if chain else 0):
            der, size = c.wolfSSL_get_chain_cert(chain, i), c.wolfSSL_get_chain_length(chain, i)
            if der and size > 0:
                certs.append(ctypes.string_at(der, size))
        if self._offered_chain is not None and not self.session_reused():
            fresh = certs[self._offered_chain :]
            leaf = self.peer_certificate_der()
            if not fresh or fresh[0] != leaf:
                fresh = [leaf] if leaf is not None else []
            certs = fresh
        return certs

    def peer_certificate_der(self) -> bytes | None:
        """The peer's leaf certificate (DER), or None."""
        if not self._done:
            return None
        c = self._lib.c
        x509 = c.wolfSSL_get_peer_certificate(self.handle)
        if not x509:
            return None
        try:
            size = ctypes.c_int()
            der = c.wolfSSL_X509_get_der(x509, ctypes.byref(size))
            return ctypes.string_at(der, size.value) if der and size.value > 0 else None
        finally:
            c.wolfSSL_X509_free(x509)

    # -- resumption ------------------------------------------------------------------

    def session_reused(self) -> bool:
        """Whether the handshake resumed a session (``wolfSSL_session_reused``)."""
        h = self._handle
        if not self._done or h is None or not self._lib.resumption:
            return False
        return bool(self._lib.c.wolfSSL_session_reused(h))

    def resumption_state(self) -> tuple[SessionHandle, float] | None:
        """Clients: a :class:`SessionHandle` that resumes this session, and its lifetime
        (seconds); or None: before the handshake, after a fatal error (a transport that
        closed without close_notify is none: TLS 1.1 and later may resume such a
        session), after a declined offer, under TLS 1.3 until a ticket has arrived on
        this connection, and for a TLS 1.2 session without an ID (see the module
        docstring)."""
        lib, h = self._lib, self._handle
        if (
            self.server_side
            or not lib.resumption
            or not self._done
            or h is None
            or not _intact(self._fatal)
        ):
            return None
        if self._offered_chain is not None and not self.session_reused():
            return None  # declined: the session holds the offered one's chain too
        tls13 = self.version() == "TLSv1.3"
        if tls13 and not self._t.tickets:
            return None
        c = lib.c
        current = c.wolfSSL_SSL_get0_session(h)  # the connection's own: not to be freed
        copy = c.wolfSSL_SESSION_dup(current) if current else None
        if not copy:
            return None
        handle = SessionHandle(lib, int(copy))
        if handle.has_ticket != tls13 or not c.wolfSSL_SESSION_is_resumable(copy):
            handle._free()  # TLS 1.2 tickets are never asked for (module docstring)
            return None
        lifetime = int(c.wolfSSL_SESSION_get_timeout(copy))
        return handle, float(lifetime) if lifetime > 0 else DEFAULT_SESSION_LIFETIME

    def close(self) -> None:
        """``wolfSSL_free``; idempotent. Sends nothing (see :meth:`close_notify`)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            if self._context._sessions is not None:
                self._context._sessions.pop(handle, None)
            self._lib.c.wolfSSL_free(handle)
