"""The private APIs of pyOpenSSL and python-mbedtls that two backends still need, wrapped.

``pyopenssl.py`` and ``mbedtls.py`` use their libraries' public API wherever it can do
the job. What it cannot do is here, one small typed function per need, so that a new
library release that moves a private name breaks exactly one function, and the test
that calls it directly (``tests/backends/test_pyopenssl.py`` and ``test_mbedtls.py``,
section "private API wrappers"; the session ones in ``test_resumption_bindings.py``).
Each docstring names the versions it was checked on and why no public API does the job.

The libraries are optional: each function imports its library when it runs, so
importing this module imports neither.

Versions. pyOpenSSL: the range is the backend's, >= 25.0 (these same calls were in
``pyopenssl.py`` under that floor), but only 26.4.0 with cryptography 50.0.2 was checked.
``OpenSSL._util.lib``/``ffi`` are ``cryptography``'s OpenSSL bindings, and
``cryptography`` drops bindings pyOpenSSL itself does not use: those marked *unused by
pyOpenSSL* below are the likeliest to go. python-mbedtls: 2.10.1 only (the backend
pins ``python-mbedtls==2.10.1``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from mbedtls.tls import HandshakeStep, TLSWrappedBuffer
    from OpenSSL import SSL

__all__ = [
    "SNI_DEFAULT_ALERT",
    "bundled_cipher_names",
    "expect_peer_name",
    "incoming_bio_pending",
    "legacy_tls13_setter",
    "mbedtls_handshake_step",
    "mbedtls_input_room",
    "mbedtls_input_unread",
    "mbedtls_set_hostname",
    "session_der",
    "session_from_der",
    "set_context_verify_flags",
    "set_servername_hook",
    "ssl_session_reused",
    "verify_reason",
    "verify_result",
]


# -- private API of pyOpenSSL (OpenSSL._util.lib / ffi), wrapped ------------------------
def legacy_tls13_setter() -> Callable[[SSL.Context, bytes], None] | None:
    """A TLS 1.3 cipher-suite setter for pyOpenSSL < 25.2, or ``None`` without one.

    Public API since pyOpenSSL 25.2: ``Context.set_tls13_ciphersuites``, which the
    backend prefers; this is only for 25.0 and 25.1 (the backend supports >= 25.0).
    Private: ``lib.SSL_CTX_set_ciphersuites``, ``Context._context``. Checked on
    pyOpenSSL 26.4.0 / cryptography 50.0.2.
    """
    from OpenSSL import SSL
    from OpenSSL._util import lib

    if not hasattr(lib, "SSL_CTX_set_ciphersuites"):  # pragma: no cover - old bindings
        return None

    def set_suites(native: SSL.Context, suites: bytes) -> None:
        if lib.SSL_CTX_set_ciphersuites(native._context, suites) != 1:
            raise SSL.Error([("SSL routines", "", "no TLS 1.3 cipher suite matched")])

    return set_suites


def bundled_cipher_names() -> dict[int, str] | None:
    """Every IANA code point the OpenSSL bundled with ``cryptography`` knows -> its name.

    ``None`` if the bindings lack ``SSL_CIPHER_find``. No public API maps code points
    to OpenSSL names (``Connection.get_cipher_list`` gives names only, and the ``ssl``
    module's table is that of another OpenSSL, with fewer suites). Includes signalling
    pseudo-suites; the caller drops them. Private: ``lib.SSL_CIPHER_find`` (unused by
    pyOpenSSL), ``lib.SSL_CIPHER_get_name``, ``ffi.new``/``string``/``NULL``,
    ``Connection._ssl``. Checked on pyOpenSSL 26.4.0 / cryptography 50.0.2.
    """
    from OpenSSL import SSL
    from OpenSSL._util import ffi, lib

    if not hasattr(lib, "SSL_CIPHER_find"):  # pragma: no cover - bindings without it
        return None
    probe = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None)
    code = ffi.new("unsigned char[2]")
    names: dict[int, str] = {}
    for value in range(0x10000):
        code[0] = value >> 8
        code[1] = value & 0xFF
        found = lib.SSL_CIPHER_find(probe._ssl, code)
        if found != ffi.NULL:
            names[value] = ffi.string(lib.SSL_CIPHER_get_name(found)).decode("ascii")
    return names


def set_context_verify_flags(native: SSL.Context, flags: int) -> None:
    """OR *flags* (``crypto.X509StoreFlags``) into the X.509 verify parameters of *native*.

    These are the ``SSL_CTX``'s own parameters, which every ``SSL`` made from it copies
    when it is created (and keeps if the connection later switches context). pyOpenSSL's
    public ``X509Store.set_flags`` sets the *certificate store's* parameters instead,
    which also apply to building the local chain and, after an SNI switch, follow the
    new context; not the same. Private: ``lib.X509_VERIFY_PARAM_set_flags``,
    ``lib.SSL_CTX_get0_param`` (unused by pyOpenSSL), ``Context._context``. Checked on
    pyOpenSSL 26.4.0 / cryptography 50.0.2.
    """
    from OpenSSL._util import lib

    param = lib.SSL_CTX_get0_param(native._context)
    if lib.X509_VERIFY_PARAM_set_flags(param, flags) != 1:  # pragma: no cover - OOM only
        raise MemoryError("X509_VERIFY_PARAM_set_flags failed")


#: Returned by a :func:`set_servername_hook` hook: abort with OpenSSL's default alert.
SNI_DEFAULT_ALERT: Final = -1


def set_servername_hook(native: SSL.Context, hook: Callable[[SSL.Connection], int | None]) -> Any:
    """Install *hook* as OpenSSL's servername (SNI) callback on *native*; fails closed.

    *hook* gets the connection and returns ``None`` to go on, a TLS alert number to
    abort the handshake with that fatal alert, or :data:`SNI_DEFAULT_ALERT`. An
    exception in *hook*, or a connection pyOpenSSL does not know, aborts the handshake
    too. Returns the native callback, which the caller must keep alive as long as
    *native*. The public ``Context.set_tlsext_servername_callback`` cannot choose the
    alert and reports exceptions through ``sys.excepthook``. Private:
    ``ffi.callback``, ``lib.SSL_CTX_set_tlsext_servername_callback``,
    ``lib.SSL_TLSEXT_ERR_OK``/``_ALERT_FATAL``, ``Context._context``,
    ``Connection._reverse_mapping``. Checked on pyOpenSSL 26.4.0 / cryptography 50.0.2.
    """
    from OpenSSL import SSL
    from OpenSSL._util import ffi, lib

    fatal = int(lib.SSL_TLSEXT_ERR_ALERT_FATAL)
    ok = int(lib.SSL_TLSEXT_ERR_OK)

    def on_servername(ssl: Any, alert: Any, arg: Any) -> int:
        conn = SSL.Connection._reverse_mapping.get(ssl)
        if conn is None:  # pragma: no cover - cannot happen
            return fatal
        verdict = hook(conn)
        if verdict is None:
            return ok
        if verdict != SNI_DEFAULT_ALERT:
            alert[0] = verdict
        return fatal

    callback = ffi.callback("int (*)(SSL *, int *, void *)", on_servername, error=fatal)
    lib.SSL_CTX_set_tlsext_servername_callback(native._context, callback)
    return callback


def verify_result(conn: SSL.Connection) -> int:
    """OpenSSL's X.509 verification result of *conn* (``SSL.X509VerificationCodes``).

    pyOpenSSL has no public getter (the codes are public; the result only reaches a
    Python verify callback, which would change how verification fails). Private:
    ``lib.SSL_get_verify_result`` (unused by pyOpenSSL), ``Connection._ssl``. Checked
    on pyOpenSSL 26.4.0 / cryptography 50.0.2.
    """
    from OpenSSL._util import lib

    return int(lib.SSL_get_verify_result(conn._ssl))


def verify_reason(code: int) -> str:
    """OpenSSL's text for an X.509 verification result *code*, e.g. "certificate has expired".

    No public API (pyOpenSSL puts it only into ``X509StoreContextError``). Private:
    ``lib.X509_verify_cert_error_string``, ``ffi.string``. Checked on pyOpenSSL 26.4.0 /
    cryptography 50.0.2.
    """
    from OpenSSL._util import ffi, lib

    return str(ffi.string(lib.X509_verify_cert_error_string(code)).decode("ascii"))


def expect_peer_name(
    conn: SSL.Connection, *, host: str | None = None, ip: bytes | None = None
) -> bool:
    """Make OpenSSL check the peer's certificate for *host* or *ip* during the handshake.

    Exactly one of *host* (a DNS name, ASCII) and *ip* (a packed IPv4/IPv6 address).
    Set on the connection's X.509 verify parameters with
    ``X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT``, as
    the ``ssl`` module does: no ``f*.example.com`` wildcards, never the subject CN. A
    mismatch fails the handshake with ``X509_V_ERR_HOSTNAME_MISMATCH`` or
    ``..._IP_ADDRESS_MISMATCH`` and a ``bad_certificate`` alert. ``False`` if OpenSSL
    refused (allocation failure). pyOpenSSL has no hostname checking. Private:
    ``lib.SSL_get0_param``, ``lib.X509_VERIFY_PARAM_set_hostflags``/``set1_host``/
    ``set1_ip``, ``lib.X509_CHECK_FLAG_*`` (all unused by pyOpenSSL),
    ``Connection._ssl``. Checked on pyOpenSSL 26.4.0 / cryptography 50.0.2.
    """
    from OpenSSL._util import lib

    if (host is None) == (ip is None):
        raise ValueError("give exactly one of host and ip")
    param = lib.SSL_get0_param(conn._ssl)
    lib.X509_VERIFY_PARAM_set_hostflags(
        param, lib.X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | lib.X509_CHECK_FLAG_NEVER_CHECK_SUBJECT
    )
    if ip is not None:
        return bool(lib.X509_VERIFY_PARAM_set1_ip(param, ip, len(ip)) == 1)
    assert host is not None
    raw = host.encode("ascii")
    return bool(lib.X509_VERIFY_PARAM_set1_host(param, raw, len(raw)) == 1)


def incoming_bio_pending(conn: SSL.Connection) -> int:
    """Bytes written with ``bio_write`` that OpenSSL has not read yet.

    No public API (the outgoing side is read publicly with ``bio_read``; nothing reads
    the incoming side's level). Private: ``lib.BIO_get_mem_data``, ``ffi.NULL``,
    ``Connection._into_ssl``. Checked on pyOpenSSL 26.4.0 / cryptography 50.0.2.
    """
    from OpenSSL._util import ffi, lib

    return int(lib.BIO_get_mem_data(conn._into_ssl, ffi.NULL))


def outgoing_bio_probe(conn: SSL.Connection) -> Callable[[], int]:
    """A function returning the bytes of ciphertext waiting in *conn*'s outgoing memory
    BIO (what ``bio_read`` would get), cheap enough to call on every read and write.

    The public way to learn it, ``bio_read``, raises ``WantReadError`` when there is
    nothing: an exception on every check of the download hot path. Private:
    ``lib.BIO_get_mem_data``, ``ffi.NULL``, ``Connection._from_ssl``. Checked on
    pyOpenSSL 26.4.0 / cryptography 50.0.2.
    """
    from OpenSSL._util import ffi, lib

    return functools.partial(lib.BIO_get_mem_data, conn._from_ssl, ffi.NULL)


def ssl_session_reused(conn: SSL.Connection) -> bool:
    """Whether *conn*'s handshake resumed a session (``SSL_session_reused``).

    pyOpenSSL has no public getter. Private: ``lib.SSL_session_reused`` (unused by
    pyOpenSSL), ``Connection._ssl``. Checked on pyOpenSSL 26.4.0 / cryptography 50.0.2.
    """
    from OpenSSL._util import lib

    return bool(lib.SSL_session_reused(conn._ssl))


def session_der(session: SSL.Session) -> bytes:
    """OpenSSL's DER encoding of *session* (``i2d_SSL_SESSION``), secrets included.

    What a session holds (its ticket, its timeout) has no public getter, and the
    bindings lack ``SSL_SESSION_is_resumable``, ``_has_ticket`` and ``_get_timeout``;
    the encoding carries all of it. Private: ``lib.i2d_SSL_SESSION`` (unused by
    pyOpenSSL), ``ffi.new``/``buffer``/``NULL``, ``Session._session``. Checked on
    pyOpenSSL 26.4.0 / cryptography 50.0.2.
    """
    from OpenSSL._util import ffi, lib

    size = lib.i2d_SSL_SESSION(session._session, ffi.NULL)
    if size <= 0:  # pragma: no cover - only on allocation failure
        raise MemoryError("i2d_SSL_SESSION failed")
    out = ffi.new("unsigned char[]", size)
    cursor = ffi.new("unsigned char **", out)
    if lib.i2d_SSL_SESSION(session._session, cursor) != size:  # pragma: no cover
        raise MemoryError("i2d_SSL_SESSION failed")
    return bytes(ffi.buffer(out, size))


def session_from_der(der: bytes, like: SSL.Session) -> SSL.Session:
    """A new session decoded from *der* (``d2i_SSL_SESSION``), independent of any
    connection, and tied to the ``SSL.Context`` *like* came from (pyOpenSSL's
    ``Connection.set_session`` accepts only sessions of its own context).

    ``Connection.get_session`` gives the connection's live session, which OpenSSL marks
    unresumable when the connection is freed without having sent ``close_notify``
    (openssl/openssl#1550); a copy keeps it usable. pyOpenSSL can neither copy nor
    decode a session. ``ValueError`` for bytes OpenSSL cannot decode. Private:
    ``lib.d2i_SSL_SESSION`` (unused by pyOpenSSL), ``lib.SSL_SESSION_free``,
    ``ffi.new``/``gc``/``NULL``, ``Session._session``/``_context``. Checked on
    pyOpenSSL 26.4.0 / cryptography 50.0.2.
    """
    from OpenSSL import SSL
    from OpenSSL._util import ffi, lib

    data = ffi.new("unsigned char[]", der)
    cursor = ffi.new("const unsigned char **", data)
    raw = lib.d2i_SSL_SESSION(ffi.NULL, cursor, len(der))
    if raw == ffi.NULL:
        raise ValueError("OpenSSL cannot decode this session")
    copy = SSL.Session.__new__(SSL.Session)
    copy._session = ffi.gc(raw, lib.SSL_SESSION_free)
    copy._context = like._context
    return copy


# -- private API of python-mbedtls, wrapped ---------------------------------------------
# The backend pins python-mbedtls==2.10.1; these were checked on that version only.
def mbedtls_input_unread(mb: TLSWrappedBuffer) -> int:
    """Bytes given to ``receive_from_network`` that Mbed TLS has not read yet.

    No public API (``receive_from_network`` only appends to the input ring). Private:
    ``MbedTLSBuffer._input_buffer`` (a ``mbedtls._ringbuf.RingBuffer``). Checked on
    python-mbedtls 2.10.1.
    """
    return len(mb._input_buffer)


def mbedtls_input_room(mb: TLSWrappedBuffer) -> int:
    """Bytes ``receive_from_network`` takes now (more raises ``BufferError``).

    No public API. Private: ``MbedTLSBuffer._input_buffer`` and its ``maxlen`` (32 KiB).
    Checked on python-mbedtls 2.10.1.
    """
    ring: Any = mb._input_buffer
    return int(ring.maxlen) - len(ring)


def mbedtls_handshake_step(mb: TLSWrappedBuffer) -> HandshakeStep:
    """The state of *mb*'s handshake state machine (``mbedtls.tls.HandshakeStep``).

    No public API (``do_handshake`` runs one step and says nothing about where it
    stands). Private: ``MbedTLSBuffer._handshake_state``. Checked on python-mbedtls
    2.10.1.
    """
    step: HandshakeStep = mb._handshake_state
    return step


def mbedtls_set_hostname(mb: TLSWrappedBuffer, name: str) -> None:
    """Change the name Mbed TLS checks the server certificate against (client side).

    Public API sets it only once, in ``ClientContext.wrap_buffers(server_hostname)``.
    Raises ``mbedtls.exceptions.TLSError`` for a name Mbed TLS refuses (too long).
    Private: ``MbedTLSBuffer._set_hostname``. Checked on python-mbedtls 2.10.1.
    """
    untyped: Any = mb  # the stub of 2.10.1 omits _set_hostname
    untyped._set_hostname(name)
