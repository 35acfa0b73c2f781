"""The abstract PEP 543 objects: contexts, wrapped buffers and wrapped sockets.

A backend subclasses :class:`ClientContext`, :class:`ServerContext` and
:class:`TLSWrappedBuffer`. It gets a working :class:`TLSWrappedSocket` for free: the
default ``wrap_socket`` drives the backend's buffer over the socket with the generic
pump in ``_socket.py``. A backend whose library drives sockets natively (OpenSSL
through ``ssl``) overrides ``wrap_socket`` to return its own ``TLSWrappedSocket``.

:class:`TLSWrappedSocket` is defined in ``_wrapped_socket.py`` and re-exported here, so
that ``_socket.py`` can subclass it without importing this module (which imports
``_socket.py``).
"""

from __future__ import annotations

import abc
import contextvars
import functools
import ipaddress
import socket as _socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ._config import TLSConfiguration
from ._errors import SecurityWarning
from ._session import TLSSession
from ._socket import BufferSocket
from ._wrapped_socket import TLSWrappedSocket, _ConnectionState
from ._wrapped_socket import _SocketSurface as _SocketSurface  # noqa: PLC0414 (re-export)

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["ClientContext", "ServerContext", "TLSWrappedBuffer", "TLSWrappedSocket"]

_quiet_insecure: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tls_adapter_quiet_insecure", default=False
)


@contextmanager
def quiet_insecure_warning() -> Iterator[None]:
    """Build contexts without :class:`SecurityWarning` (for integrations that warn themselves).

    urllib3 already emits ``InsecureRequestWarning`` for every unverified request, so
    the urllib3 shim and the requests adapter build their unverified contexts in here.
    """
    token = _quiet_insecure.set(True)
    try:
        yield
    finally:
        _quiet_insecure.reset(token)


def _check_configuration(configuration: object, side: str) -> TLSConfiguration:
    if not isinstance(configuration, TLSConfiguration):
        raise TypeError(
            f"a {side} context needs a TLSConfiguration, not {type(configuration).__name__}"
        )
    if not configuration.validate_certificates and not _quiet_insecure.get():
        warnings.warn(
            f"building a TLS {side} context with validate_certificates=False: "
            "the peer's certificate will not be checked",
            SecurityWarning,
            stacklevel=4,
        )
    return configuration


@functools.lru_cache(maxsize=512)
def _parse_server_name(
    server_hostname: str,
) -> tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address | None]:
    """``(name, ip)`` for a non-empty ``server_hostname`` (cached: names repeat per host)."""
    candidate = (
        server_hostname[1:-1]
        if server_hostname.startswith("[") and server_hostname.endswith("]")
        else server_hostname
    )
    literal = candidate.split("%", 1)[0]
    try:
        return literal, ipaddress.ip_address(literal)
    except ValueError:
        pass
    try:
        return server_hostname.rstrip(".").encode("idna").decode("ascii").lower(), None
    except UnicodeError as e:
        raise ValueError(f"server_hostname {server_hostname!r} is not a valid name") from e


class ServerName:
    """A client's ``server_hostname``, split into what is sent (SNI) and what is checked."""

    __slots__ = ("check", "ip", "name", "sni")

    def __init__(self, server_hostname: str | None, check_hostname: bool) -> None:
        name: str | None = None
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
        if server_hostname is not None:
            if type(server_hostname) is not str:
                if not isinstance(server_hostname, str):
                    raise TypeError(
                        "server_hostname must be a str or None, not "
                        f"{type(server_hostname).__name__}"
                    )
                server_hostname = str(server_hostname)
            if not server_hostname:
                raise ValueError("server_hostname is empty; pass None to skip hostname checks")
            name, ip = _parse_server_name(server_hostname)
        #: The hostname (A-label, lower case) or IP literal, or None.
        self.name: str | None = name
        #: The parsed IP address when ``name`` is an IP literal.
        self.ip = ip
        #: The name to send as SNI: never an IP literal (RFC 6066).
        self.sni: str | None = name if ip is None else None
        #: Whether the certificate must match ``name``.
        self.check: bool = bool(check_hostname and name is not None)


class ClientContext(abc.ABC):
    """A client-side context: built once from a :class:`TLSConfiguration`, then reused.

    Contexts are immutable and thread-safe; the backend's native context is built in
    the constructor and shared by every connection. Build one with
    ``backend.client_context(configuration)``.
    """

    def __init__(self, configuration: TLSConfiguration) -> None:
        self._configuration = _check_configuration(configuration, "client")

    @property
    def configuration(self) -> TLSConfiguration:
        """The configuration this context was built from."""
        return self._configuration

    def wrap_socket(
        self,
        socket: _socket.socket,
        server_hostname: str | None,
        *,
        check_hostname: bool = True,
        session: TLSSession | None = None,
    ) -> TLSWrappedSocket:
        """Wrap a connected ``SOCK_STREAM`` socket; call ``do_handshake()`` next.

        :param server_hostname: the name (or IP literal) the certificate must match and,
            for names, the SNI to send. ``None`` sends no SNI and checks no hostname.
        :param check_hostname: ``False`` still sends SNI for *server_hostname* but does not
            match the certificate against it; chain validation is unaffected. (For
            integrations that match names themselves, like urllib3's ``assert_hostname``.)
        :param session: a session from an earlier connection of this backend to offer
            for resumption (:meth:`TLSWrappedSocket.session`). A resumed handshake does
            not validate the certificate again: offer a session only to the server, with
            the configuration, it came from (:mod:`tls_adapter._session`). A backend
            without ``capabilities.session_resumption`` raises
            :class:`ConfigurationError`.
        """
        buffer = self.wrap_buffers(server_hostname, check_hostname=check_hostname, session=session)
        return BufferSocket._create(socket, buffer)

    @abc.abstractmethod
    def wrap_buffers(
        self,
        server_hostname: str | None,
        *,
        check_hostname: bool = True,
        session: TLSSession | None = None,
    ) -> TLSWrappedBuffer:
        """A new in-memory TLS client connection (see :meth:`wrap_socket` for the arguments)."""


class ServerContext(abc.ABC):
    """A server-side context: built once from a :class:`TLSConfiguration`, then reused."""

    def __init__(self, configuration: TLSConfiguration) -> None:
        self._configuration = _check_configuration(configuration, "server")

    @property
    def configuration(self) -> TLSConfiguration:
        """The configuration this context was built from."""
        return self._configuration

    def wrap_socket(self, socket: _socket.socket) -> TLSWrappedSocket:
        """Wrap an accepted ``SOCK_STREAM`` socket; call ``do_handshake()`` next."""
        return BufferSocket._create(socket, self.wrap_buffers())

    @abc.abstractmethod
    def wrap_buffers(self) -> TLSWrappedBuffer:
        """A new in-memory TLS server connection."""


class TLSWrappedBuffer(_ConnectionState):
    """One TLS connection over in-memory buffers (sans-I/O). Made by a context.

    Bytes from the network go in with :meth:`receive_from_network`; bytes for the
    network come out with :meth:`peek_outgoing` + :meth:`consume_outgoing`.
    ``receive_from_network(b"")`` tells the connection the transport reached EOF.

    :class:`WantReadError` and :class:`WantWriteError` are raised only when no progress
    at all is possible. After the peer's ``close_notify``, :meth:`read` returns ``b""``;
    after a transport EOF without it, :meth:`read` raises :class:`RaggedEOF`.
    """

    @abc.abstractmethod
    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""

    @abc.abstractmethod
    def read(self, amt: int) -> bytes:
        """Up to *amt* bytes of decrypted data (``b""`` after a clean close)."""

    @abc.abstractmethod
    def readinto(self, buffer: Buffer, amt: int) -> int:
        """Like :meth:`read`, into *buffer*; returns the count (0 after a clean close)."""

    @abc.abstractmethod
    def write(self, buf: Buffer) -> int:
        """Encrypt data for sending; returns how much was accepted (may be short)."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Send ``close_notify``; raises :class:`WantReadError` until the peer's arrives."""

    @abc.abstractmethod
    def receive_from_network(self, data: Buffer) -> None:
        """Feed ciphertext received from the network (``b""`` means transport EOF)."""

    @abc.abstractmethod
    def peek_outgoing(self, amt: int) -> bytes:
        """Up to *amt* bytes waiting to be sent, without removing them."""

    @abc.abstractmethod
    def consume_outgoing(self, amt: int) -> None:
        """Discard *amt* bytes from the front of the outgoing data (they were sent)."""

    @abc.abstractmethod
    def incoming_bytes_buffered(self) -> int:
        """Bytes received from the network not yet processed."""

    @abc.abstractmethod
    def outgoing_bytes_buffered(self) -> int:
        """Bytes waiting to be sent to the network."""
