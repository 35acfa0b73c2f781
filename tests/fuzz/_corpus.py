"""Seeds made at run time (certificates and keys from trustme and cryptography, plus the
x509-limbo certificates when present) and the structure-aware strategies built on them."""

from __future__ import annotations

import base64
import datetime
import functools
import ipaddress
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID, ObjectIdentifier
from hypothesis import strategies as st

from tls_adapter._trust import der_to_pem

LIMBO = Path(__file__).resolve().parent.parent / "data" / "x509_limbo" / "limbo.json"

PrivateKeyType: TypeAlias = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | dsa.DSAPrivateKey
)

# -- seeds ------------------------------------------------------------------------------


def _kitchen_sink_certificate() -> bytes:
    """A certificate with every field and extension the DER reader decodes."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bücher & Co"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "a@b.example"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "org"),
            x509.NameAttribute(ObjectIdentifier("1.2.3.4.5"), "private"),
            x509.NameAttribute(NameOID.COMMON_NAME, "ü.example"),
        ]
    )
    sans: list[x509.GeneralName] = [
        x509.DNSName("a.example"),
        x509.DNSName("*.wild.example"),
        x509.RFC822Name("x@y.example"),
        x509.UniformResourceIdentifier("https://u.example/"),
        x509.IPAddress(ipaddress.ip_address("10.1.2.3")),
        x509.IPAddress(ipaddress.ip_address("2001:db8::ff00:42:8329")),
        x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dir")])),
        x509.RegisteredID(ObjectIdentifier("1.2.3.4")),
        x509.OtherName(ObjectIdentifier("1.2.3.5"), b"\x0c\x03abc"),
    ]
    access = [
        x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier("http://o.example/")
        ),
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS,
            x509.UniformResourceIdentifier("http://ca.example/ca.crt"),
        ),
    ]
    crl = x509.DistributionPoint(
        [x509.UniformResourceIdentifier("http://crl.example/1.crl")], None, None, None
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x00FF00FF)
        .not_valid_before(datetime.datetime(1999, 3, 4, 5, 6, 7))
        .not_valid_after(datetime.datetime(2051, 1, 2, 3, 4, 5))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.AuthorityInformationAccess(access), critical=False)
        .add_extension(x509.CRLDistributionPoints([crl]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _limbo_certificates(limit: int) -> list[bytes]:
    """Up to *limit* distinct certificates of the x509-limbo suite (odd ones included)."""
    if not LIMBO.is_file():
        return []
    with open(LIMBO, encoding="utf-8") as f:
        cases = json.load(f)["testcases"]
    found: dict[bytes, None] = {}
    for case in cases:
        for pem in (*case.get("trusted_certs", ()), case["peer_certificate"]):
            body = "".join(line for line in pem.splitlines() if "-----" not in line)
            found[base64.b64decode(body)] = None
    ders = list(found)
    random.Random(543).shuffle(ders)
    return ders[:limit]


@dataclass(frozen=True)
class Seeds:
    """Certificates (DER) and keys to mutate."""

    certificates: tuple[bytes, ...]
    keys: tuple[PrivateKeyType, ...]


@functools.cache
def seeds() -> Seeds:
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1", "::1", "*.example.org", "x@example.org")
    rsa_ca = trustme.CA(key_type=trustme.KeyType.RSA)
    rsa_leaf = rsa_ca.issue_cert("rsa.example")
    pems = [ca.cert_pem.bytes(), *(p.bytes() for p in leaf.cert_chain_pems)]
    pems += [rsa_ca.cert_pem.bytes(), rsa_leaf.cert_chain_pems[0].bytes()]
    certificates = [
        x509.load_pem_x509_certificate(p).public_bytes(serialization.Encoding.DER) for p in pems
    ]
    certificates.append(_kitchen_sink_certificate())
    certificates += _limbo_certificates(40)
    keys: list[PrivateKeyType] = [
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP384R1()),
        rsa.generate_private_key(65537, 1024),
        ed25519.Ed25519PrivateKey.generate(),
        ed448.Ed448PrivateKey.generate(),
        dsa.generate_private_key(1024),
    ]
    return Seeds(tuple(certificates), tuple(keys))


def key_encodings(key: PrivateKeyType, password: bytes | None) -> list[bytes]:
    """*key* in every PEM and DER form ``cryptography`` writes (encrypted if *password*)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    out = []
    formats = [serialization.PrivateFormat.PKCS8]
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, dsa.DSAPrivateKey)):
        formats.append(serialization.PrivateFormat.TraditionalOpenSSL)
    for fmt in formats:
        for encoding in (serialization.Encoding.PEM, serialization.Encoding.DER):
            if (
                encoding is serialization.Encoding.DER
                and fmt is serialization.PrivateFormat.TraditionalOpenSSL
                and password
            ):
                continue  # PEM-only: the encryption is in the PEM headers
            out.append(key.private_bytes(encoding, fmt, encryption))
    return out


# -- a DER tree, for mutations that keep (or deliberately break) the structure ----------


@dataclass
class Tlv:
    """One DER value: a tag and either raw contents or children."""

    tag: int
    value: bytes | list[Tlv]


def _header(data: bytes, pos: int) -> tuple[int, int, int] | None:
    """``(tag, start, end)`` of the value at *pos*, or None where it is not DER."""
    if pos + 2 > len(data):
        return None
    tag, length, pos = data[pos], data[pos + 1], pos + 2
    if tag & 0x1F == 0x1F:
        return None
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or pos + count > len(data):
            return None
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        return None
    return tag, pos, pos + length


def parse_tree(data: bytes, depth: int = 0) -> list[Tlv] | None:
    """*data* as a list of values, or None if it is not a run of whole DER values."""
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        header = _header(data, pos)
        if header is None:
            return None
        tag, start, end = header
        content = data[start:end]
        children = parse_tree(content, depth + 1) if tag & 0x20 and depth < 40 else None
        out.append(Tlv(tag, children if children is not None else content))
        pos = end
    return out


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def encode(nodes: list[Tlv]) -> bytes:
    out = []
    for node in nodes:
        content = node.value if isinstance(node.value, bytes) else encode(node.value)
        out.append(bytes([node.tag]) + encode_length(len(content)) + content)
    return b"".join(out)


def _walk(nodes: list[Tlv]) -> list[tuple[list[Tlv], int]]:
    """``(siblings, index)`` of every node, depth first."""
    out: list[tuple[list[Tlv], int]] = []
    for index, node in enumerate(nodes):
        out.append((nodes, index))
        if isinstance(node.value, list):
            out += _walk(node.value)
    return out


def _copy(nodes: list[Tlv]) -> list[Tlv]:
    return [Tlv(n.tag, _copy(n.value) if isinstance(n.value, list) else n.value) for n in nodes]


# Contents that have broken parsers before, by tag.
_INTERESTING: dict[int, list[bytes]] = {
    0x02: [b"", b"\x00", b"\x80", b"\xff" * 20, b"\x00" * 9 + b"\x01", b"\x01" * 3000],
    0x06: [
        b"",
        b"\x80",
        b"\x80\x01",
        b"\x2a\x86",
        b"\xff" * 40,
        b"\x88\x80\x80\x80\x80\x80\x80\x80\x80\x01",
        b"\x81" * 3000 + b"\x01",
        b"\x55\x1d\x11",  # subjectAltName
        b"\x55\x1d\x13",  # basicConstraints
        b"\x2b\x06\x01\x05\x05\x07\x01\x01",  # authorityInfoAccess
    ],
    0x17: [b"", b"991332", b"991231235960Z", b"000230000000Z", b"0001010000Z", b"1\xff"],
    0x18: [b"", b"20241301000000Z", b"20240230000000Z", b"00000101000000Z", b"2024.Z"],
    0x0C: [b"\xff\xfe", b"\xed\xa0\x80", b"\x00", b"a\x00b"],
    0x1E: [b"\x00", b"\xd8\x00", b"\x00a\x00"],
    0x1C: [b"\x00\x00\x00", b"\x00\x11\x00\x00", b"\xff\xff\xff\xff"],
    0x01: [b"", b"\x00\x00", b"\x01"],
    0x03: [b"", b"\x08", b"\x01", b"\x07\x00"],
    0x04: [b"", b"\x30", b"\x30\x80", b"\x30\x84\xff\xff\xff\xff"],
}
_LENGTH_TRICKS = [
    b"\x80",
    b"\x81\x00",
    b"\x81\x7f",
    b"\x84\xff\xff\xff\xff",
    b"\x84\x7f\xff\xff\xff",
    b"\x85\x00\x00\x00\x00\x01",
    b"\x88" + b"\xff" * 8,
    b"\xff",
    b"\x82\x00\x00",
]
_WRAPPERS = [0x30, 0x31, 0xA0, 0xA3, 0x04, 0x80, 0xA4]


@st.composite
def mutated_der(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    """A value from *base* with a few structural and byte-level mutations."""
    data = draw(base)
    tree = parse_tree(data)
    if tree is not None and tree:
        tree = _copy(tree)
        for _ in range(draw(st.integers(1, 4))):
            places = _walk(tree)
            siblings, index = places[draw(st.integers(0, len(places) - 1))]
            node = siblings[index]
            op = draw(st.sampled_from(["content", "tag", "delete", "dup", "wrap", "graft", "swap"]))
            if op == "content":
                choices = _INTERESTING.get(node.tag & 0x1F if node.tag & 0xC0 else node.tag, [])
                content: st.SearchStrategy[bytes] = st.binary(max_size=48)
                interesting = draw(st.booleans())
                if choices and interesting:
                    content = st.sampled_from(choices)
                node.value = draw(content)
            elif op == "tag":
                node.tag = draw(
                    st.one_of(st.sampled_from(list(_INTERESTING) + _WRAPPERS), st.integers(0, 255))
                )
            elif op == "delete" and len(siblings) > 1:
                del siblings[index]
            elif op == "dup":
                siblings.insert(index, _copy([node])[0])
            elif op == "wrap":
                siblings[index] = Tlv(draw(st.sampled_from(_WRAPPERS)), [node])
            elif op == "graft":
                other = parse_tree(draw(st.sampled_from(seeds().certificates))) or []
                places_other = _walk(other)
                if places_other:
                    o_siblings, o_index = places_other[draw(st.integers(0, len(places_other) - 1))]
                    siblings[index] = o_siblings[o_index]
            elif op == "swap" and len(siblings) > 1:
                other_index = draw(st.integers(0, len(siblings) - 1))
                siblings[index], siblings[other_index] = siblings[other_index], siblings[index]
        data = encode(tree)
    # Byte-level damage after the structure is re-encoded.
    for _ in range(draw(st.integers(0, 2))):
        if not data:
            break
        op = draw(st.sampled_from(["length", "truncate", "flip", "append", "splice"]))
        pos = draw(st.integers(0, len(data) - 1))
        if op == "length" and pos + 1 < len(data):
            data = data[: pos + 1] + draw(st.sampled_from(_LENGTH_TRICKS)) + data[pos + 2 :]
        elif op == "truncate":
            data = data[:pos]
        elif op == "flip":
            data = (
                data[:pos] + bytes([data[pos] ^ (1 << draw(st.integers(0, 7)))]) + data[pos + 1 :]
            )
        elif op == "append":
            data += draw(st.binary(min_size=1, max_size=16))
        else:
            data = data[:pos] + draw(st.binary(max_size=16)) + data[pos:]
    return data


@st.composite
def deeply_nested(draw: st.DrawFn) -> bytes:
    """Thousands of nested constructed values, with consistent or lying lengths."""
    depth = draw(st.integers(1, 20_000))
    tag = draw(st.sampled_from([0x30, 0x31, 0xA0, 0xA3, 0xA4]))
    inner = draw(st.binary(max_size=8))
    if draw(st.booleans()):  # consistent lengths
        data = inner
        for _ in range(depth):
            data = bytes([tag]) + encode_length(len(data)) + data
        return data
    # Every level claims the rest of the input, or an indefinite length.
    header = bytes([tag]) + draw(st.sampled_from([b"\x80", b"\x84\x00\x10\x00\x00", b"\x81\x02"]))
    return header * depth + inner


@st.composite
def repeated(draw: st.DrawFn, units: list[bytes]) -> bytes:
    """A short unit repeated up to a megabyte: the input that exposes quadratic time."""
    unit = draw(st.one_of(st.sampled_from(units), st.binary(min_size=1, max_size=24)))
    count = draw(st.integers(1, max(1, 1_000_000 // len(unit))))
    return draw(st.binary(max_size=8)) + unit * count + draw(st.binary(max_size=8))


def certificate_der() -> st.SearchStrategy[bytes]:
    """Certificate-shaped DER, from pristine to badly damaged, and other bytes."""
    pristine = st.sampled_from(seeds().certificates)
    return st.one_of(
        pristine,
        mutated_der(pristine),
        mutated_der(mutated_der(pristine)),
        st.binary(max_size=256),
        deeply_nested(),
        st.builds(lambda b: b"\x30\x84\xff\xff\xff\xff" + b, st.binary(max_size=32)),
    )


def armour(der: bytes, label: str, line: int = 64, newline: bytes = b"\n") -> bytes:
    if line == 64 and newline == b"\n":
        return der_to_pem(der, label)
    b64 = base64.b64encode(der)
    lines = [b64[i : i + line] for i in range(0, len(b64), line)] if line else [b64]
    return newline.join(
        [f"-----BEGIN {label}-----".encode(), *lines, f"-----END {label}-----".encode(), b""]
    )


_LABELS = [
    "CERTIFICATE",
    "TRUSTED CERTIFICATE",
    "X509 CERTIFICATE",
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "DSA PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
    "X509 CRL",
    "PUBLIC KEY",
    "CERTIFICATE REQUEST",
]
_MARKER = re.compile(rb"-----(BEGIN|END) [A-Z0-9 ]*-----")
_HEADERS = [
    b"Proc-Type: 4,ENCRYPTED",
    b"DEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF",
    b"DEK-Info: DES-EDE3-CBC,0011",
    b"DEK-Info: ,",
    b"Comment: hello",
    b"Proc-Type: 4,MIC-ONLY",
    b":",
]


@st.composite
def mutated_pem(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    """PEM text from *base* with damaged armour: labels, markers, base64, headers, layout."""
    text = draw(base)
    for _ in range(draw(st.integers(0, 4))):
        lines = text.split(b"\n")
        op = draw(
            st.sampled_from(
                ["label", "drop", "badchar", "header", "crlf", "join", "dup", "cut", "noise"]
            )
        )
        index = draw(st.integers(0, len(lines) - 1))
        if op == "label":
            new = draw(st.sampled_from(_LABELS)).encode()
            lines[index] = _MARKER.sub(rb"-----\1 " + new + b"-----", lines[index], count=1)
        elif op == "drop":
            del lines[index]
        elif op == "badchar" and lines[index]:
            pos = draw(st.integers(0, len(lines[index]) - 1))
            char = draw(st.sampled_from([b"!", b"=", b"-", b"\xff", b"\x00", b" ", b":", b"\t"]))
            lines[index] = lines[index][:pos] + char + lines[index][pos + 1 :]
        elif op == "header":
            lines.insert(index, draw(st.sampled_from(_HEADERS)))
            if draw(st.booleans()):
                lines.insert(index + 1, b"")
        elif op == "crlf":
            lines = [line + b"\r" for line in lines]
        elif op == "join":
            lines = [b"".join(lines)]
        elif op == "dup":
            lines.insert(index, lines[index])
        elif op == "cut":
            text = b"\n".join(lines)
            text = text[: draw(st.integers(0, len(text)))]
            continue
        else:
            lines.insert(index, draw(st.binary(max_size=24)))
        text = b"\n".join(lines)
    return text
