"""``tls_adapter.urllib3``: a real urllib3 over every available backend.

The peers are servers tls_adapter did not write: a threaded ``http.server`` over the
stdlib :mod:`ssl` module, Debian's nginx, tinyproxy (HTTP proxy) and stunnel in front
of tinyproxy (HTTPS proxy, so HTTPS origins go TLS-in-TLS through ``wrap_bio``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
import urllib3
import urllib3.util.ssl_ as urllib3_ssl
from urllib3.exceptions import (
    InsecureRequestWarning,
    MaxRetryError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import Retry, Timeout

import tls_adapter
from tls_adapter import TLSConfiguration, TLSVersion
from tls_adapter.urllib3 import SSLContext, extract_from_urllib3, inject_into_urllib3

from .http_servers import (
    KEY_PASSWORD,
    ROOT_BODY,
    HTTPSTestServer,
    NginxServer,
    PKIFiles,
    https_proxy,
    write_pki_files,
)
from .peers import PKI

# urllib3 1.26's DEFAULT_CIPHERS, which 1.26 passes to set_ciphers() on every context.
URLLIB3_126_CIPHERS = ":".join(
    [
        "ECDHE+AESGCM",
        "ECDHE+CHACHA20",
        "DHE+AESGCM",
        "DHE+CHACHA20",
        "ECDH+AESGCM",
        "DH+AESGCM",
        "ECDH+AES",
        "DH+AES",
        "RSA+AESGCM",
        "RSA+AES",
        "!aNULL",
        "!eNULL",
        "!MD5",
        "!DSS",
    ]
)


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def files(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    """The PKI as PEM files."""
    return write_pki_files(pki, tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(pki: PKI) -> Iterator[HTTPSTestServer]:
    """The stdlib-ssl HTTPS server on 127.0.0.1."""
    with HTTPSTestServer(pki, alpn=["http/1.1"]) as s:
        yield s


@pytest.fixture(scope="module")
def mtls_server(pki: PKI) -> Iterator[HTTPSTestServer]:
    """The stdlib-ssl HTTPS server, requiring a client certificate from the PKI's CA."""
    with HTTPSTestServer(pki, require_client_cert=True) as s:
        yield s


@pytest.fixture(scope="module")
def plain_server(pki: PKI) -> Iterator[HTTPSTestServer]:
    """A plain-HTTP server."""
    with HTTPSTestServer(pki, tls=False) as s:
        yield s


@pytest.fixture(scope="module")
def nginx(files: PKIFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    """Debian's nginx over TLS 1.2/1.3."""
    with NginxServer(tmp_path_factory.mktemp("nginx"), files) as n:
        yield n


@pytest.fixture(scope="module")
def nginx_mtls(files: PKIFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    """nginx with ``ssl_verify_client on``."""
    with NginxServer(tmp_path_factory.mktemp("nginx-mtls"), files, verify_client=True) as n:
        yield n


@pytest.fixture(scope="module")
def proxies(files: PKIFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """tinyproxy (HTTP proxy) and stunnel in front of it (HTTPS proxy)."""
    with https_proxy(tmp_path_factory.mktemp("proxies"), files) as pair:
        yield pair


def trusting(backend: tls_adapter.Backend, files: PKIFiles, **kwargs: Any) -> SSLContext:
    """A shim context on *backend* that trusts the test CA."""
    ctx = SSLContext(backend=backend, **kwargs)
    ctx.load_verify_locations(files.ca)
    return ctx


def counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count calls of ``SSLContext.<name>``."""
    calls: list[int] = []
    original = getattr(SSLContext, name)

    def wrapper(self: SSLContext, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SSLContext, name, wrapper)
    return calls


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll *predicate* until it holds (the servers record errors in their own threads)."""
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return True
        done.wait(0.02)
    return predicate()


@contextlib.contextmanager
def connected(ctx: SSLContext, port: int, hostname: str = "localhost") -> Iterator[Any]:
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        tls = ctx.wrap_socket(raw, server_hostname=hostname)
    except BaseException:
        raw.close()
        raise
    try:
        yield tls
    finally:
        tls.close()


# -- urllib3 against the stdlib server ------------------------------------------------------
def test_verified_request(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    with urllib3.PoolManager(ssl_context=trusting(backend, files)) as pm:
        r = pm.request("GET", server.url("/", host="localhost"))
        assert r.status == 200
        assert r.data == ROOT_BODY
        big = pm.request("GET", server.url("/bytes/1048576"))
        assert len(big.data) == 1048576
        body = bytes(range(256)) * 1000
        echoed = pm.request("POST", server.url("/echo", host="localhost"), body=body)
        assert echoed.data == body
        # keep-alive: all three requests above went over at most two connections
        pool = pm.connection_from_url(server.url("/", host="localhost"))
        assert pool.num_connections == 1


def test_untrusted_ca_fails_and_the_server_gets_the_alert(
    backend: tls_adapter.Backend, server: HTTPSTestServer
) -> None:
    before = len(server.tls_errors)
    with (
        urllib3.PoolManager(ssl_context=SSLContext(backend=backend), retries=False) as pm,
        pytest.raises(SSLError, match="certificate verify failed"),
    ):
        pm.request("GET", server.url("/", host="localhost"))
    assert wait_for(lambda: len(server.tls_errors) > before)
    # The client's fatal alert reached the stdlib server ("unknown ca" for most backends).
    assert "alert" in server.tls_errors[-1], server.tls_errors[-1]


def test_verification_error_is_ssl_cert_verification_error(
    backend: tls_adapter.Backend, server: HTTPSTestServer
) -> None:
    ctx = SSLContext(backend=backend)
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError) as info,
    ):
        ctx.wrap_socket(raw, server_hostname="localhost")
    err = info.value
    assert "certificate verify failed" in str(err)
    assert err.verify_message
    assert isinstance(err.verify_code, int) and err.verify_code > 0
    assert raw.fileno() == -1 or raw._closed  # type: ignore[attr-defined]


def test_cert_none_warns_and_works(backend: tls_adapter.Backend, server: HTTPSTestServer) -> None:
    ctx = SSLContext(backend=backend)  # check_hostname is True: CERT_NONE turns it off
    with (
        urllib3.PoolManager(ssl_context=ctx, cert_reqs="CERT_NONE") as pm,
        pytest.warns(InsecureRequestWarning),
    ):
        r = pm.request("GET", server.url())
    assert r.status == 200
    assert ctx.verify_mode == ssl.CERT_NONE
    assert ctx.check_hostname is False
    assert ctx.configuration.validate_certificates is False


def test_ca_certs_pool_kwarg(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    ctx = SSLContext(backend=backend)
    with urllib3.PoolManager(ssl_context=ctx, ca_certs=files.ca) as pm:
        assert pm.request("GET", server.url("/", host="localhost")).status == 200
    trust = ctx.configuration.trust_store
    assert trust is not None and trust.path == files.ca


def test_ca_certs_without_a_user_context(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    inject_into_urllib3(backend=backend)
    try:
        with urllib3.PoolManager(ca_certs=files.ca) as pm:
            assert pm.request("GET", server.url("/", host="localhost")).status == 200
    finally:
        extract_from_urllib3()


@pytest.mark.parametrize("key", ["plain", "encrypted", "combined"])
def test_client_certificate(
    backend: tls_adapter.Backend, mtls_server: HTTPSTestServer, files: PKIFiles, key: str
) -> None:
    kwargs: dict[str, Any] = {
        "plain": {"cert_file": files.client_chain, "key_file": files.client_key},
        "encrypted": {
            "cert_file": files.client_chain,
            "key_file": files.client_key_encrypted,
            "key_password": KEY_PASSWORD.decode(),
        },
        "combined": {"cert_file": files.client_combined},
    }[key]
    with urllib3.PoolManager(ssl_context=trusting(backend, files), **kwargs) as pm:
        r = pm.request("GET", mtls_server.url("/client-cert", host="localhost"))
    assert r.status == 200
    assert r.json() == ["client"]


def test_missing_client_certificate_is_refused(
    backend: tls_adapter.Backend, mtls_server: HTTPSTestServer, files: PKIFiles
) -> None:
    with (
        urllib3.PoolManager(ssl_context=trusting(backend, files), retries=False) as pm,
        pytest.raises((SSLError, urllib3.exceptions.ProtocolError)),
    ):
        pm.request("GET", mtls_server.url("/client-cert", host="localhost"))


def test_wrong_key_password(backend: tls_adapter.Backend, files: PKIFiles) -> None:
    ctx = trusting(backend, files)
    with pytest.raises(ssl.SSLError):
        ctx.load_cert_chain(files.client_chain, files.client_key_encrypted, password="wrong")
    assert ctx.configuration.certificate_chain is None
    ctx.load_cert_chain(
        files.client_chain, files.client_key_encrypted, password=lambda: KEY_PASSWORD
    )
    assert ctx.configuration.certificate_chain is not None


def test_assert_fingerprint(
    backend: tls_adapter.Backend, server: HTTPSTestServer, pki: PKI
) -> None:
    der = ssl.PEM_cert_to_DER_cert(pki.server.cert_chain_pems[0].bytes().decode())
    good = hashlib.sha256(der).hexdigest()
    ctx = SSLContext(backend=backend)  # does not trust the CA: the fingerprint is the trust
    with urllib3.PoolManager(ssl_context=ctx, cert_reqs="CERT_NONE", assert_fingerprint=good) as pm:
        assert pm.request("GET", server.url()).status == 200
    with (
        urllib3.PoolManager(
            ssl_context=SSLContext(backend=backend),
            cert_reqs="CERT_NONE",
            assert_fingerprint="00" * 32,
            retries=False,
        ) as pm,
        pytest.raises(SSLError, match="Fingerprints did not match"),
    ):
        pm.request("GET", server.url())


def test_assert_hostname(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    ctx = trusting(backend, files)
    with urllib3.PoolManager(ssl_context=ctx, assert_hostname="localhost") as pm:
        assert pm.request("GET", server.url("/", host="127.0.0.1")).status == 200
    # urllib3 matched the name itself, so SNI still went out for the host in the URL.
    with (
        urllib3.PoolManager(
            ssl_context=trusting(backend, files), assert_hostname="example.org", retries=False
        ) as pm,
        pytest.raises(SSLError, match=r"example\.org"),
    ):
        pm.request("GET", server.url("/", host="localhost"))


def test_hostname_mismatch(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    # Whatever the backend's wording, OpenSSL's comes first (urllib3 users grep for it).
    ctx = trusting(backend, files)
    for name, expected, code in (
        ("not-localhost.example", "Hostname mismatch, certificate is not valid for", 62),
        ("127.0.0.2", "IP address mismatch, certificate is not valid for", 64),
    ):
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
            pytest.raises(ssl.SSLCertVerificationError) as info,
        ):
            ctx.wrap_socket(raw, server_hostname=name)
        assert info.value.verify_message.startswith(expected), info.value.verify_message
        assert info.value.verify_code == code
    with (
        urllib3.PoolManager(ssl_context=ctx, server_hostname="example.org", retries=False) as pm,
        pytest.raises(SSLError, match=r"mismatch, certificate is not valid for 'example\.org'"),
    ):
        pm.request("GET", server.url("/", host="localhost"))


def test_sni_and_ip_literals(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    ctx = trusting(backend, files)
    for hostname, sni in (("localhost", "localhost"), ("127.0.0.1", None)):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            ctx.wrap_socket(raw, server_hostname=hostname).close()
        assert server.sni_names[-1] == sni
    # check_hostname off (as for assert_hostname): SNI still sent, chain still validated.
    ctx.check_hostname = False
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        ctx.wrap_socket(raw, server_hostname="other.example").close()
    assert server.sni_names[-1] == "other.example"
    untrusted = SSLContext(backend=backend)
    untrusted.check_hostname = False
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        untrusted.wrap_socket(raw, server_hostname="localhost")


def test_hostname_checks_common_name(
    backend: tls_adapter.Backend, pki: PKI, files: PKIFiles
) -> None:
    # A DNS-less certificate (only an IP SAN) whose CN is localhost.
    cert = pki.ca.issue_cert("10.0.0.1", common_name="localhost")
    with HTTPSTestServer(pki, cert=cert) as srv:
        ctx = trusting(backend, files)
        with (
            urllib3.PoolManager(ssl_context=ctx, retries=False) as pm,
            pytest.raises(SSLError, match="certificate verify failed"),
        ):
            pm.request("GET", srv.url("/", host="localhost"))
        ctx.hostname_checks_common_name = True
        with urllib3.PoolManager(ssl_context=ctx, retries=False) as pm:
            try:
                r = pm.request("GET", srv.url("/", host="localhost"))
            except SSLError as e:
                if "always matches some name" in str(e):  # documented backend limit
                    pytest.skip(f"{backend.name} cannot validate a chain without a name")
                raise
            assert r.status == 200
            with pytest.raises(SSLError, match=r"mismatch"):
                pm.request("GET", srv.url("/", host="127.0.0.1"))


def test_plain_http_server(
    backend: tls_adapter.Backend,
    plain_server: HTTPSTestServer,
    files: PKIFiles,
    request: pytest.FixtureRequest,
) -> None:
    # Whatever the backend says, OpenSSL's words are there: urllib3 looks for them.
    request.applymarker(
        pytest.mark.xfail(
            backend.name == "boringssl",
            reason="utls reports this handshake failure as 'certificate verification failed'",
            strict=True,
        )
    )
    ctx = trusting(backend, files)
    with (
        urllib3.PoolManager(ssl_context=ctx, retries=False) as pm,
        pytest.raises(SSLError, match="wrong version number"),
    ):
        pm.request("GET", f"https://localhost:{plain_server.port}/")
    with (
        urllib3.ProxyManager(
            f"https://localhost:{plain_server.port}",
            proxy_ssl_context=trusting(backend, files),
            retries=False,
        ) as proxy,
        pytest.raises(urllib3.exceptions.ProxyError, match="only use HTTP and not HTTPS"),
    ):
        proxy.request("GET", "https://localhost:1/")


def test_read_timeout_and_retries(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    with urllib3.PoolManager(ssl_context=trusting(backend, files)) as pm:
        with pytest.raises(ReadTimeoutError):
            pm.request(
                "GET", server.url("/slow?seconds=1"), timeout=Timeout(read=0.3), retries=False
            )
        before = server.requests.count("GET /slow?seconds=1")
        with pytest.raises(MaxRetryError) as info:
            pm.request(
                "GET",
                server.url("/slow?seconds=1"),
                timeout=Timeout(read=0.3),
                retries=Retry(read=1, total=None),
            )
        assert isinstance(info.value.reason, ReadTimeoutError)
        assert wait_for(lambda: server.requests.count("GET /slow?seconds=1") == before + 2)
        # the pool is still usable after the timeouts
        assert pm.request("GET", server.url("/")).status == 200


def test_pool_key_separates_contexts(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    one = trusting(backend, files)
    two = trusting(
        backend, files, configuration=TLSConfiguration(highest_supported_version=TLSVersion.TLSv1_2)
    )
    url = server.url("/", host="localhost")
    with urllib3.PoolManager() as pm:
        pool_one = pm.connection_from_url(url, pool_kwargs={"ssl_context": one})
        pool_two = pm.connection_from_url(url, pool_kwargs={"ssl_context": two})
        assert pool_one is not pool_two
        assert pool_one is pm.connection_from_url(url, pool_kwargs={"ssl_context": one})
        assert pool_one.urlopen("GET", "/").status == 200
        assert pool_two.urlopen("GET", "/").status == 200
        conn: Any = pool_two._new_conn()
        conn.connect()
        assert conn.sock.version() == "TLSv1.2"
        conn.close()


def test_alpn(backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles) -> None:
    if not backend.capabilities.alpn:
        pytest.skip(f"{backend.name} has no ALPN")
    with urllib3.PoolManager(ssl_context=trusting(backend, files)) as pm:
        pool = pm.connection_from_url(server.url())
        conn: Any = pool._new_conn()
        conn.connect()
        assert conn.sock.selected_alpn_protocol() == "http/1.1"
        conn.close()


# -- nginx ----------------------------------------------------------------------------------
def test_nginx(backend: tls_adapter.Backend, nginx: NginxServer, files: PKIFiles) -> None:
    with urllib3.PoolManager(ssl_context=trusting(backend, files)) as pm:
        for _ in range(3):
            r = pm.request("GET", nginx.url)
            assert (r.status, r.data) == (200, b"hello\n")


def test_nginx_client_certificate(
    backend: tls_adapter.Backend, nginx_mtls: NginxServer, files: PKIFiles
) -> None:
    with urllib3.PoolManager(
        ssl_context=trusting(backend, files),
        cert_file=files.client_chain,
        key_file=files.client_key_encrypted,
        key_password=KEY_PASSWORD,
    ) as pm:
        assert pm.request("GET", nginx_mtls.url).data == b"hello\n"
    with urllib3.PoolManager(ssl_context=trusting(backend, files)) as pm:
        assert pm.request("GET", nginx_mtls.url).status == 400  # "No required SSL certificate"


# -- proxies ----------------------------------------------------------------------------------
def test_http_proxy(
    backend: tls_adapter.Backend, proxies: Any, server: HTTPSTestServer, files: PKIFiles
) -> None:
    tiny, _ = proxies
    with urllib3.ProxyManager(tiny.url, ssl_context=trusting(backend, files)) as pm:
        r = pm.request("GET", server.url("/bytes/70000", host="localhost"))
        assert (r.status, len(r.data)) == (200, 70000)


def test_https_proxy_tls_in_tls(
    backend: tls_adapter.Backend,
    proxies: Any,
    server: HTTPSTestServer,
    files: PKIFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, tunnel = proxies
    bio_calls = counting(monkeypatch, "wrap_bio")
    with urllib3.ProxyManager(
        tunnel.url,
        ssl_context=trusting(backend, files),
        proxy_ssl_context=trusting(backend, files),
    ) as pm:
        r = pm.request("GET", server.url("/bytes/200000", host="localhost"))
        assert (r.status, len(r.data)) == (200, 200000)
        body = b"x" * 100000
        assert pm.request("POST", server.url("/echo", host="localhost"), body=body).data == body
    assert bio_calls, "the origin's TLS did not go through wrap_bio"


def test_https_proxy_with_untrusted_origin(
    backend: tls_adapter.Backend, proxies: Any, server: HTTPSTestServer, files: PKIFiles
) -> None:
    _, tunnel = proxies
    with (
        urllib3.ProxyManager(
            tunnel.url,
            ssl_context=SSLContext(backend=backend),
            proxy_ssl_context=trusting(backend, files),
            retries=False,
        ) as pm,
        pytest.raises(SSLError, match="certificate verify failed"),
    ):
        pm.request("GET", server.url("/", host="localhost"))


# -- injection -----------------------------------------------------------------------------------
def test_inject_and_extract(
    backend: tls_adapter.Backend,
    server: HTTPSTestServer,
    files: PKIFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import urllib3.util as urllib3_util

    before = (urllib3_util.SSLContext, urllib3_ssl.SSLContext)
    wraps = counting(monkeypatch, "wrap_socket")
    inject_into_urllib3(backend=backend)
    try:
        inject_into_urllib3(backend=backend)  # twice: still restores the originals
        ctx = urllib3_ssl.create_urllib3_context()
        assert isinstance(ctx, SSLContext)
        assert ctx.backend == backend
        assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
        with urllib3.PoolManager(ca_certs=files.ca) as pm:
            assert pm.request("GET", server.url("/", host="localhost")).status == 200
        assert wraps
    finally:
        extract_from_urllib3()
    assert (urllib3_util.SSLContext, urllib3_ssl.SSLContext) == before
    assert urllib3_ssl.SSLContext is ssl.SSLContext
    extract_from_urllib3()  # a second extract changes nothing
    assert urllib3_ssl.SSLContext is ssl.SSLContext


def test_inject_with_configuration(server: HTTPSTestServer, files: PKIFiles, pki: PKI) -> None:
    config = TLSConfiguration(trust_store=pki.trust, highest_supported_version=TLSVersion.TLSv1_2)
    inject_into_urllib3(configuration=config)
    try:
        with urllib3.PoolManager() as pm:
            pool = pm.connection_from_url(server.url("/", host="localhost"))
            conn: Any = pool._new_conn()
            conn.connect()
            assert conn.sock.version() == "TLSv1.2"
            conn.close()
    finally:
        extract_from_urllib3()


def test_import_tls_adapter_does_not_import_urllib3() -> None:
    import subprocess
    import sys

    code = "import sys, tls_adapter; assert 'urllib3' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the context ----------------------------------------------------------------------------------
def test_context_defaults_match_the_stdlib() -> None:
    ctx = SSLContext()
    reference = ssl.create_default_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and isinstance(ctx.verify_mode, ssl.VerifyMode)
    assert ctx.check_hostname is True
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert ctx.maximum_version == ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).maximum_version
    assert ctx.verify_flags == reference.verify_flags
    assert ctx.options == ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).options
    assert ctx.post_handshake_auth is False
    assert SSLContext.keylog_filename is None and hasattr(SSLContext, "keylog_filename")
    assert not hasattr(ctx, "sni_callback")
    assert ctx.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert ctx.backend == tls_adapter.default_backend()
    assert hash(ctx) == object.__hash__(ctx)  # identity: urllib3 keys pools on it
    assert ctx != SSLContext()


def test_verify_mode_and_check_hostname() -> None:
    ctx = SSLContext()
    ctx.verify_mode = ssl.CERT_NONE  # the stdlib raises ValueError here; we don't
    assert ctx.check_hostname is False
    assert ctx.configuration.validate_certificates is False
    ctx.check_hostname = True  # as in ssl: this turns verification back on
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.configuration.validate_certificates is True
    ctx.verify_mode = ssl.CERT_OPTIONAL
    assert ctx.verify_mode == ssl.CERT_OPTIONAL
    assert ctx.configuration.validate_certificates is True
    with pytest.raises(ValueError):
        ctx.verify_mode = 7


def test_protocol_argument_pins_versions() -> None:
    assert SSLContext(ssl.PROTOCOL_TLS_CLIENT).configuration == TLSConfiguration()
    assert SSLContext(protocol=ssl.PROTOCOL_TLS).configuration == TLSConfiguration()
    pinned = SSLContext(5)  # ssl.PROTOCOL_TLSv1_2, as urllib3 1.26 passes it
    assert pinned.minimum_version == pinned.maximum_version == ssl.TLSVersion.TLSv1_2
    config = pinned.configuration
    assert config.lowest_supported_version == config.highest_supported_version == TLSVersion.TLSv1_2
    with pytest.raises(ValueError):
        SSLContext(ssl.PROTOCOL_TLS_SERVER)


def test_options_narrow_versions() -> None:
    ctx = SSLContext()
    ctx.options |= ssl.OP_NO_TLSv1_3 | ssl.OP_NO_COMPRESSION | ssl.OP_NO_TICKET
    assert ctx.options & ssl.OP_NO_TICKET
    assert ctx.configuration.highest_supported_version == TLSVersion.TLSv1_2
    ctx.options &= ~ssl.OP_NO_TLSv1_3
    highest: TLSVersion = ctx.configuration.highest_supported_version
    assert highest is TLSVersion.MAXIMUM_SUPPORTED
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.options |= ssl.OP_NO_TLSv1_3
    with pytest.raises(ssl.SSLError, match="no protocols available"):
        ctx.configuration  # noqa: B018


def test_unchanged_mutations_rebuild_nothing(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    built: list[TLSConfiguration] = []
    base = backend.client_context

    class Counting(base):  # type: ignore[misc, valid-type]
        def __init__(self, configuration: TLSConfiguration) -> None:
            built.append(configuration)
            super().__init__(configuration)

    counted = dataclasses.replace(backend, client_context=Counting)
    ctx = SSLContext(backend=counted)
    for _ in range(3):  # what urllib3 does on every new connection
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(files.ca)
        ctx.set_alpn_protocols(["http/1.1"])
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            ctx.wrap_socket(raw, server_hostname="localhost").close()
    assert len(built) == 1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # a real change: one more context
    with connected(ctx, server.port) as tls:
        assert tls.version() == "TLSv1.2"
    assert len(built) == 2


def test_set_ciphers(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    ctx = trusting(backend, files)
    ctx.set_ciphers(URLLIB3_126_CIPHERS)
    suites = ctx.configuration.ciphers
    assert suites is not None
    assert tls_adapter.CipherSuite.TLS_AES_128_GCM_SHA256 in suites
    assert tls_adapter.CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 in suites
    names = [c["name"] for c in ctx.get_ciphers()]
    assert "ECDHE-RSA-AES128-GCM-SHA256" in names
    with pytest.raises(ssl.SSLError):
        ctx.set_ciphers("NO-SUCH-CIPHER")
    assert ctx.configuration.ciphers == suites
    with urllib3.PoolManager(ssl_context=ctx, retries=False) as pm:
        assert pm.request("GET", server.url("/", host="localhost")).status == 200
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE+AESGCM")
    with connected(ctx, server.port) as tls:
        assert "GCM" in tls.cipher()[0]


def test_verify_flags() -> None:
    ctx = SSLContext()
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    assert ctx.verify_flags & ssl.VERIFY_X509_STRICT
    ctx.verify_flags = ssl.VERIFY_CRL_CHECK_LEAF  # accepted, but no handshake without CRLs
    a, b = socket.socketpair()
    with a, b, pytest.raises(ssl.SSLError, match="CRL"):
        ctx.wrap_socket(a, server_hostname="localhost")


def test_trust_loading(
    backend: tls_adapter.Backend,
    server: HTTPSTestServer,
    pki: PKI,
    files: PKIFiles,
    other_ca: trustme.CA,
    tmp_path: Path,
) -> None:
    with pytest.raises(FileNotFoundError):
        SSLContext().load_verify_locations(str(tmp_path / "missing.pem"))
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing here\n")
    with pytest.raises(ssl.SSLError):
        SSLContext().load_verify_locations(str(empty))
    with pytest.raises(TypeError):
        SSLContext().load_verify_locations()
    der = ssl.PEM_cert_to_DER_cert(pki.ca.cert_pem.bytes().decode())
    other_der = ssl.PEM_cert_to_DER_cert(other_ca.cert_pem.bytes().decode())
    for cadata in (pki.ca.cert_pem.bytes().decode(), der, other_der + der):
        ctx = SSLContext(backend=backend)
        ctx.load_verify_locations(cadata=cadata)
        with urllib3.PoolManager(ssl_context=ctx) as pm:
            assert pm.request("GET", server.url("/", host="localhost")).status == 200
    ctx = SSLContext(backend=backend)
    ctx.load_verify_locations(cadata=other_der)
    ctx.load_verify_locations(files.ca)  # added to the first, as in ssl
    assert ctx.cert_store_stats() == {"x509": 2, "crl": 0, "x509_ca": 2}
    assert len(ctx.get_ca_certs()) == 2
    assert der in ctx.get_ca_certs(binary_form=True)
    with urllib3.PoolManager(ssl_context=ctx) as pm:
        assert pm.request("GET", server.url("/", host="localhost")).status == 200


def test_load_default_certs_keeps_the_configured_store(pki: PKI, files: PKIFiles) -> None:
    ctx = SSLContext(TLSConfiguration(trust_store=pki.trust))
    ctx.load_default_certs()  # the configured store *is* the default: nothing changes
    assert ctx.configuration.trust_store == pki.trust
    ctx.load_verify_locations(files.ca)
    assert ctx.configuration.trust_store == tls_adapter.TrustStore.from_pem_file(files.ca)


# -- the socket -----------------------------------------------------------------------------------
def test_socket_surface(
    backend: tls_adapter.Backend, server: HTTPSTestServer, pki: PKI, files: PKIFiles
) -> None:
    ctx = trusting(backend, files)
    reference = ssl.create_default_context(cafile=files.ca)
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
        reference.wrap_socket(raw, server_hostname="localhost") as stdlib_sock,
    ):
        expected = stdlib_sock.getpeercert()
    with connected(ctx, server.port) as tls:
        assert tls.getpeercert() == expected
        leaf = ssl.PEM_cert_to_DER_cert(pki.server.cert_chain_pems[0].bytes().decode())
        assert tls.getpeercert(binary_form=True) == leaf
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        name, version, bits = tls.cipher()
        assert isinstance(name, str) and version.startswith("TLSv") and bits >= 128
        assert tls.server_hostname == "localhost"
        assert tls.context is ctx
        assert tls.compression() is None and tls.shared_ciphers() is None
        assert isinstance(tls.pending(), int)
        assert tls.fileno() >= 0 and tls.gettimeout() == 5
        tls.settimeout(3)
        assert tls.gettimeout() == 3
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        reader = tls.makefile("rb")
        tls.close()  # deferred while the file object is open, as with ssl.SSLSocket
        data = reader.read()
        assert data.endswith(ROOT_BODY)
        reader.close()
        assert tls.fileno() == -1


def test_unverified_peercert(backend: tls_adapter.Backend, server: HTTPSTestServer) -> None:
    ctx = SSLContext(backend=backend)
    ctx.verify_mode = ssl.CERT_NONE
    with connected(ctx, server.port) as tls:
        assert tls.getpeercert() == {}
        assert tls.getpeercert(True)[:1] == b"\x30"


def test_read_timeout_raises_socket_timeout(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    with connected(trusting(backend, files), server.port) as tls:
        tls.sendall(b"GET /slow?seconds=1 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        tls.settimeout(0.2)
        with pytest.raises(socket.timeout):
            tls.recv(1024)
        tls.settimeout(5)
        assert tls.recv(1024).startswith(b"HTTP/1.1 200")
        tls.shutdown(socket.SHUT_RDWR)


class OneShotServer:
    """Serves one TLS connection: sends *payload*, then closes cleanly or abruptly."""

    def __init__(self, pki: PKI, clean: bool, payload: bytes = b"hello") -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        pki.server.configure_cert(self.context)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.clean = clean
        self.payload = payload
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        raw, _ = self.listener.accept()
        raw.settimeout(5)
        with contextlib.suppress(OSError), self.context.wrap_socket(raw, server_side=True) as tls:
            tls.sendall(self.payload)
            if self.clean:
                tls.unwrap().close()
            else:
                raw_fd = socket.socket(fileno=tls.detach())
                raw_fd.close()

    def close(self) -> None:
        self.thread.join(5)
        self.listener.close()


@pytest.mark.parametrize("suppress", [True, False])
def test_ragged_and_clean_eof(
    backend: tls_adapter.Backend, pki: PKI, files: PKIFiles, suppress: bool
) -> None:
    ctx = trusting(backend, files)
    for clean in (True, False):
        peer = OneShotServer(pki, clean=clean)
        try:
            raw = socket.create_connection(("127.0.0.1", peer.port), timeout=5)
            with ctx.wrap_socket(
                raw, server_hostname="localhost", suppress_ragged_eofs=suppress
            ) as tls:
                data = b""
                while len(data) < 5:
                    data += tls.recv(5 - len(data))
                assert data == b"hello"
                if clean or suppress:
                    assert tls.recv(10) == b""
                else:
                    with pytest.raises(ssl.SSLEOFError):
                        tls.recv(10)
        finally:
            peer.close()


def test_suppress_ragged_eofs_can_change_after_wrapping(
    backend: tls_adapter.Backend, pki: PKI, files: PKIFiles
) -> None:
    """As on an ssl.SSLSocket, the attribute is read when the EOF arrives."""
    ctx = trusting(backend, files)
    peer = OneShotServer(pki, clean=False)
    try:
        raw = socket.create_connection(("127.0.0.1", peer.port), timeout=5)
        with ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False) as tls:
            assert tls.suppress_ragged_eofs is False
            data = b""
            while len(data) < 5:
                data += tls.recv(5 - len(data))
            tls.suppress_ragged_eofs = True
            assert tls.suppress_ragged_eofs is True
            assert tls.recv(10) == b""
    finally:
        peer.close()


def test_wrap_bio_directly(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    from urllib3.util.ssltransport import SSLTransport

    ctx: Any = trusting(backend, files)  # SSLTransport is typed for ssl.SSLContext
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
        SSLTransport(raw, ctx, server_hostname="localhost") as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        peer: Any = tls.getpeercert()
        assert peer["subjectAltName"][0] == ("DNS", "localhost")
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := tls.recv(4096):
            data += bytes(chunk)
        assert data.endswith(ROOT_BODY)


def test_wrap_bio_want_read(backend: tls_adapter.Backend) -> None:
    obj = SSLContext(backend=backend).wrap_bio(
        ssl.MemoryBIO(), outgoing := ssl.MemoryBIO(), server_hostname="localhost"
    )
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    assert outgoing.pending > 0  # the ClientHello
    assert outgoing.read()[:1] == b"\x16"


def test_no_warnings_from_the_shim(backend: tls_adapter.Backend, server: HTTPSTestServer) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctx = SSLContext(backend=backend)
        ctx.verify_mode = ssl.CERT_NONE
        with connected(ctx, server.port) as tls:
            assert tls.version()
    assert [str(w.message) for w in caught] == []


# -- the pieces: DER decoding, name matching, version translation -------------------------
def _stdlib_decode(der: bytes, tmp_path: Path) -> dict[str, Any]:
    """What ssl itself returns for *der* (CPython's own decoder, through OpenSSL)."""
    decode = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    if decode is None:
        pytest.skip("this Python has no ssl._ssl._test_decode_cert")
    path = tmp_path / "cert.pem"
    path.write_text(ssl.DER_cert_to_PEM_cert(der))
    result: dict[str, Any] = decode(str(path))
    return result


def test_decode_certificate_matches_the_stdlib(tmp_path: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID, ObjectIdentifier

    from tls_adapter._x509 import decode_certificate

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1", "::1", "fe80::1:abcd", "*.example.org")
    for pem in (leaf.cert_chain_pems[0].bytes(), ca.cert_pem.bytes()):
        der = ssl.PEM_cert_to_DER_cert(pem.decode())
        assert decode_certificate(der) == _stdlib_decode(der, tmp_path)

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bücher & Co"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "a@b.example"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "org"),
            x509.NameAttribute(ObjectIdentifier("1.2.3.4.5"), "private"),
            x509.NameAttribute(NameOID.COMMON_NAME, "ü.example"),
        ]
    )
    sans = [
        x509.DNSName("a.example"),
        x509.RFC822Name("x@y.example"),
        x509.UniformResourceIdentifier("https://u.example/"),
        x509.IPAddress(ipaddress.ip_address("10.1.2.3")),
        x509.IPAddress(ipaddress.ip_address("2001:db8::ff00:42:8329")),
        x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dir")])),
        x509.RegisteredID(ObjectIdentifier("1.2.3.4")),
    ]
    access = [
        x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier("http://o.example/")
        ),
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS,
            x509.UniformResourceIdentifier("http://ca.example/ca.crt"),
        ),
    ]
    crl = x509.DistributionPoint(
        [x509.UniformResourceIdentifier("http://crl.example/1.crl")], None, None, None
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x00FF00FF)
        .not_valid_before(datetime.datetime(1999, 3, 4, 5, 6, 7))
        .not_valid_after(datetime.datetime(2051, 1, 2, 3, 4, 5))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.AuthorityInformationAccess(access), critical=False)
        .add_extension(x509.CRLDistributionPoints([crl]), critical=False)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    assert decode_certificate(der) == _stdlib_decode(der, tmp_path)
    with pytest.raises(ValueError):
        decode_certificate(der[:-10])
    with pytest.raises(ValueError):
        decode_certificate(b"\x30\x03\x02\x01")


def test_split_der_certificates(pki: PKI, other_ca: trustme.CA) -> None:
    from tls_adapter._x509 import is_ca_certificate, split_der_certificates

    one = ssl.PEM_cert_to_DER_cert(pki.ca.cert_pem.bytes().decode())
    two = ssl.PEM_cert_to_DER_cert(other_ca.cert_pem.bytes().decode())
    assert split_der_certificates(one + two) == [one, two]
    assert is_ca_certificate(one)
    leaf = ssl.PEM_cert_to_DER_cert(pki.server.cert_chain_pems[0].bytes().decode())
    assert not is_ca_certificate(leaf)
    with pytest.raises(ValueError):
        split_der_certificates(b"")


@pytest.mark.parametrize(
    ("patterns", "hostname", "allow_cn", "ok"),
    [
        ((("DNS", "*.example.org"),), "www.example.org", False, True),
        ((("DNS", "*.example.org"),), "a.b.example.org", False, False),
        ((("DNS", "*.example.org"),), "example.org", False, False),
        ((("DNS", "*.org"),), "example.org", False, False),
        ((("DNS", "w*.example.org"),), "www.example.org", False, False),
        ((("DNS", "EXAMPLE.org."),), "example.ORG", False, True),
        ((("IP Address", "0:0:0:0:0:0:0:1"),), "::1", False, True),
        ((("IP Address", "127.0.0.1"),), "[::1]", False, False),
        ((("DNS", "127.0.0.1"),), "127.0.0.1", False, False),
        ((("IP Address", "10.0.0.1"),), "localhost", True, True),  # CN: no DNS SAN
        ((("DNS", "other.example"),), "localhost", True, False),  # a DNS SAN: no CN
        ((("IP Address", "10.0.0.1"),), "localhost", False, False),
    ],
)
def test_match_hostname(
    patterns: tuple[tuple[str, str], ...], hostname: str, allow_cn: bool, ok: bool
) -> None:
    from tls_adapter._shim_config import match_hostname

    cert = {"subject": ((("commonName", "localhost"),),), "subjectAltName": patterns}
    assert (match_hostname(cert, hostname, allow_cn) is None) is ok


def test_version_holes_follow_openssl() -> None:
    from tls_adapter._shim_config import effective_versions

    everything = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.MAXIMUM_SUPPORTED)
    # OpenSSL uses the lowest run of enabled versions.
    assert effective_versions(*everything, ssl.OP_NO_TLSv1_2) == (
        TLSVersion.TLSv1,
        TLSVersion.TLSv1_1,
    )
    assert effective_versions(*everything, ssl.OP_NO_TLSv1 | ssl.OP_NO_TLSv1_1) == (
        TLSVersion.TLSv1_2,
        TLSVersion.MAXIMUM_SUPPORTED,
    )
    with pytest.raises(ssl.SSLError):
        effective_versions(ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3, ssl.OP_NO_TLSv1_3)
