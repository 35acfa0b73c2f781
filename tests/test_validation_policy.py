"""The validation policy, end to end: misissued and weak chains through requests and urllib3.

Every backend must reach the same verdict on every chain of :data:`tests.misissued.CASES`
(chain to a configured anchor; dates; subjectAltName only; EKU serverAuth; basic
constraints and pathLen; keyUsage; name constraints; RSA >= 2048, EC >= P-256; no MD5 or
SHA-1; no unknown critical extension; nothing remembered between connections). The
``ok_*`` cases are positive controls, so a backend cannot pass by rejecting everything.
Where a library cannot reach the policy's verdict its way, the backend declares the gap
in its ``capabilities.notes`` and :data:`GAPS` pins what it does instead; every gap
fails closed (the chain is refused, with an error that says why).

The server is one nobody here wrote: the stdlib :mod:`ssl` module (TLS 1.2 and 1.3,
``@SECLEVEL=0`` so that weak keys and SHA-1/MD5 certificates still load), one per case,
shared by every backend and both clients.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme
import urllib3
import urllib3.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import tls_adapter
import tls_adapter.urllib3
from tls_adapter import TLSVersion
from tls_adapter.requests import TLSAdapter

from . import misissued
from .http_servers import ROOT_BODY, HTTPSTestServer
from .misissued import Case
from .peers import PKI

CLIENTS = ["requests", "urllib3"]
VERIFY_FAILED = "certificate verify failed"
# A P-192 leaf may be refused before validation: TLS 1.3 has no signature scheme for it,
# and in TLS 1.2 only a client offering the curve gets that far.
HANDSHAKE_FAILED = (
    VERIFY_FAILED + r"|handshake failure|no shared cipher|no suitable|illegal parameter"
    r"|insufficient security|protocol version|unexpected eof|EOF occurred|alert"
)


@dataclass(frozen=True)
class Gap:
    """A library gap a backend declares, that makes it reach its verdict differently.

    Every gap fails closed: the chain is still refused and no request reaches the
    server; only the error differs from the policy's. *error* is what the error must
    say instead; *note* must match one of the backend's ``capabilities.notes`` (the
    declaration).
    """

    error: str
    note: str


_MBEDTLS_NO_NAME_CONSTRAINTS = Gap(
    VERIFY_FAILED + r": Mbed TLS 2\.28 cannot parse the peer's certificate "
    r"'CN=ok_nc_permitted_\w+ intermediate CA 1': it does not implement the critical "
    r"extension X509v3 Name Constraints",
    r"no name constraints: Mbed TLS 2\.28 cannot parse the nameConstraints extension",
)
_BORINGSSL_OPAQUE_KEY_USAGE = Gap(
    r"BoringSSL aborted the handshake while processing the peer's encrypted handshake "
    r"messages, before verifying its certificate chain",
    r"before verification \(a leaf whose keyUsage lacks digitalSignature",
)
#: (backend, case) -> the declared gap that decides that row of the matrix.
GAPS: dict[tuple[str, str], Gap] = {
    # Positive controls the library refuses (it cannot check these name constraints).
    ("boringssl", "ok_nc_permitted_ip"): Gap(
        VERIFY_FAILED + r": unsupported name constraint type \(X509_V_ERR 51\)",
        r"this BoringSSL build cannot check iPAddress or otherName constraints",
    ),
    ("mbedtls", "ok_nc_permitted_dns"): _MBEDTLS_NO_NAME_CONSTRAINTS,
    ("mbedtls", "ok_nc_permitted_ip"): _MBEDTLS_NO_NAME_CONSTRAINTS,
    # An anchor the library cannot parse is skipped; this store holds nothing else, so
    # the context cannot be built (ConfigurationError). test_unparseable_anchor_is_skipped
    # checks the same chain against a store that also holds a usable anchor.
    ("mbedtls", "root_unknown_critical_extension"): Gap(
        r"the mbedtls backend found no usable CA certificate in .*: it does not "
        r"implement the critical extension 1\.3\.6\.1\.4\.1\.55555\.543\.1",
        r"trust anchors Mbed TLS cannot parse .* are skipped",
    ),
    ("wolfssl", "root_unknown_critical_extension"): Gap(
        r"the wolfssl backend found no usable CA certificate in .*X\.509 Critical "
        r"extension ignored or invalid",
        r"trust anchors wolfSSL cannot parse .* are skipped",
    ),
    # BoringSSL refuses this leaf inside the encrypted TLS 1.3 flight, before verifying,
    # and utls drops the reason: a TLSError that says where it stopped, not a
    # certificate error (it cannot be told from a protocol failure there).
    ("boringssl", "leaf_ku_cert_sign_only"): _BORINGSSL_OPAQUE_KEY_USAGE,
    ("boringssl", "leaf_rsa_ku_cert_sign_only"): _BORINGSSL_OPAQUE_KEY_USAGE,
}


# -- servers --------------------------------------------------------------------------------
class _ServedChain(trustme.LeafCert):
    """A chain and key from :mod:`tests.misissued`, in the shape ``HTTPSTestServer`` takes
    (``cert=``), loaded at ``@SECLEVEL=0``."""

    def __init__(self, chain_pem: bytes, key_pem: bytes) -> None:
        pems = [
            c.public_bytes(serialization.Encoding.PEM)
            for c in x509.load_pem_x509_certificates(chain_pem)
        ]
        super().__init__(key_pem, pems[0], pems[1:])

    def configure_cert(self, ctx: Any) -> None:
        if isinstance(ctx, ssl.SSLContext):
            # Before loading: at the default security level OpenSSL refuses to load a
            # 1024-bit RSA key or a SHA-1/MD5 signed certificate.
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.maximum_version = ssl.TLSVersion.TLSv1_3
        super().configure_cert(ctx)


class Servers:
    """One running stdlib HTTPS server per (case, presented chain), started on first use."""

    def __init__(self, pki: PKI, directory: Path) -> None:
        self._pki = pki
        self._directory = directory
        self._running: dict[tuple[str, bool], HTTPSTestServer] = {}

    def server(self, case: Case, *, full_chain: bool = False) -> HTTPSTestServer:
        """The server presenting *case*'s chain (its full chain with *full_chain*)."""
        key = (case.name, full_chain)
        if key not in self._running:
            served = _ServedChain(
                case.full_chain_pem if full_chain else case.chain_pem, case.key_pem
            )
            server = HTTPSTestServer(self._pki, cert=served)
            server.__enter__()
            self._running[key] = server
        return self._running[key]

    def anchors(self, case: Case) -> str:
        """The path of a PEM file holding *case*'s trust anchor(s)."""
        path = self._directory / f"{case.name}-anchors.pem"
        if not path.exists():
            path.write_bytes(case.anchors_pem)
        return str(path)

    def close(self) -> None:
        for server in self._running.values():
            server.__exit__(None, None, None)
        self._running.clear()


@pytest.fixture(scope="module")
def servers(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The per-case servers, stopped at the end of the module."""
    registry = Servers(pki, tmp_path_factory.mktemp("misissued"))
    try:
        yield registry
    finally:
        registry.close()


# -- clients --------------------------------------------------------------------------------
def requests_session(backend: tls_adapter.Backend) -> requests.Session:
    """A session with ``TLSAdapter(backend=...)`` on https:// and no environment."""
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", TLSAdapter(backend=backend))
    return session


def pool_manager(backend: tls_adapter.Backend, cafile: str) -> urllib3.PoolManager:
    """A PoolManager over the backend's shim context, trusting *cafile*, no retries."""
    return urllib3.PoolManager(
        ssl_context=tls_adapter.urllib3.SSLContext(backend=backend),
        ca_certs=cafile,
        retries=False,
        timeout=urllib3.Timeout(10),
    )


def url_of(server: HTTPSTestServer, case: Case) -> str:
    return server.url("/", host=case.host)


def get(client: str, backend: tls_adapter.Backend, url: str, cafile: str) -> bytes:
    """``GET url`` with *client* over *backend*, trusting *cafile* only; the body."""
    if client == "requests":
        with requests_session(backend) as session:
            response = session.get(url, verify=cafile, timeout=10)
            assert response.status_code == 200
            return response.content
    with pool_manager(backend, cafile) as pm:
        r = pm.request("GET", url)
        assert r.status == 200
        return r.data


def rejection(client: str) -> type[Exception]:
    """What a refused certificate surfaces as, through *client*."""
    if client == "requests":
        return requests.exceptions.SSLError
    return urllib3.exceptions.SSLError


# -- the matrix -------------------------------------------------------------------------------
@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("case_name", list(misissued.CASES))
def test_policy(
    backend: tls_adapter.Backend, case_name: str, client: str, servers: Servers
) -> None:
    case = misissued.case(case_name)
    server = servers.server(case)
    url, cafile = url_of(server, case), servers.anchors(case)
    gap = GAPS.get((backend.name, case_name))
    if case.accept and gap is None:
        assert get(client, backend, url, cafile) == ROOT_BODY
        return
    served = len(server.requests)
    with pytest.raises(rejection(client)) as info:
        get(client, backend, url, cafile)
    if gap is not None:
        # A declared library gap (see GAPS): refused all the same, with its own error.
        pattern = gap.error
        assert any(re.search(gap.note, note) for note in backend.capabilities.notes), (
            f"{backend.name} does not declare the gap {gap.note!r}"
        )
    elif case.may_fail_in_handshake or (
        case.server_needs_tls13 and TLSVersion.TLSv1_3 not in backend.capabilities.tls_versions
    ):
        # The server gives up before the client sees the certificate (see the Case).
        pattern = HANDSHAKE_FAILED
    else:
        pattern = VERIFY_FAILED
    assert re.search(pattern, str(info.value)), f"{case.description}: {info.value}"
    assert len(server.requests) == served  # no request reached the server


# -- an anchor some library cannot parse ----------------------------------------------------
@pytest.mark.parametrize("client", CLIENTS)
def test_unparseable_anchor_is_skipped(
    backend: tls_adapter.Backend, client: str, servers: Servers, tmp_path: Path
) -> None:
    """A store holding the root with an unknown critical extension *and* a usable root:
    chains to the usable one work, the other root's chain is refused as unverified
    (whether the library skipped that root or loaded it and rejects its chain)."""
    bad = misissued.case("root_unknown_critical_extension")
    good = misissued.case("ok_ecdsa_p256_with_intermediate")
    cafile = tmp_path / "mixed-anchors.pem"
    cafile.write_bytes(bad.anchors_pem + good.anchors_pem)
    good_server, bad_server = servers.server(good), servers.server(bad)
    assert get(client, backend, url_of(good_server, good), str(cafile)) == ROOT_BODY
    served = len(bad_server.requests)
    with pytest.raises(rejection(client), match=VERIFY_FAILED):
        get(client, backend, url_of(bad_server, bad), str(cafile))
    assert len(bad_server.requests) == served


# -- nothing is remembered between connections --------------------------------------------------
def test_intermediate_is_not_remembered_by_requests(
    backend: tls_adapter.Backend, servers: Servers
) -> None:
    """One adapter: a full chain first, then the same intermediate's leaf alone."""
    case = misissued.case("missing_intermediate")
    full, leaf_only = servers.server(case, full_chain=True), servers.server(case)
    cafile = servers.anchors(case)
    with requests_session(backend) as session:
        assert session.get(url_of(full, case), verify=cafile, timeout=10).content == ROOT_BODY
        with pytest.raises(requests.exceptions.SSLError, match=VERIFY_FAILED):
            session.get(url_of(leaf_only, case), verify=cafile, timeout=10)
        # and the full chain still works on the same adapter afterwards
        assert session.get(url_of(full, case), verify=cafile, timeout=10).content == ROOT_BODY


def test_intermediate_is_not_remembered_by_urllib3(
    backend: tls_adapter.Backend, servers: Servers
) -> None:
    """One PoolManager and context: a full chain first, then the same intermediate's
    leaf alone."""
    case = misissued.case("missing_intermediate")
    full, leaf_only = servers.server(case, full_chain=True), servers.server(case)
    with pool_manager(backend, servers.anchors(case)) as pm:
        assert pm.request("GET", url_of(full, case)).data == ROOT_BODY
        with pytest.raises(urllib3.exceptions.SSLError, match=VERIFY_FAILED):
            pm.request("GET", url_of(leaf_only, case))
        assert pm.request("GET", url_of(full, case)).data == ROOT_BODY


@pytest.mark.parametrize("case_name", ["leaf_is_ca", "eku_client_auth_only"])
def test_io_before_the_handshake_is_still_checked(
    backend: tls_adapter.Backend, servers: Servers, case_name: str
) -> None:
    """``wrap_socket(do_handshake_on_connect=False)`` then I/O: the library may finish the
    handshake implicitly, and the policy's checks must still run before any data moves."""
    case = misissued.case(case_name)
    server = servers.server(case)
    context = tls_adapter.urllib3.SSLContext(backend=backend)
    context.load_verify_locations(cafile=servers.anchors(case))
    port = server.base_url.rsplit(":", 1)[1]
    with socket.create_connection((case.host, int(port)), timeout=10) as raw:
        tls = context.wrap_socket(raw, server_hostname=case.host, do_handshake_on_connect=False)
        with pytest.raises(ssl.SSLError, match=VERIFY_FAILED):
            tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
            tls.recv(1024)
        tls.close()
    assert not server.requests
