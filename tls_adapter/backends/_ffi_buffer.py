"""The PEP 543 buffer shared by the backends written over our own ctypes bindings.

``_gnutls_ffi.Session`` and ``_wolfssl_ffi.Session`` expose the same sans-I/O surface
(``receive``/``peek``/``consume``, ``handshake``, ``read``/``write``, negotiated state);
:class:`FFIBuffer` turns that surface into a :class:`~tls_adapter.TLSWrappedBuffer`. A
backend subclasses it and supplies its error boundary (``_translate``), how to send
``close_notify`` (``_send_close_notify``) and its version names (``_versions``).

Neither library enforces the whole validation policy, so a context that validates its
peer carries a :class:`~tls_adapter._policy.ChainPolicy` (``_policy``) and the buffer
runs it on the chain the peer presented (``peer_certificate_chain_der()``) as soon as
the library reports the handshake complete. Until that check has passed, ``read``
and ``write`` first finish the handshake (the sessions finish it implicitly too), so
no application data moves on a connection the policy has not approved; after a
failure every call raises the same :class:`~tls_adapter.CertificateValidationError`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar

from .._api import ClientContext, ServerContext, ServerName, TLSWrappedBuffer
from .._ciphers import CipherSuite, cipher_suite_from_int
from .._enums import NextProtocol, TLSVersion, protocol_from_bytes
from .._errors import CertificateValidationError, WantWriteError
from .._policy import ChainPolicy

if TYPE_CHECKING:
    from typing_extensions import Buffer, Self

__all__ = ["FFIBuffer", "MemoryIO", "MemoryTransport"]

_HIGH_WATER = 256 * 1024


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
    """The sans-I/O half of a ctypes session: ciphertext in and out of its ``_t``."""

    _t: MemoryTransport

    def receive(self, data: bytes | bytearray | memoryview) -> None:
        """Queue bytes that arrived from the peer; ``b""`` records the transport's EOF."""
        if not data:
            self._t.eof = True
        elif self._t.eof:
            raise ValueError("data received after EOF")
        else:
            self._t.incoming += data

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


class FFIBuffer(TLSWrappedBuffer):
    """A TLS connection over memory buffers: one ctypes-driven session."""

    #: The backend's error boundary (``_translate()`` of its module).
    _translate: ClassVar[Callable[[], AbstractContextManager[None]]]
    #: The library's version names (``"TLSv1.3"``, ...) mapped to ours.
    _versions: ClassVar[dict[str, TLSVersion]]

    _context: ClientContext | ServerContext
    _session: Any
    _peer_closed: bool
    _name: ServerName | None
    _policy: ChainPolicy | None
    _policy_failure: CertificateValidationError | None

    def __init__(self) -> None:
        raise TypeError("buffers are made by context.wrap_buffers()")

    @classmethod
    def _new(
        cls,
        context: ClientContext | ServerContext,
        policy: ChainPolicy | None,
        name: ServerName | None = None,
    ) -> Self:
        self = object.__new__(cls)
        self._context = context
        self._peer_closed = False
        self._policy = policy
        self._name = name
        self._policy_failure = None
        return self

    @abc.abstractmethod
    def _send_close_notify(self) -> None:
        """Queue this side's ``close_notify``."""

    @property
    def context(self) -> ClientContext | ServerContext:
        """The context this connection was made from."""
        return self._context

    def do_handshake(self) -> None:
        """Run the handshake, including certificate and hostname validation."""
        if self._policy_failure is not None:
            raise self._policy_failure
        with type(self)._translate():
            self._session.handshake()
        policy = self._policy
        if policy is not None:
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
        with type(self)._translate():
            data: bytes = self._session.read(amt)
        if not data:
            self._peer_closed = True
        return data

    def readinto(self, buffer: Buffer, amt: int) -> int:
        """Like :meth:`read`, into *buffer*; 0 after the peer's close_notify."""
        view = memoryview(buffer).cast("B")
        data = self.read(min(amt, view.nbytes))
        view[: len(data)] = data
        return len(data)

    def write(self, buf: Buffer) -> int:
        """Encrypt *buf*; raises :class:`WantWriteError` while 256 KiB of output is unsent."""
        view = memoryview(buf).cast("B")
        if not view.nbytes:
            return 0
        room = _HIGH_WATER - self._session.outgoing_len()
        if room <= 0:
            raise WantWriteError("send the buffered outgoing data first")
        if self._policy is not None:
            self.do_handshake()
        with type(self)._translate():
            return int(self._session.write(view[: max(room, 16384)]))

    def shutdown(self) -> None:
        """Send ``close_notify``; raises :class:`WantReadError` until the peer's arrives.

        Application data still arriving before the peer's ``close_notify`` is discarded.
        """
        with type(self)._translate():
            self._send_close_notify()
            while not self._peer_closed:
                if not self._session.read(16384):
                    self._peer_closed = True

    def receive_from_network(self, data: Buffer) -> None:
        """Feed ciphertext from the network; ``b""`` signals transport EOF."""
        with type(self)._translate():
            self._session.receive(memoryview(data).cast("B"))

    def peek_outgoing(self, amt: int) -> bytes:
        """Up to *amt* bytes waiting to be sent, without removing them."""
        return bytes(self._session.peek(max(amt, 0)))

    def consume_outgoing(self, amt: int) -> None:
        """Drop *amt* sent bytes from the front of the outgoing data."""
        self._session.consume(amt)

    def incoming_bytes_buffered(self) -> int:
        """Ciphertext received but not yet processed."""
        return int(self._session.incoming_len())

    def outgoing_bytes_buffered(self) -> int:
        """Ciphertext waiting to be sent."""
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
