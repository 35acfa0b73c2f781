"""X.509 certificates into the dict :mod:`ssl` returns, and checks of the shape of
certificates and private keys: read with the strict DER reader of :mod:`._der`.

``ssl.SSLSocket.getpeercert()`` returns a dict built by OpenSSL; a backend-neutral
shim has only the DER bytes. :func:`decode_certificate` rebuilds the same dict
(``subject``, ``issuer``, ``version``, ``serialNumber``, ``notBefore``, ``notAfter``,
``subjectAltName``, ``OCSP``, ``caIssuers``, ``crlDistributionPoints``) with the
stdlib's spellings: OpenSSL long names for attribute types and registered IDs (from
the table of the OpenSSL that :mod:`ssl` uses, as the stdlib does), ``'IP Address'`` entries
with IPv6 written as eight upper-case hex groups without zero compression,
``'Jan  1 00:00:00 2000 GMT'`` dates. No third-party code is involved; the reader is
strict about structure and raises :class:`ValueError`, naming the part that is wrong,
on anything malformed: peer certificates are attacker-controlled bytes, so no other
exception escapes, nothing recurses, and the work is linear in the input.

Where the stdlib silently leaves out an extension OpenSSL cannot parse (a malformed or
repeated subjectAltName, say), this reader raises instead: it fails closed.

:func:`check_certificate`, :func:`private_key_kind` and :func:`check_private_key` check
structure, not cryptography: the fields of an X.509 ``Certificate`` (names and
extensions included), or of a PKCS#8, encrypted PKCS#8, PKCS#1 RSA, SEC1 EC or DSA
private key (for RSA also that its numbers agree), so that :mod:`tls_adapter`'s loaders
reject garbage when a :class:`~tls_adapter.Certificate` or
:class:`~tls_adapter.PrivateKey` is created, not when a backend loads it. Their
messages never quote the bytes they were given.
"""

from __future__ import annotations

import functools
from typing import Any

from ._der import (
    _BOOLEAN,
    _INTEGER,
    _NULL,
    _OCTET_STRING,
    _OID,
    _SEQUENCE,
    _SET,
    _as_der,
    _bit_string,
    _check_time,
    _fields,
    _integer,
    _Node,
    _oid,
    _read,
    _string,
    _tag_name,
    _time,
    _whole,
)

__all__ = [
    "PRIVATE_KEY_LABELS",
    "check_certificate",
    "check_private_key",
    "decode_certificate",
    "dns_name_matches",
    "has_matching_dns_name",
    "is_ca_certificate",
    "private_key_kind",
    "split_der_certificates",
]


# OpenSSL long names (what ``ssl`` prints) for the attribute types seen in practice;
# other OIDs are looked up in OpenSSL's table by _object_name().
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


@functools.lru_cache(maxsize=256)
def _object_name(oid: str) -> str:
    """OpenSSL's long name for *oid* (what ``ssl`` prints), or *oid* if it has none."""
    name = _ATTRIBUTE_NAMES.get(oid)
    if name is not None:
        return name
    try:
        import ssl

        known = ssl._ASN1Object(oid)
    except (ImportError, AttributeError, ValueError):  # no ssl module, or an unknown OID
        return oid
    return known.longname or known.shortname or oid


def _parse(der: bytes) -> _Node:
    """The outer ``SEQUENCE`` of the DER certificate *der*, which must be all of it."""
    return _whole(der, "certificate").expect(_SEQUENCE, "certificate")


def _name(node: _Node, what: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    rdns = []
    for rdn in node.expect(_SEQUENCE, what).children(what):
        pairs = []
        for atv in rdn.expect(_SET, f"{what} RDN").children(f"{what} RDN"):
            parts = atv.expect(_SEQUENCE, f"{what} attribute").children(f"{what} attribute")
            if len(parts) != 2:
                raise ValueError(f"{what} attribute: {len(parts)} parts, expected type and value")
            oid = _oid(parts[0], f"{what} attribute type")
            pairs.append((_object_name(oid), _string(parts[1])))
        rdns.append(tuple(pairs))
    return tuple(rdns)


def _serial(node: _Node) -> str:
    raw = node.expect(_INTEGER, "serialNumber").content
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
        inner = node.children("subjectAltName directoryName")
        if len(inner) != 1:
            raise ValueError(f"subjectAltName directoryName: {len(inner)} values, expected 1")
        return ("DirName", _name(inner[0], "subjectAltName directoryName"))
    if number == 8:  # registeredID: IMPLICIT OID
        oid = _oid(_Node(node.data, _OID, node.start, node.end), "subjectAltName registeredID")
        return ("Registered ID", _object_name(oid))
    label = {0: "othername", 3: "X400Name", 5: "EdiPartyName"}.get(number, "othername")
    return (label, "<unsupported>")


def _uris(general_names: list[_Node]) -> list[str]:
    return [_string(n) for n in general_names if n.tag & 0x1F == 6]


def _extensions(tbs_fields: list[_Node], *, duplicates: bool = False) -> dict[str, bytes]:
    """Extension OID -> value, from the ``[3]`` field among *tbs_fields*.

    RFC 5280 allows each extension once; OpenSSL cannot say which of two copies counts
    (the stdlib then shows neither), so a repeated one is an error unless *duplicates*.
    """
    out: dict[str, bytes] = {}
    for field in tbs_fields:
        if field.tag != 0xA3:
            continue
        inner = field.children("extensions")
        if len(inner) != 1:
            raise ValueError(f"extensions: [3] holds {len(inner)} values, expected 1 SEQUENCE")
        for ext in inner[0].expect(_SEQUENCE, "extensions").children("extensions"):
            parts = ext.expect(_SEQUENCE, "extension").children("extension")
            if len(parts) not in (2, 3):
                raise ValueError(f"extension: {len(parts)} parts, expected 2 or 3")
            oid = _oid(parts[0], "extension id")
            if len(parts) == 3:
                parts[1].expect(_BOOLEAN, f"extension {oid} critical flag")
            if oid in out and not duplicates:
                raise ValueError(f"extension {oid} appears more than once")
            out[oid] = parts[-1].expect(_OCTET_STRING, f"extension {oid} value").content
    return out


def _extension_value(extensions: dict[str, bytes], oid: str, what: str) -> list[_Node]:
    """The elements of the ``SEQUENCE OF`` inside extension *oid* (trailing data ignored)."""
    value = extensions[oid]
    node, _ = _read(value, 0, len(value))
    return node.expect(_SEQUENCE, what).children(what)


def _tbs_fields(der: bytes) -> list[_Node]:
    parts = _parse(der).children("certificate")
    if not parts:
        raise ValueError("certificate: empty SEQUENCE")
    return parts[0].expect(_SEQUENCE, "tbsCertificate").children("tbsCertificate")


def _split_version(fields: list[_Node]) -> tuple[int, list[_Node]]:
    """``(version, the fields after it)``: the version is ``[0] EXPLICIT`` and optional."""
    if not fields or fields[0].tag != 0xA0:
        return 1, fields
    inner = fields[0].children("version")
    if len(inner) != 1:
        raise ValueError(f"version: [0] holds {len(inner)} values, expected 1 INTEGER")
    raw = inner[0].expect(_INTEGER, "version").content
    if len(raw) != 1 or raw[0] > 2:
        raise ValueError("version: not v1, v2 or v3")
    return raw[0] + 1, fields[1:]


def _versioned_fields(fields: list[_Node]) -> tuple[int, list[_Node]]:
    """:func:`_split_version`, for a ``tbsCertificate`` that has the six fields every
    certificate has after its version."""
    version, rest = _split_version(fields)
    if len(rest) < 6:
        raise ValueError(
            f"tbsCertificate: {len(rest)} fields after the version, expected serialNumber, "
            "signature, issuer, validity, subject and subjectPublicKeyInfo"
        )
    return version, rest


def _validity(node: _Node) -> list[_Node]:
    """``[notBefore, notAfter]`` of a ``Validity`` (not checked yet)."""
    times = node.expect(_SEQUENCE, "validity").children("validity")
    if len(times) != 2:
        raise ValueError(f"validity: {len(times)} values, expected notBefore and notAfter")
    return times


def decode_certificate(der: bytes) -> dict[str, Any]:
    """The dict ``ssl.SSLSocket.getpeercert()`` returns for the DER certificate *der*.

    :raises ValueError: *der* is not a well-formed certificate (the message says why).
    :raises TypeError: *der* is not bytes-like.
    """
    data = _as_der(der, "certificate")
    try:
        return _decode(data)
    except ValueError as e:
        raise ValueError(f"malformed certificate: {e}") from None
    except (IndexError, KeyError) as e:  # pragma: no cover - a bug: every path checks
        raise ValueError(f"malformed certificate ({type(e).__name__})") from e


def _decode(der: bytes) -> dict[str, Any]:
    version, fields = _versioned_fields(_tbs_fields(der))
    serial, _sig, issuer, validity, subject = fields[:5]
    times = _validity(validity)
    result: dict[str, Any] = {
        "subject": _name(subject, "subject"),
        "issuer": _name(issuer, "issuer"),
        "version": version,
        "serialNumber": _serial(serial),
        "notBefore": _time(times[0], "notBefore"),
        "notAfter": _time(times[1], "notAfter"),
    }
    _check_optional_fields(fields[6:])
    extensions = _extensions(fields[6:])
    if _SAN in extensions:
        names = _extension_value(extensions, _SAN, "subjectAltName")
        result["subjectAltName"] = tuple(_general_name(n) for n in names)
    if _AIA in extensions:
        ocsp: list[str] = []
        issuers: list[str] = []
        for desc in _extension_value(extensions, _AIA, "authorityInfoAccess"):
            parts = desc.expect(_SEQUENCE, "accessDescription").children("accessDescription")
            if len(parts) != 2:
                raise ValueError(f"accessDescription: {len(parts)} parts, expected 2")
            method, location = parts
            target = {_OCSP: ocsp, _CA_ISSUERS: issuers}.get(_oid(method, "accessMethod"))
            if target is not None:
                target.extend(_uris([location]))
        if ocsp:
            result["OCSP"] = tuple(ocsp)
        if issuers:
            result["caIssuers"] = tuple(issuers)
    if _CRL_DP in extensions:
        uris: list[str] = []
        for point in _extension_value(extensions, _CRL_DP, "cRLDistributionPoints"):
            for part in point.expect(_SEQUENCE, "distributionPoint").children("distributionPoint"):
                if part.tag != 0xA0:  # [0] distributionPoint
                    continue
                for dp_name in part.children("distributionPoint name"):
                    if dp_name.tag == 0xA0:  # [0] fullName: IMPLICIT GeneralNames
                        uris.extend(_uris(dp_name.children("distributionPoint fullName")))
        if uris:
            result["crlDistributionPoints"] = tuple(uris)
    return result


def is_ca_certificate(der: bytes) -> bool:
    """Whether *der* carries ``basicConstraints`` with ``cA`` set (``False`` if malformed)."""
    data = _as_der(der, "certificate")
    try:
        _, fields = _split_version(_tbs_fields(data))
        extensions = _extensions(fields[6:])
        if _BASIC_CONSTRAINTS not in extensions:
            return False
        parts = _extension_value(extensions, _BASIC_CONSTRAINTS, "basicConstraints")
        return bool(parts) and parts[0].tag == _BOOLEAN and parts[0].content != b"\x00"
    except ValueError:
        return False


def split_der_certificates(data: bytes) -> list[bytes]:
    """Split concatenated DER certificates (as in ``cadata=`` bytes) into single ones.

    Only the outer ``SEQUENCE`` of each is looked at (see :func:`check_certificate`).

    :raises ValueError: the data is not a sequence of DER ``SEQUENCE`` values.
    """
    data = _as_der(data, "DER certificate data")
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        what = f"DER certificate {len(out) + 1}"
        try:
            node, end = _read(data, pos, len(data))
        except ValueError as e:
            raise ValueError(f"{what}: {e}") from None
        node.expect(_SEQUENCE, what)
        out.append(data[pos:end])
        pos = end
    if not out:
        raise ValueError("no DER certificate found")
    return out


# -- shape checks for the loaders -----------------------------------------------------------
def _algorithm(node: _Node, what: str) -> tuple[str, list[_Node]]:
    """``(oid, parameters)`` of an ``AlgorithmIdentifier``."""
    parts = node.expect(_SEQUENCE, what).children(what)
    if not 1 <= len(parts) <= 2:
        raise ValueError(f"{what}: {len(parts)} parts, expected an algorithm and its parameters")
    return _oid(parts[0], f"{what} algorithm"), parts[1:]


def _check_optional_fields(fields: list[_Node]) -> None:
    """issuerUniqueID [1], subjectUniqueID [2], extensions [3]: optional, in this order."""
    previous = 0
    for field in fields:
        number = field.tag & 0x1F
        if field.tag & 0xC0 != 0x80 or not 1 <= number <= 3 or number <= previous:
            raise ValueError(f"tbsCertificate: unexpected {_tag_name(field.tag)} after the key")
        previous = number


def check_certificate(der: bytes, *, trailing_data: bool = False) -> int:
    """Check that *der* has the shape of a DER X.509 certificate; return its length.

    The outer structure is checked (three parts; every field of the
    ``tbsCertificate`` in order, names and extensions included), not the semantics:
    signatures, dates and key parameters are left to the TLS library. With
    *trailing_data*, bytes after the certificate are allowed (OpenSSL's
    ``TRUSTED CERTIFICATE`` blocks append their trust settings): the length returned
    is then that of the certificate alone.

    :raises ValueError: the certificate is malformed; the message names the part.
    :raises TypeError: *der* is not bytes-like.
    """
    data = _as_der(der, "certificate")
    if not data:
        raise ValueError("empty certificate data")
    if trailing_data:
        node, length = _read(data, 0, len(data))
    else:
        node, length = _whole(data, "certificate"), len(data)
    parts = node.expect(_SEQUENCE, "certificate").children("certificate")
    if len(parts) != 3:
        raise ValueError(
            f"certificate: {len(parts)} parts, expected tbsCertificate, signatureAlgorithm "
            "and signatureValue"
        )
    tbs, algorithm, signature = parts
    _algorithm(algorithm, "signatureAlgorithm")
    _bit_string(signature, "signatureValue")
    _, fields = _versioned_fields(
        tbs.expect(_SEQUENCE, "tbsCertificate").children("tbsCertificate")
    )
    serial, inner_algorithm, issuer, validity, subject, key = fields[:6]
    if not serial.expect(_INTEGER, "serialNumber").content:
        raise ValueError("serialNumber: empty INTEGER")
    _algorithm(inner_algorithm, "signature")
    _name(issuer, "issuer")
    times = _validity(validity)
    _check_time(times[0], "notBefore")
    _check_time(times[1], "notAfter")
    _name(subject, "subject")
    key_parts = key.expect(_SEQUENCE, "subjectPublicKeyInfo").children("subjectPublicKeyInfo")
    if len(key_parts) != 2:
        raise ValueError(f"subjectPublicKeyInfo: {len(key_parts)} parts, expected 2")
    _algorithm(key_parts[0], "subjectPublicKeyInfo algorithm")
    _bit_string(key_parts[1], "subjectPublicKey")
    _check_optional_fields(fields[6:])
    _extensions(fields[6:], duplicates=True)  # OpenSSL parses them; validation fails
    return length


# -- private keys -----------------------------------------------------------------------
_RSA = "1.2.840.113549.1.1.1"
_RSA_PSS = "1.2.840.113549.1.1.10"
_EC = "1.2.840.10045.2.1"
_DSA = "1.2.840.10040.4.1"
# X25519, X448, Ed25519, Ed448: CurvePrivateKey ::= OCTET STRING of this many bytes.
_RAW_KEY_SIZES = {"1.3.101.110": 32, "1.3.101.111": 56, "1.3.101.112": 32, "1.3.101.113": 57}
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_SCRYPT = "1.3.6.1.4.1.11591.4.11"
# The block size of the CBC ciphers of PBES2, of PBES1 (PKCS#5 v1.5) and of PKCS#12's
# PBE schemes: the ciphertext is a whole number of blocks.
_PBES2_BLOCKS = {
    "2.16.840.1.101.3.4.1.2": 16,  # aes-128-cbc
    "2.16.840.1.101.3.4.1.22": 16,  # aes-192-cbc
    "2.16.840.1.101.3.4.1.42": 16,  # aes-256-cbc
    "1.2.840.113549.3.7": 8,  # des-ede3-cbc
    "1.3.14.3.2.7": 8,  # des-cbc
}
_PBE_BLOCKS = {
    **{f"1.2.840.113549.1.5.{n}": 8 for n in (1, 3, 4, 6, 10, 11)},
    **{f"1.2.840.113549.1.12.1.{n}": 8 for n in (3, 4, 5, 6)},
}
# OpenSSL's OPENSSL_RSA_MAX_MODULUS_BITS: larger keys are refused by every library, and
# checking them would cost superlinear time.
_MAX_RSA_BITS = 16384

#: The PEM labels of the private-key formats :func:`check_private_key` knows.
PRIVATE_KEY_LABELS = (
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "DSA PRIVATE KEY",
)


def private_key_kind(der: bytes) -> str:
    """The PEM label of the private key in *der*: what its outer structure looks like.

    ``"PRIVATE KEY"`` (PKCS#8), ``"ENCRYPTED PRIVATE KEY"`` (encrypted PKCS#8),
    ``"RSA PRIVATE KEY"`` (PKCS#1), ``"EC PRIVATE KEY"`` (SEC1) or ``"DSA PRIVATE KEY"``.
    Only the first fields are looked at; :func:`check_private_key` checks the rest.

    :raises ValueError: *der* is none of these (the message never quotes *der*).
    """
    data = _as_der(der, "private key")
    if not data:
        raise ValueError("empty private key data")
    fields = _whole(data, "private key").expect(_SEQUENCE, "private key").children("private key")
    tags = [f.tag for f in fields[:3]]
    if tags[:2] == [_SEQUENCE, _OCTET_STRING] and len(fields) == 2:
        return "ENCRYPTED PRIVATE KEY"
    if tags == [_INTEGER, _SEQUENCE, _OCTET_STRING]:
        return "PRIVATE KEY"
    if tags[:2] == [_INTEGER, _OCTET_STRING]:
        return "EC PRIVATE KEY"
    if len(fields) >= 9 and all(f.tag == _INTEGER for f in fields[:9]):
        return "RSA PRIVATE KEY"
    if len(fields) == 6 and all(f.tag == _INTEGER for f in fields):
        return "DSA PRIVATE KEY"
    if len(fields) == 3 and tags[0] == _SEQUENCE and tags[1] == _SEQUENCE:
        raise ValueError("the DER data is a certificate, not a private key")
    raise ValueError(
        "the DER data is no PKCS#8, encrypted PKCS#8, PKCS#1 (RSA), SEC1 (EC) or DSA private key"
    )


def check_private_key(der: bytes, label: str) -> None:
    """Check that *der* has the structure the PEM *label* promises.

    Unencrypted keys are checked down to the key values (an RSA key's numbers must
    agree with each other: n = pq and the CRT values); encrypted PKCS#8 keys up to the
    encryption parameters and a ciphertext that is a whole number of cipher blocks.
    Algorithms not listed in this module pass with their PKCS#8 envelope checked.

    :raises ValueError: the key is malformed; the message names the part, never a value.
    """
    data = _as_der(der, "private key")
    if label not in PRIVATE_KEY_LABELS:
        raise ValueError(f"unsupported private key type {label!r}")
    if not data:
        raise ValueError(f"{label}: empty DER data")
    node = _whole(data, label).expect(_SEQUENCE, label)
    if label == "PRIVATE KEY":
        _check_pkcs8(node)
    elif label == "ENCRYPTED PRIVATE KEY":
        _check_encrypted_pkcs8(node)
    elif label == "RSA PRIVATE KEY":
        _check_rsa(node, label)
    elif label == "EC PRIVATE KEY":
        _check_ec(node, label, parameters_expected=True)
    else:
        _check_dsa(node)


def _check_pkcs8(node: _Node) -> None:
    what = "PKCS#8 private key"
    fields = _fields(node, what, "version, algorithm and key", 3)
    version = _integer(fields[0], f"{what} version")
    if version not in (0, 1):
        raise ValueError(f"{what}: unknown version")
    algorithm, parameters = _algorithm(fields[1], f"{what} algorithm")
    inner = fields[2].expect(_OCTET_STRING, f"{what} privateKey").content
    # attributes [0] IMPLICIT SET, then (version 2 only) publicKey [1] IMPLICIT BIT STRING.
    allowed = [0xA0, 0x81] if version == 1 else [0xA0]
    for field in fields[3:]:
        if field.tag not in allowed:
            raise ValueError(f"{what}: unexpected {_tag_name(field.tag)} after the key")
        allowed = allowed[allowed.index(field.tag) + 1 :]
    if not inner:
        raise ValueError(f"{what}: empty privateKey")
    if algorithm in (_RSA, _RSA_PSS):
        _check_rsa(_whole(inner, "RSA private key").expect(_SEQUENCE, "RSA private key"), "RSA")
    elif algorithm == _EC:
        if not parameters:
            raise ValueError(f"{what}: EC key without curve parameters")
        ec = _whole(inner, "EC private key").expect(_SEQUENCE, "EC private key")
        _check_ec(ec, "EC private key", parameters_expected=False)
    elif algorithm == _DSA:
        if _integer(_whole(inner, "DSA private key"), "DSA private key") <= 0:
            raise ValueError("DSA private key: not a positive number")
    elif algorithm in _RAW_KEY_SIZES:
        size = _RAW_KEY_SIZES[algorithm]
        raw = _whole(inner, "private key").expect(_OCTET_STRING, "private key").content
        if len(raw) != size:
            raise ValueError(f"{what}: the key is {len(raw)} bytes, expected {size}")


def _check_rsa(node: _Node, what: str) -> None:
    fields = _fields(node, what, "version and eight INTEGERs", 9)
    version = _integer(fields[0], f"{what} version")
    if version not in (0, 1) or (version == 0 and len(fields) != 9):
        raise ValueError(f"{what}: unknown version or stray fields")
    if version == 1 and len(fields) != 10:
        raise ValueError(f"{what}: a multi-prime key needs one otherPrimeInfos SEQUENCE")
    names = (
        *("modulus", "publicExponent", "privateExponent", "prime1", "prime2"),
        *("exponent1", "exponent2", "coefficient"),
    )
    for field, name in zip(fields[1:9], names, strict=True):
        if len(field.content) > _MAX_RSA_BITS // 8 + 1:
            raise ValueError(f"{what}: {name} is larger than a {_MAX_RSA_BITS}-bit key allows")
    n, e, d, p, q, dp, dq, qinv = (
        _integer(f, f"{what} {name}") for f, name in zip(fields[1:9], names, strict=True)
    )
    if n <= 0 or e <= 0 or d <= 0 or min(p, q, dp, dq, qinv) < 0:
        raise ValueError(f"{what}: a key value is zero or negative")
    if version == 1:
        fields[9].expect(_SEQUENCE, f"{what} otherPrimeInfos")
        return
    if p == q == 0:
        return  # no CRT values: nothing more to compare
    if p <= 1 or q <= 1 or n != p * q:
        raise ValueError(f"{what}: the modulus is not the product of the two primes")
    if (dp, dq, qinv) != (0, 0, 0) and (
        dp != d % (p - 1) or dq != d % (q - 1) or (q * qinv) % p != 1
    ):
        raise ValueError(f"{what}: the CRT values do not match the key")


def _check_ec(node: _Node, what: str, *, parameters_expected: bool) -> None:
    fields = _fields(node, what, "version and key", 2)
    if _integer(fields[0], f"{what} version") != 1:
        raise ValueError(f"{what}: unknown version")
    key = fields[1].expect(_OCTET_STRING, f"{what} privateKey").content
    if not key or len(key) > 128:
        raise ValueError(f"{what}: the private value is {len(key)} bytes long")
    # parameters [0] EXPLICIT, publicKey [1] EXPLICIT BIT STRING: optional, in order.
    allowed = [0xA0, 0xA1]
    for field in fields[2:]:
        if field.tag not in allowed:
            raise ValueError(f"{what}: unexpected {_tag_name(field.tag)} after the key")
        allowed = allowed[allowed.index(field.tag) + 1 :]
        inner = field.children(what)
        if len(inner) != 1:
            raise ValueError(f"{what}: [{field.tag & 0x1F}] holds {len(inner)} values, expected 1")
        if field.tag == 0xA0:
            if inner[0].tag not in (_OID, _SEQUENCE, _NULL):
                raise ValueError(f"{what}: curve parameters are {_tag_name(inner[0].tag)}")
            if inner[0].tag == _OID:
                _oid(inner[0], f"{what} curve")
        else:
            _bit_string(inner[0], f"{what} publicKey")
    if parameters_expected and not any(f.tag == 0xA0 for f in fields[2:]):
        raise ValueError(f"{what}: no curve parameters")


def _check_dsa(node: _Node) -> None:
    what = "DSA private key"
    fields = _fields(node, what, "6 INTEGERs", 6, 6)
    values = [_integer(f, what) for f in fields]
    if values[0] != 0 or min(values[1:]) <= 0:
        raise ValueError(f"{what}: unknown version or a value that is not positive")


def _check_encrypted_pkcs8(node: _Node) -> None:
    what = "encrypted PKCS#8 key"
    fields = _fields(node, what, "algorithm and encryptedData", 2, 2)
    algorithm, parameters = _algorithm(fields[0], f"{what} algorithm")
    ciphertext = fields[1].expect(_OCTET_STRING, f"{what} encryptedData").content
    if not ciphertext:
        raise ValueError(f"{what}: empty encryptedData")
    block = None
    if algorithm == _PBES2:
        if len(parameters) != 1:
            raise ValueError(f"{what}: PBES2 without parameters")
        scheme = parameters[0].expect(_SEQUENCE, "PBES2 parameters").children("PBES2 parameters")
        if len(scheme) != 2:
            raise ValueError(f"{what}: PBES2 parameters have {len(scheme)} parts, expected 2")
        kdf, kdf_parameters = _algorithm(scheme[0], "PBES2 keyDerivationFunc")
        if kdf in (_PBKDF2, _SCRYPT):
            if len(kdf_parameters) != 1:
                raise ValueError(f"{what}: key derivation without parameters")
            name = "PBKDF2" if kdf == _PBKDF2 else "scrypt"
            kdf_fields = kdf_parameters[0].expect(_SEQUENCE, name).children(name)
            if len(kdf_fields) < 2 or kdf_fields[0].tag != _OCTET_STRING:
                raise ValueError(f"{what}: {name} parameters lack the salt")
            if any(_integer(f, name) <= 0 for f in kdf_fields[1:] if f.tag == _INTEGER):
                raise ValueError(f"{what}: {name} parameter that is not positive")
        cipher, cipher_parameters = _algorithm(scheme[1], "PBES2 encryptionScheme")
        block = _PBES2_BLOCKS.get(cipher)
        if block is not None:
            if len(cipher_parameters) != 1:
                raise ValueError(f"{what}: CBC cipher without an IV")
            iv = cipher_parameters[0].expect(_OCTET_STRING, f"{what} IV").content
            if len(iv) != block:
                raise ValueError(f"{what}: the IV is {len(iv)} bytes, expected {block}")
    elif algorithm in _PBE_BLOCKS:
        block = _PBE_BLOCKS[algorithm]
        if len(parameters) != 1:
            raise ValueError(f"{what}: password-based encryption without parameters")
        pbe = parameters[0].expect(_SEQUENCE, "PBE parameters").children("PBE parameters")
        if len(pbe) != 2 or pbe[0].tag != _OCTET_STRING or _integer(pbe[1], "PBE") <= 0:
            raise ValueError(f"{what}: PBE parameters are not a salt and an iteration count")
    if block is not None and len(ciphertext) % block:
        raise ValueError(
            f"{what}: encryptedData is not a whole number of {block}-byte blocks (truncated?)"
        )


# -- host names -------------------------------------------------------------------------
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
    """Whether a dNSName subjectAltName of the DER certificate matches *host*.

    :raises ValueError: the certificate is malformed.
    """
    names = decode_certificate(der).get("subjectAltName", ())
    return any(kind == "DNS" and dns_name_matches(value, host) for kind, value in names)
