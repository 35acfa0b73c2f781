"""The generic socket pump: a :class:`TLSWrappedSocket` over any :class:`TLSWrappedBuffer`.

Theory of operation
-------------------
A backend that only offers the sans-I/O buffer object gets its socket API from here.
The TLS state lives entirely in the buffer; this class only moves ciphertext between
the buffer and the raw socket, and turns "the buffer cannot progress" into waiting.

* The raw socket is always non-blocking. The *logical* timeout the user set
  (``None`` = block, ``0`` = non-blocking, ``t`` = seconds) lives in ``_timeout`` and
  is applied to each whole operation as one deadline, however many network
  round-trips the operation needs (a handshake is several).

* Every operation is a call into the buffer, retried until it succeeds:

  - ``WantReadError``: first flush everything the buffer wants to send (a handshake
    flight must leave before we wait for the answer, and it leaves in one ``send``
    so Nagle/delayed-ACK cannot stall it), then wait for the socket to be readable
    and feed what arrives into the buffer. TCP EOF is fed as ``b""``; if the buffer
    still wants to read after that, the peer left without ``close_notify`` and the
    operation raises :class:`RaggedEOF`.
  - ``WantWriteError``: flush, then retry.
  - success: flush what the call produced, then return.

  "Flush" waits for writability up to the deadline. In non-blocking mode it sends
  what the kernel takes and leaves the rest in the buffer, where the next operation
  flushes it first; an operation that cannot progress at all raises
  ``WantReadError``/``WantWriteError`` instead of waiting.

* On a fatal TLS error (bad certificate, handshake failure) the buffer usually holds
  an alert for the peer. It is flushed, briefly and best-effort, before the error is
  raised, so the peer learns *why* (e.g. "unknown ca") instead of seeing a bare EOF.

* Reads take whole TLS records, several per ``recv`` when the caller asked for that
  much, but never the last record that has arrived unless the caller needs it. The
  pump peeks at the kernel's buffer (``MSG_PEEK``) into one reusable ``bytearray``,
  reads the record headers there, and takes from the front: always the first record,
  then further complete records while the caller's request is not yet covered and
  more bytes follow them. Whatever the peer sent after what the caller needed, such
  as a ``close_notify`` after an HTTP response, stays in the kernel, so the
  descriptor stays readable and "is this pooled connection still alive?" checks on
  ``fileno()`` (urllib3's) see the close, as with OpenSSL's own socket code (which
  reads one record at a time). The peeked bytes are then removed from the kernel
  without a second copy (``MSG_TRUNC`` on Linux; a plain ``recv_into`` elsewhere) and
  handed to the buffer as a ``memoryview``; backends copy what they are fed.
  During a handshake or ``unwrap`` every complete record is taken.

* One ``recv_into`` returns as much as the buffer can decrypt from what has arrived,
  up to the caller's size, so a 64 KiB read costs one pass through this pump rather
  than one per 16 KiB record. It never waits for more once it has some. It first asks
  the buffer directly (``_readinto_nowait``: -1 for "nothing yet", no exception) and
  enters the retry loop only when there is nothing, starting with the wait; after a
  read that emptied the buffer, the next one goes to the network first.

* Backpressure: ``send`` never lets more than ``_HIGH_WATER`` bytes of ciphertext pile
  up in the buffer; large ``sendall`` payloads are encrypted in slices.

* :class:`DescriptorSocket` is the same loop for a library attached to the socket's
  descriptor (it reads and writes the kernel itself): "fill" and "flush" only wait
  for readability/writability, and a read is one call of the buffer, so a library
  that reads a record at a time leaves what follows in the kernel as the pump does.

* ``close()`` closes TCP without ``close_notify`` (like :mod:`ssl`); ``unwrap()``
  exchanges ``close_notify`` and hands back the raw socket. Not thread-safe: one
  thread at a time per socket, as with :mod:`ssl`.
"""

from __future__ import annotations

import errno
import functools
import select
import socket as _socket
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar

from ._ciphers import CipherSuite
from ._enums import NextProtocol, TLSVersion
from ._errors import RaggedEOF, TLSError, WantReadError, WantWriteError
from ._session import TLSSession
from ._wrapped_socket import TLSWrappedSocket, check_stream

if TYPE_CHECKING:
    from typing_extensions import Buffer

    # For annotations only: ``_api`` imports this module (its default ``wrap_socket``
    # returns a BufferSocket), so this module must not import ``_api`` at run time.
    from ._api import ClientContext, ServerContext, TLSWrappedBuffer

__all__ = ["BufferSocket", "DescriptorSocket"]

_T = TypeVar("_T")
_RECORD_HEADER = 5
#: The most ciphertext one peek looks at (and so one ``recv`` takes): 64 KiB reads of
#: 16 KiB records, with their headers and the start of the next record, fit.
_PEEK_MAX = 80 * 1024
#: Never peek at less than one largest record plus its header and some of the next.
_PEEK_MIN = 16 * 1024 + 2048
#: ``want`` for "take every complete record" (handshake, unwrap, writes).
_ALL = -1
_SLICE = 256 * 1024
_HIGH_WATER = 256 * 1024
_ALERT_FLUSH_SECONDS = 1.0
_POLL = getattr(select, "poll", None)


def _linux_discard(sock: _socket.socket, scratch: bytearray, nbytes: int) -> int:
    """Remove *nbytes* already peeked at from *sock* without copying them again.

    On Linux, ``recv`` with ``MSG_TRUNC`` on a TCP socket drops the bytes in the kernel
    (tcp(7)); *scratch* is not written.
    """
    return sock.recv_into(scratch, nbytes, _socket.MSG_TRUNC)


def _copy_discard(sock: _socket.socket, scratch: bytearray, nbytes: int) -> int:
    """Remove *nbytes* already peeked at from *sock* by reading them again into *scratch*."""
    return sock.recv_into(scratch, nbytes)


_discard = _linux_discard if sys.platform.startswith("linux") else _copy_discard


def _take(
    view: memoryview, n: int, record_left: int, header: bytearray, want: int
) -> tuple[int, int]:
    """How many of the *n* peeked bytes in *view* to take, and the new ``record_left``.

    *record_left* is what the kernel still holds of a record already partly taken, and
    *header* the part of its header taken so far (updated in place). The first
    record, or the rest of the current one, is always taken, completely or as far as
    it has arrived; further records only whole, while *want* plaintext bytes are not
    yet covered (``_ALL``: no limit) and, unless *want* is ``_ALL``, only when more
    bytes follow them (a record that ends where the peeked data ends may be the
    peer's last, a ``close_notify`` say: it stays in the kernel until a read needs it).
    """
    if record_left:
        if n <= record_left:
            return n, record_left - n
        pos = covered = record_left
    else:
        if header or n < _RECORD_HEADER:
            need = _RECORD_HEADER - len(header)
            if n < need:
                header += view[:n]
                return n, 0
            header += view[:need]
            length = int.from_bytes(header[3:5], "big")
            header.clear()
            pos = need
        else:
            length = int.from_bytes(view[3:5], "big")
            pos = _RECORD_HEADER
        if n - pos <= length:
            return n, length - (n - pos)
        pos += length
        covered = length
    while want == _ALL or covered < want:
        if n - pos < _RECORD_HEADER:
            break
        length = int.from_bytes(view[pos + 3 : pos + 5], "big")
        end = pos + _RECORD_HEADER + length
        if end > n or (end == n and want != _ALL):
            break
        pos = end
        covered += length
    return pos, 0


def _readinto_nowait(buffer: TLSWrappedBuffer, view: memoryview, amt: int) -> int:
    """``buffer.readinto``, but -1 where it raises :class:`WantReadError` (for a buffer
    without the kit's cheaper ``_readinto_nowait``)."""
    try:
        return buffer.readinto(view, amt)
    except WantReadError:
        return -1


def _wait(sock: _socket.socket, for_read: bool, deadline: float | None) -> bool:
    """Wait until *sock* is readable/writable; ``False`` if the deadline passed first."""
    while True:
        if deadline is None:
            timeout: float | None = None
        else:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                return False
        if _POLL is not None:
            poller = _POLL()
            poller.register(sock, select.POLLIN if for_read else select.POLLOUT)
            events = poller.poll(None if timeout is None else max(0, int(timeout * 1000) + 1))
            if events:
                return True
        else:  # pragma: no cover - platforms without poll()
            r, w, _ = select.select(
                [sock] if for_read else [], [] if for_read else [sock], [], timeout
            )
            if r or w:
                return True


class BufferSocket(TLSWrappedSocket):
    """A :class:`TLSWrappedSocket` that pumps a :class:`TLSWrappedBuffer` over a socket."""

    _buffer: TLSWrappedBuffer
    _timeout: float | None
    _eof: bool
    _header: bytearray
    _record_left: int
    _want: int
    _starved: bool
    _readinto_nowait: Callable[[memoryview, int], int]
    _peek: bytearray
    _peek_view: memoryview

    @classmethod
    def _create(cls, sock: _socket.socket, buffer: TLSWrappedBuffer) -> BufferSocket:
        self = object.__new__(cls)
        self._init_socket(sock)
        self._buffer = buffer
        self._timeout = sock.gettimeout()
        self._eof = False
        self._header = bytearray()
        self._record_left = 0
        self._want = _ALL
        self._starved = False
        self._readinto_nowait = getattr(buffer, "_readinto_nowait", None) or functools.partial(
            _readinto_nowait, buffer
        )
        self._init_transport()
        sock.setblocking(False)
        return self

    def _init_transport(self) -> None:
        self._peek = bytearray(_PEEK_MAX)
        self._peek_view = memoryview(self._peek)

    # -- the pump -----------------------------------------------------------------------
    def _deadline(self) -> float | None:
        if self._timeout is None:
            return None
        return time.monotonic() + self._timeout

    def _flush(self, deadline: float | None) -> None:
        """Send buffered ciphertext; in non-blocking mode send only what the kernel takes."""
        buffer = self._buffer
        while True:
            pending = buffer.outgoing_bytes_buffered()
            if not pending:
                return
            data = buffer.peek_outgoing(pending)
            try:
                sent = self._sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            if sent:
                buffer.consume_outgoing(sent)
                continue
            if self._timeout == 0.0:
                return
            if not _wait(self._sock, False, deadline):
                raise TimeoutError("The write operation timed out")

    def _fill(self, deadline: float | None) -> None:
        """Feed the buffer the whole records the current operation needs (see the theory
        of operation), or what has arrived of the next one."""
        if self._eof:
            raise RaggedEOF("the peer closed the connection without a TLS close_notify")
        sock = self._sock
        want = self._want
        size = _PEEK_MAX if want == _ALL else min(max(want + 1024, _PEEK_MIN), _PEEK_MAX)
        while True:
            try:
                n = sock.recv_into(self._peek, size, _socket.MSG_PEEK)
                break
            except (BlockingIOError, InterruptedError):
                if self._timeout == 0.0:
                    raise WantReadError("the socket has no data yet") from None
                if not _wait(sock, True, deadline):
                    raise TimeoutError("The read operation timed out") from None
        if not n:
            self._eof = True
            self._buffer.receive_from_network(b"")
            return
        view = self._peek_view
        take, self._record_left = _take(view, n, self._record_left, self._header, want)
        _discard(sock, self._peek, take)
        self._buffer.receive_from_network(view[:take])

    def _make_room(self, deadline: float | None) -> None:
        """After :class:`WantWriteError`: send what the buffer holds (the caller retries)."""
        self._flush(deadline)
        if self._timeout == 0.0 and self._buffer.outgoing_bytes_buffered():
            raise WantWriteError("buffered TLS data could not be sent yet")

    def _alert_then_raise(self, exc: TLSError) -> NoReturn:
        """Best-effort flush of a pending alert before a fatal error propagates."""
        try:
            deadline = time.monotonic() + _ALERT_FLUSH_SECONDS
            saved, self._timeout = (
                self._timeout,
                (_ALERT_FLUSH_SECONDS if self._timeout != 0.0 else 0.0),
            )
            try:
                self._flush(deadline)
            finally:
                self._timeout = saved
        except (OSError, TLSError):
            pass
        raise exc

    def _run(self, op: Callable[[], _T], starved: bool = False) -> _T:
        """Retry *op* until it succeeds (see the theory of operation); *starved*: the
        buffer has said it needs input and nothing was fed since, so fill first."""
        deadline = self._deadline()
        if self._buffer.outgoing_bytes_buffered():
            self._flush(deadline)
        elif starved:
            self._fill(deadline)
        while True:
            try:
                result = op()
            except WantReadError:
                self._flush(deadline)
                if self._timeout == 0.0 and self._buffer.outgoing_bytes_buffered():
                    raise WantWriteError("buffered TLS data could not be sent yet") from None
                self._fill(deadline)
            except WantWriteError:
                self._make_room(deadline)
            except RaggedEOF:
                raise
            except TLSError as exc:
                self._alert_then_raise(exc)
            else:
                self._flush(deadline)
                return result

    # -- TLS ----------------------------------------------------------------------------
    @property
    def context(self) -> ClientContext | ServerContext:
        """The context this socket was made from."""
        return self._buffer.context

    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""
        self._want = _ALL
        self._starved = False
        self._run(self._buffer.do_handshake)

    def cipher(self) -> CipherSuite | int | None:
        """The negotiated cipher suite, or ``None`` before the handshake."""
        return self._buffer.cipher()

    def negotiated_protocol(self) -> NextProtocol | bytes | None:
        """The ALPN protocol agreed on, or ``None``."""
        return self._buffer.negotiated_protocol()

    def negotiated_tls_version(self) -> TLSVersion | None:
        """The TLS version in use, or ``None`` before the handshake."""
        return self._buffer.negotiated_tls_version()

    def getpeercert(self) -> bytes | None:
        """The peer's leaf certificate as DER, or ``None``."""
        return self._buffer.getpeercert()

    def session(self) -> TLSSession | None:
        """The buffer's session to resume later (see :meth:`TLSWrappedSocket.session`)."""
        return self._buffer.session()

    def session_reused(self) -> bool:
        """Whether the handshake resumed the session given to ``wrap_socket``."""
        return self._buffer.session_reused()

    def unwrap(self) -> _socket.socket:
        """Exchange ``close_notify`` with the peer and return the plain socket.

        As with :mod:`ssl` (whose ``unwrap`` returns the same object), closing this
        socket afterwards closes the plain one too."""
        self._want = _ALL
        self._starved = False
        self._run(self._buffer.shutdown)
        sock = self._sock
        sock.settimeout(self._timeout)
        self._closed = True
        return sock

    # -- I/O ----------------------------------------------------------------------------
    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive up to *bufsize* decrypted bytes; ``b""`` after the peer's close_notify."""
        if flags:
            raise ValueError("non-zero flags are not allowed on a TLS socket")
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0:
            return b""
        self._want = bufsize
        self._starved = False
        return self._run(lambda: self._buffer.read(bufsize))

    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into *buffer* what has arrived, up to *nbytes* (default: its size);
        0 after the peer's close_notify."""
        if flags:
            raise ValueError("non-zero flags are not allowed on a TLS socket")
        view = memoryview(buffer)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        amt = nbytes or view.nbytes
        if amt == 0:
            return 0
        if amt < view.nbytes:
            view = view[:amt]
        self._want = amt
        if not self._starved:
            # The fast path: what the buffer already holds, without the retry loop (and
            # without an exception when it holds nothing: then the loop starts by
            # waiting for input).
            try:
                got = self._drain_into(view, amt)
            except RaggedEOF:
                raise
            except WantWriteError:
                got = -2  # the loop below sends, then retries
            except TLSError as exc:
                self._alert_then_raise(exc)
            if got >= 0:
                if self._buffer.outgoing_bytes_buffered():
                    self._flush(self._deadline())
                return got
            starved = got == -1
        else:
            starved, self._starved = True, False
        return self._run(lambda: self._drained_into(view, amt), starved)

    def _drained_into(self, view: memoryview, amt: int) -> int:
        """:meth:`_drain_into` for the retry loop: :class:`WantReadError` for -1."""
        got = self._drain_into(view, amt)
        if got < 0:
            raise WantReadError("more data from the network is needed")
        return got

    def _drain_into(self, view: memoryview, amt: int) -> int:
        """Everything the buffer can give now, up to *amt* bytes; -1 when it has
        nothing."""
        read = self._readinto_nowait
        got = read(view, amt)
        while 0 < got < amt:
            n = read(view[got:], amt - got)
            if n <= 0:
                self._starved = n < 0  # then the next recv_into goes to the network first
                break
            got += n
        return got

    def send(self, data: Buffer, flags: int = 0) -> int:
        """Encrypt and send some of *data* (at most 256 KiB per call)."""
        if flags:
            raise ValueError("non-zero flags are not allowed on a TLS socket")
        view = memoryview(data).cast("B")[:_SLICE]
        if not view.nbytes:
            return 0
        if self._buffer.outgoing_bytes_buffered() >= _HIGH_WATER:
            self._flush(self._deadline())
            if self._buffer.outgoing_bytes_buffered() >= _HIGH_WATER:
                raise WantWriteError("the socket cannot take more data yet")
        self._starved = False
        return self._run(lambda: self._buffer.write(view))

    def sendall(self, data: Buffer, flags: int = 0) -> None:
        """Send all of *data*; the timeout applies to each slice of it."""
        view = memoryview(data).cast("B")
        sent = 0
        while sent < view.nbytes:
            sent += self.send(view[sent:], flags)

    def settimeout(self, value: float | None) -> None:
        """Set the timeout for each whole operation (``None`` blocks, ``0`` is non-blocking)."""
        if value is not None:
            value = float(value)
            if value < 0:
                raise ValueError("Timeout value out of range")
        self._timeout = value

    def gettimeout(self) -> float | None:
        """The current timeout."""
        return self._timeout


class DescriptorSocket(BufferSocket):
    """A :class:`TLSWrappedSocket` whose library reads and writes the descriptor itself.

    For a backend whose library can be attached to the socket's file descriptor (its
    buffer object then raises :class:`WantReadError`/:class:`WantWriteError` when the
    non-blocking descriptor cannot progress, and holds no ciphertext of its own). The
    operation loop, timeouts and errors are :class:`BufferSocket`'s; what differs:

    * "fill" and "flush" only wait for the descriptor to become readable/writable: the
      library moves the bytes, without a copy through Python;
    * a read is one call of the buffer's ``_readinto_nowait``, which takes from the
      kernel only the record it is decrypting, or more records only while it can tell
      that whole records and more after them are waiting (the ctypes backends ask
      ``FIONREAD``). Libraries that read record by record (OpenSSL, GnuTLS, wolfSSL)
      so leave a trailing ``close_notify`` in the kernel; each backend that uses this
      class proves it with ``tests/test_pump_reads.py``.
    """

    @classmethod
    def _attach(
        cls, sock: _socket.socket, attach: Callable[[_socket.socket], TLSWrappedBuffer]
    ) -> DescriptorSocket:
        """A socket over the buffer *attach* builds on *sock*'s descriptor, once *sock*
        is known to be an open stream socket (a library must not be given anything else)."""
        check_stream(sock)
        if sock.fileno() < 0:
            raise OSError(errno.EBADF, "Bad file descriptor")
        self = cls._create(sock, attach(sock))
        assert isinstance(self, DescriptorSocket)
        return self

    def _init_transport(self) -> None:
        pass

    def _flush(self, deadline: float | None) -> None:
        """Nothing is buffered here: the library writes to the descriptor itself."""

    def _make_room(self, deadline: float | None) -> None:
        """Wait until the descriptor can take more (the caller retries the operation)."""
        if self._timeout == 0.0:
            raise WantWriteError("the socket cannot take more data yet")
        if not _wait(self._sock, False, deadline):
            raise TimeoutError("The write operation timed out")

    def _fill(self, deadline: float | None) -> None:
        """Wait until the descriptor is readable (the caller retries the operation)."""
        if self._timeout == 0.0:
            raise WantReadError("the socket has no data yet")
        if not _wait(self._sock, True, deadline):
            raise TimeoutError("The read operation timed out")

    def _drain_into(self, view: memoryview, amt: int) -> int:
        """One buffer read (see the class docstring); -1 when nothing has arrived."""
        return self._readinto_nowait(view, amt)
