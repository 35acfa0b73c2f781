"""Regression tests for the parsers of untrusted bytes, one per crash the fuzzers found
(``nox -s fuzz``, tests/fuzz/), each with its minimal input; and the loaders' promise
that garbage is refused when a Certificate, PrivateKey or TrustStore is made.

The contract: malformed input raises ``ValueError`` (``ssl.SSLError``/``TypeError``
where the :mod:`ssl` look-alike documents them) with a message naming what is wrong;
never ``IndexError``, ``UnicodeError``, a silent wrong answer, or quadratic time; and
no message or ``repr`` quotes key material or a password.
"""

from __future__ import annotations

import os
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import certifi
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tls_adapter import Certificate, PrivateKey, TLSVersion, TrustStore
from tls_adapter._ciphers import CipherSuite
from tls_adapter._shim_config import cadata_store, cipher_tuple, password_bytes, stdlib_cipher_dicts
from tls_adapter._trust import der_to_pem, pem_blocks
from tls_adapter._x509 import (
    check_certificate,
    decode_certificate,
    is_ca_certificate,
    private_key_kind,
    split_der_certificates,
)
from tls_adapter.urllib3 import SSLContext

from .peers import PKI

LIMBO = Path(__file__).parent / "data" / "x509_limbo" / "limbo.json"


# -- a DER builder for minimal certificates ---------------------------------------------
def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _oid(hex_value: str) -> bytes:
    return _tlv(0x06, bytes.fromhex(hex_value))


_CN = "550403"
_ROLE = "550448"  # 2.5.4.72: known to OpenSSL ("role"), not in _x509's own table
_SAN = "551d11"
_AIA = "2b06010505070101"
_ECDSA_SHA256 = _seq(_oid("2a8648ce3d040302"))
_UTC_2000 = _tlv(0x17, b"000101000000Z")
_UTC_2049 = _tlv(0x17, b"491231235959Z")


def _name(*pairs: tuple[bytes, bytes]) -> bytes:
    """A Name: one RDN per ``(type, value)``, the value a UTF8String."""
    return _seq(*(_tlv(0x31, _seq(kind, _tlv(0x0C, value))) for kind, value in pairs))


def _extension(oid_hex: str, value: bytes) -> bytes:
    return _seq(_oid(oid_hex), _tlv(0x04, value))


def _certificate(
    *,
    issuer: bytes | None = None,
    validity: bytes | None = None,
    extensions: list[bytes] | None = None,
    fields: list[bytes] | None = None,
    extra_fields: tuple[bytes, ...] = (),
) -> bytes:
    """A DER certificate (its signature is not a real one: the reader does not check it)."""
    key = _seq(
        _seq(_oid("2a8648ce3d0201"), _oid("2a8648ce3d030107")), _tlv(0x03, b"\x00\x04" + bytes(64))
    )
    if fields is None:
        fields = [
            _tlv(0xA0, _tlv(0x02, b"\x02")),
            _tlv(0x02, b"\x01"),
            _ECDSA_SHA256,
            issuer if issuer is not None else _name((_oid(_CN), b"ca")),
            validity if validity is not None else _seq(_UTC_2000, _UTC_2049),
            _name((_oid(_CN), b"leaf")),
            key,
        ]
        if extensions is not None:
            fields.append(_tlv(0xA3, _seq(*extensions)))
        fields += extra_fields
    signature = _tlv(0x03, b"\x00" + _seq(_tlv(0x02, b"\x01"), _tlv(0x02, b"\x01")))
    return _seq(_seq(*fields), _ECDSA_SHA256, signature)


def _stdlib_decode(der: bytes) -> dict[str, Any]:
    decode = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    if decode is None:
        pytest.skip("this Python has no ssl._ssl._test_decode_cert")
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
        f.write(ssl.DER_cert_to_PEM_cert(der))
    try:
        result: dict[str, Any] = decode(f.name)
        return result
    finally:
        os.unlink(f.name)


def _exception_texts(error: BaseException) -> str:
    texts = []
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current), repr(current.args)]
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def _body_lines(pem: bytes) -> list[str]:
    """The base64 lines of *pem* (what must never appear in an error)."""
    return [
        line.decode()
        for line in pem.splitlines()
        if line and b"-----" not in line and b":" not in line and len(line) >= 16
    ]


# -- the DER reader behind getpeercert() -------------------------------------------------
def test_minimal_certificate_builder_is_sound() -> None:
    der = _certificate()
    check_certificate(der)
    assert decode_certificate(der) == _stdlib_decode(der)


@pytest.mark.parametrize(
    ("der", "message"),
    [
        # Found by fuzz_x509: each used to escape as IndexError (or an unpacking
        # ValueError that named nothing).
        (_seq(_seq()), "tbsCertificate: 0 fields"),
        (_seq(_seq(_tlv(0x02, b"\x01"))), "tbsCertificate: 1 fields"),
        (_certificate(extra_fields=(_tlv(0xA3, b""),)), "extensions: [3] holds 0 values"),
        (_certificate(extra_fields=(_tlv(0x02, b"\x01"),)), "unexpected INTEGER after the key"),
        (_certificate(fields=[_tlv(0xA0, b""), _tlv(0x02, b"\x01")]), "version: [0] holds 0"),
        (_certificate(issuer=_seq(_tlv(0x31, _seq(_oid(_CN))))), "issuer attribute: 1 parts"),
        (_certificate(validity=_seq(_UTC_2000)), "validity: 1 values"),
        (_certificate(extensions=[_seq()]), "extension: 0 parts"),
        (_certificate(extensions=[_extension(_SAN, _seq(_tlv(0xA4, b"")))]), "directoryName"),
        (
            _certificate(extensions=[_extension(_AIA, _seq(_seq(_oid("2b06010505073001"))))]),
            None,
        ),
        (_certificate(extensions=[_extension(_AIA, _seq(_seq()))]), "accessDescription: 0 parts"),
        (_certificate(issuer=_name((_tlv(0x06, b"\x81"), b"x"))), "cut off"),
        (_certificate(issuer=_name((_tlv(0x06, b""), b"x"))), "empty OBJECT IDENTIFIER"),
        (_certificate(issuer=_name((_tlv(0x06, b"\x80\x01"), b"x"))), "leading 0x80"),
        (b"\x30\x80\x00\x00", "indefinite DER length"),
        (b"\x30\x85\x00\x00\x00\x00\x01\x00", "DER length of 5 bytes"),
    ],
)
def test_malformed_certificate_is_a_clear_value_error(der: bytes, message: str | None) -> None:
    with pytest.raises(ValueError, match=r"^malformed certificate: ") as info:
        decode_certificate(der)
    assert type(info.value) is ValueError
    assert not isinstance(info.value.__cause__, IndexError)
    if message is not None:
        assert message in str(info.value)
    assert is_ca_certificate(der) is False


@pytest.mark.parametrize(
    "time_value",
    [
        b"000001000000Z",  # month 0: used to print as "Dec" (_MONTHS[-1])
        b"001301000000Z",  # month 13: used to escape as IndexError
        b"000230000000Z",  # February 30th
        b"000101240000Z",  # 24:00
        b"0 0101000000Z",  # int(" 0") accepted the space
        b"00010100000_Z",  # int("0_") ... an underscore
        b"0001010000Z",  # no seconds: not DER
        b"000101000000",  # no Z
        b"",
    ],
)
def test_bad_times_are_refused_not_misprinted(time_value: bytes) -> None:
    der = _certificate(validity=_seq(_tlv(0x17, time_value), _UTC_2049))
    with pytest.raises(ValueError, match="notBefore"):
        decode_certificate(der)


def test_a_huge_oid_arc_is_refused_in_linear_time() -> None:
    """Found by fuzz_x509 (repeated units): a 200 kB OID arc took quadratic time to
    convert before failing on int-to-str limits."""
    arc = b"\xff" * 200_000 + b"\x01"
    der = _certificate(issuer=_name((_tlv(0x06, arc), b"x")))
    started = time.monotonic()
    with pytest.raises(ValueError, match="arc longer than"):
        decode_certificate(der)
    assert time.monotonic() - started < 2


def test_deep_nesting_is_no_recursion() -> None:
    data = b"x"
    for _ in range(20_000):
        data = _tlv(0x30, data)
    with pytest.raises(ValueError):
        decode_certificate(data)
    with pytest.raises(ValueError):
        check_certificate(data)
    assert split_der_certificates(data) == [data]


def test_decode_certificate_refuses_non_bytes() -> None:
    """bytes(1_000_000) is a megabyte of zeros: an int used to be decoded as that."""
    for value in (1_000_000, "0\x03\x02\x01\x00", None):
        with pytest.raises(TypeError):
            decode_certificate(value)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            split_der_certificates(value)  # type: ignore[arg-type]


def test_duplicate_subject_alt_names_are_refused() -> None:
    """OpenSSL cannot tell which of two subjectAltName extensions counts and the stdlib
    shows none; the reader used to take the last one (and so match a host name)."""
    one = _extension(_SAN, _seq(_tlv(0x82, b"a.example")))
    two = _extension(_SAN, _seq(_tlv(0x82, b"evil.example")))
    der = _certificate(extensions=[one, two])
    assert "subjectAltName" not in _stdlib_decode(der)
    with pytest.raises(ValueError, match="more than once"):
        decode_certificate(der)
    check_certificate(der)  # still loadable: validation, not loading, refuses it


def test_attribute_and_registered_id_names_follow_openssl() -> None:
    """Found by the differential fuzz target: OIDs outside _x509's table but known to
    OpenSSL were printed dotted where the stdlib prints OpenSSL's long name."""
    san = _extension(_SAN, _seq(_tlv(0x88, bytes.fromhex(_ROLE))))
    der = _certificate(issuer=_name((_oid(_ROLE), b"boss")), extensions=[san])
    decoded = decode_certificate(der)
    assert decoded["issuer"] == ((("role", "boss"),),)
    assert decoded["subjectAltName"] == (("Registered ID", "role"),)
    assert decoded == _stdlib_decode(der)


def test_real_certificates_are_accepted_and_decoded_as_the_stdlib_does() -> None:
    """Guards against over-strictness: every certifi root passes check_certificate() and
    decodes exactly as the stdlib decodes it."""
    with open(certifi.where(), "rb") as f:
        ders = [der for label, der in pem_blocks(f.read()) if label == "CERTIFICATE"]
    assert len(ders) > 100
    for der in ders:
        check_certificate(der)
        assert decode_certificate(der) == _stdlib_decode(der)


@pytest.mark.skipif(not LIMBO.is_file(), reason="tests/data/x509_limbo is not present")
def test_x509_limbo_certificates_pass_the_structure_check() -> None:
    """The odd but parseable certificates of x509-limbo are loadable (validation, not
    loading, is where they fail)."""
    import json

    with open(LIMBO, encoding="utf-8") as f:
        cases = json.load(f)["testcases"]
    for case in cases:
        for pem in (*case.get("trusted_certs", ()), case["peer_certificate"]):
            for label, der in pem_blocks(pem.encode()):
                assert label == "CERTIFICATE"
                check_certificate(der)


# -- Certificate and TrustStore: garbage is refused at construction ---------------------
def test_certificate_garbage_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="neither PEM nor a DER certificate"):
        Certificate.from_buffer(b"garbage")
    # 64 bytes starting with 0x30 used to pass as "DER".
    with pytest.raises(ValueError, match="neither PEM nor a DER certificate"):
        Certificate.from_buffer(b"\x30\x3e" + bytes(62))
    # So did any base64 at all inside CERTIFICATE armour.
    with pytest.raises(ValueError, match=r"not a valid X\.509 certificate"):
        Certificate.from_buffer(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_truncated_and_corrupt_certificates_fail_at_construction(pki: PKI) -> None:
    pem = pki.server.cert_chain_pems[0].bytes()
    der = Certificate.from_buffer(pem).to_der()
    with pytest.raises(ValueError, match="truncated DER"):
        Certificate.from_buffer(der[:-1])
    with pytest.raises(ValueError, match="trailing data"):
        Certificate.from_buffer(der + b"\x00")
    with pytest.raises(ValueError, match="truncated DER"):
        Certificate.from_buffer(der_to_pem(der[:-20], "CERTIFICATE"))
    lines = pem.splitlines(keepends=True)
    lines[2] = b"!" + lines[2][1:]
    with pytest.raises(ValueError, match="not valid base64"):
        Certificate.from_buffer(b"".join(lines))
    with pytest.raises(ValueError, match="BEGIN CERTIFICATE without END"):
        Certificate.from_buffer(pem[:-10])


def test_wrong_pem_type_is_named(pki: PKI) -> None:
    with pytest.raises(ValueError, match=r"found 0 \(it holds: (EC )?PRIVATE KEY\)"):
        Certificate.from_buffer(pki.server.private_key_pem.bytes())
    key = serialization.load_pem_private_key(pki.server.private_key_pem.bytes(), None)
    key_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="holds a DER private key, not a certificate"):
        Certificate.from_buffer(key_der)


def test_trusted_certificate_trust_settings_are_dropped(pki: PKI) -> None:
    """Found by fuzz_pem: a TRUSTED CERTIFICATE block (OpenSSL's certificate followed by
    its trust settings) was kept whole, so to_der() was no certificate and to_pem() gave
    a CERTIFICATE block that Certificate.from_buffer() itself refused."""
    der = Certificate.from_buffer(pki.ca.cert_pem.bytes()).to_der()
    aux = _seq(_seq(_oid("2b06010505070301")))  # trust: serverAuth
    cert = Certificate.from_buffer(der_to_pem(der + aux, "TRUSTED CERTIFICATE"))
    assert cert.to_der() == der
    assert Certificate.from_buffer(cert.to_pem()) == cert
    store = TrustStore.from_buffer(der_to_pem(der + aux, "TRUSTED CERTIFICATE"))
    assert store == TrustStore.from_buffer(der)


def test_chain_with_a_corrupt_block_is_refused(pki: PKI) -> None:
    """A chain with one damaged certificate used to lose it silently (pem_blocks skips
    blocks that are not base64): the server would have sent an incomplete chain."""
    good = pki.server.cert_chain_pems[0].bytes()
    bad = b"-----BEGIN CERTIFICATE-----\nAA!A\n-----END CERTIFICATE-----\n"
    with pytest.raises(ValueError, match="certificate 2: the PEM CERTIFICATE block is not valid"):
        Certificate.chain_from_buffer(good + bad)
    with pytest.raises(ValueError, match=r"certificate 2: not a valid X\.509"):
        TrustStore.from_buffer(good + der_to_pem(b"\x30\x00", "CERTIFICATE"))


def test_pem_markers_are_found_in_linear_time() -> None:
    """Found by fuzz_pem (repeated units): the BEGIN..END regular expression rescanned
    the rest of the input for every unterminated BEGIN line (quadratic time: minutes)."""
    for data in (b"-----BEGIN A-----\n" * 50_000, b"-----BEGIN CERTIFICATE-----\n" * 50_000):
        started = time.monotonic()
        with pytest.raises(ValueError):
            Certificate.from_buffer(data)
        with pytest.raises(ValueError):
            TrustStore.from_buffer(data)
        with pytest.raises(ValueError):
            PrivateKey.from_buffer(data)
        assert pem_blocks(data) == []
        assert time.monotonic() - started < 2


def test_non_ascii_text_is_a_value_error(pki: PKI) -> None:
    """Found by fuzz_pem/fuzz_keys: a str with a non-ASCII character escaped as
    UnicodeEncodeError, whose repr holds the whole input: a private key."""
    key_text = pki.server.private_key_pem.bytes().decode()
    for load in (Certificate.from_buffer, TrustStore.from_buffer, PrivateKey.from_buffer):
        with pytest.raises(ValueError, match="non-ASCII") as info:
            load("\x80" + key_text)  # type: ignore[arg-type]
        assert type(info.value) is ValueError
        texts = _exception_texts(info.value)
        assert not any(line in texts for line in _body_lines(key_text.encode()))


# -- PrivateKey: garbage is refused at construction, secrets stay secret ------------------
def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 1024)


def _der(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, fmt: str) -> bytes:
    formats = {
        "pkcs8": serialization.PrivateFormat.PKCS8,
        "traditional": serialization.PrivateFormat.TraditionalOpenSSL,
    }
    return key.private_bytes(serialization.Encoding.DER, formats[fmt], serialization.NoEncryption())


def _parse_top(der: bytes) -> list[bytes]:
    """The encodings of the values inside the outer SEQUENCE of *der*."""
    pos = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    out = []
    while pos < len(der):
        length, head = der[pos + 1], 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(der[pos + 2 : pos + 2 + count], "big")
            head += count
        out.append(der[pos : pos + head + length])
        pos += head + length
    return out


@pytest.mark.parametrize(
    "data",
    [
        b"garbage",
        b"\x30\x03\x02\x01\x00",  # a SEQUENCE: used to pass as a PKCS#8 key
        b"\x30\x00",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n",
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
    ids=["text", "der-sequence", "empty-sequence", "pkcs8-junk", "rsa-empty", "openssh", "cert"],
)
def test_private_key_garbage_fails_at_construction(data: bytes) -> None:
    with pytest.raises(ValueError) as info:
        PrivateKey.from_buffer(data)
    assert type(info.value) is ValueError


def test_private_key_messages_name_the_problem(pki: PKI) -> None:
    with pytest.raises(ValueError, match="neither PEM nor a DER private key"):
        PrivateKey.from_buffer(b"garbage")
    with pytest.raises(ValueError, match=r"no PEM '... PRIVATE KEY' block \(it holds: CERT"):
        PrivateKey.from_buffer(pki.server.cert_chain_pems[0].bytes())
    with pytest.raises(ValueError, match="OPENSSH PRIVATE KEY blocks are not supported"):
        PrivateKey.from_buffer(
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
        )
    cert_der = Certificate.from_buffer(pki.server.cert_chain_pems[0].bytes()).to_der()
    with pytest.raises(ValueError, match="is a certificate, not a private key"):
        PrivateKey.from_buffer(cert_der)


def test_truncated_private_keys_fail_at_construction(pki: PKI) -> None:
    pem = pki.server.private_key_pem.bytes()
    lines = pem.splitlines(keepends=True)
    errors = []
    for damaged in (
        b"".join(lines[:1] + lines[2:]),  # a base64 line dropped
        pem[:-40] + pem[-26:],  # the END line cut into
        der_to_pem(_der(_rsa_key(), "pkcs8")[:-7], "PRIVATE KEY"),  # short DER, re-armoured
        _der(_rsa_key(), "pkcs8")[:-7],  # short DER
    ):
        with pytest.raises(ValueError) as info:
            PrivateKey.from_buffer(damaged)
        errors.append(_exception_texts(info.value))
    for text in errors:
        assert not any(line in text for line in _body_lines(pem))


def test_inconsistent_rsa_key_fails_at_construction() -> None:
    """Structure alone cannot see a flipped bit in a number; n = pq and the CRT values
    can (checked without cryptography)."""
    der = bytearray(_der(_rsa_key(), "traditional"))
    der[100] ^= 0x04  # inside the modulus
    with pytest.raises(ValueError, match="modulus is not the product"):
        PrivateKey.from_buffer(bytes(der))
    with pytest.raises(ValueError, match="modulus is not the product"):
        PrivateKey.from_buffer(der_to_pem(bytes(der), "RSA PRIVATE KEY"))


def test_rsa_key_with_a_prime_of_one_is_a_value_error() -> None:
    """d mod (p - 1) with p = 1 would divide by zero."""
    numbers = [0, 15, 3, 7, 1, 15, 1, 1, 1]
    der = _seq(*(_tlv(0x02, n.to_bytes(1, "big")) for n in numbers))
    with pytest.raises(ValueError, match="not the product"):
        PrivateKey.from_buffer(der)


def test_pkcs1_and_encrypted_pkcs8_der_are_labelled_by_structure() -> None:
    """DER keys used to be armoured as PKCS#8 'PRIVATE KEY' whatever they were: a PKCS#1
    key then failed in the backend, an encrypted PKCS#8 key looked unencrypted (found by
    fuzz_keys: cryptography could not load what construction had accepted)."""
    key = _rsa_key()
    pkcs1 = _der(key, "traditional")
    assert private_key_kind(pkcs1) == "RSA PRIVATE KEY"
    loaded = PrivateKey.from_buffer(pkcs1)
    assert loaded.to_pem().startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")
    serialization.load_pem_private_key(loaded.to_pem(), None)

    encrypted = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    loaded = PrivateKey.from_buffer(encrypted, password=b"pw")
    assert loaded.encrypted
    assert loaded.to_pem().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    serialization.load_pem_private_key(loaded.to_pem(), b"pw")


def test_truncated_encrypted_pkcs8_fails_at_construction() -> None:
    """The ciphertext of a CBC cipher is whole blocks: a cut one is seen without the
    password."""
    encrypted = _rsa_key().private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    algorithm, ciphertext = _parse_top(encrypted)
    assert ciphertext[:2] == b"\x04\x82"  # an OCTET STRING with a two-byte length
    content = ciphertext[4:]
    cut = _seq(algorithm, _tlv(0x04, content[:-5]))
    with pytest.raises(ValueError, match="whole number of 16-byte blocks"):
        PrivateKey.from_buffer(cut, password=b"pw")


def _traditional_encrypted(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"pw"),
    )


def test_pem_encryption_headers_are_checked() -> None:
    pem = _traditional_encrypted(ec.generate_private_key(ec.SECP256R1()))
    assert PrivateKey.from_buffer(pem).encrypted
    no_dek = b"\n".join(line for line in pem.split(b"\n") if not line.startswith(b"DEK-Info"))
    with pytest.raises(ValueError, match="no valid DEK-Info"):
        PrivateKey.from_buffer(no_dek)
    short_iv = pem.replace(b"AES-256-CBC,", b"AES-256-CBC,00", 1)[:-1]
    with pytest.raises(ValueError, match="IV"):
        PrivateKey.from_buffer(short_iv)
    mic_only = pem.replace(b"4,ENCRYPTED", b"4,MIC-ONLY")
    with pytest.raises(ValueError, match="Proc-Type"):
        PrivateKey.from_buffer(mic_only)


def test_encrypted_flag_follows_the_parsed_header() -> None:
    """Found by fuzz_keys: 'Proc-Type:  4, ENCRYPTED' (extra blanks, or CR CR LF line
    ends) was accepted as encrypted, yet ``encrypted`` said False, so the password was
    never handed to the backend."""
    pem = _traditional_encrypted(ec.generate_private_key(ec.SECP256R1()))
    for variant in (
        pem.replace(b"Proc-Type: 4,ENCRYPTED", b"Proc-Type:  4, ENCRYPTED"),
        pem.replace(b"\n", b"\r\r\n"),
    ):
        key = PrivateKey.from_buffer(variant, password=b"pw")
        assert key.encrypted
        assert key.password_bytes() == b"pw"


def test_pem_layout_openssl_cannot_read_is_refused(pki: PKI) -> None:
    """Found by fuzz_keys: construction accepted PEM that OpenSSL's reader refuses (the
    text is handed to the backends as is): a blank line inside the base64, an END
    marker on the last base64 line, base64 on the BEGIN line."""
    pem = pki.server.private_key_pem.bytes()
    lines = pem.split(b"\n")
    for variant in (
        b"\n".join([*lines[:2], b"", *lines[2:]]),
        pem.replace(b"\n-----END", b"-----END"),
        pem.replace(b"-----\n", b"-----", 1),
    ):
        with pytest.raises(ValueError, match=r"blank line|lines of their own"):
            PrivateKey.from_buffer(variant)
    # What OpenSSL does read stays accepted: CRLF, a blank line after BEGIN, one line.
    body = b"".join(lines[1:-2])
    for variant in (
        pem.replace(b"\n", b"\r\n"),
        pem.replace(b"-----\n", b"-----\n\n", 1),
        lines[0] + b"\n" + body + b"\n" + lines[-2] + b"\n",
    ):
        PrivateKey.from_buffer(variant)


def test_key_checks_hold_without_cryptography(pki: PKI, monkeypatch: pytest.MonkeyPatch) -> None:
    """cryptography is optional: without it the structural checks still refuse garbage
    and accept real keys."""
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.serialization", None)
    assert not PrivateKey.from_buffer(pki.server.private_key_pem.bytes()).encrypted
    with pytest.raises(ValueError):
        PrivateKey.from_buffer(b"\x30\x03\x02\x01\x00")
    lines = pki.server.private_key_pem.bytes().splitlines(keepends=True)
    with pytest.raises(ValueError, match="DER"):
        PrivateKey.from_buffer(b"".join(lines[:1] + lines[2:]))


def test_cryptography_refuses_what_structure_cannot_see() -> None:
    """With cryptography installed, an EC key whose private value is not below the
    curve order is refused at construction."""
    pytest.importorskip("cryptography")
    der = bytearray(_der(ec.generate_private_key(ec.SECP256R1()), "traditional"))
    der[7:39] = b"\xff" * 32  # the private value (version INTEGER, then OCTET STRING)
    with pytest.raises(ValueError, match="cryptography package cannot load it"):
        PrivateKey.from_buffer(bytes(der))


# -- the urllib3 shim -------------------------------------------------------------------
def test_password_with_a_lone_surrogate_does_not_leak() -> None:
    """Found by fuzz_shim: UnicodeEncodeError carries the whole string (the password)."""
    with pytest.raises(ValueError) as info:
        password_bytes("hunter2-secret\ud800")
    assert type(info.value) is ValueError
    assert "hunter2" not in _exception_texts(info.value)
    with pytest.raises(ValueError) as info:
        password_bytes(lambda: "hunter2-secret\udfff")
    assert "hunter2" not in _exception_texts(info.value)


def test_cadata_errors_are_the_stdlib_ones(pki: PKI) -> None:
    """Found by fuzz_shim: non-ASCII text escaped as UnicodeEncodeError (ssl raises
    TypeError); a PEM block holding junk was accepted (ssl raises SSLError)."""
    for value in ("\x80", "é" + pki.ca.cert_pem.bytes().decode()):
        with pytest.raises(TypeError, match="ASCII string"):
            cadata_store(value)
    for empty in ("", b""):
        with pytest.raises(ValueError, match="Empty certificate data"):
            cadata_store(empty)
    with pytest.raises(ssl.SSLError):
        cadata_store("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(ssl.SSLError):
        cadata_store(b"\x30\x03\x02\x01\x00")
    cadata_store(pki.ca.cert_pem.bytes().decode())


def test_corrupt_ca_file_merged_with_other_cas_is_an_ssl_error(pki: PKI, tmp_path: Path) -> None:
    """A bundle with a corrupt certificate surfaces as ssl.SSLError when it is merged
    with other CAs, not as a ValueError mislabelled NO_PROTOCOLS_AVAILABLE."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki.ca.cert_pem.bytes() + der_to_pem(b"\x30\x03\x02\x01\x00", "CERTIFICATE"))
    context = SSLContext(backend="openssl")
    context.load_verify_locations(cafile=bundle)
    with pytest.raises(ssl.SSLError, match=r"not a valid X\.509 certificate"):
        context.load_verify_locations(cadata=pki.ca.cert_pem.bytes().decode())
    context.configuration  # noqa: B018 - the failed load left the context usable


def test_cipher_secret_bits_come_from_the_cipher_not_the_mac() -> None:
    """Found by fuzz_shim: for suites outside the stdlib's table, SSLSocket.cipher()
    guessed the key size from any "256" in the name, so AES-128 suites with a SHA256 MAC
    reported 256 secret bits."""
    described = cipher_tuple(CipherSuite.TLS_ECCPWD_WITH_AES_128_GCM_SHA256, TLSVersion.TLSv1_2)
    assert described == ("TLS_ECCPWD_WITH_AES_128_GCM_SHA256", "TLSv1.2", 128)
    assert cipher_tuple(0xC0B1, TLSVersion.TLSv1_2) == ("0xC0B1", "TLSv1.2", 128)
    # For every suite the stdlib knows, the name-based rule agrees with OpenSSL.
    from tls_adapter._shim_config import _secret_bits

    known = stdlib_cipher_dicts()
    for suite in CipherSuite:
        if int(suite) in known:
            assert _secret_bits(suite.name) == known[int(suite)]["strength_bits"], suite
    assert _secret_bits("TLS_AES_128_CCM_SHA256") == 128
    assert _secret_bits("TLS_RSA_WITH_3DES_EDE_CBC_SHA") == 112
