"""Backend-neutral certificates, private keys and trust stores.

These are immutable value objects (PEP 748's lesson): one :class:`TLSConfiguration`
works with every backend, and each backend decides how to load them. They parse no
more than needed to catch bad input early (wrong type, missing file, not a
certificate); the TLS library does the real parsing when a context is built.

Private key material never appears in a ``repr``, a log line or an exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Callable
from typing import TypeAlias, Union

__all__ = ["Certificate", "Password", "PathLike", "PrivateKey", "TrustStore"]

#: Anything accepted as a filesystem path.
PathLike: TypeAlias = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
#: A private-key password: the bytes themselves, or a callable returning them that is
#: called only when the key is actually encrypted.
Password: TypeAlias = "bytes | bytearray | Callable[[], bytes | bytearray]"

_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)\r?\n?-----END \1-----", re.DOTALL)
_TOKEN = object()


def _fspath(path: object, what: str) -> str:
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{what} must be a str, bytes or os.PathLike path, not {type(path).__name__}"
        )
    return os.path.abspath(os.fsdecode(path))


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _as_bytes(data: object, what: str) -> bytes:
    if isinstance(data, str):
        return data.encode("ascii", "strict")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes (PEM or DER), not {type(data).__name__}")
    return bytes(data)


def pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """All PEM blocks in *data* as ``(label, der)`` pairs, in order."""
    blocks = []
    for m in _PEM_RE.finditer(data):
        try:
            der = base64.b64decode(b"".join(m.group(2).split()), validate=True)
        except binascii.Error:
            continue
        blocks.append((m.group(1).decode(), der))
    return blocks


def _restore(cls: type[object], state: tuple[object, ...]) -> object:
    """Rebuild a pickled value object from its slot values (see the ``__reduce__`` methods)."""
    obj = object.__new__(cls)
    for name, value in zip(cls.__slots__, state, strict=True):  # type: ignore[attr-defined]
        object.__setattr__(obj, name, value)
    return obj


def _reduce(obj: object) -> tuple[object, ...]:
    state = tuple(getattr(obj, name) for name in type(obj).__slots__)  # type: ignore[attr-defined]
    return (_restore, (type(obj), state))


def der_to_pem(der: bytes, label: str) -> bytes:
    """Encode DER bytes as one PEM block with *label*."""
    b64 = base64.b64encode(der)
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (
        f"-----BEGIN {label}-----\n".encode()
        + b"\n".join(lines)
        + f"\n-----END {label}-----\n".encode()
    )


class Certificate:
    """One X.509 certificate, held as DER. Create with :meth:`from_buffer` or :meth:`from_file`."""

    __slots__ = ("_der",)
    _der: bytes

    def __init__(self, _token: object, der: bytes) -> None:
        if _token is not _TOKEN:
            raise TypeError("use Certificate.from_buffer() or Certificate.from_file()")
        object.__setattr__(self, "_der", der)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Certificate objects are immutable")

    def __reduce__(self) -> tuple[object, ...]:
        return _reduce(self)

    @classmethod
    def from_buffer(cls, buffer: bytes) -> Certificate:
        """A certificate from PEM (one ``CERTIFICATE`` block) or DER bytes."""
        data = _as_bytes(buffer, "certificate buffer")
        return cls(_TOKEN, _single_certificate_der(data, "certificate buffer"))

    @classmethod
    def from_file(cls, path: PathLike) -> Certificate:
        """A certificate read now from a PEM or DER file at *path*."""
        p = _fspath(path, "certificate path")
        return cls(_TOKEN, _single_certificate_der(_read(p), f"certificate file {p!r}"))

    @classmethod
    def chain_from_buffer(cls, buffer: bytes) -> tuple[Certificate, ...]:
        """Every certificate in PEM *buffer*, in order (e.g. a leaf and its intermediates)."""
        data = _as_bytes(buffer, "certificate buffer")
        ders = [der for label, der in pem_blocks(data) if label in _CERT_LABELS]
        if not ders:
            raise ValueError("certificate buffer contains no PEM CERTIFICATE block")
        return tuple(cls(_TOKEN, der) for der in ders)

    @classmethod
    def chain_from_file(cls, path: PathLike) -> tuple[Certificate, ...]:
        """Every certificate in the PEM file at *path*, in order."""
        p = _fspath(path, "certificate path")
        data = _read(p)
        ders = [der for label, der in pem_blocks(data) if label in _CERT_LABELS]
        if not ders:
            raise ValueError(f"certificate file {p!r} contains no PEM CERTIFICATE block")
        return tuple(cls(_TOKEN, der) for der in ders)

    def to_der(self) -> bytes:
        """The certificate in DER form."""
        return self._der

    def to_pem(self) -> bytes:
        """The certificate as one PEM ``CERTIFICATE`` block."""
        return der_to_pem(self._der, "CERTIFICATE")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other._der == self._der

    def __hash__(self) -> int:
        return hash(self._der)

    def __repr__(self) -> str:
        return f"<Certificate sha256={hashlib.sha256(self._der).hexdigest()[:16]}>"


_CERT_LABELS = ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE")


def _single_certificate_der(data: bytes, what: str) -> bytes:
    if b"-----BEGIN" in data:
        ders = [der for label, der in pem_blocks(data) if label in _CERT_LABELS]
        if len(ders) != 1:
            raise ValueError(
                f"{what} must hold exactly one PEM CERTIFICATE block, found {len(ders)}"
            )
        return ders[0]
    if data[:1] != b"\x30" or len(data) < 64:
        raise ValueError(f"{what} is neither PEM nor DER certificate data")
    return data


class PrivateKey:
    """A private key, optionally encrypted. Create with :meth:`from_buffer` or :meth:`from_file`.

    The key material is kept in memory as given (still encrypted if it was). The
    password, if any, is bytes or a callable that is only called when the key turns
    out to be encrypted. Equality compares the key data and the password (a callable
    password compares by identity); the ``repr`` shows neither.
    """

    __slots__ = ("_password", "_path", "_pem")
    _path: str | None
    _pem: bytes
    _password: bytes | Callable[[], bytes | bytearray] | None

    def __init__(
        self,
        _token: object,
        pem: bytes,
        password: Password | None,
        path: str | None,
    ) -> None:
        if _token is not _TOKEN:
            raise TypeError("use PrivateKey.from_buffer() or PrivateKey.from_file()")
        if password is not None and not (
            isinstance(password, (bytes, bytearray)) or callable(password)
        ):
            raise TypeError(
                "private key password must be bytes or a callable returning bytes, "
                f"not {type(password).__name__}"
            )
        pw: bytes | Callable[[], bytes | bytearray] | None
        pw = bytes(password) if isinstance(password, (bytes, bytearray)) else password
        object.__setattr__(self, "_pem", pem)
        object.__setattr__(self, "_password", pw)
        object.__setattr__(self, "_path", path)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("PrivateKey objects are immutable")

    def __reduce__(self) -> tuple[object, ...]:
        return _reduce(self)

    @classmethod
    def from_buffer(cls, buffer: bytes, password: Password | None = None) -> PrivateKey:
        """A key from PEM bytes (any ``... PRIVATE KEY`` block) or PKCS#8 DER bytes."""
        data = _as_bytes(buffer, "private key buffer")
        return cls(_TOKEN, _key_pem(data, "private key buffer"), password, None)

    @classmethod
    def from_file(cls, path: PathLike, password: Password | None = None) -> PrivateKey:
        """A key read now from the PEM or DER file at *path*."""
        p = _fspath(path, "private key path")
        return cls(_TOKEN, _key_pem(_read(p), f"private key file {p!r}"), password, p)

    @property
    def encrypted(self) -> bool:
        """Whether the key material is password-protected."""
        header = self._pem.split(b"\n", 1)[0]
        return b"ENCRYPTED" in header or b"Proc-Type: 4,ENCRYPTED" in self._pem

    def to_pem(self) -> bytes:
        """The key exactly as loaded, in PEM form (still encrypted if it was)."""
        return self._pem

    def password_bytes(self) -> bytes | None:
        """The password to decrypt the key: ``None`` for an unencrypted key.

        Calls a callable password (only for encrypted keys) and checks its result.
        """
        if not self.encrypted:
            return None
        pw = self._password
        if pw is None:
            raise ValueError("the private key is encrypted but no password was given")
        if callable(pw):
            value = pw()
            if not isinstance(value, (bytes, bytearray)):
                raise TypeError(
                    "the private key password callable must return bytes, "
                    f"not {type(value).__name__}"
                )
            return bytes(value)
        return pw

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PrivateKey)
            and other._pem == self._pem
            and other._password == self._password
        )

    def __hash__(self) -> int:
        return hash(self._pem)

    def __repr__(self) -> str:
        kind = "encrypted" if self.encrypted else "unencrypted"
        where = "file" if self._path else "buffer"
        return f"<PrivateKey {kind}, from {where}>"


def _key_pem(data: bytes, what: str) -> bytes:
    if b"-----BEGIN" in data:
        for m in _PEM_RE.finditer(data):
            if m.group(1).endswith(b"PRIVATE KEY"):
                return m.group(0) + b"\n"
        raise ValueError(f"{what} holds no PEM '... PRIVATE KEY' block")
    if data[:1] != b"\x30":
        raise ValueError(f"{what} is neither PEM nor DER private key data")
    return der_to_pem(data, "PRIVATE KEY")


class TrustStore:
    """The set of certificate authorities a peer's certificate must chain to.

    * :meth:`system` — the operating system's store. On macOS and Windows the OS
      verifies the chain (through ``truststore``); on Linux and BSD the system CA
      bundle/directory is loaded once per context.
    * :meth:`certifi` — Mozilla's bundle as shipped by ``certifi``.
    * :meth:`from_pem_file`, :meth:`from_directory` (``c_rehash`` layout),
      :meth:`from_buffer` — exactly the given CAs.
    """

    __slots__ = ("_kind", "_value")
    _kind: str
    _value: str | bytes | None

    def __init__(self, _token: object, kind: str, value: str | bytes | None) -> None:
        if _token is not _TOKEN:
            raise TypeError("use a TrustStore factory such as TrustStore.system()")
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_value", value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("TrustStore objects are immutable")

    def __reduce__(self) -> tuple[object, ...]:
        return _reduce(self)

    @classmethod
    def system(cls) -> TrustStore:
        """The operating system's trust store."""
        return cls(_TOKEN, "system", None)

    @classmethod
    def certifi(cls) -> TrustStore:
        """The CA bundle of the ``certifi`` package."""
        import certifi

        return cls(_TOKEN, "certifi", os.path.abspath(certifi.where()))

    @classmethod
    def from_pem_file(cls, path: PathLike) -> TrustStore:
        """Exactly the CAs in the PEM bundle at *path* (checked now, loaded per context)."""
        p = _fspath(path, "trust store path")
        if os.path.isdir(p):
            raise IsADirectoryError(
                f"trust store path {p!r} is a directory; use TrustStore.from_directory()"
            )
        if b"-----BEGIN CERTIFICATE-----" not in _read(p):
            raise ValueError(f"trust store file {p!r} contains no PEM CERTIFICATE block")
        return cls(_TOKEN, "file", p)

    @classmethod
    def from_directory(cls, path: PathLike) -> TrustStore:
        """Exactly the CAs in a hashed (``c_rehash``/``openssl rehash``) directory."""
        p = _fspath(path, "trust store directory")
        if not os.path.isdir(p):
            if not os.path.exists(p):
                raise FileNotFoundError(2, "No such directory", p)
            raise NotADirectoryError(20, "Not a directory", p)
        return cls(_TOKEN, "directory", p)

    @classmethod
    def from_buffer(cls, buffer: bytes) -> TrustStore:
        """Exactly the CAs in *buffer*: PEM (one or more certificates) or one DER certificate."""
        data = _as_bytes(buffer, "trust store buffer")
        if b"-----BEGIN" in data:
            ders = [der for label, der in pem_blocks(data) if label in _CERT_LABELS]
            if not ders:
                raise ValueError("trust store buffer contains no PEM CERTIFICATE block")
        else:
            ders = [_single_certificate_der(data, "trust store buffer")]
        return cls(_TOKEN, "buffer", b"".join(der_to_pem(d, "CERTIFICATE") for d in ders))

    @property
    def kind(self) -> str:
        """``"system"``, ``"certifi"``, ``"file"``, ``"directory"`` or ``"buffer"``."""
        return self._kind

    @property
    def path(self) -> str | None:
        """The bundle file or directory for ``certifi``/``file``/``directory`` stores."""
        return self._value if isinstance(self._value, str) else None

    def pem_bytes(self) -> bytes | None:
        """The PEM certificates of a ``buffer`` store (``None`` for other kinds)."""
        return self._value if isinstance(self._value, bytes) else None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TrustStore)
            and other._kind == self._kind
            and other._value == self._value
        )

    def __hash__(self) -> int:
        return hash((self._kind, self._value))

    def __repr__(self) -> str:
        if self._kind == "buffer":
            assert isinstance(self._value, bytes)
            n = self._value.count(b"-----BEGIN CERTIFICATE-----")
            return f"<TrustStore buffer: {n} certificate(s)>"
        if self.path is None:
            return f"<TrustStore {self._kind}>"
        return f"<TrustStore {self._kind}: {self.path}>"
