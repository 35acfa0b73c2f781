"""Misissued and weak certificate chains, made at run time with ``cryptography``.

:func:`make_chain` builds a root CA, any number of intermediates and a leaf for one
host, each from a :class:`CertOptions` whose defaults make a correct certificate of its
role; every field is a knob for one defect (no basicConstraints, a clientAuth-only EKU,
a 1024-bit key, a SHA-1 signature, name constraints, an unknown critical extension,
dates in the past...). The result is a :class:`Case`: the PEM trust anchor, the chain
the server presents, the leaf's key, the host to connect to, and whether a validating
client must accept it. :data:`CASES` is the catalogue of the validation-policy matrix
(``tests/test_validation_policy.py``); :func:`case` builds one of them, once.

No key is committed: everything is generated when first needed. EC keys are fresh for
every certificate (they are cheap); RSA keys, which are slow to make, are made once per
session and role.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    ExtensionOID,
    NameOID,
)

__all__ = [
    "CASES",
    "Case",
    "CertOptions",
    "case",
    "make_chain",
    "private_key",
]

KeyKind = Literal["ec-p256", "ec-p384", "ec-p224", "ec-p192", "rsa-2048", "rsa-1024"]
HashName = Literal["sha256", "sha384", "sha1", "md5"]
Validity = Literal["valid", "expired", "not_yet_valid"]
PrivateKey: TypeAlias = "ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey"

#: A private-enterprise-style OID nobody implements (for unknown critical extensions
#: and otherName SANs).
PRIVATE_OID = x509.ObjectIdentifier("1.3.6.1.4.1.55555.543.1")
#: The otherName type excluded by the ``nc_othername_excluded`` case's CA.
PRIVATE_OTHERNAME_OID = x509.ObjectIdentifier("1.3.6.1.4.1.55555.543.2")

_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "ec-p256": ec.SECP256R1,
    "ec-p384": ec.SECP384R1,
    "ec-p224": ec.SECP224R1,
    "ec-p192": ec.SECP192R1,
}
_RSA_BITS = {"rsa-2048": 2048, "rsa-1024": 1024}
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha1": hashes.SHA1,
    "md5": hashes.MD5,
}
# DER AlgorithmIdentifiers for the signatures cryptography no longer makes itself.
_LEGACY_ALGORITHMS = {
    ("rsa", "sha1"): bytes.fromhex("300d06092a864886f70d0101050500"),  # sha1WithRSAEncryption
    ("rsa", "md5"): bytes.fromhex("300d06092a864886f70d0101040500"),  # md5WithRSAEncryption
    ("ec", "sha1"): bytes.fromhex("300906072a8648ce3d0401"),  # ecdsa-with-SHA1
}


# -- keys -------------------------------------------------------------------------------------
@functools.cache
def _rsa_key(bits: int, slot: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key(kind: KeyKind, slot: str = "leaf") -> PrivateKey:
    """A private key of *kind*: EC keys are always fresh; an RSA key is made once per
    (*kind*, *slot*) for the session, so certificates of one chain get distinct keys."""
    if kind in _RSA_BITS:
        return _rsa_key(_RSA_BITS[kind], slot)
    return ec.generate_private_key(_CURVES[kind]())


def _pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# -- certificates -----------------------------------------------------------------------------
@dataclass(frozen=True)
class CertOptions:
    """How to make one certificate; the defaults make a correct one for its role.

    ``"default"`` means "what a well-issued certificate of this role has" (a CA:
    critical ``cA=TRUE`` basicConstraints, keyUsage keyCertSign+cRLSign, no EKU, no
    SAN; a leaf: ``cA=FALSE``, keyUsage digitalSignature (+keyEncipherment for RSA),
    EKU serverAuth, a SAN naming the host); ``"absent"`` leaves the extension out.
    """

    key: KeyKind = "ec-p256"
    #: The hash of the signature *on this certificate* (made by its issuer's key).
    hash: HashName = "sha256"
    basic_constraints: x509.BasicConstraints | Literal["default", "absent"] = "default"
    key_usage: x509.KeyUsage | Literal["default", "absent"] = "default"
    #: ``"empty"`` is an extendedKeyUsage extension with no purposes at all (invalid
    #: DER per RFC 5280, which cryptography will not build, so it is written raw).
    eku: tuple[x509.ObjectIdentifier, ...] | Literal["default", "absent", "empty"] = "default"
    san: tuple[x509.GeneralName, ...] | Literal["default", "absent"] = "default"
    #: The subject's commonName; ``None``: a descriptive name that is not a host name.
    common_name: str | None = None
    name_constraints: x509.NameConstraints | None = None
    validity: Validity = "valid"
    #: Further ``(extension, critical)`` pairs.
    extra_extensions: tuple[tuple[x509.ExtensionType, bool], ...] = ()


@dataclass(frozen=True)
class _Issued:
    cert: x509.Certificate
    key: PrivateKey


def _key_usage(
    *,
    digital_signature: bool = False,
    key_encipherment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _host_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _validity(
    kind: Validity, now: datetime.datetime, days: int
) -> tuple[datetime.datetime, datetime.datetime]:
    day = datetime.timedelta(days=1)
    if kind == "expired":
        return now - 30 * day, now - day
    if kind == "not_yet_valid":
        return now + day, now + 30 * day
    return now - day, now + days * day


def _der_header(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes([tag, length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body


def _der_items(der: bytes) -> list[bytes]:
    """The encoded children of the DER SEQUENCE *der* (definite lengths only)."""
    assert der[0] == 0x30
    offset = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    items = []
    while offset < len(der):
        first = der[offset + 1]
        if first < 0x80:
            header, length = 2, first
        else:
            n = first & 0x7F
            header, length = 2 + n, int.from_bytes(der[offset + 2 : offset + 2 + n], "big")
        items.append(der[offset : offset + header + length])
        offset += header + length
    return items


def _resign_legacy(cert: x509.Certificate, issuer_key: PrivateKey, hash_name: str) -> bytes:
    """*cert* re-signed by *issuer_key* with SHA-1 or MD5 (cryptography refuses to)."""
    family = "rsa" if isinstance(issuer_key, rsa.RSAPrivateKey) else "ec"
    algorithm = _LEGACY_ALGORITHMS.get((family, hash_name))
    if algorithm is None:
        raise ValueError(f"no {hash_name} signature with an {family} key")
    items = _der_items(cert.tbs_certificate_bytes)
    items[2] = algorithm  # version [0], serialNumber, signature AlgorithmIdentifier, ...
    body = b"".join(items)
    tbs = _der_header(0x30, len(body)) + body
    digest = _HASHES[hash_name]()
    if isinstance(issuer_key, rsa.RSAPrivateKey):
        signature = issuer_key.sign(tbs, padding.PKCS1v15(), digest)
    else:
        signature = issuer_key.sign(tbs, ec.ECDSA(digest))
    bits = b"\x00" + signature
    body = tbs + algorithm + _der_header(0x03, len(bits)) + bits
    return _der_header(0x30, len(body)) + body


def _issue(
    options: CertOptions,
    *,
    role: Literal["root", "intermediate", "leaf"],
    label: str,
    host: str,
    issuer: _Issued | None,
    slot: str,
    now: datetime.datetime,
) -> _Issued:
    key = private_key(options.key, slot)
    is_ca = role != "leaf"
    cn = options.common_name or label
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tls_adapter misissued tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    signer = issuer.key if issuer is not None else key
    not_before, not_after = _validity(options.validity, now, 365 if is_ca else 30)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )

    bc = options.basic_constraints
    if bc == "default":
        bc = x509.BasicConstraints(ca=is_ca, path_length=None)
    if bc != "absent":
        builder = builder.add_extension(bc, True)

    ku = options.key_usage
    if ku == "default":
        if is_ca:
            ku = _key_usage(key_cert_sign=True, crl_sign=True)
        else:
            ku = _key_usage(
                digital_signature=True,
                key_encipherment=isinstance(key, rsa.RSAPrivateKey),
            )
    if ku != "absent":
        builder = builder.add_extension(ku, True)

    eku = options.eku
    if eku == "default":
        eku = "absent" if is_ca else (ExtendedKeyUsageOID.SERVER_AUTH,)
    if eku == "empty":
        empty = x509.UnrecognizedExtension(ExtensionOID.EXTENDED_KEY_USAGE, b"\x30\x00")
        builder = builder.add_extension(empty, False)
    elif eku != "absent":
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), False)

    san = options.san
    if san == "default":
        san = "absent" if is_ca else (_host_name(host),)
    if san != "absent":
        builder = builder.add_extension(x509.SubjectAlternativeName(list(san)), False)

    if options.name_constraints is not None:
        builder = builder.add_extension(options.name_constraints, True)
    for extension, critical in options.extra_extensions:
        builder = builder.add_extension(extension, critical)

    if options.hash in ("sha1", "md5"):
        draft = builder.sign(signer, hashes.SHA256())
        der = _resign_legacy(draft, signer, options.hash)
        cert = x509.load_der_x509_certificate(der)
    else:
        cert = builder.sign(
            signer, hashes.SHA384() if options.hash == "sha384" else hashes.SHA256()
        )
    return _Issued(cert, key)


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


# -- cases --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One chain to serve, and the verdict a validating client must reach."""

    name: str
    description: str
    #: ``True``: a client trusting :attr:`anchors_pem` must connect to :attr:`host`.
    accept: bool
    #: What to connect to: ``"localhost"`` or ``"127.0.0.1"``.
    host: str
    #: The trust anchor(s), PEM.
    anchors_pem: bytes
    #: What the server presents: the leaf, then the intermediates it sends (PEM).
    chain_pem: bytes
    #: The leaf and *all* its intermediates, whether or not the server sends them.
    full_chain_pem: bytes
    #: The leaf's private key (PKCS#8 PEM).
    key_pem: bytes
    #: Set when a client may refuse the leaf in the handshake rather than in validation
    #: (a P-192 key: TLS 1.3 has no signature scheme for it, and in TLS 1.2 only a
    #: client that offers the curve can use it).
    may_fail_in_handshake: bool = False
    #: Set when the stdlib server can present this leaf over TLS 1.3 only (OpenSSL signs
    #: no TLS 1.2 ServerKeyExchange with an ECDSA key whose keyUsage lacks
    #: digitalSignature; it aborts with handshake_failure instead), so a client without
    #: TLS 1.3 never receives the certificate it would have to refuse.
    server_needs_tls13: bool = False
    #: The certificates, leaf first and the root last, for diagnostics.
    certificates: tuple[x509.Certificate, ...] = field(default=(), repr=False)


def make_chain(
    name: str,
    *,
    accept: bool,
    description: str,
    host: str = "localhost",
    root: CertOptions | None = None,
    intermediates: Sequence[CertOptions] = (),
    leaf: CertOptions | None = None,
    send_intermediates: bool = True,
    may_fail_in_handshake: bool = False,
    server_needs_tls13: bool = False,
) -> Case:
    """Root -> *intermediates* (top first) -> leaf for *host*, as a :class:`Case`."""
    now = datetime.datetime.now(datetime.timezone.utc)
    issued = _issue(
        root or CertOptions(),
        role="root",
        label=f"{name} root CA",
        host=host,
        issuer=None,
        slot="root",
        now=now,
    )
    chain = [issued]
    for i, options in enumerate(intermediates, 1):
        issued = _issue(
            options,
            role="intermediate",
            label=f"{name} intermediate CA {i}",
            host=host,
            issuer=issued,
            slot=f"intermediate-{i}",
            now=now,
        )
        chain.append(issued)
    leaf_issued = _issue(
        leaf or CertOptions(),
        role="leaf",
        label=f"{name} leaf",
        host=host,
        issuer=issued,
        slot="leaf",
        now=now,
    )
    below_root = [leaf_issued.cert] + [i.cert for i in reversed(chain[1:])]
    full = b"".join(_cert_pem(c) for c in below_root)
    return Case(
        name=name,
        description=description,
        accept=accept,
        host=host,
        anchors_pem=_cert_pem(chain[0].cert),
        chain_pem=full if send_intermediates else _cert_pem(leaf_issued.cert),
        full_chain_pem=full,
        key_pem=_pem(leaf_issued.key),
        may_fail_in_handshake=may_fail_in_handshake,
        server_needs_tls13=server_needs_tls13,
        certificates=(*below_root, chain[0].cert),
    )


def _nc(
    permitted: Sequence[x509.GeneralName] | None = None,
    excluded: Sequence[x509.GeneralName] | None = None,
) -> x509.NameConstraints:
    return x509.NameConstraints(
        permitted_subtrees=list(permitted) if permitted else None,
        excluded_subtrees=list(excluded) if excluded else None,
    )


def _net(cidr: str) -> x509.IPAddress:
    return x509.IPAddress(ipaddress.ip_network(cidr))


_CA = CertOptions()
_UNKNOWN_CRITICAL = ((x509.UnrecognizedExtension(PRIVATE_OID, b"\x05\x00"), True),)
_OTHER_NAME = x509.OtherName(PRIVATE_OTHERNAME_OID, b"\x0c\x09forbidden")  # UTF8String

#: name -> builder. Positive controls start with ``ok_``; everything else is rejected.
CASES: Mapping[str, Callable[[], Case]] = {
    # -- positive controls ----------------------------------------------------------------
    "ok_ecdsa_p256_with_intermediate": lambda: make_chain(
        "ok_ecdsa_p256_with_intermediate",
        accept=True,
        description="a correct ECDSA P-256 root -> intermediate -> leaf chain",
        intermediates=[_CA],
    ),
    "ok_rsa2048_direct": lambda: make_chain(
        "ok_rsa2048_direct",
        accept=True,
        description="a correct RSA-2048 leaf issued directly by an RSA-2048 root",
        root=CertOptions(key="rsa-2048"),
        leaf=CertOptions(key="rsa-2048"),
    ),
    "ok_leaf_without_eku": lambda: make_chain(
        "ok_leaf_without_eku",
        accept=True,
        description="a leaf with no extendedKeyUsage extension at all",
        leaf=CertOptions(eku="absent"),
    ),
    "ok_nc_permitted_dns": lambda: make_chain(
        "ok_nc_permitted_dns",
        accept=True,
        description="intermediate permits DNS localhost; the leaf is for localhost",
        intermediates=[CertOptions(name_constraints=_nc(permitted=[x509.DNSName("localhost")]))],
    ),
    "ok_nc_permitted_ip": lambda: make_chain(
        "ok_nc_permitted_ip",
        accept=True,
        description="intermediate permits 127.0.0.0/8; the leaf is for IP 127.0.0.1",
        host="127.0.0.1",
        intermediates=[CertOptions(name_constraints=_nc(permitted=[_net("127.0.0.0/8")]))],
    ),
    # -- extendedKeyUsage -----------------------------------------------------------------
    "eku_client_auth_only": lambda: make_chain(
        "eku_client_auth_only",
        accept=False,
        description="leaf extendedKeyUsage is clientAuth only",
        leaf=CertOptions(eku=(ExtendedKeyUsageOID.CLIENT_AUTH,)),
    ),
    "eku_empty": lambda: make_chain(
        "eku_empty",
        accept=False,
        description="leaf extendedKeyUsage extension present with no purpose at all",
        leaf=CertOptions(eku="empty"),
    ),
    "eku_any_only": lambda: make_chain(
        "eku_any_only",
        accept=False,
        description="leaf extendedKeyUsage is anyExtendedKeyUsage only (no serverAuth)",
        leaf=CertOptions(eku=(ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,)),
    ),
    # -- chain building ------------------------------------------------------------------
    "missing_intermediate": lambda: make_chain(
        "missing_intermediate",
        accept=False,
        description="the server sends only the leaf; its intermediate is nowhere",
        intermediates=[_CA],
        send_intermediates=False,
    ),
    # -- name constraints (on an intermediate, where RFC 5280 processing is mandatory) -----
    "nc_dns_outside_permitted": lambda: make_chain(
        "nc_dns_outside_permitted",
        accept=False,
        description="intermediate permits DNS example.com only; the leaf is for localhost",
        intermediates=[CertOptions(name_constraints=_nc(permitted=[x509.DNSName("example.com")]))],
    ),
    "nc_dns_excluded": lambda: make_chain(
        "nc_dns_excluded",
        accept=False,
        description="intermediate excludes DNS localhost; the leaf is for localhost",
        intermediates=[CertOptions(name_constraints=_nc(excluded=[x509.DNSName("localhost")]))],
    ),
    "nc_ip_outside_permitted": lambda: make_chain(
        "nc_ip_outside_permitted",
        accept=False,
        description="intermediate permits 10.0.0.0/8 only; the leaf is for IP 127.0.0.1",
        host="127.0.0.1",
        intermediates=[CertOptions(name_constraints=_nc(permitted=[_net("10.0.0.0/8")]))],
    ),
    "nc_ip_excluded": lambda: make_chain(
        "nc_ip_excluded",
        accept=False,
        description="intermediate excludes 127.0.0.0/8; the leaf is for IP 127.0.0.1",
        host="127.0.0.1",
        intermediates=[CertOptions(name_constraints=_nc(excluded=[_net("127.0.0.0/8")]))],
    ),
    "nc_othername_excluded": lambda: make_chain(
        "nc_othername_excluded",
        accept=False,
        description=(
            "intermediate excludes an otherName (private type); the leaf's SAN has "
            "localhost and exactly that otherName"
        ),
        intermediates=[CertOptions(name_constraints=_nc(excluded=[_OTHER_NAME]))],
        leaf=CertOptions(san=(x509.DNSName("localhost"), _OTHER_NAME)),
    ),
    "nc_intermediate_san_violates": lambda: make_chain(
        "nc_intermediate_san_violates",
        accept=False,
        description=(
            "intermediate 1 permits DNS localhost; intermediate 2's own SAN is "
            "evil.example.org; the leaf is for localhost"
        ),
        intermediates=[
            CertOptions(name_constraints=_nc(permitted=[x509.DNSName("localhost")])),
            CertOptions(san=(x509.DNSName("evil.example.org"),)),
        ],
    ),
    # -- basicConstraints / pathLen / keyUsage ----------------------------------------------
    "leaf_is_ca": lambda: make_chain(
        "leaf_is_ca",
        accept=False,
        description="the leaf has basicConstraints cA=TRUE (a CA certificate used as leaf)",
        leaf=CertOptions(
            basic_constraints=x509.BasicConstraints(ca=True, path_length=None),
            key_usage=_key_usage(digital_signature=True),
        ),
    ),
    "root_without_basic_constraints": lambda: make_chain(
        "root_without_basic_constraints",
        accept=False,
        description="the root has no basicConstraints extension (keyUsage keyCertSign only)",
        root=CertOptions(basic_constraints="absent"),
    ),
    "path_len_exceeded": lambda: make_chain(
        "path_len_exceeded",
        accept=False,
        description="intermediate 1 has pathLen=0 yet issues intermediate 2, which issues the leaf",
        intermediates=[
            CertOptions(basic_constraints=x509.BasicConstraints(ca=True, path_length=0)),
            _CA,
        ],
    ),
    "leaf_ku_cert_sign_only": lambda: make_chain(
        "leaf_ku_cert_sign_only",
        accept=False,
        description="ECDSA P-256 leaf whose keyUsage is keyCertSign only (no digitalSignature)",
        leaf=CertOptions(key_usage=_key_usage(key_cert_sign=True)),
        server_needs_tls13=True,
    ),
    "leaf_rsa_ku_cert_sign_only": lambda: make_chain(
        "leaf_rsa_ku_cert_sign_only",
        accept=False,
        description=(
            "RSA-2048 leaf whose keyUsage is keyCertSign only (no digitalSignature or "
            "keyEncipherment); unlike the ECDSA one, the stdlib server presents it over "
            "TLS 1.2 too"
        ),
        root=CertOptions(key="rsa-2048"),
        leaf=CertOptions(key="rsa-2048", key_usage=_key_usage(key_cert_sign=True)),
    ),
    # -- algorithms and key sizes ---------------------------------------------------------
    "leaf_sha1_signature": lambda: make_chain(
        "leaf_sha1_signature",
        accept=False,
        description="the leaf is signed with ecdsa-with-SHA1",
        leaf=CertOptions(hash="sha1"),
    ),
    "leaf_md5_signature": lambda: make_chain(
        "leaf_md5_signature",
        accept=False,
        description="the leaf is signed with md5WithRSAEncryption (RSA-2048 root)",
        root=CertOptions(key="rsa-2048"),
        leaf=CertOptions(hash="md5"),
    ),
    "leaf_rsa1024": lambda: make_chain(
        "leaf_rsa1024",
        accept=False,
        description="the leaf has a 1024-bit RSA key",
        leaf=CertOptions(key="rsa-1024"),
    ),
    "leaf_ec_p192": lambda: make_chain(
        "leaf_ec_p192",
        accept=False,
        description=(
            "the leaf has a P-192 key (no TLS 1.3 signature scheme exists for it; a TLS 1.2 "
            "client that offers the curve can handshake, and must then reject the key)"
        ),
        leaf=CertOptions(key="ec-p192"),
        may_fail_in_handshake=True,
    ),
    "intermediate_ec_p192": lambda: make_chain(
        "intermediate_ec_p192",
        accept=False,
        description="the intermediate has a P-192 key (it signs a P-256 leaf)",
        intermediates=[CertOptions(key="ec-p192")],
    ),
    "intermediate_ec_p224": lambda: make_chain(
        "intermediate_ec_p224",
        accept=False,
        description="the intermediate has a P-224 key (it signs a P-256 leaf)",
        intermediates=[CertOptions(key="ec-p224")],
    ),
    # -- critical extensions ----------------------------------------------------------------
    "root_unknown_critical_extension": lambda: make_chain(
        "root_unknown_critical_extension",
        accept=False,
        description="the root carries an unknown extension (private OID) marked critical",
        root=CertOptions(extra_extensions=_UNKNOWN_CRITICAL),
    ),
    "leaf_unknown_critical_extension": lambda: make_chain(
        "leaf_unknown_critical_extension",
        accept=False,
        description="the leaf carries an unknown extension (private OID) marked critical",
        leaf=CertOptions(extra_extensions=_UNKNOWN_CRITICAL),
    ),
    "leaf_critical_aia": lambda: make_chain(
        "leaf_critical_aia",
        accept=False,
        description="the leaf's authorityInfoAccess extension is marked critical",
        leaf=CertOptions(
            extra_extensions=(
                (
                    x509.AuthorityInformationAccess(
                        [
                            x509.AccessDescription(
                                AuthorityInformationAccessOID.CA_ISSUERS,
                                x509.UniformResourceIdentifier("http://ca.invalid/ca.crt"),
                            )
                        ]
                    ),
                    True,
                ),
            )
        ),
    ),
    # -- dates and names --------------------------------------------------------------------
    "leaf_expired": lambda: make_chain(
        "leaf_expired",
        accept=False,
        description="the leaf expired yesterday",
        leaf=CertOptions(validity="expired"),
    ),
    "leaf_not_yet_valid": lambda: make_chain(
        "leaf_not_yet_valid",
        accept=False,
        description="the leaf becomes valid tomorrow",
        leaf=CertOptions(validity="not_yet_valid"),
    ),
    "wrong_hostname": lambda: make_chain(
        "wrong_hostname",
        accept=False,
        description="the leaf names wrong.example.org; the client connects to localhost",
        leaf=CertOptions(san=(x509.DNSName("wrong.example.org"),)),
    ),
    "cn_only_no_san": lambda: make_chain(
        "cn_only_no_san",
        accept=False,
        description="the leaf has CN=localhost and no subjectAltName (no CN fallback)",
        leaf=CertOptions(san="absent", common_name="localhost"),
    ),
}


@functools.cache
def case(name: str) -> Case:
    """The catalogue case *name*, built on first use and kept for the session."""
    return CASES[name]()
