"""Fuzz what reads a peer's first flight before the TLS library does: the NSS binding's
ClientHello reader (``_nss_ffi.client_hello_has_sni``), alone and through a real NSS
server connection.

The reader decides whether the ``sni_callback`` runs before NSS sees the hello, so it
reads attacker-chosen bytes: it must answer ``True``/``False``/``None`` ("wait") for
anything, never raise, never read past what it was given, and a longer input never
turns an answer back into "wait". Through an NSS server (when the backend is
available), any bytes end in a handshake step that waits or fails with
:class:`~tls_adapter.TLSError`, never anything else.

Run with ``nox -s fuzz`` (see ``tests/fuzz/__init__.py``).
"""

from __future__ import annotations

import contextlib
import ssl
import time

import pytest
from hypothesis import strategies as st

import tls_adapter
from tls_adapter import TLSConfiguration, TLSError, WantReadError
from tls_adapter.backends import _nss_ffi

from ..peers import make_pki
from ._harness import MARKS, fuzz, time_limit

pytestmark = MARKS


def _hello(server_hostname: str | None, alpn: list[str]) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    if alpn:
        ctx.set_alpn_protocols(alpn)
    out = ssl.MemoryBIO()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname=server_hostname)
    with contextlib.suppress(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


_SEEDS = [_hello(name, alpn) for name in ("example.org", None) for alpn in ([], ["h2"])]


def _split(hello: bytes, at: int) -> bytes:
    """*hello* (one record) as two handshake records, split at *at* bytes of its body."""
    body = hello[5:]
    at = max(1, min(at, len(body) - 1))
    head = bytes((22, 3, 1)) + at.to_bytes(2, "big") + body[:at]
    return head + bytes((22, 3, 1)) + (len(body) - at).to_bytes(2, "big") + body[at:]


@st.composite
def _inputs(draw: st.DrawFn) -> bytes:
    seed = draw(st.sampled_from(_SEEDS))
    kind = draw(st.sampled_from(["flip", "cut", "split", "splice", "random"]))
    if kind == "random":
        return draw(st.binary(max_size=600))
    data = bytearray(_split(seed, draw(st.integers(1, 400))) if kind == "split" else seed)
    if kind == "cut":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if kind == "splice":
        at = draw(st.integers(0, len(data)))
        return bytes(data[:at] + draw(st.binary(max_size=64)) + data[at:])
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    return bytes(data)


def _read(data: bytes, extra: bytes) -> None:
    started = time.monotonic()
    answer = _nss_ffi.client_hello_has_sni(data)
    assert answer in (True, False, None)
    if answer is not None:
        assert _nss_ffi.client_hello_has_sni(data + extra) is answer
    assert _nss_ffi.client_hello_has_sni(bytearray(data)) is answer
    assert time.monotonic() - started < time_limit(len(data))


def test_client_hello_reader() -> None:
    """The reader answers for anything and is stable under appended bytes."""
    fuzz(_read, _inputs(), st.binary(max_size=32))


def test_nss_server_first_flight() -> None:
    """Any first flight into a real NSS server (with an ``sni_callback``, so the reader
    runs): the handshake waits or fails with TLSError."""
    if "nss" not in tls_adapter.available_backends():
        pytest.skip("the nss backend is unavailable here (tls-adapter backends says why)")
    pki = make_pki()
    config = TLSConfiguration(
        certificate_chain=pki.server_chain, sni_callback=lambda conn, name, cfg: cfg
    )
    server_context = tls_adapter.get_backend("nss").server_context
    assert server_context is not None
    context = server_context(config)

    def serve(data: bytes, eof: bool) -> None:
        server = context.wrap_buffers()
        started = time.monotonic()
        try:
            server.receive_from_network(data)
            if eof:
                server.receive_from_network(b"")
            server.do_handshake()
        except (WantReadError, TLSError):
            pass
        assert time.monotonic() - started < time_limit(len(data))

    fuzz(serve, _inputs(), st.booleans())
