"""TLS sessions a client can offer to resume: the handle, and the cache the integrations use.

Theory of operation
-------------------
A resumed handshake skips the certificate: the server proves it holds the secret of an
earlier session instead. So a session is only as good as the connection that made it,
and *where* it is offered again decides whether resumption is safe. A stdlib session
saved from ``localhost`` and offered with ``server_hostname="other.invalid"`` resumes
without any hostname check. This module therefore keeps the two halves apart:

* :class:`TLSSession` is the backend's opaque handle (its library's session object or
  serialized state). It is never written anywhere, cannot be pickled, and its repr
  shows no secret. Only contexts of the backend that made it accept it.
* :class:`SessionCache` decides what may be offered. Its key is everything that
  decides a verdict: the backend's client context (and so the whole
  :class:`~tls_adapter.TLSConfiguration`: trust, validation, client certificate,
  versions, ciphers, ALPN), the server name, and the address the socket is connected
  to (host and port: a proxy's address for a tunnel). A TLS 1.3 entry is used once
  (tickets are single-use; a resumed connection stores its own successor), a TLS 1.2
  one until it expires, and only within its lifetime. The integrations store a
  session only after a handshake that validated the server and a connection that
  closed without a TLS error, and drop a key's entries when a handshake under it
  fails. Nothing is stored when validation is off, and 0-RTT early data is never used.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, NoReturn

from ._enums import TLSVersion
from ._errors import ConfigurationError

__all__ = [
    "DEFAULT_SESSION_LIFETIME",
    "MAX_SESSION_AGE",
    "SessionCache",
    "TLSSession",
    "check_session",
    "fresh_peer",
]

#: The longest a session is kept, whatever lifetime the server announced (seconds).
MAX_SESSION_AGE = 3600.0
#: How long a session is kept when neither the library nor the server says (seconds).
DEFAULT_SESSION_LIFETIME = 300.0


class TLSSession:
    """A session a backend's client can offer to resume (see :meth:`TLSWrappedSocket.session`).

    Opaque and in memory only: it cannot be pickled, and only contexts of the backend
    that made it accept it.
    """

    __slots__ = ("_created", "_handle", "_lifetime", "backend", "peer_certificate", "tls_version")

    def __init__(
        self, backend: str, handle: object, tls_version: TLSVersion | None, lifetime: float
    ) -> None:
        #: The name of the backend that made it.
        self.backend = backend
        #: The TLS version of the connection it came from.
        self.tls_version = tls_version
        #: The server's certificate (DER) as validated when the session was made, for
        #: integrations whose callers ask for it after a resumed handshake.
        self.peer_certificate: bytes | None = None
        self._handle = handle
        self._created = time.monotonic()
        self._lifetime = min(max(float(lifetime), 0.0), MAX_SESSION_AGE)

    @property
    def handle(self) -> Any:
        """The library's session object or state (for the backend that made it)."""
        return self._handle

    def expired(self, now: float | None = None) -> bool:
        """Whether its lifetime (as the server announced it, at most an hour) is over."""
        now = time.monotonic() if now is None else now
        return now - self._created >= self._lifetime

    def __reduce__(self) -> NoReturn:
        raise TypeError("TLS sessions are kept in memory only and cannot be pickled")

    def __repr__(self) -> str:
        version = self.tls_version.value if self.tls_version is not None else "?"
        age = time.monotonic() - self._created
        return f"<TLSSession backend={self.backend!r} {version} age={age:.0f}s>"


def check_session(session: object, backend: str, supported: bool) -> TLSSession | None:
    """*session* if the *backend* (name) can offer it; raised where it is passed in.

    :raises TypeError: not a :class:`TLSSession`.
    :raises ConfigurationError: the backend cannot resume sessions.
    :raises ValueError: the session was made by another backend.
    """
    if session is None:
        return None
    if not isinstance(session, TLSSession):
        raise TypeError(f"session must be a TLSSession or None, not {type(session).__name__}")
    if not supported:
        raise ConfigurationError(f"the {backend} backend cannot resume TLS sessions")
    if session.backend != backend:
        raise ValueError(
            f"a session made by the {session.backend} backend cannot be offered by {backend}"
        )
    return session


# struct tcp_info (linux/tcp.h): tcpi_bytes_acked and tcpi_bytes_received, two __u64 at
# byte 120 (Linux 4.1 and later).
_TCP_INFO_BYTES = struct.Struct("=QQ")
_TCP_INFO_OFFSET = 120


def fresh_peer(sock: socket.socket) -> tuple[str, int] | None:
    """``(address, port)`` of *sock*'s peer, if that peer is the server TLS will talk to.

    That is only known for a TCP connection that has carried no byte yet: after an HTTP
    proxy's ``CONNECT`` the peer is the proxy, and the origin's port is not known here.
    Linux reports the bytes a connection has carried (``TCP_INFO``; the SYN counts as
    one acknowledged byte); elsewhere, and for anything that is not plain TCP, ``None``.
    """
    if sys.platform != "linux":
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
        peer = sock.getpeername()
    except (OSError, AttributeError, TypeError):
        return None
    if len(info) < _TCP_INFO_OFFSET + _TCP_INFO_BYTES.size:
        return None
    acked, received = _TCP_INFO_BYTES.unpack_from(info, _TCP_INFO_OFFSET)
    if acked > 1 or received > 1:
        return None
    return str(peer[0]), int(peer[1])


class SessionCache:
    """A bounded, thread-safe map from a connection's identity to sessions to offer.

    Keys are built by the integration (see the module docstring). A TLS 1.3 session
    is handed out once (its ticket is single-use); a TLS 1.2 session stays until it
    expires, and a connection that resumed it keeps nothing new. *maxsize* bounds the
    number of keys (least recently used go first) and *per_key* the sessions kept for
    one key.

    A key whose server gives no session, or does not resume the one offered, twice in a
    row is left alone for :data:`BACKOFF` seconds (:meth:`declined`): getting and
    offering a session costs the client time (with :mod:`ssl`, a copy of it each way),
    which is wasted on a server that does not resume. It only ever means a full
    handshake, so it cannot change a verdict.
    """

    #: Seconds a key is left alone after its server declined twice in a row.
    BACKOFF = 600.0

    def __init__(self, maxsize: int = 256, per_key: int = 4) -> None:
        self._maxsize = maxsize
        self._per_key = per_key
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, list[TLSSession]] = OrderedDict()
        # key -> (declines in a row, left alone until)
        self._declines: OrderedDict[Hashable, tuple[int, float]] = OrderedDict()

    def put(self, key: Hashable, session: TLSSession) -> None:
        """Keep *session* for *key* (the oldest go when there are too many)."""
        with self._lock:
            sessions = self._entries.setdefault(key, [])
            self._entries.move_to_end(key)
            sessions.append(session)
            del sessions[: -self._per_key]
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def take(self, key: Hashable) -> TLSSession | None:
        """The newest live session for *key* (removed unless it is TLS 1.2), or ``None``."""
        now = time.monotonic()
        with self._lock:
            sessions = self._entries.get(key)
            while sessions:
                session = sessions[-1]
                if session.expired(now):
                    sessions.pop()
                    continue
                if session.tls_version is not TLSVersion.TLSv1_2:
                    sessions.pop()  # single use
                if not sessions:
                    del self._entries[key]
                return session
            self._entries.pop(key, None)
            return None

    def decline(self, key: Hashable) -> None:
        """Note that *key*'s server gave no session or did not resume the one offered."""
        with self._lock:
            count, _ = self._declines.pop(key, (0, 0.0))
            count += 1
            until = time.monotonic() + self.BACKOFF if count >= 2 else 0.0
            self._declines[key] = (count, until)
            while len(self._declines) > self._maxsize:
                self._declines.popitem(last=False)

    def accepted(self, key: Hashable) -> None:
        """Note that *key*'s server resumed the session offered."""
        with self._lock:
            self._declines.pop(key, None)

    def declined(self, key: Hashable) -> bool:
        """Whether *key* is being left alone (see the class docstring)."""
        with self._lock:
            entry = self._declines.get(key)
        return entry is not None and entry[1] > time.monotonic()

    def discard(self, key: Hashable) -> None:
        """Forget every session for *key* (after a failed handshake under it)."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._declines.clear()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._entries.values())

    def __repr__(self) -> str:
        return f"<SessionCache {len(self)} sessions>"
