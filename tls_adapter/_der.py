"""A strict DER reader: tag-length-values and the primitive types built from them.

:class:`_Node` is one TLV (its tag and where its contents lie); :func:`_read` reads the
one at an offset, :func:`_whole` the one that is all of its input. On top of it, the
primitives that X.509 certificates and private-key formats are made of: ``OBJECT
IDENTIFIER``, the string types, ``INTEGER``, ``BIT STRING``, ``UTCTime`` and
``GeneralizedTime``. Only single-byte tags and definite lengths of up to four bytes
are read (DER as certificates use it). Anything else is a :class:`ValueError` whose
message names the part (*what*) that is wrong: the input is attacker-controlled, so no
other exception escapes, nothing recurses, and the work is linear in the input.

What the values mean (certificates, names, extensions, keys) is :mod:`._x509`'s.
"""

from __future__ import annotations

import re

__all__ = [
    "_BIT_STRING",
    "_BOOLEAN",
    "_GENERALIZED_TIME",
    "_INTEGER",
    "_NULL",
    "_OCTET_STRING",
    "_OID",
    "_SEQUENCE",
    "_SET",
    "_UTC_TIME",
    "_Node",
    "_as_der",
    "_bit_string",
    "_check_time",
    "_fields",
    "_integer",
    "_oid",
    "_read",
    "_string",
    "_tag_name",
    "_time",
    "_whole",
]

_BOOLEAN = 0x01
_INTEGER = 0x02
_BIT_STRING = 0x03
_OCTET_STRING = 0x04
_NULL = 0x05
_OID = 0x06
_SEQUENCE = 0x30
_SET = 0x31
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18

_TAG_NAMES = {
    _BOOLEAN: "BOOLEAN",
    _INTEGER: "INTEGER",
    _BIT_STRING: "BIT STRING",
    _OCTET_STRING: "OCTET STRING",
    _NULL: "NULL",
    _OID: "OBJECT IDENTIFIER",
    _SEQUENCE: "SEQUENCE",
    _SET: "SET",
    _UTC_TIME: "UTCTime",
    _GENERALIZED_TIME: "GeneralizedTime",
}

# An OID arc longer than this many bytes (224 bits; UUID arcs under 2.25 need 19) is
# refused: converting arbitrarily long arcs to decimal costs quadratic time.
_MAX_ARC_BYTES = 32

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UTC_RE = re.compile(rb"([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})Z")
_GENERALIZED_RE = re.compile(
    rb"([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})(\.[0-9]+)?Z"
)
# What _check_time() accepts (OpenSSL also reads BER times without seconds or with a
# +hhmm offset; _time() wants RFC 5280's form).
_ANY_TIME_RE = re.compile(rb"[0-9]{10,14}(\.[0-9]+)?(Z|[+-][0-9]{4})?")


# -- TLVs -------------------------------------------------------------------------------
def _tag_name(tag: int) -> str:
    """How messages name a tag: ``"SEQUENCE"``, or ``"tag 0xa0"`` for one without a name."""
    return _TAG_NAMES.get(tag, f"tag 0x{tag:02x}")


class _Node:
    """One TLV: its tag byte and the bounds of its contents inside ``data``."""

    __slots__ = ("data", "end", "start", "tag")

    def __init__(self, data: bytes, tag: int, start: int, end: int) -> None:
        self.data = data
        self.tag = tag
        self.start = start
        self.end = end

    @property
    def content(self) -> bytes:
        """The value's contents (without tag and length)."""
        return self.data[self.start : self.end]

    def children(self, what: str = "DER value") -> list[_Node]:
        """The TLVs inside a constructed value."""
        if not self.tag & 0x20:
            raise ValueError(f"{what}: {_tag_name(self.tag)} is not a constructed DER value")
        out = []
        pos = self.start
        while pos < self.end:
            node, pos = _read(self.data, pos, self.end)
            out.append(node)
        return out

    def expect(self, tag: int, what: str = "DER value") -> _Node:
        """This node, if its tag is *tag*."""
        if self.tag != tag:
            raise ValueError(f"{what}: expected {_tag_name(tag)}, found {_tag_name(self.tag)}")
        return self


def _read(data: bytes, pos: int, limit: int) -> tuple[_Node, int]:
    """The TLV starting at *pos* (which must end by *limit*) and the position after it."""
    if pos + 2 > limit:
        raise ValueError(f"truncated DER: no complete tag and length at offset {pos}")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError(f"multi-byte DER tags are not used here (offset {pos})")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            raise ValueError(f"indefinite DER length at offset {pos - 2} (BER, not DER)")
        if count > 4:
            raise ValueError(f"DER length of {count} bytes at offset {pos - 2} (at most 4)")
        if pos + count > limit:
            raise ValueError(f"truncated DER: the length at offset {pos - 2} is cut off")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > limit:
        raise ValueError(
            f"truncated DER: a value of {length} bytes at offset {pos} runs past the end"
        )
    return _Node(data, tag, pos, end), end


def _whole(data: bytes, what: str) -> _Node:
    """The one TLV that is all of *data*."""
    node, end = _read(data, 0, len(data))
    if end != len(data):
        raise ValueError(f"trailing data after the DER {what} ({len(data) - end} bytes)")
    return node


def _as_der(data: object, what: str) -> bytes:
    """*data* as :class:`bytes` (:class:`TypeError` if it is not bytes-like)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes, not {type(data).__name__}")
    return bytes(data)


def _fields(
    node: _Node, what: str, expected: str, least: int, most: int | None = None
) -> list[_Node]:
    """The TLVs inside *node*: at least *least* and at most *most* of them, else a
    :class:`ValueError` that says what was *expected*."""
    fields = node.children(what)
    if len(fields) < least or (most is not None and len(fields) > most):
        raise ValueError(f"{what}: {len(fields)} fields, expected {expected}")
    return fields


# -- primitives -------------------------------------------------------------------------
def _oid(node: _Node, what: str = "OID") -> str:
    """An ``OBJECT IDENTIFIER`` in dotted form (``"2.5.4.3"``)."""
    raw = node.expect(_OID, what).content
    if not raw:
        raise ValueError(f"{what}: empty OBJECT IDENTIFIER")
    if raw[-1] & 0x80:
        raise ValueError(f"{what}: the last arc of the OBJECT IDENTIFIER is cut off")
    parts: list[int] = []
    value = 0
    size = 0
    for byte in raw:
        if size == 0 and byte == 0x80:
            raise ValueError(f"{what}: OBJECT IDENTIFIER arc with a leading 0x80 (not DER)")
        size += 1
        if size > _MAX_ARC_BYTES:
            raise ValueError(f"{what}: OBJECT IDENTIFIER arc longer than {_MAX_ARC_BYTES} bytes")
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
            size = 0
    first = parts[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(p) for p in head + parts[1:])


def _string(node: _Node) -> str:
    """Any of the string types as text, decoded as OpenSSL does (never an error)."""
    raw = node.content
    if node.tag == 0x1E:  # BMPString
        return raw.decode("utf-16-be", "replace")
    if node.tag == 0x1C:  # UniversalString
        return raw.decode("utf-32-be", "replace")
    if node.tag == 0x14:  # T61String: OpenSSL treats it as Latin-1
        return raw.decode("latin-1")
    return raw.decode("utf-8", "replace")


def _integer(node: _Node, what: str) -> int:
    """A non-empty ``INTEGER``."""
    raw = node.expect(_INTEGER, what).content
    if not raw:
        raise ValueError(f"{what}: empty INTEGER")
    return int.from_bytes(raw, "big", signed=True)


def _bit_string(node: _Node, what: str) -> None:
    """Check that *node* is a well-formed ``BIT STRING``."""
    content = node.expect(_BIT_STRING, what).content
    if not content or content[0] > 7 or (len(content) == 1 and content[0]):
        raise ValueError(f"{what}: malformed BIT STRING")


# -- times ------------------------------------------------------------------------------
def _days_in_month(year: int, month: int) -> int:
    """The number of days of *month* (1..12) of *year* in the Gregorian calendar."""
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _time(node: _Node, what: str) -> str:
    """An RFC 5280 ``UTCTime`` or ``GeneralizedTime``, printed as :mod:`ssl` prints it
    (``"Jan  1 00:00:00 2000 GMT"``)."""
    raw = node.content
    if node.tag == _UTC_TIME:
        match = _UTC_RE.fullmatch(raw)
        if match is None:
            raise ValueError(f"{what}: UTCTime is not YYMMDDHHMMSSZ")
        year = int(match.group(1))
        year += 2000 if year < 50 else 1900
        fraction = ""
    elif node.tag == _GENERALIZED_TIME:
        match = _GENERALIZED_RE.fullmatch(raw)
        if match is None:
            raise ValueError(f"{what}: GeneralizedTime is not YYYYMMDDHHMMSS[.fff]Z")
        year = int(match.group(1))
        fraction = (match.group(7) or b"").decode("ascii")  # printed as OpenSSL does
    else:
        raise ValueError(f"{what}: expected a time, found {_tag_name(node.tag)}")
    month, day, hour, minute, second = (int(match.group(i)) for i in range(2, 7))
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        raise ValueError(f"{what}: no such date")
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{what}: no such time of day")
    clock = f"{hour:02d}:{minute:02d}:{second:02d}{fraction}"
    return f"{_MONTHS[month - 1]} {day:2d} {clock} {year} GMT"


def _check_time(node: _Node, what: str) -> None:
    """Check that *node* is a time (in any form OpenSSL reads, unlike :func:`_time`)."""
    if node.tag not in (_UTC_TIME, _GENERALIZED_TIME):
        raise ValueError(f"{what}: expected a time, found {_tag_name(node.tag)}")
    if _ANY_TIME_RE.fullmatch(node.content) is None:
        raise ValueError(f"{what}: not a time")
