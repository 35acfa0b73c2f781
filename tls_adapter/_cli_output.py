"""What the ``tls-adapter`` commands report, and how: shared by ``_cli`` and ``_demo``.

Tables, labels for negotiated parameters (TLS version, IANA cipher suite name, ALPN
protocol), one-line error descriptions, the expected failure (:class:`_Failure`) and
the requests adapter that records every connection it wraps, so a command can say what
the connection behind a response negotiated. ``_cli`` and ``_demo`` both import this
module; ``_cli`` imports ``_demo`` (lazily), never the other way round.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ._api import TLSWrappedBuffer, TLSWrappedSocket
from ._ciphers import CipherSuite, cipher_suite_name, openssl_name_table
from ._config import TLSConfiguration
from ._enums import NextProtocol, TLSVersion
from ._errors import CertificateValidationError, ConfigurationError, TLSError
from .backends import Backend

__all__ = [
    "_Failure",
    "_Negotiated",
    "_describe",
    "_import_requests",
    "_last_negotiated",
    "_needs",
    "_recording_adapter",
    "_table",
]

_ALL_EXTRA = "pip install 'tls_adapter[all]'"


class _Failure(Exception):
    """An expected failure: reported as ``error: <message>``, exit status 1."""


def _version_label(version: TLSVersion | str | None) -> str:
    if version is None:
        return "-"
    return version.value if isinstance(version, TLSVersion) else str(version)


def _cipher_label(value: object) -> str:
    """An IANA cipher suite name from a suite, a raw value, or an OpenSSL name."""
    if isinstance(value, CipherSuite):
        return value.name
    if isinstance(value, int):
        return cipher_suite_name(value)
    if isinstance(value, str):
        if value in CipherSuite.__members__:
            return value
        for number, name in openssl_name_table().items():
            if name == value:
                return _cipher_label(number)
        return value
    return "-"


def _alpn_label(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, NextProtocol):
        return value.value.decode("ascii", "replace")
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return str(value)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """*exc* and everything it wraps: ``reason``, ``__cause__``, ``__context__``, args."""
    seen: set[int] = set()
    queue: list[BaseException] = [exc]
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [getattr(current, "reason", None), current.__cause__, current.__context__]
        nested += list(getattr(current, "args", ()))
        queue.extend(e for e in nested if isinstance(e, BaseException))


def _describe(exc: BaseException) -> str:
    """One line saying what went wrong, from the most specific exception in the chain."""
    causes = list(_causes(exc))
    for e in causes:
        if isinstance(e, (CertificateValidationError, ConfigurationError)):
            return str(e)
        if isinstance(e, ssl.SSLCertVerificationError):
            # aiohttp's certificate error subclasses this without setting the attributes
            reason = getattr(e, "verify_message", None) or getattr(e, "reason", None) or str(e)
            return f"certificate verify failed: {reason}"
    for e in causes:
        if isinstance(e, (ssl.SSLError, TLSError)):
            text = str(e.args[1]) if isinstance(e, ssl.SSLError) and len(e.args) > 1 else str(e)
            return f"TLS error: {text}"
    for e in causes:
        if isinstance(e, (TimeoutError, socket.timeout)):
            return "timed out"
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, socket.gaierror):
            return f"cannot resolve the host name: {e.strerror or e}"
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _needs(what: str) -> None:
    raise _Failure(f"this command needs {what}; install it with: {_ALL_EXTRA}")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


@dataclasses.dataclass
class _Negotiated:
    """What a TLS connection negotiated, as labels for printing."""

    version: str = "-"
    cipher: str = "-"
    alpn: str = "-"
    peer_der: bytes | None = None


def _negotiated_from_socket(sock: Any) -> _Negotiated:
    """Read the details off a urllib3 connection's socket (the shim's, or TLS in TLS)."""
    out = _Negotiated()
    # The shim's own TLSWrappedSocket / TLSWrappedBuffer give exact IANA values.
    inner = getattr(sock, "_tls", None) or getattr(sock, "_buffer", None)
    if isinstance(inner, (TLSWrappedSocket, TLSWrappedBuffer)):
        out.version = _version_label(inner.negotiated_tls_version())
        out.cipher = _cipher_label(inner.cipher())
        out.alpn = _alpn_label(inner.negotiated_protocol())
        out.peer_der = inner.getpeercert()
        return out
    version = getattr(sock, "version", None)
    if callable(version):
        out.version = version() or "-"
    cipher = getattr(sock, "cipher", None)
    if callable(cipher):
        info = cipher()
        out.cipher = _cipher_label(info[0] if isinstance(info, tuple) else info)
    alpn = getattr(sock, "selected_alpn_protocol", None)
    if callable(alpn):
        out.alpn = _alpn_label(alpn())
    getpeercert = getattr(sock, "getpeercert", None)
    if callable(getpeercert):
        try:
            der = getpeercert(True)
        except (ValueError, OSError):
            der = None
        out.peer_der = der if isinstance(der, bytes) else None
    return out


def _recording_context_class(*, pin_alpn: bool = False) -> tuple[type[Any], list[Any]]:
    """A :class:`tls_adapter.urllib3.SSLContext` subclass whose instances remember every
    connection they wrap, in order, and the list they append to.

    With *pin_alpn*, the configuration's ALPN list is offered as given, whatever the
    client asks for (urllib3 would replace it with ``http/1.1``, httpx with its own).
    """
    from .urllib3 import SSLContext

    seen: list[Any] = []

    class RecordingContext(SSLContext):
        # The arguments pass through as given: SSLContext's signatures apply.
        def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:
            wrapped = super().wrap_socket(*args, **kwargs)
            seen.append(wrapped)
            return wrapped

        def wrap_bio(self, *args: Any, **kwargs: Any) -> Any:
            wrapped = super().wrap_bio(*args, **kwargs)
            seen.append(wrapped)
            return wrapped

        def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
            if not pin_alpn:
                super().set_alpn_protocols(alpn_protocols)

    return RecordingContext, seen


def _recording_adapter(
    configuration: TLSConfiguration, backend: str | Backend | None, *, pin_alpn: bool = False
) -> tuple[Any, list[Any]]:
    """A TLSAdapter whose contexts remember every connection they wrap, in order.

    The last entry is the connection the last response came from (an HTTPS proxy's own
    connection, if any, is wrapped before the one tunnelled through it).
    """
    from .requests import TLSAdapter

    context_class, seen = _recording_context_class(pin_alpn=pin_alpn)

    class RecordingTLSAdapter(TLSAdapter):
        _context_class = context_class

    return RecordingTLSAdapter(configuration, backend=backend), seen


def _last_negotiated(seen: list[Any]) -> _Negotiated:
    for wrapped in reversed(seen):
        negotiated = _negotiated_from_socket(wrapped)
        if negotiated.version != "-":
            return negotiated
    return _Negotiated()


def _import_requests() -> Any:
    try:
        import requests
    except ImportError:
        _needs("requests")
    return requests
