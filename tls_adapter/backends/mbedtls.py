"""The Mbed TLS backend, through python-mbedtls (``pip install python-mbedtls==2.10.1``).

Theory of operation
-------------------
python-mbedtls offers a sans-I/O object (``MbedTLSBuffer``) over two 32 KiB ring
buffers. It has sharp edges, and this module exists to file them off. Each connection
is a :class:`MbedTLSBuffer` (ours) that owns one of theirs; nothing else touches it.
Its ``TLSWrappedSocket`` is never used (it loses data): sockets go through the generic
pump in ``_socket.py``.

* **Input.** Ciphertext is handed to the library's input ring as far as the ring has
  room (more raises ``BufferError``), several records at a time, cut anywhere; once the
  handshake is over, straight from the caller's buffer in ``receive_from_network``
  (which therefore never keeps a reference to it). What does not fit waits in our own
  ``bytearray`` (``_incoming``). We follow the record headers as the bytes go in, and
  an alert record is handed over only once Mbed TLS has read everything before it, so
  we see it before Mbed TLS does, which matters for closing (below). The ring cannot
  signal EOF: we track transport EOF ourselves.
* **Output.** After every call into the library, its output ring is drained into our
  own ``bytearray`` (``_outgoing``; ``outgoing_bytes_buffered()`` is its length). The
  ring is therefore empty before each call, so one 16 KiB record always fits; a larger
  write made the library fail halfway with records already queued. ``write()`` hands
  over memoryview slices and counts plaintext taken (the library returns a ciphertext
  count).
* **Handshake.** The library's ``do_handshake()`` runs one state-machine step; we loop
  until ``HANDSHAKE_OVER`` or until it needs input we do not have.
* **Reading** (the hot path: no context manager, no ``bytes`` per record; errors are
  caught by plain ``except`` clauses, free when nothing is raised). The library's
  ``read(amt)`` stops when its *input ring* is empty and so strands the rest of an
  already-decrypted record (a ``read(5)`` of a 12-byte record lost 7 bytes). We only
  call its ``readinto`` with room for a whole record (16 KiB of plaintext at most), so
  Mbed TLS never holds plaintext back and ``pending()`` is exact: while the caller's
  room is at least a record, records are decrypted straight into the caller's buffer,
  as many as the input already holds; a smaller read decrypts one record into a scratch
  buffer, and the rest waits in ``_plain``, which later reads empty first. Mbed TLS
  keeps no input beyond its ring but the unread rest of a record, so with the ring
  empty and nothing to feed it is not called at all (``WantReadError`` without a
  library exception). A fatal error behind records already decrypted in the same call
  returns those bytes first; the next call raises.
* **Threads.** python-mbedtls holds the GIL inside ``mbedtls_ssl_read`` and
  ``mbedtls_ssl_write`` (no ``nogil``), so connections in different threads never
  decrypt in parallel. Each connection takes its own lock around every call.
* **Closing.** The peer's ``close_notify`` surfaces as error 0x7880, after which the
  library *resets the session* (keys gone): no reply could be sent any more. TLS 1.2
  requires that reply anyway, so when the next record to feed is an alert (its type is
  in the clear in TLS 1.2), our own ``close_notify`` is queued first; then the alert is
  fed and ``read()`` returns ``b""`` (``readinto`` 0) from then on, after the data
  before it. Transport EOF without it is :class:`RaggedEOF`. After any fatal error
  the library resets too (its next call would start a new handshake!), so a failed
  connection is marked dead and never driven again.
* **Errors.** Every python-mbedtls exception is translated in one function,
  ``_translated`` (which the connection reaches through ``_failure``, where a fatal
  error also marks it dead); messages carry Mbed TLS error codes and the library's
  text, never key material or data.
* **Validation.** Mbed TLS checks the chain, the dates and DNS names, but it cannot
  check IP addresses (and would send them as SNI), and it falls back to the subject's
  CN. Handshake messages travel in the clear in TLS 1.2, so the peer's certificate
  chain is picked out of the records as they arrive. For IP literals no name is given
  to Mbed TLS; names (IP or DNS) are matched against the SAN here, as soon as Mbed TLS
  has verified the Certificate message and before our next flight leaves. For
  ``check_hostname=False`` the SNI is sent, and Mbed TLS (which checks the certificate
  against the name it was given) is pointed at a name the certificate holds before it
  reads it. Every verification failure is the same opaque error 0x2700; the picked-out
  chain is examined to say *why*. Mbed TLS parses the peer's certificates before it
  verifies them and refuses what it cannot parse with an X.509 error (a critical
  extension it does not implement, a malformed extension): that is a certificate
  failure too, whose reason names the certificate and the unsupported extension. The
  validation policy (``ChainPolicy``) checks that chain when the handshake completes;
  reads and writes run the handshake first, and ``receive_from_network`` feeds the
  library directly only after it, so no application data passes before the check.
* **Library gaps that fail closed.** Mbed TLS 2.28 has no name-constraints support: it
  cannot parse the (critical) nameConstraints extension, so a chain with a
  name-constrained intermediate is refused even where the constraints permit the name.
  Trust anchors it cannot parse (name constraints, unknown critical extensions) are
  skipped when the store is loaded, which trusts less, never more; a store left with no
  anchor is refused with :class:`ConfigurationError` when the context is built.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import ipaddress
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from mbedtls import __version__ as _BINDING_VERSION
from mbedtls import exceptions as _mexc
from mbedtls import pk as _mpk
from mbedtls import tls as _mtls
from mbedtls import version as _mversion
from mbedtls import x509 as _mx509

from .._api import ClientContext, ServerContext, ServerName, TLSWrappedBuffer
from .._ciphers import DEFAULT_CIPHER_LIST, CipherSuite, cipher_suite_from_int
from .._config import TLSConfiguration
from .._der import _oid
from .._enums import NextProtocol, TLSVersion, protocol_bytes, protocol_from_bytes
from .._errors import (
    CertificateValidationError,
    ConfigurationError,
    RaggedEOF,
    TLSError,
    WantReadError,
    WantWriteError,
)
from .._policy import ChainPolicy
from .._session import TLSSession, check_session
from .._system import OS_VERIFIER, find_system_ca
from .._trust import Certificate, PrivateKey, TrustStore, pem_blocks
from .._x509 import (
    _object_name,
    _split_version,
    _tbs_fields,
    decode_certificate,
    dns_name_matches,
)
from . import Capabilities, _capability_row, _make_backend
from ._buffer_kit import RECORD, BufferBase
from ._compat import (
    mbedtls_handshake_step,
    mbedtls_input_room,
    mbedtls_input_unread,
    mbedtls_set_hostname,
)
from ._server import check_server_configuration, decrypted_pkcs8, key_error, key_password

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["BACKEND"]

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address

_MAX_STEPS = 1000  # handshake steps per call before we call it a library bug
_SNIFF_LIMIT = 1 << 20  # handshake bytes inspected at most
_READ_SIZE = 4 * RECORD  # read(amt) decrypts at most this much per call
# More than any output ring holds (32 KiB in 2.10.1): peek_outgoing() returns what is there.
_ALL_OUTPUT = 1 << 30
_OVER: Any = _mtls.HandshakeStep.HANDSHAKE_OVER  # a HandshakeStep (the stub says int)
_PAST_CERTIFICATE: int = _mtls.HandshakeStep.SERVER_CERTIFICATE.value  # type: ignore[attr-defined]
_CERT_LABELS = ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE")

# Mbed TLS 2.28 high-level error codes (the library reports them as positive ints).
_E_VERIFY = 0x2700  # MBEDTLS_ERR_X509_CERT_VERIFY_FAILED
_E_PK_PASSWORD = (0x3B80, 0x3C00)  # PK_PASSWORD_MISMATCH, PK_PASSWORD_REQUIRED
_E_NO_CLIENT_CERT = 0x7480  # SSL_NO_CLIENT_CERTIFICATE
_E_FATAL_ALERT = 0x7780  # SSL_FATAL_ALERT_MESSAGE
_E_CLOSE_NOTIFY = 0x7880  # SSL_PEER_CLOSE_NOTIFY
_E_BAD_CERTIFICATE = 0x7A00  # SSL_BAD_HS_CERTIFICATE (also: key usage not allowed)
# X509_FEATURE_UNAVAILABLE (0x2080) .. X509_SIG_MISMATCH (0x2680), X509_CERT_UNKNOWN_FORMAT
# (0x2780): a certificate could not be parsed. Inside a connection the only certificates
# Mbed TLS parses are the peer's.
_E_X509_PARSE = frozenset(range(0x2080, 0x2700, 0x80)) | {0x2780}
# The extensions Mbed TLS 2.28 parses (x509_get_crt_ext); any other one that is critical
# makes the certificate unparseable for it.
_MBEDTLS_EXTENSIONS = frozenset(
    {
        "2.5.29.15",  # keyUsage
        "2.5.29.17",  # subjectAltName
        "2.5.29.19",  # basicConstraints
        "2.5.29.32",  # certificatePolicies
        "2.5.29.37",  # extendedKeyUsage
        "2.16.840.1.113730.1.1",  # Netscape certificate type
    }
)

_VERSIONS = {
    TLSVersion.TLSv1: _mtls.TLSVersion.TLSv1,
    TLSVersion.TLSv1_1: _mtls.TLSVersion.TLSv1_1,
    TLSVersion.TLSv1_2: _mtls.TLSVersion.TLSv1_2,
}
_VERSIONS_BACK = {v.name: k for k, v in _VERSIONS.items()}
_ALERTS = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
    40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
    44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
    47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
    51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
    80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
    109: "missing_extension", 110: "unsupported_extension", 112: "unrecognized_name",
    116: "certificate_required", 120: "no_application_protocol",
}  # fmt: skip


# -- error translation: the one boundary ------------------------------------------------
def _code(exc: BaseException) -> int:
    """The high-level Mbed TLS error code of *exc* (0 when it carries none)."""
    err = getattr(exc, "err", None)
    return abs(err) & 0xFF80 if isinstance(err, int) else 0


def _library_text(exc: BaseException) -> str:
    return getattr(exc, "msg", "") or str(exc)


def _describe(exc: BaseException) -> str:
    err = getattr(exc, "err", None)
    msg = _library_text(exc)
    return f"mbedTLS error 0x{abs(err):04X}: {msg}" if isinstance(err, int) else msg


def _translated(
    exc: BaseException,
    verify_reason: Callable[[int, str], str] | None = None,
    alert: Callable[[], str | None] | None = None,
) -> TLSError:
    """The tls_adapter exception for the python-mbedtls exception *exc*, chained to it.

    The one place library errors are translated; callers ``raise`` the result.
    *verify_reason* (given inside a connection) explains a certificate failure from the
    error code and the library's text; *alert* names a fatal alert the peer sent (when
    it could be seen). Messages carry error codes and the library's text, never data.
    """
    error: TLSError
    if isinstance(exc, _mtls.WantReadError):
        error = WantReadError("Mbed TLS needs more data from the network")
    elif isinstance(exc, _mtls.WantWriteError):
        error = WantWriteError("Mbed TLS must send buffered data first")
    elif isinstance(exc, _mtls.RaggedEOF):
        error = RaggedEOF("the peer closed the connection without a TLS close_notify")
    elif isinstance(exc, _mexc.TLSError):
        code = _code(exc)
        seen = alert() if code == _E_FATAL_ALERT and alert is not None else None
        if verify_reason is not None and (
            code in (_E_VERIFY, _E_BAD_CERTIFICATE) or code in _E_X509_PARSE
        ):
            error = CertificateValidationError(verify_reason(code, _library_text(exc)))
        elif seen:
            error = TLSError(f"the peer aborted the handshake with a fatal alert: {seen}")
        elif code == _E_NO_CLIENT_CERT:
            error = TLSError("the peer did not return a certificate (one is required)")
        elif code == _E_CLOSE_NOTIFY:
            error = TLSError("the peer closed the connection during the handshake")
        else:
            error = TLSError(_describe(exc))
    elif isinstance(exc, BufferError):  # pragma: no cover - our feeding never overfills
        error = TLSError(f"python-mbedtls buffer error: {exc}")
    else:  # pragma: no cover - callers pass only the exceptions above
        raise TypeError(f"not a python-mbedtls error: {exc!r}")
    error.__cause__ = exc  # what ``raise error from exc`` would do
    error.__suppress_context__ = True
    return error


#: What python-mbedtls raises: its TLS errors (the Want* and RaggedEOF among them) and,
#: from its ring buffers, BufferError.
_LIBRARY_ERRORS = (_mexc.TLSError, BufferError)


# -- building the native configuration --------------------------------------------------
def _refuse(option: str, why: str) -> ConfigurationError:
    return ConfigurationError(f"the mbedtls backend cannot honour {option}: {why}")


def _native_versions(config: TLSConfiguration) -> tuple[_mtls.TLSVersion, _mtls.TLSVersion]:
    lowest = config.lowest_supported_version
    highest = config.highest_supported_version
    if lowest is TLSVersion.MINIMUM_SUPPORTED:
        low = _mtls.TLSVersion.TLSv1
    elif lowest in _VERSIONS:
        low = _VERSIONS[lowest]
    else:
        raise _refuse(
            f"lowest_supported_version={lowest.name}",
            "Mbed TLS 2.28 (python-mbedtls 2.10) speaks TLS 1.0 to TLS 1.2 only",
        )
    if highest in (TLSVersion.TLSv1_3, TLSVersion.MAXIMUM_SUPPORTED):
        high = _mtls.TLSVersion.TLSv1_2  # the highest it has; the range still allows it
    elif highest in _VERSIONS:
        high = _VERSIONS[highest]
    else:
        raise _refuse(f"highest_supported_version={highest.name}", "SSL 2/3 are not available")
    return low, high


@functools.lru_cache(maxsize=1)
def _suite_table() -> dict[int, str]:
    """IANA code point -> Mbed TLS suite name, for the suites this build has."""
    table: dict[int, str] = {}
    for name in _mtls.ciphers_available():
        member = CipherSuite.__members__.get(name.replace("-", "_"))
        if member is not None and "PSK" not in name:  # PSK is never configured here
            table[int(member)] = name
    return table


@functools.lru_cache(maxsize=1)
def _name_to_suite() -> dict[str, int]:
    return {name: value for value, name in _suite_table().items()}


def _needs_tls12(name: str) -> bool:
    return any(tag in name for tag in ("GCM", "CCM", "CHACHA20", "SHA256", "SHA384"))


def _native_ciphers(config: TLSConfiguration, high: _mtls.TLSVersion) -> tuple[str, ...]:
    allowed = config.ciphers if config.ciphers is not None else DEFAULT_CIPHER_LIST
    table = _suite_table()
    names = [table[int(c)] for c in allowed if int(c) in table]
    if high is not _mtls.TLSVersion.TLSv1_2:
        names = [n for n in names if not _needs_tls12(n)]
    if not names:
        raise _refuse(
            "ciphers",
            "none of the configured cipher suites is usable (Mbed TLS 2.28 has no TLS 1.3 "
            "suites, and AEAD/SHA-2 suites need TLS 1.2)",
        )
    return tuple(names)


def _native_alpn(config: TLSConfiguration) -> tuple[bytes, ...] | None:
    if not config.inner_protocols:
        return None
    raw = tuple(protocol_bytes(p) for p in config.inner_protocols)
    if len(raw) > len(NextProtocol):
        raise _refuse(
            "inner_protocols", f"python-mbedtls offers at most {len(NextProtocol)} ALPN protocols"
        )
    for item in raw:
        if b"\0" in item:  # python-mbedtls passes them to Mbed TLS as C strings
            raise _refuse(
                "inner_protocols", f"ALPN identifiers cannot contain NUL bytes ({item!r})"
            )
    return raw


def _first_der_element(der: bytes) -> bytes:
    """The leading DER TLV of *der* (drops the trust data of a TRUSTED CERTIFICATE)."""
    if len(der) < 2 or der[0] != 0x30:
        return der
    first = der[1]
    if first < 0x80:
        return der[: 2 + first]
    count = first & 0x7F
    if not 0 < count <= 4 or len(der) < 2 + count:
        return der
    return der[: 2 + count + int.from_bytes(der[2 : 2 + count], "big")]


def _pem_certificates(data: bytes) -> list[bytes]:
    return [_first_der_element(der) for label, der in pem_blocks(data) if label in _CERT_LABELS]


def _directory_certificates(path: str) -> list[bytes]:
    ders: list[bytes] = []
    for entry in sorted(os.listdir(path)):
        full = os.path.join(path, entry)
        if not os.path.isfile(full):
            continue
        try:
            with open(full, "rb") as f:
                data = f.read()
        except OSError:
            continue
        if b"-----BEGIN" in data:
            ders.extend(_pem_certificates(data))
    return ders


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ConfigurationError(f"cannot read the trust store {path!r}: {e}") from e


def _trust_ders(store: TrustStore) -> list[bytes]:
    if store.kind == "buffer":
        pem = store.pem_bytes()
        assert pem is not None
        return _pem_certificates(pem)
    if store.kind == "directory":
        assert store.path is not None
        return _directory_certificates(store.path)
    if store.kind == "system":
        if OS_VERIFIER:
            raise _refuse(
                "TrustStore.system()",
                "it cannot use the macOS/Windows certificate verifier; give a CA bundle "
                "(TrustStore.certifi() or TrustStore.from_pem_file())",
            )
        # OpenSSL's semantics: the bundle file and the hashed directory together. On
        # Debian-like systems the bundle lives in that directory and holds it all.
        found = find_system_ca()
        ders = _pem_certificates(_read_file(found.cafile)) if found.cafile else []
        if found.capath and not (
            found.cafile
            and os.path.dirname(os.path.realpath(found.cafile)) == os.path.realpath(found.capath)
        ):
            ders += _directory_certificates(found.capath)
        return ders
    assert store.path is not None
    return _pem_certificates(_read_file(store.path))


def _native_trust(store: TrustStore) -> _mtls.TrustStore:
    """An Mbed TLS trust store (built with ``add()``, which links the CA chain)."""
    native = _mtls.TrustStore()
    seen: set[bytes] = set()
    unparseable: list[str] = []
    for der in _trust_ders(store):
        if der in seen:
            continue
        seen.add(der)
        try:
            crt = _mx509.CRT.from_DER(der)
        except (_mexc.TLSError, ValueError) as e:
            # A CA Mbed TLS cannot parse cannot anchor anything for it either: skipping
            # it trusts less, never more.
            unparseable.append(_unparseable(der, _library_text(e)))
            continue
        native.add(crt)
    if not native:
        why = (
            f": Mbed TLS 2.28 skips the certificates it cannot parse and could parse none "
            f"of its {len(unparseable)} (first: {unparseable[0]})"
            if unparseable
            else ""
        )
        raise ConfigurationError(
            f"the mbedtls backend found no usable CA certificate in {store!r}{why}"
        )
    return native


def _decrypt_pkcs8(key: PrivateKey) -> bytes:
    """Decrypt an ``ENCRYPTED PRIVATE KEY`` in memory (Mbed TLS 2.28 cannot: PBES2/AES)."""
    try:
        return decrypted_pkcs8(key, "mbedtls")[1]
    except ImportError as e:
        raise _refuse(
            "an encrypted PKCS#8 private key",
            "Mbed TLS 2.28 cannot decrypt it and the 'cryptography' package is not installed",
        ) from e


def _native_key(key: PrivateKey) -> _mpk.CipherBase:
    data = key.to_pem()
    if data.lstrip().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"):
        data, password = _decrypt_pkcs8(key), None  # asks for the password itself
    else:
        password = key_password(key, "mbedtls")
    try:
        native: _mpk.CipherBase = _mpk.ECC.from_buffer(data, password)
        if native.name == b"RSA":
            native = _mpk.RSA.from_buffer(data, password)
        elif native.name != b"EC":
            raise ConfigurationError(
                f"the mbedtls backend cannot use {native.name.decode(errors='replace')} keys"
            )
    except _mexc.TLSError as e:
        # A wrong password often decrypts to garbage that fails to parse (0x3D00) rather
        # than to PK_PASSWORD_MISMATCH, so any failure of an encrypted key says so.
        encrypted = _code(e) in _E_PK_PASSWORD or password is not None
        detail = None if encrypted else f"mbedTLS error 0x{_code(e):04X}"
        raise key_error("mbedtls", detail, encrypted=encrypted) from None
    return native


def _native_chain(
    chain: tuple[tuple[Certificate, ...], PrivateKey],
) -> tuple[tuple[_mx509.CRT, ...], _mpk.CipherBase]:
    certs, key = chain
    try:
        crts = tuple(_mx509.CRT.from_DER(c.to_der()) for c in certs)
    except (_mexc.TLSError, ValueError) as e:
        raise ConfigurationError(f"the mbedtls backend cannot parse the certificate: {e}") from e
    native_key = _native_key(key)
    try:
        matches = _mpk.check_pair(crts[0].subject_public_key, native_key)
    except (_mexc.TLSError, ValueError, TypeError):
        matches = False
    if not matches:
        raise key_error("mbedtls", encrypted=key.encrypted, mismatch=True)
    return crts, native_key


class _Native:
    """Everything Mbed TLS keeps pointers into, kept alive for as long as the context.

    python-mbedtls hands Mbed TLS raw pointers into the certificate objects, the trust
    store's linked CA list and the ALPN ``bytes``, without always holding a reference.
    """

    def __init__(self, config: TLSConfiguration, server: bool) -> None:
        low, high = _native_versions(config)
        self.ciphers = _native_ciphers(config, high)
        self.alpn = _native_alpn(config)
        self.chain = _native_chain(config.certificate_chain) if config.certificate_chain else None
        self.trust: _mtls.TrustStore | None = None
        if config.validate_certificates:
            store = config.trust_store
            if store is None and not server:
                store = TrustStore.system()
            if store is not None:
                self.trust = _native_trust(store)
        # A server without a trust store must not fail clients without certificates:
        # "optional" is the laxest mode python-mbedtls offers (it cannot say "none").
        validate = self.trust is not None if server else config.validate_certificates
        try:
            self.config = _mtls.TLSConfiguration(
                validate_certificates=validate,
                certificate_chain=self.chain,
                ciphers=self.ciphers,
                inner_protocols=self.alpn,
                lowest_supported_version=low,
                highest_supported_version=high,
                trust_store=self.trust,
            )
            self.context: _mtls.ClientContext | _mtls.ServerContext = (
                _mtls.ServerContext(self.config) if server else _mtls.ClientContext(self.config)
            )
        except (_mexc.TLSError, ValueError, TypeError, NotImplementedError) as e:
            raise ConfigurationError(
                f"Mbed TLS rejected the configuration ({type(e).__name__}: {_describe(e)})"
            ) from e


# -- certificate inspection -------------------------------------------------------------
def _critical_extensions(der: bytes) -> list[str]:
    """The OIDs of *der*'s critical extensions (best effort: ``[]`` if malformed)."""
    try:
        _, fields = _split_version(_tbs_fields(der))
        found = []
        for field in fields:
            if field.tag != 0xA3:
                continue
            for ext in field.children()[0].children():
                parts = ext.children()
                if len(parts) == 3 and parts[1].content not in (b"", b"\x00"):
                    found.append(_oid(parts[0]))
        return found
    except (ValueError, IndexError):
        return []


def _certificate_label(der: bytes) -> str:
    """``'CN=...'`` for *der*'s subject (best effort)."""
    try:
        subject = decode_certificate(der).get("subject", ())
    except ValueError:
        return "(malformed)"
    names = [value for rdn in subject for key, value in rdn if key == "commonName"]
    return f"'CN={names[-1]}'" if names else "(no common name)"


def _unparseable(der: bytes, text: str) -> str:
    """Why Mbed TLS 2.28 could not parse the certificate *der*, given its error *text*."""
    unsupported = [o for o in _critical_extensions(der) if o not in _MBEDTLS_EXTENSIONS]
    hint = ""
    if unsupported:
        names = ", ".join(
            o if _object_name(o) == o else f"{_object_name(o)} ({o})" for o in unsupported
        )
        hint = f": it does not implement the critical extension {names}"
    return f"{_certificate_label(der)}{hint} ({text})"


def _subject_alt_names(der: bytes) -> tuple[list[str], list[_IP]]:
    """The DNS names and IP addresses in a certificate's SAN (empty lists: none).

    :raises ValueError: the certificate is malformed.
    """
    dns: list[str] = []
    ips: list[_IP] = []
    for kind, value in decode_certificate(der).get("subjectAltName", ()):
        if kind == "DNS":
            dns.append(value)
        elif kind == "IP Address":
            with contextlib.suppress(ValueError):  # "<invalid>": a length that is no IP
                ips.append(ipaddress.ip_address(value))
    return dns, ips


def _issued_by(child: _mx509.CRT, parent: _mx509.CRT) -> bool:
    try:
        return bool(parent.subject == child.issuer and parent.verify(child))
    except Exception:  # unsupported key types and the like: not a usable issuer
        return False


def _explain_failure(
    chain: Sequence[bytes], anchors: Sequence[_mx509.CRT], name: ServerName | None
) -> str | None:
    """Why Mbed TLS rejected *chain*, in OpenSSL's words, or ``None`` if unclear."""
    certs = [_mx509.CRT.from_DER(der) for der in chain]
    if not certs:
        return "the peer sent no certificate"
    leaf = certs[0]
    path = [leaf]
    current, anchored = leaf, False
    for _ in range(len(certs) + 1):
        anchor = next((a for a in anchors if _issued_by(current, a)), None)
        if anchor is not None:
            anchored = True
            if anchor != current:
                path.append(anchor)
            break
        if _issued_by(current, current):
            break
        parent = next((c for c in certs[1:] if c not in path and _issued_by(current, c)), None)
        if parent is None:
            break
        path.append(parent)
        current = parent
    if not anchored:
        if len(path) == 1 and _issued_by(leaf, leaf):
            return "self-signed certificate"
        if _issued_by(current, current):
            return "self-signed certificate in certificate chain"
        return "unable to get local issuer certificate"
    if name is not None and name.check:
        mismatch = _name_mismatch(chain[0], name)
        if mismatch:
            return mismatch
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if any(now > c.not_after for c in path):
        return "certificate has expired"
    if any(now < c.not_before for c in path):
        return "certificate is not yet valid"
    return None


def _name_mismatch(leaf_der: bytes, name: ServerName) -> str | None:
    """The OpenSSL-style mismatch message if *leaf_der* does not match *name*.

    Only the SAN counts (no fallback to the subject's common name).

    :raises ValueError: the certificate is malformed.
    """
    if name.name is None:
        return None
    dns, ips = _subject_alt_names(leaf_der)
    if name.ip is not None:
        if name.ip in ips:
            return None
        return f"IP address mismatch, certificate is not valid for '{name.name}'."
    if any(dns_name_matches(pattern, name.name) for pattern in dns):
        return None
    return f"Hostname mismatch, certificate is not valid for '{name.name}'."


def _name_in_certificate(der: bytes) -> str | None:
    """A name Mbed TLS will match against *der*: a DNS SAN, or the CN if there is no SAN.

    :raises ValueError: the certificate is malformed.
    """
    info = decode_certificate(der)
    sans = info.get("subjectAltName")
    if sans is not None:
        dns = [v for k, v in sans if k == "DNS" and v and "\0" not in v]
        for pattern in dns:
            if "*" not in pattern:
                return str(pattern)
        for pattern in dns:
            if pattern.startswith("*.") and "*" not in pattern[2:]:
                return "wildcard" + str(pattern)[1:]
        return None
    for rdn in info.get("subject", ()):
        for key, value in rdn:
            if key == "commonName" and value and "\0" not in value:
                return str(value)
    return None


# -- reading the handshake records as they go by ----------------------------------------
def _take_units(buffer: bytearray, *, header: int, length_size: int) -> Iterator[tuple[int, bytes]]:
    """Take the complete units off the front of *buffer*: ``(type, body)`` for each.

    A unit (a TLS record, a handshake message) starts with *header* bytes: its type
    first, the length of its body in the last *length_size* of them (big-endian). An
    incomplete unit stays in *buffer*.
    """
    while len(buffer) >= header:
        length = int.from_bytes(buffer[header - length_size : header], "big")
        if len(buffer) < header + length:
            return
        kind, body = buffer[0], bytes(buffer[header : header + length])
        del buffer[: header + length]
        yield kind, body


class _Sniffer:
    """Follows the peer's plaintext TLS 1.2 handshake records (until its ChangeCipherSpec).

    Collects the certificate chain of the peer's Certificate message and the last alert,
    for the checks and error messages Mbed TLS does not provide.
    """

    def __init__(self) -> None:
        self.active = True
        self.chain: list[bytes] | None = None
        self.alert: tuple[int, int] | None = None
        self._records = bytearray()
        self._messages = bytearray()
        self._seen = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if not self.active:
            return
        self._records += data
        self._seen += len(data)
        if self._seen > _SNIFF_LIMIT:
            self._stop()
            return
        for kind, body in _take_units(self._records, header=5, length_size=2):
            if kind == 22:
                self._messages += body
                self._parse_messages()
            elif kind == 21 and len(body) == 2:
                self.alert = (body[0], body[1])
            else:  # ChangeCipherSpec: what follows is encrypted; anything else: not TLS
                self._stop()
                return

    def _stop(self) -> None:
        self.active = False
        self._records.clear()
        self._messages.clear()

    def _parse_messages(self) -> None:
        for kind, body in _take_units(self._messages, header=4, length_size=3):
            if kind == 11 and self.chain is None:  # Certificate
                self.chain = _certificate_list(body)

    def alert_text(self) -> str | None:
        if self.alert is None or self.alert[0] != 2:
            return None
        code = self.alert[1]
        return f"{_ALERTS.get(code, 'alert')} ({code})"


def _certificate_list(body: bytes) -> list[bytes]:
    chain: list[bytes] = []
    if len(body) < 3:
        return chain
    end = min(len(body), 3 + int.from_bytes(body[0:3], "big"))
    pos = 3
    while pos + 3 <= end:
        length = int.from_bytes(body[pos : pos + 3], "big")
        pos += 3
        if pos + length > end:
            break
        chain.append(body[pos : pos + length])
        pos += length
    return chain


# -- contexts ---------------------------------------------------------------------------
class MbedTLSClientContext(ClientContext):
    """A client context; the Mbed TLS configuration and trust store are built once, here."""

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        self._native = _Native(configuration, server=False)
        self._policy = ChainPolicy.for_context(configuration, "mbedtls", server_side=False)

    def wrap_buffers(
        self,
        server_hostname: str | None,
        *,
        check_hostname: bool = True,
        session: TLSSession | None = None,
    ) -> TLSWrappedBuffer:
        """A new in-memory client connection.

        IP literals are never sent as SNI; their SAN is checked by this backend.
        """
        check_session(session, "mbedtls", False)
        name = ServerName(server_hostname, check_hostname)
        # Mbed TLS checks the certificate against the name it sends. Without a hostname
        # check, it is pointed at a name from the certificate once that arrives.
        swap = self._configuration.validate_certificates and not name.check
        return MbedTLSBuffer._create(self, self._native, name.sni, name, swap and bool(name.sni))


class MbedTLSServerContext(ServerContext):
    """A server context; the Mbed TLS configuration and trust store are built once, here."""

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        check_server_configuration(configuration, "mbedtls", sni_callback=False)
        self._native = _Native(configuration, server=True)
        self._policy = ChainPolicy.for_context(configuration, "mbedtls", server_side=True)

    def wrap_buffers(self) -> TLSWrappedBuffer:
        """A new in-memory server connection."""
        return MbedTLSBuffer._create(self, self._native, None, None, False)


# -- connections ------------------------------------------------------------------------
class MbedTLSBuffer(BufferBase[MbedTLSClientContext | MbedTLSServerContext]):
    """One TLS connection: python-mbedtls's buffer object, driven safely (see the module docs)."""

    _native: _Native
    _mb: Any  # mbedtls.tls.TLSWrappedBuffer
    _name: ServerName | None
    _incoming: bytearray
    _record_left: int
    _outgoing: bytearray
    _plain: bytearray
    _scratch_view: memoryview
    _sniffer: _Sniffer
    _eof: bool
    _done: bool
    _own_check: bool
    _checked_name: bool
    _swap_name: bool
    _swap_failed: bool
    _close_sent: bool
    _peer_closed: bool
    _dead: TLSError | None
    _cipher: CipherSuite | int | None
    _version: TLSVersion | None
    _alpn: NextProtocol | bytes | None
    _peer_der: bytes | None
    _lock: threading.Lock

    @classmethod
    def _create(
        cls,
        context: MbedTLSClientContext | MbedTLSServerContext,
        native: _Native,
        native_name: str | None,
        name: ServerName | None,
        swap_name: bool,
    ) -> MbedTLSBuffer:
        self = object.__new__(cls)
        self._context = context
        self._native = native
        self._name = name
        try:
            if isinstance(native.context, _mtls.ClientContext):
                self._mb = native.context.wrap_buffers(native_name)
            else:
                self._mb = native.context.wrap_buffers()
        except _LIBRARY_ERRORS as e:
            raise _translated(e) from e
        self._incoming = bytearray()  # ciphertext not yet handed to Mbed TLS
        self._record_left = 0  # bytes of the current record still to hand over
        self._outgoing = bytearray()  # ciphertext taken out of Mbed TLS, not yet sent
        self._plain = bytearray()  # decrypted data not yet read
        self._scratch_view = memoryview(bytearray(RECORD))  # small reads decrypt here
        self._sniffer = _Sniffer()
        self._eof = False
        self._done = False
        # Names this backend checks itself: IP literals (Mbed TLS cannot), and DNS names
        # too (Mbed TLS falls back to the subject's CN when there is no SAN).
        self._own_check = bool(
            name is not None and name.check and context.configuration.validate_certificates
        )
        self._checked_name = not self._own_check
        self._swap_name = swap_name
        self._swap_failed = False
        self._close_sent = False
        self._peer_closed = False
        self._dead = None
        self._cipher = None
        self._version = None
        self._alpn = None
        self._peer_der = None
        self._lock = threading.Lock()
        return self

    # -- plumbing -----------------------------------------------------------------------
    def _drain(self) -> None:
        """Move everything Mbed TLS produced into our own outgoing buffer."""
        produced = self._mb.peek_outgoing(_ALL_OUTPUT)
        if produced:
            self._outgoing += produced
            self._mb.consume_outgoing(len(produced))

    def _feed(self) -> bool:
        """Hand Mbed TLS what it may have of ``_incoming``; ``False`` if nothing moved."""
        incoming = self._incoming
        if not incoming:
            return False
        with memoryview(incoming) as view:
            taken = self._feed_from(view)
        del incoming[:taken]  # bytearray drops its front in O(1)
        return bool(taken)

    def _feed_from(self, data: memoryview) -> int:
        """Hand Mbed TLS a prefix of *data* (ciphertext in order); how many bytes it took.

        As many records as its input ring has room for, whole or cut anywhere, except
        that an alert record is handed over only once Mbed TLS has read everything
        before it: after the handshake our close_notify is queued first (see the module
        docs). A record header is looked at only once all five bytes are here.
        """
        mb = self._mb
        room = mbedtls_input_room(mb)
        size = len(data)
        left = self._record_left
        end = 0
        while end < size and end < room:
            if left == 0:
                if size - end < 5:
                    break
                if data[end] == 21:
                    if end or mbedtls_input_unread(mb):
                        break
                    if self._done and not self._close_sent:
                        # An alert after the handshake: close_notify or fatal. Mbed TLS
                        # resets the session once it reads it, so answer first.
                        self._close_sent = True
                        try:
                            mb.shutdown()
                        except _LIBRARY_ERRORS as e:
                            raise self._failure(e) from e
                        self._drain()
                left = 5 + int.from_bytes(data[end + 3 : end + 5], "big")
            n = min(left, size - end, room - end)
            end += n
            left -= n
        if end:
            mb.receive_from_network(data[:end])  # copies into its ring
            self._record_left = left
        return end

    def _failure(self, exc: BaseException) -> TLSError:
        """The translated *exc*; unless it only means "wait", the connection is dead.

        Mbed TLS resets a session after a fatal error (its next call would start a new
        handshake), so a dead connection never calls it again. Callers ``raise`` the
        result.
        """
        self._drain()  # a fatal alert Mbed TLS queued still goes out
        error = _translated(exc, self._verify_reason, self._sniffer.alert_text)
        if not isinstance(error, (WantReadError, WantWriteError)):
            self._mark_dead(error)
        return error

    def _check_alive(self) -> None:
        if self._dead is not None:
            raise TLSError(f"the connection failed earlier: {self._dead}") from self._dead

    def _fail(self, error: TLSError) -> NoReturn:
        self._mark_dead(error)
        raise error

    def _mark_dead(self, error: TLSError) -> None:
        policy, chain = self._context._policy, self._sniffer.chain
        if (
            isinstance(error, CertificateValidationError)
            and error.verify_code is None
            and policy is not None
            and chain
        ):
            # python-mbedtls exposes no verify flags (mbedtls_ssl_get_verify_result): the
            # code is what the validation policy finds wrong with the chain that failed.
            try:
                policy.verify(chain, self._name, isinstance(self._context, ServerContext))
            except CertificateValidationError as found:
                error.verify_code = found.verify_code
            except Exception:  # best effort: the failure stands, without a code
                error.verify_code = None
        self._dead = error

    # -- validation Mbed TLS does not do ------------------------------------------------
    def _verify_reason(self, code: int, text: str) -> str:
        if code in _E_X509_PARSE:
            return self._parse_failure(text)
        name = self._name if isinstance(self._context, MbedTLSClientContext) else None
        fallback = (
            f"certificate verification failed (mbedTLS error 0x{code:04X})"
            if code == _E_VERIFY
            else "certificate not usable for this purpose (key usage or extended key usage) "
            f"or malformed (mbedTLS error 0x{code:04X})"
        )
        chain = self._sniffer.chain
        if chain is None:
            return fallback
        anchors: list[_mx509.CRT] = list(self._native.trust or ())  # type: ignore[arg-type]
        try:
            reason = _explain_failure(chain, anchors, name)
        except Exception:  # the explanation is best-effort; the failure stands regardless
            reason = None
        if reason is None and self._swap_failed:
            reason = (
                "certificate verification failed: with check_hostname=False the mbedtls "
                "backend needs a DNS name (or, without subjectAltName, a common name) in the "
                "certificate, because Mbed TLS always matches some name"
            )
        return reason or fallback

    def _parse_failure(self, text: str) -> str:
        """The reason for an X.509 parse error of the peer's chain: which certificate
        Mbed TLS could not parse, and the critical extension it lacks, if that is why."""
        for der in self._sniffer.chain or ():
            try:
                _mx509.CRT.from_DER(der)
            except (_mexc.TLSError, ValueError):
                return (
                    f"Mbed TLS 2.28 cannot parse the peer's certificate {_unparseable(der, text)}"
                )
        return f"Mbed TLS 2.28 cannot parse the peer's certificate ({text})"

    def _check_name(self, leaf: bytes | None) -> None:
        """Check the server name against the leaf's SAN (IP literals: Mbed TLS cannot)."""
        name = self._name
        assert name is not None
        if leaf is None:
            self._fail(CertificateValidationError("the peer sent no certificate"))
        assert leaf is not None
        try:
            mismatch = _name_mismatch(leaf, name)
        except Exception as e:  # an unparseable certificate cannot match anything
            self._fail(CertificateValidationError(f"cannot read the peer's certificate: {e}"))
            return
        if mismatch:
            self._fail(CertificateValidationError(mismatch))
        self._checked_name = True

    def _swap_hostname(self) -> None:
        """``check_hostname=False``: the SNI left with the ClientHello; now, before Mbed TLS
        reads the Certificate message, give it a name that certificate holds, so it still
        checks the chain and the dates but in effect not the name."""
        chain = self._sniffer.chain
        if not chain:
            return
        self._swap_name = False
        try:
            name = _name_in_certificate(chain[0])
            if name is not None:
                mbedtls_set_hostname(self._mb, name)
        except (ValueError, _mexc.TLSError):  # malformed, or longer than Mbed TLS allows
            name = None
        self._swap_failed = name is None

    def _after_step(self) -> None:
        if self._checked_name:
            return
        chain = self._sniffer.chain
        if chain and mbedtls_handshake_step(self._mb).value > _PAST_CERTIFICATE:
            # Mbed TLS has parsed and verified this Certificate message; no flight of
            # ours has left since, so a mismatch stops the handshake here.
            self._check_name(chain[0])

    def _handshake_over(self) -> None:
        leaf = self._mb.getpeercert(True)
        sniffed = self._sniffer.chain
        if not self._checked_name:
            self._check_name(leaf)
        elif self._own_check and (not sniffed or sniffed[0] != leaf):
            self._fail(CertificateValidationError("the checked certificate is not the peer's"))
        policy = self._context._policy
        if policy is not None:
            if sniffed and leaf is not None and sniffed[0] != leaf:
                self._fail(CertificateValidationError("the checked certificate is not the peer's"))
            try:
                policy.verify(sniffed or [], self._name, isinstance(self._context, ServerContext))
            except CertificateValidationError as e:
                self._fail(e)
        self._sniffer._stop()
        name = self._mb.cipher()
        value = _name_to_suite().get(name) if name else None
        if value is None and name:
            member = CipherSuite.__members__.get(name.replace("-", "_"))
            value = int(member) if member is not None else None
        self._cipher = None if value is None else cipher_suite_from_int(value)
        version = self._mb.negotiated_tls_version()
        self._version = _VERSIONS_BACK.get(getattr(version, "name", ""))
        try:
            alpn = self._mb.negotiated_protocol()
            raw = alpn.encode("ascii") if alpn else None
        except UnicodeDecodeError as e:  # python-mbedtls decodes as ASCII; keep the bytes
            raw = bytes(e.object)
        self._alpn = None if raw is None else protocol_from_bytes(raw)
        requested = isinstance(self._context, MbedTLSClientContext) or (
            self._native.trust is not None
        )
        self._peer_der = leaf if requested else None
        self._done = True

    # -- the PEP 543 surface --------------------------------------------------------------
    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname/IP validation."""
        with self._lock:
            self._do_handshake()

    def _do_handshake(self) -> None:
        self._check_alive()
        if self._done:
            return
        mb = self._mb
        for _ in range(_MAX_STEPS):
            if mbedtls_handshake_step(mb) is _OVER:
                self._handshake_over()
                return
            if self._swap_name:
                self._swap_hostname()
            try:
                mb.do_handshake()
            except _mtls.WantWriteError:
                pass  # "output is waiting": the step progressed; drained below
            except _mtls.WantReadError:
                self._drain()
                if self._feed():
                    continue
                if self._eof:
                    self._fail(RaggedEOF("the peer closed the connection during the handshake"))
                raise WantReadError("Mbed TLS needs more data from the network") from None
            except _LIBRARY_ERRORS as e:
                raise self._failure(e) from e
            self._drain()
            self._after_step()
        self._fail(TLSError("the Mbed TLS handshake made no progress"))

    def _record_into(self, target: memoryview) -> int:
        """Decrypt the next record into *target*, which has room for a whole one.

        Returns its length (> 0); 0 if it was the peer's close_notify (the library has
        reset the session: ``_peer_closed``); -1 if Mbed TLS needs input not here yet.
        """
        mb = self._mb
        while True:
            # Mbed TLS holds no input beyond its ring but the unread rest of a record:
            # with the ring empty and nothing to feed, it could only say WantReadError.
            if not mbedtls_input_unread(mb) and not self._feed():
                return -1
            try:
                return int(mb.readinto(target, RECORD))
            except _mtls.WantReadError:
                if not self._feed():
                    return -1
            except (_mtls.WantWriteError, _mtls.RaggedEOF) as e:  # pragma: no cover
                raise self._failure(e) from e
            except _LIBRARY_ERRORS as e:
                if _code(e) != _E_CLOSE_NOTIFY:
                    raise self._failure(e) from e
                self._peer_closed = True  # never call Mbed TLS again
                self._incoming.clear()
                return 0

    def _fill(self, view: memoryview, room: int) -> int:
        """Decrypted bytes into ``view[:room]`` (``room`` > 0): how many; 0 after close_notify.

        The hot path. Leftover plaintext comes first, alone. Otherwise whole records go
        straight into *view* while a whole record still fits, as many as the input
        already holds; a smaller *room* takes one record through ``_scratch`` and keeps
        the rest in ``_plain`` (Mbed TLS itself never keeps plaintext back, so
        ``pending()`` is exact). A fatal error after some bytes were decrypted returns
        those bytes; the next call reports it.

        :raises WantReadError: nothing decrypted and more input is needed.
        :raises RaggedEOF: nothing decrypted and the transport is at EOF.
        """
        plain = self._plain
        if plain:
            n = min(room, len(plain))
            view[:n] = plain[:n]
            del plain[:n]
            return n
        if self._peer_closed:
            return 0
        filled = 0
        try:
            if room < RECORD:
                n = self._record_into(self._scratch_view)
                if n > 0:
                    filled = min(n, room)
                    view[:filled] = self._scratch_view[:filled]
                    plain += self._scratch_view[filled:n]
            else:
                while room - filled >= RECORD:
                    n = self._record_into(view[filled:room])
                    if n <= 0:
                        break
                    filled += n
        except TLSError:
            if filled:
                return filled  # authenticated data first; the connection is marked dead
            raise
        if filled or self._peer_closed:
            return filled
        if self._eof:
            raise RaggedEOF("the peer closed the connection without a TLS close_notify")
        raise WantReadError("Mbed TLS needs more data from the network")

    def read(self, amt: int) -> bytes:
        """Up to *amt* decrypted bytes; ``b""`` after the peer's close_notify."""
        if amt <= 0:
            return b""
        buf = bytearray(min(amt, _READ_SIZE))
        with self._lock:
            self._check_alive()
            if not self._done:
                self._do_handshake()
            try:
                n = self._fill(memoryview(buf), len(buf))
            finally:
                self._drain()  # an alert Mbed TLS queued while reading
        del buf[n:]
        return bytes(buf)

    def readinto(self, buffer: Buffer, amt: int) -> int:
        """Like :meth:`read`, into *buffer* (records are decrypted straight into it);
        0 after the peer's close_notify."""
        view = memoryview(buffer).cast("B")
        if view.readonly:
            raise TypeError("readinto() needs a writable buffer")
        room = view.nbytes if amt <= 0 or amt > view.nbytes else amt
        if room <= 0:
            return 0
        with self._lock:
            self._check_alive()
            if not self._done:
                self._do_handshake()
            try:
                return self._fill(view, room)
            finally:
                self._drain()  # an alert Mbed TLS queued while reading

    def write(self, buf: Buffer) -> int:
        """Encrypt *buf* in 16 KiB records; takes nothing while 256 KiB are unsent."""
        with self._lock:
            self._check_alive()
            if not self._done:
                self._do_handshake()
            if self._close_sent or self._peer_closed:
                raise TLSError("cannot write: the TLS connection is closing or closed")
            view = memoryview(buf).cast("B")
            if not view.nbytes:
                return 0
            limit = len(self._admit(view))
            mb = self._mb
            taken = 0
            while taken < limit:
                chunk = view[taken : taken + min(RECORD, limit - taken)]
                try:
                    mb.write(chunk)  # the output ring was drained: one record fits
                except (_mtls.WantReadError, _mtls.WantWriteError) as e:  # pragma: no cover
                    self._drain()
                    if taken:
                        break
                    raise self._failure(e) from e
                except _LIBRARY_ERRORS as e:
                    raise self._failure(e) from e
                self._drain()
                taken += len(chunk)
            return taken

    def shutdown(self) -> None:
        """Send ``close_notify``; raises :class:`WantReadError` until the peer's arrives."""
        with self._lock:
            self._check_alive()
            if not self._close_sent:
                self._close_sent = True
                if self._done and not self._peer_closed:
                    try:
                        self._mb.shutdown()
                    except _LIBRARY_ERRORS as e:
                        raise self._failure(e) from e
                    self._drain()
            if self._peer_closed or not self._done:
                return
            # Keep what is decrypted on the way to the peer's close_notify for read().
            while not self._peer_closed:
                n = self._record_into(self._scratch_view)
                self._drain()
                if n < 0:
                    if self._eof:
                        raise RaggedEOF("the peer closed the connection without a TLS close_notify")
                    raise WantReadError("waiting for the peer's close_notify")
                self._plain += self._scratch_view[:n]

    def receive_from_network(self, data: Buffer) -> None:
        """Feed ciphertext from the network; ``b""`` signals transport EOF."""
        view = memoryview(data).cast("B")
        if not view.nbytes:
            self._eof = True
            return
        with self._lock:
            if self._peer_closed:
                return
            if self._sniffer.active:
                self._sniffer.feed(view)
            if self._done and not self._incoming and self._dead is None:
                # Into Mbed TLS's ring at once (the caller may reuse *data*): what does
                # not fit waits in _incoming.
                view = view[self._feed_from(view) :]
            self._incoming += view

    def peek_outgoing(self, amt: int) -> bytes:
        """Up to *amt* bytes waiting to be sent, without removing them."""
        with self._lock:
            out = self._outgoing
            return bytes(out) if amt >= len(out) else bytes(out[: max(amt, 0)])

    def consume_outgoing(self, amt: int) -> None:
        """Drop *amt* sent bytes from the front of the outgoing data."""
        with self._lock:
            del self._outgoing[: max(amt, 0)]

    def incoming_bytes_buffered(self) -> int:
        """Ciphertext received but not yet processed."""
        return len(self._incoming) + mbedtls_input_unread(self._mb)

    def outgoing_bytes_buffered(self) -> int:
        """Ciphertext waiting to be sent (Mbed TLS's own ring is always drained)."""
        return len(self._outgoing)

    def cipher(self) -> CipherSuite | int | None:
        """The negotiated cipher suite, or ``None`` before the handshake."""
        return self._cipher

    def negotiated_protocol(self) -> NextProtocol | bytes | None:
        """The ALPN protocol agreed on, or ``None``."""
        return self._alpn

    def negotiated_tls_version(self) -> TLSVersion | None:
        """The TLS version in use, or ``None`` before the handshake."""
        return self._version

    def getpeercert(self) -> bytes | None:
        """The peer's leaf certificate as DER, or ``None``.

        A server without a trust store still receives certificates some clients send
        (Mbed TLS always asks), but never validates them, so it reports ``None``.
        """
        return self._peer_der

    def pending(self) -> int:
        """Decrypted bytes already taken out of Mbed TLS and not yet read."""
        return len(self._plain)


def _capabilities() -> Capabilities:
    return _capability_row(
        f"{_mversion.version} (python-mbedtls {_BINDING_VERSION})",
        (TLSVersion.TLSv1, TLSVersion.TLSv1_1, TLSVersion.TLSv1_2),
        sni_callback=False,
        cipher_control="tls1.2",
        system_trust=(
            "system CA bundle and directory as OpenSSL finds them (SSL_CERT_FILE/SSL_CERT_DIR "
            "honoured), loaded once per context; Linux/BSD only"
        ),
        notes=(
            "no TLS 1.3: lowest_supported_version=TLSv1_3 is refused; a highest of TLSv1_3 "
            "or MAXIMUM_SUPPORTED negotiates at most TLS 1.2",
            "no sni_callback (python-mbedtls does not implement it): refused",
            "IP addresses: never sent as SNI; the IP SAN is checked by this backend "
            "before the client's next flight; names match the SAN only (no CN fallback)",
            "check_hostname=False sends SNI, then points Mbed TLS at a name the "
            "certificate holds; a certificate whose SAN has no DNS name is then rejected",
            "a server without a trust store still sends a CertificateRequest (Mbed TLS "
            "cannot turn it off); getpeercert() is then None",
            "an ALPN server with no protocol in common aborts with no_application_protocol",
            "at most 8 ALPN protocols, none containing a NUL byte (C strings)",
            "encrypted PKCS#8 keys are decrypted in memory with 'cryptography'",
            "close_notify is answered as soon as the peer's arrives (TLS 1.2 rule; the "
            "library resets the session on it)",
            "sockets use the generic pump (python-mbedtls's own socket loses data)",
            "no fatal alert can follow a failed IP check (the library has no alert API); "
            "the connection is dropped",
            "no name constraints: Mbed TLS 2.28 cannot parse the nameConstraints extension, "
            "so a chain with a name-constrained intermediate is refused "
            "(CertificateValidationError) even where the constraints permit the name "
            "(fails closed)",
            "a peer certificate Mbed TLS cannot parse (a critical extension it does not "
            "implement, a malformed extension) is refused with CertificateValidationError",
            "trust anchors Mbed TLS cannot parse (name constraints, an unknown critical "
            "extension) are skipped, which trusts less, never more; a trust store with no "
            "anchor it can parse raises ConfigurationError when the context is built",
            "no session resumption: python-mbedtls 2.10.1 binds no session API (its "
            "TLSSession class has no methods; mbedtls_ssl_get_session/set_session are not "
            "wrapped), so wrap_socket(session=...) raises ConfigurationError",
        ),
    )


#: The Mbed TLS backend (python-mbedtls).
BACKEND = _make_backend("mbedtls", MbedTLSClientContext, MbedTLSServerContext, _capabilities())
