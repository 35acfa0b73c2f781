"""Shared fixtures: a run-time CA, certificates, backends, and peers to talk to.

Certificates are made fresh for every test session by ``trustme``; no key is ever
committed. Every backend that is available here is a parameter of the ``backend``
fixtures; a backend that is not available is reported (with the reason) in the test
session header instead of being faked.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Generator, Iterator

import pytest
import trustme

import tls_adapter
from tls_adapter.backends import backend_status

from .peers import PKI, make_pki

_TRUST_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    for status in backend_status():
        if status.available:
            assert status.backend is not None
            lines.append(f"backend {status.name}: {status.backend.capabilities.library}")
        else:
            lines.append(f"backend {status.name}: UNAVAILABLE - {status.reason}")
    return lines


@pytest.fixture(autouse=True)
def _clean_trust_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine exports CA-bundle variables; tests that want them set them."""
    for name in _TRUST_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def pki() -> PKI:
    """A CA, a server certificate for localhost/127.0.0.1/::1 and a client certificate."""
    return make_pki()


@pytest.fixture(scope="session")
def other_ca() -> trustme.CA:
    """A CA nobody trusts."""
    return trustme.CA()


def _available() -> list[str]:
    # TLS_ADAPTER_TEST_BACKENDS=openssl,rustls runs the suite for those backends only.
    wanted = os.environ.get("TLS_ADAPTER_TEST_BACKENDS")
    names = list(tls_adapter.available_backends())
    if wanted:
        names = [n for n in names if n in {w.strip() for w in wanted.split(",")}]
    return names


def _server_capable() -> list[str]:
    out = []
    for name in _available():
        if tls_adapter.get_backend(name).server_context is not None:
            out.append(name)
    return out


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``backend``/``client_backend``/``server_backend`` run over every available backend."""
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", _available(), indirect=True)
    if "client_backend" in metafunc.fixturenames:
        metafunc.parametrize("client_backend", _available(), indirect=True)
    if "server_backend" in metafunc.fixturenames:
        metafunc.parametrize("server_backend", _server_capable(), indirect=True)
    if "tls_version" in metafunc.fixturenames:
        metafunc.parametrize(
            "tls_version",
            [tls_adapter.TLSVersion.TLSv1_2, tls_adapter.TLSVersion.TLSv1_3],
            ids=["tls1.2", "tls1.3"],
        )


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> tls_adapter.Backend:
    """Each available backend in turn."""
    return tls_adapter.get_backend(request.param)


@pytest.fixture
def client_backend(request: pytest.FixtureRequest) -> tls_adapter.Backend:
    """Each available backend in turn, as the client."""
    return tls_adapter.get_backend(request.param)


@pytest.fixture
def server_backend(request: pytest.FixtureRequest) -> tls_adapter.Backend:
    """Each available backend with a server side, as the server."""
    return tls_adapter.get_backend(request.param)


@pytest.fixture
def tls_version(request: pytest.FixtureRequest) -> tls_adapter.TLSVersion:
    """TLS 1.2 and TLS 1.3."""
    version: tls_adapter.TLSVersion = request.param
    return version


@pytest.fixture
def tmp_cwd(tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test in an empty temporary directory."""
    monkeypatch.chdir(tmp_path)
    yield os.fspath(tmp_path)


@pytest.fixture(scope="session")
def now() -> datetime.datetime:
    """The time the session started (UTC)."""
    return datetime.datetime.now(datetime.timezone.utc)


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers the conformance suite uses (harmless if pyproject does too)."""
    config.addinivalue_line(
        "markers",
        "network_tools: interop with third-party TLS command-line tools (openssl, gnutls-cli)",
    )


@pytest.fixture(params=["native", "pump"])
def socket_flavour(request: pytest.FixtureRequest) -> str:
    """The backend's own ``wrap_socket`` ("native") and the generic buffer pump ("pump")."""
    flavour: str = request.param
    return flavour


# -- the measured interop matrix --------------------------------------------------------
_MATRIX_TESTS = {
    "test_handshake_and_data": "buffers",
    "test_socket_handshake_and_echo": "sockets",
}
_matrix: dict[tuple[str, str, str, str], str] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Record client x server x version outcomes of the basic handshake tests."""
    report = yield
    mode = _MATRIX_TESTS.get(getattr(item, "originalname", ""))
    callspec = getattr(item, "callspec", None)
    if mode and callspec is not None and (report.when == "call" or report.outcome != "passed"):
        params = callspec.params
        key = (
            str(params["client_backend"]),
            str(params["server_backend"]),
            params["tls_version"].value,
            mode + (f" ({params['socket_flavour']})" if "socket_flavour" in params else ""),
        )
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
            _matrix[key] = f"n/a: {reason}".replace("Skipped: ", "")
        elif report.failed:
            _matrix[key] = "FAILED"
        elif report.when == "call":
            _matrix[key] = "ok"
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the interop matrix as Markdown when ``TLS_ADAPTER_INTEROP_REPORT`` names a file."""
    target = os.environ.get("TLS_ADAPTER_INTEROP_REPORT")
    if not target or not _matrix:
        return
    lines = [
        "| client backend | server backend | TLS | mode | result |",
        "|---|---|---|---|---|",
    ]
    for (client, server, version, mode), result in sorted(_matrix.items()):
        lines.append(f"| {client} | {server} | {version} | {mode} | {result} |")
    ok = sum(1 for r in _matrix.values() if r == "ok")
    header = (
        "Measured by the conformance suite (`tests/test_conformance_buffers.py::"
        "test_handshake_and_data`, `tests/test_conformance_sockets.py::"
        f"test_socket_handshake_and_echo`): {ok} of {len(_matrix)} combinations "
        "completed a verified handshake and exchanged data; the others say why not.\n\n"
    )
    with open(target, "w", encoding="utf-8") as f:
        f.write(header + "\n".join(lines) + "\n")
