"""Translations between the :mod:`ssl` world and PEP 543 for the urllib3 shim.

Version bounds and ``OP_NO_TLSv1*`` bits become ``lowest/highest_supported_version``;
``load_verify_locations``/``load_default_certs`` sources become one
:class:`~tls_adapter.TrustStore`; the backend context for each configuration is built
once and kept in a small LRU cache shared by every shim context. The other way round:
cipher suites and ALPN protocols in the stdlib's spellings, and the stdlib's hostname
matching rules (for ``hostname_checks_common_name``).

The inputs come from urllib3's callers (``cadata``, passwords, option bits) and fail
as :mod:`ssl` fails: ``ssl.SSLError`` for data that holds no usable certificate,
``TypeError``/``ValueError`` for the wrong kind of value; a password never appears in
an exception.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
import re
import ssl
import sys
import threading
from collections import OrderedDict
from typing import Any

from ._api import ClientContext, quiet_insecure_warning
from ._ciphers import CipherSuite
from ._config import TLSConfiguration
from ._enums import NextProtocol, TLSVersion, version_rank
from ._ssl_compat import STDLIB_CONTEXT
from ._trust import TrustStore, der_to_pem, pem_blocks
from ._x509 import dns_name_matches, split_der_certificates
from .backends import Backend

__all__ = [
    "CRL_FLAGS",
    "FROM_OURS",
    "PROTOCOL_PINS",
    "PROTOCOL_TLS",
    "PROTOCOL_TLS_CLIENT",
    "PROTOCOL_TLS_SERVER",
    "TO_OURS",
    "alpn_text",
    "cadata_store",
    "cipher_tuple",
    "client_context",
    "effective_versions",
    "match_hostname",
    "merged_trust",
    "password_bytes",
    "stdlib_cipher_dicts",
    "stdlib_defaults",
    "store_certificates",
]

# ssl.PROTOCOL_* values (compared as ints: the constants for old versions warn in places).
PROTOCOL_TLS = 2
PROTOCOL_TLS_CLIENT = 16
PROTOCOL_TLS_SERVER = 17
PROTOCOL_PINS = {3: ssl.TLSVersion.TLSv1, 4: ssl.TLSVersion.TLSv1_1, 5: ssl.TLSVersion.TLSv1_2}

TO_OURS = {
    ssl.TLSVersion.MINIMUM_SUPPORTED: TLSVersion.MINIMUM_SUPPORTED,
    ssl.TLSVersion.SSLv3: TLSVersion.SSLv3,
    ssl.TLSVersion.TLSv1: TLSVersion.TLSv1,
    ssl.TLSVersion.TLSv1_1: TLSVersion.TLSv1_1,
    ssl.TLSVersion.TLSv1_2: TLSVersion.TLSv1_2,
    ssl.TLSVersion.TLSv1_3: TLSVersion.TLSv1_3,
    ssl.TLSVersion.MAXIMUM_SUPPORTED: TLSVersion.MAXIMUM_SUPPORTED,
}
FROM_OURS = {v: k for k, v in TO_OURS.items()}
# Concrete versions, low to high, with the option bit that disables each.
_CONCRETE = (
    (TLSVersion.SSLv3, ssl.OP_NO_SSLv3),
    (TLSVersion.TLSv1, ssl.OP_NO_TLSv1),
    (TLSVersion.TLSv1_1, ssl.OP_NO_TLSv1_1),
    (TLSVersion.TLSv1_2, ssl.OP_NO_TLSv1_2),
    (TLSVersion.TLSv1_3, ssl.OP_NO_TLSv1_3),
)
_VERSION_BITS = int(ssl.OP_NO_TLSv1 | ssl.OP_NO_TLSv1_1 | ssl.OP_NO_TLSv1_2 | ssl.OP_NO_TLSv1_3)
CRL_FLAGS = int(ssl.VERIFY_CRL_CHECK_LEAF | ssl.VERIFY_CRL_CHECK_CHAIN)
_CA_FILE_CANDIDATES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)

# -- the backend-context cache -------------------------------------------------------------
_CACHE_SIZE = 32
_cache: OrderedDict[tuple[Backend, TLSConfiguration], ClientContext] = OrderedDict()
_cache_lock = threading.Lock()


def client_context(backend: Backend, configuration: TLSConfiguration) -> ClientContext:
    """The backend's client context for *configuration*, built once and kept (LRU)."""
    key = (backend, configuration)
    with _cache_lock:
        context = _cache.get(key)
        if context is not None:
            _cache.move_to_end(key)
            return context
    if configuration.validate_certificates:
        context = backend.client_context(configuration)
    else:  # urllib3 warns about unverified requests itself (InsecureRequestWarning)
        with quiet_insecure_warning():
            context = backend.client_context(configuration)
    with _cache_lock:
        context = _cache.setdefault(key, context)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return context


@functools.cache
def stdlib_defaults() -> tuple[int, int]:
    """``(options, verify_flags)`` of a fresh ``ssl.create_default_context()``."""
    probe = STDLIB_CONTEXT(ssl.PROTOCOL_TLS_CLIENT)
    flags = int(probe.verify_flags)
    if hasattr(ssl, "VERIFY_X509_PARTIAL_CHAIN") and _stdlib_strict_default():
        flags |= int(ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT)
    return int(probe.options), flags


def _stdlib_strict_default() -> bool:
    return sys.version_info >= (3, 13)  # create_default_context() adds the strict flags


# -- trust stores --------------------------------------------------------------------------
def _system_bundle() -> str | None:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, *_CA_FILE_CANDIDATES):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def store_certificates(store: TrustStore | None) -> list[bytes] | None:
    """The DER certificates of *store*, or ``None`` when they cannot be listed."""
    if store is None or store.kind == "system":
        bundle = _system_bundle()
        if bundle is None:
            return None
        with open(bundle, "rb") as f:
            data = f.read()
    elif store.kind == "buffer":
        data = store.pem_bytes() or b""
    elif store.kind == "directory":
        assert store.path is not None
        data = b""
        for entry in sorted(os.listdir(store.path)):
            path = os.path.join(store.path, entry)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    data += f.read() + b"\n"
    else:
        assert store.path is not None
        with open(store.path, "rb") as f:
            data = f.read()
    return [der for label, der in pem_blocks(data) if label.endswith("CERTIFICATE")]


@functools.lru_cache(maxsize=16)
def merged_trust(stores: tuple[TrustStore, ...]) -> TrustStore:
    """One trust store holding the certificates of all *stores*."""
    ders: list[bytes] = []
    for store in stores:
        certs = store_certificates(store)
        if certs is None:
            raise ssl.SSLError(
                ssl.SSL_ERROR_SSL,
                "the system trust store cannot be combined with other CAs on this platform",
            )
        ders.extend(d for d in certs if d not in ders)
    if not ders:
        raise ssl.SSLError(ssl.SSL_ERROR_SSL, "no CA certificates were loaded")
    try:
        return TrustStore.from_buffer(b"".join(der_to_pem(d, "CERTIFICATE") for d in ders))
    except ValueError as e:  # a corrupt certificate in a file or directory
        raise ssl.SSLError(ssl.SSL_ERROR_SSL, f"[X509] {e}") from e


def cadata_store(cadata: str | bytes | bytearray | memoryview) -> TrustStore:
    """The trust store for ``load_verify_locations(cadata=...)``: PEM text or DER bytes.

    :raises TypeError: not an ASCII ``str`` nor bytes-like (as :mod:`ssl`).
    :raises ValueError: empty (as :mod:`ssl`).
    :raises ssl.SSLError: no certificate, or a corrupt one.
    """
    if isinstance(cadata, str):
        if not cadata.isascii():
            raise TypeError("cadata should be an ASCII string or a bytes-like object")
        data = cadata.encode("ascii")
    elif isinstance(cadata, (bytes, bytearray, memoryview)):
        data = bytes(cadata)
    else:
        raise TypeError("cadata should be an ASCII string or a bytes-like object")
    if not data:
        raise ValueError("Empty certificate data")
    if b"-----BEGIN" not in data:
        try:
            ders = split_der_certificates(data)
        except ValueError as e:
            raise ssl.SSLError(ssl.SSL_ERROR_SSL, f"[X509] not enough data: {e}") from e
        data = b"".join(der_to_pem(d, "CERTIFICATE") for d in ders)
    try:
        return TrustStore.from_buffer(data)
    except ValueError as e:
        raise ssl.SSLError(ssl.SSL_ERROR_SSL, f"[X509: NO_CERTIFICATE_OR_CRL_FOUND] {e}") from e


def password_bytes(password: object) -> bytes:
    """A ``load_cert_chain`` password (``str``, bytes, or a callable returning either).

    :raises TypeError: another type.
    :raises ValueError: a ``str`` that UTF-8 cannot encode (a lone surrogate); unlike
        the ``UnicodeEncodeError`` :mod:`ssl` raises, the error does not hold the password.
    """
    if callable(password):
        password = password()
    if isinstance(password, str):
        try:
            return password.encode("utf-8")
        except UnicodeEncodeError:
            pass  # raised below, outside this block: the error must not chain to this one
        raise ValueError("the password is not valid Unicode (a lone surrogate)")
    if isinstance(password, (bytes, bytearray)):
        return bytes(password)
    raise TypeError("password should be a string or callable")


def effective_versions(
    minimum: ssl.TLSVersion, maximum: ssl.TLSVersion, options: int
) -> tuple[TLSVersion, TLSVersion]:
    """``(lowest, highest)`` for ``minimum_version``/``maximum_version`` and ``options``.

    Without ``OP_NO_TLSv1*`` bits the bounds map one to one. With them, like OpenSSL,
    the allowed versions inside the bounds are listed and the lowest run of consecutive
    ones is used.

    :raises ssl.SSLError: no version is left.
    """
    low = TO_OURS[minimum]
    high = TO_OURS[maximum]
    if not options & _VERSION_BITS:
        return low, high
    low_rank = version_rank(TLSVersion.TLSv1 if low is TLSVersion.MINIMUM_SUPPORTED else low)
    high_rank = version_rank(high)
    run: list[TLSVersion] = []
    for version, bit in _CONCRETE:
        if low_rank <= version_rank(version) <= high_rank and not options & bit:
            run.append(version)
        elif run:
            break
    if not run:
        raise ssl.SSLError(
            ssl.SSL_ERROR_SSL, "[SSL: NO_PROTOCOLS_AVAILABLE] no protocols available"
        )
    minimum_kept = low is TLSVersion.MINIMUM_SUPPORTED and run[0] is TLSVersion.TLSv1
    maximum_kept = high is TLSVersion.MAXIMUM_SUPPORTED and run[-1] is TLSVersion.TLSv1_3
    return (low if minimum_kept else run[0]), (high if maximum_kept else run[-1])


# -- names, ciphers, certificates in the stdlib's spellings ------------------------------
@functools.cache
def stdlib_cipher_dicts() -> dict[int, dict[str, Any]]:
    """IANA value -> the ``ssl.SSLContext.get_ciphers()`` entry, for every suite ``ssl`` knows."""
    probe = STDLIB_CONTEXT(ssl.PROTOCOL_TLS_CLIENT)
    with contextlib.suppress(ssl.SSLError):
        probe.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return {info["id"] & 0xFFFF: dict(info) for info in probe.get_ciphers()}


def cipher_tuple(
    suite: CipherSuite | int | None, version: TLSVersion | None
) -> tuple[str, str, int] | None:
    """``(name, protocol, secret_bits)`` as ``ssl.SSLSocket.cipher()`` returns it."""
    if suite is None:
        return None
    value = int(suite)
    known = stdlib_cipher_dicts().get(value)
    if known is not None:
        return (known["name"], known["protocol"], known["strength_bits"])
    name = suite.name if isinstance(suite, CipherSuite) else f"0x{value:04X}"
    return (name, version.value if version is not None else "", _secret_bits(name))


_KEY_BITS_RE = re.compile(r"_(40|56|128|192|256)(?=_|$)")


def _secret_bits(name: str) -> int:
    """The cipher's strength as OpenSSL counts it, from an IANA suite name.

    Only the cipher part counts: the 256 of a ``..._SHA256`` MAC is no key size.
    """
    cipher = name.split("_WITH_", 1)[1] if "_WITH_" in name else name.removeprefix("TLS_")
    if cipher.startswith("NULL"):
        return 0
    if "CHACHA20" in cipher or cipher.startswith(("KUZNYECHIK", "MAGMA", "28147")):
        return 256
    if "3DES" in cipher:
        return 112  # OpenSSL's strength for 3DES (its key is 168 bits)
    match = _KEY_BITS_RE.search("_" + cipher)
    return int(match.group(1)) if match else 128


def alpn_text(protocol: NextProtocol | bytes | None) -> str | None:
    """An ALPN protocol as the ``str`` ``ssl`` returns."""
    if protocol is None:
        return None
    raw = protocol.value if isinstance(protocol, NextProtocol) else protocol
    return raw.decode("utf-8", "surrogateescape")


def match_hostname(cert: dict[str, Any], hostname: str, allow_common_name: bool) -> str | None:
    """Why *cert* (a ``getpeercert()`` dict) does not match *hostname*, or ``None``.

    IP literals match only ``IP Address`` entries. DNS names match ``DNS`` entries
    (left-most-label wildcards); the subject's commonName counts only when
    *allow_common_name* and the certificate has no ``DNS`` entry at all.
    """
    sans = cert.get("subjectAltName", ())
    try:
        ip = ipaddress.ip_address(hostname.strip("[]").split("%", 1)[0])
    except ValueError:
        ip = None
    if ip is not None:
        for kind, value in sans:
            if kind == "IP Address":
                with contextlib.suppress(ValueError):
                    if ipaddress.ip_address(value) == ip:
                        return None
        return f"IP address mismatch, certificate is not valid for '{hostname}'."
    name = hostname.rstrip(".").lower()
    with contextlib.suppress(UnicodeError):
        name = name.encode("idna").decode("ascii")
    dns = [value for kind, value in sans if kind == "DNS"]
    if not dns and allow_common_name:
        dns = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
    if any(dns_name_matches(pattern, name) for pattern in dns):
        return None
    return f"Hostname mismatch, certificate is not valid for '{hostname}'."
