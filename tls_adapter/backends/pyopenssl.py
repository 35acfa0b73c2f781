"""The pyOpenSSL backend: the OpenSSL bundled with ``cryptography``, through ``OpenSSL.SSL``.

Each context builds one native :class:`OpenSSL.SSL.Context` in its constructor and
every connection shares it. Buffers run over memory BIOs (``Connection(ctx, None)``).
Sockets are native: the connection is attached to the socket's descriptor
(``Connection(ctx, sock)``, OpenSSL's own ``recv``/``send``) and driven by
``tls_adapter._socket.DescriptorSocket``, which keeps the descriptor non-blocking and
applies the timeout by waiting (pyOpenSSL's own socket mode would block without one).
OpenSSL reads a record at a time, so what the peer sent after the records a read
needed (a ``close_notify`` after a response) stays in the kernel.

What pyOpenSSL leaves to the caller, this backend does itself:

* **Hostname checks.** pyOpenSSL verifies the chain but not the name. For every client
  connection with a ``server_hostname`` (and ``check_hostname`` on), the expected DNS
  name or IP address is set on the connection's X.509 verify parameters, so OpenSSL
  checks it *during* the handshake and sends the proper alert on a mismatch. Partial
  wildcards and the subject common name are not accepted (as with :mod:`ssl`).
* **SNI.** Sent for DNS names only, never for IP literals (RFC 6066).
* **Closing.** ``close_notify`` is sent by :meth:`~PyOpenSSLBuffer.shutdown`; the
  peer's ``close_notify`` makes ``read`` return ``b""``; a transport EOF without it
  raises :class:`~tls_adapter.RaggedEOF`.

ALPN: a server picks the first of *its* protocols that the client offered. With no
overlap the handshake proceeds without ALPN (RFC 7301 allows a server to ignore the
extension; the ``openssl`` backend behaves the same) and ``negotiated_protocol()``
returns ``None``.

Session resumption (client side): :meth:`~PyOpenSSLBuffer.session` hands out a copy of
OpenSSL's session, decoded from its DER encoding (the live one turns unresumable when
its connection ends without ``close_notify``), and only once it can resume: with TLS
1.3, once the server's ticket has arrived, after the handshake. A session is offered
only to the client context, and the ``check_hostname`` setting, that made it
(``ValueError`` otherwise), and never after the connection failed. A resumed handshake
sends no certificate: the policy's two extra rules ran when the session was made.

``TrustStore.system()`` is the system CA bundle/directory on Linux and BSD. The OS
verifiers of macOS and Windows are reachable only through the ``ssl`` module
(``truststore``), so there this backend refuses ``TrustStore.system()``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket as _socket
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto
from OpenSSL.version import __version__ as _PYOPENSSL_VERSION

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
from .._der import _OCTET_STRING, _integer, _whole
from .._enums import NextProtocol, TLSVersion, protocol_bytes, protocol_from_bytes, version_rank
from .._errors import (
    CertificateValidationError,
    ConfigurationError,
    RaggedEOF,
    TLSError,
    WantReadError,
    WantWriteError,
)
from .._policy import SecurityLevelGaps
from .._session import DEFAULT_SESSION_LIFETIME, TLSSession, check_session
from .._socket import DescriptorSocket
from .._system import OS_VERIFIER, find_system_ca
from .._trust import Certificate, PrivateKey, TrustStore, pem_blocks
from . import Capabilities, _capability_row, _make_backend
from ._buffer_kit import StagedBufferBase
from ._compat import (
    SNI_DEFAULT_ALERT,
    bundled_cipher_names,
    expect_peer_name,
    incoming_bio_pending,
    legacy_tls13_setter,
    outgoing_bio_probe,
    session_der,
    session_from_der,
    set_context_verify_flags,
    set_servername_hook,
    ssl_session_reused,
    verify_reason,
    verify_result,
)
from ._server import SNIDispatch, check_server_configuration, key_error, key_password, raise_parked

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["BACKEND"]

_NAME = "pyopenssl"
_VERSIONS = {
    TLSVersion.MINIMUM_SUPPORTED: 0,
    TLSVersion.TLSv1: SSL.TLS1_VERSION,
    TLSVersion.TLSv1_1: SSL.TLS1_1_VERSION,
    TLSVersion.TLSv1_2: SSL.TLS1_2_VERSION,
    TLSVersion.TLSv1_3: SSL.TLS1_3_VERSION,
    TLSVersion.MAXIMUM_SUPPORTED: 0,
}
# Pseudo-suites OpenSSL knows by code point but that are never negotiated.
_SIGNALLING = frozenset({0x00FF, 0x5600})
_ALERT_INTERNAL_ERROR = 80
# Hostname checks are like the ssl module's: no "f*.example.com" wildcards, never the
# subject CN (the flags are set by _compat.expect_peer_name).
# Like the openssl backend: RFC 5280 strictness, and any trusted certificate is an anchor.
_VERIFY_FLAGS = crypto.X509StoreFlags.X509_STRICT | crypto.X509StoreFlags.PARTIAL_CHAIN


def _tls13_setter() -> Callable[[SSL.Context, bytes], None] | None:
    """How to restrict TLS 1.3 suites with this pyOpenSSL, or ``None`` if it cannot."""
    method = getattr(SSL.Context, "set_tls13_ciphersuites", None)  # pyOpenSSL >= 25.2
    if method is not None:
        return method  # type: ignore[no-any-return]
    return legacy_tls13_setter()  # pragma: no cover - pyOpenSSL 25.0 and 25.1


_SET_TLS13_SUITES = _tls13_setter()


# -- error translation: the one boundary ------------------------------------------------
def _error_text(error: Exception) -> str:
    """OpenSSL's reasons from a pyOpenSSL error, e.g. ``"tlsv1 alert unknown ca"``."""
    queue = error.args[0] if error.args else None
    if isinstance(queue, list) and queue and all(isinstance(t, tuple) for t in queue):
        reasons = [str(t[-1] or t[0]) for t in queue if len(t) >= 1]
        return "; ".join(dict.fromkeys(reasons))
    return str(error) or "TLS failure (OpenSSL gave no reason)"


@contextlib.contextmanager
def _translate(owner: PyOpenSSLBuffer | None = None) -> Iterator[None]:
    """Turn pyOpenSSL exceptions into tls_adapter's, chaining the original."""
    try:
        yield
    except SSL.WantReadError as e:
        raise WantReadError("more data from the network is needed") from e
    except SSL.WantWriteError as e:  # pragma: no cover - memory BIOs never fill up
        raise WantWriteError("buffered outgoing data must be sent first") from e
    except SSL.ZeroReturnError as e:
        raise TLSError("the TLS connection has been closed") from e
    except SSL.SysCallError as e:
        # Over memory BIOs the only "system call" failure is the transport EOF; on a
        # descriptor, a failing recv/send reports its errno (what ssl raises then).
        code = e.args[0] if e.args and isinstance(e.args[0], int) else -1
        if code > 0:
            if owner is not None:
                owner._failed = True
            raise OSError(code, os.strerror(code)) from e
        # A truncation (many HTTP servers close so) leaves the session resumable: TLS
        # 1.1 and later allow it, as the other backends do.
        raise RaggedEOF("the peer closed the connection without a TLS close_notify") from e
    except SSL.Error as e:
        text = _error_text(e)
        if owner is not None:
            owner._failed = True  # OpenSSL drops the session after a fatal error
            reason = owner._verify_failure(text)
            if reason is not None:
                code = verify_result(owner._conn)  # X509_V_ERR_*, 0 if none
                raise CertificateValidationError(reason, verify_code=code or None) from e
            raise_parked(owner)
        raise TLSError(text) from e


@contextlib.contextmanager
def _building(what: str) -> Iterator[None]:
    """Library errors while a context is built are configuration errors."""
    try:
        yield
    except (SSL.Error, crypto.Error) as e:
        raise ConfigurationError(f"the {_NAME} backend cannot {what}: {_error_text(e)}") from e


# -- cipher names -----------------------------------------------------------------------
_tables_lock = threading.Lock()
_id_to_name: dict[int, str] = {}
_name_to_id: dict[str, int] = {}


def _cipher_tables() -> tuple[dict[int, str], dict[str, int]]:
    """IANA code point <-> name tables of the *bundled* OpenSSL (built once, lazily)."""
    with _tables_lock:
        if not _id_to_name:
            bundled = bundled_cipher_names()
            if bundled is not None:
                _id_to_name.update((v, n) for v, n in bundled.items() if v not in _SIGNALLING)
            else:  # pragma: no cover - bindings without SSL_CIPHER_find
                _id_to_name.update(openssl_name_table())
            for value, name in _id_to_name.items():
                _name_to_id.setdefault(name, value)
        return _id_to_name, _name_to_id


def _default_tls13_suites() -> frozenset[int]:  # pragma: no cover - older pyOpenSSL only
    _, ids = _cipher_tables()
    probe = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None)
    return frozenset(
        ids[n] for n in probe.get_cipher_list() if n in ids and ids[n] in TLS13_CIPHER_SUITES
    )


# -- building the native context --------------------------------------------------------
def _configure_versions_and_ciphers(native: SSL.Context, config: TLSConfiguration) -> None:
    for field, version in (
        ("lowest_supported_version", config.lowest_supported_version),
        ("highest_supported_version", config.highest_supported_version),
    ):
        if version not in _VERSIONS:
            raise ConfigurationError(f"the {_NAME} backend does not support {field}={version.name}")
    lowest = config.lowest_supported_version
    highest = config.highest_supported_version
    tls13_on = version_rank(highest) >= version_rank(TLSVersion.TLSv1_3)
    tls12_on = version_rank(lowest) <= version_rank(TLSVersion.TLSv1_2)
    allowed = config.ciphers if config.ciphers is not None else DEFAULT_CIPHER_LIST
    names, _ = _cipher_tables()
    legacy = [names[int(c)] for c in allowed if int(c) not in TLS13_CIPHER_SUITES and c in names]
    modern = [names[int(c)] for c in allowed if int(c) in TLS13_CIPHER_SUITES and c in names]
    if tls13_on and _SET_TLS13_SUITES is None:  # pragma: no cover - older pyOpenSSL
        check_fixed_tls13_suites(_default_tls13_suites(), allowed, "this pyOpenSSL")
    elif tls13_on and not modern:
        if not (tls12_on and legacy):
            raise ConfigurationError(
                f"none of the configured ciphers is usable with the TLS versions allowed on "
                f"the {_NAME} backend"
            )
        highest = TLSVersion.TLSv1_2  # only TLS 1.2 suites were allowed
    if tls12_on and not legacy:
        if not tls13_on:
            raise ConfigurationError(
                f"none of the configured ciphers is usable with TLS 1.2 or lower on the "
                f"{_NAME} backend"
            )
        lowest = TLSVersion.TLSv1_3  # only TLS 1.3 suites were allowed
    with _building("set the TLS versions"):
        native.set_min_proto_version(_VERSIONS[lowest])
        native.set_max_proto_version(_VERSIONS[highest])
    if legacy:
        with _building("use the configured TLS 1.2 ciphers"):
            native.set_cipher_list(":".join(legacy).encode("ascii"))
    if modern and _SET_TLS13_SUITES is not None:
        with _building("use the configured TLS 1.3 ciphers"):
            _SET_TLS13_SUITES(native, ":".join(modern).encode("ascii"))


def _alpn_selector(
    protocols: tuple[bytes, ...],
) -> Callable[[SSL.Connection, list[bytes]], bytes | Any]:
    def select(conn: SSL.Connection, offered: list[bytes]) -> bytes | Any:
        for protocol in protocols:
            if protocol in offered:
                return protocol
        return SSL.NO_OVERLAPPING_PROTOCOLS

    return select


def _configure_alpn(native: SSL.Context, config: TLSConfiguration, server_side: bool) -> None:
    if not config.inner_protocols:
        return
    protocols = tuple(protocol_bytes(p) for p in config.inner_protocols)
    with _building("use the ALPN protocols"):
        if server_side:
            native.set_alpn_select_callback(_alpn_selector(protocols))
        else:
            native.set_alpn_protos(list(protocols))


def _load_trust(native: SSL.Context, store: TrustStore) -> None:
    try:
        if store.kind == "system":
            if OS_VERIFIER:
                raise ConfigurationError(
                    f"the {_NAME} backend cannot use the operating system's trust store on "
                    "this platform (only the openssl backend reaches it, through truststore); "
                    "use the openssl backend, or pass TrustStore.certifi() or a CA bundle"
                )
            found = find_system_ca()
            native.load_verify_locations(found.cafile, found.capath)
        elif store.kind == "directory":
            native.load_verify_locations(None, store.path)
        elif store.kind == "buffer":
            pem = store.pem_bytes()
            assert pem is not None
            cert_store = native.get_cert_store()
            assert cert_store is not None
            for _, der in pem_blocks(pem):
                cert = crypto.X509.from_cryptography(x509.load_der_x509_certificate(der))
                cert_store.add_cert(cert)
        else:
            native.load_verify_locations(store.path)
    except (SSL.Error, crypto.Error, ValueError) as e:
        raise ConfigurationError(
            f"the {_NAME} backend cannot load trust store {store!r}: {_error_text(e)}"
        ) from e


def _load_chain(native: SSL.Context, chain: tuple[tuple[Certificate, ...], PrivateKey]) -> None:
    """Load the chain and key from memory; nothing is written to disk."""
    certs, key = chain
    password = key_password(key, _NAME)
    try:
        private = serialization.load_pem_private_key(key.to_pem(), password)
    except (TypeError, ValueError, UnsupportedAlgorithm) as e:
        raise key_error(_NAME, str(e), encrypted=key.encrypted) from e
    try:
        native.use_certificate(x509.load_der_x509_certificate(certs[0].to_der()))
        for extra in certs[1:]:
            native.add_extra_chain_cert(x509.load_der_x509_certificate(extra.to_der()))
        native.use_privatekey(private)  # type: ignore[arg-type]
        native.check_privatekey()
    except SSL.Error as e:
        text = _error_text(e)
        raise key_error(_NAME, text, encrypted=False, mismatch="mismatch" in text) from e
    except (TypeError, ValueError) as e:
        raise key_error(_NAME, str(e), encrypted=False) from e


def _base_native(method: int) -> SSL.Context:
    native = SSL.Context(method)
    native.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_NO_RENEGOTIATION)
    return native


def _strict_verification(native: SSL.Context) -> None:
    # On the context's own verify parameters (copied into each connection), not the
    # store's: see _compat.set_context_verify_flags for why X509Store.set_flags differs.
    set_context_verify_flags(native, _VERIFY_FLAGS)


def _build_client_native(config: TLSConfiguration) -> SSL.Context:
    native = _base_native(SSL.TLS_CLIENT_METHOD)
    _configure_versions_and_ciphers(native, config)
    _configure_alpn(native, config, server_side=False)
    if config.validate_certificates:
        store = config.trust_store if config.trust_store is not None else TrustStore.system()
        _strict_verification(native)
        native.set_verify(SSL.VERIFY_PEER)
        _load_trust(native, store)
    else:
        native.set_verify(SSL.VERIFY_NONE)
    if config.certificate_chain is not None:
        _load_chain(native, config.certificate_chain)
    return native


def _build_server_native(config: TLSConfiguration) -> tuple[SSL.Context, int]:
    check_server_configuration(config, _NAME)
    native = _base_native(SSL.TLS_SERVER_METHOD)
    native.set_options(SSL.OP_CIPHER_SERVER_PREFERENCE)
    # Sessions resume only on the context that made them (OpenSSL refuses to resume
    # without an id context once client certificates are verified).
    native.set_session_id(os.urandom(16))
    _configure_versions_and_ciphers(native, config)
    _configure_alpn(native, config, server_side=True)
    verify_mode = SSL.VERIFY_NONE
    if config.trust_store is not None:
        verify_mode = SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT
        _strict_verification(native)
        _load_trust(native, config.trust_store)
    native.set_verify(verify_mode)
    if config.certificate_chain is not None:
        _load_chain(native, config.certificate_chain)
    return native, verify_mode


# -- contexts ---------------------------------------------------------------------------
class PyOpenSSLClientContext(ClientContext):
    """A client context whose native :class:`OpenSSL.SSL.Context` is built once, here.

    Hostname checks are per connection (X.509 verify parameters), so one native context
    serves both ``check_hostname=True`` and ``False``.
    """

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        self._native = _build_client_native(configuration)
        self._gaps = _GAPS if configuration.validate_certificates else None

    def wrap_buffers(
        self,
        server_hostname: str | None,
        *,
        check_hostname: bool = True,
        session: TLSSession | None = None,
    ) -> TLSWrappedBuffer:
        """A new in-memory client connection over pyOpenSSL memory BIOs."""
        name = ServerName(server_hostname, check_hostname)
        offer = _to_offer(session, self._native, name)
        return PyOpenSSLBuffer._create(self, self._native, name, offer=offer)

    def wrap_socket(
        self,
        socket: _socket.socket,
        server_hostname: str | None,
        *,
        check_hostname: bool = True,
        session: TLSSession | None = None,
    ) -> TLSWrappedSocket:
        """Wrap a connected socket: OpenSSL reads and writes its descriptor itself."""
        name = ServerName(server_hostname, check_hostname)
        offer = _to_offer(session, self._native, name)
        return DescriptorSocket._attach(
            socket, lambda sock: PyOpenSSLBuffer._create(self, self._native, name, sock, offer)
        )


# -- sessions ---------------------------------------------------------------------------
# OpenSSL's encoding of a session (ssl/ssl_asn1.c): a SEQUENCE of version, protocol
# version, cipher, session id and master secret, then optional EXPLICIT fields, of
# which these tell whether and how long it can resume.
_TIMEOUT = 0xA2  # [2] INTEGER: seconds
_LIFETIME_HINT = 0xA9  # [9] INTEGER: the server's ticket_lifetime_hint, seconds
_TICKET = 0xAA  # [10] OCTET STRING
#: Set on each session handed out: the ``check_hostname`` it was made under.
_MADE_CHECKING = "_tls_adapter_check_hostname"


def _lifetime_if_resumable(der: bytes, version: TLSVersion | None) -> float | None:
    """How long the session encoded in *der* may be offered, or ``None`` if it cannot
    resume: neither id nor ticket (OpenSSL's ``SSL_SESSION_is_resumable``) or, with TLS
    1.3, no ticket yet. Anything unexpected in the encoding is ``None`` too."""
    try:
        fields = _whole(der, "SSL session").children("SSL session")
        if len(fields) < 5:
            return None
        session_id = fields[3].expect(_OCTET_STRING, "session id").content
        tagged = {field.tag: field.children("session field") for field in fields[5:]}
        ticket = b""
        if tagged.get(_TICKET):
            ticket = tagged[_TICKET][0].expect(_OCTET_STRING, "ticket").content
        limits = [
            _integer(tagged[tag][0], "session lifetime")
            for tag in (_TIMEOUT, _LIFETIME_HINT)
            if tagged.get(tag)
        ]
    except ValueError:
        return None
    if not ticket and (version is TLSVersion.TLSv1_3 or not session_id):
        return None
    positive = [limit for limit in limits if limit > 0]
    return float(min(positive)) if positive else DEFAULT_SESSION_LIFETIME


def _to_offer(session: object, native: SSL.Context, name: ServerName) -> SSL.Session | None:
    """The library session of *session* if this context may offer it for *name*.

    :raises ValueError: the session was made by another client context or under
        another ``check_hostname`` setting (as the ``openssl`` backend, whose contexts
        differ then, refuses it).
    """
    offered = check_session(session, _NAME, True)
    if offered is None:
        return None
    handle = offered.handle
    if not isinstance(handle, SSL.Session) or handle._context is not native:
        raise ValueError(
            f"this session was made by another {_NAME} client context: a session can "
            "only be offered by the context that made it"
        )
    if getattr(handle, _MADE_CHECKING, None) is not name.check:
        raise ValueError(
            "this session was made with check_hostname="
            f"{getattr(handle, _MADE_CHECKING, None)}: it can only be offered with the "
            "same setting"
        )
    return handle


class PyOpenSSLServerContext(ServerContext):
    """A server context whose native :class:`OpenSSL.SSL.Context` is built once, here.

    With an ``sni_callback``, a configuration the callback returns gets its own cached
    context, and the connection switches to it: its certificate chain, ALPN protocols,
    client-certificate requirement and trust store apply. TLS versions and ciphers are
    fixed before the callback runs and keep the original values.
    """

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        self._native, self._verify_mode = _build_server_native(configuration)
        self._gaps = _GAPS if configuration.trust_store is not None else None
        self._sni: SNIDispatch[PyOpenSSLServerContext] | None = None
        self._servername_hook: Any = None
        if configuration.sni_callback is not None:
            self._sni = SNIDispatch(configuration, type(self))
            self._install_sni_hook()

    def _install_sni_hook(self) -> None:
        # pyOpenSSL's own wrapper reports callback exceptions through sys.excepthook;
        # this hook keeps the exception for do_handshake() and always fails closed.
        ref = weakref.ref(self)

        def on_servername(conn: SSL.Connection) -> int | None:
            context = ref()
            if context is None:  # pragma: no cover - a connection outlives its context
                return SNI_DEFAULT_ALERT
            return context._on_sni(conn)

        self._servername_hook = set_servername_hook(self._native, on_servername)

    def _on_sni(self, conn: SSL.Connection) -> int | None:
        """OpenSSL's servername hook: the shared runner; a failure is parked for do_handshake().

        ``None`` goes on; an alert number aborts the handshake with it.
        """
        if self._sni is None:  # pragma: no cover - cannot happen
            return SNI_DEFAULT_ALERT
        owner_ref = conn.get_app_data()
        owner = owner_ref() if owner_ref is not None else None
        switch = functools.partial(_switch, conn)
        return self._sni.run_or_park(owner, conn.get_servername(), switch, _ALERT_INTERNAL_ERROR)

    def wrap_buffers(self) -> TLSWrappedBuffer:
        """A new in-memory server connection over pyOpenSSL memory BIOs."""
        return PyOpenSSLBuffer._create(self, self._native, None)

    def wrap_socket(self, socket: _socket.socket) -> TLSWrappedSocket:
        """Wrap an accepted socket: OpenSSL reads and writes its descriptor itself."""
        return DescriptorSocket._attach(
            socket, lambda sock: PyOpenSSLBuffer._create(self, self._native, None, sock)
        )


def _switch(conn: SSL.Connection, derived: PyOpenSSLServerContext) -> None:
    """Move *conn* to *derived*'s native context (chain, ALPN, trust) and verify mode."""
    conn.set_context(derived._native)
    conn.set_verify(derived._verify_mode)


# -- connections ------------------------------------------------------------------------
def _nothing() -> int:
    """No ciphertext waits in memory BIOs: a connection on a descriptor reads and writes
    it itself."""
    return 0


#: OpenSSL enforces the validation policy but for two rules; see ``_policy``.
_GAPS = SecurityLevelGaps()
_STAGE_CHUNK = 65536  # bytes per bio_read() while draining OpenSSL's outgoing BIO


class PyOpenSSLBuffer(StagedBufferBase[PyOpenSSLClientContext | PyOpenSSLServerContext]):
    """A TLS connection over memory buffers: an ``OpenSSL.SSL.Connection`` with memory BIOs."""

    _conn: SSL.Connection
    _outgoing_pending: Callable[[], int]
    _incoming_pending: Callable[[], int]
    _name: ServerName | None
    _staged: bytearray
    _established: bool
    _callback_error: BaseException | None
    _unchecked: bool
    _check_failure: CertificateValidationError | None
    _failed: bool

    @classmethod
    def _create(
        cls,
        context: PyOpenSSLClientContext | PyOpenSSLServerContext,
        native: SSL.Context,
        name: ServerName | None,
        sock: _socket.socket | None = None,
        offer: SSL.Session | None = None,
    ) -> PyOpenSSLBuffer:
        """A connection over memory BIOs, or attached to *sock*'s descriptor; a client
        offers the session *offer* (checked by :func:`_to_offer`)."""
        self = object.__new__(cls)
        self._context = context
        self._name = name
        self._staged = bytearray()
        self._established = False
        self._callback_error = None
        self._unchecked = context._gaps is not None
        self._check_failure = None
        self._failed = False
        conn = SSL.Connection(native, sock)
        if name is None:
            conn.set_accept_state()
        else:
            conn.set_connect_state()
            if name.sni is not None:
                conn.set_tlsext_host_name(name.sni.encode("ascii"))
            if name.check and context.configuration.validate_certificates:
                _expect_peer_name(conn, name)
            if offer is not None:
                # A copy per connection: OpenSSL marks the session a connection used
                # unresumable when that connection ends without close_notify, and a
                # TLS 1.2 session may be offered again.
                conn.set_session(session_from_der(session_der(offer), offer))
        conn.set_app_data(weakref.ref(self))
        self._conn = conn
        if sock is None:
            self._outgoing_pending = outgoing_bio_probe(conn)
            self._incoming_pending = functools.partial(incoming_bio_pending, conn)
        else:  # no memory BIOs: OpenSSL reads and writes the descriptor
            self._outgoing_pending = self._incoming_pending = _nothing
        return self

    def _verify_failure(self, text: str) -> str | None:
        """Why the peer's certificate was rejected, if that is what *text* reports."""
        if "certificate verify failed" not in text:
            return None
        code = verify_result(self._conn)
        shown = self._name.name if self._name is not None else None
        if code == SSL.X509VerificationCodes.ERR_HOSTNAME_MISMATCH:
            return f"Hostname mismatch, certificate is not valid for {shown!r}."
        if code == SSL.X509VerificationCodes.ERR_IP_ADDRESS_MISMATCH:
            return f"IP address mismatch, certificate is not valid for {shown!r}."
        if code != SSL.X509VerificationCodes.OK:
            return verify_reason(code)
        return text

    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""
        if self._check_failure is not None:
            raise self._check_failure
        with _translate(self):
            self._conn.do_handshake()
        self._established = True
        if self._unchecked and ssl_session_reused(self._conn):
            # A resumed handshake sends no certificate. The session's chain passed
            # these checks, under this context and name, when it was made.
            self._unchecked = False
        if self._unchecked:
            self._check_gaps()

    def _check_gaps(self) -> None:
        """The two policy rules OpenSSL lacks, on the chain it verified (public API)."""
        gaps = self._context._gaps
        assert gaps is not None
        chain = self._conn.get_verified_chain(as_cryptography=True) or []
        try:
            gaps.verify(
                [c.public_bytes(serialization.Encoding.DER) for c in chain],
                self._name,
                isinstance(self._context, PyOpenSSLServerContext),
            )
        except CertificateValidationError as e:
            self._check_failure = e
            raise
        self._unchecked = False

    def read(self, amt: int) -> bytes:
        """Up to *amt* decrypted bytes; ``b""`` after the peer's close_notify."""
        if amt < 0:
            raise ValueError("amt must not be negative")
        if amt == 0:
            return b""
        if self._unchecked:  # an implicit handshake would skip the policy's two rules
            self.do_handshake()
        try:
            try:  # the hot path: no context manager unless something went wrong
                data = self._conn.recv(amt)
            except SSL.Error:
                with _translate(self):
                    raise
        except TLSError as e:
            if isinstance(e.__cause__, SSL.ZeroReturnError):
                return b""
            raise
        self._established = True
        return data

    def readinto(self, buffer: Buffer, amt: int) -> int:
        """Like :meth:`read`, into *buffer*; 0 after the peer's close_notify."""
        view = memoryview(buffer)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        if amt is None or amt < 0:
            amt = view.nbytes
        amt = min(amt, view.nbytes)
        if amt == 0:
            return 0
        if self._unchecked:
            self.do_handshake()
        try:
            try:  # the hot path: no context manager unless something went wrong
                count = self._conn.recv_into(view, amt)
            except SSL.Error:
                with _translate(self):
                    raise
        except TLSError as e:
            if isinstance(e.__cause__, SSL.ZeroReturnError):
                return 0
            raise
        self._established = True
        return count

    def _readinto_nowait(self, view: memoryview, amt: int) -> int:
        """:meth:`readinto`, but -1 where it would raise :class:`WantReadError`."""
        if self._unchecked or amt <= 0 or view.ndim != 1 or view.itemsize != 1:
            return super()._readinto_nowait(view, amt)
        try:
            count: int = self._conn.recv_into(view, min(amt, view.nbytes))
        except SSL.WantReadError:
            return -1
        except SSL.Error as e:
            exc = e
        else:
            self._established = True
            return count
        try:  # what readinto makes of it, without reading again
            with _translate(self):
                raise exc
        except TLSError as e:
            if isinstance(e.__cause__, SSL.ZeroReturnError):
                return 0
            raise

    def write(self, buf: Buffer) -> int:
        """Encrypt *buf*; raises :class:`WantWriteError` while 256 KiB of output is unsent."""
        view = memoryview(buf).cast("B")
        if not view.nbytes:
            return 0
        admitted = self._admit(view)
        if self._unchecked:
            self.do_handshake()
        with _translate(self):
            sent = self._conn.send(admitted)
        self._established = True
        return sent

    def shutdown(self) -> None:
        """Send ``close_notify``; raises :class:`WantReadError` until the peer's arrives."""
        with _translate(self):
            if self._conn.shutdown():
                return
            # Ours is out; a second call waits for the peer's (WantReadError meanwhile).
            if self._conn.shutdown():
                return
        raise WantReadError("waiting for the peer's close_notify")

    def receive_from_network(self, data: Buffer) -> None:
        """Feed ciphertext from the network; ``b""`` signals transport EOF."""
        view = memoryview(data).cast("B")
        if view.nbytes:
            self._conn.bio_write(view)
        else:
            self._conn.bio_shutdown()

    def _stage(self) -> None:
        """Move OpenSSL's outgoing ciphertext into ``_staged`` (public ``bio_read``)."""
        if not self._outgoing_pending():
            return
        while True:
            try:
                self._staged += self._conn.bio_read(_STAGE_CHUNK)
            except SSL.WantReadError:  # the memory BIO is empty
                return

    def incoming_bytes_buffered(self) -> int:
        """Ciphertext received but not yet processed."""
        return self._incoming_pending()

    def outgoing_bytes_buffered(self) -> int:
        """Ciphertext waiting to be sent."""
        return len(self._staged) + self._outgoing_pending()

    def cipher(self) -> CipherSuite | int | None:
        """The negotiated cipher suite, or ``None`` before the handshake."""
        name = self._conn.get_cipher_name()
        if name is None:
            return None
        value = _cipher_tables()[1].get(name)
        return None if value is None else cipher_suite_from_int(value)

    def negotiated_protocol(self) -> NextProtocol | bytes | None:
        """The ALPN protocol agreed on, or ``None``."""
        selected = self._conn.get_alpn_proto_negotiated()
        return protocol_from_bytes(selected) if selected else None

    def negotiated_tls_version(self) -> TLSVersion | None:
        """The TLS version in use, or ``None`` before the handshake."""
        if not self._established:
            return None
        try:
            return TLSVersion(self._conn.get_protocol_version_name())
        except ValueError:
            return None

    def getpeercert(self) -> bytes | None:
        """The peer's leaf certificate as DER, or ``None``."""
        cert = self._conn.get_peer_certificate(as_cryptography=True)
        if cert is None:
            return None
        return cert.public_bytes(serialization.Encoding.DER)

    def pending(self) -> int:
        """Decrypted bytes buffered inside OpenSSL."""
        return self._conn.pending()

    def session(self) -> TLSSession | None:
        """A copy of the session to offer when connecting again, once it can resume
        (TLS 1.3: once the server's ticket has arrived); ``None`` on a server, before
        the handshake was validated, and after the connection failed."""
        if self._name is None or not self._established or self._unchecked or self._failed:
            return None
        live = self._conn.get_session()
        if live is None:  # pragma: no cover - OpenSSL has one after any handshake
            return None
        version = self.negotiated_tls_version()
        der = session_der(live)
        lifetime = _lifetime_if_resumable(der, version)
        if lifetime is None:
            return None
        copy = session_from_der(der, live)
        setattr(copy, _MADE_CHECKING, self._name.check)
        return TLSSession(_NAME, copy, version, lifetime)

    def session_reused(self) -> bool:
        """Whether the handshake resumed a session (on a server: the client's)."""
        return self._established and ssl_session_reused(self._conn)


def _expect_peer_name(conn: SSL.Connection, name: ServerName) -> None:
    """Make OpenSSL check the certificate against *name* during the handshake."""
    if name.ip is not None:
        ok = expect_peer_name(conn, ip=name.ip.packed)
    else:
        assert name.name is not None
        ok = expect_peer_name(conn, host=name.name)
    if not ok:  # pragma: no cover - only on allocation failure
        raise TLSError(f"the {_NAME} backend could not set the expected peer name")


def _capabilities() -> Capabilities:
    library = SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode("ascii", "replace")
    tls13_control = _SET_TLS13_SUITES is not None
    notes = [
        "sockets are native: OpenSSL reads and writes the descriptor (non-blocking, "
        "timeouts applied by tls_adapter)",
        "ALPN: a server with no protocol in common proceeds without ALPN",
        "sni_callback can switch the certificate chain, ALPN protocols and client "
        "authentication; TLS versions and ciphers keep their values",
        "TLS 1.0/1.1 are configurable but OpenSSL's default security level refuses them",
        "session resumption (client): TLS 1.2 and 1.3 (a TLS 1.3 session exists once the "
        "server's ticket has arrived, after the handshake); a session is accepted only by "
        "the client context and check_hostname setting that made it (ValueError)",
    ]
    if not tls13_control:  # pragma: no cover - older pyOpenSSL
        notes.insert(0, "TLS 1.3 suites cannot be restricted: OpenSSL's defaults must be allowed")
    return _capability_row(
        f"pyOpenSSL {_PYOPENSSL_VERSION} ({library})",
        (TLSVersion.TLSv1, TLSVersion.TLSv1_1, TLSVersion.TLSv1_2, TLSVersion.TLSv1_3),
        cipher_control="all" if tls13_control else "tls1.2",
        system_trust=(
            "unavailable on this OS (the OS verifier is reachable only through the openssl "
            "backend's truststore)"
            if OS_VERIFIER
            else "system CA bundle/directory at ssl's default paths (SSL_CERT_FILE and "
            "SSL_CERT_DIR honoured), loaded per context"
        ),
        notes=tuple(notes),
        native_socket=True,
        session_resumption=True,
    )


#: The pyOpenSSL backend.
BACKEND = _make_backend(_NAME, PyOpenSSLClientContext, PyOpenSSLServerContext, _capabilities())
