"""The validation policy: one verdict on a peer's certificate chain, whatever the backend.

Theory of operation
-------------------
Every backend validates the peer with its own library's verifier, set to its strictest
useful setting. Libraries disagree, though: some accept a leaf whose extendedKeyUsage
is ``clientAuth`` only, a 1024-bit RSA key, a SHA-1 signature, a CA certificate used as
a leaf, or a chain completed with an intermediate learned on an earlier connection.
So a backend whose library does not enforce the whole policy on its own also runs
:class:`ChainPolicy` on the chain *as the peer presented it in this handshake*, after
the library accepted it and before any application data is sent; the connection's
verdict is the conjunction of both. The policy itself is not written here: it is
``cryptography``'s X.509 path validator (``cryptography.x509.verification``, the
verifier x509-limbo was built against), configured once in :func:`_extension_policies`:

* chain to an anchor of the configuration's trust store, built from the presented
  chain only (nothing is remembered between connections);
* validity dates of every certificate; at most 8 intermediates;
* names from subjectAltName only (DNS names, IP addresses; no CN fallback), matched
  by the same OpenSSL-strict rules every backend uses (``_x509.dns_name_matches``);
* extendedKeyUsage, when present, must contain ``serverAuth`` (``clientAuth`` when a
  server validates clients); ``anyExtendedKeyUsage`` alone is not enough;
* basicConstraints ``cA`` on every issuer and not on the leaf; pathLenConstraint;
* keyUsage ``keyCertSign`` on issuers and not on the leaf;
* name constraints (DNS, IP, and the other name forms the verifier knows) on every
  certificate below the constraining CA, intermediates' own names included;
* RSA keys of 2048 bits or more; EC keys on P-256, P-384 or P-521; signatures with
  SHA-256 or stronger (no MD5, no SHA-1) on everything but the anchor's self-signature;
* unknown critical extensions rejected.

Five structural RFC 5280 / CA/Browser Forum rules are relaxed because private PKIs
(trustme's included) routinely break them and OpenSSL does not check them: an
authorityKeyIdentifier on the leaf and a subjectKeyIdentifier on CAs are not required,
an issuer's basicConstraints may be non-critical (``cA`` must still be true), and
subjectAltName and extendedKeyUsage may be critical (their content rules stand).

A :class:`ChainPolicy` belongs to one context: its anchors are read once, on first use
(the system store is read then too), and shared by every connection of that context
under a lock-free, build-once pattern. ``cryptography`` is needed only by the backends
that rely on this module; without it they refuse to build a validating context with
:class:`~tls_adapter.ConfigurationError` (fail closed) rather than validate less.
"""

from __future__ import annotations

import datetime
import functools
import os
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ._der import _oid
from ._errors import CertificateValidationError, ConfigurationError
from ._system import find_system_ca
from ._trust import TrustStore, pem_blocks
from ._verify_codes import VerifyCode, describe
from ._x509 import _tbs_fields, dns_name_matches, is_ca_certificate

if TYPE_CHECKING:
    from ._api import ServerName
    from ._config import TLSConfiguration

__all__ = [
    "ChainPolicy",
    "PeerCheck",
    "SecurityLevelGaps",
    "date_failure",
    "require_policy_support",
]

#: The policy's limit on intermediates between the leaf and the anchor.
MAX_INTERMEDIATES = 8


def require_policy_support(backend: str) -> None:
    """Fail closed when ``cryptography``'s verifier is missing for a backend that needs it.

    :raises ConfigurationError: naming the backend and the package to install.
    """
    try:
        from cryptography.x509.verification import PolicyBuilder  # noqa: F401
    except ImportError as e:
        raise ConfigurationError(
            f"the {backend} backend enforces the validation policy with the 'cryptography' "
            "package (version 45 or newer), which is not installed: "
            f"pip install 'tls_adapter[{backend}]'"
        ) from e


def _sources(store: TrustStore) -> tuple[tuple[str, str | bytes], ...]:
    """Where *store*'s anchors are: ``("file", path)``, ``("dir", path)`` or ``("pem", data)``.

    The system store is located as OpenSSL locates it (``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` are honoured), when the context is built.
    """
    if store.kind == "system":
        found = find_system_ca()
        sources: list[tuple[str, str | bytes]] = []
        if found.cafile:
            sources.append(("file", found.cafile))
        if found.capath:
            sources.append(("dir", found.capath))
        return tuple(sources)
    if store.kind == "buffer":
        data = store.pem_bytes()
        assert data is not None
        return (("pem", data),)
    assert store.path is not None
    return (("dir" if store.kind == "directory" else "file", store.path),)


@functools.lru_cache(maxsize=16)
def _read_source(kind: str, path: str, stamp: tuple[int, int]) -> tuple[bytes, ...]:
    """The certificates (DER) in a file or a directory's files, cached while unchanged."""
    paths = [path]
    if kind == "dir":
        paths = [os.path.join(path, entry) for entry in sorted(os.listdir(path))]
    found: dict[bytes, None] = {}
    for name in paths:
        if not os.path.isfile(name):
            continue
        with open(name, "rb") as f:
            for label, der in pem_blocks(f.read()):
                if label in ("CERTIFICATE", "TRUSTED CERTIFICATE"):
                    found[der] = None
    return tuple(found)


def _anchor_der(sources: tuple[tuple[str, str | bytes], ...]) -> list[bytes]:
    """The anchors' certificates (DER, without duplicates) from :func:`_sources`."""
    found: dict[bytes, None] = {}
    for kind, where in sources:
        if isinstance(where, bytes):
            found.update((der, None) for label, der in pem_blocks(where) if label == "CERTIFICATE")
            continue
        st = os.stat(where)
        found.update((der, None) for der in _read_source(kind, where, (st.st_mtime_ns, st.st_size)))
    return list(found)


def _ca_basic_constraints(policy: Any, cert: Any, value: Any) -> None:
    """An issuer's basicConstraints must assert ``cA`` (criticality is not required)."""
    if value is None or not value.ca:
        raise ValueError("basicConstraints.cA must be asserted in a CA certificate")


def _extension_policies(mode: str) -> tuple[Any, Any]:
    """``(ca_policy, ee_policy)`` for *mode*: the CA/B Forum defaults minus structural rules.

    *mode* is ``"server"`` (the leaf's subjectAltName must name the subject),
    ``"server-unnamed"`` (a server whose name is checked elsewhere or not at all: any
    subjectAltName still obeys name constraints, none is required) or ``"client"``.
    The purpose (serverAuth or clientAuth) is explicit in every extendedKeyUsage rule,
    so ``"server-unnamed"`` can run on the verifier that does not match names.
    """
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from cryptography.x509.verification import Criticality, ExtensionPolicy

    purpose = (
        ExtendedKeyUsageOID.CLIENT_AUTH if mode == "client" else ExtendedKeyUsageOID.SERVER_AUTH
    )

    def ee_eku(policy: Any, cert: Any, eku: Any) -> None:
        if eku is not None and purpose not in list(eku):
            raise ValueError(f"the leaf's extendedKeyUsage does not allow {purpose._name}")

    def ca_eku(policy: Any, cert: Any, eku: Any) -> None:
        if eku is None:
            return
        purposes = list(eku)
        if purpose not in purposes and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in purposes:
            raise ValueError(f"an issuer's extendedKeyUsage does not allow {purpose._name}")

    ca = (
        ExtensionPolicy.webpki_defaults_ca()
        .may_be_present(x509.SubjectKeyIdentifier, Criticality.NON_CRITICAL, None)
        .require_present(x509.BasicConstraints, Criticality.AGNOSTIC, _ca_basic_constraints)
        .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, ca_eku)
    )
    ee = (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.AuthorityKeyIdentifier, Criticality.NON_CRITICAL, None)
        .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, ee_eku)
        .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, _ee_leaf)
    )
    if mode == "server":
        ee = ee.require_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, _ee_names)
    else:
        ee = ee.may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    return ca, ee


def _ee_leaf(policy: Any, cert: Any, basic_constraints: Any) -> None:
    """The leaf is no CA, and its own key is strong (the verifier checks only issuers' keys).

    RSA needs 2048 bits, EC one of P-256, P-384 and P-521; Ed25519 and Ed448 are fine.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    if basic_constraints is not None and basic_constraints.ca:
        raise ValueError("basicConstraints.cA must not be asserted in a leaf certificate")
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError(f"the leaf's RSA key has {key.key_size} bits (2048 needed)")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise ValueError(f"the leaf's EC key is on {key.curve.name} (P-256 or larger needed)")
    elif not isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        raise ValueError(f"the leaf's key type is not allowed ({type(key).__name__})")


def _ee_names(policy: Any, cert: Any, san: Any) -> None:
    """The leaf's subjectAltName must name the policy's subject (criticality is free).

    DNS names follow the shared OpenSSL-strict matcher; IP addresses match exactly.
    """
    from cryptography import x509

    subject = policy.subject
    if isinstance(subject, x509.IPAddress):
        if subject.value in san.get_values_for_type(x509.IPAddress):
            return
    elif isinstance(subject, x509.DNSName):
        host = subject.value.lower()
        if any(dns_name_matches(p, host) for p in san.get_values_for_type(x509.DNSName)):
            return
    raise ValueError("leaf certificate has no matching subjectAltName")


class PeerCheck(Protocol):
    """What a context runs on its peer's chain after the library accepted it."""

    def verify(self, chain: Sequence[bytes], name: ServerName | None, server_side: bool) -> None:
        """Raise :class:`CertificateValidationError` unless *chain* (DER, leaf first) passes."""


class ChainPolicy:
    """The validation policy for one context's trust store (see the module docstring).

    :param trust_store: the anchors: the configuration's :class:`TrustStore`.
    :param backend: the backend's name, for messages.
    """

    __slots__ = ("_anchors", "_backend", "_builders", "_der", "_lock", "_trust_store")

    def __init__(self, trust_store: TrustStore, backend: str) -> None:
        require_policy_support(backend)
        self._trust_store = trust_store
        try:  # read now, like the library's own copy; parsed on first use
            self._der = _anchor_der(_sources(trust_store))
        except OSError as e:
            raise ConfigurationError(f"cannot read trust store {trust_store!r}: {e}") from e
        self._backend = backend
        self._anchors: Any = None
        self._builders: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def trust_store(self) -> TrustStore:
        """The trust store whose anchors this policy chains to."""
        return self._trust_store

    @property
    def anchor_der(self) -> list[bytes]:
        """The anchors' certificates (DER, without duplicates), as read when the policy
        was built: for a backend that hands its library the same anchors."""
        return list(self._der)

    def _policy_builder(self, mode: str) -> Any:
        builder = self._builders.get(mode)
        if builder is not None:
            return builder
        with self._lock:
            if mode not in self._builders:
                from cryptography.x509.verification import PolicyBuilder

                ca, ee = _extension_policies(mode)
                self._builders[mode] = (
                    PolicyBuilder()
                    .store(self._store())
                    .max_chain_depth(MAX_INTERMEDIATES)
                    .extension_policies(ca_policy=ca, ee_policy=ee)
                )
            return self._builders[mode]

    def _store(self) -> Any:
        """The anchors as a ``cryptography`` store, read once (call with the lock held)."""
        if self._anchors is None:
            from cryptography import x509
            from cryptography.utils import CryptographyDeprecationWarning
            from cryptography.x509.verification import Store

            anchors = []
            with warnings.catch_warnings():
                # Stores such as certifi's hold old roots with a negative serial, which
                # cryptography warns about; they are the store's business, not the
                # connection's (and they are not used unless a peer chains to them).
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                for der in self._der:
                    try:
                        anchors.append(x509.load_der_x509_certificate(der))
                    except ValueError:  # a block no verifier could use anchors nothing
                        continue
            if not anchors:
                raise CertificateValidationError(
                    f"the trust store {self._trust_store!r} holds no usable certificate"
                )
            self._anchors = Store(anchors)
        return self._anchors

    @classmethod
    def for_context(
        cls, configuration: TLSConfiguration, backend: str, server_side: bool
    ) -> ChainPolicy | None:
        """The policy a context of *configuration* applies to its peers, or ``None``.

        Clients validate servers unless ``validate_certificates`` is off (their anchors
        default to the system store); servers validate clients only when a trust store
        is configured (client certificates are then required).
        """
        if server_side:
            if configuration.trust_store is None:
                return None
            return cls(configuration.trust_store, backend)
        if not configuration.validate_certificates:
            return None
        store = configuration.trust_store
        return cls(store if store is not None else TrustStore.system(), backend)

    def verify(self, chain: Sequence[bytes], name: ServerName | None, server_side: bool) -> None:
        """Validate the peer's presented *chain*: a client's if *server_side*, else a server's.

        :raises CertificateValidationError: with the reason.
        """
        if server_side:
            self.verify_client(chain)
        else:
            self.verify_server(chain, name)

    def verify_server(self, chain: Sequence[bytes], name: ServerName | None) -> None:
        """Validate a server's presented *chain* (DER, leaf first) for *name*.

        With ``name`` ``None`` or ``name.check`` false, the name is not matched; every
        other rule still applies.

        :raises CertificateValidationError: with the reason.
        """
        leaf, intermediates = self._load(chain)
        from cryptography import x509

        try:
            if name is not None and name.check:
                assert name.name is not None
                subject = (
                    x509.IPAddress(name.ip) if name.ip is not None else x509.DNSName(name.name)
                )
                builder = self._policy_builder("server").time(_now())
                builder.build_server_verifier(subject).verify(leaf, intermediates)
            else:
                # cryptography's server verifier always matches a name; the one that does
                # not is its client verifier, here with serverAuth in every EKU rule.
                builder = self._policy_builder("server-unnamed").time(_now())
                builder.build_client_verifier().verify(leaf, intermediates)
        except Exception as e:
            raise self._failure(e, [leaf, *intermediates], name) from e

    def verify_client(self, chain: Sequence[bytes]) -> None:
        """Validate a client's presented *chain* (DER, leaf first) for ``clientAuth``.

        :raises CertificateValidationError: with the reason.
        """
        leaf, intermediates = self._load(chain)
        builder = self._policy_builder("client").time(_now())
        try:
            builder.build_client_verifier().verify(leaf, intermediates)
        except Exception as e:
            raise self._failure(e, [leaf, *intermediates], None) from e

    def _load(self, chain: Sequence[bytes]) -> tuple[Any, list[Any]]:
        from cryptography import x509

        if not chain:
            raise CertificateValidationError("the peer sent no certificate")
        try:
            certs = [x509.load_der_x509_certificate(bytes(der)) for der in chain]
        except ValueError as e:
            raise CertificateValidationError(f"the peer's certificate is malformed: {e}") from e
        return certs[0], certs[1 : 1 + MAX_INTERMEDIATES + 1]

    def _failure(
        self, exc: Exception, certs: Sequence[Any], name: ServerName | None
    ) -> CertificateValidationError:
        from cryptography.x509.verification import VerificationError

        if isinstance(exc, CertificateValidationError):
            return exc
        if isinstance(exc, VerificationError):
            if self._self_signed(certs):
                # Said as OpenSSL says it: the verifier's own complaint about such a
                # certificate (a CA used as a leaf, say) hides the real trouble.
                return CertificateValidationError(
                    f"validation policy: self-signed certificate ({_message(str(exc))})",
                    verify_code=VerifyCode.DEPTH_ZERO_SELF_SIGNED_CERT,
                )
            code = _verify_code(str(exc), certs, name)
            return CertificateValidationError(_reason(str(exc), code), verify_code=code)
        if isinstance(exc, (ValueError, TypeError)):
            return CertificateValidationError(f"the peer's certificate is unusable: {exc}")
        raise exc

    def _self_signed(self, certs: Sequence[Any]) -> bool:
        """Whether the peer presented one self-issued certificate that is no anchor."""
        if len(certs) != 1 or certs[0].issuer != certs[0].subject:
            return False
        from cryptography.hazmat.primitives.serialization import Encoding

        return certs[0].public_bytes(Encoding.DER) not in self._der

    def __repr__(self) -> str:
        return f"<ChainPolicy {self._trust_store!r} ({self._backend})>"


# What the verifier's message is about, as an X509_V_ERR_* code. cryptography reports a
# failed validation only as text (VerificationError carries no structured reason), so
# this is the one place in the package where a code is found by matching text: the
# first fragment (cryptography's words, or those of the validators above) that occurs
# in the message wins, most specific first. Dates and names are told apart below.
_VERIFIER_CODES: tuple[tuple[str, int | None], ...] = (
    ("not valid at validation time", None),  # expired or not yet valid: see _verify_code
    ("no matching subjectAltName", VerifyCode.HOSTNAME_MISMATCH),
    ("has no subjectAltName", VerifyCode.HOSTNAME_MISMATCH),
    ("extendedKeyUsage does not allow", VerifyCode.INVALID_PURPOSE),
    ("Neither EKU nor anyEKU", VerifyCode.INVALID_PURPOSE),
    ("cA must not be asserted", VerifyCode.INVALID_NON_CA),
    ("cA must be asserted", VerifyCode.INVALID_CA),
    ("CA certificate has no basicConstraints", VerifyCode.INVALID_CA),
    ("path length constraint violated", VerifyCode.PATH_LENGTH_EXCEEDED),
    ("must not assert keyCertSign", VerifyCode.KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA),
    ("keyCertSign must be asserted", VerifyCode.KEYUSAGE_NO_CERTSIGN),
    ("the leaf's RSA key", VerifyCode.EE_KEY_TOO_SMALL),
    ("the leaf's EC key", VerifyCode.EE_KEY_TOO_SMALL),
    ("the leaf's key type", VerifyCode.EE_KEY_TOO_SMALL),
    ("Forbidden public key algorithm", VerifyCode.CA_KEY_TOO_SMALL),
    ("Forbidden signature algorithm", VerifyCode.CA_MD_TOO_WEAK),
    ("unaccounted-for critical extensions", VerifyCode.UNHANDLED_CRITICAL_EXTENSION),
    ("no permitted name constraints matched", VerifyCode.PERMITTED_VIOLATION),
    ("excluded name constraint matched", VerifyCode.EXCLUDED_VIOLATION),
    ("unsupported name constraint", VerifyCode.UNSUPPORTED_CONSTRAINT_TYPE),
    ("invalid extension", VerifyCode.INVALID_EXTENSION),
    ("candidates exhausted with no interior errors", VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
    # No anchor within the depth limit (a presented self-signed root that is no anchor
    # loops until then): OpenSSL's "certificate chain too long", unknown_ca's alert.
    ("chain construction exceeds max depth", VerifyCode.CERT_CHAIN_TOO_LONG),
)


def _verify_code(message: str, certs: Sequence[Any], name: ServerName | None) -> int | None:
    """The ``X509_V_ERR_*`` code for the verifier's *message* (``None``: not known).

    Which date failed comes from the presented certificates (*certs*, leaf first), and
    whether the name was an IP address from *name*, rather than from the message.
    """
    for fragment, code in _VERIFIER_CODES:
        if fragment not in message:
            continue
        if code == VerifyCode.HOSTNAME_MISMATCH and name is not None and name.ip is not None:
            return VerifyCode.IP_ADDRESS_MISMATCH
        if code is None:  # the verifier does not say which certificate, nor which date
            return date_failure(certs)
        return code
    return None


def date_failure(certs: Sequence[Any]) -> int:
    """Expired or not yet valid: the first presented certificate outside its dates says
    which (an anchor's dates, not presented, count as expiry)."""
    now = _now()
    for cert in certs:
        if now > cert.not_valid_after_utc:
            return VerifyCode.CERT_HAS_EXPIRED
        if now < cert.not_valid_before_utc:
            return VerifyCode.CERT_NOT_YET_VALID
    return VerifyCode.CERT_HAS_EXPIRED


def _message(message: str) -> str:
    """The verifier's message, without its prefixes and the certificate's repr."""
    for noise in ("validation failed: ", "Python extension validator failed: ", "ValueError: "):
        message = message.replace(noise, "")
    return message.split(" (encountered processing <Certificate(", 1)[0]


def _reason(message: str, code: int | None = None) -> str:
    """The verifier's message (:func:`_message`) and OpenSSL's words for *code*."""
    message = _message(message)
    words = describe(code)
    return f"validation policy: {message}" + (f" ({words})" if words else "")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


#: EC curves the policy allows: P-256, P-384, P-521.
_STRONG_CURVES = frozenset({"1.2.840.10045.3.1.7", "1.3.132.0.34", "1.3.132.0.35"})
_EC_PUBLIC_KEY = "1.2.840.10045.2.1"


def ec_curve_oid(der: bytes) -> str | None:
    """The named curve of an EC certificate's key (dotted OID), ``None`` for other keys.

    :raises ValueError: the certificate is malformed.
    """
    fields = _tbs_fields(der)
    if fields and fields[0].tag == 0xA0:  # [0] EXPLICIT version
        fields = fields[1:]
    if len(fields) < 6:
        raise ValueError("tbsCertificate: no subjectPublicKeyInfo")
    algorithm = fields[5].children()[0].children()
    if _oid(algorithm[0]) != _EC_PUBLIC_KEY:
        return None
    if len(algorithm) < 2 or algorithm[1].tag != 0x06:
        return "explicit-parameters"
    return _oid(algorithm[1])


class SecurityLevelGaps:
    """The two policy rules OpenSSL lacks at security level 2, for the ``ssl`` backend.

    OpenSSL's verifier (with the settings of :mod:`ssl` and ``VERIFY_X509_STRICT``)
    enforces the rest of the policy itself, and the OpenSSL backend does not need
    ``cryptography``. It accepts a CA certificate as the leaf, and EC keys on curves
    of 112-bit strength (P-224). Both are checked here, with the package's own DER
    reader, on the chain OpenSSL verified.
    """

    __slots__ = ()

    def verify(self, chain: Sequence[bytes], name: ServerName | None, server_side: bool) -> None:
        """Reject a CA leaf, and EC keys below P-256 anywhere in the verified *chain*."""
        if not chain:
            raise CertificateValidationError("the peer sent no certificate")
        failure = _gaps_failure(tuple(chain))
        if failure is not None:
            reason, code = failure
            raise CertificateValidationError(reason, verify_code=code)


@functools.lru_cache(maxsize=256)
def _gaps_failure(chain: tuple[bytes, ...]) -> tuple[str, int] | None:
    """``(reason, verify_code)`` if *chain* breaks one of the two rules, else ``None``.

    A pure function of the chain's bytes (no clock, no configuration), so its verdicts
    are cached: a client reconnecting to the same server does not parse the same
    certificates again on every handshake. The cache cannot change a verdict.
    """
    try:
        leaf_is_ca = is_ca_certificate(chain[0])
        curves = [ec_curve_oid(der) for der in chain]
    except Exception as e:  # OpenSSL parsed these already; a reader's error fails closed
        return f"the peer's chain is malformed: {e!r}", VerifyCode.UNSPECIFIED
    if leaf_is_ca:
        return (
            "validation policy: the leaf is a CA certificate (basicConstraints cA)",
            VerifyCode.INVALID_NON_CA,
        )
    for depth, curve in enumerate(curves):
        if curve is not None and curve not in _STRONG_CURVES:
            code = VerifyCode.CA_KEY_TOO_SMALL if depth else VerifyCode.EE_KEY_TOO_SMALL
            return f"validation policy: an EC key on curve {curve} (P-256 or larger needed)", code
    return None
