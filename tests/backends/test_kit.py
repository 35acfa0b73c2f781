"""The backend kit: what every server backend shares behaves the same on each of them.

Every test runs for each backend with a server side, against the reference ``openssl``
client. A backend that declares no ``sni_callback`` is first shown to refuse one with
``ConfigurationError``, then skipped.
"""

from __future__ import annotations

import warnings
from typing import Any, cast

import pytest

import tls_adapter
from tls_adapter import (
    CertificateValidationError,
    ConfigurationError,
    SecurityWarning,
    TLSConfiguration,
    TLSError,
)
from tls_adapter.backends._server import (
    DERIVED_CONTEXTS_MAX,
    DerivedContexts,
    SNIDispatch,
    decode_server_name,
)

from ..peers import (
    PKI,
    drive_handshake,
    handshake_buffers,
    make_server_context,
    require_sni_callback,
)


def derived_contexts(context: tls_adapter.ServerContext) -> DerivedContexts[Any]:
    """The derived-context cache of a server context (it must use the shared runner)."""
    dispatch = cast(Any, context)._sni
    assert isinstance(dispatch, SNIDispatch), f"{type(context).__name__} has its own SNI runner"
    return dispatch.derived


def handshake_as(
    client_context: tls_adapter.ClientContext,
    server_context: tls_adapter.ServerContext,
    name: str,
) -> None:
    """One complete in-memory handshake with *name* as SNI (the chain is still checked)."""
    client = client_context.wrap_buffers(name, check_hostname=False)
    handshake_buffers(client, server_context.wrap_buffers())


# -- the derived-context cache ------------------------------------------------------------
def test_derived_contexts_stay_within_their_bound(
    server_backend: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """More distinct configurations than the bound, one real handshake each: the cache
    holds exactly the bound, the least recently used configuration is evicted first, and
    an evicted one is rebuilt when a client asks for it again."""
    require_sni_callback(server_backend, pki)
    built: list[str] = []

    def pick(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        assert name is not None
        built.append(name)
        return config.update(inner_protocols=[name.encode("ascii")])

    base = TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=pick)
    server_context = make_server_context(server_backend, base)
    client_context = openssl.client_context(TLSConfiguration(trust_store=pki.trust))
    cache = derived_contexts(server_context)
    assert cache.bound == DERIVED_CONTEXTS_MAX

    def key(i: int) -> TLSConfiguration:
        return base.update(inner_protocols=[f"site{i}.example".encode("ascii")])

    for i in range(DERIVED_CONTEXTS_MAX):
        handshake_as(client_context, server_context, f"site{i}.example")
    assert len(cache) == DERIVED_CONTEXTS_MAX
    assert all(key(i) in cache for i in range(DERIVED_CONTEXTS_MAX))

    handshake_as(client_context, server_context, "site0.example")  # a hit: now most recent
    handshake_as(client_context, server_context, f"site{DERIVED_CONTEXTS_MAX}.example")
    assert len(cache) == DERIVED_CONTEXTS_MAX
    assert key(0) in cache, "a recently used configuration was evicted (not LRU)"
    assert key(1) not in cache, "the least recently used configuration was not evicted"
    assert key(DERIVED_CONTEXTS_MAX) in cache

    handshake_as(client_context, server_context, "site1.example")  # rebuilt on demand
    assert key(1) in cache and key(2) not in cache
    assert len(cache) == DERIVED_CONTEXTS_MAX
    assert len(built) == DERIVED_CONTEXTS_MAX + 3


# -- the SNI callback's failures ----------------------------------------------------------
class NoSuchSite(Exception):
    pass


@pytest.mark.parametrize(
    ("failure", "message", "cause"),
    [
        ("raises", "sni_callback failed: NoSuchSite('site.example')", NoSuchSite),
        (
            "returns-str",
            "sni_callback failed: TypeError('sni_callback must return a TLSConfiguration, "
            "not str')",
            TypeError,
        ),
        (
            "returns-none",
            "sni_callback failed: TypeError('sni_callback must return a TLSConfiguration, "
            "not NoneType')",
            TypeError,
        ),
    ],
)
def test_sni_callback_failure_surfaces_alike(
    server_backend: tls_adapter.Backend,
    openssl: tls_adapter.Backend,
    pki: PKI,
    failure: str,
    message: str,
    cause: type[Exception],
) -> None:
    """Every backend raises the same TLSError from do_handshake(), chained to the cause."""
    require_sni_callback(server_backend, pki)

    def callback(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        if failure == "raises":
            raise NoSuchSite(name)
        return None if failure == "returns-none" else "other.example"  # type: ignore[return-value]

    server_context = make_server_context(
        server_backend, TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=callback)
    )
    client = openssl.client_context(TLSConfiguration(trust_store=pki.trust)).wrap_buffers(
        "site.example", check_hostname=False
    )
    outcome = drive_handshake(client, server_context.wrap_buffers())
    error = outcome.server_error
    assert type(error) is TLSError, repr(error)
    assert str(error) == message
    assert isinstance(error.__cause__, cause)
    assert not outcome.server_done and not outcome.client_done
    assert isinstance(outcome.client_error, TLSError)
    assert not isinstance(outcome.client_error, CertificateValidationError)


@pytest.mark.parametrize(
    ("sent", "seen"),
    [
        ("site.example", "site.example"),
        ("xn--bcher-kva.example", "bücher.example"),
        # IDNA 2008 ("faß"), which Python's IDNA 2003 codec cannot decode: as received.
        ("xn--fa-hia.example", "xn--fa-hia.example"),
    ],
)
def test_sni_callback_sees_names_decoded_alike(
    server_backend: tls_adapter.Backend,
    openssl: tls_adapter.Backend,
    pki: PKI,
    sent: str,
    seen: str,
) -> None:
    require_sni_callback(server_backend, pki)
    names: list[str | None] = []

    def record(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        names.append(name)
        return config

    server_context = make_server_context(
        server_backend, TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=record)
    )
    client_context = openssl.client_context(TLSConfiguration(trust_store=pki.trust))
    handshake_as(client_context, server_context, sent)
    assert names == [seen]


def test_decode_server_name() -> None:
    assert decode_server_name(None) is None
    assert decode_server_name(b"") is None
    assert decode_server_name(b"xn--bcher-kva.example") == "bücher.example"
    assert decode_server_name("xn--a.example") == "xn--a.example"
    for raw in ("bücher.example", "b\ufffdcher.example", b"b\xfccher.example"):
        with pytest.raises(ValueError, match="not ASCII"):
            decode_server_name(raw)


# -- server preconditions -----------------------------------------------------------------
def test_server_preconditions_name_the_backend(
    server_backend: tls_adapter.Backend, pki: PKI
) -> None:
    with pytest.raises(ConfigurationError, match=rf"{server_backend.name}.*certificate_chain"):
        make_server_context(server_backend, TLSConfiguration())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        unvalidated = TLSConfiguration(
            certificate_chain=pki.server_chain, trust_store=pki.trust, validate_certificates=False
        )
        with pytest.raises(ConfigurationError, match=rf"{server_backend.name}.*client cert"):
            make_server_context(server_backend, unvalidated)
