"""A ctypes binding to the system GnuTLS (``libgnutls.so.30``) that runs TLS over memory.

Theory of operation
===================

Nothing happens at import time. :func:`load` opens the shared library (found with
``ctypes.util.find_library("gnutls")``, falling back to ``libgnutls.so.30``), declares the
``argtypes``/``restype`` of every function this module calls, checks the version (3.6.5 or
newer, for TLS 1.3) and calls ``gnutls_global_init``. It is cached, so it runs once; every
class calls it on construction. A missing library raises :class:`ImportError`.

The objects mirror GnuTLS's own:

* :class:`Credentials` wraps ``gnutls_certificate_credentials_t``: trust anchors (PEM/DER
  bytes, a file, a directory, the system store) and certificate chains with their private
  keys, loaded from memory only (encrypted PKCS#8 keys are decrypted by GnuTLS with the
  given password; key bytes are copied into a C buffer that is zeroed after use, and are
  never written to disk). Build one, then share it between any number of sessions.
* :class:`Priority` wraps a parsed ``gnutls_priority_t``; :func:`build_priority` turns a
  version range and an optional list of IANA cipher-suite ids into a priority string and
  reports whether GnuTLS can express that list exactly (see :class:`PriorityPlan`).
* :class:`Session` wraps ``gnutls_session_t`` in non-blocking mode with custom transport
  callbacks, so it never touches a socket ("sans-I/O"). The *pull* callback drains an
  incoming ``bytearray`` fed by :meth:`Session.receive`; when that buffer is empty it sets
  ``EAGAIN`` through ``gnutls_transport_set_errno`` and returns -1 (or returns 0, i.e. EOF,
  once ``receive(b"")`` was called). The *push* callback appends to an outgoing
  ``bytearray`` and never fails, so GnuTLS never needs to retry a write; the caller drains
  that buffer with :meth:`Session.outgoing` (or :meth:`Session.peek` + :meth:`Session.consume`)
  and ships it. A *pull-timeout* callback is installed as GnuTLS recommends for TLS 1.3; it
  only answers "is data available now".

Operations that need peer data raise :class:`WantRead`: feed more bytes and retry. Always
flush :meth:`Session.outgoing` after *every* call, including failed ones: when a handshake
or a read fails fatally the matching TLS alert is queued there (GnuTLS itself does not send
alerts on handshake failure; this module calls ``gnutls_alert_send_appropriate``).

Callbacks (transport, and the server-side SNI hook) are ``CFUNCTYPE`` objects stored on the
session so they outlive every C call; they catch every exception, stash it, return an error
code to C and the stashed exception is re-raised once control is back in Python. The
callbacks do not reference the :class:`Session` strongly, so a dropped session is freed
(``gnutls_deinit``) promptly by ``__del__``; :meth:`Session.close` does it explicitly.

Certificate checking is done by GnuTLS during the handshake (``gnutls_session_set_verify_cert``
for DNS names or chain-only, ``gnutls_session_set_verify_cert2`` with ``GNUTLS_DT_IP_ADDRESS``
for IP literals); failure raises :class:`VerifyError` whose reason comes from
``gnutls_certificate_verification_status_print``.

Threads: ctypes releases the GIL while GnuTLS runs. A :class:`Credentials` object (and a
:class:`Priority`) may be shared by sessions running in many threads once it is fully
loaded, but must not be modified (``load_*``) while sessions use it. A :class:`Session`
must be driven by one thread at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import enum
import errno
import functools
import ipaddress
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CertRequest",
    "Credentials",
    "GnuTLSError",
    "Priority",
    "PriorityPlan",
    "RaggedEOFError",
    "Session",
    "VerifyError",
    "VerifyMode",
    "WantRead",
    "build_priority",
    "cipher_suite_table",
    "library_version",
    "load",
]

# --------------------------------------------------------------------------------------
# Low-level declarations
# --------------------------------------------------------------------------------------

_MIN_VERSION = b"3.6.5"

# gnutls_init flags
_GNUTLS_SERVER = 1
_GNUTLS_CLIENT = 1 << 1
_GNUTLS_NONBLOCK = 1 << 3
# error codes
E_SUCCESS = 0
E_FATAL_ALERT_RECEIVED = -12
E_WARNING_ALERT_RECEIVED = -16
E_AGAIN = -28
E_REHANDSHAKE = -37
E_INTERRUPTED = -52
E_REQUESTED_DATA_NOT_AVAILABLE = -56
E_INTERNAL_ERROR = -59
E_PREMATURE_TERMINATION = -110
E_USER_ERROR = -320
E_CERTIFICATE_VERIFICATION_ERROR = -348
# misc enums
_GNUTLS_CRD_CERTIFICATE = 1
_GNUTLS_X509_FMT_DER = 0
_GNUTLS_X509_FMT_PEM = 1
_GNUTLS_PKCS_PLAIN = 1
_GNUTLS_SHUT_WR = 1
_GNUTLS_NAME_DNS = 1
_GNUTLS_CRT_X509 = 1
_GNUTLS_DT_IP_ADDRESS = 4
_GNUTLS_AL_WARNING = 1
_GNUTLS_AL_FATAL = 2
_GNUTLS_A_CLOSE_NOTIFY = 0
_GNUTLS_A_HANDSHAKE_FAILURE = 40
_GNUTLS_A_NO_RENEGOTIATION = 100
_GNUTLS_ALPN_SERVER_PRECEDENCE = 1 << 1
_GNUTLS_TLS1_3 = 5
_GNUTLS_KX_UNKNOWN = 0

_PROTOCOLS = {2: "TLSv1", 3: "TLSv1.1", 4: "TLSv1.2", 5: "TLSv1.3"}
_VERSION_KEYWORDS = {
    "TLSv1": (2, "VERS-TLS1.0"),
    "TLSv1.1": (3, "VERS-TLS1.1"),
    "TLSv1.2": (4, "VERS-TLS1.2"),
    "TLSv1.3": (5, "VERS-TLS1.3"),
}
_ALPN_MAX_PROTOCOLS = 8  # GnuTLS 3.7 limits: MAX_ALPN_PROTOCOLS / MAX_ALPN_PROTOCOL_NAME
_ALPN_MAX_NAME = 31


class _Datum(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("size", ctypes.c_uint)]


class _TypedVData(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("data", ctypes.c_void_p), ("size", ctypes.c_uint)]


_PUSH_FUNC = ctypes.CFUNCTYPE(ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_PULL_FUNC = ctypes.CFUNCTYPE(ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_PULL_TIMEOUT_FUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint)
_HOOK_FUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_FREE_FUNC = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

_vp = ctypes.c_void_p
_int = ctypes.c_int
_uint = ctypes.c_uint
_cp = ctypes.c_char_p
_size = ctypes.c_size_t
_pint = ctypes.POINTER(ctypes.c_int)
_pdatum = ctypes.POINTER(_Datum)

# name: (restype, argtypes)
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "gnutls_check_version": (_cp, [_cp]),
    "gnutls_global_init": (_int, []),
    "gnutls_strerror": (_cp, [_int]),
    "gnutls_error_is_fatal": (_int, [_int]),
    "gnutls_error_to_alert": (_int, [_int, _pint]),
    "gnutls_alert_get": (_int, [_vp]),
    "gnutls_alert_get_name": (_cp, [_int]),
    "gnutls_alert_send": (_int, [_vp, _int, _int]),
    "gnutls_alert_send_appropriate": (_int, [_vp, _int]),
    # credentials
    "gnutls_certificate_allocate_credentials": (_int, [ctypes.POINTER(_vp)]),
    "gnutls_certificate_free_credentials": (None, [_vp]),
    "gnutls_certificate_set_x509_trust_mem": (_int, [_vp, _pdatum, _int]),
    "gnutls_certificate_set_x509_trust_file": (_int, [_vp, _cp, _int]),
    "gnutls_certificate_set_x509_trust_dir": (_int, [_vp, _cp, _int]),
    "gnutls_certificate_set_x509_system_trust": (_int, [_vp]),
    "gnutls_certificate_set_x509_key_mem2": (_int, [_vp, _pdatum, _pdatum, _int, _cp, _uint]),
    # priorities and algorithms
    "gnutls_priority_init": (_int, [ctypes.POINTER(_vp), _cp, ctypes.POINTER(_cp)]),
    "gnutls_priority_deinit": (None, [_vp]),
    "gnutls_priority_set": (_int, [_vp, _vp]),
    "gnutls_priority_get_cipher_suite_index": (_int, [_vp, _uint, ctypes.POINTER(_uint)]),
    "gnutls_cipher_suite_info": (_cp, [_size, _vp, _pint, _pint, _pint, _pint]),
    "gnutls_kx_get_name": (_cp, [_int]),
    "gnutls_cipher_get_name": (_cp, [_int]),
    "gnutls_mac_get_name": (_cp, [_int]),
    # session
    "gnutls_init": (_int, [ctypes.POINTER(_vp), _uint]),
    "gnutls_deinit": (None, [_vp]),
    "gnutls_credentials_set": (_int, [_vp, _int, _vp]),
    "gnutls_handshake": (_int, [_vp]),
    "gnutls_handshake_set_timeout": (None, [_vp, _uint]),
    "gnutls_handshake_set_post_client_hello_function": (None, [_vp, _HOOK_FUNC]),
    "gnutls_record_send": (ctypes.c_ssize_t, [_vp, _vp, _size]),
    "gnutls_record_recv": (ctypes.c_ssize_t, [_vp, _vp, _size]),
    "gnutls_record_check_pending": (_size, [_vp]),
    "gnutls_bye": (_int, [_vp, _int]),
    "gnutls_transport_set_ptr": (None, [_vp, _vp]),
    "gnutls_transport_set_push_function": (None, [_vp, _PUSH_FUNC]),
    "gnutls_transport_set_pull_function": (None, [_vp, _PULL_FUNC]),
    "gnutls_transport_set_pull_timeout_function": (None, [_vp, _PULL_TIMEOUT_FUNC]),
    "gnutls_transport_set_errno": (None, [_vp, _int]),
    "gnutls_server_name_set": (_int, [_vp, _int, _vp, _size]),
    "gnutls_server_name_get": (_int, [_vp, _vp, ctypes.POINTER(_size), ctypes.POINTER(_uint), _uint]),
    "gnutls_alpn_set_protocols": (_int, [_vp, _pdatum, _uint, _uint]),
    "gnutls_alpn_get_selected_protocol": (_int, [_vp, _pdatum]),
    "gnutls_certificate_server_set_request": (None, [_vp, _int]),
    "gnutls_session_set_verify_cert": (None, [_vp, _cp, _uint]),
    "gnutls_session_set_verify_cert2": (None, [_vp, ctypes.POINTER(_TypedVData), _uint, _uint]),
    "gnutls_session_get_verify_cert_status": (_uint, [_vp]),
    "gnutls_certificate_verification_status_print": (_int, [_uint, _int, _pdatum, _uint]),
    "gnutls_certificate_get_peers": (_pdatum, [_vp, ctypes.POINTER(_uint)]),
    "gnutls_protocol_get_version": (_int, [_vp]),
    "gnutls_kx_get": (_int, [_vp]),
    "gnutls_cipher_get": (_int, [_vp]),
    "gnutls_mac_get": (_int, [_vp]),
}


class _Lib:
    """The loaded library: a ``CDLL`` plus the ``gnutls_free`` function pointer."""

    def __init__(self, cdll: ctypes.CDLL, free: Callable[[int | None], None]) -> None:
        self.c = cdll
        self.free = free


@functools.cache
def load() -> _Lib:
    """Open libgnutls, declare the prototypes and initialise it, once.

    :raises ImportError: libgnutls is missing, too old, or lacks a needed symbol.
    """
    hint = "libgnutls30 not found; install it with apt-get install libgnutls30"
    names = [n for n in (ctypes.util.find_library("gnutls"), "libgnutls.so.30") if n]
    cdll: ctypes.CDLL | None = None
    errors: list[str] = []
    for name in dict.fromkeys(names):
        try:
            cdll = ctypes.CDLL(name)
            break
        except OSError as exc:
            errors.append(str(exc))
    if cdll is None:
        raise ImportError(f"{hint} ({'; '.join(errors) or 'no candidate'})")
    for fname, (restype, argtypes) in _SIGNATURES.items():
        try:
            func = getattr(cdll, fname)
        except AttributeError:
            raise ImportError(f"{cdll._name} lacks {fname}; GnuTLS >= 3.6.5 is required") from None
        func.restype = restype
        func.argtypes = argtypes
    if cdll.gnutls_check_version(_MIN_VERSION) is None:
        found = cdll.gnutls_check_version(None).decode()
        raise ImportError(f"GnuTLS {found} is too old; 3.6.5 or newer is required")
    rc = int(cdll.gnutls_global_init())
    if rc < 0:
        raise ImportError(f"gnutls_global_init failed: {cdll.gnutls_strerror(rc).decode()}")
    free = _FREE_FUNC.in_dll(cdll, "gnutls_free")
    return _Lib(cdll, free)


def library_version() -> str:
    """The runtime GnuTLS version, e.g. ``"3.7.9"`` (``gnutls_check_version(NULL)``)."""
    return str(load().c.gnutls_check_version(None).decode())


def _c() -> Any:
    return load().c


# --------------------------------------------------------------------------------------
# Exceptions
# --------------------------------------------------------------------------------------


class WantRead(Exception):
    """The operation needs more bytes from the peer: ``receive()`` them and retry.

    Flush :meth:`Session.outgoing` first; the peer may be waiting for it.
    """


class GnuTLSError(Exception):
    """A GnuTLS call failed.

    :ivar code: the negative GnuTLS error code.
    :ivar alert: the TLS alert received from the peer (``GNUTLS_E_*_ALERT_RECEIVED``), or None.
    :ivar alert_sent: the fatal alert this side queued in the outgoing buffer, or None.
    """

    def __init__(
        self, code: int, context: str = "", alert: int | None = None, alert_sent: int | None = None
    ) -> None:
        self.code = code
        self.alert = alert
        self.alert_sent = alert_sent
        message = _strerror(code)
        if alert is not None:
            message += f" (peer sent {_alert_name(alert)})"
        if alert_sent is not None:
            message += f" (sent alert {_alert_name(alert_sent)})"
        prefix = f"{context}: " if context else ""
        super().__init__(f"{prefix}{message} [GnuTLS error {code}]")


class VerifyError(GnuTLSError):
    """Peer certificate verification failed.

    :ivar status: the ``gnutls_certificate_status_t`` bit mask.
    :ivar reason: GnuTLS's description, e.g. ``"The certificate is NOT trusted. The name in
        the certificate does not match the expected."``
    """

    def __init__(self, code: int, status: int, reason: str, alert_sent: int | None) -> None:
        super().__init__(code, "certificate verify failed", alert_sent=alert_sent)
        self.status = status
        self.reason = reason
        self.args = (f"certificate verify failed: {reason}",)


class RaggedEOFError(GnuTLSError):
    """The transport reached EOF without a TLS close_notify (possible truncation)."""


def _strerror(code: int) -> str:
    text = _c().gnutls_strerror(code)
    return text.decode(errors="replace") if text else f"unknown error {code}"


def _alert_name(alert: int) -> str:
    name = _c().gnutls_alert_get_name(alert)
    return f"{name.decode()} ({alert})" if name else f"alert {alert}"


def _check(rc: int, context: str) -> int:
    if rc < 0:
        raise GnuTLSError(rc, context)
    return rc


class _InBuffer:
    """A C copy of secret-or-not bytes, with a datum pointing at it; zeroed by :meth:`wipe`."""

    def __init__(self, data: bytes) -> None:
        self.buf = ctypes.create_string_buffer(bytes(data), len(data))
        self.datum = _Datum(ctypes.cast(self.buf, ctypes.c_void_p), len(data))

    def wipe(self) -> None:
        ctypes.memset(self.buf, 0, len(self.buf))


# --------------------------------------------------------------------------------------
# Credentials and priorities
# --------------------------------------------------------------------------------------


class Credentials:
    """``gnutls_certificate_credentials_t``: trust anchors plus own certificate chains.

    Build once, then share between sessions (see the module docstring on threads). Every
    ``load_*`` method raises :class:`GnuTLSError` on failure.
    """

    def __init__(self) -> None:
        self._lib = load()
        handle = ctypes.c_void_p()
        _check(self._lib.c.gnutls_certificate_allocate_credentials(ctypes.byref(handle)),
               "allocate credentials")
        self._handle: int | None = handle.value
        self.has_trust = False
        self.has_certificate = False

    @property
    def handle(self) -> int:
        if self._handle is None:
            raise ValueError("credentials are closed")
        return self._handle

    def load_trust_mem(self, data: bytes, *, der: bool = False) -> int:
        """Trust the CA certificate(s) in *data* (PEM, possibly several; or one DER).

        :returns: the number of certificates added (0 means none were found).
        """
        buf = _InBuffer(data)
        fmt = _GNUTLS_X509_FMT_DER if der else _GNUTLS_X509_FMT_PEM
        rc = self._lib.c.gnutls_certificate_set_x509_trust_mem(
            self.handle, ctypes.byref(buf.datum), fmt)
        self.has_trust |= _check(int(rc), "load CA certificates") > 0
        return int(rc)

    def load_trust_file(self, path: str | os.PathLike[str], *, der: bool = False) -> int:
        """Trust the CA certificate(s) in file *path*; returns how many were added."""
        fmt = _GNUTLS_X509_FMT_DER if der else _GNUTLS_X509_FMT_PEM
        rc = int(self._lib.c.gnutls_certificate_set_x509_trust_file(
            self.handle, os.fsencode(path), fmt))
        self.has_trust |= _check(rc, f"load CA file {os.fspath(path)!r}") > 0
        return rc

    def load_trust_dir(self, path: str | os.PathLike[str]) -> int:
        """Trust every PEM CA certificate in directory *path*; returns how many were added."""
        rc = int(self._lib.c.gnutls_certificate_set_x509_trust_dir(
            self.handle, os.fsencode(path), _GNUTLS_X509_FMT_PEM))
        self.has_trust |= _check(rc, f"load CA directory {os.fspath(path)!r}") > 0
        return rc

    def load_system_trust(self) -> int:
        """Trust the system store (GnuTLS's configured default); returns how many were added."""
        rc = int(self._lib.c.gnutls_certificate_set_x509_system_trust(self.handle))
        self.has_trust |= _check(rc, "load system trust store") > 0
        return rc

    def load_cert_chain_mem(
        self, cert_pem: bytes, key_pem: bytes, password: bytes | str | None = None
    ) -> None:
        """Add a certificate chain (leaf first, PEM) and its private key (PEM).

        The key may be PKCS#1/SEC1/PKCS#8, or encrypted PKCS#8 when *password* is given.
        The key bytes are copied into a C buffer that is zeroed before returning.
        """
        cert = _InBuffer(cert_pem)
        key = _InBuffer(key_pem)
        if password is None:
            pwd, flags = None, _GNUTLS_PKCS_PLAIN
        else:
            pwd = password.encode() if isinstance(password, str) else bytes(password)
            flags = 0
        try:
            rc = int(self._lib.c.gnutls_certificate_set_x509_key_mem2(
                self.handle, ctypes.byref(cert.datum), ctypes.byref(key.datum),
                _GNUTLS_X509_FMT_PEM, pwd, flags))
        finally:
            key.wipe()
        _check(rc, "load certificate and private key")
        self.has_certificate = True

    def close(self) -> None:
        """Free the credentials. Sessions keep their own reference, so only call this when
        no session uses them (``__del__`` does it when the last reference goes)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.c.gnutls_certificate_free_credentials(handle)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # e.g. at interpreter shutdown
            self.close()


@dataclass(frozen=True)
class _SuiteInfo:
    id: int
    name: str
    kx: str | None  # None for TLS 1.3 suites
    cipher: str
    mac: str
    min_version: int
    kx_id: int
    cipher_id: int
    mac_id: int


@functools.cache
def cipher_suite_table() -> dict[int, _SuiteInfo]:
    """Every cipher suite this GnuTLS knows, by IANA id (``gnutls_cipher_suite_info``)."""
    c = _c()
    table: dict[int, _SuiteInfo] = {}
    idx = 0
    while True:
        cs = (ctypes.c_ubyte * 2)()
        kx, cipher, mac, version = ctypes.c_int(), ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        name = c.gnutls_cipher_suite_info(idx, cs, ctypes.byref(kx), ctypes.byref(cipher),
                                          ctypes.byref(mac), ctypes.byref(version))
        if name is None:
            return table
        idx += 1
        kx_name = c.gnutls_kx_get_name(kx.value) if kx.value != _GNUTLS_KX_UNKNOWN else None
        table[cs[0] << 8 | cs[1]] = _SuiteInfo(
            cs[0] << 8 | cs[1], name.decode(), kx_name.decode() if kx_name else None,
            c.gnutls_cipher_get_name(cipher.value).decode(),
            c.gnutls_mac_get_name(mac.value).decode(), version.value,
            kx.value, cipher.value, mac.value)


class Priority:
    """A parsed GnuTLS priority string (``gnutls_priority_t``); shareable between sessions."""

    def __init__(self, spec: str) -> None:
        self._lib = load()
        handle, err_pos = ctypes.c_void_p(), ctypes.c_char_p()
        raw = spec.encode()
        rc = int(self._lib.c.gnutls_priority_init(ctypes.byref(handle), raw, ctypes.byref(err_pos)))
        if rc < 0:
            where = ""
            if err_pos.value is not None:
                where = f" at {err_pos.value.decode(errors='replace')!r}"
            raise GnuTLSError(rc, f"invalid priority string {spec!r}{where}")
        self.spec = spec
        self._handle: int | None = handle.value

    @property
    def handle(self) -> int:
        if self._handle is None:
            raise ValueError("priority is closed")
        return self._handle

    def cipher_suite_ids(self) -> list[int]:
        """IANA ids of the suites this priority enables, in preference order (all versions)."""
        table = {(s.kx_id, s.cipher_id, s.mac_id, s.min_version): s.id
                 for s in cipher_suite_table().values()}
        c, idx = self._lib.c, 0
        out: list[int] = []
        while True:
            sidx = ctypes.c_uint()
            rc = int(c.gnutls_priority_get_cipher_suite_index(self.handle, idx, ctypes.byref(sidx)))
            if rc == E_REQUESTED_DATA_NOT_AVAILABLE:
                return out
            idx += 1
            if rc < 0:
                continue
            cs = (ctypes.c_ubyte * 2)()
            kx, ci, mac, ver = ctypes.c_int(), ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
            if c.gnutls_cipher_suite_info(sidx.value, cs, ctypes.byref(kx), ctypes.byref(ci),
                                          ctypes.byref(mac), ctypes.byref(ver)) is not None:
                out.append(table.get((kx.value, ci.value, mac.value, ver.value),
                                     cs[0] << 8 | cs[1]))

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.c.gnutls_priority_deinit(handle)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # e.g. at interpreter shutdown
            self.close()


@dataclass(frozen=True)
class PriorityPlan:
    """The result of :func:`build_priority`.

    :ivar string: the GnuTLS priority string.
    :ivar versions: the TLS versions it enables, e.g. ``("TLSv1.3", "TLSv1.2")``.
    :ivar suites: IANA ids GnuTLS will actually offer/accept, in its preference order,
        restricted to :attr:`versions`.
    :ivar exact: True when :attr:`suites` equals the requested set (minus unsupported
        ids). False means GnuTLS's keyword cross-product (kx x cipher x mac) let extra
        suites in, or dropped some; :attr:`extra` and :attr:`missing` say which.
    :ivar unsupported: requested ids unknown to this GnuTLS.
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
    base: str = "NORMAL",
) -> PriorityPlan:
    """Build a priority string from a version range and optional IANA cipher-suite ids.

    Versions are ``"TLSv1"``, ``"TLSv1.1"``, ``"TLSv1.2"``, ``"TLSv1.3"`` (1.2 and 1.3 are the
    tested ones). With *cipher_suites*, each id is mapped to GnuTLS keywords (``+ECDHE-RSA``,
    ``+AES-128-GCM``, ``+AEAD``...) and everything else is removed; a version for which no
    listed suite exists is disabled. GnuTLS enables the cross-product of the keywords, so
    the result may not be exact: check :attr:`PriorityPlan.exact`.

    :raises ValueError: unknown version names, an empty range, or no usable suite.
    :raises GnuTLSError: GnuTLS rejected the resulting string.
    """
    try:
        lo, hi = _VERSION_KEYWORDS[min_version][0], _VERSION_KEYWORDS[max_version][0]
    except KeyError as exc:
        raise ValueError(f"unsupported TLS version {exc.args[0]!r}") from None
    versions = [v for v in ("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1")
                if lo <= _VERSION_KEYWORDS[v][0] <= hi]
    if not versions:
        raise ValueError(f"empty version range {min_version}..{max_version}")
    parts = [base, "-VERS-ALL"]
    table = cipher_suite_table()
    known: list[_SuiteInfo] = []
    unsupported: list[int] = []
    if cipher_suites is not None:
        for sid in cipher_suites:
            info = table.get(sid)
            if info is None or info.kx == "VKO-GOST-12":
                unsupported.append(sid)
            elif info not in known:
                known.append(info)
        if not any(s.min_version == _GNUTLS_TLS1_3 for s in known):
            versions = [v for v in versions if v != "TLSv1.3"]
        if not any(s.min_version < _GNUTLS_TLS1_3 for s in known):
            versions = [v for v in versions if v == "TLSv1.3"]
        if not versions:
            raise ValueError("none of the requested cipher suites is usable with "
                             f"{min_version}..{max_version} in GnuTLS")
    parts += [f"+{_VERSION_KEYWORDS[v][1]}" for v in versions]
    if cipher_suites is not None:
        parts.append("-CIPHER-ALL")
        parts += [f"+{c}" for c in dict.fromkeys(s.cipher for s in known)]
        parts.append("-KX-ALL")
        parts += [f"+{k}" for k in dict.fromkeys(s.kx for s in known if s.kx)]
        parts.append("-MAC-ALL")
        parts += [f"+{m}" for m in dict.fromkeys(s.mac for s in known)]
    if server_precedence:
        parts.append("%SERVER_PRECEDENCE")
    string = ":".join(parts)
    prio = Priority(string)
    try:
        ids = prio.cipher_suite_ids()
    finally:
        prio.close()
    nums = [_VERSION_KEYWORDS[v][0] for v in versions]

    def usable(sid: int) -> bool:
        info = table.get(sid)
        if info is None:
            return False
        if info.min_version == _GNUTLS_TLS1_3:
            return _GNUTLS_TLS1_3 in nums
        return any(info.min_version <= n < _GNUTLS_TLS1_3 for n in nums)

    effective = tuple(sid for sid in ids if usable(sid))
    if cipher_suites is None:
        return PriorityPlan(string, tuple(versions), effective, True)
    wanted = [s.id for s in known if usable(s.id)]
    extra = tuple(sid for sid in effective if sid not in wanted)
    missing = tuple(sid for sid in wanted if sid not in effective)
    return PriorityPlan(string, tuple(versions), effective, not extra and not missing,
                        extra, missing, tuple(unsupported))


# --------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------


class VerifyMode(enum.IntEnum):
    """How the peer certificate is checked."""

    NONE = 0  #: no verification at all
    CHAIN = 1  #: chain to a trusted CA, validity dates; no name check
    HOSTNAME = 2  #: CHAIN plus the server name (DNS name or IP literal); clients only


class CertRequest(enum.IntEnum):
    """Server-side client-certificate policy (``gnutls_certificate_request_t`` values)."""

    NONE = 0
    REQUEST = 1
    REQUIRE = 2


SNICallback = Callable[["Session", "str | None"], "Credentials | None"]


class _Transport:
    """Memory buffers plus the slot where a callback stores its exception."""

    __slots__ = ("eof", "error", "hook_alert", "incoming", "outgoing")

    def __init__(self) -> None:
        self.incoming = bytearray()
        self.outgoing = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.hook_alert: int | None = None


def _make_transport_callbacks(t: _Transport, c: Any) -> tuple[Any, Any, Any]:
    def push(ptr: int | None, data: int | None, size: int) -> int:
        try:
            t.outgoing += ctypes.string_at(data or 0, size)
            return size
        except BaseException as exc:  # noqa: BLE001 - must never reach C
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
            src = (ctypes.c_char * n).from_buffer(t.incoming)
            ctypes.memmove(buf or 0, src, n)
            del src
            del t.incoming[:n]
            return n
        except BaseException as exc:  # noqa: BLE001
            t.error = exc
            c.gnutls_transport_set_errno(ptr, errno.EIO)
            return -1

    def pull_timeout(ptr: int | None, ms: int) -> int:
        return 1 if (t.incoming or t.eof) else 0

    return _PUSH_FUNC(push), _PULL_FUNC(pull), _PULL_TIMEOUT_FUNC(pull_timeout)


def _ip_literal(name: str) -> bytes | None:
    try:
        return ipaddress.ip_address(name.strip("[]")).packed
    except ValueError:
        return None


class Session:
    """One TLS connection driven entirely through memory buffers.

    :param credentials: trust anchors and (servers: required; clients: optional) own chain.
    :param server_side: True for a server, False for a client.
    :param priority: a :class:`Priority` or priority string (see :func:`build_priority`).
    :param verify: :class:`VerifyMode`. On servers it applies to client certificates and
        HOSTNAME means CHAIN. Clients with HOSTNAME need *server_hostname*.
    :param server_hostname: clients: sent as SNI unless it is an IP literal, and the name
        (DNS name or IP address) the certificate must match under ``VerifyMode.HOSTNAME``.
    :param alpn_protocols: ALPN ids in preference order (at most 8, each 1..31 bytes -- a
        GnuTLS 3.7 limit). Servers pick by their own order.
    :param client_cert: servers: whether to request/require a client certificate.
    :param sni_callback: servers: called as ``cb(session, name_or_None)`` after the
        ClientHello; return replacement :class:`Credentials` or None to keep the current
        ones. If it raises, the handshake fails with a fatal alert (the exception's
        ``.alert`` if it is a :class:`GnuTLSError` with one, else handshake_failure) and
        the exception propagates out of :meth:`handshake`.
    """

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
    ) -> None:
        self._lib = load()
        c = self._lib.c
        self._handle: int | None = None
        self._priority = priority if isinstance(priority, Priority) else Priority(priority)
        self._credentials = [credentials]  # keeps every credential set on the session alive
        self.server_side = server_side
        self.server_hostname = server_hostname
        self._sni_callback = sni_callback
        self._done = False
        self._bye_sent = False
        self._rbuf = ctypes.create_string_buffer(0)
        self._t = _Transport()

        if server_side and (server_hostname is not None):
            raise ValueError("server_hostname is for client sessions")
        if not server_side and (sni_callback is not None or client_cert != CertRequest.NONE):
            raise ValueError("sni_callback and client_cert are for server sessions")
        if verify == VerifyMode.HOSTNAME and not server_side and not server_hostname:
            raise ValueError("VerifyMode.HOSTNAME needs server_hostname")
        protos = [bytes(p) for p in alpn_protocols]
        if len(protos) > _ALPN_MAX_PROTOCOLS or any(
                not 0 < len(p) <= _ALPN_MAX_NAME for p in protos):
            raise ValueError(f"GnuTLS accepts at most {_ALPN_MAX_PROTOCOLS} ALPN protocols "
                             f"of 1..{_ALPN_MAX_NAME} bytes each")

        handle = ctypes.c_void_p()
        flags = (_GNUTLS_SERVER if server_side else _GNUTLS_CLIENT) | _GNUTLS_NONBLOCK
        _check(int(c.gnutls_init(ctypes.byref(handle), flags)), "gnutls_init")
        self._handle = h = handle.value
        _check(int(c.gnutls_priority_set(h, self._priority.handle)), "set priority")
        _check(int(c.gnutls_credentials_set(h, _GNUTLS_CRD_CERTIFICATE, credentials.handle)),
               "set credentials")
        c.gnutls_handshake_set_timeout(h, 0)

        self._callbacks = _make_transport_callbacks(self._t, c)
        c.gnutls_transport_set_ptr(h, h)  # callbacks get the session back for set_errno
        c.gnutls_transport_set_push_function(h, self._callbacks[0])
        c.gnutls_transport_set_pull_function(h, self._callbacks[1])
        c.gnutls_transport_set_pull_timeout_function(h, self._callbacks[2])

        if protos:
            bufs = [_InBuffer(p) for p in protos]
            arr = (_Datum * len(bufs))(*[b.datum for b in bufs])
            _check(int(c.gnutls_alpn_set_protocols(
                h, arr, len(bufs), _GNUTLS_ALPN_SERVER_PRECEDENCE if server_side else 0)),
                "set ALPN protocols")

        # GnuTLS keeps pointers to the verification data: they live as long as the session.
        self._vdata: Any = None
        if server_side:
            if client_cert != CertRequest.NONE:
                c.gnutls_certificate_server_set_request(h, int(client_cert))
                if verify != VerifyMode.NONE:
                    c.gnutls_session_set_verify_cert(h, None, 0)
            if sni_callback is not None:
                self._hook = _HOOK_FUNC(self._make_hook(weakref.ref(self)))
                c.gnutls_handshake_set_post_client_hello_function(h, self._hook)
        else:
            ip = _ip_literal(server_hostname) if server_hostname else None
            if server_hostname and ip is None:
                name = server_hostname.encode("idna") if not server_hostname.isascii() \
                    else server_hostname.encode()
                _check(int(c.gnutls_server_name_set(h, _GNUTLS_NAME_DNS, name, len(name))),
                       "set SNI")
                if verify == VerifyMode.HOSTNAME:
                    self._vdata = ctypes.create_string_buffer(name)
                    c.gnutls_session_set_verify_cert(h, self._vdata, 0)
            elif ip is not None and verify == VerifyMode.HOSTNAME:
                raw = ctypes.create_string_buffer(ip, len(ip))
                vd = _TypedVData(_GNUTLS_DT_IP_ADDRESS, ctypes.cast(raw, ctypes.c_void_p), len(ip))
                self._vdata = (raw, vd)
                c.gnutls_session_set_verify_cert2(h, ctypes.byref(vd), 1, 0)
            if verify == VerifyMode.CHAIN:
                c.gnutls_session_set_verify_cert(h, None, 0)

    # -- callbacks -----------------------------------------------------------------

    @staticmethod
    def _make_hook(wself: weakref.ref[Session]) -> Callable[[int | None], int]:
        def hook(ptr: int | None) -> int:
            sess = wself()
            if sess is None or sess._sni_callback is None:
                return 0
            try:
                new = sess._sni_callback(sess, sess.server_name())
                if new is not None:
                    _check(int(sess._lib.c.gnutls_credentials_set(
                        ptr, _GNUTLS_CRD_CERTIFICATE, new.handle)), "switch credentials")
                    sess._credentials.append(new)
                return 0
            except BaseException as exc:  # noqa: BLE001 - re-raised by handshake()
                sess._t.error = exc
                alert = exc.alert if isinstance(exc, GnuTLSError) else None
                sess._t.hook_alert = _GNUTLS_A_HANDSHAKE_FAILURE if alert is None else alert
                return E_USER_ERROR
        return hook

    # -- buffers -----------------------------------------------------------------

    def receive(self, data: bytes | bytearray | memoryview) -> None:
        """Queue bytes from the peer; ``b""`` marks the transport's EOF."""
        if not data:
            self._t.eof = True
        elif self._t.eof:
            raise ValueError("data received after EOF")
        else:
            self._t.incoming += data

    def outgoing(self) -> bytes:
        """Return and clear everything waiting to be sent to the peer."""
        data = bytes(self._t.outgoing)
        self._t.outgoing.clear()
        return data

    def peek(self, n: int = -1) -> bytes:
        """Up to *n* (all if negative) pending outgoing bytes, without removing them."""
        return bytes(self._t.outgoing if n < 0 else self._t.outgoing[:n])

    def consume(self, n: int) -> None:
        """Drop the first *n* outgoing bytes (after the caller sent them)."""
        del self._t.outgoing[:n]

    def outgoing_len(self) -> int:
        return len(self._t.outgoing)

    def incoming_len(self) -> int:
        """Bytes received but not yet taken by GnuTLS (which may hold more internally)."""
        return len(self._t.incoming)

    def pending(self) -> int:
        """Decrypted application bytes GnuTLS holds (``gnutls_record_check_pending``)."""
        return int(self._lib.c.gnutls_record_check_pending(self.handle))

    @property
    def eof_received(self) -> bool:
        return self._t.eof

    # -- TLS operations -------------------------------------------------------------

    @property
    def handle(self) -> int:
        if self._handle is None:
            raise ValueError("session is closed")
        return self._handle

    @property
    def handshake_done(self) -> bool:
        return self._done

    def handshake(self) -> bool:
        """Advance the handshake: True when complete; :class:`WantRead` when it needs input.

        :raises VerifyError: the peer certificate failed verification.
        :raises RaggedEOFError: the transport closed mid-handshake.
        :raises GnuTLSError: any other failure, e.g. a fatal alert from the peer.
        """
        if self._done:
            return True
        c = self._lib.c
        while True:
            rc = int(c.gnutls_handshake(self.handle))
            self._reraise_callback_error()
            if rc == E_SUCCESS:
                self._done = True
                return True
            if rc in (E_AGAIN, E_INTERRUPTED):
                raise WantRead("handshake needs more data")
            if rc == E_WARNING_ALERT_RECEIVED and c.gnutls_alert_get(self.handle) not in (
                    _GNUTLS_A_CLOSE_NOTIFY,):
                continue
            self._fail(rc, "handshake")

    def read(self, n: int = 16384) -> bytes:
        """Up to *n* decrypted bytes; ``b""`` once the peer's close_notify arrived.

        :raises WantRead: no application data can be produced yet.
        :raises RaggedEOFError: transport EOF without close_notify.
        """
        if n <= 0:
            return b""
        c = self._lib.c
        if len(self._rbuf) < n:
            self._rbuf = ctypes.create_string_buffer(n)
        while True:
            rc = int(c.gnutls_record_recv(self.handle, self._rbuf, n))
            self._reraise_callback_error()
            if rc > 0:
                return self._rbuf.raw[:rc]
            if rc == 0:
                return b""
            if rc in (E_AGAIN, E_INTERRUPTED):
                raise WantRead("no application data yet")
            if rc == E_REHANDSHAKE:  # TLS 1.2 HelloRequest: decline politely
                c.gnutls_alert_send(self.handle, _GNUTLS_AL_WARNING, _GNUTLS_A_NO_RENEGOTIATION)
                continue
            if rc == E_WARNING_ALERT_RECEIVED:
                continue
            self._fail(rc, "read")

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt all of *data* into the outgoing buffer; returns ``len(data)``."""
        buf = bytes(data)
        total, off, stalls = len(buf), 0, 0
        if not total:
            return 0
        c = self._lib.c
        keep = ctypes.c_char_p(buf)  # points into buf without copying
        base = ctypes.cast(keep, ctypes.c_void_p).value or 0
        while off < total:
            rc = int(c.gnutls_record_send(self.handle, base + off, total - off))
            self._reraise_callback_error()
            if rc > 0:
                off += rc
                continue
            if rc in (E_AGAIN, E_INTERRUPTED) and stalls < 8:
                # Per the GnuTLS contract, resume the interrupted record with (NULL, 0).
                stalls += 1
                rc = int(c.gnutls_record_send(self.handle, None, 0))
                self._reraise_callback_error()
                if rc > 0:
                    off += rc
                continue
            self._fail(rc, "write")
        return total

    def bye(self) -> None:
        """Queue a close_notify (``gnutls_bye(GNUTLS_SHUT_WR)``); idempotent."""
        if self._bye_sent:
            return
        rc = int(self._lib.c.gnutls_bye(self.handle, _GNUTLS_SHUT_WR))
        self._reraise_callback_error()
        self._bye_sent = True
        _check(rc, "bye")

    # -- failure handling ---------------------------------------------------------------

    def _reraise_callback_error(self) -> None:
        exc, self._t.error = self._t.error, None
        if exc is None:
            return
        alert, self._t.hook_alert = self._t.hook_alert, None
        if alert is not None:
            self._lib.c.gnutls_alert_send(self.handle, _GNUTLS_AL_FATAL, alert)
        raise exc

    def _fail(self, rc: int, context: str) -> None:
        c = self._lib.c
        h = self.handle
        received = sent = None
        if rc in (E_FATAL_ALERT_RECEIVED, E_WARNING_ALERT_RECEIVED):
            received = int(c.gnutls_alert_get(h))
        elif rc != E_PREMATURE_TERMINATION and c.gnutls_error_is_fatal(rc):
            level = ctypes.c_int()
            alert = int(c.gnutls_error_to_alert(rc, ctypes.byref(level)))
            if alert >= 0 and int(c.gnutls_alert_send_appropriate(h, rc)) >= 0:
                sent = alert
        if rc == E_CERTIFICATE_VERIFICATION_ERROR:
            status = int(c.gnutls_session_get_verify_cert_status(h))
            raise VerifyError(rc, status, _status_text(status), sent)
        if rc == E_PREMATURE_TERMINATION:
            raise RaggedEOFError(rc, f"{context}: transport closed without close_notify")
        raise GnuTLSError(rc, context, alert=received, alert_sent=sent)

    # -- session information -------------------------------------------------------------

    def version(self) -> str | None:
        """``"TLSv1.2"`` or ``"TLSv1.3"`` (or older) once the handshake is done, else None."""
        if not self._done:
            return None
        return _PROTOCOLS.get(int(self._lib.c.gnutls_protocol_get_version(self.handle)))

    def cipher_suite_id(self) -> int | None:
        """IANA id of the negotiated suite (e.g. 0x1301, 0xC02F), or None before handshake."""
        info = self.cipher_suite()
        return info.id if info else None

    def cipher_suite(self) -> _SuiteInfo | None:
        """The negotiated suite's table entry (``.id``, ``.name``, ``.cipher``...)."""
        if not self._done:
            return None
        c, h = self._lib.c, self.handle
        tls13 = int(c.gnutls_protocol_get_version(h)) == _GNUTLS_TLS1_3
        kx, cipher, mac = int(c.gnutls_kx_get(h)), int(c.gnutls_cipher_get(h)), int(c.gnutls_mac_get(h))
        for info in cipher_suite_table().values():
            if info.cipher_id != cipher or info.mac_id != mac:
                continue
            if tls13 and info.min_version == _GNUTLS_TLS1_3:
                return info
            if not tls13 and info.min_version < _GNUTLS_TLS1_3 and info.kx_id == kx:
                return info
        return None

    def alpn(self) -> bytes | None:
        """The negotiated ALPN protocol, or None."""
        datum = _Datum()
        rc = int(self._lib.c.gnutls_alpn_get_selected_protocol(self.handle, ctypes.byref(datum)))
        if rc < 0 or not datum.data:
            return None
        return ctypes.string_at(datum.data, datum.size)

    def server_name(self) -> str | None:
        """Servers: the SNI host name the client sent (``gnutls_server_name_get``), or None."""
        buf = ctypes.create_string_buffer(256)
        size, kind = ctypes.c_size_t(len(buf)), ctypes.c_uint()
        rc = int(self._lib.c.gnutls_server_name_get(
            self.handle, buf, ctypes.byref(size), ctypes.byref(kind), 0))
        if rc < 0 or kind.value != _GNUTLS_NAME_DNS:
            return None
        return buf.raw[:size.value].rstrip(b"\0").decode("ascii", errors="replace")

    def peer_certificate_chain_der(self) -> list[bytes]:
        """The peer's certificate chain as sent (leaf first), DER; empty if none."""
        count = ctypes.c_uint()
        arr = self._lib.c.gnutls_certificate_get_peers(self.handle, ctypes.byref(count))
        if not arr:
            return []
        return [ctypes.string_at(arr[i].data, arr[i].size) for i in range(count.value)]

    def peer_certificate_der(self) -> bytes | None:
        """The peer's leaf certificate (DER), or None."""
        chain = self.peer_certificate_chain_der()
        return chain[0] if chain else None

    def close(self) -> None:
        """``gnutls_deinit``; idempotent. Does not send close_notify (see :meth:`bye`)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.c.gnutls_deinit(handle)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # e.g. at interpreter shutdown
            self.close()


def _status_text(status: int) -> str:
    lib = load()
    if status == 0xFFFFFFFF:  # verification never ran (no certificate)
        return "no certificate was verified"
    out = _Datum()
    rc = int(lib.c.gnutls_certificate_verification_status_print(
        status, _GNUTLS_CRT_X509, ctypes.byref(out), 0))
    if rc < 0 or not out.data:
        return f"verification status 0x{status:x}"
    try:
        return ctypes.string_at(out.data, out.size).decode(errors="replace").strip()
    finally:
        lib.free(out.data)
