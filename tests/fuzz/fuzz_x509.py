"""Fuzz the DER reader behind ``getpeercert()``: peer certificates are attacker-controlled.

Run with ``nox -s fuzz`` (see ``tests/fuzz/__init__.py``).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
import time
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID, ObjectIdentifier
from hypothesis import strategies as st

from tls_adapter import _x509

from ._corpus import certificate_der, repeated
from ._harness import MARKS, any_text, check_error, fuzz, time_limit

pytestmark = MARKS

_UNITS = [
    b"\x30\x80",
    b"\x30\x84\xff\xff\xff\xff",
    b"\x06\x81\xff" + b"\xff" * 0x7F,
    b"\x06\x01\x81",
    b"\x30\x00",
    b"\xa3\x02\x30\x00",
]


def _decode(data: bytes) -> None:
    started = time.monotonic()
    try:
        result = _x509.decode_certificate(data)
    except ValueError as e:
        check_error(e, (ValueError,))
        assert str(e).startswith("malformed certificate: "), e
        assert not isinstance(e.__cause__, (IndexError, KeyError)), "an unchecked path"
    else:
        assert isinstance(result, dict) and "subject" in result
    assert isinstance(_x509.is_ca_certificate(data), bool)
    try:
        _x509.has_matching_dns_name(data, "www.example.org")
    except ValueError as e:
        check_error(e, (ValueError,))
    assert time.monotonic() - started < 3 * time_limit(len(data))


def test_decode_certificate() -> None:
    """decode_certificate, is_ca_certificate, has_matching_dns_name: ValueError or a result."""
    fuzz(_decode, certificate_der())


def _check(data: bytes) -> None:
    started = time.monotonic()
    try:
        _x509.check_certificate(data)
    except ValueError as e:
        check_error(e, (ValueError,))
    else:
        # What the loaders accept, the getpeercert() reader must be able to refuse
        # cleanly or decode: never crash.
        try:
            _x509.decode_certificate(data)
        except ValueError as e:
            check_error(e, (ValueError,))
    try:
        pieces = _x509.split_der_certificates(data)
    except ValueError as e:
        check_error(e, (ValueError,))
    else:
        assert b"".join(pieces) == data
    for kind_check in (_x509.private_key_kind,):
        try:
            kind_check(data)
        except ValueError as e:
            check_error(e, (ValueError,))
    assert time.monotonic() - started < 3 * time_limit(len(data))


def test_check_and_split_certificates() -> None:
    """check_certificate, split_der_certificates, private_key_kind on hostile DER."""
    fuzz(_check, st.one_of(certificate_der(), repeated(_UNITS)))


def test_dns_name_matches() -> None:
    """dns_name_matches is total on text."""

    def body(pattern: str, host: str) -> None:
        assert isinstance(_x509.dns_name_matches(pattern, host.lower()), bool)

    names = st.text(alphabet="*.-aAbZ0\u00fc\x00", max_size=24)
    fuzz(body, st.one_of(names, any_text(40)), st.one_of(names, any_text(40)))


# -- the dict matches the stdlib's for well-formed certificates -------------------------
_KEY = ec.generate_private_key(ec.SECP256R1())
_OIDS = [
    NameOID.COMMON_NAME,
    NameOID.ORGANIZATION_NAME,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
    NameOID.LOCALITY_NAME,
    NameOID.STATE_OR_PROVINCE_NAME,
    NameOID.EMAIL_ADDRESS,
    NameOID.DOMAIN_COMPONENT,
    NameOID.SERIAL_NUMBER,
    NameOID.TITLE,
    NameOID.USER_ID,
    NameOID.POSTAL_ADDRESS,
    NameOID.UNSTRUCTURED_NAME,
    ObjectIdentifier("1.2.3.4.5"),
    ObjectIdentifier("2.25.329800735698586629295641978511506172918"),
    ObjectIdentifier("2.5.4.72"),
]
_TYPES = [
    _ASN1Type.UTF8String,
    _ASN1Type.PrintableString,
    _ASN1Type.IA5String,
    _ASN1Type.BMPString,
    _ASN1Type.UniversalString,
    _ASN1Type.T61String,
]
_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], max_codepoint=0x10FFFF),
    min_size=1,
    max_size=12,
)
_ascii = st.text(alphabet="abcXYZ019 .-@*:/'=+,?", min_size=1, max_size=12)


@st.composite
def _attribute(draw: st.DrawFn) -> x509.NameAttribute[str]:
    oid = draw(st.sampled_from(_OIDS))
    kind = draw(st.sampled_from(_TYPES))
    if kind is _ASN1Type.PrintableString:
        value = draw(st.text(alphabet="AZaz09 '()+,-./:=?", min_size=1, max_size=12))
    elif kind is _ASN1Type.IA5String:
        value = draw(_ascii)
    elif kind is _ASN1Type.BMPString:
        value = draw(_text.filter(lambda t: all(ord(c) < 0x10000 for c in t)))
    elif kind is _ASN1Type.T61String:
        value = draw(_text.filter(lambda t: all(ord(c) < 0x100 for c in t)))
    else:
        value = draw(_text)
    if oid in (NameOID.EMAIL_ADDRESS, NameOID.DOMAIN_COMPONENT):
        kind = _ASN1Type.IA5String
        value = draw(_ascii)
    return x509.NameAttribute(oid, value, _type=kind)


_names = st.builds(
    lambda rdns: x509.Name([x509.RelativeDistinguishedName(r) for r in rdns]),
    st.lists(st.lists(_attribute(), min_size=1, max_size=2, unique_by=lambda a: a.oid), max_size=4),
)
_general_names = st.lists(
    st.one_of(
        st.builds(x509.DNSName, st.from_regex(r"[a-zA-Z0-9*.-]{1,20}", fullmatch=True)),
        st.builds(
            x509.RFC822Name, st.from_regex(r"[a-z0-9.+]{1,8}@[a-z0-9.-]{1,8}", fullmatch=True)
        ),
        st.builds(
            x509.UniformResourceIdentifier,
            st.from_regex(
                r"(https?|ldap)://[a-z0-9.-]{1,12}(/[a-zA-Z0-9%/.?=]{0,12})?", fullmatch=True
            ),
        ),
        st.builds(
            x509.IPAddress,
            st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(
                lambda a: ipaddress.ip_address(int(a) if a.version == 4 else a.packed)
            ),
        ),
        st.builds(x509.DirectoryName, _names),
        st.builds(x509.RegisteredID, st.sampled_from(_OIDS)),
    ),
    min_size=1,
    max_size=5,
)
_times = st.datetimes(
    min_value=datetime.datetime(1950, 1, 1), max_value=datetime.datetime(9999, 12, 31)
).map(lambda t: t.replace(microsecond=0))


def _stdlib_decode(der: bytes) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
        f.write(ssl.DER_cert_to_PEM_cert(der))
    try:
        result: dict[str, Any] = ssl._ssl._test_decode_cert(f.name)  # type: ignore[attr-defined]
        return result
    finally:
        os.unlink(f.name)


def _same_as_stdlib(
    subject: x509.Name,
    issuer: x509.Name,
    sans: list[x509.GeneralName] | None,
    serial: int,
    times: tuple[datetime.datetime, datetime.datetime],
    ca: bool | None,
) -> None:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(_KEY.public_key())
        .serial_number(serial)
        .not_valid_before(min(times))
        .not_valid_after(max(times))
    )
    if sans is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        uri = x509.UniformResourceIdentifier("http://o.example/")
        access = [x509.AccessDescription(AuthorityInformationAccessOID.OCSP, uri)]
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca, None), critical=True)
    der = builder.sign(_KEY, hashes.SHA256()).public_bytes(Encoding.DER)
    _x509.check_certificate(der)
    assert _x509.decode_certificate(der) == _stdlib_decode(der)
    assert _x509.is_ca_certificate(der) is bool(ca)


def test_decode_matches_the_stdlib() -> None:
    """For well-formed certificates, decode_certificate() == the stdlib's getpeercert()."""
    fuzz(
        _same_as_stdlib,
        _names,
        _names,
        st.none() | _general_names,
        st.integers(1, 2**159 - 1),
        st.tuples(_times, _times),
        st.none() | st.booleans(),
    )
