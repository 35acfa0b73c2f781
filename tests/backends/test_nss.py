"""Quirks of the NSS backend that the generic conformance suite does not single out.

NSS keeps certificates and keys in process-wide state, so the backend gives each
context its own trust anchors (passed to ``CERT_PKIXVerifyCert`` at every
verification) and its own keys (session objects of the internal slot), initialises NSS
without any database, and turns NSS's process-wide session cache off. These tests
show that two contexts in one process never see each other's anchors or keys, that
nothing one connection brought decides another's verdict, that threads run separate
connections at once, and that NSS never touches a database on disk. They also pin the
binding's own ClientHello reader (NSS calls its SNI hook only for a ClientHello with a
server_name; the ``sni_callback`` must run for every connection) and its ALPN order
(NSS stores and sends a list with its first protocol moved last). Peers are real: the standard
library's ``ssl`` (through the openssl backend or raw) and the backend itself.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

import tls_adapter
from tls_adapter import TLSConfiguration, TrustStore
from tls_adapter._api import ServerName
from tls_adapter.backends import _nss_ffi

from ..peers import (
    PKI,
    buffer_pair,
    chain_of,
    der_of,
    drive_handshake,
    handshake_buffers,
    make_server_context,
    read_exactly,
)
from .support import requires_backend

pytestmark = requires_backend("nss")


@pytest.fixture
def nss() -> tls_adapter.Backend:
    """The backend under test."""
    return tls_adapter.get_backend("nss")


def _trust(ca: trustme.CA) -> TrustStore:
    return TrustStore.from_buffer(ca.cert_pem.bytes())


# -- isolation between contexts ------------------------------------------------------------
def test_anchors_belong_to_one_context(
    nss: tls_adapter.Backend, openssl: tls_adapter.Backend
) -> None:
    """Two live client contexts trusting different CAs, used in turn: each accepts only
    the server its own CA signed."""
    ca_a, ca_b = trustme.CA(), trustme.CA()
    server_a = make_server_context(
        openssl, TLSConfiguration(certificate_chain=chain_of(ca_a.issue_cert("localhost")))
    )
    server_b = make_server_context(
        openssl, TLSConfiguration(certificate_chain=chain_of(ca_b.issue_cert("localhost")))
    )
    client_a = nss.client_context(TLSConfiguration(trust_store=_trust(ca_a)))
    client_b = nss.client_context(TLSConfiguration(trust_store=_trust(ca_b)))
    for _ in range(2):
        for client, good, bad in ((client_a, server_a, server_b), (client_b, server_b, server_a)):
            assert drive_handshake(*buffer_pair(client, good)).client_error is None
            refused = drive_handshake(*buffer_pair(client, bad)).client_error
            assert isinstance(refused, tls_adapter.CertificateValidationError)


def test_nss_itself_verifies_against_the_context_anchors_only() -> None:
    """The binding's NSS verification alone (no validation policy): a leaf of CA A
    passes with context A's anchors and fails with context B's, while both contexts
    (and so both CAs, as NSS certificates of the process) are alive."""
    ca_a, ca_b = trustme.CA(), trustme.CA()
    contexts = []
    for ca in (ca_a, ca_b):
        context = _nss_ffi.Context(server_side=False)
        assert context.load_anchors([der_of_ca(ca)]) == 1
        context.verify_peer(require=False)
        contexts.append(context)
    lib = _nss_ffi.load()
    leaf = _nss_ffi._temp_certificate(lib, der_of(ca_a.issue_cert("localhost")))
    try:
        contexts[0].verify_chain(leaf, ServerName("localhost", True))
        with pytest.raises(_nss_ffi.VerifyError) as refused:
            contexts[1].verify_chain(leaf, ServerName("localhost", True))
        # NSS knows A's root as a certificate of the process, not as B's anchor.
        assert refused.value.name in ("SEC_ERROR_UNKNOWN_ISSUER", "SEC_ERROR_UNTRUSTED_ISSUER")
        contexts[0].verify_chain(leaf, ServerName("localhost", True))  # and A still trusts it
    finally:
        lib.nss.CERT_DestroyCertificate(leaf)
        for context in contexts:
            context.close()


def der_of_ca(ca: trustme.CA) -> bytes:
    """*ca*'s certificate as DER."""
    return x509.load_pem_x509_certificate(ca.cert_pem.bytes()).public_bytes(Encoding.DER)


def test_server_keys_belong_to_one_context(
    nss: tls_adapter.Backend, openssl: tls_adapter.Backend
) -> None:
    """Two live server contexts for the same name with different keys and certificates:
    each connection presents its own context's certificate."""
    ca = trustme.CA()
    leaves = [ca.issue_cert("localhost"), ca.issue_cert("localhost")]
    servers = [
        make_server_context(nss, TLSConfiguration(certificate_chain=chain_of(leaf)))
        for leaf in leaves
    ]
    client = openssl.client_context(TLSConfiguration(trust_store=_trust(ca)))
    for _ in range(2):
        for server, leaf in zip(servers, leaves, strict=True):
            c, s = buffer_pair(client, server)
            handshake_buffers(c, s)
            assert c.getpeercert() == der_of(leaf)


def test_client_keys_belong_to_one_context(
    nss: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """Two live client contexts with different client certificates: the server sees
    each context's own certificate."""
    other = pki.ca.issue_cert("other@example.org", common_name="other")
    server = make_server_context(
        openssl, TLSConfiguration(certificate_chain=pki.server_chain, trust_store=pki.trust)
    )
    clients = [
        (
            nss.client_context(
                TLSConfiguration(trust_store=pki.trust, certificate_chain=chain_of(leaf))
            ),
            leaf,
        )
        for leaf in (pki.client, other)
    ]
    for _ in range(2):
        for client, leaf in clients:
            c, s = buffer_pair(client, server)
            handshake_buffers(c, s)
            assert s.getpeercert() == der_of(leaf)


def test_an_intermediate_another_connection_brought_completes_no_chain(
    nss: tls_adapter.Backend, openssl: tls_adapter.Backend
) -> None:
    """A connection that presented an intermediate leaves NSS holding it; a later
    server that leaves that intermediate out is still refused (the verdict uses the
    chain as presented)."""
    root = trustme.CA()
    intermediate = root.create_child_ca()
    full = intermediate.issue_cert("localhost")
    bare = intermediate.issue_cert("localhost")
    certs, key = chain_of(bare)
    with_chain = make_server_context(openssl, TLSConfiguration(certificate_chain=chain_of(full)))
    leaf_only = make_server_context(openssl, TLSConfiguration(certificate_chain=(certs[:1], key)))
    client = nss.client_context(TLSConfiguration(trust_store=_trust(root)))
    first, first_server = buffer_pair(client, with_chain)
    handshake_buffers(first, first_server)  # NSS now holds the intermediate
    outcome = drive_handshake(*buffer_pair(client, leaf_only))
    assert isinstance(outcome.client_error, tls_adapter.CertificateValidationError)
    del first, first_server


def test_nss_uses_no_database(tmp_path: os.PathLike[str]) -> None:
    """A handshake in a fresh process with an empty HOME leaves nothing behind: NSS
    opened no database (``~/.pki/nssdb`` is what NSS's default profile would be)."""
    code = (
        "import trustme, tls_adapter\n"
        "from tls_adapter import TLSConfiguration, TrustStore\n"
        "from tests.peers import chain_of, buffer_pair, handshake_buffers\n"
        "ca = trustme.CA()\n"
        "nss = tls_adapter.get_backend('nss')\n"
        "chain = chain_of(ca.issue_cert('localhost'))\n"
        "trust = TrustStore.from_buffer(ca.cert_pem.bytes())\n"
        "server = nss.server_context(TLSConfiguration(certificate_chain=chain))\n"
        "client = nss.client_context(TLSConfiguration(trust_store=trust))\n"
        "handshake_buffers(*buffer_pair(client, server))\n"
        "print('ok')\n"
    )
    home = os.fspath(tmp_path)
    env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_DATA_HOME": home}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "ok", result.stderr
    assert os.listdir(home) == []


# -- threads -----------------------------------------------------------------------------
def test_threads_run_separate_connections_at_once(nss: tls_adapter.Backend, pki: PKI) -> None:
    """Four threads share one client and one server context, each running its own
    connections (handshake, 256 KiB each way) at the same time."""
    server = make_server_context(nss, TLSConfiguration(certificate_chain=pki.server_chain))
    client = nss.client_context(TLSConfiguration(trust_store=pki.trust))
    payload = os.urandom(256 * 1024)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work() -> None:
        try:
            start.wait()
            for _ in range(10):
                c, s = buffer_pair(client, server)
                handshake_buffers(c, s)
                c.write(payload)
                assert read_exactly(s, c, len(payload)) == payload
                s.write(payload)
                assert read_exactly(c, s, len(payload)) == payload
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


# -- the ClientHello reader and ALPN order -----------------------------------------------
def _client_hello(server_hostname: str | None) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out := ssl.MemoryBIO(), server_hostname=server_hostname)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def test_client_hello_reader() -> None:
    with_sni, without = _client_hello("example.org"), _client_hello(None)
    assert _nss_ffi.client_hello_has_sni(with_sni) is True
    assert _nss_ffi.client_hello_has_sni(without) is False
    for cut in (0, 3, 5, 20, len(without) - 1):
        assert _nss_ffi.client_hello_has_sni(without[:cut]) is None  # wait for the rest
    # The same hello split over two records is read whole.
    body = without[5:]
    split = (
        bytes((22, 3, 1, 0, 10))
        + body[:10]
        + bytes((22, 3, 1))
        + (len(body) - 10).to_bytes(2, "big")
        + body[10:]
    )
    assert _nss_ffi.client_hello_has_sni(split) is False
    # Anything that is not a well-formed ClientHello is left to NSS.
    assert _nss_ffi.client_hello_has_sni(b"\x17\x03\x03\x00\x01x") is True
    assert _nss_ffi.client_hello_has_sni(bytes((22, 3, 1, 0, 4, 1, 0, 0, 0))) is True


def test_sni_callback_runs_without_a_server_name(
    nss: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    seen: list[str | None] = []

    def callback(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        seen.append(name)
        return config

    server = make_server_context(
        nss, TLSConfiguration(certificate_chain=pki.server_chain, sni_callback=callback)
    )
    client = openssl.client_context(TLSConfiguration(trust_store=pki.trust))
    for name in ("localhost", "127.0.0.1"):  # no SNI is sent for an IP address
        handshake_buffers(*buffer_pair(client, server, name))
    assert seen == ["localhost", None]


def test_alpn_server_preference_and_client_order(
    nss: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """An NSS server picks by its own order; an NSS client offers its protocols in the
    configured order (a stdlib server shows what it received)."""
    server = make_server_context(
        nss,
        TLSConfiguration(certificate_chain=pki.server_chain, inner_protocols=[b"a", b"b", b"c"]),
    )
    client = openssl.client_context(
        TLSConfiguration(trust_store=pki.trust, inner_protocols=[b"c", b"b", b"a"])
    )
    c, s = buffer_pair(client, server)
    handshake_buffers(c, s)
    assert s.negotiated_protocol() == b"a" and c.negotiated_protocol() == b"a"

    hello = nss.client_context(
        TLSConfiguration(trust_store=pki.trust, inner_protocols=[b"x", b"y", b"z"])
    ).wrap_buffers("localhost")
    with pytest.raises(tls_adapter.WantReadError):
        hello.do_handshake()
    assert _alpn_in(hello.peek_outgoing(hello.outgoing_bytes_buffered())) == ["x", "y", "z"]


def _alpn_in(hello: bytes) -> list[str]:
    """The ALPN protocols of a ClientHello (one record), in wire order."""
    body = hello[5:]
    i = 4 + 2 + 32
    i += 1 + body[i]
    i += 2 + int.from_bytes(body[i : i + 2], "big")
    i += 1 + body[i]
    end = i + 2 + int.from_bytes(body[i : i + 2], "big")
    i += 2
    while i < end:
        kind, size = (
            int.from_bytes(body[i : i + 2], "big"),
            int.from_bytes(body[i + 2 : i + 4], "big"),
        )
        if kind == 16:
            data, out, j = body[i + 6 : i + 4 + size], [], 0
            while j < len(data):
                out.append(data[j + 1 : j + 1 + data[j]].decode())
                j += 1 + data[j]
            return out
        i += 4 + size
    return []


def test_no_session_is_remembered(
    nss: tls_adapter.Backend, openssl: tls_adapter.Backend, pki: PKI
) -> None:
    """NSS's process-wide session cache is off: a second connection to the same server
    is a full handshake, whose certificate is checked again."""
    server = make_server_context(openssl, TLSConfiguration(certificate_chain=pki.server_chain))
    client = nss.client_context(TLSConfiguration(trust_store=pki.trust))
    assert not nss.capabilities.session_resumption
    for _ in range(2):
        c, s = buffer_pair(client, server)
        handshake_buffers(c, s)
        assert not c.session_reused() and c.getpeercert() == der_of(pki.server)


def test_client_sends_only_the_configured_chain(
    nss: tls_adapter.Backend, openssl: tls_adapter.Backend
) -> None:
    """NSS builds a client's chain from every certificate in the process: while another
    context holds the intermediate, a context configured with the leaf alone refuses
    to send a chain it was not given (the stdlib server would otherwise accept it)."""
    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert("client@example.org", common_name="client")
    server_leaf = root.issue_cert("localhost")
    server = make_server_context(
        openssl,
        TLSConfiguration(certificate_chain=chain_of(server_leaf), trust_store=_trust(root)),
    )
    certs, key = chain_of(leaf)
    full = nss.client_context(
        TLSConfiguration(trust_store=_trust(root), certificate_chain=(certs, key))
    )
    bare = nss.client_context(
        TLSConfiguration(trust_store=_trust(root), certificate_chain=(certs[:1], key))
    )
    c, s = buffer_pair(full, server)
    handshake_buffers(c, s)
    assert s.getpeercert() == der_of(leaf)
    outcome = drive_handshake(*buffer_pair(bare, server))
    assert outcome.client_error is not None
    assert "NSS would add 1 certificate" in str(outcome.client_error)


def test_the_descriptor_stays_the_sockets(nss: tls_adapter.Backend, pki: PKI) -> None:
    """``wrap_socket`` lends the socket's descriptor to an NSPR socket; freeing the NSS
    connection (``_release_socket_layer``: NSPR closes a spare descriptor instead) leaves
    the socket open and usable, and a TLS close_notify does not half-close TCP."""
    server = make_server_context(nss, TLSConfiguration(certificate_chain=pki.server_chain))
    client = nss.client_context(TLSConfiguration(trust_store=pki.trust))
    a, b = socket.socketpair()
    with a, b:
        c_sock = client.wrap_socket(a, "localhost")
        s_sock = server.wrap_socket(b)
        worker = threading.Thread(target=s_sock.do_handshake)
        worker.start()
        c_sock.do_handshake()
        worker.join(10)
        c_sock.sendall(b"ping")
        assert s_sock.recv(4) == b"ping"
        fd = a.fileno()
        c_sock._buffer._session.close()  # type: ignore[attr-defined]
        s_sock._buffer._session.close()  # type: ignore[attr-defined]
        os.fstat(fd)  # still open
        a.sendall(b"plain")
        assert b.recv(5) == b"plain"
        b.sendall(b"back")
        assert a.recv(4) == b"back"
