"""The OpenSSL backend, through the standard library's :mod:`ssl` module.

Each context builds its native :class:`ssl.SSLContext` once, in the constructor, and
every connection reuses it (a second native context, with hostname checking off, is
built lazily for ``check_hostname=False``). Sockets are wrapped natively by
``ssl.SSLSocket``, so bulk throughput is the stdlib's; buffers are ``ssl.SSLObject``
over ``ssl.MemoryBIO``. The engine is shared with the rustls and BoringSSL backends
(``_sslmodule.py``); this module holds what is particular to the stdlib.

What ``ssl`` cannot do, this backend refuses with ``ConfigurationError``: it cannot
restrict or reorder TLS 1.3 cipher suites (OpenSSL's default TLS 1.3 suites must all
be allowed, or TLS 1.3 switched off), cannot offer ALPN identifiers that are not
ASCII, and cannot ask a server for a client certificate without validating it.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._api import ServerName, TLSWrappedSocket
from .._ciphers import CipherSuite
from .._config import TLSConfiguration
from .._enums import NextProtocol, TLSVersion
from .._errors import (
    CertificateValidationError,
    ConfigurationError,
    TLSError,
    WantReadError,
    WantWriteError,
)
from .._policy import PeerCheck, SecurityLevelGaps
from .._session import TLSSession
from .._ssl_compat import STDLIB_CONTEXT
from .._system import OS_VERIFIER, find_system_ca
from .._trust import Certificate, PrivateKey, TrustStore
from . import Capabilities, _make_backend
from . import _sslmodule as _engine
from ._server import key_password, raise_parked

if TYPE_CHECKING:
    import socket

    from typing_extensions import Buffer

__all__ = ["BACKEND", "build_client_native", "build_server_native"]


@contextlib.contextmanager
def _in_memory_file(data: bytes) -> Iterator[str]:
    """A path OpenSSL can open whose contents never touch a disk unencrypted."""
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        fd = memfd_create("tls_adapter", getattr(os, "MFD_CLOEXEC", 1))
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    if b"PRIVATE KEY" in data and b"ENCRYPTED" not in data:  # pragma: no cover - not Linux
        raise ConfigurationError(
            "the openssl backend can only load unencrypted in-memory private keys on "
            "platforms with memfd_create(); load the key from a file, or encrypt it"
        )
    fd, path = tempfile.mkstemp(prefix="tls_adapter-")  # pragma: no cover - not Linux
    try:  # pragma: no cover
        os.write(fd, data)
        os.close(fd)
        yield path
    finally:  # pragma: no cover
        os.unlink(path)


class _OpenSSLFlavour(_engine.Flavour):
    """The standard library's :mod:`ssl`: the reference the other flavours differ from."""

    name = "openssl"
    resumption = True
    tls_versions = tuple(
        v
        for v, flag in (
            (TLSVersion.TLSv1, ssl.HAS_TLSv1),
            (TLSVersion.TLSv1_1, ssl.HAS_TLSv1_1),
            (TLSVersion.TLSv1_2, ssl.HAS_TLSv1_2),
            (TLSVersion.TLSv1_3, ssl.HAS_TLSv1_3),
        )
        if flag
    )
    clamp_versions = False
    native_socket = True

    def os_verifies(self, store: TrustStore) -> bool:
        """On macOS and Windows the OS verifies the system store (via truststore)."""
        return store.kind == "system" and OS_VERIFIER

    def peer_check(self, config: TLSConfiguration, server_side: bool) -> PeerCheck | None:
        """OpenSSL enforces the policy but for two rules, checked on its verified chain."""
        validating = config.trust_store is not None if server_side else config.validate_certificates
        return _GAPS if validating else None

    def peer_chain(self, obj: Any) -> list[bytes]:
        """The chain OpenSSL verified (the gaps are checked where OpenSSL looked)."""
        return verified_chain_der(obj)

    def new_native(self, server_side: bool, config: TLSConfiguration) -> Any:
        """``ssl.SSLContext``, or ``truststore.SSLContext`` for the OS verifier."""
        if server_side:
            return STDLIB_CONTEXT(ssl.PROTOCOL_TLS_SERVER)
        store = config.trust_store if config.trust_store is not None else TrustStore.system()
        if config.validate_certificates and self.os_verifies(store):
            import truststore  # pragma: no cover - macOS/Windows only

            return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # pragma: no cover
        return STDLIB_CONTEXT(ssl.PROTOCOL_TLS_CLIENT)

    def harden(self, ctx: Any, server_side: bool) -> None:
        """No compression, no renegotiation; servers pick the cipher; no CN matching."""
        ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
        if server_side:
            ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        else:
            ctx.hostname_checks_common_name = False

    def strict_verification(self, ctx: Any) -> None:
        """RFC 5280-strict chains; any trusted certificate may anchor (partial chains)."""
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT | getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)

    def tls13_suites(self) -> frozenset[int]:
        """OpenSSL's default TLS 1.3 suites, which ``ssl`` cannot change."""
        probe = STDLIB_CONTEXT(ssl.PROTOCOL_TLS_CLIENT)
        return frozenset(
            c["id"] & 0xFFFF for c in probe.get_ciphers() if c["protocol"] == "TLSv1.3"
        )

    def load_chain(self, ctx: Any, chain: tuple[tuple[Certificate, ...], PrivateKey]) -> None:
        """``ssl`` loads only from paths: give it memfd paths (never a plaintext key file)."""
        certs, key = chain
        password = key_password(key, self.name)
        pem_chain = b"".join(c.to_pem() for c in certs)
        with _in_memory_file(pem_chain) as cert_path, _in_memory_file(key.to_pem()) as key_path:
            ctx.load_cert_chain(cert_path, key_path, password)

    def load_system_trust(self, ctx: Any, purpose: ssl.Purpose) -> None:
        """OpenSSL's default paths, else the bundles truststore knows about."""
        found = find_system_ca()
        if found.openssl_defaults:
            ctx.load_default_certs(purpose)
        else:
            ctx.load_verify_locations(cafile=found.cafile)


_FLAVOUR = _OpenSSLFlavour(ssl)


def build_client_native(config: TLSConfiguration, check_hostname: bool) -> ssl.SSLContext:
    """The :class:`ssl.SSLContext` for a client configuration (used by the urllib3 shim too)."""
    ctx: ssl.SSLContext = _engine.build_client_native(_FLAVOUR, config, check_hostname)
    return ctx


def build_server_native(config: TLSConfiguration) -> ssl.SSLContext:
    """The :class:`ssl.SSLContext` for a server configuration."""
    ctx: ssl.SSLContext = _engine.build_server_native(_FLAVOUR, config)
    return ctx


_GAPS = SecurityLevelGaps()


def verified_chain_der(obj: Any) -> list[bytes]:
    """The chain OpenSSL verified for *obj* (``ssl.SSLObject``/``SSLSocket``): DER, leaf first.

    Python 3.13 made ``get_verified_chain()`` public (it returns DER ``bytes``); 3.10 to
    3.12 have a method of that name on the private ``_sslobj`` that returns
    ``_ssl.Certificate`` objects (checked on CPython 3.10.x to 3.13.x). Empty when there
    is none (no validation, or before the handshake).
    """
    getter = getattr(obj, "get_verified_chain", None)
    if getter is None:
        getter = obj._sslobj.get_verified_chain
    return [
        bytes(c) if isinstance(c, (bytes, bytearray)) else bytes(c.public_bytes(_ENCODING_DER))
        for c in getter() or ()
    ]


_ENCODING_DER = 2  # _ssl.ENCODING_DER


class OpenSSLBuffer(_engine.SSLModuleBuffer):
    """A TLS connection over memory buffers: ``ssl.SSLObject`` and two ``ssl.MemoryBIO``."""


class OpenSSLSocket(TLSWrappedSocket):
    """A TLS socket driven natively by the library's ``SSLSocket``, with errors translated."""

    _context: _engine.SSLModuleClientContext | _engine.SSLModuleServerContext
    _flavour: _engine.Flavour
    _ssl: ssl.SSLSocket
    _callback_error: BaseException | None
    _name: ServerName | None
    _unchecked: bool
    _check_failure: CertificateValidationError | None

    @classmethod
    def _create(
        cls,
        context: _engine.SSLModuleClientContext | _engine.SSLModuleServerContext,
        sock: socket.socket,
        native: ssl.SSLContext,
        server_side: bool,
        server_hostname: str | None,
        name: ServerName | None = None,
        session: TLSSession | None = None,
    ) -> OpenSSLSocket:
        self = object.__new__(cls)
        self._context = context
        self._flavour = context._flavour
        self._callback_error = None
        self._name = name
        self._unchecked = context._policy is not None
        self._check_failure = None
        try:  # once per connection: no context manager unless something went wrong
            wrapped = native.wrap_socket(
                sock,
                server_side=server_side,
                server_hostname=server_hostname,
                do_handshake_on_connect=False,
                suppress_ragged_eofs=False,
                session=None if session is None else session.handle,
            )
        except NotImplementedError:  # ssl's answer to a datagram socket
            raise ValueError("only SOCK_STREAM sockets can carry TLS") from None
        except Exception:
            with self._flavour.translate():
                raise
        self._ssl = wrapped
        self._init_socket(wrapped, checked=True)
        wrapped._tls_adapter_owner = weakref.ref(self)  # type: ignore[attr-defined]
        return self

    @property
    def context(self) -> _engine.SSLModuleClientContext | _engine.SSLModuleServerContext:
        """The context this socket was made from."""
        return self._context

    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""
        if self._check_failure is not None:
            raise self._check_failure
        try:
            self._ssl.do_handshake()
        except Exception:  # no context manager on the way through
            try:
                with self._flavour.translate():
                    raise
            except (WantReadError, WantWriteError):
                raise
            except TLSError:
                raise_parked(self)
                raise
        if self._unchecked and self._ssl.session_reused:
            # Validated, under the same configuration and name, when the session was
            # made (the integrations key their caches so); no chain is sent again.
            self._unchecked = False
        if self._unchecked:
            check = self._context._policy
            assert check is not None
            try:
                check.verify(
                    verified_chain_der(self._ssl),
                    self._name,
                    isinstance(self._context, OpenSSLServerContext),
                )
            except CertificateValidationError as e:
                self._check_failure = e
                raise
            self._unchecked = False

    def cipher(self) -> CipherSuite | int | None:
        """The negotiated cipher suite, or ``None`` before the handshake."""
        return _engine.cipher_of(self._ssl)

    def negotiated_protocol(self) -> NextProtocol | bytes | None:
        """The ALPN protocol agreed on, or ``None``."""
        return _engine.alpn_of(self._ssl)

    def negotiated_tls_version(self) -> TLSVersion | None:
        """The TLS version in use, or ``None`` before the handshake."""
        return _engine.version_of(self._ssl)

    def getpeercert(self) -> bytes | None:
        """The peer's leaf certificate as DER, or ``None``."""
        return self._flavour.peer_certificate(
            self._ssl, isinstance(self._context, OpenSSLServerContext)
        )

    def session(self) -> TLSSession | None:
        """The session to offer when connecting again (TLS 1.3: once the ticket came)."""
        if self._unchecked or isinstance(self._context, OpenSSLServerContext):
            return None
        return _engine.session_of(self._flavour, self._ssl)

    def session_reused(self) -> bool:
        """Whether the handshake resumed the offered session."""
        return bool(self._ssl.session_reused)

    def unwrap(self) -> socket.socket:
        """Exchange ``close_notify`` and return the plain socket."""
        with self._flavour.translate():
            sock = self._ssl.unwrap()
        self._closed = True
        return sock

    def pending(self) -> int:
        """Decrypted bytes available without reading the network."""
        return self._ssl.pending()

    def _stdlib_socket(self) -> ssl.SSLSocket:
        return self._ssl

    # The four I/O methods are written out, not routed through one helper: this is the
    # hot path of every download on this backend, and each extra call shows up there.
    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive up to *bufsize* bytes; ``b""`` after the peer's close_notify."""
        if self._unchecked:  # an implicit handshake would skip the policy's two rules
            self.do_handshake()
        try:  # the hot path: no context manager unless something went wrong
            return self._ssl.recv(bufsize, flags)
        except Exception:
            with self._flavour.translate():
                raise

    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into *buffer*; 0 after the peer's close_notify."""
        if self._unchecked:
            self.do_handshake()
        try:
            return self._ssl.recv_into(buffer, nbytes, flags)
        except Exception:
            with self._flavour.translate():
                raise

    def send(self, data: Buffer, flags: int = 0) -> int:
        """Send some of *data*."""
        if self._unchecked:
            self.do_handshake()
        try:
            return self._ssl.send(data, flags)
        except Exception:
            with self._flavour.translate():
                raise

    def sendall(self, data: Buffer, flags: int = 0) -> None:
        """Send all of *data*."""
        if self._unchecked:
            self.do_handshake()
        try:
            self._ssl.sendall(data, flags)
        except Exception:
            with self._flavour.translate():
                raise

    def settimeout(self, value: float | None) -> None:
        """Set the timeout for each operation."""
        self._ssl.settimeout(value)

    def gettimeout(self) -> float | None:
        """The current timeout."""
        return self._ssl.gettimeout()


class OpenSSLClientContext(_engine.SSLModuleClientContext):
    """A client context whose native :class:`ssl.SSLContext` is built once, here."""

    _flavour = _FLAVOUR
    _buffer_type = OpenSSLBuffer
    _socket_type = OpenSSLSocket


class OpenSSLServerContext(_engine.SSLModuleServerContext):
    """A server context whose native :class:`ssl.SSLContext` is built once, here."""

    _flavour = _FLAVOUR
    _buffer_type = OpenSSLBuffer
    _socket_type = OpenSSLSocket


def _capabilities() -> Capabilities:
    return _FLAVOUR.capabilities(
        library=ssl.OPENSSL_VERSION,
        system_trust=(
            "OS verifier via truststore" if OS_VERIFIER else "system CA bundle, loaded per context"
        ),
        notes=(
            "TLS 1.3 suites cannot be restricted: OpenSSL's defaults must all be allowed",
            "ALPN identifiers must be ASCII",
            "sni_callback can switch the certificate chain; other fields keep their values",
        ),
    )


#: The OpenSSL backend.
BACKEND = _make_backend("openssl", OpenSSLClientContext, OpenSSLServerContext, _capabilities())
