"""The GnuTLS backend: the system ``libgnutls``, driven through ctypes (``_gnutls_ffi``).

Each context builds its GnuTLS objects once, in the constructor: one
``gnutls_certificate_credentials_t`` (trust anchors and the own chain) and one parsed
``gnutls_priority_t`` (versions and cipher suites). Every connection is a new
``gnutls_session_t`` that shares them: over memory buffers for ``wrap_buffers``, and
attached to the socket's descriptor for ``wrap_socket`` (``gnutls_transport_set_int2``:
GnuTLS's own ``recv``/``send``, driven by ``tls_adapter._socket.DescriptorSocket``, so
no ciphertext passes through Python). GnuTLS reads each record's header, then its body,
so it never takes more from the kernel than the record it decrypts, and a
``close_notify`` that follows a response stays there for liveness checks. A failed
``recv``/``send`` raises its :class:`OSError` (``ConnectionResetError``,
``BrokenPipeError``), as :mod:`ssl` does.

How the configuration maps onto GnuTLS:

* **Trust.** ``TrustStore.system()`` is GnuTLS's own system store
  (``gnutls_certificate_set_x509_system_trust``), or, when ``SSL_CERT_FILE`` or
  ``SSL_CERT_DIR`` is set, exactly what they name (as with the OpenSSL backends); it is
  loaded once per context. Files, ``certifi``, hashed directories and buffers are
  loaded as given.
* **Verification** runs inside the handshake and is done by GnuTLS itself: the chain
  and dates always (unless ``validate_certificates=False``), plus the DNS name or IP
  address when the client checks the hostname. IP literals are never sent as SNI.
  GnuTLS runs at its strictest usable setting: it verifies the chain for the key
  purpose of the peer's role (extendedKeyUsage serverAuth for servers, clientAuth for
  client certificates) under its MEDIUM verification profile (no RSA key under 2048
  bits, no EC key under 224 bits, no SHA-1 or MD5 signature; HIGH would refuse
  RSA-2048). The backend-neutral validation policy then checks the presented chain as
  well (what GnuTLS lets pass: a leaf with only anyExtendedKeyUsage, P-224, ...). A
  peer certificate GnuTLS refuses outside that verification (one it cannot parse, or a
  keyUsage that does not allow the handshake's use of its key) is a
  :class:`CertificateValidationError` too.
* **Versions** TLS 1.0 to 1.3 (TLS 1.0/1.1 only with a cipher list that has suites for
  them: the default list is AEAD-only, so they are left out). SSL 3.0 is refused.
* **Ciphers.** GnuTLS priority strings enable the cross product of key exchange x
  cipher x MAC keywords, so not every list can be expressed. A list that would also
  enable suites nobody asked for is refused with :class:`ConfigurationError` naming
  them (fail closed). One exception keeps the default working: a TLS 1.3 suite whose
  cipher would drag in unrequested TLS 1.2 suites (the CCM suites next to ECDHE-ECDSA)
  is not offered instead. Suites GnuTLS does not know are not offered; a version left
  without any suite is switched off, and a configuration left without any is refused.
* **ALPN** at most 8 protocols of 1..31 bytes (GnuTLS 3.7 limits, and its ALPN
  extension cannot be replaced); more is refused.
* **Client certificates.** A client presents its chain whenever the server asks (like
  OpenSSL); plain GnuTLS would only send one whose issuer the server names. A server
  with a ``trust_store`` requires and verifies one.
* **sni_callback** runs from GnuTLS's post-ClientHello hook, once per connection. A
  different configuration it returns gets its own cached context whose credentials
  (chain and key, trust anchors) and client-certificate policy the connection switches
  to; versions, ciphers and ALPN keep the original configuration's values.
* **Session resumption** (clients, TLS 1.2 and 1.3): a session is the
  ``gnutls_session_get_data2`` bytes (TLS 1.3: once the server's ticket has arrived),
  offered with ``gnutls_session_set_data``. A resumed handshake carries no certificate,
  so neither GnuTLS nor the validation policy checks one (the session was validated
  when it was made); a declined offer is a full handshake, validated in full.

Errors are translated at one boundary, :func:`_translate`.
"""

from __future__ import annotations

import os

from .._api import ServerName
from .._ciphers import DEFAULT_CIPHER_LIST, cipher_suite_name
from .._config import TLSConfiguration
from .._enums import TLSVersion, protocol_bytes, version_rank
from .._errors import ConfigurationError
from .._trust import Certificate, PrivateKey, TrustStore
from . import Capabilities, _capability_row, _make_backend
from . import _gnutls_ffi as _ffi
from ._ffi_buffer import FFIBuffer, FFIClientContext, FFIErrors, FFIServerContext
from ._server import SNIDispatch, check_server_configuration, key_error, key_password

__all__ = ["BACKEND", "GnuTLSBuffer", "GnuTLSClientContext", "GnuTLSServerContext"]

_NAME = "gnutls"
_TLS13 = 5  # gnutls_protocol_t of TLS 1.3
_E_KEY_MISMATCH = -60  # GNUTLS_E_CERTIFICATE_KEY_MISMATCH
#: Our versions, lowest first, with GnuTLS's protocol number and the ffi's name.
_VERSIONS: dict[TLSVersion, tuple[int, str]] = {
    TLSVersion.TLSv1: (2, "TLSv1"),
    TLSVersion.TLSv1_1: (3, "TLSv1.1"),
    TLSVersion.TLSv1_2: (4, "TLSv1.2"),
    TLSVersion.TLSv1_3: (5, "TLSv1.3"),
}
_BY_NAME = {name: version for version, (_, name) in _VERSIONS.items()}
_ALPN_MAX_PROTOCOLS, _ALPN_MAX_NAME = 8, 31


#: The error boundary: the binding's exceptions, translated once.
_ERRORS = FFIErrors(
    _NAME,
    want_read=_ffi.WantRead,
    want_write=_ffi.WantWrite,
    ragged_eof=_ffi.RaggedEOFError,
    certificate=(_ffi.VerifyError, _ffi.PeerCertificateError),
    failure=(_ffi.GnuTLSError, ValueError),
)
_translate = _ERRORS.translate


# -- building: versions and ciphers -----------------------------------------------------
def _usable(info: _ffi.CipherSuite, protocol: int) -> bool:
    """Whether a GnuTLS suite can be negotiated in *protocol* (a gnutls_protocol_t)."""
    if protocol == _TLS13:
        return info.min_version == _TLS13
    return info.min_version <= protocol and info.min_version < _TLS13


def _version_range(config: TLSConfiguration) -> list[TLSVersion]:
    """The configured versions this backend can speak, lowest first (refusing none)."""
    for field, version in (
        ("lowest_supported_version", config.lowest_supported_version),
        ("highest_supported_version", config.highest_supported_version),
    ):
        if version in (TLSVersion.SSLv2, TLSVersion.SSLv3):
            raise ConfigurationError(
                f"the {_NAME} backend does not support {field}={version.name} "
                "(this GnuTLS has no SSL 2/3)"
            )
    low, high = (
        version_rank(config.lowest_supported_version),
        version_rank(config.highest_supported_version),
    )
    versions = [v for v in _VERSIONS if low <= version_rank(v) <= high]
    if not versions:  # pragma: no cover - every valid range holds a TLS version
        raise ConfigurationError(f"the {_NAME} backend has no TLS version in the range")
    return versions


def _plan(config: TLSConfiguration, server_side: bool) -> _ffi.PriorityPlan:
    """The GnuTLS priority for *config*'s versions and ciphers, exactly or not at all."""
    table = _ffi.cipher_suite_table()
    requested = [int(c) for c in (config.ciphers or DEFAULT_CIPHER_LIST)]
    known = [table[c] for c in requested if c in table]
    # Switch off the versions that none of the allowed suites can be used with.
    versions = [
        v for v in _version_range(config) if any(_usable(s, _VERSIONS[v][0]) for s in known)
    ]
    if not versions:
        raise ConfigurationError(
            f"the {_NAME} backend can use none of the configured ciphers with TLS "
            f"{config.lowest_supported_version.name}..{config.highest_supported_version.name}"
        )
    low, high = _VERSIONS[versions[0]][1], _VERSIONS[versions[-1]][1]
    with _translate("use the configured TLS versions and ciphers"):
        plan = _ffi.build_priority(low, high, requested, server_precedence=server_side)
        if plan.extra:
            # TLS 1.3 suites name only a cipher, which GnuTLS also combines with every
            # allowed TLS 1.2 key exchange. Rather than enable unrequested TLS 1.2 suites,
            # do not offer such a TLS 1.3 suite (it was allowed, not required).
            tls12_ciphers = {s.cipher for s in known if s.min_version < _TLS13}
            extra_ciphers = {table[e].cipher for e in plan.extra if e in table}
            dropped = {
                s.id
                for s in known
                if s.min_version == _TLS13
                and s.cipher in extra_ciphers
                and s.cipher not in tls12_ciphers
            }
            if dropped:
                plan = _ffi.build_priority(
                    low,
                    high,
                    [c for c in requested if c not in dropped],
                    server_precedence=server_side,
                )
    if plan.extra:
        listed = ", ".join(cipher_suite_name(s) for s in plan.extra)
        raise ConfigurationError(
            f"the {_NAME} backend cannot allow exactly the configured ciphers: GnuTLS "
            f"priority strings would also enable {listed}; allow them too, or remove the "
            "suites that combine into them"
        )
    for name in plan.versions:
        number = _VERSIONS[_BY_NAME[name]][0]
        if not any(_usable(table[s], number) for s in plan.suites if s in table):
            raise ConfigurationError(
                f"the {_NAME} backend would have no usable cipher suite for {name}: GnuTLS "
                "does not enable any of the configured suites for it"
            )
    return plan


def _check_alpn(config: TLSConfiguration) -> list[bytes]:
    protocols = [protocol_bytes(p) for p in config.inner_protocols]
    if len(protocols) > _ALPN_MAX_PROTOCOLS:
        raise ConfigurationError(
            f"the {_NAME} backend can offer at most {_ALPN_MAX_PROTOCOLS} ALPN protocols "
            f"(inner_protocols has {len(protocols)})"
        )
    for protocol in protocols:
        if len(protocol) > _ALPN_MAX_NAME:
            raise ConfigurationError(
                f"the {_NAME} backend can offer ALPN protocols (inner_protocols) of at most "
                f"{_ALPN_MAX_NAME} bytes, not {len(protocol)} ({protocol[:16]!r}...)"
            )
    return protocols


# -- building: credentials --------------------------------------------------------------
def _load_system_trust(credentials: _ffi.Credentials) -> int:
    """GnuTLS's system store, or what ``SSL_CERT_FILE``/``SSL_CERT_DIR`` name (as OpenSSL)."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    if cafile is None and capath is None:
        return credentials.load_system_trust()
    count = 0
    if cafile is not None:
        if not os.path.isfile(cafile) and capath is None:
            raise ConfigurationError(
                f"the {_NAME} backend cannot load the system trust store: SSL_CERT_FILE "
                f"names {cafile!r}, which is not a file"
            )
        if os.path.isfile(cafile):
            count += credentials.load_trust_file(cafile)
    if capath is not None:
        for directory in capath.split(os.pathsep):
            if os.path.isdir(directory):
                count += credentials.load_trust_dir(directory)
        # Like OpenSSL's lookup directory, an empty SSL_CERT_DIR is not an error: it
        # trusts nothing, so every handshake fails validation (closed).
        return max(count, 1)
    return count


def _load_trust(credentials: _ffi.Credentials, store: TrustStore) -> None:
    with _translate(f"load trust store {store!r}"):
        if store.kind == "system":
            count = _load_system_trust(credentials)
        elif store.kind == "directory":
            assert store.path is not None
            credentials.load_trust_dir(store.path)
            return  # an empty directory trusts nothing, which fails closed
        elif store.kind == "buffer":
            pem = store.pem_bytes()
            assert pem is not None
            count = credentials.load_trust_mem(pem)
        else:  # "file" and "certifi"
            assert store.path is not None
            count = credentials.load_trust_file(store.path)
    if count <= 0:
        raise ConfigurationError(
            f"the {_NAME} backend found no CA certificate in trust store {store!r}"
        )


def _load_chain(
    credentials: _ffi.Credentials,
    chain: tuple[tuple[Certificate, ...], PrivateKey],
    *,
    client: bool,
) -> None:
    """Load the chain and key from memory; the key never touches a disk.

    A client presents its chain whenever the server asks (like OpenSSL), not only when
    the server's list of acceptable CAs names its issuer (GnuTLS's own rule).
    """
    certs, key = chain
    password = key_password(key, _NAME)
    try:
        credentials.load_cert_chain_mem(
            b"".join(c.to_pem() for c in certs), key.to_pem(), password, always_send=client
        )
    except _ffi.GnuTLSError as e:
        mismatch = e.code == _E_KEY_MISMATCH
        raise key_error(_NAME, str(e), encrypted=key.encrypted, mismatch=mismatch) from e


# -- connections ------------------------------------------------------------------------
class GnuTLSBuffer(FFIBuffer):
    """A TLS connection: one GnuTLS session, over memory (custom transport callbacks) or
    attached to a socket's descriptor."""

    _errors = _ERRORS
    _versions = _BY_NAME


# -- contexts ---------------------------------------------------------------------------
class GnuTLSClientContext(FFIClientContext):
    """A client context: GnuTLS credentials and priority built once, here.

    Connections can offer a session for resumption: its handle is the
    ``gnutls_session_get_data2`` bytes, given to ``gnutls_session_set_data``.
    """

    _buffer_type = GnuTLSBuffer
    _resumes = True

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        config = self._configuration
        self._alpn = _check_alpn(config)
        self._plan = _plan(config, server_side=False)
        with _translate("parse the GnuTLS priority string"):
            self._priority = _ffi.Priority(self._plan.string)
            self._credentials = _ffi.Credentials()
        if config.validate_certificates:
            store = config.trust_store if config.trust_store is not None else TrustStore.system()
            _load_trust(self._credentials, store)
        if config.certificate_chain is not None:
            _load_chain(self._credentials, config.certificate_chain, client=True)

    def _session(
        self, name: ServerName, fd: int | None = None, resume: object = None
    ) -> _ffi.Session:
        """A GnuTLS session over memory buffers (or the descriptor *fd*), verifying what
        *name* asks for, offering the resumption data *resume* if given."""
        if not self._configuration.validate_certificates:
            verify = _ffi.VerifyMode.NONE
        elif name.check:
            verify = _ffi.VerifyMode.HOSTNAME
        else:
            verify = _ffi.VerifyMode.CHAIN
        return _ffi.Session(
            self._credentials,
            server_side=False,
            priority=self._priority,
            verify=verify,
            server_hostname=name.name,
            alpn_protocols=self._alpn,
            fd=fd,
            resume=resume if isinstance(resume, bytes) else None,
        )


class GnuTLSServerContext(FFIServerContext):
    """A server context: GnuTLS credentials and priority built once, here.

    With an ``sni_callback``, a different configuration the callback returns gets its
    own cached context, and the connection switches to that context's credentials
    (certificate chain and key, client-certificate trust anchors) and client-certificate
    policy. TLS versions, ciphers and ALPN keep the original values.
    """

    _buffer_type = GnuTLSBuffer

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        config = self._configuration
        check_server_configuration(config, _NAME)
        self._alpn = _check_alpn(config)
        if config.trust_store is not None:
            self._client_cert, self._verify = _ffi.CertRequest.REQUIRE, _ffi.VerifyMode.CHAIN
        else:
            self._client_cert, self._verify = _ffi.CertRequest.NONE, _ffi.VerifyMode.NONE
        self._plan = _plan(config, server_side=True)
        with _translate("parse the GnuTLS priority string"):
            self._priority = _ffi.Priority(self._plan.string)
            self._credentials = _ffi.Credentials()
        if config.trust_store is not None:
            _load_trust(self._credentials, config.trust_store)
        if config.certificate_chain is not None:
            _load_chain(self._credentials, config.certificate_chain, client=False)
        if config.sni_callback is not None:
            self._sni = SNIDispatch(config, type(self))

    def _switch(
        self, session: _ffi.Session, derived: GnuTLSServerContext
    ) -> _ffi.Credentials | None:
        """Point *session* at *derived*'s credentials and client-certificate policy."""
        if (derived._client_cert, derived._verify) != (self._client_cert, self._verify):
            session.set_client_cert_policy(derived._client_cert, derived._verify)
        return derived._credentials

    def _session(self, sni_hook: _ffi.SNICallback | None, fd: int | None = None) -> _ffi.Session:
        """A GnuTLS session over memory buffers (or the descriptor *fd*)."""
        return _ffi.Session(
            self._credentials,
            server_side=True,
            priority=self._priority,
            verify=self._verify,
            alpn_protocols=self._alpn,
            client_cert=self._client_cert,
            sni_callback=sni_hook,
            fd=fd,
        )


# -- the backend ------------------------------------------------------------------------


def _capabilities() -> Capabilities:
    return _capability_row(
        f"GnuTLS {_ffi.library_version()} (system, ctypes)",
        tuple(_VERSIONS),
        cipher_control="all",
        native_socket=True,
        session_resumption=True,
        system_trust=(
            "GnuTLS's system store (gnutls_certificate_set_x509_system_trust), or the "
            "SSL_CERT_FILE/SSL_CERT_DIR locations when set (as OpenSSL), loaded once per "
            "context"
        ),
        notes=(
            "native sockets: GnuTLS reads and writes the descriptor itself "
            "(gnutls_transport_set_int2), one record at a time; wrap_buffers runs over "
            "memory",
            "ciphers: GnuTLS enables key exchange x cipher x MAC combinations, so a list "
            "that would also enable unrequested suites is refused (naming them); a TLS 1.3 "
            "suite that would drag in unrequested TLS 1.2 suites is not offered; suites are "
            "ordered by GnuTLS (cipher, then key exchange), not strictly by the list",
            "TLS 1.0/1.1 need a cipher list with suites for them (the default is AEAD-only)",
            f"ALPN: at most {_ALPN_MAX_PROTOCOLS} protocols of 1..{_ALPN_MAX_NAME} bytes",
            "TLS 1.3: a server's rejection of the client certificate shows at the "
            "client's first read",
            "sni_callback can switch the certificate chain and client authentication; TLS "
            "versions, ciphers and ALPN keep their values",
            "host names are matched by GnuTLS against the subjectAltName only (its "
            "fallback to the subject CN is switched off, as with OpenSSL)",
            "GnuTLS verifies for the peer's key purpose (serverAuth, or clientAuth for "
            "client certificates) under its MEDIUM verification profile (RSA >= 2048 "
            "bits, EC >= 224 bits, no SHA-1/MD5), before the validation policy runs",
            "session resumption (clients, TLS 1.2 and 1.3): session() is the "
            "gnutls_session_get_data2 state, kept in memory, offered with "
            "gnutls_session_set_data (TLS 1.3: available once the server's ticket has "
            "arrived; TLS 1.2: session ID or ticket); a resumed handshake runs no "
            "certificate check (getpeercert() is the leaf GnuTLS kept from the original "
            "handshake), a declined offer is a full, fully validated handshake; lifetime "
            "300 s (GnuTLS does not report the ticket's); using a TLS 1.3 session once "
            "is the caller's job",
        ),
    )


#: The GnuTLS backend.
BACKEND = _make_backend(_NAME, GnuTLSClientContext, GnuTLSServerContext, _capabilities())
