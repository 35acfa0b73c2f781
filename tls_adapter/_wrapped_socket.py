"""The abstract TLS socket, :class:`TLSWrappedSocket`, and the plain-socket surface it shares.

:mod:`tls_adapter._api` re-exports :class:`TLSWrappedSocket` next to the contexts that
make it. It lives here so that the generic pump in ``_socket.py`` (whose ``BufferSocket``
subclasses it, and is what ``_api``'s default ``wrap_socket`` returns) needs nothing
from ``_api`` at run time; the context types below are for annotations only. What a
socket and ``_api``'s ``TLSWrappedBuffer`` both report (``context``, ``cipher()``,
``negotiated_protocol()``, ...) is declared once, in :class:`_ConnectionState`.
"""

from __future__ import annotations

import abc
import socket as _socket
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ._ciphers import CipherSuite
from ._enums import NextProtocol, TLSVersion
from ._session import TLSSession

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from ._api import ClientContext, ServerContext

__all__ = ["TLSWrappedSocket", "check_stream"]

_S = TypeVar("_S", bound="_SocketSurface")


class _SocketLike(Protocol):
    """What :class:`_SocketSurface` forwards to: a socket, or a TLS socket."""

    @property
    def family(self) -> int: ...
    @property
    def type(self) -> int: ...
    @property
    def proto(self) -> int: ...
    def fileno(self) -> int: ...
    def getpeername(self) -> Any: ...
    def getsockname(self) -> Any: ...
    def getsockopt(self, *args: Any) -> Any: ...
    def setsockopt(self, *args: Any) -> None: ...
    def shutdown(self, how: int) -> None: ...
    def close(self) -> None: ...
    def detach(self) -> int: ...


class _SocketSurface:
    """The plain-socket half of a TLS socket, forwarded to ``_sock``.

    Shared by :class:`TLSWrappedSocket` (``_sock`` is the TCP socket) and the urllib3
    shim's ``SSLSocket`` (``_sock`` is the backend's :class:`TLSWrappedSocket`). Closing
    is deferred while :meth:`makefile` objects are open (``_io_refs``), as in
    :mod:`socket`; the subclass provides ``settimeout``/``gettimeout``.
    """

    _sock: _SocketLike
    _io_refs: int
    _closed: bool

    def settimeout(self, value: float | None) -> None:
        """Set the timeout for each whole operation (``None`` blocks, ``0`` is non-blocking)."""
        raise NotImplementedError

    def gettimeout(self) -> float | None:
        """The current timeout."""
        raise NotImplementedError

    def setblocking(self, flag: bool) -> None:
        """``True`` is ``settimeout(None)``, ``False`` is ``settimeout(0.0)``."""
        self.settimeout(None if flag else 0.0)

    def getblocking(self) -> bool:
        """Whether the socket blocks (a timeout counts as blocking)."""
        return self.gettimeout() != 0.0

    # -- plain socket surface ----------------------------------------------------------
    def fileno(self) -> int:
        """The underlying file descriptor (readiness there says nothing about TLS buffers)."""
        return self._sock.fileno()

    def getpeername(self) -> Any:
        """The remote address."""
        return self._sock.getpeername()

    def getsockname(self) -> Any:
        """The local address."""
        return self._sock.getsockname()

    def getsockopt(self, *args: Any) -> Any:
        """Forwarded to the underlying socket."""
        return self._sock.getsockopt(*args)

    def setsockopt(self, *args: Any) -> None:
        """Forwarded to the underlying socket."""
        self._sock.setsockopt(*args)

    @property
    def family(self) -> int:
        """The socket family."""
        return self._sock.family

    @property
    def type(self) -> int:
        """The socket type (always ``SOCK_STREAM``)."""
        return self._sock.type

    @property
    def proto(self) -> int:
        """The socket protocol."""
        return self._sock.proto

    def shutdown(self, how: int) -> None:
        """Shut down one or both directions of the TCP connection (no ``close_notify``)."""
        self._sock.shutdown(how)

    def makefile(
        self,
        mode: str = "r",
        buffering: int | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> Any:
        """A file object over the TLS stream, as :meth:`socket.socket.makefile`."""
        return _socket.socket.makefile(  # type: ignore[call-overload]
            self,
            mode,
            buffering,
            encoding=encoding,
            errors=errors,
            newline=newline,
        )

    def _decref_socketios(self) -> None:
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed:
            self.close()

    def close(self) -> None:
        """Close the socket (deferred while file objects from :meth:`makefile` are open)."""
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        self._sock.close()

    def detach(self) -> int:
        """Detach and return the file descriptor; the TLS state is lost."""
        self._closed = True
        return self._sock.detach()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_stream(sock: _socket.socket) -> None:
    """Refuse a socket that cannot carry TLS: not ``SOCK_STREAM``."""
    if sock.type != _socket.SOCK_STREAM:
        raise ValueError("only SOCK_STREAM sockets can carry TLS")


class _ConnectionState(abc.ABC):
    """A TLS connection's context and what its handshake settled: asked of a
    :class:`TLSWrappedSocket` and of a :class:`~tls_adapter.TLSWrappedBuffer` alike."""

    @property
    @abc.abstractmethod
    def context(self) -> ClientContext | ServerContext:
        """The context this connection was made from."""

    @abc.abstractmethod
    def cipher(self) -> CipherSuite | int | None:
        """The negotiated cipher suite (raw int if unknown), or ``None`` before the handshake."""

    @abc.abstractmethod
    def negotiated_protocol(self) -> NextProtocol | bytes | None:
        """The ALPN protocol agreed on, or ``None``."""

    @abc.abstractmethod
    def negotiated_tls_version(self) -> TLSVersion | None:
        """The TLS version in use, or ``None`` before the handshake."""

    @abc.abstractmethod
    def getpeercert(self) -> bytes | None:
        """The peer's leaf certificate as DER, or ``None`` if it sent none."""

    def session(self) -> TLSSession | None:
        """A client's session to offer when connecting again (``wrap_socket(session=)``).

        ``None`` before the handshake, on a server, on a backend that cannot resume
        (``capabilities.session_resumption``), and with TLS 1.3 until the server's
        ticket has arrived (it follows the handshake: read some data first).
        """
        return None

    def session_reused(self) -> bool:
        """Whether the handshake resumed the session given to ``wrap_socket``."""
        return False


class TLSWrappedSocket(_SocketSurface, _ConnectionState):
    """A TLS connection over a socket, with the socket API. Made by a context.

    Call :meth:`do_handshake` first. Timeouts apply to each whole operation;
    a timeout raises :class:`socket.timeout` (:class:`TimeoutError`). On a non-blocking
    socket, operations that cannot progress raise :class:`WantReadError` or
    :class:`WantWriteError`. :meth:`close` closes the TCP connection without
    ``close_notify`` (like :mod:`ssl`); :meth:`unwrap` closes TLS cleanly first.
    """

    _sock: _socket.socket
    _io_refs: int
    _closed: bool

    def __init__(self) -> None:
        raise TypeError("TLSWrappedSocket objects are made by context.wrap_socket()")

    def _init_socket(self, sock: _socket.socket, *, checked: bool = False) -> None:
        if not checked:
            check_stream(sock)
        self._sock = sock
        self._io_refs = 0
        self._closed = False

    # -- TLS ----------------------------------------------------------------------------
    @abc.abstractmethod
    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""

    @abc.abstractmethod
    def unwrap(self) -> _socket.socket:
        """Close TLS cleanly (exchange ``close_notify``) and return the plain socket."""

    # -- I/O ----------------------------------------------------------------------------
    @abc.abstractmethod
    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive up to *bufsize* bytes; ``b""`` at a clean end of stream."""

    @abc.abstractmethod
    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into *buffer*; returns the count (0 at a clean end of stream)."""

    @abc.abstractmethod
    def send(self, data: Buffer, flags: int = 0) -> int:
        """Send some of *data*; returns how many bytes were taken."""

    @abc.abstractmethod
    def sendall(self, data: Buffer, flags: int = 0) -> None:
        """Send all of *data*."""

    @abc.abstractmethod
    def settimeout(self, value: float | None) -> None:
        """Set the timeout for each whole operation (``None`` blocks, ``0`` is non-blocking)."""

    @abc.abstractmethod
    def gettimeout(self) -> float | None:
        """The current timeout."""

    def _stdlib_socket(self) -> Any:
        """The :class:`ssl.SSLSocket` doing this connection's I/O, or ``None``.

        Only a backend that drives sockets with :mod:`ssl` itself returns one. Its
        exceptions are :mod:`ssl`'s (untranslated), so only code that wants exactly
        those may use it: the urllib3 shim reads and writes through it directly.
        """
        return None

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"fd={self._sock.fileno()}"
        return f"<{type(self).__name__} {state}>"
