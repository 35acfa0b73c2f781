"""Backend-neutral certificates, private keys and trust stores.

These are immutable value objects (PEP 748's lesson): one :class:`TLSConfiguration`
works with every backend, and each backend decides how to load them. Bad input is
refused when the object is made, with a :class:`ValueError` that says what is wrong:
the PEM armour and base64 are read strictly, and the DER inside is checked for the
structure of a certificate or of a private key by :mod:`tls_adapter._x509` (plus, for
unencrypted keys, by ``cryptography`` when it is installed). The TLS library still
does the real parsing (signatures, curves, decryption) when a context is built.

Private key material never appears in a ``repr``, a log line or an exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Callable
from typing import NamedTuple, TypeAlias, Union

from ._x509 import PRIVATE_KEY_LABELS, check_certificate, check_private_key, private_key_kind

__all__ = ["Certificate", "Password", "PathLike", "PrivateKey", "TrustStore"]

#: Anything accepted as a filesystem path.
PathLike: TypeAlias = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
#: A private-key password: the bytes themselves, or a callable returning them that is
#: called only when the key is actually encrypted.
Password: TypeAlias = "bytes | bytearray | Callable[[], bytes | bytearray]"

# One BEGIN or END line marker. Blocks are found by pairing markers in one pass (a
# regular expression spanning BEGIN to END rescans the rest of the input for every
# unterminated BEGIN: quadratic time on hostile input).
_MARKER_RE = re.compile(rb"-----(BEGIN|END) ([A-Z0-9 ]+)-----")
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
        if not data.isascii():
            # Not the UnicodeEncodeError: it would carry all of *data* (maybe a key).
            raise ValueError(f"{what} is a str with non-ASCII characters: PEM is ASCII")
        return data.encode("ascii")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes (PEM or DER), not {type(data).__name__}")
    return bytes(data)


class _PemSpan(NamedTuple):
    """Where one ``-----BEGIN label-----`` ... ``-----END label-----`` block is in the data."""

    label: str
    start: int  # the BEGIN marker
    body_start: int  # just after the BEGIN marker
    body_end: int  # the END marker
    end: int  # just after the END marker


def _pem_spans(data: bytes, unclosed: list[str] | None = None) -> list[_PemSpan]:
    """Every complete PEM block in *data*, in order, in linear time.

    A BEGIN marker followed by another BEGIN before its END is dropped, and so is one
    never closed (their labels are appended to *unclosed*); an END that matches no open
    BEGIN is ignored.
    """
    spans = []
    opened: tuple[bytes, int, int] | None = None
    for m in _MARKER_RE.finditer(data):
        kind, label = m.group(1), m.group(2)
        if kind == b"BEGIN":
            if opened is not None and unclosed is not None:
                unclosed.append(opened[0].decode())
            opened = (label, m.start(), m.end())
        elif opened is not None and opened[0] == label:
            spans.append(_PemSpan(label.decode(), opened[1], opened[2], m.start(), m.end()))
            opened = None
    if opened is not None and unclosed is not None:
        unclosed.append(opened[0].decode())
    return spans


def pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """All PEM blocks in *data* as ``(label, der)`` pairs, in order.

    Lenient, for bundles read as a whole: blocks that are not plain base64 (corrupt, or
    with RFC 1421 headers) are skipped. The loaders of this module use a strict reader.
    """
    blocks = []
    for span in _pem_spans(data):
        body = data[span.body_start : span.body_end]
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except binascii.Error:
            continue
        blocks.append((span.label, der))
    return blocks


def _split_headers(lines: list[bytes]) -> tuple[dict[str, str], list[bytes]] | None:
    """RFC 1421 headers at the start of *lines* (a PEM body) and the lines after them.

    ``({}, lines)`` without headers; ``None`` if the headers are malformed (not
    ``Name: value`` ASCII lines ended by a blank line).
    """
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    if first == len(lines) or b":" not in lines[first]:  # base64 has no colon
        return {}, lines
    found: dict[str, str] = {}
    for index in range(first, len(lines)):
        text = lines[index].strip()
        if not text:
            return found, lines[index + 1 :]
        name, colon, value = text.partition(b":")
        if not colon or not text.isascii():
            return None
        found[name.decode().strip()] = value.decode().strip()
    return None


def _pem_encrypted(headers: dict[str, str]) -> bool:
    """Whether PEM *headers* say the block is encrypted (``Proc-Type: 4,ENCRYPTED``)."""
    return "".join(headers.get("Proc-Type", "").split()) == "4,ENCRYPTED"


def _pem_contents(
    data: bytes, span: _PemSpan, what: str, *, headers: bool = False
) -> tuple[dict[str, str], bytes]:
    """``(headers, der)`` of one PEM block, strictly: bad base64 is an error.

    RFC 1421 headers (``Proc-Type: ...`` lines and a blank line) are allowed only with
    *headers*. Messages name the block, never its contents.
    """
    lines = data[span.body_start : span.body_end].split(b"\n")
    # As OpenSSL reads PEM: the markers are lines of their own.
    if len(lines) < 2 or lines[0].strip() or lines[-1].strip():
        raise ValueError(
            f"{what}: the BEGIN and END lines of the PEM {span.label} block must be lines "
            "of their own"
        )
    split = _split_headers(lines[1:-1])
    if split is None:
        raise ValueError(f"{what}: the PEM {span.label} block has malformed header lines")
    found, body = split
    if found and not headers:
        raise ValueError(f"{what}: the PEM {span.label} block has unexpected header lines")
    if not found:  # blank lines may follow BEGIN; OpenSSL takes later ones to end headers
        body = body[next((i for i, line in enumerate(body) if line.strip()), len(body)) :]
    if any(not line.strip() for line in body):
        raise ValueError(f"{what}: the PEM {span.label} block has a blank line in its base64")
    try:
        der = base64.b64decode(b"".join(b"".join(body).split()), validate=True)
    except binascii.Error:
        raise ValueError(f"{what}: the PEM {span.label} block is not valid base64") from None
    if not der:
        raise ValueError(f"{what}: the PEM {span.label} block is empty")
    return found, der


def _labels(spans: list[_PemSpan], unclosed: list[str] | None = None) -> str:
    """``" (it holds: A, B; BEGIN C without END)"`` for the error messages, or ``""``."""
    parts = []
    labels = sorted({s.label for s in spans})
    if labels:
        parts.append(f"it holds: {', '.join(labels)}")
    parts += [f"BEGIN {label} without END" for label in sorted(set(unclosed or ()))[:3]]
    return f" ({'; '.join(parts)})" if parts else ""


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
        """A certificate from PEM (one ``CERTIFICATE`` block) or DER bytes.

        :raises ValueError: not exactly one certificate, bad base64, or DER that is not
            shaped like an X.509 certificate (the message says which).
        :raises TypeError: *buffer* is not bytes (or an ASCII ``str``).
        """
        data = _as_bytes(buffer, "certificate buffer")
        return cls(_TOKEN, _single_certificate_der(data, "certificate buffer"))

    @classmethod
    def from_file(cls, path: PathLike) -> Certificate:
        """A certificate read now from a PEM or DER file at *path* (checked as
        :meth:`from_buffer` checks)."""
        p = _fspath(path, "certificate path")
        return cls(_TOKEN, _single_certificate_der(_read(p), f"certificate file {p!r}"))

    @classmethod
    def chain_from_buffer(cls, buffer: bytes) -> tuple[Certificate, ...]:
        """Every certificate in PEM *buffer*, in order (e.g. a leaf and its intermediates).

        Blocks of other types (a private key) are skipped; every certificate block must
        be valid.
        """
        data = _as_bytes(buffer, "certificate buffer")
        return tuple(cls(_TOKEN, der) for der in _certificate_ders(data, "certificate buffer"))

    @classmethod
    def chain_from_file(cls, path: PathLike) -> tuple[Certificate, ...]:
        """Every certificate in the PEM file at *path*, in order."""
        p = _fspath(path, "certificate path")
        ders = _certificate_ders(_read(p), f"certificate file {p!r}")
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


def _certificate_ders(data: bytes, what: str, *, exactly_one: bool = False) -> list[bytes]:
    """The DER of every certificate block of the PEM *data*, each checked.

    :raises ValueError: no certificate block (or not exactly one, with *exactly_one*),
        or a certificate block that is not valid base64 or not a certificate.
    """
    unclosed: list[str] = []
    spans = _pem_spans(data, unclosed)
    certificates = [span for span in spans if span.label in _CERT_LABELS]
    if exactly_one and len(certificates) != 1:
        others = _labels([span for span in spans if span.label not in _CERT_LABELS], unclosed)
        raise ValueError(
            f"{what} must hold exactly one PEM CERTIFICATE block, found {len(certificates)}"
            + others
        )
    if not certificates:
        raise ValueError(f"{what} contains no PEM CERTIFICATE block{_labels(spans, unclosed)}")
    ders = []
    for number, span in enumerate(certificates, 1):
        where = f"{what}, certificate {number}" if len(certificates) > 1 else what
        _, der = _pem_contents(data, span, where)
        try:
            # OpenSSL's TRUSTED CERTIFICATE blocks append trust settings to the DER:
            # they are dropped (no backend takes them), the certificate is kept.
            length = check_certificate(der, trailing_data=span.label == "TRUSTED CERTIFICATE")
        except ValueError as e:
            raise ValueError(f"{where}: not a valid X.509 certificate: {e}") from None
        ders.append(der[:length])
    return ders


def _single_certificate_der(data: bytes, what: str) -> bytes:
    if b"-----BEGIN" in data:
        return _certificate_ders(data, what, exactly_one=True)[0]
    try:
        check_certificate(data)
    except ValueError as e:
        try:
            private_key_kind(data)
        except ValueError:
            raise ValueError(f"{what} is neither PEM nor a DER certificate: {e}") from None
        raise ValueError(f"{what} holds a DER private key, not a certificate") from None
    return data


class PrivateKey:
    """A private key, optionally encrypted. Create with :meth:`from_buffer` or :meth:`from_file`.

    The key material is kept in memory as given (still encrypted if it was). The
    password, if any, is bytes or a callable that is only called when the key turns
    out to be encrypted. Equality compares the key data and the password (a callable
    password compares by identity); the ``repr`` shows neither.

    The key is checked when the object is made: PEM armour, base64, and the DER
    structure of PKCS#8, PKCS#1 (RSA), SEC1 (EC) and DSA keys down to the key values
    (an RSA key whose numbers disagree is refused), or of the encryption envelope of an
    encrypted key (encrypted PKCS#8, or PEM ``Proc-Type``/``DEK-Info`` encryption). With
    ``cryptography`` installed an unencrypted key must also load with it. A *wrong
    password* is not detected here: the key is decrypted only by the backend, when a
    context is built, which then raises :class:`~tls_adapter.ConfigurationError`
    (a callable password is not even called before that).
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
        """A key from PEM or DER bytes.

        PEM: the first ``PRIVATE KEY``, ``ENCRYPTED PRIVATE KEY``, ``RSA PRIVATE KEY``,
        ``EC PRIVATE KEY`` or ``DSA PRIVATE KEY`` block (other blocks, such as
        certificates, are skipped). DER: PKCS#8, encrypted PKCS#8, PKCS#1, SEC1 or DSA,
        told apart by their structure.

        :raises ValueError: no key, or a corrupt or truncated one; the message says
            what is wrong and never quotes key material.
        :raises TypeError: *buffer* or *password* has the wrong type.
        """
        data = _as_bytes(buffer, "private key buffer")
        return cls(_TOKEN, _key_pem(data, "private key buffer"), password, None)

    @classmethod
    def from_file(cls, path: PathLike, password: Password | None = None) -> PrivateKey:
        """A key read now from the PEM or DER file at *path* (checked as
        :meth:`from_buffer` checks)."""
        p = _fspath(path, "private key path")
        return cls(_TOKEN, _key_pem(_read(p), f"private key file {p!r}"), password, p)

    @property
    def encrypted(self) -> bool:
        """Whether the key material is password-protected."""
        header, _, rest = self._pem.partition(b"\n")
        if b"ENCRYPTED" in header:
            return True
        split = _split_headers(rest.split(b"\n"))
        return split is not None and _pem_encrypted(split[0])

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


_DEK_INFO_RE = re.compile(r"([A-Za-z0-9-]+)[ \t]*,[ \t]*([0-9A-Fa-f]+)")
# Block sizes of the CBC ciphers of OpenSSL's PEM encryption (DEK-Info).
_DEK_BLOCKS = {
    **{f"AES-{bits}-CBC": 16 for bits in (128, 192, 256)},
    **{f"CAMELLIA-{bits}-CBC": 16 for bits in (128, 192, 256)},
    **{f"ARIA-{bits}-CBC": 16 for bits in (128, 192, 256)},
    "DES-EDE3-CBC": 8,
    "DES-EDE-CBC": 8,
    "DES-CBC": 8,
}


def _key_pem(data: bytes, what: str) -> bytes:
    """The PEM of the key in *data* (PEM or DER), after checking it."""
    if b"-----BEGIN" not in data:
        try:
            label = private_key_kind(data)
        except ValueError as e:
            raise ValueError(f"{what} is neither PEM nor a DER private key: {e}") from None
        _check_key(data, label, what)
        return der_to_pem(data, label)
    unclosed: list[str] = []
    spans = _pem_spans(data, unclosed)
    keys = [span for span in spans if span.label.endswith("PRIVATE KEY")]
    if not keys:
        others = _labels(spans, unclosed)
        raise ValueError(f"{what} holds no PEM '... PRIVATE KEY' block{others}")
    span = keys[0]
    if span.label not in PRIVATE_KEY_LABELS:
        raise ValueError(
            f"{what}: PEM {span.label} blocks are not supported; use PKCS#8 "
            "(PRIVATE KEY or ENCRYPTED PRIVATE KEY) or RSA/EC/DSA PRIVATE KEY"
        )
    headers, der = _pem_contents(data, span, what, headers=True)
    if headers:
        _check_pem_encryption(headers, len(der), span.label, what)
    else:
        _check_key(der, span.label, what)
    return data[span.start : span.end] + b"\n"


def _check_key(der: bytes, label: str, what: str) -> None:
    try:
        check_private_key(der, label)
    except ValueError as e:
        raise ValueError(f"{what}: malformed {label}: {e}") from None
    if label != "ENCRYPTED PRIVATE KEY" and _cryptography_refuses(der):
        raise ValueError(
            f"{what}: the {label} is well-formed but not a usable key (the cryptography "
            "package cannot load it: inconsistent key values or a bad curve point)"
        )


def _cryptography_refuses(der: bytes) -> bool:
    """Whether ``cryptography``, if installed, finds the unencrypted DER key invalid.

    A key type it does not support passes: the TLS library may know it. (RSA keys are
    not run through OpenSSL's slow primality checks: :func:`check_private_key`
    already compares their numbers.)
    """
    try:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.serialization import load_der_private_key
    except ImportError:
        return False
    try:
        load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
    except UnsupportedAlgorithm:
        return False
    except TypeError:  # a cryptography too old for unsafe_skip_rsa_key_validation
        return False
    except ValueError:
        return True
    return False


def _check_pem_encryption(headers: dict[str, str], size: int, label: str, what: str) -> None:
    """Check the RFC 1421 headers of a PEM-encrypted key and its ciphertext's length."""
    if not _pem_encrypted(headers):
        raise ValueError(
            f"{what}: the PEM {label} block has headers but no 'Proc-Type: 4,ENCRYPTED'"
        )
    match = _DEK_INFO_RE.fullmatch(headers.get("DEK-Info", ""))
    if match is None or len(match.group(2)) % 2:
        raise ValueError(f"{what}: the encrypted PEM {label} block has no valid DEK-Info header")
    block = _DEK_BLOCKS.get(match.group(1).upper())
    if block is None:
        return  # a cipher the TLS library may know
    if len(match.group(2)) != 2 * block:
        raise ValueError(f"{what}: the DEK-Info IV of the PEM {label} block is not {block} bytes")
    if size % block:
        raise ValueError(
            f"{what}: the encrypted PEM {label} block is not a whole number of {block}-byte "
            "blocks (truncated?)"
        )


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
        """Exactly the CAs in *buffer*: PEM (one or more certificates) or one DER certificate.

        :raises ValueError: no certificate, or one that is corrupt (see
            :meth:`Certificate.from_buffer`); blocks of other types are skipped.
        """
        data = _as_bytes(buffer, "trust store buffer")
        if b"-----BEGIN" in data:
            ders = _certificate_ders(data, "trust store buffer")
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
