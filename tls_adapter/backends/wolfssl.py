"""The wolfSSL backend: the system ``libwolfssl``, driven through ctypes (``_wolfssl_ffi``).

Each context builds its ``WOLFSSL_CTX`` once, in the constructor: versions, cipher list,
trust anchors, the own chain and key, and the verification mode. Every connection is a
new ``WOLFSSL`` that shares it: over memory BIOs for ``wrap_buffers``, and attached to
the socket's descriptor for ``wrap_socket`` (``wolfSSL_set_fd``: wolfSSL's default
``recv``/``send`` I/O, driven by ``tls_adapter._socket.DescriptorSocket``, so no
ciphertext passes through Python). wolfSSL reads each record's header, then exactly its
body, so it never takes more from the kernel than the record it decrypts, and a
``close_notify`` that follows a response stays there for liveness checks. A failed
``recv``/``send`` raises its :class:`OSError` (``ConnectionResetError``,
``BrokenPipeError``), as :mod:`ssl` does.

How the configuration maps onto wolfSSL:

* **Trust.** ``TrustStore.system()`` is the CA bundle and/or directory that
  :func:`~tls_adapter._system.find_system_ca` locates (OpenSSL's default paths,
  or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set), loaded once per context. Files,
  ``certifi``, directories (every certificate file in it, read when the context is built)
  and buffers are loaded as given. A certificate wolfSSL cannot parse (an unknown
  critical extension, say) is skipped, which trusts less, never more; a store left
  without any anchor is refused with :class:`ConfigurationError` when the context is built.
* **Verification** runs inside the handshake and is done by wolfSSL itself: the chain and
  dates always (unless ``validate_certificates=False``), plus the DNS name
  (``wolfSSL_check_domain_name``) or IP address (``X509_VERIFY_PARAM_set1_ip_asc``) when
  the client checks the hostname. Because wolfSSL 5.5.4 matches names more loosely than
  OpenSSL (subject CN fallback, ``*`` for any labels, IP addresses in the CN or a
  dNSName), a verify callback also requires a matching dNSName subjectAltName (OpenSSL's
  wildcard rules) or iPAddress subjectAltName. IP literals are never sent as SNI. A
  peer certificate wolfSSL refuses in the handshake for any other reason (it cannot
  parse it; keyUsage, extendedKeyUsage or key size do not allow the use) is a
  :class:`CertificateValidationError` too (``_wolfssl_ffi.VERIFY_ERRORS``).
* **Versions** TLS 1.2 and 1.3 (Debian's wolfSSL has no TLS 1.0; TLS 1.1 is left out
  too). A range that holds neither is refused; a range that also holds older versions is
  narrowed to these.
* **Ciphers** map one-to-one onto wolfSSL's suite names (``wolfSSL_CTX_set_cipher_list``),
  TLS 1.3 suites included, in the configured order. Suites wolfSSL does not know are not
  offered; a version left without any suite is switched off, and a configuration left
  without any is refused. Without a configured list a client offers the default one with
  ChaCha20-Poly1305 first when this wolfSSL has no AES-NI code (Debian's has none; its
  software AES-GCM costs about twice its ChaCha20-Poly1305), see :func:`default_ciphers`.
* **ALPN** protocols are handed to wolfSSL as one comma-separated string, so a protocol
  containing ``,`` or NUL is refused.
* **Client certificates.** A server with a ``trust_store`` requires and verifies one.
* **sni_callback** runs from wolfSSL's servername callback, once per connection (with or
  without SNI). A different configuration it returns gets its own cached context that
  the connection switches to (``wolfSSL_set_SSL_CTX``): certificate chain and key, trust
  anchors and client-certificate policy; versions, ciphers and ALPN keep the original
  configuration's values.
* **Session resumption** (clients): a session is a copy of wolfSSL's
  (:class:`~._wolfssl_ffi.SessionHandle`), offered with ``wolfSSL_set_session``: TLS 1.3
  by ticket, TLS 1.2 by session ID only and only without TLS 1.3 in the range (see
  :mod:`._wolfssl_ffi` for the wolfSSL 5.5.4 limits behind both). A resumed handshake
  carries no certificate, so neither wolfSSL nor the validation policy checks one (the
  session was validated when it was made); a declined offer is a full handshake,
  validated in full, on the chain that handshake brought.

Errors are translated at one boundary, :func:`_translate`.
"""

from __future__ import annotations

import contextlib

from .._api import ServerName
from .._ciphers import DEFAULT_CIPHER_LIST
from .._config import TLSConfiguration
from .._enums import TLSVersion, protocol_bytes
from .._errors import ConfigurationError
from .._system import find_system_ca
from .._trust import Certificate, PrivateKey, TrustStore
from . import Capabilities, _capability_row, _make_backend
from . import _wolfssl_ffi as _ffi
from ._ffi_buffer import (
    FFIBuffer,
    FFIClientContext,
    FFIErrors,
    FFIServerContext,
    versions_in_range,
)
from ._server import SNIDispatch, check_server_configuration, key_error, key_password

__all__ = [
    "BACKEND",
    "WolfSSLBuffer",
    "WolfSSLClientContext",
    "WolfSSLServerContext",
    "default_ciphers",
]

_NAME = "wolfssl"
#: Our versions, lowest first, with wolfSSL's name for them.
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
    failure=(_ffi.WolfSSLError, ValueError, MemoryError),
)
_translate = _ERRORS.translate


# -- building ---------------------------------------------------------------------------
def _version_range(config: TLSConfiguration) -> list[TLSVersion]:
    """The configured versions this backend can speak, lowest first."""
    return versions_in_range(config, _NAME, _VERSIONS)


def default_ciphers(*, server_side: bool) -> list[int]:
    """The cipher list used when the configuration names none.

    :data:`~tls_adapter._ciphers.DEFAULT_CIPHER_LIST`, except that a client whose wolfSSL
    has no AES-NI code (:func:`~._wolfssl_ffi.has_aes_instructions`; Debian's has none)
    moves the ChaCha20-Poly1305 suites ahead of the AES ones in each version's group, as
    BoringSSL and Chrome do on CPUs without AES instructions: a server that honours the
    client's order then picks the suite this wolfSSL decrypts about twice as fast.
    """
    suites = list(DEFAULT_CIPHER_LIST)
    if not server_side and not _ffi.has_aes_instructions():
        suites.sort(key=lambda s: (s.name.startswith("TLS_ECDHE"), "CHACHA20" not in s.name))
    return [int(s) for s in suites]


def _configure_protocols(
    context: _ffi.Context, config: TLSConfiguration, *, server_side: bool
) -> list[TLSVersion]:
    """Versions and cipher list: a configured list exactly as given (minus suites wolfSSL
    lacks), else :func:`default_ciphers`. Returns the versions the context can negotiate."""
    table = _ffi.cipher_suite_table()
    if config.ciphers:
        requested = [int(c) for c in config.ciphers]
    else:
        requested = default_ciphers(server_side=server_side)
    known = [table[c] for c in dict.fromkeys(requested) if c in table]
    versions = [
        v
        for v in _version_range(config)
        if any(s.tls13 == (v is TLSVersion.TLSv1_3) for s in known)
    ]
    if not versions:
        raise ConfigurationError(
            f"the {_NAME} backend can use none of the configured ciphers with TLS "
            f"{config.lowest_supported_version.name}..{config.highest_supported_version.name}"
        )
    with _translate("use the configured TLS versions and ciphers"):
        context.set_versions(_VERSIONS[versions[0]], _VERSIONS[versions[-1]])
        context.set_cipher_list([s.name for s in known])
    return versions


def _check_alpn(config: TLSConfiguration) -> list[bytes]:
    protocols = [protocol_bytes(p) for p in config.inner_protocols]
    for protocol in protocols:
        if b"," in protocol or b"\0" in protocol:
            raise ConfigurationError(
                f"the {_NAME} backend cannot offer ALPN protocols (inner_protocols) that "
                f"contain ',' or NUL: {protocol[:16]!r}"
            )
    return protocols


def _load_trust(context: _ffi.Context, store: TrustStore) -> None:
    """Load *store*'s anchors. Certificates wolfSSL cannot parse (an unknown critical
    extension, say) are skipped, which trusts less, never more; a store left with no
    anchor at all is a :class:`ConfigurationError`."""
    with _translate(f"load trust store {store!r}"):
        try:
            _load_trust_anchors(context, store)
        except _ffi.WolfSSLError as e:
            if e.code not in _ffi.VERIFY_ERRORS:
                raise
            raise ConfigurationError(
                f"the {_NAME} backend found no usable CA certificate in {store!r}: wolfSSL "
                f"skips the certificates it cannot parse and could parse none ({e})"
            ) from e


def _load_trust_anchors(context: _ffi.Context, store: TrustStore) -> None:
    if store.kind == "system":
        where = find_system_ca()
        # Two calls: this wolfSSL is far slower (~1 s) given both at once.
        if where.cafile is not None:
            context.load_trust_locations(where.cafile, None)
        if where.capath is not None:
            context.load_trust_locations(None, where.capath)
    elif store.kind == "directory":
        assert store.path is not None
        with contextlib.suppress(_ffi.WolfSSLError):
            # An empty directory trusts nothing, which fails closed.
            context.load_trust_locations(None, store.path)
    elif store.kind == "buffer":
        pem = store.pem_bytes()
        assert pem is not None
        context.load_trust_pem(pem)
    else:  # "file" and "certifi"
        assert store.path is not None
        context.load_trust_locations(store.path, None)


def _load_chain(context: _ffi.Context, chain: tuple[tuple[Certificate, ...], PrivateKey]) -> None:
    """Load the chain and key from memory; the key never touches a disk."""
    certs, key = chain
    password = key_password(key, _NAME)
    try:
        context.use_chain(b"".join(c.to_pem() for c in certs), key.to_pem(), False, password)
    except _ffi.WolfSSLError as e:
        raise key_error(_NAME, str(e), encrypted=key.encrypted) from e


# -- connections ------------------------------------------------------------------------
class WolfSSLBuffer(FFIBuffer):
    """A TLS connection: one ``WOLFSSL``, over memory BIOs or attached to a socket's
    descriptor."""

    _errors = _ERRORS
    _versions = _BY_NAME


# -- contexts ---------------------------------------------------------------------------
class WolfSSLClientContext(FFIClientContext):
    """A client context: one ``WOLFSSL_CTX`` built here, shared by its connections.

    Connections can offer a session for resumption (when this wolfSSL has the session
    functions): its handle is a :class:`~._wolfssl_ffi.SessionHandle`, given to
    ``wolfSSL_set_session``. That pins the ClientHello to the session's TLS version, so a
    TLS 1.2 session is offered only by a context that cannot negotiate TLS 1.3 (else a
    server that now speaks TLS 1.3 would be held at TLS 1.2).
    """

    _buffer_type = WolfSSLBuffer
    _resumes = _ffi.resumption_supported()

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        config = self._configuration
        if config.sni_callback is not None:
            raise ConfigurationError(f"the {_NAME} backend: sni_callback is for servers")
        self._alpn = _check_alpn(config)
        with _translate("create a wolfSSL context"):
            self._context = _ffi.Context(server_side=False)
        versions = _configure_protocols(self._context, config, server_side=False)
        self._tls13 = TLSVersion.TLSv1_3 in versions
        if config.validate_certificates:
            store = config.trust_store if config.trust_store is not None else TrustStore.system()
            _load_trust(self._context, store)
            self._context.verify_peer(require=False)
        if config.certificate_chain is not None:
            _load_chain(self._context, config.certificate_chain)

    def _session(
        self, name: ServerName, fd: int | None = None, resume: object = None
    ) -> _ffi.Session:
        """A ``WOLFSSL`` over memory buffers (or the descriptor *fd*), checking the name
        *name* asks for, offering the session *resume* if given."""
        check = name.check and self._configuration.validate_certificates
        offer = resume if isinstance(resume, _ffi.SessionHandle) else None
        if offer is not None and not offer.has_ticket and self._tls13:
            offer = None  # a TLS 1.2 session would hold the connection at TLS 1.2
        return _ffi.Session(
            self._context,
            sni=name.sni,
            check_name=name.name if check and name.ip is None else None,
            check_ip=str(name.ip) if check and name.ip is not None else None,
            alpn_protocols=self._alpn,
            fd=fd,
            resume=offer,
        )


class WolfSSLServerContext(FFIServerContext):
    """A server context: one ``WOLFSSL_CTX`` built here, shared by its connections.

    With an ``sni_callback``, a different configuration the callback returns gets its
    own cached context, and the connection switches to it (``wolfSSL_set_SSL_CTX``):
    certificate chain and key, client-certificate trust anchors and policy. TLS versions,
    ciphers and ALPN keep the original configuration's values.
    """

    _buffer_type = WolfSSLBuffer

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        config = self._configuration
        check_server_configuration(config, _NAME, chain_with_sni=True)
        assert config.certificate_chain is not None
        self._alpn = _check_alpn(config)
        with _translate("create a wolfSSL context"):
            self._context = _ffi.Context(server_side=True)
        _configure_protocols(self._context, config, server_side=True)
        if config.trust_store is not None:
            _load_trust(self._context, config.trust_store)
            self._context.verify_peer(require=True)
        _load_chain(self._context, config.certificate_chain)
        if config.sni_callback is not None:
            self._context.enable_sni_hook()
            self._sni = SNIDispatch(config, type(self))

    def _switch(self, session: _ffi.Session, derived: WolfSSLServerContext) -> _ffi.Context:
        """The context *session* switches to (``wolfSSL_set_SSL_CTX``)."""
        return derived._context

    def _session(self, sni_hook: _ffi.SNICallback | None, fd: int | None = None) -> _ffi.Session:
        """A ``WOLFSSL`` over memory buffers (or the descriptor *fd*)."""
        return _ffi.Session(self._context, alpn_protocols=self._alpn, sni_callback=sni_hook, fd=fd)


# -- the backend ------------------------------------------------------------------------


def _capabilities() -> Capabilities:
    return _capability_row(
        f"wolfSSL {_ffi.library_version()} (system, ctypes)",
        tuple(_VERSIONS),
        cipher_control="all",
        native_socket=True,
        session_resumption=_ffi.resumption_supported(),
        system_trust=(
            "the system CA bundle/directory OpenSSL uses (or SSL_CERT_FILE/SSL_CERT_DIR "
            "when set), loaded once per context"
        ),
        notes=(
            "native sockets: wolfSSL reads and writes the descriptor itself "
            "(wolfSSL_set_fd), one record at a time; wrap_buffers runs over memory BIOs",
            "TLS 1.2 and 1.3 only (Debian's wolfSSL 5.5.4 has no TLS 1.0; TLS 1.1 is left out too)",
            "ALPN protocols must not contain ',' or NUL (wolfSSL takes a comma-separated list)",
            "without a configured cipher list, a client whose wolfSSL lacks AES-NI code "
            "(Debian's) offers ChaCha20-Poly1305 first: there it decrypts at about 3.3 ms/MiB "
            "against 7-8 ms/MiB for AES-GCM",
            "sni_callback can switch the certificate chain and client authentication; TLS "
            "versions, ciphers and ALPN keep their values",
            "a server needs a certificate_chain even with an sni_callback",
            "host names: wolfSSL's own check plus a stricter one in its verify callback "
            "(dNSName subjectAltName with OpenSSL's wildcard rules, never the subject CN; "
            "IP addresses only against iPAddress subjectAltNames)",
            "TLS 1.3 client: offers only the psk_ke resumption mode (psk_dhe_ke too when "
            "it offers a session), so rustls-style servers send no session ticket; a "
            "server that sends one with a nonce over 8 bytes anyway fails the connection "
            "at the first read (a wolfSSL 5.5.4 limit)",
            "session resumption (clients): session() is a copy of wolfSSL's session "
            "(wolfSSL_SESSION_dup, freed when collected), offered with "
            "wolfSSL_set_session; TLS 1.3 by ticket (available once a ticket has arrived "
            "on the connection; using it once is the caller's job); TLS 1.2 by session "
            "ID only, so servers that resume only by ticket (the stdlib ssl module) do "
            "not resume (holding a TLS 1.2 ticket, wolfSSL 5.5.4 fails the handshake "
            "when the server declines it), and only by a context without TLS 1.3 (an "
            "offered session pins the ClientHello to its version); a resumed handshake "
            "runs no certificate check (getpeercert() is the leaf kept from the original "
            "handshake), a declined offer is a full, fully validated handshake that "
            "yields no session; a TLS 1.3 session offered to a server that now "
            "negotiates only TLS 1.2 (or sends tickets with nonces over 8 bytes) fails "
            "the connection",
            "the private key is checked against the leaf by signing and verifying "
            "(wolfSSL_CTX_check_private_key passes mismatched ECDSA keys)",
            "each new thread's first two or three handshakes cost about four times a "
            "warm one (measured with Debian's wolfSSL 5.5.4: 12 ms against 3.2 ms for an "
            "in-memory ECDSA handshake), so reuse threads (a pool) rather than starting "
            "one per connection",
            "trust anchors wolfSSL cannot parse (an unknown critical extension, say) are "
            "skipped, which trusts less, never more; a trust store with no anchor it can "
            "parse raises ConfigurationError when the context is built",
        ),
    )


#: The wolfSSL backend.
BACKEND = _make_backend(_NAME, WolfSSLClientContext, WolfSSLServerContext, _capabilities())
