"""``TLSConfiguration``: the immutable description of what a TLS context should do."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeAlias

from ._ciphers import CipherSuite, cipher_suite_from_int
from ._enums import NextProtocol, TLSVersion, protocol_from_bytes, version_rank
from ._trust import Certificate, PrivateKey, TrustStore

__all__ = ["CertificateChain", "SNICallback", "TLSConfiguration"]

#: A certificate chain (leaf first, then intermediates) and the leaf's private key.
CertificateChain: TypeAlias = "tuple[tuple[Certificate, ...], PrivateKey]"
#: ``callback(buffer_or_socket, server_name, configuration) -> TLSConfiguration``,
#: called on a server after the ClientHello arrives; *server_name* is IDNA-decoded.
SNICallback: TypeAlias = "Callable[[Any, str | None, TLSConfiguration], TLSConfiguration]"


class _Default(enum.Enum):
    token = 0


_DEFAULT: Final = _Default.token

_FIELDS = (
    "validate_certificates",
    "certificate_chain",
    "ciphers",
    "inner_protocols",
    "lowest_supported_version",
    "highest_supported_version",
    "trust_store",
    "sni_callback",
)
_SLOTS = tuple(f"_{name}" for name in _FIELDS)


class TLSConfiguration:
    """An immutable, hashable TLS configuration (PEP 543), shared by client and server.

    Every argument may be omitted or ``None`` to get the default:

    :param validate_certificates: check the peer's chain, dates and (clients) hostname.
        Default ``True``. Turning it off makes contexts emit :class:`SecurityWarning`.
    :param certificate_chain: ``((leaf, *intermediates), private_key)`` to present.
        Default: none.
    :param ciphers: allowed cipher suites in priority order (:class:`CipherSuite` or raw
        16-bit IANA values). Default: the backend's secure default (modern AEAD only).
    :param inner_protocols: ALPN protocols in preference order (:class:`NextProtocol` or
        raw ``bytes``). Default: none offered.
    :param lowest_supported_version: default :attr:`TLSVersion.TLSv1_2`.
    :param highest_supported_version: default :attr:`TLSVersion.MAXIMUM_SUPPORTED`.
    :param trust_store: CAs to validate the peer against. Default: for a client,
        :meth:`TrustStore.system`; for a server, no client certificate is requested.
        On a server, a trust store means client certificates are *required*.
    :param sni_callback: server only; see :data:`SNICallback`.

    Fields keep this order forever (new ones are only appended). Wrong types raise
    :class:`TypeError` and bad values :class:`ValueError`, naming the field.
    """

    __slots__ = (*_SLOTS, "_hash")

    _validate_certificates: bool
    _certificate_chain: CertificateChain | None
    _ciphers: tuple[CipherSuite | int, ...] | None
    _inner_protocols: tuple[NextProtocol | bytes, ...]
    _lowest_supported_version: TLSVersion
    _highest_supported_version: TLSVersion
    _trust_store: TrustStore | None
    _sni_callback: SNICallback | None
    # Computed on first use: configurations are dictionary keys on every connection.
    _hash: int | None

    def __init__(
        self,
        validate_certificates: bool | None = None,
        certificate_chain: CertificateChain | None = None,
        ciphers: Iterable[CipherSuite | int] | None = None,
        inner_protocols: Iterable[NextProtocol | bytes] | None = None,
        lowest_supported_version: TLSVersion | None = None,
        highest_supported_version: TLSVersion | None = None,
        trust_store: TrustStore | None = None,
        sni_callback: SNICallback | None = None,
    ) -> None:
        if validate_certificates is None:
            validate_certificates = True
        if not isinstance(validate_certificates, bool):
            raise TypeError(
                f"validate_certificates must be a bool, not {type(validate_certificates).__name__}"
            )
        lowest = _version(lowest_supported_version, "lowest_supported_version", TLSVersion.TLSv1_2)
        highest = _version(
            highest_supported_version, "highest_supported_version", TLSVersion.MAXIMUM_SUPPORTED
        )
        if lowest is TLSVersion.MAXIMUM_SUPPORTED:
            raise ValueError("lowest_supported_version cannot be MAXIMUM_SUPPORTED")
        if highest is TLSVersion.MINIMUM_SUPPORTED:
            raise ValueError("highest_supported_version cannot be MINIMUM_SUPPORTED")
        if version_rank(lowest) > version_rank(highest):
            raise ValueError(
                f"lowest_supported_version ({lowest.name}) is above "
                f"highest_supported_version ({highest.name})"
            )
        if trust_store is not None and not isinstance(trust_store, TrustStore):
            raise TypeError(
                f"trust_store must be a TrustStore or None, not {type(trust_store).__name__}"
            )
        if sni_callback is not None and not callable(sni_callback):
            raise TypeError("sni_callback must be callable or None")
        values = (
            validate_certificates,
            _chain(certificate_chain),
            _ciphers(ciphers),
            _protocols(inner_protocols),
            lowest,
            highest,
            trust_store,
            sni_callback,
        )
        for name, value in zip(_SLOTS, values, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_hash", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("TLSConfiguration is immutable; use update() to derive a new one")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("TLSConfiguration is immutable")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), self._astuple())

    @property
    def validate_certificates(self) -> bool:
        """Whether the peer's certificate is validated."""
        return self._validate_certificates

    @property
    def certificate_chain(self) -> CertificateChain | None:
        """The chain and key to present, or ``None``."""
        return self._certificate_chain

    @property
    def ciphers(self) -> tuple[CipherSuite | int, ...] | None:
        """Allowed cipher suites in priority order, or ``None`` for the backend default."""
        return self._ciphers

    @property
    def inner_protocols(self) -> tuple[NextProtocol | bytes, ...]:
        """ALPN protocols to offer, in preference order (empty: none)."""
        return self._inner_protocols

    @property
    def lowest_supported_version(self) -> TLSVersion:
        """The lowest TLS version allowed."""
        return self._lowest_supported_version

    @property
    def highest_supported_version(self) -> TLSVersion:
        """The highest TLS version allowed."""
        return self._highest_supported_version

    @property
    def trust_store(self) -> TrustStore | None:
        """The CAs to validate the peer against (``None``: see the class docs)."""
        return self._trust_store

    @property
    def sni_callback(self) -> SNICallback | None:
        """The server-side SNI callback, or ``None``."""
        return self._sni_callback

    def _astuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _SLOTS)

    def update(
        self,
        validate_certificates: bool | _Default | None = _DEFAULT,
        certificate_chain: CertificateChain | _Default | None = _DEFAULT,
        ciphers: Iterable[CipherSuite | int] | _Default | None = _DEFAULT,
        inner_protocols: Iterable[NextProtocol | bytes] | _Default | None = _DEFAULT,
        lowest_supported_version: TLSVersion | _Default | None = _DEFAULT,
        highest_supported_version: TLSVersion | _Default | None = _DEFAULT,
        trust_store: TrustStore | _Default | None = _DEFAULT,
        sni_callback: SNICallback | _Default | None = _DEFAULT,
    ) -> TLSConfiguration:
        """A new configuration with the given fields replaced; the others are kept.

        Passing ``None`` for a field resets it to its default.
        """
        given = (
            validate_certificates,
            certificate_chain,
            ciphers,
            inner_protocols,
            lowest_supported_version,
            highest_supported_version,
            trust_store,
            sni_callback,
        )
        merged: list[Any] = [
            old if new is _DEFAULT else new for old, new in zip(self._astuple(), given, strict=True)
        ]
        return type(self)(*merged)

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if not isinstance(other, TLSConfiguration):
            return NotImplemented
        return self._astuple() == other._astuple()

    def __hash__(self) -> int:
        value = self._hash
        if value is None:
            value = hash(self._astuple())
            object.__setattr__(self, "_hash", value)
        return value

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS)
        return f"TLSConfiguration({parts})"


def _version(value: object, field: str, default: TLSVersion) -> TLSVersion:
    if value is None:
        return default
    if not isinstance(value, TLSVersion):
        raise TypeError(f"{field} must be a TLSVersion, not {type(value).__name__}")
    return value


def _chain(value: object) -> CertificateChain | None:
    if value is None:
        return None
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError("certificate_chain must be a pair ((leaf, *intermediates), private_key)")
    certs, key = value
    if isinstance(certs, Certificate):
        certs = (certs,)
    if isinstance(certs, (str, bytes)) or not isinstance(certs, Iterable):
        raise TypeError("certificate_chain[0] must be a sequence of Certificate objects")
    certs = tuple(certs)
    if not certs:
        raise ValueError("certificate_chain[0] is empty: at least the leaf is needed")
    for cert in certs:
        if not isinstance(cert, Certificate):
            raise TypeError(
                f"certificate_chain[0] must hold Certificate objects, not {type(cert).__name__}"
            )
    if not isinstance(key, PrivateKey):
        raise TypeError(f"certificate_chain[1] must be a PrivateKey, not {type(key).__name__}")
    return (certs, key)


def _ciphers(value: object) -> tuple[CipherSuite | int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(
            "ciphers must be a sequence of CipherSuite or int values "
            "(OpenSSL cipher strings are accepted only by the urllib3 shim)"
        )
    out: list[CipherSuite | int] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            raise TypeError(f"ciphers must hold CipherSuite or int values, not {item!r}")
        if not 0 <= item <= 0xFFFF:
            raise ValueError(f"ciphers: {item!r} is not a 16-bit cipher suite value")
        suite = cipher_suite_from_int(item)
        if suite not in out:
            out.append(suite)
    if not out:
        raise ValueError("ciphers is empty: no cipher suite would be allowed")
    return tuple(out)


def _protocols(value: object) -> tuple[NextProtocol | bytes, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError("inner_protocols must be a sequence of NextProtocol or bytes values")
    out: list[NextProtocol | bytes] = []
    for item in value:
        if isinstance(item, NextProtocol):
            out.append(item)
            continue
        if isinstance(item, str):
            raise TypeError(
                f"inner_protocols: {item!r} is a str; give bytes such as {item.encode()!r}"
            )
        if not isinstance(item, (bytes, bytearray)):
            raise TypeError(
                f"inner_protocols must hold NextProtocol or bytes, not {type(item).__name__}"
            )
        if not 1 <= len(item) <= 255:
            raise ValueError(f"inner_protocols: {bytes(item)!r} must be 1 to 255 bytes long")
        out.append(protocol_from_bytes(bytes(item)))
    return tuple(out)
