"""The OpenSSL backend, through the standard library's :mod:`ssl` module.

Each context builds its native :class:`ssl.SSLContext` once, in the constructor, and
every connection reuses it (a second native context, with hostname checking off, is
built lazily for ``check_hostname=False``). Sockets are wrapped natively by
``ssl.SSLSocket``, so bulk throughput is the stdlib's; buffers are ``ssl.SSLObject``
over ``ssl.MemoryBIO``.

What ``ssl`` cannot do, this backend refuses with ``ConfigurationError``: it cannot
restrict or reorder TLS 1.3 cipher suites (OpenSSL's default TLS 1.3 suites must all
be allowed, or TLS 1.3 switched off), cannot offer ALPN identifiers that are not
ASCII, and cannot ask a server for a client certificate without validating it.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from .._api import (
    ClientContext,
    ServerContext,
    ServerName,
    TLSWrappedBuffer,
    TLSWrappedSocket,
)
from .._ciphers import (
    DEFAULT_CIPHER_LIST,
    TLS13_CIPHER_SUITES,
    CipherSuite,
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
from .._trust import Certificate, PrivateKey, TrustStore
from . import Backend, Capabilities

if TYPE_CHECKING:
    import socket

    from typing_extensions import Buffer

__all__ = ["BACKEND"]

_HIGH_WATER = 256 * 1024
_VERSIONS = {
    TLSVersion.MINIMUM_SUPPORTED: ssl.TLSVersion.MINIMUM_SUPPORTED,
    TLSVersion.TLSv1: ssl.TLSVersion.TLSv1,
    TLSVersion.TLSv1_1: ssl.TLSVersion.TLSv1_1,
    TLSVersion.TLSv1_2: ssl.TLSVersion.TLSv1_2,
    TLSVersion.TLSv1_3: ssl.TLSVersion.TLSv1_3,
    TLSVersion.MAXIMUM_SUPPORTED: ssl.TLSVersion.MAXIMUM_SUPPORTED,
}
# Where truststore looks when OpenSSL's compiled-in default paths are empty.
_CA_FILE_CANDIDATES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)
_OS_VERIFIER = sys.platform in ("darwin", "win32")


# -- error translation: the one boundary ------------------------------------------------
@contextlib.contextmanager
def _translate() -> Iterator[None]:
    try:
        yield
    except ssl.SSLWantReadError as e:
        raise WantReadError(str(e)) from e
    except ssl.SSLWantWriteError as e:
        raise WantWriteError(str(e)) from e
    except ssl.SSLCertVerificationError as e:
        raise CertificateValidationError(e.verify_message or e.reason or str(e)) from e
    except ssl.SSLEOFError as e:
        raise RaggedEOF("the peer closed the connection without a TLS close_notify") from e
    except ssl.SSLZeroReturnError as e:
        raise TLSError("the TLS connection has been closed") from e
    except ssl.SSLError as e:
        raise TLSError(str(e)) from e


# -- building the native context --------------------------------------------------------
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


def _load_chain(ctx: ssl.SSLContext, chain: tuple[tuple[Certificate, ...], PrivateKey]) -> None:
    certs, key = chain
    try:
        password = key.password_bytes()
    except (TypeError, ValueError) as e:
        raise ConfigurationError(f"cannot use the private key: {e}") from e
    pem_chain = b"".join(c.to_pem() for c in certs)
    with _in_memory_file(pem_chain) as cert_path, _in_memory_file(key.to_pem()) as key_path:
        try:
            ctx.load_cert_chain(cert_path, key_path, password)
        except ssl.SSLError as e:
            text = str(e)
            if "KEY_VALUES_MISMATCH" in text or "key values mismatch" in text:
                raise ConfigurationError(
                    "the private key does not match the leaf certificate"
                ) from e
            if key.encrypted:
                raise ConfigurationError(
                    "cannot decrypt the private key: wrong password?"
                ) from e
            raise ConfigurationError(f"cannot load the certificate chain or key: {text}") from e


def _load_system_trust(ctx: ssl.SSLContext, purpose: ssl.Purpose) -> None:
    paths = ssl.get_default_verify_paths()
    if (paths.cafile and os.path.isfile(paths.cafile)) or (
        paths.capath and os.path.isdir(paths.capath) and os.listdir(paths.capath)
    ):
        ctx.load_default_certs(purpose)
        return
    for candidate in _CA_FILE_CANDIDATES:
        if os.path.isfile(candidate):
            ctx.load_verify_locations(cafile=candidate)
            return
    raise ConfigurationError("no system CA store found (looked where OpenSSL and truststore look)")


def _load_trust(ctx: ssl.SSLContext, store: TrustStore, purpose: ssl.Purpose) -> None:
    try:
        if store.kind == "system":
            _load_system_trust(ctx, purpose)
        elif store.kind == "directory":
            ctx.load_verify_locations(capath=store.path)
        elif store.kind == "buffer":
            pem = store.pem_bytes()
            assert pem is not None
            ctx.load_verify_locations(cadata=pem.decode("ascii"))
        else:
            ctx.load_verify_locations(cafile=store.path)
    except ssl.SSLError as e:
        raise ConfigurationError(f"cannot load trust store {store!r}: {e}") from e


def _default_tls13_suites() -> frozenset[int]:
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return frozenset(c["id"] & 0xFFFF for c in probe.get_ciphers() if c["protocol"] == "TLSv1.3")


def _suite_name(value: int) -> str:
    suite = cipher_suite_from_int(value)
    return suite.name if isinstance(suite, CipherSuite) else f"0x{value:04X}"


def _configure_versions_and_ciphers(ctx: ssl.SSLContext, config: TLSConfiguration) -> None:
    for field, version in (
        ("lowest_supported_version", config.lowest_supported_version),
        ("highest_supported_version", config.highest_supported_version),
    ):
        if version not in _VERSIONS:
            raise ConfigurationError(f"the openssl backend does not support {field}={version.name}")
    lowest = config.lowest_supported_version
    highest = config.highest_supported_version
    tls13_on = version_rank(highest) >= version_rank(TLSVersion.TLSv1_3) and ssl.HAS_TLSv1_3
    tls12_on = version_rank(lowest) <= version_rank(TLSVersion.TLSv1_2)
    allowed = config.ciphers if config.ciphers is not None else DEFAULT_CIPHER_LIST
    names = openssl_name_table()
    legacy = [names[int(c)] for c in allowed if int(c) not in TLS13_CIPHER_SUITES and c in names]
    if tls13_on:
        forced = _default_tls13_suites()
        missing = forced - {int(c) for c in allowed}
        if missing:
            listed = ", ".join(_suite_name(v) for v in sorted(missing))
            raise ConfigurationError(
                "the openssl backend (ssl module) cannot restrict TLS 1.3 cipher suites and "
                f"would also offer {listed}; allow them in ciphers, or set "
                "highest_supported_version=TLSVersion.TLSv1_2"
            )
    if tls12_on and not legacy:
        if not tls13_on:
            raise ConfigurationError(
                "none of the configured ciphers is usable with TLS 1.2 or lower on the "
                "openssl backend"
            )
        lowest = TLSVersion.TLSv1_3  # only TLS 1.3 suites were allowed
    ctx.minimum_version = _VERSIONS[lowest]
    ctx.maximum_version = _VERSIONS[highest]
    if legacy:
        try:
            ctx.set_ciphers(":".join(legacy))
        except ssl.SSLError as e:  # pragma: no cover - every listed name comes from OpenSSL
            raise ConfigurationError(f"the openssl backend rejected the ciphers: {e}") from e


def _configure_alpn(ctx: ssl.SSLContext, config: TLSConfiguration) -> None:
    if not config.inner_protocols:
        return
    protocols = []
    for p in config.inner_protocols:
        raw = protocol_bytes(p)
        try:
            protocols.append(raw.decode("ascii"))
        except UnicodeDecodeError:
            raise ConfigurationError(
                f"the openssl backend can only offer ASCII ALPN identifiers, not {raw!r}"
            ) from None
    ctx.set_alpn_protocols(protocols)


def _base_options(ctx: ssl.SSLContext) -> None:
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION


def build_client_native(config: TLSConfiguration, check_hostname: bool) -> ssl.SSLContext:
    """The :class:`ssl.SSLContext` for a client configuration (used by the urllib3 shim too)."""
    store = config.trust_store if config.trust_store is not None else TrustStore.system()
    ctx: ssl.SSLContext
    if config.validate_certificates and store.kind == "system" and _OS_VERIFIER:
        import truststore  # pragma: no cover - macOS/Windows only

        ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # pragma: no cover
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _base_options(ctx)
    _configure_versions_and_ciphers(ctx, config)
    _configure_alpn(ctx, config)
    ctx.hostname_checks_common_name = False
    if config.validate_certificates:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = check_hostname
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT | getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
        if not (store.kind == "system" and _OS_VERIFIER):
            _load_trust(ctx, store, ssl.Purpose.SERVER_AUTH)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if config.certificate_chain is not None:
        _load_chain(ctx, config.certificate_chain)
    return ctx


def build_server_native(config: TLSConfiguration) -> ssl.SSLContext:
    """The :class:`ssl.SSLContext` for a server configuration."""
    if config.certificate_chain is None and config.sni_callback is None:
        raise ConfigurationError(
            "a server configuration needs a certificate_chain (or an sni_callback that "
            "supplies one)"
        )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _base_options(ctx)
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    _configure_versions_and_ciphers(ctx, config)
    _configure_alpn(ctx, config)
    if config.trust_store is not None:
        if not config.validate_certificates:
            raise ConfigurationError(
                "the openssl backend cannot require client certificates without validating "
                "them; drop trust_store or keep validate_certificates=True"
            )
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT | getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
        _load_trust(ctx, config.trust_store, ssl.Purpose.CLIENT_AUTH)
    if config.certificate_chain is not None:
        _load_chain(ctx, config.certificate_chain)
    return ctx


# -- reading negotiated state ----------------------------------------------------------
_name_to_id: dict[str, int] = {}


def _cipher_of(obj: ssl.SSLObject | ssl.SSLSocket) -> CipherSuite | int | None:
    info = obj.cipher()
    if info is None:
        return None
    if not _name_to_id:
        _name_to_id.update({name: value for value, name in openssl_name_table().items()})
    value = _name_to_id.get(info[0])
    if value is None:
        return None
    return cipher_suite_from_int(value)


def _alpn_of(obj: ssl.SSLObject | ssl.SSLSocket) -> NextProtocol | bytes | None:
    selected = obj.selected_alpn_protocol()
    return None if selected is None else protocol_from_bytes(selected.encode("ascii"))


def _version_of(obj: ssl.SSLObject | ssl.SSLSocket) -> TLSVersion | None:
    version = obj.version()
    if version is None:
        return None
    try:
        return TLSVersion(version)
    except ValueError:
        return None


# -- contexts ---------------------------------------------------------------------------
class OpenSSLClientContext(ClientContext):
    """A client context whose native :class:`ssl.SSLContext` is built once, here."""

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        self._native = build_client_native(configuration, check_hostname=True)
        self._native_nocheck: ssl.SSLContext | None = (
            None if configuration.validate_certificates else self._native
        )
        self._lock = threading.Lock()

    def _native_for(self, name: ServerName) -> ssl.SSLContext:
        if name.check:
            return self._native
        if self._native_nocheck is None:
            with self._lock:
                if self._native_nocheck is None:
                    self._native_nocheck = build_client_native(
                        self._configuration, check_hostname=False
                    )
        return self._native_nocheck

    def wrap_buffers(
        self, server_hostname: str | None, *, check_hostname: bool = True
    ) -> TLSWrappedBuffer:
        """A new in-memory client connection (``ssl.SSLObject`` over memory BIOs)."""
        name = ServerName(server_hostname, check_hostname)
        return OpenSSLBuffer._create(self, self._native_for(name), False, name.name)

    def wrap_socket(
        self,
        socket: socket.socket,
        server_hostname: str | None,
        *,
        check_hostname: bool = True,
    ) -> TLSWrappedSocket:
        """Wrap *socket* natively with ``ssl.SSLSocket``; call ``do_handshake()`` next."""
        name = ServerName(server_hostname, check_hostname)
        return OpenSSLSocket._create(self, socket, self._native_for(name), False, name.name)


class OpenSSLServerContext(ServerContext):
    """A server context whose native :class:`ssl.SSLContext` is built once, here."""

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        self._native = build_server_native(configuration)
        self._derived: dict[TLSConfiguration, OpenSSLServerContext] = {}
        self._lock = threading.Lock()
        if configuration.sni_callback is not None:
            self._native.sni_callback = self._on_sni

    def _context_for(self, config: TLSConfiguration) -> OpenSSLServerContext:
        with self._lock:
            ctx = self._derived.get(config)
            if ctx is None:
                if len(self._derived) >= 64:
                    self._derived.pop(next(iter(self._derived)))
                ctx = self._derived[config] = OpenSSLServerContext(config.update(sni_callback=None))
            return ctx

    def _on_sni(self, obj: Any, server_name: str | None, native: ssl.SSLContext) -> int | None:
        owner_ref = getattr(obj, "_tls_adapter_owner", None)
        owner = owner_ref() if owner_ref is not None else None
        callback = self._configuration.sni_callback
        assert callback is not None
        try:
            name = server_name.encode("ascii").decode("idna") if server_name else None
            new = callback(owner, name, self._configuration)
            if not isinstance(new, TLSConfiguration):
                raise TypeError(
                    f"sni_callback must return a TLSConfiguration, not {type(new).__name__}"
                )
            if new != self._configuration:
                obj.context = self._context_for(new)._native
        except Exception as e:  # reported by do_handshake(), never into OpenSSL
            if owner is not None:
                owner._callback_error = e
            return int(ssl.ALERT_DESCRIPTION_INTERNAL_ERROR)
        return None

    def wrap_buffers(self) -> TLSWrappedBuffer:
        """A new in-memory server connection (``ssl.SSLObject`` over memory BIOs)."""
        return OpenSSLBuffer._create(self, self._native, True, None)

    def wrap_socket(self, socket: socket.socket) -> TLSWrappedSocket:
        """Wrap *socket* natively with ``ssl.SSLSocket``; call ``do_handshake()`` next."""
        return OpenSSLSocket._create(self, socket, self._native, True, None)


def _raise_callback_error(owner: OpenSSLBuffer | OpenSSLSocket, exc: TLSError) -> None:
    error = owner._callback_error
    if error is not None:
        owner._callback_error = None
        raise TLSError(f"sni_callback failed: {error!r}") from error
    raise exc


# -- connections ------------------------------------------------------------------------
class OpenSSLBuffer(TLSWrappedBuffer):
    """A TLS connection over memory buffers: ``ssl.SSLObject`` and two ``ssl.MemoryBIO``."""

    _context: OpenSSLClientContext | OpenSSLServerContext
    _obj: ssl.SSLObject
    _incoming: ssl.MemoryBIO
    _outgoing: ssl.MemoryBIO
    _staged: bytearray
    _callback_error: BaseException | None

    def __init__(self) -> None:
        raise TypeError("buffers are made by context.wrap_buffers()")

    @classmethod
    def _create(
        cls,
        context: OpenSSLClientContext | OpenSSLServerContext,
        native: ssl.SSLContext,
        server_side: bool,
        server_hostname: str | None,
    ) -> OpenSSLBuffer:
        self = object.__new__(cls)
        self._context = context
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._staged = bytearray()
        self._callback_error = None
        with _translate():
            self._obj = native.wrap_bio(
                self._incoming, self._outgoing, server_side=server_side,
                server_hostname=server_hostname,
            )
        self._obj._tls_adapter_owner = weakref.ref(self)  # type: ignore[attr-defined]
        return self

    @property
    def context(self) -> OpenSSLClientContext | OpenSSLServerContext:
        """The context this connection was made from."""
        return self._context

    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""
        try:
            with _translate():
                self._obj.do_handshake()
        except (WantReadError, WantWriteError):
            raise
        except TLSError as e:
            _raise_callback_error(self, e)

    def read(self, amt: int) -> bytes:
        """Up to *amt* decrypted bytes; ``b""`` after the peer's close_notify."""
        try:
            with _translate():
                return self._obj.read(amt)
        except TLSError as e:
            if isinstance(e.__cause__, ssl.SSLZeroReturnError):
                return b""
            raise

    def readinto(self, buffer: Buffer, amt: int) -> int:
        """Like :meth:`read`, into *buffer*; 0 after the peer's close_notify."""
        try:
            with _translate():
                return cast(int, self._obj.read(amt, buffer))
        except TLSError as e:
            if isinstance(e.__cause__, ssl.SSLZeroReturnError):
                return 0
            raise

    def write(self, buf: Buffer) -> int:
        """Encrypt *buf*; raises :class:`WantWriteError` while 256 KiB of output is unsent."""
        room = _HIGH_WATER - self.outgoing_bytes_buffered()
        if room <= 0:
            raise WantWriteError("send the buffered outgoing data first")
        view = memoryview(buf).cast("B")
        with _translate():
            return self._obj.write(view[: max(room, 16384)])

    def shutdown(self) -> None:
        """Send ``close_notify``; raises :class:`WantReadError` until the peer's arrives."""
        with _translate():
            self._obj.unwrap()

    def receive_from_network(self, data: Buffer) -> None:
        """Feed ciphertext from the network; ``b""`` signals transport EOF."""
        if memoryview(data).nbytes:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    def _stage(self) -> None:
        if self._outgoing.pending:
            self._staged += self._outgoing.read()

    def peek_outgoing(self, amt: int) -> bytes:
        """Up to *amt* bytes waiting to be sent, without removing them."""
        self._stage()
        return bytes(self._staged[:amt])

    def consume_outgoing(self, amt: int) -> None:
        """Drop *amt* sent bytes from the front of the outgoing data."""
        self._stage()
        del self._staged[:amt]

    def incoming_bytes_buffered(self) -> int:
        """Ciphertext received but not yet processed."""
        return self._incoming.pending

    def outgoing_bytes_buffered(self) -> int:
        """Ciphertext waiting to be sent."""
        return len(self._staged) + self._outgoing.pending

    def cipher(self) -> CipherSuite | int | None:
        """The negotiated cipher suite, or ``None`` before the handshake."""
        return _cipher_of(self._obj)

    def negotiated_protocol(self) -> NextProtocol | bytes | None:
        """The ALPN protocol agreed on, or ``None``."""
        return _alpn_of(self._obj)

    def negotiated_tls_version(self) -> TLSVersion | None:
        """The TLS version in use, or ``None`` before the handshake."""
        return _version_of(self._obj)

    def getpeercert(self) -> bytes | None:
        """The peer's leaf certificate as DER, or ``None``."""
        try:
            return self._obj.getpeercert(True)
        except ValueError:  # before the handshake
            return None

    def pending(self) -> int:
        """Decrypted bytes buffered inside OpenSSL."""
        return self._obj.pending()


class OpenSSLSocket(TLSWrappedSocket):
    """A TLS socket driven natively by ``ssl.SSLSocket``, with errors translated."""

    _context: OpenSSLClientContext | OpenSSLServerContext
    _ssl: ssl.SSLSocket
    _callback_error: BaseException | None

    @classmethod
    def _create(
        cls,
        context: OpenSSLClientContext | OpenSSLServerContext,
        sock: socket.socket,
        native: ssl.SSLContext,
        server_side: bool,
        server_hostname: str | None,
    ) -> OpenSSLSocket:
        self = object.__new__(cls)
        self._context = context
        self._callback_error = None
        with _translate():
            wrapped = native.wrap_socket(
                sock,
                server_side=server_side,
                server_hostname=server_hostname,
                do_handshake_on_connect=False,
                suppress_ragged_eofs=False,
            )
        self._ssl = wrapped
        self._init_socket(wrapped)
        wrapped._tls_adapter_owner = weakref.ref(self)  # type: ignore[attr-defined]
        return self

    @property
    def context(self) -> OpenSSLClientContext | OpenSSLServerContext:
        """The context this socket was made from."""
        return self._context

    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""
        try:
            with _translate():
                self._ssl.do_handshake()
        except (WantReadError, WantWriteError):
            raise
        except TLSError as e:
            _raise_callback_error(self, e)

    def cipher(self) -> CipherSuite | int | None:
        """The negotiated cipher suite, or ``None`` before the handshake."""
        return _cipher_of(self._ssl)

    def negotiated_protocol(self) -> NextProtocol | bytes | None:
        """The ALPN protocol agreed on, or ``None``."""
        return _alpn_of(self._ssl)

    def negotiated_tls_version(self) -> TLSVersion | None:
        """The TLS version in use, or ``None`` before the handshake."""
        return _version_of(self._ssl)

    def getpeercert(self) -> bytes | None:
        """The peer's leaf certificate as DER, or ``None``."""
        try:
            return self._ssl.getpeercert(True)
        except ValueError:
            return None

    def unwrap(self) -> socket.socket:
        """Exchange ``close_notify`` and return the plain socket."""
        with _translate():
            sock = self._ssl.unwrap()
        self._closed = True
        return sock

    def pending(self) -> int:
        """Decrypted bytes available without reading the network."""
        return self._ssl.pending()

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive up to *bufsize* bytes; ``b""`` after the peer's close_notify."""
        with _translate():
            return self._ssl.recv(bufsize, flags)

    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into *buffer*; 0 after the peer's close_notify."""
        with _translate():
            return self._ssl.recv_into(buffer, nbytes, flags)

    def send(self, data: Buffer, flags: int = 0) -> int:
        """Send some of *data*."""
        with _translate():
            return self._ssl.send(data, flags)

    def sendall(self, data: Buffer, flags: int = 0) -> None:
        """Send all of *data*."""
        with _translate():
            self._ssl.sendall(data, flags)

    def settimeout(self, value: float | None) -> None:
        """Set the timeout for each operation."""
        self._ssl.settimeout(value)

    def gettimeout(self) -> float | None:
        """The current timeout."""
        return self._ssl.gettimeout()


def _capabilities() -> Capabilities:
    versions = tuple(
        v
        for v, flag in (
            (TLSVersion.TLSv1, ssl.HAS_TLSv1),
            (TLSVersion.TLSv1_1, ssl.HAS_TLSv1_1),
            (TLSVersion.TLSv1_2, ssl.HAS_TLSv1_2),
            (TLSVersion.TLSv1_3, ssl.HAS_TLSv1_3),
        )
        if flag
    )
    return Capabilities(
        library=ssl.OPENSSL_VERSION,
        tls_versions=versions,
        alpn=True,
        sni_callback=True,
        server_side=True,
        client_certificates=True,
        client_auth=True,
        buffer_api=True,
        native_socket=True,
        cipher_control="tls1.2",
        system_trust=(
            "OS verifier via truststore" if _OS_VERIFIER else "system CA bundle, loaded per context"
        ),
        notes=(
            "TLS 1.3 suites cannot be restricted: OpenSSL's defaults must all be allowed",
            "ALPN identifiers must be ASCII",
            "sni_callback can switch the certificate chain; other fields keep their values",
        ),
    )


#: The OpenSSL backend.
BACKEND = Backend(
    client_context=OpenSSLClientContext,
    server_context=OpenSSLServerContext,
    certificate=Certificate,
    private_key=PrivateKey,
    trust_store=TrustStore,
    name="openssl",
    capabilities=_capabilities(),
)
