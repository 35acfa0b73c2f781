"""The client configurations compared, and how each one is built and used.

Every configuration is an HTTP client stack (urllib3 or requests) with one way of doing
TLS. The same three operations are timed on all of them: a small GET (optionally with
``Connection: close``, so that nginx closes and the next request opens a new TLS
connection), a streamed download, and building the client.

tls_adapter's configurations are built with session resumption off
(``SSLContext.session_resumption = False``, ``TLSAdapter(..., session_resumption=False)``):
their new connections are full handshakes, as the peers' are, so every comparison of
them is one of full handshakes. Only the ``shim-<backend>-resume`` rows
(:func:`resumption_configurations`) resume, in the session-resumption pairs.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._env import SMALL_BODY, PKIFiles

__all__ = [
    "BASELINE",
    "Config",
    "HTTPClient",
    "Stream",
    "build_client",
    "configurations",
    "create_once",
    "resumption_configurations",
]

#: The configuration every HTTP ratio is taken against.
BASELINE = "urllib3-stdlib"
_CLOSE = {"Connection": "close"}


@dataclass(frozen=True)
class Config:
    """One client configuration (a row of the report)."""

    #: A short stable identifier, e.g. ``"adapter-openssl-pem"``.
    key: str
    #: What it is, for people.
    label: str
    #: ``"urllib3"``, ``"requests"`` (a Session) or ``"transport"`` (a requests
    #: transport adapter's ``send()`` called directly with a prepared request).
    stack: str
    #: ``"peer"`` (not tls_adapter), ``"shim"`` (tls_adapter.urllib3.SSLContext),
    #: ``"adapter"`` (tls_adapter.requests.TLSAdapter in a Session) or ``"transport"``
    #: (TLSAdapter.send() alone).
    kind: str
    #: The tls_adapter backend (shim and adapter only).
    backend: str | None = None
    #: ``"pem"`` (the bundle as a PEM file) or ``"system"`` (the system store, which is
    #: the same bundle through ``SSL_CERT_FILE``).
    trust: str = "pem"
    #: How trust is loaded, for people.
    trust_note: str = ""
    #: Whether tls_adapter resumes TLS sessions (``SSLContext.session_resumption``): off
    #: everywhere but in the ``shim-<backend>-resume`` rows.
    resume: bool = False


_PEERS = (
    Config(
        "urllib3-stdlib",
        "urllib3 + one reused ssl.create_default_context(cafile=bundle) (baseline)",
        "urllib3",
        "peer",
        trust_note="PEM file, loaded once",
    ),
    Config(
        "urllib3-plain",
        "urllib3.PoolManager(ca_certs=bundle)",
        "urllib3",
        "peer",
        trust_note="PEM file, context built and loaded per connection",
    ),
    Config(
        "urllib3-pyopenssl",
        "urllib3 + urllib3.contrib.pyopenssl injected, PoolManager(ca_certs=bundle)",
        "urllib3",
        "peer",
        trust_note="PEM file, context built and loaded per connection",
    ),
    Config(
        "urllib3-truststore",
        "urllib3 + one reused truststore.SSLContext",
        "urllib3",
        "peer",
        trust="system",
        trust_note="system store, re-read on every handshake (Linux)",
    ),
    Config(
        "requests-plain",
        "requests.Session(), verify=bundle",
        "requests",
        "peer",
        trust_note="PEM file, context built and loaded per connection",
    ),
    Config(
        "requests-stdlib",
        "requests.Session() + HTTPAdapter with one reused stdlib context",
        "requests",
        "peer",
        trust_note="PEM file, loaded once (the floor of the requests stack)",
    ),
    Config(
        "transport-stdlib",
        "requests' HTTPAdapter with one reused stdlib context, called directly: "
        "adapter.send(prepared request), no Session",
        "transport",
        "peer",
        trust_note="PEM file, loaded once (the floor of a requests transport adapter)",
    ),
)


def configurations(backends: tuple[str, ...]) -> list[Config]:
    """The peers, then per backend: the shim and the adapter, PEM file and system store."""
    out = list(_PEERS)
    trusts = (
        ("pem", "TrustStore.from_pem_file(bundle), loaded once per context"),
        ("system", "TrustStore.system() (SSL_CERT_FILE=bundle), loaded once per context"),
    )
    for backend in backends:
        for kind, stack, what in (
            ("shim", "urllib3", "urllib3 + tls_adapter.urllib3.SSLContext"),
            ("adapter", "requests", "requests + tls_adapter.requests.TLSAdapter"),
            (
                "transport",
                "transport",
                "tls_adapter.requests.TLSAdapter called directly: adapter.send(prepared "
                "request), no Session",
            ),
        ):
            for trust, note in trusts:
                if kind == "transport" and trust != "pem":
                    continue  # the trust store is covered by the adapter rows
                out.append(
                    Config(
                        f"{kind}-{backend}-{trust}",
                        f"{what} ({backend}, {trust}; session resumption off)",
                        stack,
                        kind,
                        backend,
                        trust,
                        note,
                    )
                )
    return out


def resumption_configurations(backends: tuple[str, ...]) -> list[Config]:
    """``shim-<backend>-resume`` for each of *backends* that can resume sessions: the
    urllib3 shim with ``session_resumption`` on (its default)."""
    from tls_adapter import get_backend

    return [
        Config(
            f"shim-{backend}-resume",
            f"urllib3 + tls_adapter.urllib3.SSLContext ({backend}, pem; session "
            "resumption on, the default)",
            "urllib3",
            "shim",
            backend,
            "pem",
            "TrustStore.from_pem_file(bundle), loaded once per context",
            resume=True,
        )
        for backend in backends
        if get_backend(backend).capabilities.session_resumption
    ]


# -- using a client -----------------------------------------------------------------------
class Stream:
    """A streamed response being read *chunk* bytes at a time."""

    def __init__(self, response: Any, chunks: Iterator[bytes], stack: str) -> None:
        self._response = response
        #: The response body, chunk by chunk.
        self.chunks = chunks
        self._stack = stack

    def finish(self) -> None:
        """After the last chunk: give the connection back to the pool."""
        if self._stack == "urllib3":
            self._response.release_conn()
        else:
            self._response.close()

    def abort(self) -> None:
        """Before the last chunk: close the response (its connection is dropped)."""
        self._response.close()


class HTTPClient:
    """A built client: one urllib3 ``PoolManager`` or one requests ``Session``.

    Use it inside :meth:`active` (which injects pyOpenSSL into urllib3 for that
    configuration, and only while it is the one running).
    """

    def __init__(self, config: Config, handle: Any, verify: object = True) -> None:
        self.config = config
        self._handle = handle
        self._verify = verify
        self._requests: dict[tuple[str, bool], Any] = {}

    def active(self) -> contextlib.AbstractContextManager[None]:
        """The context in which this client may run."""
        if self.config.key == "urllib3-pyopenssl":
            return _pyopenssl_injected()
        return contextlib.nullcontext()

    def small(self, url: str, *, close: bool) -> Mapping[str, str]:
        """GET the 100-byte resource; with *close*, ask the server to close afterwards."""
        headers = _CLOSE if close else None
        if self.config.stack == "urllib3":
            r = self._handle.request("GET", url, headers=headers, retries=False)
            status, body = r.status, r.data
        elif self.config.stack == "transport":
            r = self._handle.send(self._prepared(url, close), verify=self._verify)
            status, body = r.status_code, r.content
        else:
            r = self._handle.get(url, headers=headers, verify=self._verify)
            status, body = r.status_code, r.content
        if status != 200 or body != SMALL_BODY:
            raise RuntimeError(f"{self.config.key}: unexpected response {status} {body[:40]!r}")
        headers_out: Mapping[str, str] = r.headers
        return headers_out

    def _prepared(self, url: str, close: bool) -> Any:
        """The prepared GET of *url* (built once: preparing is the Session's work)."""
        key = (url, close)
        prepared = self._requests.get(key)
        if prepared is None:
            import requests

            headers = dict(_CLOSE) if close else {}
            prepared = requests.Request("GET", url, headers=headers).prepare()
            self._requests[key] = prepared
        return prepared

    def stream(self, url: str, chunk: int) -> Stream:
        """Start streaming *url*: urllib3 ``response.read(chunk)``, requests
        ``response.iter_content(chunk)``."""
        if self.config.stack == "urllib3":
            r = self._handle.request("GET", url, preload_content=False, retries=False)
            return Stream(r, iter(lambda: r.read(chunk), b""), "urllib3")
        if self.config.stack == "transport":
            r = self._handle.send(self._prepared(url, False), stream=True, verify=self._verify)
        else:
            r = self._handle.get(url, stream=True, verify=self._verify)
        return Stream(r, r.iter_content(chunk), "requests")

    def download(self, url: str, chunk: int) -> int:
        """Stream all of *url*; returns its size."""
        stream = self.stream(url, chunk)
        total = sum(len(data) for data in stream.chunks)
        stream.finish()
        return total

    def close(self) -> None:
        """Close every connection."""
        if self.config.stack == "urllib3":
            self._handle.clear()
        else:
            self._handle.close()


@contextlib.contextmanager
def _pyopenssl_injected() -> Iterator[None]:
    from urllib3.contrib import pyopenssl

    pyopenssl.inject_into_urllib3()
    try:
        yield
    finally:
        pyopenssl.extract_from_urllib3()


def _tls_configuration(config: Config, pki: PKIFiles) -> Any:
    from tls_adapter import TLSConfiguration, TrustStore

    store = (
        TrustStore.system() if config.trust == "system" else TrustStore.from_pem_file(pki.bundle)
    )
    return TLSConfiguration(trust_store=store)


def _stdlib_adapter_class() -> Any:
    from requests.adapters import HTTPAdapter

    class StdlibContextAdapter(HTTPAdapter):
        """requests' adapter with one reused stdlib context and no per-connection loading."""

        def __init__(self, context: ssl.SSLContext, **kwargs: Any) -> None:
            self._ssl_context = context
            super().__init__(**kwargs)

        def init_poolmanager(self, *args: Any, **pool_kwargs: Any) -> None:
            pool_kwargs["ssl_context"] = self._ssl_context
            super().init_poolmanager(*args, **pool_kwargs)

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            base: Any = super()  # requests' inline types and types-requests disagree
            base.cert_verify(conn, url, verify, cert)
            # requests >= 2.32.5 would have urllib3 load certifi into the shared
            # context on every new connection; the context already trusts the bundle.
            conn.ca_certs = None
            conn.ca_cert_dir = None

    return StdlibContextAdapter


def build_client(config: Config, pki: PKIFiles, *, pool_size: int = 1) -> HTTPClient:
    """A ready client for *config* (nothing connected yet)."""
    import urllib3

    if config.stack == "transport":
        if config.key == "transport-stdlib":
            ctx = ssl.create_default_context(cafile=pki.bundle)
            return HTTPClient(config, _stdlib_adapter_class()(ctx, pool_maxsize=max(pool_size, 10)))
        from tls_adapter.requests import TLSAdapter

        transport = TLSAdapter(
            _tls_configuration(config, pki),
            backend=config.backend,
            session_resumption=config.resume,
            pool_maxsize=max(pool_size, 10),
        )
        return HTTPClient(config, transport)
    if config.stack == "urllib3":
        if config.key == "urllib3-stdlib":
            ctx = ssl.create_default_context(cafile=pki.bundle)
            return HTTPClient(config, urllib3.PoolManager(ssl_context=ctx, maxsize=pool_size))
        if config.key == "urllib3-plain":
            return HTTPClient(config, urllib3.PoolManager(ca_certs=pki.bundle, maxsize=pool_size))
        if config.key == "urllib3-pyopenssl":
            # Contexts are built per connection, by whatever urllib3's SSLContext is
            # when the connection opens: HTTPClient.active() injects pyOpenSSL then.
            return HTTPClient(config, urllib3.PoolManager(ca_certs=pki.bundle, maxsize=pool_size))
        if config.key == "urllib3-truststore":
            import truststore

            tctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            return HTTPClient(config, urllib3.PoolManager(ssl_context=tctx, maxsize=pool_size))
        if config.kind == "shim":
            from tls_adapter.urllib3 import SSLContext

            shim = SSLContext(_tls_configuration(config, pki), backend=config.backend)
            shim.session_resumption = config.resume
            return HTTPClient(config, urllib3.PoolManager(ssl_context=shim, maxsize=pool_size))
    else:
        import requests

        session = requests.Session()
        if config.key == "requests-plain":
            return HTTPClient(config, session, verify=pki.bundle)
        if config.key == "requests-stdlib":
            ctx = ssl.create_default_context(cafile=pki.bundle)
            adapter = _stdlib_adapter_class()(ctx, pool_maxsize=max(pool_size, 10))
            session.mount("https://", adapter)
            return HTTPClient(config, session)
        if config.kind == "adapter":
            from tls_adapter.requests import TLSAdapter

            tls = TLSAdapter(
                _tls_configuration(config, pki),
                backend=config.backend,
                session_resumption=config.resume,
                pool_maxsize=max(pool_size, 10),
            )
            session.mount("https://", tls)
            return HTTPClient(config, session)
    raise ValueError(f"unknown configuration {config.key!r}")


def create_once(config: Config, pki: PKIFiles) -> object:
    """Build, cold, what *config* builds before its first handshake; returns it.

    For tls_adapter, the shared backend-context cache of the urllib3 shim is emptied
    first, so the backend's native context (trust store included) is really built; the
    context or adapter is made with session resumption off, as in the other scenarios. For
    the peers that build a context per connection (plain urllib3, plain requests,
    injected pyOpenSSL) this is the client plus the context of one connection, which they
    pay again on every new connection.
    """
    import urllib3
    from urllib3.util.ssl_ import create_urllib3_context

    if config.key == "urllib3-stdlib":
        ctx = ssl.create_default_context(cafile=pki.bundle)
        return urllib3.PoolManager(ssl_context=ctx)
    if config.key in ("urllib3-plain", "requests-plain"):
        if config.stack == "urllib3":
            handle: object = urllib3.PoolManager(ca_certs=pki.bundle)
        else:
            import requests

            handle = requests.Session()
        ctx = create_urllib3_context()
        ctx.load_verify_locations(pki.bundle)
        return (handle, ctx)
    if config.key == "urllib3-pyopenssl":
        with _pyopenssl_injected():
            import urllib3.util.ssl_ as urllib3_ssl

            pool = urllib3.PoolManager(ca_certs=pki.bundle)
            pctx = urllib3_ssl.create_urllib3_context()
            pctx.load_verify_locations(pki.bundle)
            return (pool, pctx)
    if config.key == "urllib3-truststore":
        import truststore

        return urllib3.PoolManager(ssl_context=truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    if config.key == "requests-stdlib":
        import requests

        session = requests.Session()
        ctx = ssl.create_default_context(cafile=pki.bundle)
        session.mount("https://", _stdlib_adapter_class()(ctx))
        return session
    from tls_adapter import _shim_config
    from tls_adapter.backends import get_backend

    _shim_config._cache.clear()
    backend = get_backend(config.backend or "openssl")
    if config.kind == "shim":
        from tls_adapter.urllib3 import SSLContext

        shim = SSLContext(_tls_configuration(config, pki), backend=backend)
        shim.session_resumption = False
        _shim_config.client_context(backend, shim.configuration)
        return urllib3.PoolManager(ssl_context=shim)
    if config.kind == "adapter":
        import requests

        from tls_adapter.requests import TLSAdapter

        session = requests.Session()
        adapter = TLSAdapter(
            _tls_configuration(config, pki), backend=backend, session_resumption=False
        )
        session.mount("https://", adapter)
        _shim_config.client_context(backend, adapter.configuration)
        return session
    raise ValueError(f"unknown configuration {config.key!r}")
