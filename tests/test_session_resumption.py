"""Session resumption by the urllib3 shim and the requests adapter (``tls_adapter._session``).

Every verdict is the server's: the stdlib ``ssl`` server records ``session_reused`` per
connection, nginx reports ``$ssl_session_reused`` and ``openssl s_server -www`` says
"Reused" or "New". Each case runs on every available backend that declares
``session_resumption`` (the others must never resume, and refuse a session offered to
them), at TLS 1.2 and 1.3. Certificates are made at run time.
"""

from __future__ import annotations

import pickle
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme
import urllib3

import tls_adapter
from tls_adapter import TLSConfiguration, TLSVersion
from tls_adapter._session import SessionCache, TLSSession, fresh_peer
from tls_adapter.requests import TLSAdapter
from tls_adapter.urllib3 import SSLContext

from .http_servers import (
    HTTPSTestServer,
    NginxServer,
    PKIFiles,
    free_port,
    https_proxy,
    require_tool,
    wait_for_port,
    write_pki_files,
)
from .peers import PKI

VERSIONS = [TLSVersion.TLSv1_2, TLSVersion.TLSv1_3]
STDLIB_VERSION = {
    TLSVersion.TLSv1_2: ssl.TLSVersion.TLSv1_2,
    TLSVersion.TLSv1_3: ssl.TLSVersion.TLSv1_3,
}
CLOSE = {"Connection": "close"}
# (backend, version) pairs these servers never resume (each is in the backend's notes).
_NOT_RESUMED_HERE = {
    ("wolfssl", TLSVersion.TLSv1_2): "wolfSSL 5.5.4 resumes TLS 1.2 by session ID only (its "
    "ticket handling fails a handshake whose ticket the server declines), and the stdlib "
    "server resumes TLS 1.2 by ticket only",
    ("boringssl", TLSVersion.TLSv1_3): "utls hands out BoringSSL's TLS 1.3 handshake "
    "session, which never gets the server's ticket: boringssl resumes TLS 1.2 only",
}


def resumed_version(backend: tls_adapter.Backend) -> TLSVersion:
    """The newest TLS version *backend* resumes with these servers."""
    for version in (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2):
        if (backend.name, version) not in _NOT_RESUMED_HERE and (
            version in backend.capabilities.tls_versions
        ):
            return version
    raise AssertionError(f"{backend.name} resumes no version here")


def _resuming() -> list[str]:
    return [
        name
        for name in tls_adapter.available_backends()
        if tls_adapter.get_backend(name).capabilities.session_resumption
    ]


def _not_resuming() -> list[str]:
    return [name for name in tls_adapter.available_backends() if name not in _resuming()]


@pytest.fixture(params=_resuming() or ["none"])
def resuming(request: pytest.FixtureRequest) -> tls_adapter.Backend:
    """Each available backend that declares session resumption."""
    if request.param == "none":
        pytest.skip("no available backend resumes sessions")
    return tls_adapter.get_backend(request.param)


@pytest.fixture(params=VERSIONS, ids=lambda v: v.value)
def version(request: pytest.FixtureRequest, resuming: tls_adapter.Backend) -> TLSVersion:
    v: TLSVersion = request.param
    if v not in resuming.capabilities.tls_versions:
        pytest.skip(f"{resuming.name} has no {v.value}")
    if (resuming.name, v) in _NOT_RESUMED_HERE:
        pytest.skip(_NOT_RESUMED_HERE[resuming.name, v])
    return v


@pytest.fixture(scope="module")
def files(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return write_pki_files(pki, tmp_path_factory.mktemp("pki"))


def server_context(pki: PKI, version: TLSVersion, cert: Any = None) -> ssl.SSLContext:
    """A stdlib server context pinned to *version* (tickets on, as by default)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    (cert or pki.server).configure_cert(ctx)
    ctx.minimum_version = ctx.maximum_version = STDLIB_VERSION[version]
    return ctx


@pytest.fixture
def server(pki: PKI, version: TLSVersion) -> Iterator[HTTPSTestServer]:
    with HTTPSTestServer(pki, ssl_context=server_context(pki, version)) as s:
        yield s


def client(backend: tls_adapter.Backend, files: PKIFiles) -> SSLContext:
    ctx = SSLContext(backend=backend)
    ctx.load_verify_locations(files.ca)
    return ctx


def fetch(ctx: SSLContext, port: int, host: str = "localhost") -> bool:
    """One request on a new connection; returns whether the client says it resumed."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        tls = ctx.wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise
    with tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        while tls.recv(65536):
            pass
        return bool(tls.session_reused)


def settle(server: HTTPSTestServer, count: int) -> list[bool]:
    """The server's verdicts once it has recorded *count* connections."""
    deadline = time.monotonic() + 5
    while len(server.sessions_reused) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(server.sessions_reused)


# -- it resumes, automatically -------------------------------------------------------------
def test_urllib3_resumes_new_connections(
    resuming: tls_adapter.Backend, version: TLSVersion, server: HTTPSTestServer, files: PKIFiles
) -> None:
    """Five requests, each on a new connection (``Connection: close``), through a
    PoolManager: the server resumes the four later ones; the client agrees."""
    with urllib3.PoolManager(ssl_context=client(resuming, files)) as pm:
        for _ in range(5):
            r = pm.request("GET", server.url("/", host="localhost"), headers=CLOSE)
            assert r.status == 200
    assert settle(server, 5) == [False, True, True, True, True]


def test_requests_adapter_resumes_and_can_be_turned_off(
    resuming: tls_adapter.Backend, version: TLSVersion, server: HTTPSTestServer, pki: PKI
) -> None:
    config = TLSConfiguration(trust_store=pki.trust)
    for switch, expected in ((True, [False, True, True]), (False, [False, False, False])):
        before = len(server.sessions_reused)
        with requests.Session() as session:
            adapter = TLSAdapter(config, backend=resuming, session_resumption=switch)
            session.mount("https://", adapter)
            for _ in range(3):
                url = server.url("/", host="localhost")
                assert session.get(url, headers=CLOSE).status_code == 200
        assert settle(server, before + 3)[before:] == expected
    clone = pickle.loads(pickle.dumps(TLSAdapter(config, session_resumption=False)))
    assert clone.context_for().session_resumption is False


def test_the_shims_switch(
    resuming: tls_adapter.Backend, version: TLSVersion, server: HTTPSTestServer, files: PKIFiles
) -> None:
    ctx = client(resuming, files)
    assert ctx.session_resumption is True
    assert [fetch(ctx, server.port) for _ in range(2)] == [False, True]
    ctx.session_resumption = False  # also forgets what was kept
    assert fetch(ctx, server.port) is False
    ctx.session_resumption = True
    assert [fetch(ctx, server.port) for _ in range(2)] == [False, True]
    assert settle(server, 5) == [False, True, False, False, True]


# -- it never resumes where it must not ----------------------------------------------------
def test_never_across_host_names(
    resuming: tls_adapter.Backend, version: TLSVersion, server: HTTPSTestServer, files: PKIFiles
) -> None:
    """The same server and port under another name gets no session: the certificate is
    checked for that name (and fails for a name it does not hold)."""
    ctx = client(resuming, files)
    assert fetch(ctx, server.port, "localhost") is False
    assert fetch(ctx, server.port, "127.0.0.1") is False
    with pytest.raises(ssl.SSLCertVerificationError):
        fetch(ctx, server.port, "other.invalid")
    assert fetch(ctx, server.port, "localhost") is True  # its own session is still there
    assert settle(server, 3) == [False, False, True]


def test_never_across_ports(
    resuming: tls_adapter.Backend, version: TLSVersion, pki: PKI, files: PKIFiles
) -> None:
    """Two ports served by one server context (one set of ticket keys, so the server
    would resume either's sessions): the client offers each port only its own."""
    shared = server_context(pki, version)
    with (
        HTTPSTestServer(pki, ssl_context=shared) as a,
        HTTPSTestServer(pki, ssl_context=shared) as b,
    ):
        ctx = client(resuming, files)
        assert fetch(ctx, a.port) is False
        assert fetch(ctx, b.port) is False
        assert fetch(ctx, a.port) is True
        assert fetch(ctx, b.port) is True
        assert settle(a, 2) == [False, True]
        assert settle(b, 2) == [False, True]


def test_never_across_configurations(
    resuming: tls_adapter.Backend, version: TLSVersion, server: HTTPSTestServer, files: PKIFiles
) -> None:
    ctx = client(resuming, files)
    assert fetch(ctx, server.port) is False
    ctx.set_alpn_protocols(["http/1.1"])  # a new configuration: its own backend context
    assert fetch(ctx, server.port) is False
    other = client(resuming, files)  # same configuration, another context: its own cache
    assert fetch(other, server.port) is False
    assert settle(server, 3) == [False, False, False]


def test_never_through_a_proxy_tunnel(
    resuming: tls_adapter.Backend,
    version: TLSVersion,
    server: HTTPSTestServer,
    files: PKIFiles,
    tmp_path: Path,
) -> None:
    """Behind an HTTP proxy's CONNECT the peer is the proxy and the origin's port is not
    known: nothing is offered or kept, so a direct connection afterwards is new too."""
    ctx = client(resuming, files)
    with (
        https_proxy(tmp_path, files) as (tinyproxy, _),
        urllib3.ProxyManager(tinyproxy.url, ssl_context=ctx) as pm,
    ):
        for _ in range(3):
            r = pm.request("GET", server.url("/", host="localhost"), headers=CLOSE)
            assert r.status == 200
    assert fetch(ctx, server.port) is False
    assert settle(server, 4) == [False, False, False, False]


def test_not_after_a_validation_failure(
    resuming: tls_adapter.Backend,
    version: TLSVersion,
    pki: PKI,
    files: PKIFiles,
    other_ca: trustme.CA,
) -> None:
    """A handshake that fails validation under a key drops what was kept under it.

    The server's port is taken over by one with an untrusted certificate and other
    ticket keys (so the offered session cannot resume there: a full handshake, which
    fails), then served again by the first server context, which *could* resume the
    first session: the client offers none, so the server sees a new session.
    """
    good = server_context(pki, version)
    bad = server_context(pki, version, cert=other_ca.issue_cert("localhost"))
    ctx = client(resuming, files)
    with HTTPSTestServer(pki, ssl_context=good) as first:
        port = first.port
        assert fetch(ctx, port) is False
    with HTTPSTestServer(pki, ssl_context=bad, port=port) as impostor:
        with pytest.raises(ssl.SSLCertVerificationError):
            fetch(ctx, port)
        assert settle(impostor, 0) == []
    with HTTPSTestServer(pki, ssl_context=good, port=port) as again:
        assert fetch(ctx, port) is False
        assert fetch(ctx, port) is True
        assert settle(again, 2) == [False, True]


def test_nothing_kept_without_validation(
    resuming: tls_adapter.Backend, version: TLSVersion, server: HTTPSTestServer
) -> None:
    ctx = SSLContext(backend=resuming)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    assert [fetch(ctx, server.port) for _ in range(3)] == [False, False, False]
    assert settle(server, 3) == [False, False, False]


@pytest.mark.parametrize("name", _not_resuming() or ["none"])
def test_backends_without_resumption_never_resume(name: str, pki: PKI, files: PKIFiles) -> None:
    if name == "none":
        pytest.skip("every available backend resumes sessions")
    backend = tls_adapter.get_backend(name)
    version = TLSVersion.TLSv1_2
    with HTTPSTestServer(pki, ssl_context=server_context(pki, version)) as server:
        ctx = client(backend, files)
        assert [fetch(ctx, server.port) for _ in range(3)] == [False, False, False]
        assert settle(server, 3) == [False, False, False]
    other = tls_adapter.get_backend(_resuming()[0]) if _resuming() else None
    if other is not None:
        session = TLSSession(other.name, b"state", version, 60)
        config = TLSConfiguration(trust_store=pki.trust)
        with pytest.raises(tls_adapter.ConfigurationError, match="cannot resume"):
            backend.client_context(config).wrap_buffers("localhost", session=session)


def test_a_session_from_another_backend_is_refused(pki: PKI) -> None:
    names = _resuming()
    if len(names) < 2:
        pytest.skip("needs two backends that resume")
    session = TLSSession(names[0], b"state", TLSVersion.TLSv1_3, 60)
    context = tls_adapter.get_backend(names[1]).client_context(
        TLSConfiguration(trust_store=pki.trust)
    )
    with pytest.raises(ValueError, match=f"made by the {names[0]} backend"):
        context.wrap_buffers("localhost", session=session)
    with pytest.raises(TypeError, match="TLSSession"):
        context.wrap_buffers("localhost", session=b"state")  # type: ignore[arg-type]


# -- servers nobody here wrote -------------------------------------------------------------
def test_nginx_with_tickets_sees_resumption(
    resuming: tls_adapter.Backend, files: PKIFiles, tmp_path: Path
) -> None:
    ctx = client(resuming, files)
    ctx.maximum_version = ctx.minimum_version = STDLIB_VERSION[resumed_version(resuming)]
    with NginxServer(tmp_path, files) as nginx, urllib3.PoolManager(ssl_context=ctx) as pm:
        seen = [
            pm.request("GET", f"{nginx.url}session", headers=CLOSE).data.strip() for _ in range(3)
        ]
    assert seen == [b".", b"r", b"r"]


def test_openssl_s_server_sees_resumption(
    resuming: tls_adapter.Backend, files: PKIFiles, tmp_path: Path
) -> None:
    openssl = require_tool("openssl")
    port = free_port()
    log = (tmp_path / "s_server.log").open("wb")
    proc = subprocess.Popen(
        [openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-www",
         "-cert", files.server_chain, "-key", files.server_key],
        stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port("127.0.0.1", port, proc)
        ctx = client(resuming, files)
        ctx.maximum_version = ctx.minimum_version = STDLIB_VERSION[resumed_version(resuming)]
        with urllib3.PoolManager(ssl_context=ctx) as pm:
            pages = [
                pm.request("GET", f"https://localhost:{port}/", headers=CLOSE).data.decode()
                for _ in range(3)
            ]
    finally:
        proc.kill()
        proc.wait(10)
        assert proc.stdin is not None
        proc.stdin.close()
        log.close()
    verdicts = [
        next(line.split(",")[0] for line in page.splitlines() if line.startswith(("New", "Reused")))
        for page in pages
    ]
    assert verdicts == ["New", "Reused", "Reused"], pages


# -- the pieces ------------------------------------------------------------------------------
def test_cache_hands_each_session_out_once_and_within_its_lifetime() -> None:
    cache = SessionCache(maxsize=2, per_key=2)
    first, second = (TLSSession("openssl", object(), TLSVersion.TLSv1_3, 60) for _ in range(2))
    cache.put("a", first)
    cache.put("a", second)
    assert cache.take("a") is second and cache.take("a") is first and cache.take("a") is None
    cache.put("a", TLSSession("openssl", object(), TLSVersion.TLSv1_3, 0))  # expired at once
    assert cache.take("a") is None
    tls12 = TLSSession("openssl", object(), TLSVersion.TLSv1_2, 60)
    cache.put("a", tls12)
    assert cache.take("a") is tls12 and cache.take("a") is tls12  # TLS 1.2: reusable
    cache.discard("a")
    for key in "abc":
        cache.put(key, TLSSession("openssl", object(), TLSVersion.TLSv1_3, 60))
    assert cache.take("a") is None and len(cache) == 2  # least recently used went first
    cache.put("b", first)
    cache.put("b", second)
    assert len(cache) == 3  # per_key keeps the two newest of b, and c's
    cache.discard("b")
    assert cache.take("b") is None


def test_cache_leaves_a_server_that_declines_alone() -> None:
    cache = SessionCache()
    cache.decline("k")
    assert not cache.declined("k")
    cache.accepted("k")
    cache.decline("k")
    assert not cache.declined("k")  # the count restarted
    cache.decline("k")
    assert cache.declined("k")
    cache.clear()
    assert not cache.declined("k")


def test_a_server_without_tickets_costs_two_tries(
    resuming: tls_adapter.Backend, pki: PKI, files: PKIFiles
) -> None:
    """Against a server that issues no session, the client stops asking after two
    connections (nothing to gain, only the cost of copying sessions)."""
    server_ctx = server_context(pki, TLSVersion.TLSv1_3)
    server_ctx.num_tickets = 0
    if TLSVersion.TLSv1_3 not in resuming.capabilities.tls_versions:
        pytest.skip(f"{resuming.name} has no TLS 1.3")
    with HTTPSTestServer(pki, ssl_context=server_ctx) as server:
        ctx = client(resuming, files)
        assert [fetch(ctx, server.port) for _ in range(4)] == [False] * 4
        (key,) = ctx._sessions._declines
        assert ctx._sessions.declined(key)


def test_sessions_stay_in_memory_and_show_no_secret() -> None:
    session = TLSSession("gnutls", b"secret-state-bytes", TLSVersion.TLSv1_2, 60)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(session)
    assert "secret" not in repr(session) and "gnutls" in repr(session)


def test_fresh_peer_only_for_a_connection_that_carried_nothing() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    with listener, socket.create_connection(listener.getsockname()) as sock:
        accepted, _ = listener.accept()
        with accepted:
            assert fresh_peer(sock) == listener.getsockname()
            sock.sendall(b"CONNECT example:443 HTTP/1.1\r\n\r\n")
            accepted.recv(100)
            accepted.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            sock.recv(100)
            assert fresh_peer(sock) is None
    left, right = socket.socketpair()
    with left, right:
        assert fresh_peer(left) is None
