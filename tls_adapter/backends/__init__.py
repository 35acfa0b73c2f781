"""The registry of TLS backends: the one place that knows which backends exist.

A backend is one module in this package exposing ``BACKEND``, a :class:`Backend`.
Modules are imported only when asked for, so importing :mod:`tls_adapter` imports no
optional TLS binding. A backend whose library is missing is reported as unavailable
with the reason; asking for it raises :class:`~tls_adapter.ConfigurationError` naming
what to install.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field

from .._api import ClientContext, ServerContext
from .._enums import TLSVersion
from .._errors import ConfigurationError
from .._trust import Certificate, PrivateKey, TrustStore

__all__ = [
    "Backend",
    "BackendStatus",
    "Capabilities",
    "available_backends",
    "backend_status",
    "default_backend",
    "get_backend",
    "known_backends",
]


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do. Anything it cannot do is refused with ``ConfigurationError``."""

    #: The library and its version, e.g. ``"OpenSSL 3.0.19 27 Jan 2026"``.
    library: str
    #: TLS versions the backend can negotiate.
    tls_versions: tuple[TLSVersion, ...]
    #: Whether ALPN (``inner_protocols``) is supported.
    alpn: bool
    #: Whether a server can run ``sni_callback``.
    sni_callback: bool
    #: Whether ``server_context`` exists.
    server_side: bool
    #: Whether a client can present a certificate chain.
    client_certificates: bool
    #: Whether a server can require and verify client certificates.
    client_auth: bool
    #: Whether the sans-I/O buffer API (``wrap_buffers``) is available.
    buffer_api: bool
    #: Whether sockets are driven by the library itself rather than the generic pump.
    native_socket: bool
    #: Which cipher suites ``ciphers`` can restrict: ``"all"``, ``"tls1.2"`` or ``"none"``.
    cipher_control: str
    #: How :meth:`TrustStore.system` is served.
    system_trust: str
    #: Other limits worth knowing.
    notes: tuple[str, ...] = field(default=())
    #: Whether a client can resume a session (``wrap_socket(session=...)``).
    session_resumption: bool = False


@dataclass(frozen=True)
class Backend:
    """PEP 543's ``Backend``: the concrete classes of one TLS implementation, plus metadata.

    ``backend.client_context(configuration)`` builds a client context. Certificates,
    keys and trust stores are backend-neutral, so ``certificate``, ``private_key`` and
    ``trust_store`` are the shared :class:`~tls_adapter.Certificate`,
    :class:`~tls_adapter.PrivateKey` and :class:`~tls_adapter.TrustStore` classes.
    """

    #: The client context class.
    client_context: type[ClientContext]
    #: The server context class, or ``None`` when the backend has no trustworthy server.
    server_context: type[ServerContext] | None
    #: :class:`~tls_adapter.Certificate`.
    certificate: type[Certificate]
    #: :class:`~tls_adapter.PrivateKey`.
    private_key: type[PrivateKey]
    #: :class:`~tls_adapter.TrustStore`.
    trust_store: type[TrustStore]
    #: The lower-case library name, e.g. ``"openssl"``.
    name: str
    #: What this backend can do.
    capabilities: Capabilities


def _capability_row(
    library: str,
    tls_versions: tuple[TLSVersion, ...],
    *,
    cipher_control: str,
    system_trust: str,
    notes: tuple[str, ...],
    sni_callback: bool = True,
    server_side: bool = True,
    client_auth: bool = True,
    native_socket: bool = False,
    session_resumption: bool = False,
) -> Capabilities:
    """The :class:`Capabilities` of a backend, with what every backend here has.

    Every backend has ALPN, client certificates and the buffer API; by default it also
    has a server that runs ``sni_callback`` and requires client certificates, and its
    sockets go through the generic pump.
    """
    return Capabilities(
        library=library,
        tls_versions=tls_versions,
        alpn=True,
        sni_callback=sni_callback,
        server_side=server_side,
        client_certificates=True,
        client_auth=client_auth,
        buffer_api=True,
        native_socket=native_socket,
        cipher_control=cipher_control,
        system_trust=system_trust,
        notes=notes,
        session_resumption=session_resumption,
    )


def _make_backend(
    name: str,
    client_context: type[ClientContext],
    server_context: type[ServerContext] | None,
    capabilities: Capabilities,
) -> Backend:
    """A backend module's ``BACKEND``: its contexts, with the shared certificate, key and
    trust-store classes."""
    return Backend(
        client_context=client_context,
        server_context=server_context,
        certificate=Certificate,
        private_key=PrivateKey,
        trust_store=TrustStore,
        name=name,
        capabilities=capabilities,
    )


@dataclass(frozen=True)
class BackendStatus:
    """Whether a known backend can be used here, and if not, why."""

    #: The backend's name.
    name: str
    #: Whether :func:`get_backend` will succeed.
    available: bool
    #: Why it is unavailable (empty when available).
    reason: str
    #: The backend, when available.
    backend: Backend | None


# name -> (module in this package, what to install)
_KNOWN: dict[str, tuple[str, str]] = {
    "openssl": ("openssl", "nothing: it uses the standard library's ssl module"),
    "pyopenssl": ("pyopenssl", "pip install 'tls_adapter[pyopenssl]'"),
    "rustls": ("rustls", "pip install 'tls_adapter[rustls]'"),
    "boringssl": ("boringssl", "pip install 'tls_adapter[boringssl]'"),
    "mbedtls": ("mbedtls", "pip install 'tls_adapter[mbedtls]' (wheels for CPython <= 3.12)"),
    "gnutls": (
        "gnutls",
        "install the system GnuTLS library (Debian/Ubuntu: apt-get install libgnutls30)",
    ),
    "wolfssl": (
        "wolfssl",
        "install the system wolfSSL library (Debian/Ubuntu: apt-get install libwolfssl35)",
    ),
    "nss": (
        "nss",
        "install the system NSS library (Debian/Ubuntu: apt-get install libnss3) and "
        "pip install 'tls_adapter[nss]'",
    ),
}
# Backends evaluated but not written yet: why (see docs/other_backends.md).
_NOT_WRITTEN: dict[str, str] = {}
_lock = threading.Lock()
_loaded: dict[str, Backend] = {}
_failed: dict[str, str] = {}


def known_backends() -> tuple[str, ...]:
    """The names of every backend this release knows about, available or not."""
    return tuple(_KNOWN)


def _load(name: str) -> Backend:
    with _lock:
        if name in _loaded:
            return _loaded[name]
        if name in _failed:
            raise ConfigurationError(_failed[name])
        module_name, install = _KNOWN[name]
        try:
            module = importlib.import_module(f".{module_name}", __name__)
            backend = module.BACKEND
        except ImportError as e:
            missing = isinstance(e, ModuleNotFoundError) and e.name == f"{__name__}.{module_name}"
            if missing:
                reason = f"the {name} backend is unavailable: " + _NOT_WRITTEN.get(
                    name, "not implemented in this release"
                )
            else:
                reason = f"the {name} backend is unavailable ({e}); to use it: {install}"
            _failed[name] = reason
            raise ConfigurationError(reason) from e
        except OSError as e:  # a shared library that exists but cannot be loaded
            reason = f"the {name} backend is unavailable ({e})"
            _failed[name] = reason
            raise ConfigurationError(reason) from e
        if not isinstance(backend, Backend):  # pragma: no cover - a broken backend module
            raise TypeError(f"backend module {module_name!r} does not expose a Backend")
        _loaded[name] = backend
        return backend


def get_backend(name: str | Backend) -> Backend:
    """The backend called *name* (or *name* itself if it already is a :class:`Backend`).

    :raises ConfigurationError: the name is unknown, or the backend's library is missing
        (the message says what to install).
    """
    if isinstance(name, Backend):
        return name
    if not isinstance(name, str):
        raise TypeError(f"backend must be a name or a Backend, not {type(name).__name__}")
    key = name.lower()
    if key not in _KNOWN:
        raise ConfigurationError(
            f"unknown TLS backend {name!r}; known backends: {', '.join(_KNOWN)}"
        )
    return _load(key)


def default_backend() -> Backend:
    """The OpenSSL backend through the standard library's :mod:`ssl`."""
    return _load("openssl")


def backend_status() -> tuple[BackendStatus, ...]:
    """Every known backend with whether it is available here and why not."""
    out = []
    for name in _KNOWN:
        try:
            backend = _load(name)
        except ConfigurationError as e:
            out.append(BackendStatus(name, False, str(e), None))
        else:
            out.append(BackendStatus(name, True, "", backend))
    return tuple(out)


def available_backends() -> tuple[str, ...]:
    """The names of the backends usable on this machine, default first."""
    return tuple(s.name for s in backend_status() if s.available)
