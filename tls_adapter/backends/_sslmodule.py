"""The shared engine of the backends built on ``ssl``-module look-alikes.

The standard library's :mod:`ssl`, ``rtls`` (rustls) and ``utls`` (BoringSSL) share one
API shape: an ``SSLContext`` configured by setters, ``wrap_bio()`` over two memory
BIOs, ``do_handshake``/``read``/``write``/``unwrap``, and exceptions that subclass
:mod:`ssl`'s. This module implements PEP 543 once over that shape. What differs
between the libraries lives in a small :class:`Flavour` object: the module, the
capability flags, and a few quirk hooks (how to make a context, how to load a key
from memory, which certificate errors are real, how to install an SNI callback, how
to tell the peer's ``close_notify`` from a truncation). Each backend module
(``openssl.py``, ``rustls.py``, ``boringssl.py``) builds one flavour and subclasses
the contexts here.

Theory of operation
-------------------
* A context builds its native ``SSLContext`` once, in the constructor. A client
  context builds a second one, lazily, with hostname checking off, for
  ``server_hostname=None`` and ``check_hostname=False``.
* A buffer is the library's ``SSLObject`` over two :class:`ssl.MemoryBIO`. Outgoing
  ciphertext is staged in a ``bytearray`` so ``peek_outgoing`` does not consume.
* Errors are translated at one boundary, :meth:`Flavour.translate`; every library
  exception is chained with ``from``.
* End of stream: ``read`` returns ``b""`` after the peer's ``close_notify`` and raises
  :class:`RaggedEOF` after a transport EOF without it. A library that keeps asking for
  more data once the transport is at EOF (rustls during the handshake) is stopped by
  the buffer, so nothing waits forever.
* Sockets go through the generic pump (``_socket.BufferSocket``) unless the flavour
  says its library drives sockets natively and correctly (only the stdlib does).
* What is not specific to this API shape comes from the backend kit: server
  preconditions, the ``sni_callback`` runner with its derived contexts and key errors
  from ``_server.py``, the buffer template (back-pressure, ``readinto``, the staged
  outgoing ciphertext) from ``_buffer_kit.py``.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, cast

from .._api import ClientContext, ServerContext, ServerName, TLSWrappedBuffer, TLSWrappedSocket
from .._ciphers import (
    DEFAULT_CIPHER_LIST,
    TLS13_CIPHER_SUITES,
    CipherSuite,
    check_fixed_tls13_suites,
    cipher_suite_from_int,
    openssl_name_table,
)
from .._config import TLSConfiguration
from .._enums import NextProtocol, TLSVersion, protocol_bytes, protocol_from_bytes, version_rank
from .._errors import (
    CertificateValidationError,
    ConfigurationError,
    RaggedEOF,
    TLSError,
    WantReadError,
    WantWriteError,
)
from .._policy import ChainPolicy, PeerCheck
from .._session import DEFAULT_SESSION_LIFETIME, TLSSession, check_session
from .._system import OS_VERIFIER, find_system_ca
from .._trust import Certificate, PrivateKey, TrustStore
from .._verify_codes import from_legacy
from . import Capabilities, _capability_row
from ._buffer_kit import StagedBufferBase
from ._server import SNIDispatch, check_server_configuration, key_error, key_password, raise_parked

if TYPE_CHECKING:
    import socket

    from typing_extensions import Buffer

__all__ = [
    "Flavour",
    "SSLModuleBuffer",
    "SSLModuleClientContext",
    "SSLModuleServerContext",
    "build_client_native",
    "build_server_native",
]

#: ``Certificate.public_bytes`` format for DER (``_ssl.ENCODING_DER``; ``ssl`` does not
#: re-export it, and utls uses the same value).
_ENCODING_DER = 2
#: The stdlib's version constants, which rtls and utls accept too.
STDLIB_VERSIONS = {
    TLSVersion.MINIMUM_SUPPORTED: ssl.TLSVersion.MINIMUM_SUPPORTED,
    TLSVersion.TLSv1: ssl.TLSVersion.TLSv1,
    TLSVersion.TLSv1_1: ssl.TLSVersion.TLSv1_1,
    TLSVersion.TLSv1_2: ssl.TLSVersion.TLSv1_2,
    TLSVersion.TLSv1_3: ssl.TLSVersion.TLSv1_3,
    TLSVersion.MAXIMUM_SUPPORTED: ssl.TLSVersion.MAXIMUM_SUPPORTED,
}
# The connection whose handshake is running on this thread, for SNI callbacks of
# libraries whose callback cannot be tied to the connection (utls).
_handshaking = threading.local()


class Flavour:
    """How one ``ssl``-module look-alike differs from the standard library's :mod:`ssl`.

    The defaults describe a library that behaves like the stdlib but is used only
    through ``wrap_bio`` (sockets go through the generic pump). Backends subclass it
    and override what their library does differently.
    """

    #: The backend's name, used in error messages.
    name: str = ""
    #: Whether a client can offer a session for resumption (``wrap_bio(session=)``).
    resumption: bool = False
    #: TLS versions the library can negotiate.
    tls_versions: tuple[TLSVersion, ...] = (TLSVersion.TLSv1_2, TLSVersion.TLSv1_3)
    #: Clamp a configured version range to :attr:`tls_versions` (``False``: map
    #: every configured bound straight to the library, refusing unknown ones).
    clamp_versions: bool = True
    #: Whether the backend's contexts wrap sockets natively (its ``_socket_type``).
    native_socket: bool = False
    #: Whether a server can run ``sni_callback``.
    sni_callback: bool = True
    #: Whether a server can require and verify client certificates.
    client_auth: bool = True
    #: Whether ``read``/``write`` before the handshake finish it, like OpenSSL.
    implicit_handshake: bool = True
    #: Whether ``read`` tells the peer's ``close_notify`` from a truncation.
    clean_close: bool = True
    #: Extra library exceptions (not :class:`ssl.SSLError`) that mean a TLS failure.
    extra_errors: tuple[type[BaseException], ...] = ()
    #: Library exceptions that mean "cannot load this certificate, key or store".
    load_errors: tuple[type[BaseException], ...] = (ssl.SSLError,)
    #: Whether the library's verifier falls short of the validation policy, so the
    #: presented chain also goes through :class:`~tls_adapter._policy.ChainPolicy`.
    policy: bool = False

    def __init__(self, module: Any) -> None:
        self.module = module

    # -- building native contexts ------------------------------------------------------
    def new_native(self, server_side: bool, config: TLSConfiguration) -> Any:
        """A fresh native context for one side."""
        m = self.module
        return m.SSLContext(m.PROTOCOL_TLS_SERVER if server_side else m.PROTOCOL_TLS_CLIENT)

    def os_verifies(self, store: TrustStore) -> bool:
        """Whether *store* is verified by the OS rather than loaded into the context."""
        return False

    def harden(self, ctx: Any, server_side: bool) -> None:
        """Options every context gets (no compression, no renegotiation, ...)."""

    def strict_verification(self, ctx: Any) -> None:
        """Verification flags for a context that validates its peer."""

    def version_value(self, version: TLSVersion) -> Any:
        """The native value for ``minimum_version``/``maximum_version``."""
        return STDLIB_VERSIONS[version]

    def tls13_suites(self) -> frozenset[int]:
        """The TLS 1.3 suites the library always offers (they cannot be restricted)."""
        raise NotImplementedError

    def load_chain(self, ctx: Any, chain: tuple[tuple[Certificate, ...], PrivateKey]) -> None:
        """Load a certificate chain and key from memory (never a plaintext key file)."""
        certs, key = chain
        password = key_password(key, self.name)
        ctx.load_cert_chain(b"".join(c.to_pem() for c in certs), key.to_pem(), password)

    def load_system_trust(self, ctx: Any, purpose: ssl.Purpose) -> None:
        """Load the operating system's CA store into *ctx* (once per context).

        The same bundle and directory OpenSSL would use (so ``SSL_CERT_FILE`` and
        ``SSL_CERT_DIR`` are honoured), else the bundles truststore knows about.
        """
        if OS_VERIFIER:  # pragma: no cover - macOS/Windows: the library's own OS loader
            ctx.load_default_certs(purpose)
            return
        found = find_system_ca()
        if found.cafile is not None:
            ctx.load_verify_locations(cafile=found.cafile)
        if found.capath is not None:
            ctx.load_verify_locations(capath=found.capath)

    def install_sni_callback(self, ctx: Any, callback: Any) -> None:
        """Make *ctx* call ``callback(sslobj, server_name, ctx)`` after the ClientHello."""
        ctx.sni_callback = callback

    def check_native(self, ctx: Any, server_side: bool) -> None:
        """Catch at build time what the library only notices per connection."""

    # -- connections -------------------------------------------------------------------
    def bio_hostname(self, ctx: Any, server_side: bool, server_hostname: str | None) -> str | None:
        """The ``server_hostname`` to give ``ctx.wrap_bio()`` for one connection."""
        return server_hostname

    def certificate_failure(self, exc: ssl.SSLCertVerificationError) -> str | None:
        """The reason if *exc* is a real certificate failure, else ``None``."""
        return exc.verify_message or exc.reason or describe(exc)

    def verify_code(self, exc: ssl.SSLCertVerificationError) -> int | None:
        """The ``X509_V_ERR_*`` code of a certificate failure (OpenSSL 3.0 numbering), or
        ``None`` when the library gives none (0)."""
        code = getattr(exc, "verify_code", None)
        if not isinstance(code, int) or code <= 0:
            return None
        if self.module is ssl and ssl.OPENSSL_VERSION_INFO < (3,):
            return from_legacy(code)  # a Python built against OpenSSL 1.1
        return code

    def peer_closed(self, obj: Any) -> bool:
        """After ``read`` found no data: whether the peer's ``close_notify`` arrived.

        Only for libraries that do not report it themselves (by returning ``b""``).
        """
        return False

    def shutdown(self, obj: Any, incoming: ssl.MemoryBIO, first: bool) -> None:
        """Send ``close_notify``; raise the library's want-read until the peer's arrives."""
        if obj.unwrap() is False:  # utls: ours is sent, the peer's has not arrived
            raise ssl.SSLWantReadError("waiting for the peer's close_notify")

    def peer_check(self, config: TLSConfiguration, server_side: bool) -> PeerCheck | None:
        """What a context of *config* runs on the peer's chain after the handshake."""
        if not self.policy:
            return None
        return ChainPolicy.for_context(config, self.name, server_side)

    def peer_chain(self, obj: Any) -> list[bytes]:
        """The chain :meth:`peer_check` examines (DER, leaf first): as presented."""
        return [bytes(c.public_bytes(_ENCODING_DER)) for c in obj.get_unverified_chain() or ()]

    def peer_certificate(self, obj: Any, server_side: bool) -> bytes | None:
        """The peer's leaf certificate as DER, or ``None``."""
        try:
            der = obj.getpeercert(True)
        except ValueError:  # before the handshake
            return None
        return bytes(der) if der else None

    # -- the error boundary ------------------------------------------------------------
    @contextlib.contextmanager
    def translate(self) -> Iterator[None]:
        """Translate the library's exceptions into tls_adapter's (the one boundary)."""
        try:
            yield
        except ssl.SSLWantReadError as e:
            raise WantReadError(describe(e)) from e
        except ssl.SSLWantWriteError as e:
            raise WantWriteError(describe(e)) from e
        except ssl.SSLCertVerificationError as e:
            reason = self.certificate_failure(e)
            if reason is None:
                raise TLSError(describe(e)) from e
            raise CertificateValidationError(reason, verify_code=self.verify_code(e)) from e
        except ssl.SSLEOFError as e:
            raise RaggedEOF("the peer closed the connection without a TLS close_notify") from e
        except ssl.SSLZeroReturnError as e:
            raise TLSError("the TLS connection has been closed") from e
        except ssl.SSLError as e:
            raise TLSError(describe(e)) from e
        except self.extra_errors as e:
            raise TLSError(describe(e)) from e

    # -- capabilities ------------------------------------------------------------------
    def capabilities(
        self, library: str, system_trust: str, notes: tuple[str, ...], server_side: bool = True
    ) -> Capabilities:
        """The capability row of a backend built on this flavour."""
        return _capability_row(
            library,
            self.tls_versions,
            cipher_control="tls1.2",
            system_trust=system_trust,
            notes=notes,
            sni_callback=server_side and self.sni_callback,
            server_side=server_side,
            client_auth=server_side and self.client_auth,
            native_socket=self.native_socket,
            session_resumption=self.resumption,
        )


def describe(exc: BaseException) -> str:
    """An exception's message (``ssl`` errors made with one argument print as a tuple)."""
    if len(exc.args) == 1 and isinstance(exc.args[0], str):
        return exc.args[0]
    return str(exc)


# -- building the native context --------------------------------------------------------
_MISMATCH = ("KEY_VALUES_MISMATCH", "key values mismatch", "KeyMismatch")


def _chain_error(flavour: Flavour, e: BaseException, key: PrivateKey) -> ConfigurationError:
    text = describe(e)
    mismatch = any(m in text for m in _MISMATCH)
    return key_error(flavour.name, text, encrypted=key.encrypted, mismatch=mismatch)


def _load_chain(
    flavour: Flavour, ctx: Any, chain: tuple[tuple[Certificate, ...], PrivateKey]
) -> None:
    try:
        flavour.load_chain(ctx, chain)
    except flavour.load_errors as e:
        raise _chain_error(flavour, e, chain[1]) from e


def _check_native(flavour: Flavour, ctx: Any, server_side: bool, config: TLSConfiguration) -> None:
    try:
        flavour.check_native(ctx, server_side)
    except flavour.load_errors as e:
        if config.certificate_chain is not None:
            raise _chain_error(flavour, e, config.certificate_chain[1]) from e
        raise ConfigurationError(
            f"the {flavour.name} backend rejected the configuration: {describe(e)}"
        ) from e


def _load_trust(flavour: Flavour, ctx: Any, store: TrustStore, purpose: ssl.Purpose) -> None:
    try:
        if store.kind == "system":
            flavour.load_system_trust(ctx, purpose)
        elif store.kind == "directory":
            ctx.load_verify_locations(capath=store.path)
        elif store.kind == "buffer":
            pem = store.pem_bytes()
            assert pem is not None
            ctx.load_verify_locations(cadata=pem.decode("ascii"))
        else:
            ctx.load_verify_locations(cafile=store.path)
    except flavour.load_errors as e:
        raise ConfigurationError(f"cannot load trust store {store!r}: {describe(e)}") from e


def _version_bounds(flavour: Flavour, config: TLSConfiguration) -> tuple[TLSVersion, TLSVersion]:
    lowest = config.lowest_supported_version
    highest = config.highest_supported_version
    if not flavour.clamp_versions:
        for field, version in (
            ("lowest_supported_version", lowest),
            ("highest_supported_version", highest),
        ):
            try:
                flavour.version_value(version)
            except KeyError:
                raise ConfigurationError(
                    f"the {flavour.name} backend does not support {field}={version.name}"
                ) from None
        return lowest, highest
    usable = [
        v
        for v in flavour.tls_versions
        if version_rank(lowest) <= version_rank(v) <= version_rank(highest)
    ]
    if not usable:
        offered = ", ".join(v.name for v in flavour.tls_versions)
        raise ConfigurationError(
            f"the {flavour.name} backend supports only {offered}; the configured range "
            f"{lowest.name}..{highest.name} leaves no version to negotiate"
        )
    return usable[0], usable[-1]


def _configure_versions_and_ciphers(flavour: Flavour, ctx: Any, config: TLSConfiguration) -> None:
    lowest, highest = _version_bounds(flavour, config)
    tls13_on = (
        version_rank(highest) >= version_rank(TLSVersion.TLSv1_3)
        and TLSVersion.TLSv1_3 in flavour.tls_versions
    )
    tls12_on = version_rank(lowest) <= version_rank(TLSVersion.TLSv1_2)
    allowed = config.ciphers if config.ciphers is not None else DEFAULT_CIPHER_LIST
    names = openssl_name_table()
    legacy = [names[int(c)] for c in allowed if int(c) not in TLS13_CIPHER_SUITES and c in names]
    if tls13_on:
        check_fixed_tls13_suites(flavour.tls13_suites(), allowed, f"the {flavour.name} backend")
    if tls12_on and not legacy:
        if not tls13_on:
            raise ConfigurationError(
                "none of the configured ciphers is usable with TLS 1.2 or lower on the "
                f"{flavour.name} backend"
            )
        lowest = TLSVersion.TLSv1_3  # only TLS 1.3 suites were allowed
    ctx.minimum_version = flavour.version_value(lowest)
    ctx.maximum_version = flavour.version_value(highest)
    if legacy:
        try:
            ctx.set_ciphers(":".join(legacy))
        except ssl.SSLError as e:
            if not tls12_on:  # TLS 1.2 is off: its suites do not matter
                return
            raise ConfigurationError(
                f"the {flavour.name} backend supports none of the configured TLS 1.2 "
                f"cipher suites: {describe(e)}"
            ) from e


def _configure_alpn(flavour: Flavour, ctx: Any, config: TLSConfiguration) -> None:
    if not config.inner_protocols:
        return
    protocols = []
    for p in config.inner_protocols:
        raw = protocol_bytes(p)
        try:
            protocols.append(raw.decode("ascii"))
        except UnicodeDecodeError:
            raise ConfigurationError(
                f"the {flavour.name} backend can only offer ASCII ALPN identifiers, not {raw!r}"
            ) from None
    ctx.set_alpn_protocols(protocols)


def build_client_native(flavour: Flavour, config: TLSConfiguration, check_hostname: bool) -> Any:
    """The native client context for *config*, built by *flavour*'s library."""
    ctx = flavour.new_native(False, config)
    flavour.harden(ctx, False)
    _configure_versions_and_ciphers(flavour, ctx, config)
    _configure_alpn(flavour, ctx, config)
    if config.validate_certificates:
        store = config.trust_store if config.trust_store is not None else TrustStore.system()
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = check_hostname
        flavour.strict_verification(ctx)
        if not flavour.os_verifies(store):
            _load_trust(flavour, ctx, store, ssl.Purpose.SERVER_AUTH)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if config.certificate_chain is not None:
        _load_chain(flavour, ctx, config.certificate_chain)
    _check_native(flavour, ctx, False, config)
    return ctx


def build_server_native(flavour: Flavour, config: TLSConfiguration) -> Any:
    """The native server context for *config*, built by *flavour*'s library."""
    check_server_configuration(
        config, flavour.name, sni_callback=flavour.sni_callback, client_auth=flavour.client_auth
    )
    ctx = flavour.new_native(True, config)
    flavour.harden(ctx, True)
    _configure_versions_and_ciphers(flavour, ctx, config)
    _configure_alpn(flavour, ctx, config)
    if config.trust_store is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        flavour.strict_verification(ctx)
        _load_trust(flavour, ctx, config.trust_store, ssl.Purpose.CLIENT_AUTH)
    if config.certificate_chain is not None:
        _load_chain(flavour, ctx, config.certificate_chain)
    _check_native(flavour, ctx, True, config)
    return ctx


# -- reading negotiated state ----------------------------------------------------------
_name_to_id: dict[str, int] = {}


def cipher_from_name(name: str) -> CipherSuite | int | None:
    """The suite for a library's cipher name: OpenSSL-style or IANA-style (``TLS13_...``)."""
    if not _name_to_id:
        _name_to_id.update({value: key for key, value in openssl_name_table().items()})
    value = _name_to_id.get(name)
    if value is None:
        iana = "TLS_" + name[len("TLS13_") :] if name.startswith("TLS13_") else name
        member = CipherSuite.__members__.get(iana)
        if member is None:
            return None
        value = int(member)
    return cipher_suite_from_int(value)


def cipher_of(obj: Any) -> CipherSuite | int | None:
    """The negotiated suite of an ``SSLObject``/``SSLSocket``, or ``None``."""
    info = obj.cipher()
    return None if info is None else cipher_from_name(info[0])


def alpn_of(obj: Any) -> NextProtocol | bytes | None:
    """The ALPN protocol an ``SSLObject``/``SSLSocket`` agreed on, or ``None``."""
    selected = obj.selected_alpn_protocol()
    return None if selected is None else protocol_from_bytes(selected.encode("ascii"))


def version_of(obj: Any) -> TLSVersion | None:
    """The TLS version of an ``SSLObject``/``SSLSocket``, or ``None``."""
    version = obj.version()
    if version is None:
        return None
    try:
        return TLSVersion(version)
    except ValueError:
        return None


# -- contexts ---------------------------------------------------------------------------
def session_of(flavour: Flavour, obj: Any) -> TLSSession | None:
    """The library's current session of a client connection *obj*, if it can resume.

    With TLS 1.3 the session is resumable only once the server's ticket has arrived
    (after the handshake); until then, ``None``.
    """
    if not flavour.resumption:
        return None
    handle = obj.session
    if handle is None:
        return None
    version = version_of(obj)
    if version is TLSVersion.TLSv1_3 and not getattr(handle, "has_ticket", False):
        return None
    lifetime = float(getattr(handle, "timeout", 0) or DEFAULT_SESSION_LIFETIME)
    return TLSSession(flavour.name, handle, version, lifetime)


class SSLModuleClientContext(ClientContext):
    """A client context whose native context is built once, here, by the flavour."""

    _flavour: ClassVar[Flavour]
    _buffer_type: ClassVar[type[SSLModuleBuffer]]
    #: The native socket class (``None``: sockets use the generic pump).
    _socket_type: ClassVar[Any] = None

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        self._native = build_client_native(self._flavour, configuration, check_hostname=True)
        self._native_nocheck: Any = None if configuration.validate_certificates else self._native
        self._lock = threading.Lock()
        self._policy = self._flavour.peer_check(configuration, False)

    def _native_for(self, name: ServerName) -> Any:
        if name.check:
            return self._native
        if self._native_nocheck is None:
            with self._lock:
                if self._native_nocheck is None:
                    self._native_nocheck = build_client_native(
                        self._flavour, self._configuration, check_hostname=False
                    )
        return self._native_nocheck

    def wrap_buffers(
        self,
        server_hostname: str | None,
        *,
        check_hostname: bool = True,
        session: TLSSession | None = None,
    ) -> TLSWrappedBuffer:
        """A new in-memory client connection (the library's ``SSLObject`` over memory BIOs)."""
        offered = check_session(session, self._flavour.name, self._flavour.resumption)
        name = ServerName(server_hostname, check_hostname)
        return self._buffer_type._create(
            self, self._native_for(name), False, name.name, name, offered
        )

    def wrap_socket(
        self,
        socket: socket.socket,
        server_hostname: str | None,
        *,
        check_hostname: bool = True,
        session: TLSSession | None = None,
    ) -> TLSWrappedSocket:
        """Wrap *socket* (natively if the library drives sockets); ``do_handshake()`` next."""
        if self._socket_type is None:
            return super().wrap_socket(
                socket, server_hostname, check_hostname=check_hostname, session=session
            )
        offered = check_session(session, self._flavour.name, self._flavour.resumption)
        name = ServerName(server_hostname, check_hostname)
        wrapped: TLSWrappedSocket = self._socket_type._create(
            self, socket, self._native_for(name), False, name.name, name, offered
        )
        return wrapped


class SSLModuleServerContext(ServerContext):
    """A server context whose native context is built once, here, by the flavour."""

    _flavour: ClassVar[Flavour]
    _buffer_type: ClassVar[type[SSLModuleBuffer]]
    #: The native socket class (``None``: sockets use the generic pump).
    _socket_type: ClassVar[Any] = None

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        self._native = build_server_native(self._flavour, configuration)
        self._policy = self._flavour.peer_check(configuration, True)
        self._sni: SNIDispatch[SSLModuleServerContext] | None = None
        if configuration.sni_callback is not None:
            self._sni = SNIDispatch(configuration, type(self))
            self._flavour.install_sni_callback(self._native, self._on_sni)

    def _on_sni(self, obj: Any, server_name: str | None, native: Any) -> int | None:
        """The library's SNI hook: the shared runner; a failure is parked for do_handshake()."""
        owner_ref = getattr(obj, "_tls_adapter_owner", None)
        if owner_ref is None:
            owner_ref = getattr(_handshaking, "owner", None)
        owner = owner_ref() if owner_ref is not None else None

        def switch(derived: SSLModuleServerContext) -> None:
            obj.context = derived._native

        assert self._sni is not None
        return self._sni.run_or_park(
            owner, server_name, switch, int(ssl.ALERT_DESCRIPTION_INTERNAL_ERROR)
        )

    def wrap_buffers(self) -> TLSWrappedBuffer:
        """A new in-memory server connection (the library's ``SSLObject`` over memory BIOs)."""
        return self._buffer_type._create(self, self._native, True, None)

    def wrap_socket(self, socket: socket.socket) -> TLSWrappedSocket:
        """Wrap *socket* (natively if the library drives sockets); ``do_handshake()`` next."""
        if self._socket_type is None:
            return super().wrap_socket(socket)
        wrapped: TLSWrappedSocket = self._socket_type._create(
            self, socket, self._native, True, None
        )
        return wrapped


_Context = SSLModuleClientContext | SSLModuleServerContext


# -- connections ------------------------------------------------------------------------
class SSLModuleBuffer(StagedBufferBase[_Context]):
    """A TLS connection over memory buffers: the library's ``SSLObject`` and two BIOs."""

    _flavour: Flavour
    _obj: Any
    _incoming: ssl.MemoryBIO
    _outgoing: ssl.MemoryBIO
    _staged: bytearray
    _callback_error: BaseException | None
    _handshake_done: bool
    _shutdown_sent: bool
    _name: ServerName | None
    _policy_failure: CertificateValidationError | None

    @classmethod
    def _create(
        cls,
        context: _Context,
        native: Any,
        server_side: bool,
        server_hostname: str | None,
        name: ServerName | None = None,
        session: TLSSession | None = None,
    ) -> SSLModuleBuffer:
        self = object.__new__(cls)
        self._context = context
        self._name = name
        self._policy_failure = None
        self._flavour = flavour = context._flavour
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._staged = bytearray()
        self._callback_error = None
        self._handshake_done = False
        self._shutdown_sent = False
        offer = {} if session is None else {"session": session.handle}
        with flavour.translate():
            self._obj = native.wrap_bio(
                self._incoming,
                self._outgoing,
                server_side=server_side,
                server_hostname=flavour.bio_hostname(native, server_side, server_hostname),
                **offer,
            )
        with contextlib.suppress(AttributeError):  # __slots__ objects (utls)
            self._obj._tls_adapter_owner = weakref.ref(self)
        return self

    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""
        if self._policy_failure is not None:
            raise self._policy_failure
        _handshaking.owner = weakref.ref(self)
        try:
            with self._flavour.translate():
                self._obj.do_handshake()
        except WantReadError:
            if self._incoming.eof:  # the library would wait for bytes that never come
                raise RaggedEOF("the peer closed the connection during the TLS handshake") from None
            raise
        except WantWriteError:
            raise
        except TLSError:
            raise_parked(self)
            raise
        finally:
            _handshaking.owner = None
        policy = self._context._policy
        # A resumed session was validated, under the same configuration and name, when
        # it was made (the integrations key their caches so); its chain is not sent again.
        if policy is not None and not self._obj.session_reused:
            self._check_policy(policy)
        self._handshake_done = True

    def _check_policy(self, policy: PeerCheck) -> None:
        """The validation policy on the presented chain; a failure kills the connection."""
        try:
            with self._flavour.translate():
                chain = self._flavour.peer_chain(self._obj)
            policy.verify(chain, self._name, isinstance(self._context, ServerContext))
        except CertificateValidationError as e:
            self._policy_failure = e
            raise

    def session(self) -> TLSSession | None:
        """The session to offer when connecting again (TLS 1.3: once the ticket came)."""
        if not self._handshake_done or isinstance(self._context, ServerContext):
            return None
        return session_of(self._flavour, self._obj)

    def session_reused(self) -> bool:
        """Whether the handshake resumed the offered session."""
        return self._handshake_done and bool(self._obj.session_reused)

    def _before_io(self) -> None:
        if not self._handshake_done and (
            self._context._policy is not None or not self._flavour.implicit_handshake
        ):
            self.do_handshake()

    def read(self, amt: int) -> bytes:
        """Up to *amt* decrypted bytes; ``b""`` after the peer's close_notify."""
        self._before_io()
        try:
            try:  # the hot path: no context manager unless something went wrong
                return bytes(self._obj.read(amt))
            except Exception:
                with self._flavour.translate():
                    raise
        except TLSError as e:
            if self._at_clean_close(e):
                return b""
            raise

    def readinto(self, buffer: Buffer, amt: int) -> int:
        """Like :meth:`read`, into *buffer*; 0 after the peer's close_notify."""
        view = memoryview(buffer)
        if view.nbytes > amt or view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")[:amt]  # a library may fill all the buffer it is given
        self._before_io()
        try:
            try:  # the hot path: no context manager unless something went wrong
                return cast(int, self._obj.read(amt, view))
            except Exception:
                with self._flavour.translate():
                    raise
        except TLSError as e:
            if self._at_clean_close(e):
                return 0
            raise

    def _readinto_nowait(self, view: memoryview, amt: int) -> int:
        """:meth:`readinto`, but -1 where it would raise :class:`WantReadError`; the
        library's want-read is caught here, without the translation boundary."""
        if not self._handshake_done or view.nbytes > amt or view.ndim != 1 or view.itemsize != 1:
            return super()._readinto_nowait(view, amt)
        try:
            return cast(int, self._obj.read(amt, view))
        except ssl.SSLWantReadError as e:
            if not self._incoming.eof and not self._flavour.peer_closed(self._obj):
                return -1
            exc: Exception = e
        except Exception as e:
            exc = e
        try:  # what readinto makes of it, without reading again
            with self._flavour.translate():
                raise exc
        except TLSError as e:
            if self._at_clean_close(e):
                return 0
            if isinstance(e, WantReadError):
                return -1
            raise

    def _at_clean_close(self, e: TLSError) -> bool:
        if isinstance(e.__cause__, ssl.SSLZeroReturnError):
            return True
        return (
            isinstance(e, (WantReadError, RaggedEOF))
            and self._handshake_done
            and self._flavour.peer_closed(self._obj)
        )

    def write(self, buf: Buffer) -> int:
        """Encrypt *buf*; raises :class:`WantWriteError` while 256 KiB of output is unsent."""
        admitted = self._admit(memoryview(buf).cast("B"))
        self._before_io()
        try:
            return int(self._obj.write(admitted))
        except Exception:
            with self._flavour.translate():
                raise

    def shutdown(self) -> None:
        """Send ``close_notify``; raises :class:`WantReadError` until the peer's arrives."""
        first = not self._shutdown_sent
        self._shutdown_sent = True
        with self._flavour.translate():
            self._flavour.shutdown(self._obj, self._incoming, first)

    def receive_from_network(self, data: Buffer) -> None:
        """Feed ciphertext from the network; ``b""`` signals transport EOF."""
        if memoryview(data).nbytes:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    def _stage(self) -> None:
        """Move the ciphertext in the outgoing BIO to ``_staged``."""
        if self._outgoing.pending:
            self._staged += self._outgoing.read()

    def incoming_bytes_buffered(self) -> int:
        """Ciphertext received but not yet processed."""
        return self._incoming.pending

    def outgoing_bytes_buffered(self) -> int:
        """Ciphertext waiting to be sent."""
        return len(self._staged) + self._outgoing.pending

    def cipher(self) -> CipherSuite | int | None:
        """The negotiated cipher suite, or ``None`` before the handshake."""
        return cipher_of(self._obj)

    def negotiated_protocol(self) -> NextProtocol | bytes | None:
        """The ALPN protocol agreed on, or ``None``."""
        return alpn_of(self._obj)

    def negotiated_tls_version(self) -> TLSVersion | None:
        """The TLS version in use, or ``None`` before the handshake."""
        return version_of(self._obj)

    def getpeercert(self) -> bytes | None:
        """The peer's leaf certificate as DER, or ``None``."""
        return self._flavour.peer_certificate(self._obj, isinstance(self._context, ServerContext))

    def pending(self) -> int:
        """Decrypted bytes buffered inside the library."""
        return int(self._obj.pending())
