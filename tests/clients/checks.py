"""What the client tests assert, and small helpers to drive asyncio.

The point of every positive test is that the TLS was done by tls_adapter on the chosen
backend, not by the stdlib: :func:`assert_tls_by` checks the TLS object the client
used. The point of every refusal is that tls_adapter refused the certificate:
:func:`assert_refused` finds the certificate error in the client's exception chain and
checks it was raised through tls_adapter's code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import traceback
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import tls_adapter

_T = TypeVar("_T")

#: Seconds any one asyncio test may take before it is failed (servers are on loopback).
ASYNC_TIMEOUT = 20.0


def make_context(backend: tls_adapter.Backend, cafile: str) -> tls_adapter.SSLContext:
    """A client context on *backend* that trusts exactly the CA in *cafile*."""
    context = tls_adapter.SSLContext(backend=backend)
    context.load_verify_locations(cafile=cafile)
    return context


def assert_tls_by(tls: Any, backend: tls_adapter.Backend, what: str = "connection") -> None:
    """*tls* (an SSLSocket/SSLObject a client used) is tls_adapter's, on *backend*."""
    assert tls is not None, f"the client exposes no TLS object for its {what}"
    module = type(tls).__module__
    assert module.split(".")[0] == "tls_adapter", (
        f"the {what}'s TLS was done by {type(tls).__module__}.{type(tls).__qualname__}, "
        "not by tls_adapter"
    )
    used = tls.context.backend.name
    assert used == backend.name, f"the {what} used backend {used!r}, not {backend.name!r}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        grouped = getattr(current, "exceptions", None)  # an ExceptionGroup (anyio)
        if isinstance(grouped, (list, tuple)):
            todo.extend(e for e in grouped if isinstance(e, BaseException))
        # aiohttp keeps the underlying error in os_error/certificate_error
        for name in ("certificate_error", "os_error"):
            inner = getattr(current, name, None)
            if isinstance(inner, BaseException):
                todo.append(inner)


def _through_tls_adapter(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return any("/tls_adapter/" in frame.filename.replace("\\", "/") for frame in frames)


def assert_refused(exc: BaseException) -> None:
    """*exc* (what a client raised) carries a certificate-verification failure that
    tls_adapter raised: an ``ssl.SSLError`` saying "certificate verify failed" whose
    traceback runs through tls_adapter (with the stdlib doing the TLS, none would)."""
    errors = [
        e
        for e in _chain(exc)
        if isinstance(e, ssl.SSLError) and "certificate verify failed" in str(e).lower()
    ]
    assert errors, f"no certificate verification error behind {exc!r}"
    assert any(_through_tls_adapter(e) for e in errors), (
        f"the certificate error behind {exc!r} was not raised by tls_adapter: {errors!r}"
    )


def run(coroutine: Coroutine[Any, Any, _T], timeout: float = ASYNC_TIMEOUT) -> _T:
    """Run *coroutine* in a new asyncio event loop, failing after *timeout* seconds."""

    async def bounded() -> _T:
        return await asyncio.wait_for(coroutine, timeout)

    return asyncio.run(bounded())


def request_bytes(host: str, path: str = "/") -> bytes:
    """A GET request for *path* that asks the server to close afterwards."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    ).encode()


def parse_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of a complete HTTP/1.1 response with Content-Length."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(body)))
    return status, headers, body[:length]


def response_complete(data: bytes) -> bool:
    """Whether *data* holds the whole response (headers and Content-Length bytes)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


async def get_over_streams(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, path: str = "/"
) -> tuple[int, dict[str, str], bytes]:
    """Send a GET over an open (TLS) stream and read the response; closes the stream."""
    try:
        writer.write(request_bytes(host, path))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        _, headers, _ = parse_response(head)
        body = await reader.readexactly(int(headers["content-length"]))
        return parse_response(head + body)
    finally:
        await close_writer(writer)


async def upgraded_streams(
    port: int, context: ssl.SSLContext, server_hostname: str = "localhost"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A plain loopback connection upgraded with ``StreamWriter.start_tls(context)``
    (Python 3.11+); closed again if the upgrade fails."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await writer.start_tls(context, server_hostname=server_hostname)  # type: ignore[attr-defined,unused-ignore]
    except BaseException:
        await close_writer(writer)
        raise
    return reader, writer


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close *writer* and wait (briefly) for it: the TLS shutdown is not under test."""
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError, asyncio.TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 5)


def hypercorn_saw(body: bytes) -> dict[str, Any]:
    """The JSON the hypercorn app answers with: what the server saw."""
    seen: dict[str, Any] = json.loads(body)
    return seen
