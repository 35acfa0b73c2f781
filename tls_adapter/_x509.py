"""A small DER reader that turns an X.509 certificate into the dict :mod:`ssl` returns.

``ssl.SSLSocket.getpeercert()`` returns a dict built by OpenSSL; a backend-neutral
shim has only the DER bytes. :func:`decode_certificate` rebuilds the same dict
(``subject``, ``issuer``, ``version``, ``serialNumber``, ``notBefore``, ``notAfter``,
``subjectAltName``, ``OCSP``, ``caIssuers``, ``crlDistributionPoints``) with the
stdlib's spellings: OpenSSL long names for attribute types, ``'IP Address'`` entries
with IPv6 written as eight upper-case hex groups without zero compression,
``'Jan  1 00:00:00 2000 GMT'`` dates. No third-party code is involved; the reader is
strict about structure and raises :class:`ValueError` on anything malformed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["decode_certificate", "is_ca_certificate", "split_der_certificates"]

_SEQUENCE = 0x30
_SET = 0x31
_INTEGER = 0x02
_BOOLEAN = 0x01
_OCTET_STRING = 0x04
_OID = 0x06
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18

# OpenSSL long names (what ``ssl`` prints) for the attribute types seen in practice.
_ATTRIBUTE_NAMES = {
    "2.5.4.3": "commonName",
    "2.5.4.4": "surname",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "countryName",
    "2.5.4.7": "localityName",
    "2.5.4.8": "stateOrProvinceName",
    "2.5.4.9": "streetAddress",
    "2.5.4.10": "organizationName",
    "2.5.4.11": "organizationalUnitName",
    "2.5.4.12": "title",
    "2.5.4.13": "description",
    "2.5.4.15": "businessCategory",
    "2.5.4.17": "postalCode",
    "2.5.4.41": "name",
    "2.5.4.42": "givenName",
    "2.5.4.43": "initials",
    "2.5.4.44": "generationQualifier",
    "2.5.4.46": "dnQualifier",
    "2.5.4.65": "pseudonym",
    "2.5.4.97": "organizationIdentifier",
    "1.2.840.113549.1.9.1": "emailAddress",
    "1.2.840.113549.1.9.2": "unstructuredName",
    "0.9.2342.19200300.100.1.1": "userId",
    "0.9.2342.19200300.100.1.25": "domainComponent",
    "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionLocalityName",
    "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionStateOrProvinceName",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionCountryName",
}
_SAN = "2.5.29.17"
_BASIC_CONSTRAINTS = "2.5.29.19"
_CRL_DP = "2.5.29.31"
_AIA = "1.3.6.1.5.5.7.1.1"
_OCSP = "1.3.6.1.5.5.7.48.1"
_CA_ISSUERS = "1.3.6.1.5.5.7.48.2"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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
        return self.data[self.start : self.end]

    def children(self) -> list[_Node]:
        """The TLVs inside a constructed value."""
        if not self.tag & 0x20:
            raise ValueError(f"DER tag 0x{self.tag:02x} is not constructed")
        out = []
        pos = self.start
        while pos < self.end:
            node, pos = _read(self.data, pos, self.end)
            out.append(node)
        return out

    def expect(self, tag: int) -> _Node:
        if self.tag != tag:
            raise ValueError(f"expected DER tag 0x{tag:02x}, found 0x{self.tag:02x}")
        return self


def _read(data: bytes, pos: int, limit: int) -> tuple[_Node, int]:
    """The TLV starting at *pos* (which must end by *limit*) and the position after it."""
    if pos + 2 > limit:
        raise ValueError("truncated DER")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte DER tags are not used in certificates")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > limit:
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > limit:
        raise ValueError("truncated DER")
    return _Node(data, tag, pos, end), end


def _parse(der: bytes) -> _Node:
    node, end = _read(der, 0, len(der))
    if end != len(der):
        raise ValueError("trailing data after the DER certificate")
    return node.expect(_SEQUENCE)


def _oid(node: _Node) -> str:
    raw = node.expect(_OID).content
    if not raw:
        raise ValueError("empty OID")
    parts: list[int] = []
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    first = parts[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(p) for p in head + parts[1:])


def _string(node: _Node) -> str:
    raw = node.content
    if node.tag == 0x1E:  # BMPString
        return raw.decode("utf-16-be", "replace")
    if node.tag == 0x1C:  # UniversalString
        return raw.decode("utf-32-be", "replace")
    if node.tag == 0x14:  # T61String: OpenSSL treats it as Latin-1
        return raw.decode("latin-1")
    return raw.decode("utf-8", "replace")


def _name(node: _Node) -> tuple[tuple[tuple[str, str], ...], ...]:
    rdns = []
    for rdn in node.expect(_SEQUENCE).children():
        pairs = []
        for atv in rdn.expect(_SET).children():
            oid_node, value = atv.expect(_SEQUENCE).children()[:2]
            oid = _oid(oid_node)
            pairs.append((_ATTRIBUTE_NAMES.get(oid, oid), _string(value)))
        rdns.append(tuple(pairs))
    return tuple(rdns)


def _time(node: _Node) -> str:
    text = node.content.decode("ascii")
    if node.tag == _UTC_TIME:
        year = int(text[0:2])
        year += 2000 if year < 50 else 1900
        rest = text[2:]
    elif node.tag == _GENERALIZED_TIME:
        year = int(text[0:4])
        rest = text[4:]
    else:
        raise ValueError(f"bad certificate time tag 0x{node.tag:02x}")
    if not rest.endswith("Z"):
        raise ValueError("certificate times must be in UTC")
    month, day = int(rest[0:2]), int(rest[2:4])
    hh, mm, ss = rest[4:6], rest[6:8], rest[8:10]
    fraction = rest[10:-1]  # ".123" in GeneralizedTime, printed as OpenSSL does
    return f"{_MONTHS[month - 1]} {day:2d} {hh}:{mm}:{ss}{fraction} {year} GMT"


def _serial(node: _Node) -> str:
    raw = node.expect(_INTEGER).content
    sign = ""
    if raw and raw[0] & 0x80:
        sign = "-"
        raw = (-int.from_bytes(raw, "big", signed=True)).to_bytes(len(raw), "big")
    raw = raw.lstrip(b"\x00")
    return sign + (raw.hex().upper() if raw else "00")


def _ip(raw: bytes) -> str:
    if len(raw) == 4:
        return ".".join(str(b) for b in raw)
    if len(raw) == 16:
        return ":".join(f"{int.from_bytes(raw[i : i + 2], 'big'):X}" for i in range(0, 16, 2))
    return "<invalid>"


def _general_name(node: _Node) -> tuple[str, Any]:
    number = node.tag & 0x1F
    if number == 1:
        return ("email", _string(node))
    if number == 2:
        return ("DNS", _string(node))
    if number == 6:
        return ("URI", _string(node))
    if number == 7:
        return ("IP Address", _ip(node.content))
    if number == 4:  # directoryName: EXPLICIT Name
        return ("DirName", _name(node.children()[0]))
    if number == 8:  # registeredID: IMPLICIT OID
        oid = _oid(_Node(node.data, _OID, node.start, node.end))
        return ("Registered ID", oid)
    label = {0: "othername", 3: "X400Name", 5: "EdiPartyName"}.get(number, "othername")
    return (label, "<unsupported>")


def _uris(general_names: list[_Node]) -> list[str]:
    return [_string(n) for n in general_names if n.tag & 0x1F == 6]


def _extensions(tbs_fields: list[_Node]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for field in tbs_fields:
        if field.tag != 0xA3:
            continue
        for ext in field.children()[0].expect(_SEQUENCE).children():
            parts = ext.expect(_SEQUENCE).children()
            out[_oid(parts[0])] = parts[-1].expect(_OCTET_STRING).content
    return out


def _tbs_fields(der: bytes) -> list[_Node]:
    tbs = _parse(der).children()[0].expect(_SEQUENCE)
    return tbs.children()


def decode_certificate(der: bytes) -> dict[str, Any]:
    """The dict ``ssl.SSLSocket.getpeercert()`` returns for the DER certificate *der*.

    :raises ValueError: *der* is not a well-formed certificate.
    """
    try:
        return _decode(bytes(der))
    except (IndexError, UnicodeDecodeError) as e:
        raise ValueError(f"malformed certificate: {e}") from e


def _decode(der: bytes) -> dict[str, Any]:
    fields = _tbs_fields(der)
    version = 1
    if fields[0].tag == 0xA0:
        version = int.from_bytes(fields[0].children()[0].expect(_INTEGER).content, "big") + 1
        fields_after_version = fields[1:]
    else:
        fields_after_version = fields
    serial, _sig, issuer, validity, subject = fields_after_version[:5]
    not_before, not_after = validity.expect(_SEQUENCE).children()[:2]
    result: dict[str, Any] = {
        "subject": _name(subject),
        "issuer": _name(issuer),
        "version": version,
        "serialNumber": _serial(serial),
        "notBefore": _time(not_before),
        "notAfter": _time(not_after),
    }
    extensions = _extensions(fields_after_version[5:])
    if _SAN in extensions:
        names, _ = _read(extensions[_SAN], 0, len(extensions[_SAN]))
        result["subjectAltName"] = tuple(_general_name(n) for n in names.children())
    if _AIA in extensions:
        access, _ = _read(extensions[_AIA], 0, len(extensions[_AIA]))
        ocsp: list[str] = []
        issuers: list[str] = []
        for desc in access.children():
            method, location = desc.expect(_SEQUENCE).children()[:2]
            target = {_OCSP: ocsp, _CA_ISSUERS: issuers}.get(_oid(method))
            if target is not None:
                target.extend(_uris([location]))
        if ocsp:
            result["OCSP"] = tuple(ocsp)
        if issuers:
            result["caIssuers"] = tuple(issuers)
    if _CRL_DP in extensions:
        points, _ = _read(extensions[_CRL_DP], 0, len(extensions[_CRL_DP]))
        uris: list[str] = []
        for point in points.children():
            for part in point.expect(_SEQUENCE).children():
                if part.tag != 0xA0:  # [0] distributionPoint
                    continue
                for dp_name in part.children():
                    if dp_name.tag == 0xA0:  # [0] fullName: IMPLICIT GeneralNames
                        uris.extend(_uris(dp_name.children()))
        if uris:
            result["crlDistributionPoints"] = tuple(uris)
    return result


def is_ca_certificate(der: bytes) -> bool:
    """Whether *der* carries ``basicConstraints`` with ``cA`` set (``False`` if malformed)."""
    try:
        fields = _tbs_fields(bytes(der))
        start = 1 if fields[0].tag == 0xA0 else 0
        extensions = _extensions(fields[start + 5 :])
        value = extensions.get(_BASIC_CONSTRAINTS)
        if value is None:
            return False
        constraints, _ = _read(value, 0, len(value))
        parts = constraints.expect(_SEQUENCE).children()
        return bool(parts) and parts[0].tag == _BOOLEAN and parts[0].content != b"\x00"
    except (ValueError, IndexError):
        return False


def split_der_certificates(data: bytes) -> list[bytes]:
    """Split concatenated DER certificates (as in ``cadata=`` bytes) into single ones.

    :raises ValueError: the data is not a sequence of DER ``SEQUENCE`` values.
    """
    data = bytes(data)
    out = []
    pos = 0
    while pos < len(data):
        node, end = _read(data, pos, len(data))
        node.expect(_SEQUENCE)
        out.append(data[pos:end])
        pos = end
    if not out:
        raise ValueError("no DER certificate found")
    return out


def dns_name_matches(pattern: str, host: str) -> bool:
    """Whether the dNSName *pattern* matches *host* (an A-label, lower case, no final dot).

    The rules of OpenSSL's ``X509_check_host`` with ``X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS``
    (as the ``ssl`` module sets it), shared by every backend that checks names itself:
    case-insensitive; a wildcard is a whole left-most label ``*`` followed by at least two
    labels, and stands for exactly one non-empty label.
    """
    pattern = pattern.rstrip(".")
    if not pattern.isascii() or not host:
        return False
    pattern = pattern.lower()
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    rest = pattern[2:]
    if "*" in rest or rest.count(".") < 1 or "" in rest.split("."):
        return False
    first, dot, remainder = host.partition(".")
    return bool(first and dot) and remainder == rest


def has_matching_dns_name(der: bytes, host: str) -> bool:
    """Whether a dNSName subjectAltName of the DER certificate matches *host*."""
    names = decode_certificate(der).get("subjectAltName", ())
    return any(kind == "DNS" and dns_name_matches(value, host) for kind, value in names)
