"""``tls_adapter.requests.TLSAdapter`` with real ``requests.Session`` objects.

Every test runs for every available backend, against real loopback HTTPS servers
(Python's ``http.server`` over stdlib ``ssl``, and nginx where installed). The isolation
tests each use ONE session and would fail if anything one request set leaked into the
next: a CA bundle, a client certificate, or an unverified connection.
"""

from __future__ import annotations

import pickle
import shutil
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme
from requests.exceptions import SSLError
from urllib3.exceptions import InsecureRequestWarning

import tls_adapter
from tls_adapter import PrivateKey, SecurityWarning, TLSConfiguration, TrustStore
from tls_adapter.requests import TLSAdapter

from . import http_servers
from .http_servers import ROOT_BODY, HTTPSTestServer, PKIFiles
from .peers import PKI, chain_of, make_pki

# -- files and servers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, pki: PKI) -> PKIFiles:
    """The test PKI as PEM files."""
    return http_servers.write_pki_files(pki, tmp_path_factory.mktemp("requests-pki"))


@pytest.fixture(scope="module")
def other_ca_file(tmp_path_factory: pytest.TempPathFactory, other_ca: trustme.CA) -> str:
    """A CA nobody trusts, as a PEM file."""
    path = tmp_path_factory.mktemp("other-ca") / "other-ca.pem"
    other_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def server(pki: PKI) -> Iterator[HTTPSTestServer]:
    """A Python HTTPS server with a certificate from the test CA."""
    with HTTPSTestServer(pki) as srv:
        yield srv


@pytest.fixture(scope="module")
def untrusted_server() -> Iterator[HTTPSTestServer]:
    """A Python HTTPS server whose certificate chains to a CA nobody trusts."""
    with HTTPSTestServer(make_pki()) as srv:
        yield srv


@pytest.fixture(scope="module")
def mtls_server(pki: PKI) -> Iterator[HTTPSTestServer]:
    """A Python HTTPS server that requires a client certificate from the test CA."""
    with HTTPSTestServer(pki, require_client_cert=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def nginx(
    files: PKIFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[http_servers.NginxServer]:
    """nginx serving HTTPS with a certificate from the test CA (skipped if not installed)."""
    with http_servers.NginxServer(tmp_path_factory.mktemp("nginx"), files) as srv:
        yield srv


def session_for(adapter: TLSAdapter) -> requests.Session:
    """A session with *adapter* on https:// and no environment (proxies, CA bundles)."""
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", adapter)
    return session


def trusting(pki: PKI, backend: tls_adapter.Backend, **kwargs: Any) -> TLSAdapter:
    """An adapter trusting exactly the test CA."""
    return TLSAdapter(TLSConfiguration(trust_store=pki.trust), backend=backend, **kwargs)


def needs_client_certificates(backend: tls_adapter.Backend) -> None:
    """Skip unless *backend* can present a client certificate."""
    if not backend.capabilities.client_certificates:
        pytest.skip(f"{backend.name} cannot present client certificates")


# -- basic requests ----------------------------------------------------------------------


def test_verified_get(backend: tls_adapter.Backend, pki: PKI, server: HTTPSTestServer) -> None:
    with session_for(trusting(pki, backend)) as session:
        response = session.get(server.url("/", host="localhost"))
        by_address = session.get(server.url("/bytes/5000"))
    assert response.status_code == 200
    assert response.content == ROOT_BODY
    assert len(by_address.content) == 5000


def test_verified_get_from_nginx(
    backend: tls_adapter.Backend, pki: PKI, nginx: http_servers.NginxServer
) -> None:
    with session_for(trusting(pki, backend)) as session:
        response = session.get(nginx.url)
        again = session.get(nginx.url)  # on the kept-alive connection
    assert response.status_code == 200
    assert response.text == again.text == "hello\n"


def test_untrusted_ca_is_an_ssl_error_with_the_reason(
    backend: tls_adapter.Backend, pki: PKI, untrusted_server: HTTPSTestServer
) -> None:
    with session_for(trusting(pki, backend)) as session, pytest.raises(SSLError) as info:
        session.get(untrusted_server.url("/", host="localhost"))
    assert "certificate verify failed" in str(info.value)


def test_untrusted_nginx_is_an_ssl_error(
    backend: tls_adapter.Backend, other_ca: trustme.CA, nginx: http_servers.NginxServer
) -> None:
    adapter = TLSAdapter(
        TLSConfiguration(trust_store=TrustStore.from_buffer(other_ca.cert_pem.bytes())),
        backend=backend,
    )
    with session_for(adapter) as session, pytest.raises(SSLError, match="certificate verify"):
        session.get(nginx.url)


def test_hostname_mismatch_is_an_ssl_error(backend: tls_adapter.Backend, pki: PKI) -> None:
    wrong_name = PKI(
        ca=pki.ca, server=pki.ca.issue_cert("not-this-host.example"), client=pki.client
    )
    with (
        HTTPSTestServer(wrong_name) as srv,
        session_for(trusting(pki, backend)) as session,
    ):
        # urllib3 2.x lets the backend check the name; 1.26 checks it itself.
        for host in ("localhost", "127.0.0.1"):
            with pytest.raises(SSLError, match=r"certificate verify failed|doesn't match"):
                session.get(srv.url("/", host=host))


def test_mounted_on_a_host_prefix_only(
    backend: tls_adapter.Backend, pki: PKI, server: HTTPSTestServer
) -> None:
    session = requests.Session()
    session.trust_env = False
    session.mount(server.url("/"), trusting(pki, backend))
    with session:
        assert session.get(server.url("/")).status_code == 200
        assert isinstance(session.get_adapter(server.url("/x")), TLSAdapter)
        assert not isinstance(session.get_adapter("https://example.org/"), TLSAdapter)


def test_default_configuration_is_the_system_store() -> None:
    adapter = TLSAdapter()
    assert adapter.configuration == TLSConfiguration()
    assert adapter.configuration_for(True) is adapter.configuration
    assert adapter.context_for().configuration.trust_store is None
    assert adapter.backend is tls_adapter.default_backend()
    assert "openssl" in repr(adapter)


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="TLSConfiguration"):
        TLSAdapter("not a configuration")  # type: ignore[arg-type]
    with pytest.raises(tls_adapter.ConfigurationError, match="unknown TLS backend"):
        TLSAdapter(backend="no-such-backend")


# -- per-request verify / cert, and isolation ------------------------------------------


def test_verify_false_then_true_on_one_session(
    backend: tls_adapter.Backend, pki: PKI, untrusted_server: HTTPSTestServer
) -> None:
    url = untrusted_server.url("/", host="localhost")
    with session_for(trusting(pki, backend)) as session:
        with pytest.warns(InsecureRequestWarning) as record:
            assert session.get(url, verify=False).content == ROOT_BODY
        assert not [w for w in record if issubclass(w.category, SecurityWarning)]
        # The unverified connection is kept alive in its pool; verify=True must not use it.
        with pytest.raises(SSLError, match="certificate verify failed"):
            session.get(url)
        with pytest.warns(InsecureRequestWarning):
            assert session.get(url, verify=False).status_code == 200
        with pytest.raises(SSLError, match="certificate verify failed"):
            session.get(url, verify=True)
    assert adapter_validates(session, url)


def adapter_validates(session: requests.Session, url: str) -> bool:
    """Whether the adapter's own context (``verify=True``) still validates certificates."""
    adapter = session.get_adapter(url)
    assert isinstance(adapter, TLSAdapter)
    context = adapter.context_for(True)
    return bool(context.configuration.validate_certificates and context.verify_mode)


def test_verify_path_then_true_on_one_session(
    backend: tls_adapter.Backend,
    other_ca: trustme.CA,
    files: PKIFiles,
    server: HTTPSTestServer,
) -> None:
    # The adapter trusts only the *other* CA; one request brings the right one.
    other = TrustStore.from_buffer(other_ca.cert_pem.bytes())
    adapter = TLSAdapter(TLSConfiguration(trust_store=other), backend=backend)
    url = server.url("/", host="localhost")
    with session_for(adapter) as session:
        assert session.get(url, verify=files.ca).status_code == 200
        with pytest.raises(SSLError, match="certificate verify failed"):
            session.get(url)
        assert session.get(url, verify=Path(files.ca)).status_code == 200  # type: ignore[arg-type]
        with pytest.raises(SSLError, match="certificate verify failed"):
            session.get(url, verify=True)
    assert adapter.context_for(True).configuration.trust_store == other


def test_verify_path_replaces_the_trust_store(
    backend: tls_adapter.Backend, pki: PKI, other_ca_file: str, server: HTTPSTestServer
) -> None:
    # requests' meaning: exactly that bundle. The adapter trusts the right CA, the
    # request names another one, so the request fails.
    with session_for(trusting(pki, backend)) as session:
        with pytest.raises(SSLError, match="certificate verify failed"):
            session.get(server.url("/"), verify=other_ca_file)
        assert session.get(server.url("/")).status_code == 200


def test_verify_directory(
    backend: tls_adapter.Backend, files: PKIFiles, tmp_path: Path, server: HTTPSTestServer
) -> None:
    openssl = http_servers.require_tool("openssl")
    directory = tmp_path / "hashed"
    directory.mkdir()
    shutil.copy(files.ca, directory / "ca.pem")
    subprocess.run([openssl, "rehash", str(directory)], check=True, capture_output=True)
    adapter = TLSAdapter(backend=backend)  # the system store: does not know the test CA
    with session_for(adapter) as session:
        assert session.get(server.url("/"), verify=str(directory)).status_code == 200
        with pytest.raises(SSLError, match="certificate verify failed"):
            session.get(server.url("/"))
    store = adapter.configuration_for(str(directory)).trust_store
    assert store is not None and store.kind == "directory"


def test_cert_then_no_cert_on_one_session(
    backend: tls_adapter.Backend, pki: PKI, files: PKIFiles, mtls_server: HTTPSTestServer
) -> None:
    needs_client_certificates(backend)
    url = mtls_server.url("/client-cert")
    with session_for(trusting(pki, backend)) as session:
        assert session.get(url, cert=files.client_combined).json() == ["client"]
        # The server rejects the handshake (TLS 1.3: after it, on the first read), so
        # this is an SSLError or a ConnectionError, never a response.
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(url)
        assert session.get(url, cert=(files.client_chain, files.client_key)).json() == ["client"]
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(url, cert=None)
    assert adapter_validates(session, url)


def test_client_certificate_from_the_configuration(
    backend: tls_adapter.Backend, pki: PKI, files: PKIFiles, mtls_server: HTTPSTestServer
) -> None:
    needs_client_certificates(backend)
    key = PrivateKey.from_file(files.client_key_encrypted, http_servers.KEY_PASSWORD)
    chain = (tls_adapter.Certificate.chain_from_file(files.client_chain), key)
    config = TLSConfiguration(trust_store=pki.trust, certificate_chain=chain)
    with session_for(TLSAdapter(config, backend=backend)) as session:
        assert session.get(mtls_server.url("/client-cert")).json() == ["client"]


def test_requests_ca_bundle_arrives_as_verify_path(
    backend: tls_adapter.Backend,
    monkeypatch: pytest.MonkeyPatch,
    files: PKIFiles,
    server: HTTPSTestServer,
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    session = requests.Session()  # trust_env on, as by default
    session.mount("https://", TLSAdapter(backend=backend))  # the system store
    with session:
        with pytest.raises(SSLError, match="certificate verify failed"):
            session.get(server.url("/"))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", files.ca)
        assert session.get(server.url("/")).status_code == 200
        assert session.get(server.url("/"), verify=True).status_code == 200  # requests #3829
        session.trust_env = False  # the adapter's configuration wins again
        with pytest.raises(SSLError, match="certificate verify failed"):
            session.get(server.url("/"))


def test_nothing_is_loaded_into_the_adapters_context(
    backend: tls_adapter.Backend,
    pki: PKI,
    files: PKIFiles,
    other_ca_file: str,
    server: HTTPSTestServer,
    mtls_server: HTTPSTestServer,
) -> None:
    """certifi (requests >= 2.32.5 puts it on the pool), CA files and client certs stay out."""
    adapter = trusting(pki, backend)
    url = server.url("/")
    with session_for(adapter) as session:
        session.get(url)
        with pytest.raises(SSLError):
            session.get(url, verify=other_ca_file)
        if backend.capabilities.client_certificates:
            session.get(mtls_server.url("/"), cert=files.client_combined)
        session.get(url, verify=files.ca)
        session.get(url)
        prepared = requests.Request("GET", url).prepare()
        pool = adapter.get_connection_with_tls_context(prepared, True)
    context = pool.conn_kw["ssl_context"]
    assert context is adapter.context_for(True)
    # What the context will use for its next connection: exactly the adapter's CA.
    assert context.configuration.trust_store == pki.trust
    assert context.configuration.certificate_chain is None
    assert context.configuration.validate_certificates
    ca_der = tls_adapter.Certificate.from_buffer(pki.ca.cert_pem.bytes()).to_der()
    assert context.get_ca_certs(binary_form=True) == [ca_der]
    for name in ("ca_certs", "ca_cert_dir", "cert_file", "key_file"):
        assert getattr(pool, name, None) is None, name
    # Each (verify, cert) pair has its own context, hence its own pools.
    assert adapter.context_for(False) is not context
    assert adapter.context_for(files.ca) is not context
    assert adapter.context_for(files.ca) is adapter.context_for(files.ca)


def test_missing_files_raise_requests_oserror(
    backend: tls_adapter.Backend, pki: PKI, files: PKIFiles, server: HTTPSTestServer
) -> None:
    missing = files.ca + ".missing"
    with session_for(trusting(pki, backend)) as session:
        with pytest.raises(
            OSError, match=r"^Could not find a suitable TLS CA certificate bundle, invalid path: "
        ) as info:
            session.get(server.url("/"), verify=missing)
        assert str(info.value).endswith(missing)
        with pytest.raises(
            OSError, match=r"^Could not find the TLS certificate file, invalid path"
        ):
            session.get(server.url("/"), cert=missing)
        with pytest.raises(OSError, match=r"^Could not find the TLS key file, invalid path"):
            session.get(server.url("/"), cert=(files.client_chain, missing))
        with pytest.raises(OSError, match="invalid path"):
            session.get(server.url("/"), verify="")
        with pytest.raises(TypeError, match="pair of paths"):
            session.get(server.url("/"), cert=(files.client_chain, files.client_key, "x"))  # type: ignore[arg-type]
        # Nothing was cached or broken by the failures.
        assert session.get(server.url("/")).status_code == 200


def test_a_file_that_is_not_pem_is_an_ssl_error(
    backend: tls_adapter.Backend, pki: PKI, tmp_path: Path, server: HTTPSTestServer
) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with session_for(trusting(pki, backend)) as session, pytest.raises(SSLError, match="junk"):
        session.get(server.url("/"), verify=str(junk))


# -- pickling ----------------------------------------------------------------------------


def test_pickle_round_trip_then_request(
    backend: tls_adapter.Backend,
    files: PKIFiles,
    other_ca_file: str,
    mtls_server: HTTPSTestServer,
) -> None:
    needs_client_certificates(backend)
    config = TLSConfiguration(
        trust_store=TrustStore.from_pem_file(files.ca),
        certificate_chain=(
            tls_adapter.Certificate.chain_from_file(files.client_chain),
            PrivateKey.from_file(files.client_key),
        ),
    )
    adapter = TLSAdapter(config, backend=backend, pool_maxsize=3, max_retries=2)
    url = mtls_server.url("/client-cert")
    with session_for(adapter) as session:
        assert session.get(url).json() == ["client"]
    clone = pickle.loads(pickle.dumps(adapter))
    assert isinstance(clone, TLSAdapter)
    assert clone.configuration == config
    assert clone.backend.name == backend.name
    assert clone._pool_maxsize == 3
    assert clone.max_retries.total == 2
    with session_for(clone) as session:
        assert session.get(url).json() == ["client"]
        with pytest.raises(SSLError):
            session.get(url, verify=other_ca_file)
    whole_session = pickle.loads(pickle.dumps(session_for(adapter)))
    with whole_session:
        assert whole_session.get(url).json() == ["client"]


def _module_level_password() -> bytes:
    return b"secret"


def test_pickling_a_callable_password(pki: PKI) -> None:
    certs, key = chain_of(pki.client)
    pem = key.to_pem()
    lam = TLSConfiguration(certificate_chain=(certs, PrivateKey.from_buffer(pem, lambda: b"x")))
    with pytest.raises(TypeError, match="password callable, which cannot be pickled"):
        pickle.dumps(TLSAdapter(lam))
    fine = TLSConfiguration(
        certificate_chain=(certs, PrivateKey.from_buffer(pem, _module_level_password))
    )
    assert pickle.loads(pickle.dumps(TLSAdapter(fine))).configuration == fine


# -- threads -----------------------------------------------------------------------------


def test_one_session_from_eight_threads(
    backend: tls_adapter.Backend, pki: PKI, files: PKIFiles, server: HTTPSTestServer
) -> None:
    adapter = trusting(pki, backend, pool_maxsize=8)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> int:
        ok = 0
        for i in range(20):
            try:
                # Mix two (verify, cert) pairs so contexts are also built concurrently.
                verify: bool | str = files.ca if (n + i) % 3 == 0 else True
                size = 100 + n * 20 + i
                response = session.get(server.url(f"/bytes/{size}"), verify=verify)
                ok += len(response.content) == size
            except Exception as e:
                with lock:
                    errors.append(e)
        return ok

    with session_for(adapter) as session, ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(worker, range(8)))
    assert not errors, errors[:3]
    assert counts == [20] * 8


# -- proxies -----------------------------------------------------------------------------


def test_through_an_http_proxy(
    backend: tls_adapter.Backend, pki: PKI, tmp_path: Path, server: HTTPSTestServer
) -> None:
    with (
        http_servers.TinyProxy(tmp_path / "tinyproxy") as proxy,
        session_for(trusting(pki, backend)) as session,
    ):
        response = session.get(server.url("/bytes/10"), proxies={"https": proxy.url})
    assert response.content == b"abcdefghij"


def test_https_through_an_https_proxy(
    backend: tls_adapter.Backend,
    pki: PKI,
    files: PKIFiles,
    other_ca_file: str,
    tmp_path: Path,
    server: HTTPSTestServer,
) -> None:
    with (
        http_servers.https_proxy(tmp_path, files) as (_, tunnel),
        session_for(trusting(pki, backend)) as session,
    ):
        proxies = {"https": tunnel.url}
        response = session.get(server.url("/bytes/7"), proxies=proxies)
        assert response.content == b"abcdefg"
        # verify=<path> applies to the proxy leg too: trusting only another CA fails there
        # (requests reports it as ProxyError with urllib3 2.x, SSLError with 1.26).
        with pytest.raises(requests.exceptions.ConnectionError, match="certificate verify failed"):
            session.get(server.url("/"), proxies=proxies, verify=other_ca_file)
        # verify=False turns off validation of both legs, without touching the contexts
        # verified requests use for the proxy.
        with pytest.warns(InsecureRequestWarning):
            assert session.get(server.url("/"), proxies=proxies, verify=False).ok
        assert session.get(server.url("/"), proxies=proxies).content == ROOT_BODY
    assert adapter_validates(session, server.url("/"))


def test_http_through_an_https_proxy(
    backend: tls_adapter.Backend,
    pki: PKI,
    files: PKIFiles,
    other_ca_file: str,
    tmp_path: Path,
) -> None:
    # A plain http:// URL forwarded by an HTTPS proxy: the only TLS is the proxy's, and
    # it follows the request's verify like any other.
    # tinyproxy closes each client connection after one request without saying so, and
    # stunnel's close_notify then sits in a pump backend's buffer where urllib3's
    # stale-connection check cannot see it: allow urllib3 one retry on a new connection.
    adapter = trusting(pki, backend, max_retries=1)
    session = session_for(adapter)
    session.mount("http://", adapter)
    with (
        HTTPSTestServer(pki, tls=False) as plain,
        http_servers.https_proxy(tmp_path, files) as (_, tunnel),
        session,
    ):
        proxies = {"http": tunnel.url}
        assert session.get(plain.url("/bytes/5"), proxies=proxies).content == b"abcde"
        with pytest.raises(requests.exceptions.ConnectionError, match="certificate verify failed"):
            session.get(plain.url("/"), proxies=proxies, verify=other_ca_file)
        assert session.get(plain.url("/bytes/3"), proxies=proxies).content == b"abc"
