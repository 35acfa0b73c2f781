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

* Reads never cross a TLS record boundary (a 5-byte header read, then the record
  body), as OpenSSL's own socket code does. Whatever the peer sent after the records
  the caller needed, such as a ``close_notify`` after an HTTP response, stays in the
  kernel, so the descriptor stays readable and "is this pooled connection still
  alive?" checks on ``fileno()`` (urllib3's) see the close.

* Backpressure: ``send`` never lets more than ``_HIGH_WATER`` bytes of ciphertext pile
  up in the buffer; large ``sendall`` payloads are encrypted in slices.

* ``close()`` closes TCP without ``close_notify`` (like :mod:`ssl`); ``unwrap()``
  exchanges ``close_notify`` and hands back the raw socket. Not thread-safe: one
  thread at a time per socket, as with :mod:`ssl`.
"""

from __future__ import annotations

import select
import socket as _socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ._ciphers import CipherSuite
from ._enums import NextProtocol, TLSVersion
from ._errors import RaggedEOF, TLSError, WantReadError, WantWriteError
from ._wrapped_socket import TLSWrappedSocket

if TYPE_CHECKING:
    from typing_extensions import Buffer

    # For annotations only: ``_api`` imports this module (its default ``wrap_socket``
    # returns a BufferSocket), so this module must not import ``_api`` at run time.
    from ._api import ClientContext, ServerContext, TLSWrappedBuffer

__all__ = ["BufferSocket"]

_T = TypeVar("_T")
_RECV_SIZE = 65536
_RECORD_HEADER = 5
_SLICE = 256 * 1024
_HIGH_WATER = 256 * 1024
_ALERT_FLUSH_SECONDS = 1.0
_POLL = getattr(select, "poll", None)


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

    @classmethod
    def _create(cls, sock: _socket.socket, buffer: TLSWrappedBuffer) -> BufferSocket:
        self = object.__new__(cls)
        self._init_socket(sock)
        self._buffer = buffer
        self._timeout = sock.gettimeout()
        self._eof = False
        self._header = bytearray()
        self._record_left = 0
        sock.setblocking(False)
        return self

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
        """Receive one whole TLS record (or what has arrived of it) into the buffer."""
        if self._eof:
            raise RaggedEOF("the peer closed the connection without a TLS close_notify")
        got_any = False
        while True:
            try:
                data = self._sock.recv(self._next_read_size())
            except (BlockingIOError, InterruptedError):
                if got_any:
                    return
                if self._timeout == 0.0:
                    raise WantReadError("the socket has no data yet") from None
                if not _wait(self._sock, True, deadline):
                    raise TimeoutError("The read operation timed out") from None
                continue
            if not data:
                self._eof = True
                self._buffer.receive_from_network(data)
                return
            self._track_records(data)
            self._buffer.receive_from_network(data)
            got_any = True
            if not self._record_left and not self._header:
                return

    def _next_read_size(self) -> int:
        """Never read past the end of the current TLS record (see the theory of operation)."""
        if self._record_left:
            return min(self._record_left, _RECV_SIZE)
        return _RECORD_HEADER - len(self._header)

    def _track_records(self, data: bytes) -> None:
        if self._record_left:
            self._record_left -= len(data)
            return
        self._header += data
        if len(self._header) == _RECORD_HEADER:
            self._record_left = int.from_bytes(self._header[3:5], "big")
            self._header.clear()

    def _alert_then_raise(self, exc: TLSError) -> None:
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

    def _run(self, op: Callable[[], _T]) -> _T:
        deadline = self._deadline()
        if self._buffer.outgoing_bytes_buffered():
            self._flush(deadline)
        while True:
            try:
                result = op()
            except WantReadError:
                self._flush(deadline)
                if self._timeout == 0.0 and self._buffer.outgoing_bytes_buffered():
                    raise WantWriteError("buffered TLS data could not be sent yet") from None
                self._fill(deadline)
            except WantWriteError:
                self._flush(deadline)
                if self._timeout == 0.0 and self._buffer.outgoing_bytes_buffered():
                    raise
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

    def unwrap(self) -> _socket.socket:
        """Exchange ``close_notify`` with the peer and return the plain socket."""
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
        return self._run(lambda: self._buffer.read(bufsize))

    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into *buffer*; 0 after the peer's close_notify."""
        if flags:
            raise ValueError("non-zero flags are not allowed on a TLS socket")
        view = memoryview(buffer)
        amt = nbytes or view.nbytes
        if amt == 0:
            return 0
        return self._run(lambda: self._buffer.readinto(view, amt))

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
