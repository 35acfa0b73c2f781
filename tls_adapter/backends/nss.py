"""The NSS backend: the system NSS (``libssl3``/``libnss3``/``libnspr4``), driven through
ctypes (``_nss_ffi``).

NSS is initialised once per process without any database (``NSS_InitContext`` with
no certificate, key or module database and no built-in roots), so nothing of a user's
NSS profile is read or written. Each context builds an NSS *model socket* once, in the
constructor (options, versions, cipher suites, ALPN, server certificate), plus its own
trust anchors and key; every connection is a new SSL socket imported from that model
(``SSL_ImportFD``): over an NSPR I/O layer of ours that reads and writes memory for
``wrap_buffers``, and over an NSPR socket on the socket's own descriptor for
``wrap_socket`` (``PR_ImportTCPSocket``: NSS reads and writes the descriptor itself,
one record at a time, driven by :class:`~tls_adapter._socket.DescriptorSocket`, so no
ciphertext passes through Python; the descriptor stays the socket's).

How the configuration maps onto NSS:

* **Trust.** The context's anchors are read from the trust store once, when the
  context is built, by its validation policy (``TrustStore.system()``: the CA bundle
  and/or directory OpenSSL uses, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``), which hands
  the same certificates to NSS, kept in the context's own list of temporary,
  untrusted certificates. The peer's chain is checked in NSS's certificate
  hook, in the handshake: first the validation policy
  (:class:`~tls_adapter._policy.ChainPolicy`) on the chain as presented, then NSS's
  ``CERT_PKIXVerifyCert`` against exactly the context's anchors (no process-wide
  trust, no revocation fetching), for serverAuth or clientAuth, and
  ``CERT_VerifyCertName``. The policy goes first because NSS's path builder has no
  work limit (x509-limbo's name-constraint denial-of-service chains make it run
  without end); a verdict never depends on a certificate another connection or
  context brought. Certificates NSS cannot parse are skipped (trusts less, never
  more); a store left without any anchor is refused with :class:`ConfigurationError`.
* **Keys** are decrypted with ``cryptography`` (a wrong password fails when the context
  is built) and imported into NSS's internal slot as session objects (never
  permanent), owned by the context.
* **Versions** TLS 1.2 and 1.3. A range that holds neither is refused; a range that
  also holds older versions is narrowed to these.
* **Ciphers** map one-to-one onto NSS's suites (``SSL_CipherPrefSet``), in the
  configured order (``SSL_CipherSuiteOrderSet``). Suites NSS does not implement are
  not offered; a version left without any suite is switched off, and a configuration
  left without any is refused.
* **ALPN** (``SSL_SetNextProtoNego``).
* **Client certificates.** A server with a ``trust_store`` requires and verifies one;
  a client hands its chain out from ``SSL_GetClientAuthDataHook``.
* **sni_callback** runs from NSS's SNI hook (``SSL_SNISocketConfigHook``), when the
  client sent a server name; without one, before the handshake goes on (the first
  handshake step runs it). A different configuration it returns gets its own cached
  context that the connection switches to (``SSL_ReconfigFD``): certificate chain and
  key, client-certificate policy and anchors.
* **Sessions** are not resumed: NSS's session cache is process-wide and keyed by the
  peer's address, so it is switched off (``SSL_NO_CACHE``) on every socket.

Errors are translated at one boundary, :func:`_translate`.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .._api import ServerName
from .._ciphers import DEFAULT_CIPHER_LIST
from .._config import TLSConfiguration
from .._enums import TLSVersion, protocol_bytes
from .._errors import ConfigurationError
from .._policy import ChainPolicy
from .._trust import Certificate, PrivateKey
from . import Capabilities, _capability_row, _make_backend
from . import _nss_ffi as _ffi
from ._ffi_buffer import (
    FFIBuffer,
    FFIClientContext,
    FFIErrors,
    FFIServerContext,
    versions_in_range,
)
from ._server import SNIDispatch, check_server_configuration, decrypted_pkcs8, key_error

__all__ = ["BACKEND", "NSSBuffer", "NSSClientContext", "NSSServerContext"]

_NAME = "nss"
#: Our versions, lowest first, with the binding's name for them.
_VERSIONS: dict[TLSVersion, str] = {
    TLSVersion.TLSv1_2: "TLSv1.2",
    TLSVersion.TLSv1_3: "TLSv1.3",
}
_BY_NAME = {name: version for version, name in _VERSIONS.items()}

#: The error boundary: the binding's exceptions, translated once.
_ERRORS = FFIErrors(
    _NAME,
    want_read=_ffi.WantRead,
    want_write=_ffi.WantWrite,
    ragged_eof=_ffi.RaggedEOFError,
    certificate=(_ffi.VerifyError,),
    failure=(_ffi.NSSError, ValueError, MemoryError),
)
_translate = _ERRORS.translate


# -- building ---------------------------------------------------------------------------
def _version_range(config: TLSConfiguration) -> list[TLSVersion]:
    """The configured versions this backend can speak, lowest first."""
    return versions_in_range(config, _NAME, _VERSIONS)


def _configure(context: _ffi.Context, config: TLSConfiguration) -> list[TLSVersion]:
    """Versions, cipher suites and ALPN; returns the versions the context can negotiate."""
    implemented = set(_ffi.implemented_ciphers())
    requested = [int(c) for c in (config.ciphers or DEFAULT_CIPHER_LIST)]
    suites = [c for c in dict.fromkeys(requested) if c in implemented]
    versions = [
        v
        for v in _version_range(config)
        if any((s >> 8 == 0x13) == (v is TLSVersion.TLSv1_3) for s in suites)
    ]
    if not versions:
        raise ConfigurationError(
            f"the {_NAME} backend can use none of the configured ciphers with TLS "
            f"{config.lowest_supported_version.name}..{config.highest_supported_version.name}"
        )
    with _translate("use the configured TLS versions, ciphers and ALPN protocols"):
        context.set_versions(_VERSIONS[versions[0]], _VERSIONS[versions[-1]])
        context.set_ciphers(suites)
        context.set_alpn([protocol_bytes(p) for p in config.inner_protocols])
    return versions


def _load_trust(context: _ffi.Context, policy: ChainPolicy) -> None:
    """Give *context* the anchors the context's validation *policy* read (its trust
    store, read once); a store with no anchor NSS can use is refused."""
    with _translate(f"load trust store {policy.trust_store!r}"):
        loaded = context.load_anchors(policy.anchor_der)
    if not loaded:
        raise ConfigurationError(
            f"the {_NAME} backend found no usable CA certificate in {policy.trust_store!r}"
        )


def _load_chain(context: _ffi.Context, chain: tuple[tuple[Certificate, ...], PrivateKey]) -> None:
    """Load the chain and key from memory; the key never touches a disk."""
    certs, key = chain
    loaded, pkcs8 = decrypted_pkcs8(key, _NAME)
    if not _key_matches(loaded, certs[0]):  # NSS itself would only fail the handshake
        raise key_error(_NAME, encrypted=key.encrypted, mismatch=True)
    try:
        context.use_chain([c.to_der() for c in certs], pkcs8)
    except _ffi.NSSError as e:
        raise key_error(_NAME, str(e), encrypted=False) from e


def _key_matches(key: Any, leaf: Certificate) -> bool:
    """Whether *key* (a ``cryptography`` private key) belongs to *leaf*."""
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    try:
        cert = x509.load_der_x509_certificate(leaf.to_der())
        return bool(cert.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki))
    except (ValueError, TypeError):
        return False


# -- connections ------------------------------------------------------------------------
class NSSBuffer(FFIBuffer):
    """A TLS connection: one NSS SSL socket over our memory I/O layer."""

    _errors = _ERRORS
    _versions = _BY_NAME


# -- contexts ---------------------------------------------------------------------------
class NSSClientContext(FFIClientContext):
    """A client context: one NSS model socket built here, copied by its connections."""

    _buffer_type = NSSBuffer

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        config = self._configuration
        if config.sni_callback is not None:
            raise ConfigurationError(f"the {_NAME} backend: sni_callback is for servers")
        with _translate("create an NSS context"):
            self._context = _ffi.Context(server_side=False)
        self._context.policy = self._policy
        _configure(self._context, config)
        if self._policy is not None:  # validate_certificates: its trust store, or the system's
            _load_trust(self._context, self._policy)
            self._context.verify_peer(require=False)
        if config.certificate_chain is not None:
            _load_chain(self._context, config.certificate_chain)

    def _session(
        self, name: ServerName, fd: int | None = None, resume: object = None
    ) -> _ffi.Session:
        """An NSS SSL socket over memory (or the descriptor *fd*), checking the name
        *name* asks for (when the context validates at all)."""
        return _ffi.Session(self._context, name=name, fd=fd)


class NSSServerContext(FFIServerContext):
    """A server context: one NSS model socket built here, copied by its connections.

    With an ``sni_callback``, a different configuration the callback returns gets its
    own cached context, and the connection switches to it (``SSL_ReconfigFD``):
    certificate chain and key, client-certificate policy and anchors, versions,
    ciphers and ALPN.
    """

    _buffer_type = NSSBuffer

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        config = self._configuration
        check_server_configuration(config, _NAME, chain_with_sni=True)
        assert config.certificate_chain is not None
        with _translate("create an NSS context"):
            self._context = _ffi.Context(server_side=True)
        self._context.policy = self._policy
        _configure(self._context, config)
        if self._policy is not None:  # a trust_store: client certificates are required
            _load_trust(self._context, self._policy)
            with _translate("require client certificates"):
                self._context.verify_peer(require=True)
        _load_chain(self._context, config.certificate_chain)
        if config.sni_callback is not None:
            self._sni = SNIDispatch(config, type(self))

    def _switch(self, session: _ffi.Session, derived: NSSServerContext) -> _ffi.Context:
        """The context *session* switches to (``SSL_ReconfigFD``)."""
        return derived._context

    def _session(self, sni_hook: _ffi.SNICallback | None, fd: int | None = None) -> _ffi.Session:
        """An NSS SSL socket over memory (or the descriptor *fd*)."""
        return _ffi.Session(self._context, sni_callback=sni_hook, fd=fd)


# -- the backend ------------------------------------------------------------------------
def _capabilities() -> Capabilities:
    return _capability_row(
        f"NSS {_ffi.library_version()} (system, ctypes)",
        tuple(_VERSIONS),
        cipher_control="all",
        native_socket=True,
        system_trust=(
            "the system CA bundle/directory OpenSSL uses (or SSL_CERT_FILE/SSL_CERT_DIR "
            "when set), read once per context; NSS's own databases and built-in roots "
            "are never used"
        ),
        notes=(
            "NSS is initialised once per process with no database (NSS_InitContext, "
            "no certificate/key/module database, no built-in roots)",
            "trust anchors and keys belong to one context: anchors are passed to "
            "CERT_PKIXVerifyCert for each verification, keys are session objects of "
            "the internal slot",
            "TLS 1.2 and 1.3 only",
            "native sockets: NSS reads and writes the descriptor itself (an NSPR socket "
            "over it, PR_ImportTCPSocket), one record at a time; wrap_buffers runs over an "
            "NSPR I/O layer in memory",
            "no session resumption: NSS's session cache is process-wide and keyed by "
            "the peer's address, so it is switched off (SSL_NO_CACHE)",
            "a client certificate is sent only when the chain NSS builds for it (from the "
            "certificates loaded in the process) holds nothing but the configured "
            "certificates; otherwise the handshake fails on the client with a TLSError "
            "that says so",
            "private keys are decrypted with the 'cryptography' package",
        ),
    )


#: The NSS backend.
BACKEND = _make_backend(_NAME, NSSClientContext, NSSServerContext, _capabilities())
