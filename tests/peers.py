"""Test peers: a PKI made at run time, in-memory buffer pairs, and a threaded TLS server.

These helpers know nothing about any particular backend: they speak only the public
PEP 543 API, so the same helper exercises every backend against every other.
"""

from __future__ import annotations

import contextlib
import datetime
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import tls_adapter
from tls_adapter import (
    Certificate,
    PrivateKey,
    TLSConfiguration,
    TLSWrappedBuffer,
    TrustStore,
    WantReadError,
)


@dataclass(frozen=True)
class PKI:
    """A CA with server and client leaf certificates, as trustme objects and as our types."""

    ca: trustme.CA
    server: trustme.LeafCert
    client: trustme.LeafCert

    @property
    def trust(self) -> TrustStore:
        """A trust store holding exactly the CA."""
        return TrustStore.from_buffer(self.ca.cert_pem.bytes())

    @property
    def server_chain(self) -> tuple[tuple[Certificate, ...], PrivateKey]:
        """The server's chain and key, ready for ``certificate_chain``."""
        return chain_of(self.server)

    @property
    def client_chain(self) -> tuple[tuple[Certificate, ...], PrivateKey]:
        """The client's chain and key, ready for ``certificate_chain``."""
        return chain_of(self.client)


def chain_of(leaf: trustme.LeafCert) -> tuple[tuple[Certificate, ...], PrivateKey]:
    """A trustme leaf as ``((leaf, *intermediates), key)``."""
    certs = tuple(Certificate.from_buffer(p.bytes()) for p in leaf.cert_chain_pems)
    return certs, PrivateKey.from_buffer(leaf.private_key_pem.bytes())


def make_pki() -> PKI:
    """A fresh CA, a server certificate and a client certificate."""
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1", "::1")
    client = ca.issue_cert("client@example.org", common_name="client")
    return PKI(ca=ca, server=server, client=client)


def move(src: TLSWrappedBuffer, dst: TLSWrappedBuffer) -> int:
    """Move all of *src*'s outgoing bytes into *dst*; returns how many moved."""
    n = src.outgoing_bytes_buffered()
    if n:
        dst.receive_from_network(src.peek_outgoing(n))
        src.consume_outgoing(n)
    return n


def handshake_buffers(client: TLSWrappedBuffer, server: TLSWrappedBuffer, rounds: int = 20) -> None:
    """Drive both handshakes to completion in memory; the first error propagates."""
    done = {id(client): False, id(server): False}
    for _ in range(rounds):
        for side in (client, server):
            if not done[id(side)]:
                try:
                    side.do_handshake()
                    done[id(side)] = True
                except WantReadError:
                    pass
        moved = move(client, server) + move(server, client)
        if all(done.values()) and not moved:
            return
    raise AssertionError("handshake did not finish")


def read_exactly(reader: TLSWrappedBuffer, writer: TLSWrappedBuffer, n: int) -> bytes:
    """Read *n* bytes from *reader*, moving *writer*'s output across as needed."""
    out = bytearray()
    while len(out) < n:
        move(writer, reader)
        try:
            chunk = reader.read(n - len(out))
        except WantReadError:
            if not writer.outgoing_bytes_buffered():
                raise
            continue
        if not chunk:
            break
        out += chunk
    return bytes(out)


_Server = TypeVar("_Server", bound="ThreadedServer")


class ThreadedServer:
    """A one-connection-at-a-time TLS server on a loopback port, run in a thread.

    *handler* gets each accepted ``TLSWrappedSocket`` after a successful handshake;
    handshake errors are collected in ``errors`` instead of killing the thread.
    """

    def __init__(
        self,
        context: tls_adapter.ServerContext,
        handler: Callable[[tls_adapter.TLSWrappedSocket], None],
        host: str = "127.0.0.1",
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.host = host
        self.port: int = self.listener.getsockname()[1]
        self.context = context
        self.handler = handler
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self: _Server) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            raw.settimeout(10)
            tls: tls_adapter.TLSWrappedSocket | None = None
            try:
                tls = self.context.wrap_socket(raw)
                tls.do_handshake()
                self.handler(tls)
            except Exception as e:  # collected for the test to inspect
                self.errors.append(e)
            finally:
                if tls is not None:
                    tls.close()  # a native wrapper owns the fd now (raw was detached)
                raw.close()


def echo_handler(sock: tls_adapter.TLSWrappedSocket) -> None:
    """Echo everything back until the client closes."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            sock.sendall(data)
    except tls_adapter.RaggedEOF:
        pass
    sock.close()


def client_config(pki: PKI, **kwargs: object) -> TLSConfiguration:
    """A client configuration trusting the test CA."""
    return TLSConfiguration(trust_store=pki.trust, **kwargs)  # type: ignore[arg-type]


def server_config(pki: PKI, **kwargs: object) -> TLSConfiguration:
    """A server configuration presenting the test server certificate."""
    return TLSConfiguration(certificate_chain=pki.server_chain, **kwargs)  # type: ignore[arg-type]


# -- conformance-suite helpers ----------------------------------------------------------
# Everything below speaks only the public API (plus the documented base-class socket
# pump), so it works unchanged for every backend the registry reports.

#: The two ways a context can wrap a socket: the backend's own ``wrap_socket`` and the
#: generic pump (the :class:`tls_adapter.ClientContext`/``ServerContext`` base-class
#: implementation, which always drives the backend's buffers with ``BufferSocket``).
SOCKET_FLAVOURS = ("native", "pump")


def server_peer(backend: tls_adapter.Backend) -> tls_adapter.Backend:
    """*backend* if it has a server side, else the default backend (to serve its clients)."""
    return backend if backend.server_context is not None else tls_adapter.default_backend()


def make_server_context(
    backend: tls_adapter.Backend, configuration: TLSConfiguration
) -> tls_adapter.ServerContext:
    """``backend.server_context(configuration)``, for a backend known to have a server side."""
    assert backend.server_context is not None, f"{backend.name} has no server side"
    return backend.server_context(configuration)


def der_of(leaf: trustme.LeafCert) -> bytes:
    """The DER bytes of a trustme leaf certificate (the first of its chain)."""
    return Certificate.from_buffer(leaf.cert_chain_pems[0].bytes()).to_der()


def refuse_or_skip(ok: bool, what: str, backend_name: str, build: Callable[[], object]) -> None:
    """The capability contract: a declared gap must be refused loudly at context build.

    When *ok* is false, *build* (which asks for the missing feature) must raise
    :class:`tls_adapter.ConfigurationError`; the test is then skipped with the reason.
    """
    if ok:
        return
    import pytest

    with pytest.raises(tls_adapter.ConfigurationError):
        build()
    pytest.skip(
        f"{backend_name} declares no {what}; checked that asking for it raises "
        "ConfigurationError at context build"
    )


def require_sni_callback(backend: tls_adapter.Backend, pki: PKI) -> None:
    """Skip unless *backend* can run an SNI callback (after checking it refuses one)."""
    refuse_or_skip(
        backend.capabilities.sni_callback,
        "sni_callback support",
        backend.name,
        lambda: make_server_context(
            backend,
            TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=lambda b, n, c: c),
        ),
    )


def expect_tls_failure(operation: Callable[[], object]) -> tls_adapter.TLSError:
    """Run *operation*, which must fail with a real TLS error (not Want*); return it."""
    try:
        operation()
    except (tls_adapter.WantReadError, tls_adapter.WantWriteError) as e:
        raise AssertionError(f"expected a fatal TLSError, got {e!r}") from e
    except tls_adapter.TLSError as e:
        return e
    raise AssertionError("expected a TLSError, but the operation succeeded")


@dataclass
class HandshakeOutcome:
    """How an in-memory handshake ended for each side (``None``: it completed)."""

    client_error: tls_adapter.TLSError | None
    server_error: tls_adapter.TLSError | None
    client_done: bool
    server_done: bool


def drive_handshake(
    client: TLSWrappedBuffer, server: TLSWrappedBuffer, rounds: int = 30
) -> HandshakeOutcome:
    """Drive both handshakes until each side completed or failed; never raises TLSError.

    Like a real transport, a side that fails stops talking: its pending alert is
    delivered, then the other side sees EOF if it is still waiting.
    """
    sides = (client, server)
    done = [False, False]
    errors: list[tls_adapter.TLSError | None] = [None, None]
    eof_sent = [False, False]
    for _ in range(rounds):
        progress = False
        for i, side in enumerate(sides):
            if done[i] or errors[i] is not None:
                continue
            try:
                side.do_handshake()
                done[i] = True
                progress = True
            except WantReadError:
                pass
            except tls_adapter.TLSError as e:
                errors[i] = e
                progress = True
        moved = move(client, server) + move(server, client)
        if all(d or e is not None for d, e in zip(done, errors, strict=True)) and not moved:
            break
        if not moved and not progress:
            # One side waits for bytes that will never come: its peer failed (or
            # finished) and "closes the connection".
            for i, side in enumerate(sides):
                if not done[i] and errors[i] is None and not eof_sent[i]:
                    side.receive_from_network(b"")
                    eof_sent[i] = True
                    break
            else:
                break
    return HandshakeOutcome(errors[0], errors[1], done[0], done[1])


def buffer_pair(
    client_context: tls_adapter.ClientContext,
    server_context: tls_adapter.ServerContext,
    server_hostname: str | None = "localhost",
    *,
    check_hostname: bool = True,
) -> tuple[TLSWrappedBuffer, TLSWrappedBuffer]:
    """A fresh in-memory client and server connection (not yet handshaken)."""
    client = client_context.wrap_buffers(server_hostname, check_hostname=check_hostname)
    return client, server_context.wrap_buffers()


def send_buffered(
    writer: TLSWrappedBuffer, reader: TLSWrappedBuffer, data: bytes, chunk: int = 1 << 20
) -> bytes:
    """Send *data* from *writer* to *reader* in chunks, moving bytes across; return it as read."""
    view = memoryview(data)
    received = bytearray()
    offset = 0
    while offset < len(data) or len(received) < len(data):
        if offset < len(data):
            with contextlib.suppress(tls_adapter.WantWriteError):
                offset += writer.write(view[offset : offset + chunk])
        move(writer, reader)
        while True:
            try:
                piece = reader.read(1 << 20)
            except WantReadError:
                break
            if not piece:
                raise AssertionError("clean close in the middle of the data")
            received += piece
    return bytes(received)


class PumpServerContext(tls_adapter.ServerContext):
    """Serve with the generic pump: the base-class ``wrap_socket`` over *inner*'s buffers."""

    def __init__(self, inner: tls_adapter.ServerContext) -> None:
        # Not super().__init__(): *inner* already checked (and warned about) the config.
        self._configuration = inner.configuration
        self._inner = inner

    def wrap_buffers(self) -> TLSWrappedBuffer:
        """A new server buffer from the wrapped context."""
        return self._inner.wrap_buffers()


def serving_context(context: tls_adapter.ServerContext, flavour: str) -> tls_adapter.ServerContext:
    """*context* itself (``"native"``) or a view of it that uses the pump (``"pump"``)."""
    assert flavour in SOCKET_FLAVOURS
    return context if flavour == "native" else PumpServerContext(context)


def wrap_client_socket(
    context: tls_adapter.ClientContext,
    sock: socket.socket,
    server_hostname: str | None,
    flavour: str,
    *,
    check_hostname: bool = True,
) -> tls_adapter.TLSWrappedSocket:
    """Wrap *sock* with the backend's own ``wrap_socket`` or with the generic pump."""
    assert flavour in SOCKET_FLAVOURS
    if flavour == "native":
        return context.wrap_socket(sock, server_hostname, check_hostname=check_hostname)
    return tls_adapter.ClientContext.wrap_socket(
        context, sock, server_hostname, check_hostname=check_hostname
    )


def connect_to(server: ThreadedServer, timeout: float = 10.0) -> socket.socket:
    """A TCP connection to *server* with *timeout* set."""
    sock = socket.create_connection((server.host, server.port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on *host*."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> bool:
    """Poll until something accepts TCP connections on *host*:*port*."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def custom_leaf(
    pki: PKI, common_name: str, names: list[x509.GeneralName]
) -> tuple[tuple[Certificate, ...], PrivateKey]:
    """A leaf signed by *pki*'s CA with exactly this subject CN and subjectAltNames
    (trustme refuses the malformed wildcards these tests need)."""
    ca_key = serialization.load_pem_private_key(pki.ca.private_key_pem.bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(pki.ca.cert_pem.bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (
        (Certificate.from_buffer(cert.public_bytes(serialization.Encoding.PEM)),),
        PrivateKey.from_buffer(key_pem),
    )
