"""The ``ssl.SSLSocket`` and ``ssl.SSLObject`` look-alikes behind :mod:`tls_adapter.urllib3`.

Theory of operation
-------------------
urllib3 and ``http.client`` never check types: they call methods. So the urllib3 shim
returns plain objects that *behave* like the stdlib's, over the public PEP 543 API of
whatever backend the shim's context uses:

* :class:`SSLSocket` wraps a :class:`~tls_adapter.TLSWrappedSocket` (which owns the raw
  socket, the timeouts and the ciphertext pump). It adds the stdlib surface on top:
  ``makefile`` with ``_io_refs`` (so ``http.client`` can close the socket while a
  response is still being read), ``read``/``write``, ``getpeercert()`` in the stdlib
  dict format (decoded from DER by ``_x509``), ``cipher()``/``version()`` in the stdlib
  spellings, and ``suppress_ragged_eofs``.

* :class:`SSLObject` serves ``wrap_bio()`` (TLS inside TLS, through an HTTPS proxy). The
  caller owns two ``ssl.MemoryBIO`` objects; every operation first moves what arrived
  in the incoming BIO into the backend's :class:`~tls_adapter.TLSWrappedBuffer`, runs,
  and then moves everything the buffer wants to send into the outgoing BIO -- also
  when the operation fails, so a fatal alert still reaches the peer.

* Errors cross one boundary, :func:`_translate`: ``CertificateValidationError`` becomes
  ``ssl.SSLCertVerificationError`` ("certificate verify failed: ..."), ``RaggedEOF``
  ``ssl.SSLEOFError`` (or a clean end of stream when ragged EOFs are suppressed),
  ``WantReadError``/``WantWriteError`` the ``ssl`` equivalents, and any other
  ``TLSError`` an ``ssl.SSLError`` carrying the backend's text (urllib3 looks for words
  like "wrong version number" in it). Timeouts are ``socket.timeout`` already and other
  ``OSError`` pass through untouched, as with the stdlib.

* When the context asks for ``hostname_checks_common_name`` (which no backend does),
  the backend validates the chain and this module matches the name afterwards with the
  stdlib's rules, including the subject-CN fallback.

* Session resumption: the context decides whether a connection takes part (its
  ``_resume_key``) and which kept session it offers; the socket keeps the backend's
  session for the next connection when it closes (or unwraps), but only after a
  handshake that validated and with no TLS error raised to the caller since, and a
  failed handshake drops what the context kept under the same key
  (:mod:`tls_adapter._session` has the rules). After a resumed handshake a backend may
  have no peer certificate; ``getpeercert()`` then answers with the certificate that was
  validated when the session was made.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import socket as _socket
import ssl
from collections.abc import Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ._api import TLSWrappedBuffer, TLSWrappedSocket, _SocketSurface
from ._enums import TLSVersion
from ._errors import CertificateValidationError, RaggedEOF, TLSError, WantReadError, WantWriteError
from ._session import SessionCache, TLSSession
from ._shim_config import alpn_text, cipher_tuple, match_hostname
from ._ssl_compat import stdlib_look_alike
from ._verify_codes import VerifyCode
from ._x509 import decode_certificate

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from .urllib3 import SSLContext

__all__ = [
    "SSLObject",
    "SSLSocket",
    "WrapChecks",
    "new_object",
    "new_socket",
    "ssl_error_from",
]

_T = TypeVar("_T")
# recv_into() never asks the backend for more than this at once (a TLS record is 16 KiB;
# this only bounds what a backend may allocate for a huge caller buffer).
_MAX_READ = 1 << 20

# What a backend that knows no better says: X509_V_ERR_UNSPECIFIED.
_UNSPECIFIED = int(VerifyCode.UNSPECIFIED)
_NAME_MISMATCH = frozenset({VerifyCode.HOSTNAME_MISMATCH, VerifyCode.IP_ADDRESS_MISMATCH})


def _verify_code(exc: CertificateValidationError) -> int:
    """The backend's ``X509_V_ERR_*`` code, or X509_V_ERR_UNSPECIFIED when it has none."""
    return exc.verify_code or _UNSPECIFIED


def _verification_error(reason: str, code: int) -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(
        ssl.SSL_ERROR_SSL, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {reason}"
    )
    err.verify_message = reason
    err.verify_code = code
    err.library = "SSL"
    err.reason = "CERTIFICATE_VERIFY_FAILED"
    return err


# How other libraries say what OpenSSL calls "wrong version number": data that is not a
# TLS record (a plain-HTTP server or proxy, say). urllib3 looks for OpenSSL's words to
# tell the user "your proxy appears to only use HTTP".
_NOT_TLS = (
    "wrong_version_number",
    "invalidcontenttype",
    "invalid ssl record",
    "unexpected tls packet",
    "unknown protocol",
    "record layer",
)


def ssl_error_from(exc: TLSError) -> ssl.SSLError:
    """The :mod:`ssl` exception a caller of ``ssl`` would see instead of *exc*.

    A failure that means "this is not a TLS record" (a plain-HTTP peer, say) also
    carries OpenSSL's wording for it, ``wrong version number``, whatever the backend
    said: urllib3 looks for those words.
    """
    err: ssl.SSLError
    if isinstance(exc, CertificateValidationError):
        return _verification_error(exc.reason, _verify_code(exc))
    if isinstance(exc, RaggedEOF):
        err = ssl.SSLEOFError(ssl.SSL_ERROR_EOF, f"EOF occurred in violation of protocol ({exc})")
    elif isinstance(exc, WantReadError):
        err = ssl.SSLWantReadError(ssl.SSL_ERROR_WANT_READ, "The operation did not complete (read)")
    elif isinstance(exc, WantWriteError):
        err = ssl.SSLWantWriteError(
            ssl.SSL_ERROR_WANT_WRITE, "The operation did not complete (write)"
        )
    else:
        text = str(exc)
        lowered = text.lower()
        if "wrong version number" not in lowered and any(m in lowered for m in _NOT_TLS):
            text += " (wrong version number: no TLS record where one was expected)"
        err = ssl.SSLError(ssl.SSL_ERROR_SSL, text)
        for attr in ("library", "reason"):
            value = getattr(exc.__cause__, attr, None)
            if isinstance(value, str):
                setattr(err, attr, value)
    return err


@contextlib.contextmanager
def _translate() -> Iterator[None]:
    try:
        yield
    except TLSError as e:
        raise ssl_error_from(e) from e


_TOKEN = object()


def new_socket(
    context: SSLContext,
    tls: TLSWrappedSocket,
    checks: WrapChecks,
    suppress_ragged_eofs: bool,
    handshake_now: bool = True,
) -> SSLSocket:
    """A :class:`SSLSocket` (for :meth:`tls_adapter.urllib3.SSLContext.wrap_socket`).

    The fast path (I/O straight on the backend's ``ssl.SSLSocket``) is taken only when
    the handshake runs right away (*handshake_now*, as urllib3 always asks): a read
    before an explicit handshake would let ``ssl`` finish it implicitly, past the
    backend's own checks, so such sockets do their I/O through the backend.
    """
    native = tls._stdlib_socket() if handshake_now else None
    if native is not None:
        return _StdlibIOSocket(_TOKEN, context, tls, checks, suppress_ragged_eofs)._attach(native)
    return SSLSocket(_TOKEN, context, tls, checks, suppress_ragged_eofs)


def new_object(
    context: SSLContext,
    buffer: TLSWrappedBuffer,
    checks: WrapChecks,
    incoming: ssl.MemoryBIO,
    outgoing: ssl.MemoryBIO,
) -> SSLObject:
    """A :class:`SSLObject` (for :meth:`tls_adapter.urllib3.SSLContext.wrap_bio`)."""
    return SSLObject(_TOKEN, context, buffer, checks, incoming, outgoing)


class WrapChecks:
    """What was decided at wrap time: validation on or off, and who matches the name."""

    __slots__ = (
        "allow_common_name",
        "backend_checks_name",
        "match_name",
        "server_hostname",
        "validated",
    )

    def __init__(
        self,
        server_hostname: str | None,
        validated: bool,
        match_name: str | None,
        allow_common_name: bool,
        backend_checks_name: bool = False,
    ) -> None:
        #: The (IDNA-encoded) ``server_hostname``.
        self.server_hostname = server_hostname
        #: Whether the backend validated the peer's chain.
        self.validated = validated
        #: The name this module must match after the handshake, if any.
        self.match_name = match_name
        #: Whether the subject CN may stand in for missing DNS SANs.
        self.allow_common_name = allow_common_name
        #: Whether the backend matches :attr:`server_hostname` itself.
        self.backend_checks_name = backend_checks_name

    def failed(self, exc: TLSError, peer: Callable[[], bytes | None]) -> ssl.SSLError:
        """The ``ssl`` error for a failed handshake.

        Backends word a hostname mismatch differently; when the backend checked the
        name and the peer's certificate (from *peer*, if the backend still has it) does
        not match it by the stdlib's rules, the reason starts with OpenSSL's wording,
        ``Hostname mismatch, certificate is not valid for '<name>'.``, which urllib3 and
        its users look for. The backend's own reason follows in parentheses.
        """
        name = self.server_hostname
        if isinstance(exc, CertificateValidationError) and self.backend_checks_name and name:
            openssl_words = match_hostname({}, name, False) or ""  # as if no name matched
            if openssl_words in exc.reason:
                return ssl_error_from(exc)
            try:
                der = peer()
            except (TLSError, OSError):
                der = None
            problem: str | None = None
            if der:
                try:
                    problem = match_hostname(decode_certificate(der), name, False)
                except ValueError:
                    problem = None
            elif exc.verify_code in _NAME_MISMATCH:
                problem = openssl_words  # the certificate is gone: trust the backend's code
            if problem is not None:
                code = (
                    VerifyCode.IP_ADDRESS_MISMATCH
                    if problem.startswith("IP")
                    else VerifyCode.HOSTNAME_MISMATCH
                )
                return _verification_error(f"{problem} ({exc.reason})", int(code))
        return ssl_error_from(exc)

    def after_handshake(self, peer: Callable[[], bytes | None]) -> None:
        """Match :attr:`match_name` against the peer's certificate (from *peer*), if asked to."""
        if self.match_name is None:
            return  # the common case: the certificate is not even fetched
        der = peer()
        if der is None:
            problem: str | None = "the peer sent no certificate"
        else:
            problem = match_hostname(
                decode_certificate(der), self.match_name, self.allow_common_name
            )
        if problem is not None:
            raise _verification_error(problem, 64 if problem.startswith("IP") else 62)


# -- what SSLSocket and SSLObject share ----------------------------------------------------
class _Connection:
    """The read-only TLS surface of :class:`SSLSocket` and :class:`SSLObject`.

    ``_conn`` is the backend's connection (a :class:`~tls_adapter.TLSWrappedSocket` or
    :class:`~tls_adapter.TLSWrappedBuffer`: both answer the PEP 543 questions).
    """

    server_side = False
    #: The session offered for this connection (its certificate stands in for the
    #: peer's after a resumed handshake, which sends none).
    _offered: TLSSession | None = None

    _context: SSLContext
    _conn: TLSWrappedSocket | TLSWrappedBuffer
    _checks: WrapChecks
    _handshake_done: bool

    def _start(
        self,
        token: object,
        refusal: str,
        context: SSLContext,
        conn: TLSWrappedSocket | TLSWrappedBuffer,
        checks: WrapChecks,
    ) -> None:
        """What both constructors set up. Without ``SSLContext``'s *token*, the object is
        not made: :class:`TypeError` with the message *refusal*."""
        if token is not _TOKEN:
            raise TypeError(refusal)
        self._context = context
        self._conn = conn
        self._checks = checks
        self._handshake_done = False

    @property
    def session_reused(self) -> bool:
        """Whether the handshake resumed an earlier session (see ``session_resumption``)."""
        return self._handshake_done and self._conn.session_reused()

    @property
    def session(self) -> None:
        """``None``: TLS sessions are not exposed (resumption is not supported)."""
        return None

    @session.setter
    def session(self, value: object) -> None:
        if value is not None:
            raise ValueError("TLS session resumption is not supported")

    @property
    def server_hostname(self) -> str | None:
        """The ``server_hostname`` given to ``wrap_socket``/``wrap_bio`` (IDNA-encoded)."""
        return self._checks.server_hostname

    @property
    def context(self) -> SSLContext:
        """The :class:`tls_adapter.urllib3.SSLContext` this connection was made from."""
        return self._context

    def getpeercert(self, binary_form: bool = False) -> Any:
        """The peer's certificate: a stdlib-style dict, or DER bytes with *binary_form*.

        The dict is empty when the certificate was not validated (``CERT_NONE``), as
        with :mod:`ssl`; the DER form is always available. On a closed socket it raises
        :class:`OSError` (``EBADF``), as :mod:`ssl` does.
        """
        if not self._handshake_done:
            raise ValueError("handshake not done yet")
        if isinstance(self._conn, TLSWrappedSocket) and self._conn.fileno() < 0:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        der = self.peer_der()
        if binary_form or der is None:
            return der
        return decode_certificate(der) if self._checks.validated else {}

    def peer_der(self) -> bytes | None:
        """The peer's certificate as DER; after a resumed handshake (which sends none,
        on some backends) the one validated when the session was made."""
        der = self._conn.getpeercert()
        if der is None and self._offered is not None and self._conn.session_reused():
            der = self._offered.peer_certificate
        return der

    def version(self) -> str | None:
        """The negotiated protocol version, e.g. ``"TLSv1.3"``."""
        version = self._conn.negotiated_tls_version()
        return None if version is None else version.value

    def cipher(self) -> tuple[str, str, int] | None:
        """``(name, protocol, secret_bits)`` of the negotiated cipher suite."""
        return cipher_tuple(self._conn.cipher(), self._conn.negotiated_tls_version())

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        """``None``: like :mod:`ssl`, only a server knows the client's list."""
        return None

    def compression(self) -> str | None:
        """``None``: TLS compression is never used."""
        return None

    def selected_alpn_protocol(self) -> str | None:
        """The ALPN protocol the server chose, or ``None``."""
        return alpn_text(self._conn.negotiated_protocol())

    def selected_npn_protocol(self) -> str | None:
        """``None``: NPN is not supported."""
        return None

    def get_channel_binding(self, cb_type: str = "tls-unique") -> bytes | None:
        """``None``: channel bindings are not available through the PEP 543 API."""
        if cb_type != "tls-unique":
            raise ValueError(f"{cb_type} channel binding type not implemented")
        return None

    def pending(self) -> int:
        """Decrypted bytes readable without touching the network (0 if unknown)."""
        pending = getattr(self._conn, "pending", None)
        return int(pending()) if callable(pending) else 0

    def verify_client_post_handshake(self) -> None:
        """Not available on a client connection."""
        raise ssl.SSLError(
            ssl.SSL_ERROR_SSL, "post-handshake authentication is a server-side operation"
        )


# -- the socket ---------------------------------------------------------------------------
# socket.socket's __slots__ _io_refs and _closed hold the makefile() reference count and
# the closed flag, as they do for the stdlib socket.
@stdlib_look_alike(
    ssl.SSLSocket, "not supported by tls_adapter's SSLSocket", storage=("_io_refs", "_closed")
)
# typeshed declares some of the stdlib's properties as plain attributes (type, family,
# context, session, server_hostname); the look-alike's read-only properties differ.
class SSLSocket(_Connection, _SocketSurface, ssl.SSLSocket):  # type: ignore[misc,override]
    """An :class:`ssl.SSLSocket` over a :class:`~tls_adapter.TLSWrappedSocket`.

    Made by :meth:`tls_adapter.urllib3.SSLContext.wrap_socket`. It is an instance of
    :class:`ssl.SSLSocket` (and :class:`socket.socket`) for code that checks types, but
    none of the stdlib's machinery runs: its own descriptor is never opened, every
    operation goes to the backend's socket, and stdlib attributes it does not implement
    raise :class:`AttributeError` (:mod:`tls_adapter._ssl_compat`).
    """

    _conn: TLSWrappedSocket

    def __init__(
        self,
        _token: object,
        context: SSLContext,
        tls: TLSWrappedSocket,
        checks: WrapChecks,
        suppress_ragged_eofs: bool,
    ) -> None:
        self._start(
            _token, "SSLSocket objects are made by SSLContext.wrap_socket()", context, tls, checks
        )
        self._sock = tls
        self._io_refs = 0
        self._closed = False
        #: Whether a TCP EOF without close_notify reads as a clean end of stream.
        self.suppress_ragged_eofs = suppress_ragged_eofs
        self._sessions: SessionCache | None = None
        self._session_key: Hashable = None
        self._tls_failed = False

    def _resumption(self, cache: SessionCache, key: Hashable, offered: TLSSession | None) -> None:
        """Take part in the context's session resumption: *offered* was given to the
        backend; the session is kept under *key* in *cache* when the connection closes
        after a validated handshake and no TLS error."""
        self._sessions = cache
        self._session_key = key
        self._offered = offered

    def _keep_session(self) -> None:
        cache = self._sessions
        self._sessions = None
        if cache is None or self._tls_failed or not self._handshake_done:
            return
        key, offered = self._session_key, self._offered
        try:
            if offered is not None:
                if not self._conn.session_reused():
                    cache.decline(key)
                elif offered.tls_version is TLSVersion.TLSv1_2:
                    cache.accepted(key)
                    return  # that session stays kept (TLS 1.2 sessions may be reused)
                else:
                    cache.accepted(key)
            session = self._conn.session()
            if session is None:
                cache.decline(key)
                return
            session.peer_certificate = self.getpeercert(binary_form=True)
        except (TLSError, OSError, ValueError):
            return
        cache.put(key, session)

    def _real_close(self) -> None:
        self._keep_session()
        self._sock.close()

    @property
    def _sslobj(self) -> SSLSocket | None:
        """What ``ssl.SSLSocket`` keeps its connection in: this socket, until closed.

        httpcore's sync backend reads the negotiated ALPN protocol from
        ``sock._sslobj.selected_alpn_protocol()``.
        """
        return None if self._closed else self

    # -- TLS -------------------------------------------------------------------------------
    def do_handshake(self, block: bool = False) -> None:
        """Run the handshake (certificate and hostname validation included)."""
        try:
            self._conn.do_handshake()
            self._checks.after_handshake(self.peer_der)
        except TLSError as e:
            self._fail_session()
            raise self._checks.failed(e, self._conn.getpeercert) from e
        except BaseException:
            self._fail_session()
            raise
        self._handshake_done = True

    def _fail_session(self) -> None:
        """A failed handshake: keep nothing, and forget what is kept under this key."""
        self._tls_failed = True
        if self._sessions is not None:
            self._sessions.discard(self._session_key)

    def unwrap(self) -> _socket.socket:
        """Exchange ``close_notify`` with the peer and return the plain socket."""
        self._keep_session()
        with _translate():
            sock = self._conn.unwrap()
        self._closed = True
        return sock

    # -- I/O -------------------------------------------------------------------------------
    # These are the hot path of every request and download: plain try/except (free when
    # nothing is raised) rather than a context manager or a closure per call.
    def _read_error(self, exc: TLSError) -> ssl.SSLError | None:
        """What a failed read raises; ``None`` for a suppressed ragged EOF (end of stream)."""
        if isinstance(exc, RaggedEOF) and self.suppress_ragged_eofs:
            return None  # the end of the stream, for the caller (many servers close so)
        self._tls_failed = True  # the session of a connection that failed is not kept
        return ssl_error_from(exc)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        """Receive up to *buflen* bytes; ``b""`` at the end of the stream."""
        if flags:
            raise ValueError(f"non-zero flags not allowed in calls to recv() on {type(self)}")
        try:
            return self._conn.recv(buflen if buflen < _MAX_READ else _MAX_READ)
        except TLSError as e:
            error = self._read_error(e)
            if error is None:
                return b""
            raise error from e

    def recv_into(self, buffer: Buffer, nbytes: int | None = None, flags: int = 0) -> int:
        """Receive into *buffer*; 0 at the end of the stream."""
        if flags:
            raise ValueError(f"non-zero flags not allowed in calls to recv_into() on {type(self)}")
        view = memoryview(buffer)
        if view.itemsize != 1 or view.ndim != 1:
            view = view.cast("B")
        size = view.nbytes
        amt = min(nbytes if nbytes and nbytes < size else size, _MAX_READ)
        if amt <= 0:
            return 0
        try:
            return self._conn.recv_into(view if amt == size else view[:amt], amt)
        except TLSError as e:
            error = self._read_error(e)
            if error is None:
                return 0
            raise error from e

    def read(self, len: int = 1024, buffer: Buffer | None = None) -> Any:
        """``ssl.SSLSocket.read``: bytes, or a count when *buffer* is given."""
        if buffer is not None:
            return self.recv_into(buffer, len)
        return self.recv(len)

    def send(self, data: Buffer, flags: int = 0) -> int:
        """Send some of *data*; returns how much was taken."""
        if flags:
            raise ValueError(f"non-zero flags not allowed in calls to send() on {type(self)}")
        try:
            return self._conn.send(data)
        except TLSError as e:
            self._tls_failed = True
            raise ssl_error_from(e) from e

    def write(self, data: Buffer) -> int:
        """``ssl.SSLSocket.write``: send all of *data* and return its length."""
        self.sendall(data)
        return memoryview(data).nbytes

    def sendall(self, data: Buffer, flags: int = 0) -> None:
        """Send all of *data*."""
        if flags:
            raise ValueError(f"non-zero flags not allowed in calls to sendall() on {type(self)}")
        try:
            self._conn.sendall(data)
        except TLSError as e:
            self._tls_failed = True
            raise ssl_error_from(e) from e

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """Send a file's contents (read and encrypted in 64 KiB blocks)."""
        if offset:
            file.seek(offset)
        total = 0
        while count is None or total < count:
            size = 65536 if count is None else min(65536, count - total)
            block = file.read(size)
            if not block:
                break
            self.sendall(block)
            total += len(block)
        if hasattr(file, "seek"):
            file.seek(offset + total)
        return total

    # -- timeouts and the plain socket surface ---------------------------------------------
    def settimeout(self, value: float | None) -> None:
        """Timeout for each whole operation; a timeout raises :class:`socket.timeout`."""
        self._conn.settimeout(value)

    def gettimeout(self) -> float | None:
        """The current timeout."""
        return self._conn.gettimeout()

    @property
    def timeout(self) -> float | None:
        """The current timeout, as :attr:`socket.socket.timeout`."""
        return self._conn.gettimeout()

    def __repr__(self) -> str:
        fd = self._conn.fileno()
        state = "closed" if fd < 0 else f"fd={fd}"
        return f"<tls_adapter.urllib3.SSLSocket {state} server_hostname={self.server_hostname!r}>"


class _StdlibIOSocket(SSLSocket):
    """The :class:`SSLSocket` for a backend whose socket is an :class:`ssl.SSLSocket`.

    Reads and writes go straight to that socket: its exceptions already are the
    :mod:`ssl` ones this module would translate to, and it applies
    ``suppress_ragged_eofs`` itself. This takes two Python layers (and a translation
    boundary that is never crossed on success) off every ``recv_into`` of a download.
    The handshake, certificate access and closing still go through the backend.
    """

    _native: ssl.SSLSocket

    def _attach(self, native: ssl.SSLSocket) -> _StdlibIOSocket:
        """Do I/O on *native* from now on (right after construction)."""
        suppress = self.__dict__.pop("suppress_ragged_eofs", True)
        self._native = native
        self.suppress_ragged_eofs = suppress
        return self

    # ssl.SSLSocket applies its (untyped) suppress_ragged_eofs attribute to each read.
    @property
    def suppress_ragged_eofs(self) -> bool:
        """Whether a TCP EOF without close_notify reads as a clean end of stream."""
        return bool(getattr(self._native, "suppress_ragged_eofs", False))

    @suppress_ragged_eofs.setter
    def suppress_ragged_eofs(self, value: bool) -> None:
        native = self.__dict__.get("_native")
        if native is None:  # the base class's __init__: kept for _attach()
            self.__dict__["suppress_ragged_eofs"] = bool(value)
        else:
            setattr(native, "suppress_ragged_eofs", bool(value))  # noqa: B010

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        """Receive up to *buflen* bytes; ``b""`` at the end of the stream."""
        try:
            return self._native.recv(buflen, flags)
        except ssl.SSLError:
            self._tls_failed = True  # the session is not kept
            raise

    def recv_into(self, buffer: Buffer, nbytes: int | None = None, flags: int = 0) -> int:
        """Receive into *buffer*; 0 at the end of the stream."""
        try:
            return self._native.recv_into(buffer, nbytes or 0, flags)
        except ssl.SSLError:
            self._tls_failed = True  # the session is not kept
            raise

    def read(self, len: int = 1024, buffer: Buffer | None = None) -> Any:
        """``ssl.SSLSocket.read``: bytes, or a count when *buffer* is given."""
        try:
            return self._native.read(len, buffer)
        except ssl.SSLError:
            self._tls_failed = True  # the session is not kept
            raise

    def send(self, data: Buffer, flags: int = 0) -> int:
        """Send some of *data*; returns how much was taken."""
        try:
            return self._native.send(data, flags)
        except ssl.SSLError:
            self._tls_failed = True  # the session is not kept
            raise

    def sendall(self, data: Buffer, flags: int = 0) -> None:
        """Send all of *data*."""
        try:
            self._native.sendall(data, flags)
        except ssl.SSLError:
            self._tls_failed = True  # the session is not kept
            raise

    def pending(self) -> int:
        """Decrypted bytes readable without touching the network."""
        return self._native.pending()


# -- the BIO object -----------------------------------------------------------------------
@stdlib_look_alike(ssl.SSLObject, "not supported by tls_adapter's SSLObject")
class SSLObject(_Connection, ssl.SSLObject):  # type: ignore[misc]
    """An :class:`ssl.SSLObject`: a backend buffer behind two ``ssl.MemoryBIO``.

    Made by :meth:`tls_adapter.urllib3.SSLContext.wrap_bio`. Operations that need more
    data raise :class:`ssl.SSLWantReadError` after moving everything to send into the
    outgoing BIO, exactly like the stdlib object.
    """

    def __init__(
        self,
        _token: object,
        context: SSLContext,
        buffer: TLSWrappedBuffer,
        checks: WrapChecks,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
    ) -> None:
        self._start(
            _token, "SSLObject objects are made by SSLContext.wrap_bio()", context, buffer, checks
        )
        self._buffer = buffer
        self._incoming = incoming
        self._outgoing = outgoing
        self._eof_fed = False

    def _pump_in(self) -> None:
        data = self._incoming.read()
        if data:
            self._buffer.receive_from_network(data)
        if self._incoming.eof and not self._eof_fed:
            self._eof_fed = True
            self._buffer.receive_from_network(b"")

    def _pump_out(self) -> int:
        buffer = self._buffer
        pending = buffer.outgoing_bytes_buffered()
        if pending:
            self._outgoing.write(buffer.peek_outgoing(pending))
            buffer.consume_outgoing(pending)
        return pending

    def _run(self, op: Callable[[], _T], handshake: bool = False) -> _T:
        """Run *op* between the two BIOs; errors become ``ssl`` errors."""
        try:
            self._pump_in()
            while True:
                try:
                    return op()
                except WantWriteError:
                    if not self._pump_out():
                        raise
                except WantReadError:
                    if self._eof_fed:
                        raise RaggedEOF(
                            "the peer closed the connection without a TLS close_notify"
                        ) from None
                    raise
        except TLSError as e:
            if handshake:
                raise self._checks.failed(e, self._buffer.getpeercert) from e
            raise ssl_error_from(e) from e
        finally:
            self._pump_out()

    def do_handshake(self) -> None:
        """Advance the handshake; raises ``ssl.SSLWantReadError`` until it is done."""
        self._run(self._buffer.do_handshake, handshake=True)
        self._checks.after_handshake(self._buffer.getpeercert)
        self._handshake_done = True

    def read(self, len: int = 1024, buffer: Buffer | None = None) -> Any:
        """Up to *len* decrypted bytes (or a count into *buffer*); ``b""`` after close_notify."""
        amt = min(len, _MAX_READ)
        if buffer is not None:
            view = memoryview(buffer).cast("B")
            amt = min(amt or view.nbytes, view.nbytes)
            if amt <= 0:
                return 0
            return self._run(lambda: self._buffer.readinto(view, amt))
        if amt <= 0:
            return b""
        return self._run(lambda: self._buffer.read(amt))

    def write(self, data: Buffer) -> int:
        """Encrypt all of *data* into the outgoing BIO; returns its length."""
        view = memoryview(data).cast("B")
        done = 0
        while done < view.nbytes:
            done += self._run(functools.partial(self._buffer.write, view[done:]))
        return done

    def unwrap(self) -> None:
        """Send ``close_notify``; raises ``ssl.SSLWantReadError`` until the peer's arrives."""
        self._run(self._buffer.shutdown)

    def __repr__(self) -> str:
        return f"<tls_adapter.urllib3.SSLObject server_hostname={self.server_hostname!r}>"
