"""The PEP 543 buffer shared by the backends written over our own ctypes bindings.

``_gnutls_ffi.Session`` and ``_wolfssl_ffi.Session`` expose the same sans-I/O surface,
written down once as the :class:`FFISession` protocol (``receive``/``peek``/``consume``,
``handshake``, ``read``/``write``, ``close_notify``, negotiated state);
:class:`FFIBuffer` turns that surface into a :class:`~tls_adapter.TLSWrappedBuffer`
(on :class:`~._buffer_kit.BufferBase`, which supplies back-pressure).
A backend subclasses it and supplies only its error classes (:class:`FFIErrors`, whose
:meth:`~FFIErrors.translate` is the backend's one error boundary) and its version names
(``_versions``). Its contexts subclass :class:`FFIClientContext` and
:class:`FFIServerContext`, which start every connection the same way (the buffer, the
``sni_callback`` hook, the session made inside the error boundary); the backend builds
its library's objects and supplies the session.

Two transports. ``wrap_buffers`` gives a session over memory (the sans-I/O surface
below). ``wrap_socket`` gives a session attached to the socket's descriptor (the
binding's ``fd=``: GnuTLS's ``gnutls_transport_set_int2``, wolfSSL's ``wolfSSL_set_fd``),
which the library reads and writes itself, wrapped in
:class:`~tls_adapter._socket.DescriptorSocket`: the buffer then holds no ciphertext
(``outgoing_bytes_buffered()``/``incoming_bytes_buffered()`` are 0, the memory transport
is refused), a descriptor that cannot progress raises
:class:`~tls_adapter.WantReadError`/:class:`~tls_adapter.WantWriteError` (the socket
waits and retries the same call: a write the library could not finish must be retried
with the same data), a failed socket raises its :class:`OSError`
(:func:`connection_error`: ``ConnectionResetError``, ``BrokenPipeError``, as :mod:`ssl`
does), and nothing runs once the socket was closed or detached (the descriptor number
may already be another file's). Both libraries read a record's header, then its body,
never more, so what the peer sent after the records a read needs (a ``close_notify``
after an HTTP response) stays in the kernel, where liveness checks on the descriptor
see it. Everything else (the validation policy before any application data, errors,
``sni_callback``) is the same code for both transports.

Neither library enforces the whole validation policy, so a context that validates its
peer carries a :class:`~tls_adapter._policy.ChainPolicy` (``_policy``) and the buffer
runs it on the chain the peer presented (``peer_certificate_chain_der()``) as soon as
the library reports the handshake complete (a binding whose library has a certificate
hook may run it there instead, before the library's own verifier, and say so with a
true ``policy_checked``). Until that check has passed, ``read``
and ``write`` first finish the handshake (the sessions finish it implicitly too), so
no application data moves on a connection the policy has not approved; after a
failure every call raises the same :class:`~tls_adapter.CertificateValidationError`.

Session resumption (clients of a backend whose context sets ``_resumes``): ``session=``
hands the :class:`~tls_adapter._session.TLSSession`'s handle (the binding's resumption
state) to the library before the handshake (the context's ``_session(..., resume=)``),
unless the session's TLS version is outside the context's range (then nothing is
offered). A handshake the library reports as resumed (``session_reused()``) carried no
certificate, so the policy is not run on it: the session was validated, under the same
configuration and name, when it was made (the integrations key their caches so). A
handshake that did not resume (the server declined) is validated in full, as any other.
:meth:`FFIBuffer.session` hands out the binding's ``resumption_state()`` once the policy
has approved the connection (TLS 1.3: once the server's ticket has arrived).

Bulk data moves with as few copies as ctypes allows. :meth:`FFIBuffer.readinto` has the
library decrypt straight into the caller's memory (a ctypes array made with
``from_buffer`` over it), and :meth:`MemoryIO.read` returns exactly the bytes decrypted
(``ctypes.string_at``), both through the binding's one ``_recv(target, n)``. Ciphertext
from the network is copied once, into the session's input (:meth:`MemoryIO._take_input`:
a ``bytearray`` the binding's pull callback copies from, or the library's own memory
BIO), straight from the caller's buffer when it is writable (:func:`c_buffer`; a
read-only one costs one more copy), and a binding whose library keeps its output in
memory it owns appends it to ``outgoing`` with :meth:`MemoryIO._drain_into_outgoing`.
The hot path translates errors with :meth:`FFIErrors.reraise` in a ``try``/``except``,
the same boundary as :meth:`FFIErrors.translate` without a ``with`` per record. The
socket's read (:meth:`FFIBuffer._readinto_nowait`) hands the library the caller's memory
by address; attached to a descriptor, it decrypts several records per call while
``FIONREAD`` shows that a whole record and more wait in the kernel (never the last one
that has arrived).
"""

from __future__ import annotations

import abc
import array
import contextlib
import ctypes
import errno
import os
import socket as _socket
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, Protocol

from .._api import ClientContext, ServerContext, ServerName, TLSWrappedBuffer
from .._ciphers import CipherSuite, cipher_suite_from_int
from .._config import TLSConfiguration
from .._enums import NextProtocol, TLSVersion, protocol_from_bytes, version_rank
from .._errors import (
    CertificateValidationError,
    ConfigurationError,
    RaggedEOF,
    TLSError,
    WantReadError,
    WantWriteError,
)
from .._policy import ChainPolicy
from .._session import TLSSession, check_session
from .._socket import DescriptorSocket
from .._wrapped_socket import TLSWrappedSocket
from ._buffer_kit import RECORD, BufferBase
from ._server import SNICallbackError, SNIDispatch, raise_sni_failure

if TYPE_CHECKING:
    from typing_extensions import Buffer, Self


def _fionread() -> Callable[[int, array.array[int]], object] | None:
    """``ioctl(fd, FIONREAD, buf)`` (how much the kernel holds), or ``None`` off POSIX:
    then a descriptor read takes one record at a time."""
    try:
        import fcntl
        import termios
    except ImportError:  # pragma: no cover - Windows
        return None
    request = termios.FIONREAD
    return lambda fd, buf: fcntl.ioctl(fd, request, buf)


_FIONREAD = _fionread()

#: Ciphertext beyond which the kernel surely holds a whole record and more after it:
#: the largest record (16 KiB of plaintext plus 256 bytes of expansion) and its header.
_MORE_THAN_A_RECORD = 5 + RECORD + 256

#: The errnos of a TCP connection that failed (peer reset, gone, unreachable): what a
#: library attached to a socket may leave when it reports a broken transport. Any other
#: errno is stale, from an earlier call (an EAGAIN, say), and means nothing.
_CONNECTION_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ECONNRESET",
        "EPIPE",
        "ECONNABORTED",
        "ETIMEDOUT",
        "ENOTCONN",
        "ECONNREFUSED",
        "EHOSTUNREACH",
        "ENETUNREACH",
        "ENETDOWN",
        "ENETRESET",
        "EHOSTDOWN",
    )
    if hasattr(errno, name)
)


def connection_error() -> OSError | None:
    """The :class:`OSError` (``ConnectionResetError``, ``BrokenPipeError``, ...) of the
    errno the last call into a ctypes library (loaded with ``use_errno=True``) left, if
    it says the connection failed; else ``None``. Clears that errno."""
    err = ctypes.get_errno()
    if err not in _CONNECTION_ERRNOS:
        return None
    ctypes.set_errno(0)
    return OSError(err, os.strerror(err))


__all__ = [
    "FFIBuffer",
    "FFIClientContext",
    "FFIErrors",
    "FFIServerContext",
    "FFISession",
    "MemoryIO",
    "MemoryTransport",
    "c_buffer",
    "connection_error",
    "versions_in_range",
]


def versions_in_range(
    config: TLSConfiguration, backend: str, supported: Iterable[TLSVersion]
) -> list[TLSVersion]:
    """The *supported* versions (lowest first) within the configured range.

    :raises ConfigurationError: none is, naming the backend and what it supports.
    """
    low, high = (
        version_rank(config.lowest_supported_version),
        version_rank(config.highest_supported_version),
    )
    known = sorted(supported, key=version_rank)
    versions = [v for v in known if low <= version_rank(v) <= high]
    if not versions:
        names = " and ".join(v.name[4:].replace("_", ".") for v in known)
        raise ConfigurationError(
            f"the {backend} backend supports only TLS {names}, not "
            f"{config.lowest_supported_version.name}..{config.highest_supported_version.name} "
            "(lowest_supported_version/highest_supported_version)"
        )
    return versions


def c_buffer(view: memoryview) -> Any:
    """Something a ctypes ``c_void_p`` argument accepts that points at *view*'s bytes.

    A writable view (the socket pump's reusable ``bytearray``) is used in place, through a
    ctypes array made with ``from_buffer``: drop the result right after the C call, since
    it pins the exporting object's size. A read-only one is copied into ``bytes``.
    """
    if not view.readonly:
        try:
            return (ctypes.c_char * view.nbytes).from_buffer(view)
        except (TypeError, ValueError):
            pass
    return view.tobytes()


class MemoryTransport:
    """A session's ciphertext in memory, and where its I/O callbacks leave an exception.

    The library's transport callbacks read ``incoming`` (until ``eof``) and append to
    ``outgoing``; an exception raised inside a callback is parked in ``error`` for the
    Python caller. Backends add slots for what their other callbacks report.
    """

    __slots__ = ("eof", "error", "incoming", "outgoing")

    def __init__(self) -> None:
        self.incoming = bytearray()
        self.outgoing = bytearray()
        self.eof = False
        self.error: BaseException | None = None


class MemoryIO:
    """The library-independent half of a ctypes session.

    Ciphertext in and out of its ``_t``; the session's handle (``_handle``, ``None`` once
    :meth:`close` freed it); whether the handshake is done (``_done``); and the fatal
    error that killed it (``_fatal``), raised again by every later operation.
    """

    _t: MemoryTransport
    _rbuf: ctypes.Array[ctypes.c_char]  # scratch for read(); grown on demand
    #: Whether the binding ran the context's validation policy on the peer's chain
    #: inside the handshake (from its library's certificate hook), so that
    #: :class:`FFIBuffer` need not run it again.
    policy_checked: bool = False
    _handle: int | None
    _done: bool
    _fatal: BaseException | None

    @property
    def handle(self) -> int:
        """The library's session pointer (ValueError once closed)."""
        if self._handle is None:
            raise ValueError("session is closed")
        return self._handle

    @property
    def handshake_done(self) -> bool:
        """Whether the handshake completed."""
        return self._done

    def _raise_if_dead(self) -> None:
        if self._fatal is not None:
            raise self._fatal.with_traceback(None)

    def close(self) -> None:
        """Free the library's session; idempotent. Sends nothing."""
        raise NotImplementedError

    def __del__(self) -> None:
        # No module globals here: they may be gone at interpreter shutdown.
        try:  # noqa: SIM105
            self.close()
        except Exception:
            pass

    def receive(self, data: bytes | bytearray | memoryview) -> None:
        """Queue bytes that arrived from the peer; ``b""`` records the transport's EOF."""
        if not data:
            self._t.eof = True
        elif self._t.eof:
            raise ValueError("data received after EOF")
        else:
            self._take_input(memoryview(data).cast("B"))

    def _take_input(self, view: memoryview) -> None:
        """Copy ciphertext from the peer to where the library reads it (here:
        ``_t.incoming``, which the binding's pull callback drains)."""
        self._t.incoming += view

    def _recv(self, target: Any, n: int) -> int:
        """Decrypt up to *n* bytes into *target* (a ctypes buffer); the count, 0 once the
        peer's close_notify arrived. Finishes the handshake first; raises the binding's
        want-read exception when no application data is available."""
        raise NotImplementedError

    def read(self, n: int = 16384) -> bytes:
        """Up to *n* decrypted bytes; ``b""`` once the peer's close_notify arrived.

        Completes the handshake first if needed; raises the binding's want-read
        exception when no application data is available yet.
        """
        if n <= 0:
            self._recv(None, 0)  # still finishes the handshake (or raises its failure)
            return b""
        if len(self._rbuf) < n:
            self._rbuf = ctypes.create_string_buffer(n)
        got = self._recv(self._rbuf, n)
        return ctypes.string_at(self._rbuf, got) if got else b""

    def readinto(self, view: memoryview, n: int) -> int:
        """Like :meth:`read`, decrypting straight into *view* (a writable, contiguous
        byte view): the library writes into the caller's memory, through a ctypes array
        made with ``from_buffer``. A read-only view raises :class:`TypeError` before
        anything is decrypted, so no data is lost (copying could not help: the bytes
        would have nowhere to go).
        """
        if view.readonly:
            raise TypeError("readinto() needs a writable buffer")
        n = min(n, view.nbytes)
        if n <= 0:
            self._recv(None, 0)
            return 0
        target = (ctypes.c_char * n).from_buffer(view)
        try:
            return self._recv(target, n)
        finally:
            del target  # release the export of the caller's buffer

    def _drain_into_outgoing(self, n: int, read: Callable[[Any, int], int]) -> None:
        """Append the *n* bytes the library has ready to ``outgoing``, by ``read(ptr, n)``
        straight into its new tail (``read`` returns how many it wrote)."""
        out = self._t.outgoing
        start = len(out)
        out.extend(bytes(n))
        target = (ctypes.c_char * n).from_buffer(out, start)
        try:
            got = max(read(target, n), 0)
        finally:
            del target
        if got < n:
            del out[start + got :]

    def peek(self, n: int = -1) -> bytes:
        """Up to *n* (all if negative) outgoing bytes, without removing them."""
        return bytes(self._t.outgoing if n < 0 else self._t.outgoing[:n])

    def consume(self, n: int) -> None:
        """Drop the first *n* outgoing bytes (once the caller has sent them)."""
        del self._t.outgoing[:n]

    def outgoing_len(self) -> int:
        """Bytes waiting to be sent to the peer."""
        return len(self._t.outgoing)

    def incoming_len(self) -> int:
        """Received bytes the library has not taken yet (it may buffer more internally)."""
        return len(self._t.incoming)


class FFISession(Protocol):
    """The contract of a ctypes binding's ``Session``, which :class:`FFIBuffer` drives.

    Every operation that needs peer data raises the binding's *want-read* exception;
    a fatal failure kills the session (every later operation raises it again).
    """

    #: Whether the binding already ran the validation policy in the handshake.
    policy_checked: bool

    @property
    def handshake_done(self) -> bool:
        """Whether the handshake completed."""

    def receive(self, data: bytes | bytearray | memoryview) -> None:
        """Queue bytes from the peer; ``b""`` records the transport's EOF."""

    def peek(self, n: int = -1) -> bytes:
        """Up to *n* (all if negative) outgoing bytes, without removing them."""

    def consume(self, n: int) -> None:
        """Drop the first *n* outgoing bytes."""

    def outgoing_len(self) -> int:
        """Bytes waiting to be sent to the peer."""

    def incoming_len(self) -> int:
        """Received bytes the library has not taken yet."""

    def handshake(self) -> None:
        """Advance the handshake until it completes (nothing once it has)."""

    def read(self, n: int = 16384) -> bytes:
        """Up to *n* decrypted bytes; ``b""`` once the peer's close_notify arrived."""

    def readinto(self, view: memoryview, n: int) -> int:
        """Like :meth:`read`, straight into the writable byte view *view*; 0 once the
        peer's close_notify arrived. Raises :class:`TypeError` for a read-only view."""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt all of *data* into the outgoing buffer; returns ``len(data)``.
        Attached to a descriptor: how many bytes were sent, or the binding's want-write
        exception (retry with the same data)."""

    def close_notify(self) -> None:
        """Queue this side's close_notify (idempotent; nothing on a dead session;
        attached to a descriptor that cannot take it, the want-write exception)."""

    def pending(self) -> int:
        """Decrypted bytes the library holds, readable without input."""

    def cipher_suite_id(self) -> int | None:
        """IANA id of the negotiated suite, or None."""

    def alpn(self) -> bytes | None:
        """The negotiated ALPN protocol, or None."""

    def version(self) -> str | None:
        """``"TLSv1.2"``, ``"TLSv1.3"``, ... once the handshake is done, else None."""

    def server_name(self) -> str | None:
        """Servers: the SNI host name the client sent, or None."""

    def peer_certificate_der(self) -> bytes | None:
        """The peer's leaf certificate (DER), or None."""

    def peer_certificate_chain_der(self) -> list[bytes]:
        """The certificates the peer presented (DER, leaf first)."""

    def session_reused(self) -> bool:
        """Whether the handshake resumed an earlier session."""

    def resumption_state(self) -> tuple[object, float] | None:
        """Clients: what resumes this session later (the handle a ``resume=`` of the
        binding takes) and its lifetime in seconds; ``None`` before the handshake, on a
        server, or when the library has nothing resumable (TLS 1.3: no ticket yet)."""

    def close(self) -> None:
        """Free the library's session; idempotent."""


class FFIErrors:
    """A binding's exception classes, and the one boundary that translates them.

    :param backend: the backend's name, for messages.
    :param want_read: raised when more peer data is needed.
    :param want_write: raised when a session attached to a non-blocking descriptor
        cannot send yet (retry the same call once the descriptor is writable).
    :param ragged_eof: the transport closed without close_notify.
    :param certificate: the peer's certificate was refused; each has a ``reason``, and
        may have a ``verify_code`` (an OpenSSL ``X509_V_ERR_*`` number, or ``None``).
    :param failure: any other failure of the library (or of the arguments it was given).

    The certificate and EOF classes are caught before *failure*, so they may subclass it.
    """

    def __init__(
        self,
        backend: str,
        *,
        want_read: type[Exception],
        want_write: type[Exception],
        ragged_eof: type[Exception],
        certificate: tuple[type[Exception], ...],
        failure: tuple[type[Exception], ...],
    ) -> None:
        self.backend = backend
        self.want_read = want_read
        self.want_write = want_write
        self.ragged_eof = ragged_eof
        self.certificate = certificate
        self.failure = failure

    @contextlib.contextmanager
    def translate(self, building: str | None = None) -> Iterator[None]:
        """Turn the binding's exceptions into tls_adapter's, chaining the original.

        With *building* (what is being built, for the message), every failure is a
        :class:`ConfigurationError`: the context (or connection) cannot be made as asked.
        """
        try:
            yield
        except Exception as e:
            self.reraise(e, building)

    def reraise(self, e: Exception, building: str | None = None) -> NoReturn:
        """Raise what :meth:`translate` turns *e* into (*e* itself if it is none of the
        binding's, such as the :class:`OSError` of a failed socket); for hot paths, where
        a ``try``/``except`` costs less than a ``with``."""
        if isinstance(e, self.want_read):
            raise WantReadError(str(e) or "more data from the network is needed") from e
        if isinstance(e, self.want_write):
            raise WantWriteError(str(e) or "the socket cannot take more data yet") from e
        if isinstance(e, self.ragged_eof):
            raise RaggedEOF("the peer closed the connection without a TLS close_notify") from e
        if isinstance(e, self.certificate):
            raise CertificateValidationError(
                getattr(e, "reason", None) or str(e), verify_code=getattr(e, "verify_code", None)
            ) from e
        if isinstance(e, SNICallbackError):
            raise_sni_failure(e)
        if isinstance(e, self.failure):
            if building is not None:
                raise ConfigurationError(
                    f"the {self.backend} backend cannot {building}: {e}"
                ) from e
            raise TLSError(str(e)) from e
        raise e


class FFIBuffer(BufferBase[ClientContext | ServerContext]):
    """A TLS connection: one ctypes-driven session, over memory buffers or attached to
    a socket's descriptor (``_sock``, whose ``fileno()`` the library reads and writes
    itself; then no ciphertext passes through this object)."""

    #: The backend's error classes; ``_errors.translate()`` is its error boundary.
    _errors: ClassVar[FFIErrors]
    #: The library's version names (``"TLSv1.3"``, ...) mapped to ours.
    _versions: ClassVar[dict[str, TLSVersion]]

    _session: FFISession
    _peer_closed: bool
    _name: ServerName | None
    _policy: ChainPolicy | None
    _policy_failure: CertificateValidationError | None
    _sock: _socket.socket | None
    _fd: int
    _avail: array.array[int]  # FIONREAD's answer
    _offered: bool  # whether a session was offered for resumption

    @classmethod
    def _new(
        cls,
        context: ClientContext | ServerContext,
        policy: ChainPolicy | None,
        name: ServerName | None = None,
        sock: _socket.socket | None = None,
    ) -> Self:
        self = object.__new__(cls)
        self._context = context
        self._peer_closed = False
        self._policy = policy
        self._name = name
        self._policy_failure = None
        self._sock = sock
        self._fd = -1 if sock is None else sock.fileno()
        self._avail = array.array("i", [0])
        self._offered = False
        return self

    def _check_attached(self) -> None:
        """Descriptor mode: refuse to run the library once the socket was closed or
        detached (its descriptor number may already belong to another file)."""
        sock = self._sock
        if sock is not None and sock.fileno() != self._fd:
            raise OSError(errno.EBADF, "the TLS socket's descriptor was closed or detached")

    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""
        if self._policy_failure is not None:
            raise self._policy_failure
        self._check_attached()
        with self._errors.translate():
            self._session.handshake()
        policy = self._policy
        if policy is not None and self._offered and self._session.session_reused():
            # A resumed handshake sends no certificate: the session was validated, under
            # the same configuration and name, when it was made (the integrations key
            # their caches so). A declined offer is a full handshake, checked below.
            self._policy = None
        elif policy is not None and self._session.policy_checked:
            # The binding ran this same policy inside the handshake, from its library's
            # certificate hook, before the library's own verifier (NSS).
            self._policy = None
        elif policy is not None:
            try:
                policy.verify(
                    self._session.peer_certificate_chain_der(),
                    self._name,
                    isinstance(self._context, ServerContext),
                )
            except CertificateValidationError as e:
                self._policy_failure = e
                raise
            self._policy = None  # approved: nothing left to check on this connection

    def read(self, amt: int) -> bytes:
        """Up to *amt* decrypted bytes; ``b""`` after the peer's close_notify."""
        if amt < 0:
            raise ValueError("amt must not be negative")
        if self._peer_closed or amt == 0:
            return b""
        if self._policy is not None:
            self.do_handshake()
        self._check_attached()
        try:
            data = self._session.read(amt)
        except Exception as e:
            self._errors.reraise(e)
        if not data:
            self._peer_closed = True
        return data

    def readinto(self, buffer: Buffer, amt: int) -> int:
        """Like :meth:`read`, decrypting into *buffer* (writable); 0 after close_notify."""
        if amt < 0:
            raise ValueError("amt must not be negative")
        view = memoryview(buffer).cast("B")
        if view.readonly:
            raise TypeError("readinto() needs a writable buffer")
        if self._peer_closed or amt == 0 or not view.nbytes:
            return 0
        if self._policy is not None:
            self.do_handshake()
        self._check_attached()
        try:
            got = self._session.readinto(view, amt)
        except Exception as e:
            self._errors.reraise(e)
        if not got:
            self._peer_closed = True
        return got

    def _readinto_nowait(self, view: memoryview, amt: int) -> int:
        """:meth:`readinto`, but -1 where it would raise :class:`WantReadError`.

        Attached to a socket, it reads one record, then further ones while the kernel
        holds a whole record *and* more after it (``FIONREAD``): so the last record that
        has arrived (a ``close_notify`` after a response, say) stays in the kernel, as
        the buffer pump leaves it, and a long read costs one pass through the socket
        code instead of one per record. An error after the first record ends the read
        quietly: the next read raises it.
        """
        if (
            self._policy is not None
            or self._peer_closed
            or amt <= 0
            or view.readonly
            or not view.nbytes
        ):
            return super()._readinto_nowait(view, amt)
        self._check_attached()
        try:
            got = self._session.readinto(view, amt)
        except self._errors.want_read:
            return -1
        except Exception as e:
            self._errors.reraise(e)
        if not got:
            self._peer_closed = True
        elif self._sock is not None and _FIONREAD is not None:
            amt = min(amt, view.nbytes)
            while got < amt:
                _FIONREAD(self._fd, self._avail)
                if self._avail[0] <= _MORE_THAN_A_RECORD:
                    break
                try:
                    n = self._session.readinto(view[got:], amt - got)
                except Exception:
                    break
                if not n:
                    self._peer_closed = True
                    break
                got += n
        return got

    def write(self, buf: Buffer) -> int:
        """Encrypt *buf*; raises :class:`WantWriteError` while 256 KiB of output is unsent."""
        view = memoryview(buf).cast("B")
        if not view.nbytes:
            return 0
        admitted = self._admit(view)
        if self._policy is not None:
            self.do_handshake()
        self._check_attached()
        with self._errors.translate():
            return int(self._session.write(admitted))

    def shutdown(self) -> None:
        """Send ``close_notify``; raises :class:`WantReadError` until the peer's arrives.

        Application data still arriving before the peer's ``close_notify`` is discarded.
        """
        self._check_attached()
        with self._errors.translate():
            self._session.close_notify()
            while not self._peer_closed:
                if not self._session.read(RECORD):
                    self._peer_closed = True

    def receive_from_network(self, data: Buffer) -> None:
        """Feed ciphertext from the network; ``b""`` signals transport EOF."""
        if self._sock is not None:
            raise ValueError("this connection reads its socket itself")
        with self._errors.translate():
            self._session.receive(memoryview(data).cast("B"))

    def peek_outgoing(self, amt: int) -> bytes:
        """Up to *amt* bytes waiting to be sent, without removing them."""
        if self._sock is not None:
            return b""  # the library writes to the descriptor itself
        return bytes(self._session.peek(max(amt, 0)))

    def consume_outgoing(self, amt: int) -> None:
        """Drop *amt* sent bytes from the front of the outgoing data."""
        if self._sock is not None:
            if amt > 0:
                raise ValueError("nothing is buffered: the library writes to the socket")
            return
        self._session.consume(amt)

    def incoming_bytes_buffered(self) -> int:
        """Ciphertext received but not yet processed (0 when attached to a socket)."""
        if self._sock is not None:
            return 0
        return int(self._session.incoming_len())

    def outgoing_bytes_buffered(self) -> int:
        """Ciphertext waiting to be sent (0 when attached to a socket)."""
        if self._sock is not None:
            return 0
        return int(self._session.outgoing_len())

    def cipher(self) -> CipherSuite | int | None:
        """The negotiated cipher suite, or ``None`` before the handshake."""
        value = self._session.cipher_suite_id()
        return None if value is None else cipher_suite_from_int(value)

    def negotiated_protocol(self) -> NextProtocol | bytes | None:
        """The ALPN protocol agreed on, or ``None``."""
        if not self._session.handshake_done:
            return None
        selected = self._session.alpn()
        return protocol_from_bytes(selected) if selected else None

    def negotiated_tls_version(self) -> TLSVersion | None:
        """The TLS version in use, or ``None`` before the handshake."""
        name = self._session.version()
        return None if name is None else self._versions.get(name)

    def getpeercert(self) -> bytes | None:
        """The peer's leaf certificate as DER, or ``None``."""
        der = self._session.peer_certificate_der()
        return None if der is None else bytes(der)

    def pending(self) -> int:
        """Decrypted bytes buffered inside the library."""
        return int(self._session.pending())

    def session(self) -> TLSSession | None:
        """The session to offer when connecting again (``wrap_socket(session=)``).

        ``None`` on a server, before the handshake and its validation, and while the
        library has nothing resumable (TLS 1.3: until the server's ticket has arrived,
        which follows the handshake; read some data first).
        """
        if (
            not isinstance(self._context, FFIClientContext)
            or not self._context._resumes
            or self._policy is not None
            or self._policy_failure is not None
            or not self._session.handshake_done
        ):
            return None
        state = self._session.resumption_state()
        if state is None:
            return None
        handle, lifetime = state
        return TLSSession(self._errors.backend, handle, self.negotiated_tls_version(), lifetime)

    def session_reused(self) -> bool:
        """Whether the handshake resumed the session given to ``wrap_socket``."""
        return self._session.handshake_done and bool(self._session.session_reused())


# -- contexts ---------------------------------------------------------------------------
class FFIClientContext(ClientContext):
    """A client context of a ctypes backend; its library's objects are built once, by
    the subclass's constructor (after this one), and shared by every connection.

    Hostname checks are set per connection, so one context serves both
    ``check_hostname=True`` and ``False``.
    """

    #: The backend's buffer class (whose ``_errors`` name the backend).
    _buffer_type: ClassVar[type[FFIBuffer]]
    #: Whether connections can offer a session for resumption (``session=``).
    _resumes: ClassVar[bool] = False

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        self._policy = ChainPolicy.for_context(
            configuration, self._buffer_type._errors.backend, server_side=False
        )

    @abc.abstractmethod
    def _session(
        self, name: ServerName, fd: int | None = None, resume: object = None
    ) -> FFISession:
        """The library's session for a new connection to *name*: over memory buffers,
        or attached to the socket descriptor *fd*; offering the resumption state
        *resume* (a :attr:`TLSSession.handle <tls_adapter._session.TLSSession.handle>`
        of this backend) if given."""

    def _offer(self, session: TLSSession | None) -> TLSSession | None:
        """*session* if this context may offer it: of this backend (else
        :class:`ValueError`), and of a TLS version the context allows (else ``None``:
        a full handshake)."""
        offered = check_session(session, self._buffer_type._errors.backend, self._resumes)
        if offered is None or offered.tls_version is None:
            return None
        config = self._configuration
        rank = version_rank(offered.tls_version)
        if not (
            version_rank(config.lowest_supported_version)
            <= rank
            <= version_rank(config.highest_supported_version)
        ):
            return None
        return offered

    def _connect(
        self, name: ServerName, sock: _socket.socket | None, offered: TLSSession | None = None
    ) -> FFIBuffer:
        buffer = self._buffer_type._new(self, self._policy, name, sock)
        resume = None if offered is None else offered.handle
        with self._buffer_type._errors.translate("start a client connection"):
            buffer._session = self._session(name, None if sock is None else buffer._fd, resume)
        buffer._offered = offered is not None
        return buffer

    def wrap_buffers(
        self,
        server_hostname: str | None,
        *,
        check_hostname: bool = True,
        session: TLSSession | None = None,
    ) -> TLSWrappedBuffer:
        """A new in-memory client connection (a session of the library over memory
        buffers), offering *session* for resumption if given."""
        offered = self._offer(session)
        return self._connect(ServerName(server_hostname, check_hostname), None, offered)

    def wrap_socket(
        self,
        socket: _socket.socket,
        server_hostname: str | None,
        *,
        check_hostname: bool = True,
        session: TLSSession | None = None,
    ) -> TLSWrappedSocket:
        """Wrap a connected ``SOCK_STREAM`` socket; call ``do_handshake()`` next.

        The library reads and writes the socket's descriptor itself
        (:class:`~tls_adapter._socket.DescriptorSocket`); see :meth:`ClientContext.wrap_socket`
        for the arguments.
        """
        offered = self._offer(session)
        name = ServerName(server_hostname, check_hostname)
        return DescriptorSocket._attach(socket, lambda sock: self._connect(name, sock, offered))


class FFIServerContext(ServerContext):
    """A server context of a ctypes backend; its library's objects are built once, by
    the subclass's constructor (after this one), and shared by every connection.

    With an ``sni_callback``, the subclass's constructor sets ``_sni`` (the
    :class:`~._server.SNIDispatch`), and its :meth:`_switch` moves a connection to the
    context built for the callback's answer.
    """

    #: The backend's buffer class (whose ``_errors`` name the backend).
    _buffer_type: ClassVar[type[FFIBuffer]]

    def __init__(self, configuration: TLSConfiguration) -> None:
        super().__init__(configuration)
        self._policy = ChainPolicy.for_context(
            configuration, self._buffer_type._errors.backend, server_side=True
        )
        self._sni: SNIDispatch[Any] | None = None

    def _switch(self, session: Any, derived: Any) -> object:
        """Move *session* to the *derived* context (what the binding's hook returns)."""
        raise NotImplementedError

    @abc.abstractmethod
    def _session(
        self, sni_hook: Callable[[Any, str | None], Any] | None, fd: int | None = None
    ) -> FFISession:
        """The library's session for a new connection, over memory buffers or attached
        to the socket descriptor *fd*; the binding calls *sni_hook* (if given) as
        ``sni_hook(session, server_name)`` after the ClientHello."""

    def _accept(self, sock: _socket.socket | None) -> FFIBuffer:
        buffer = self._buffer_type._new(self, self._policy, None, sock)
        hook = None if self._sni is None else self._sni.hook(buffer, self._switch)
        with self._buffer_type._errors.translate("start a server connection"):
            buffer._session = self._session(hook, None if sock is None else buffer._fd)
        return buffer

    def wrap_buffers(self) -> TLSWrappedBuffer:
        """A new in-memory server connection (a session of the library over memory buffers)."""
        return self._accept(None)

    def wrap_socket(self, socket: _socket.socket) -> TLSWrappedSocket:
        """Wrap an accepted ``SOCK_STREAM`` socket; call ``do_handshake()`` next. The
        library reads and writes the socket's descriptor itself
        (:class:`~tls_adapter._socket.DescriptorSocket`)."""
        return DescriptorSocket._attach(socket, self._accept)
