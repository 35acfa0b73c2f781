"""The shim's classes are the stdlib's types (``tls_adapter._ssl_compat``), and
``inject_into_ssl()``/``extract_from_ssl()`` (``tls_adapter._inject_ssl``).

Handshakes are real: the stdlib ``ssl`` HTTPS server in a thread, over loopback, with
every available client backend. Injection changes process-wide state, so each
injecting test extracts in a ``finally``, and the tests that need a fresh interpreter
(a module first imported while injected) run one in a subprocess.
"""

from __future__ import annotations

import pickle
import select
import socket
import ssl
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
import urllib3.util
import urllib3.util.ssl_

import tls_adapter
from tls_adapter import TLSConfiguration, TrustStore
from tls_adapter._inject_ssl import stdlib_context_c_base
from tls_adapter._shim_socket import SSLObject, SSLSocket, _StdlibIOSocket
from tls_adapter._ssl_compat import STDLIB_CONTEXT, Unavailable

from .http_servers import ROOT_BODY, HTTPSTestServer, PKIFiles, write_pki_files
from .peers import PKI


@pytest.fixture(scope="module")
def files(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return write_pki_files(pki, tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(pki: PKI) -> Iterator[HTTPSTestServer]:
    with HTTPSTestServer(pki, alpn=["h2", "http/1.1"]) as s:
        yield s


@pytest.fixture
def injected() -> Iterator[None]:
    """Undo any injection a test made, even when it fails."""
    try:
        yield
    finally:
        tls_adapter.extract_from_ssl()


def trusting(backend: tls_adapter.Backend, files: PKIFiles) -> tls_adapter.SSLContext:
    ctx = tls_adapter.SSLContext(backend=backend)
    ctx.load_verify_locations(files.ca)
    return ctx


def _resolved_in_stdlib(cls: type, stdlib: type, storage: tuple[str, ...] = ()) -> list[str]:
    """Names of *stdlib* that an instance of *cls* would still get from the stdlib."""
    stdlib_classes = {k for k in stdlib.__mro__ if k is not object}
    leaks = []
    for name in dir(stdlib):
        if (name.startswith("__") and name.endswith("__")) or name in storage:
            continue
        owner = next(k for k in cls.__mro__ if name in vars(k))
        if owner in stdlib_classes and not isinstance(vars(owner)[name], Unavailable):
            leaks.append(name)
    return leaks


# -- the types -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "stdlib"),
    [
        (tls_adapter.SSLContext, STDLIB_CONTEXT),
        (SSLSocket, ssl.SSLSocket),
        (_StdlibIOSocket, ssl.SSLSocket),
        (SSLObject, ssl.SSLObject),
    ],
)
def test_no_stdlib_attribute_is_inherited(cls: type, stdlib: type) -> None:
    """Every stdlib attribute is either implemented by the look-alike or refused: none
    runs against the idle OpenSSL context or the never-opened descriptor."""
    assert issubclass(cls, stdlib)
    assert _resolved_in_stdlib(cls, stdlib, storage=("_io_refs", "_closed")) == []


def test_the_guard_sees_a_leak() -> None:
    """The check above fails for a subclass that hides nothing (so it can fail)."""

    class Naive(STDLIB_CONTEXT):  # type: ignore[misc,valid-type]
        pass

    assert "load_dh_params" in _resolved_in_stdlib(Naive, STDLIB_CONTEXT)


def test_unsupported_stdlib_attributes_raise_attribute_error() -> None:
    ctx = tls_adapter.SSLContext()
    for name in ("load_dh_params", "sni_callback", "set_servername_callback", "_wrap_socket"):
        assert not hasattr(ctx, name)
        with pytest.raises(AttributeError, match=name):
            getattr(ctx, name)
    with pytest.raises(AttributeError, match="sni_callback"):
        ctx.sni_callback = lambda *a: None
    assert isinstance(ctx, ssl.SSLContext)
    assert tls_adapter.SSLContext is tls_adapter.urllib3.SSLContext


def test_contexts_cannot_be_pickled_like_the_stdlibs() -> None:
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(tls_adapter.SSLContext())
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(STDLIB_CONTEXT(ssl.PROTOCOL_TLS_CLIENT))


def test_wrapped_socket_is_an_ssl_socket(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    """A real handshake: the result is an ``ssl.SSLSocket`` whose descriptor is the
    connection's, whose ``_sslobj`` answers ALPN (httpcore), and whose unsupported
    socket methods refuse instead of acting on descriptor -1."""
    ctx = trusting(backend, files)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    descriptor = raw.fileno()
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        assert isinstance(tls, ssl.SSLSocket)
        assert isinstance(tls, socket.socket)
        assert tls.fileno() == descriptor >= 0
        assert tls.context is ctx
        assert tls._sslobj is not None
        assert tls._sslobj.selected_alpn_protocol() == "h2"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert tls.timeout == 10
        for name in ("connect", "accept", "dup", "recvfrom", "sendto"):
            with pytest.raises(AttributeError, match=name):
                getattr(tls, name)
        tls.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        assert select.select([tls], [], [], 10)[0] == [tls]
        response = b""
        while chunk := tls.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.") and b" 200 " in response.split(b"\r\n")[0]
    assert response.endswith(ROOT_BODY)
    assert tls._sslobj is None


def test_wrap_bio_object_is_an_ssl_object(backend: tls_adapter.Backend) -> None:
    ctx = tls_adapter.SSLContext(backend=backend)
    obj = ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.com")
    assert isinstance(obj, ssl.SSLObject)
    assert obj.server_hostname == "example.com"
    assert obj.context is ctx
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    with pytest.raises(ValueError, match="resumption"):
        obj.session = object()


# -- inject_into_ssl -------------------------------------------------------------------------
@pytest.mark.usefixtures("injected")
def test_injected_defaults_use_the_backend_and_validate(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    """``urllib.request`` (which builds its own default context) goes through the
    injected backend, trusting what the configuration trusts, and refuses otherwise."""
    trust = TrustStore.from_pem_file(files.ca)
    tls_adapter.inject_into_ssl(backend, TLSConfiguration(trust_store=trust))
    made = ssl.create_default_context()
    assert isinstance(made, tls_adapter.SSLContext)
    assert type(made).__module__ == "tls_adapter"
    assert made.backend.name == backend.name
    with urllib.request.urlopen(server.url("/", host="localhost"), timeout=10) as response:
        tls = response.fp.raw._sock
        assert isinstance(tls, SSLSocket)
        assert tls.context.backend.name == backend.name
        assert response.read() == ROOT_BODY

    tls_adapter.inject_into_ssl(backend)  # system trust: the test CA is unknown
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(server.url("/", host="localhost"), timeout=10)


@pytest.mark.usefixtures("injected")
def test_servers_and_stdlib_contexts_keep_working_while_injected(pki: PKI, files: PKIFiles) -> None:
    before = STDLIB_CONTEXT(ssl.PROTOCOL_TLS_CLIENT)
    tls_adapter.inject_into_ssl("openssl")
    assert ssl.SSLContext is not STDLIB_CONTEXT
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert type(served) is STDLIB_CONTEXT
    # The stdlib's setters look ssl.SSLContext up at call time: no recursion.
    served.verify_mode = ssl.CERT_OPTIONAL
    served.options |= ssl.OP_NO_TICKET
    served.minimum_version = ssl.TLSVersion.TLSv1_2
    assert served.verify_mode == ssl.CERT_OPTIONAL
    assert isinstance(before, ssl.SSLContext)
    assert isinstance(served, ssl.SSLContext)
    assert isinstance(tls_adapter.SSLContext(), ssl.SSLContext)
    assert issubclass(STDLIB_CONTEXT, ssl.SSLContext)
    # A server on the stdlib answers a client made while injected.
    with HTTPSTestServer(pki) as server:
        client = ssl.create_default_context(cafile=files.ca)
        assert isinstance(client, tls_adapter.SSLContext)
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        with client.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() is not None


@pytest.mark.usefixtures("injected")
def test_a_class_statement_while_injected_subclasses_the_stdlib() -> None:
    """Libraries that subclass ``ssl.SSLContext`` at import (rtls, truststore) get the
    stdlib's class, as without injection."""
    tls_adapter.inject_into_ssl("openssl")

    class Sub(ssl.SSLContext):
        def options_via_super(self) -> int:
            return int(super().options)

    assert Sub.__mro__[1] is STDLIB_CONTEXT
    sub = Sub(ssl.PROTOCOL_TLS_CLIENT)
    sub.verify_mode = ssl.CERT_REQUIRED
    assert sub.options_via_super() == int(sub.options)


@pytest.mark.usefixtures("injected")
def test_extract_restores_exactly() -> None:
    originals = (ssl.SSLContext, urllib3.util.ssl_.SSLContext, urllib3.util.SSLContext)
    tls_adapter.inject_into_ssl("openssl")
    assert urllib3.util.ssl_.SSLContext is ssl.SSLContext is urllib3.util.SSLContext
    tls_adapter.inject_into_ssl("openssl", TLSConfiguration())  # again: still one record
    tls_adapter.extract_from_ssl()
    assert (ssl.SSLContext, urllib3.util.ssl_.SSLContext, urllib3.util.SSLContext) == originals
    assert ssl.SSLContext is STDLIB_CONTEXT
    tls_adapter.extract_from_ssl()  # a no-op now
    assert ssl.SSLContext is STDLIB_CONTEXT


def test_inject_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="TLSConfiguration"):
        tls_adapter.inject_into_ssl(configuration={"verify": False})  # type: ignore[arg-type]
    with pytest.raises(tls_adapter.ConfigurationError, match="nosuch"):
        tls_adapter.inject_into_ssl("nosuch")
    assert ssl.SSLContext is STDLIB_CONTEXT


def test_stdlib_context_c_base_is_the_c_type() -> None:
    """The one private stdlib name used (``_ssl._SSLContext``), through its wrapper."""
    base = stdlib_context_c_base()
    assert base.__module__ == "_ssl"
    assert STDLIB_CONTEXT.__mro__[1] is base
    assert isinstance(STDLIB_CONTEXT.__dict__["options"], property)
    assert not isinstance(base.__dict__["options"], property)  # the C descriptor


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_copies_made_at_import_follow_injection_and_extraction() -> None:
    """aiohttp builds its default contexts when imported: imported before injection,
    they are replaced (and put back); imported while injected, extraction rebuilds them
    on the stdlib, as if there had been no injection."""
    pytest.importorskip("aiohttp")
    out = _run(
        """
        import ssl, tls_adapter
        import aiohttp.connector as c
        before = c._SSL_CONTEXT_VERIFIED
        tls_adapter.inject_into_ssl("gnutls")
        print(type(c._SSL_CONTEXT_VERIFIED).__module__, c._SSL_CONTEXT_VERIFIED.backend.name)
        print(c._SSL_CONTEXT_UNVERIFIED.verify_mode == ssl.CERT_NONE)
        tls_adapter.extract_from_ssl()
        print(c._SSL_CONTEXT_VERIFIED is before)
        """
    )
    assert out.split() == ["tls_adapter", "gnutls", "True", "True"]
    out = _run(
        """
        import ssl, warnings, tls_adapter
        tls_adapter.inject_into_ssl("gnutls")
        import urllib3.util.ssl_ as u, aiohttp.connector as c
        print(type(c._SSL_CONTEXT_VERIFIED).__module__, u.SSLContext is ssl.SSLContext)
        tls_adapter.extract_from_ssl()
        print(type(c._SSL_CONTEXT_VERIFIED).__module__, u.SSLContext is ssl.SSLContext)
        print(ssl.SSLContext.__module__, c._SSL_CONTEXT_VERIFIED.verify_mode == ssl.CERT_REQUIRED)
        """
    )
    assert out.split() == ["tls_adapter", "True", "ssl", "True", "ssl", "True"]


@pytest.mark.usefixtures("injected")
def test_unverified_contexts_made_while_injected_do_not_validate(pki: PKI, other_ca: Any) -> None:
    """``ssl._create_unverified_context()`` (what ``verify=False``-style options build)
    is the backend's context with validation off, as it is on the stdlib; the default
    context refuses the same server."""
    tls_adapter.inject_into_ssl("gnutls")
    unverified = ssl._create_unverified_context()
    assert isinstance(unverified, tls_adapter.SSLContext)
    assert unverified.configuration.validate_certificates is False
    with HTTPSTestServer(pki, cert=other_ca.issue_cert("localhost")) as untrusted:
        for ctx, ok in ((unverified, True), (ssl.create_default_context(), False)):
            raw = socket.create_connection(("127.0.0.1", untrusted.port), timeout=10)
            try:
                if ok:
                    ctx.wrap_socket(raw, server_hostname="localhost").close()
                else:
                    with pytest.raises(ssl.SSLCertVerificationError):
                        ctx.wrap_socket(raw, server_hostname="localhost")
            finally:
                raw.close()


@pytest.mark.usefixtures("injected")
def test_inject_into_urllib3_inside_inject_into_ssl() -> None:
    """Nested in either order, each extract undoes its own inject and nothing else."""
    stdlib_urllib3 = urllib3.util.ssl_.SSLContext
    tls_adapter.inject_into_ssl("gnutls")
    tls_adapter.urllib3.inject_into_urllib3("openssl")
    urllib3_class = urllib3.util.ssl_.SSLContext
    assert urllib3_class._default_backend.name == "openssl"  # type: ignore[attr-defined]
    tls_adapter.extract_from_ssl()  # leaves inject_into_urllib3's class in place
    assert ssl.SSLContext is STDLIB_CONTEXT
    assert urllib3.util.ssl_.SSLContext is urllib3_class
    tls_adapter.urllib3.extract_from_urllib3()
    assert urllib3.util.ssl_.SSLContext is not urllib3_class

    tls_adapter.urllib3.inject_into_urllib3("openssl")
    tls_adapter.inject_into_ssl("gnutls")
    tls_adapter.extract_from_ssl()
    tls_adapter.urllib3.extract_from_urllib3()
    assert urllib3.util.ssl_.SSLContext is stdlib_urllib3


def test_getpeercert_after_close_is_os_error_as_in_ssl(
    backend: tls_adapter.Backend, server: HTTPSTestServer, files: PKIFiles
) -> None:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    tls = trusting(backend, files).wrap_socket(raw, server_hostname="localhost")
    assert tls.getpeercert(binary_form=True)
    tls.close()
    with pytest.raises(OSError, match="Bad file descriptor"):
        tls.getpeercert()
