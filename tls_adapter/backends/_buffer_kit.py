"""The template every backend's in-memory connection builds on.

:class:`~tls_adapter.TLSWrappedBuffer` (in ``_api.py``) is the public PEP 543 interface:
abstract methods only. :class:`BufferBase` adds, once, what each backend's buffer used to
write for itself:

* no public constructor (buffers come from ``context.wrap_buffers()``) and the
  ``context`` property, typed to the backend's own context classes;
* write back-pressure: :meth:`BufferBase._admit` hands the library at most what fits
  under :data:`HIGH_WATER` bytes of unsent ciphertext (but always one whole record), and
  raises :class:`WantWriteError` while that much waits to be sent;
* ``readinto`` made from ``read``, for a library with nothing better (a backend whose
  library reads into a caller's buffer overrides it);
* ``_readinto_nowait``, the socket pump's read: ``readinto`` that returns -1 instead
  of raising :class:`WantReadError`. "No data yet" is the common outcome of a read in
  a download loop, and raising it through the translation boundary costs more than
  the read itself; a backend overrides this to catch its library's want-read directly;
* ``pending()``, which the socket pump and the urllib3 shim use, declared abstract so
  every backend says what its library holds.

:class:`StagedBufferBase` adds the outgoing side of a library whose memory BIO can only
be drained: what was drained waits in ``_staged``, so ``peek_outgoing`` does not consume.

It lives in ``backends/`` because only backends use it; it would sit next to
``TLSWrappedBuffer`` in ``_api.py`` if that module were not being split.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Generic, TypeVar

from .._api import ClientContext, ServerContext, TLSWrappedBuffer
from .._errors import WantReadError, WantWriteError

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["HIGH_WATER", "RECORD", "BufferBase", "StagedBufferBase"]

#: Unsent ciphertext beyond which ``write()`` takes nothing (:class:`WantWriteError`).
HIGH_WATER = 256 * 1024
#: The largest plaintext fragment of a TLS record: ``write()`` always admits this much.
RECORD = 16384

Ctx = TypeVar("Ctx", bound=ClientContext | ServerContext)


class BufferBase(TLSWrappedBuffer, Generic[Ctx]):
    """A backend's TLS connection over memory buffers (see the module docstring)."""

    _context: Ctx

    def __init__(self) -> None:
        raise TypeError("buffers are made by context.wrap_buffers()")

    @property
    def context(self) -> Ctx:
        """The context this connection was made from."""
        return self._context

    def _admit(self, view: memoryview) -> memoryview:
        """The part of *view* to encrypt now.

        :raises WantWriteError: :data:`HIGH_WATER` bytes of ciphertext wait to be sent.
        """
        room = HIGH_WATER - self.outgoing_bytes_buffered()
        if room <= 0:
            raise WantWriteError("send the buffered outgoing data first")
        return view[: max(room, RECORD)]

    def readinto(self, buffer: Buffer, amt: int) -> int:
        """Like :meth:`read`, into *buffer*; 0 after the peer's close_notify."""
        view = memoryview(buffer).cast("B")
        data = self.read(min(amt, view.nbytes))
        view[: len(data)] = data
        return len(data)

    def _readinto_nowait(self, view: memoryview, amt: int) -> int:
        """:meth:`readinto`, but -1 where it would raise :class:`WantReadError`."""
        try:
            return self.readinto(view, amt)
        except WantReadError:
            return -1

    @abc.abstractmethod
    def pending(self) -> int:
        """Decrypted bytes buffered inside the library, readable without network input."""


class StagedBufferBase(BufferBase[Ctx]):
    """A buffer whose outgoing ciphertext is drained from the library into ``_staged``."""

    _staged: bytearray

    @abc.abstractmethod
    def _stage(self) -> None:
        """Move the ciphertext the library has ready to the end of ``_staged``."""

    def peek_outgoing(self, amt: int) -> bytes:
        """Up to *amt* bytes waiting to be sent, without removing them."""
        self._stage()
        return bytes(self._staged[:amt])

    def consume_outgoing(self, amt: int) -> None:
        """Drop *amt* sent bytes from the front of the outgoing data."""
        self._stage()
        del self._staged[:amt]
