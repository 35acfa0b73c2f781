"""requests integration: :class:`TLSAdapter`, an ``HTTPAdapter`` backed by any TLS backend.

Mount it on a session::

    >>> import requests
    >>> from tls_adapter import TLSConfiguration, TLSVersion
    >>> from tls_adapter.requests import TLSAdapter
    >>> session = requests.Session()
    >>> config = TLSConfiguration(lowest_supported_version=TLSVersion.TLSv1_3)
    >>> session.mount("https://", TLSAdapter(config, backend="openssl"))

How it works. requests hands every request's ``verify`` and ``cert`` to the adapter,
and urllib3 would load CA files and client certificates into whatever ``ssl_context``
it is given, on every new connection. A shared context would therefore collect every
CA bundle and client certificate ever used (and requests >= 2.32.5 would merge
certifi's bundle into it). This adapter never lets that happen: each distinct
``(verify, cert)`` pair becomes its own derived :class:`~tls_adapter.TLSConfiguration`
with its own cached :class:`tls_adapter.urllib3.SSLContext` (and therefore its own
urllib3 connection pool), and urllib3 is given no file paths to load.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, ClassVar, cast

from requests.adapters import HTTPAdapter
from requests.exceptions import InvalidProxyURL, InvalidURL, SSLError
from requests.utils import prepend_scheme_if_needed, select_proxy
from urllib3 import __version__ as _urllib3_version  # type: ignore[attr-defined]
from urllib3.poolmanager import proxy_from_url
from urllib3.util import parse_url

from ._api import quiet_insecure_warning
from ._config import TLSConfiguration
from ._trust import Certificate, PrivateKey, TrustStore
from .backends import Backend, default_backend, get_backend
from .urllib3 import SSLContext

__all__ = ["TLSAdapter"]

_prepend_scheme = cast("Callable[[str, str], str]", prepend_scheme_if_needed)
_URLLIB3_MAJOR = int(_urllib3_version.split(".", 1)[0])
#: How many derived contexts (and proxy managers) one adapter keeps.
_CACHE_SIZE = 32
# pool_kwargs that would make urllib3 load files into our contexts.
_FILE_KEYS = ("ca_certs", "ca_cert_dir", "ca_cert_data", "cert_file", "key_file", "key_password")
_NO_BUNDLE = "Could not find a suitable TLS CA certificate bundle, invalid path: {}"
_NO_CERT = "Could not find the TLS certificate file, invalid path: {}"
_NO_KEY = "Could not find the TLS key file, invalid path: {}"


def _cert_reqs(configuration: TLSConfiguration) -> str:
    return "CERT_REQUIRED" if configuration.validate_certificates else "CERT_NONE"


def _is_path(value: object) -> bool:
    return isinstance(value, (str, bytes, os.PathLike))


def _verify_key(verify: object) -> Hashable:
    """``True`` (the adapter's configuration), ``False``, or ``("path", abspath)``."""
    if verify is None or verify is True:
        return True
    if verify is False or (isinstance(verify, int) and not verify):
        return False
    if _is_path(verify):
        path = os.fsdecode(verify)  # type: ignore[arg-type]
        if not path or not os.path.exists(path):
            raise OSError(_NO_BUNDLE.format(path))
        return ("path", os.path.abspath(path))
    return True  # requests treats any other truthy value as True


def _cert_key(cert: object) -> Hashable:
    """``None``, or ``(cert_path, key_path_or_None)`` with absolute paths."""
    if not cert:
        return None
    if isinstance(cert, (tuple, list)):
        if len(cert) != 2:  # (not ValueError: requests would report an "invalid URL")
            raise TypeError("cert must be a path or a (certificate, key) pair of paths")
        cert_file, key_file = cert
    else:
        cert_file, key_file = cert, None
    if not _is_path(cert_file) or not (key_file is None or _is_path(key_file)):
        raise TypeError("cert must be a path or a (certificate, key) pair of paths")
    cert_path = os.fsdecode(cert_file)
    key_path = None if key_file is None else os.fsdecode(key_file)
    if not cert_path or not os.path.exists(cert_path):
        raise OSError(_NO_CERT.format(cert_path))
    if key_path is not None and not os.path.exists(key_path):
        raise OSError(_NO_KEY.format(key_path))
    return (os.path.abspath(cert_path), None if key_path is None else os.path.abspath(key_path))


def _unpicklable_part(configuration: TLSConfiguration) -> str | None:
    """What in *configuration* cannot be pickled (a callable), or ``None``."""
    parts: list[tuple[str, object]] = [("its sni_callback", configuration.sni_callback)]
    if configuration.certificate_chain is not None:
        key = configuration.certificate_chain[1]
        parts.append(("its private key's password callable", key._password))
    for what, value in parts:
        if callable(value):
            try:
                pickle.dumps(value)
            except Exception:
                return what
    return None


class TLSAdapter(HTTPAdapter):
    """A ``requests`` transport adapter whose TLS is done by a :mod:`tls_adapter` backend.

    :param configuration: what ``verify=True`` means: the TLS settings for every request
        that does not ask for something else. Default: ``TLSConfiguration()``, i.e. the
        system trust store, TLS 1.2 or later, modern ciphers.
    :param backend: a backend name (``"openssl"``, ``"pyopenssl"``, ...) or a
        :class:`~tls_adapter.Backend`; default :func:`~tls_adapter.default_backend`.
    :param session_resumption: whether new connections resume earlier TLS sessions
        (default ``True``; see below).
    :param kwargs: passed on to :class:`requests.adapters.HTTPAdapter`
        (``pool_connections``, ``pool_maxsize``, ``max_retries``, ``pool_block``).

    Mount it on ``"https://"``, or on a prefix such as ``"https://internal.example:8443/"``
    (requests picks the longest matching prefix).

    Per-request ``verify`` and ``cert`` keep requests' meaning; each is applied as its own
    derived configuration, with its own context and connection pool, and never changes
    what other requests get:

    * ``verify=True`` (the default): the adapter's *configuration*.
    * ``verify=False``: the same with ``validate_certificates=False``. urllib3 warns with
      ``InsecureRequestWarning`` on every such request, as usual.
    * ``verify="/path/bundle.pem"``: trust **exactly** the CAs in that PEM file
      (:meth:`~tls_adapter.TrustStore.from_pem_file`), or in that hashed directory
      (:meth:`~tls_adapter.TrustStore.from_directory`), and validate certificates even if the
      adapter's configuration does not. This is requests' own meaning ("use only this
      bundle"), not pip's ("add it to the system store"). It is also how the
      ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` environment variables arrive when
      ``session.trust_env`` is on (the default): requests turns them into
      ``verify=<path>`` before the adapter sees the request, even when the session or
      the call says ``verify=True``. Set ``session.trust_env = False`` to make the
      adapter's configuration win over them.
    * ``cert="client.pem"`` (certificate chain and key in one file) or
      ``cert=("client.crt", "client.key")``: present that certificate
      (``certificate_chain``). Encrypted keys need the adapter's configuration instead:
      ``TLSConfiguration(certificate_chain=(chain, PrivateKey.from_file(p, password)))``.

    Missing files raise requests' usual :class:`OSError` naming the path. Files are read
    when a ``(verify, cert)`` pair is first used; the adapter keeps the 32 most recently
    used derived contexts.

    Proxies: plain HTTP proxies carry the request as usual. For an HTTPS proxy, the TLS
    connection to the proxy is validated the way the request asked (``verify``), with
    the adapter's own client certificate if its configuration has one; a per-request
    ``cert`` goes to the origin server only. HTTPS through an HTTPS proxy works (TLS in
    TLS).

    Failures surface as :class:`requests.exceptions.SSLError` carrying the backend's
    reason, e.g. ``certificate verify failed: Hostname mismatch, ...``. The adapter is
    safe to share between threads (as a ``Session`` is), and pickles: its configuration
    and backend name are stored, contexts are rebuilt when next needed. A configuration
    holding a callable that cannot be pickled (a lambda as key password) raises
    :class:`TypeError` saying so.

    New connections resume earlier TLS sessions with the same server (see
    :attr:`tls_adapter.urllib3.SSLContext.session_resumption`, which says what is kept
    and when it is offered); ``session_resumption=False`` turns that off, e.g. so that a
    server cannot link a client's connections.

    Supported: requests >= 2.32.3, with urllib3 1.26.x or 2.x.
    """

    __attrs__: ClassVar[list[str]] = [  # type: ignore[misc]
        *HTTPAdapter.__attrs__,
        "_configuration",
        "_backend_name",
        "_session_resumption",
    ]

    _configuration: TLSConfiguration
    _backend_name: str
    _session_resumption: bool
    _backend: Backend
    _lock: threading.Lock
    # Set by HTTPAdapter.__init__ (declared here for type checkers that use stubs).
    _pool_connections: int
    _pool_maxsize: int
    _pool_block: bool
    _configurations: OrderedDict[Hashable, TLSConfiguration]
    _contexts: OrderedDict[tuple[str, TLSConfiguration], SSLContext]
    #: The origin context of the adapter's own configuration (verify=True), once built.
    _origin_context: SSLContext | None
    #: The context class (a hook for subclasses, e.g. the command line's).
    _context_class: ClassVar[type[SSLContext]] = SSLContext
    _proxy_managers: OrderedDict[Hashable, Any]

    def __init__(
        self,
        configuration: TLSConfiguration | None = None,
        *,
        backend: str | Backend | None = None,
        session_resumption: bool = True,
        **kwargs: Any,
    ) -> None:
        if configuration is None:
            configuration = TLSConfiguration()
        if not isinstance(configuration, TLSConfiguration):
            raise TypeError(
                f"configuration must be a TLSConfiguration, not {type(configuration).__name__}"
            )
        resolved = default_backend() if backend is None else get_backend(backend)
        self._configuration = configuration
        self._backend_name = resolved.name
        self._session_resumption = bool(session_resumption)
        self._setup_caches()
        super().__init__(**kwargs)

    def _base(self) -> Any:
        """``super()``, untyped: requests' inline types and types-requests disagree."""
        return super()

    def _setup_caches(self) -> None:
        self._backend = get_backend(self._backend_name)
        self._lock = threading.Lock()
        self._configurations = OrderedDict()
        self._contexts = OrderedDict()
        self._origin_context = None
        self._proxy_managers = OrderedDict()

    # -- public read-only state ---------------------------------------------------------
    @property
    def configuration(self) -> TLSConfiguration:
        """The adapter's configuration: what ``verify=True`` means."""
        return self._configuration

    @property
    def backend(self) -> Backend:
        """The backend every connection of this adapter uses."""
        return self._backend

    def __repr__(self) -> str:
        return f"<TLSAdapter backend={self._backend_name!r}>"

    # -- pickling (requests' __attrs__ convention) ----------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """The pickled state: requests' attributes, the configuration and the backend name."""
        what = _unpicklable_part(self._configuration)
        if what is not None:
            raise TypeError(
                f"cannot pickle this TLSAdapter: its configuration holds {what}, which "
                "cannot be pickled; use a module-level function or bytes instead"
            )
        state: dict[str, Any] = self._base().__getstate__()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`__getstate__`; contexts are rebuilt when first needed."""
        self._backend_name = state["_backend_name"]
        self._configuration = state["_configuration"]
        self._session_resumption = state.get("_session_resumption", True)
        self._setup_caches()
        self._base().__setstate__(state)

    # -- configurations and contexts ----------------------------------------------------
    def configuration_for(self, verify: object = True, cert: object = None) -> TLSConfiguration:
        """The derived configuration a request with this ``verify`` and ``cert`` uses.

        :raises OSError: a file named by *verify* or *cert* does not exist (requests'
            wording).
        :raises requests.exceptions.SSLError: a file exists but holds no usable PEM data.
        """
        key = (_verify_key(verify), _cert_key(cert))
        if key == (True, None):
            return self._configuration
        with self._lock:
            cached = self._configurations.get(key)
            if cached is not None:
                self._configurations.move_to_end(key)
                return cached
        configuration = self._derive(*key)
        with self._lock:
            self._configurations[key] = configuration
            while len(self._configurations) > _CACHE_SIZE:
                self._configurations.popitem(last=False)
        return configuration

    def context_for(self, verify: object = True, cert: object = None) -> SSLContext:
        """The :class:`tls_adapter.urllib3.SSLContext` used for this ``(verify, cert)`` pair.

        One context (and so one connection pool per host) per distinct derived
        configuration; raises like :meth:`configuration_for`.
        """
        return self._context("origin", self.configuration_for(verify, cert))

    def _context(self, role: str, configuration: TLSConfiguration) -> SSLContext:
        """The cached context for *configuration*, as an origin or an HTTPS-proxy context.

        urllib3 1.26 leaves ``server_hostname`` out for IP addresses and checks the
        hostname of origin servers itself when the context's ``check_hostname`` is off,
        so origin contexts get it turned off there. Proxy contexts keep it on: urllib3
        1.26 does not check the proxy's name itself.
        """
        if role == "origin" and configuration is self._configuration:
            context = self._origin_context  # every verify=True request: no lock, no hashing
            if context is not None:
                return context
        key = (role, configuration)
        with self._lock:
            context = self._contexts.get(key)
            if context is not None:
                self._contexts.move_to_end(key)
                return context
        with quiet_insecure_warning():
            context = self._context_class(configuration, backend=self._backend)
        context.session_resumption = self._session_resumption
        if role == "origin" and _URLLIB3_MAJOR < 2:
            context.check_hostname = False
        with self._lock:
            existing = self._contexts.get(key)
            if existing is not None:  # another thread won the race: use its context
                self._contexts.move_to_end(key)
                return existing
            self._contexts[key] = context
            while len(self._contexts) > _CACHE_SIZE:
                self._contexts.popitem(last=False)
            if role == "origin" and configuration is self._configuration:
                self._origin_context = context  # kept also when evicted from the LRU
            return context

    def _derive(self, verify_key: Hashable, cert_key: Hashable) -> TLSConfiguration:
        """The configuration for normalised ``verify``/``cert`` keys (see ``_verify_key``)."""
        changes: dict[str, Any] = {}
        try:
            if verify_key is False:
                changes["validate_certificates"] = False
            elif isinstance(verify_key, tuple):
                path = verify_key[1]
                changes["validate_certificates"] = True
                changes["trust_store"] = (
                    TrustStore.from_directory(path)
                    if os.path.isdir(path)
                    else TrustStore.from_pem_file(path)
                )
            if isinstance(cert_key, tuple):
                cert_path, key_path = cert_key
                chain = Certificate.chain_from_file(cert_path)
                key = PrivateKey.from_file(cert_path if key_path is None else key_path)
                changes["certificate_chain"] = (chain, key)
        except FileNotFoundError as e:  # removed since _verify_key/_cert_key looked
            missing = os.path.abspath(os.fsdecode(e.filename or ""))
            if isinstance(verify_key, tuple) and missing == verify_key[1]:
                raise OSError(_NO_BUNDLE.format(missing)) from e
            if isinstance(cert_key, tuple) and missing == cert_key[1]:
                raise OSError(_NO_KEY.format(missing)) from e
            raise OSError(_NO_CERT.format(missing)) from e
        except (OSError, ValueError) as e:
            raise SSLError(f"could not load the TLS files given as verify/cert: {e}") from e
        return self._configuration.update(**changes) if changes else self._configuration

    def _base_context(self) -> SSLContext:
        return self._context("origin", self._configuration)

    def _proxy_configuration(self, verify: object) -> TLSConfiguration:
        """How the TLS connection to an HTTPS proxy is made for a request with *verify*."""
        derived = self.configuration_for(verify, None)
        return derived.update(certificate_chain=self._configuration.certificate_chain)

    # -- HTTPAdapter hooks ----------------------------------------------------------------
    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        """Build the pool manager with the adapter's context as its default."""
        pool_kwargs.setdefault("ssl_context", self._base_context())
        pool_kwargs.setdefault("cert_reqs", _cert_reqs(self._configuration))
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """The manager for *proxy*, using the adapter's context (and for HTTPS proxies, as
        ``proxy_ssl_context``, for the TLS connection to the proxy)."""
        if proxy not in self.proxy_manager:
            proxy_kwargs.setdefault("ssl_context", self._base_context())
            proxy_kwargs.setdefault("cert_reqs", _cert_reqs(self._configuration))
            if proxy.lower().startswith("https"):
                proxy_kwargs.setdefault(
                    "proxy_ssl_context", self._context("proxy", self._configuration)
                )
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def _https_proxy_manager(self, proxy: str, configuration: TLSConfiguration) -> Any:
        if configuration == self._configuration:
            return self.proxy_manager_for(proxy)
        key = (proxy, configuration)
        with self._lock:
            manager = self._proxy_managers.get(key)
            if manager is not None:
                self._proxy_managers.move_to_end(key)
                return manager
        proxy_context = self._context("proxy", configuration)
        manager = proxy_from_url(
            proxy,
            proxy_headers=self.proxy_headers(proxy),
            num_pools=self._pool_connections,
            maxsize=self._pool_maxsize,
            block=self._pool_block,
            ssl_context=self._base_context(),
            cert_reqs=_cert_reqs(self._configuration),
            proxy_ssl_context=proxy_context,
        )
        with self._lock:
            existing = self._proxy_managers.get(key)
            if existing is not None:
                manager.clear()
                return existing
            self._proxy_managers[key] = manager
            while len(self._proxy_managers) > _CACHE_SIZE:
                _, old = self._proxy_managers.popitem(last=False)
                old.clear()
            return manager

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> tuple[Any, Any]:
        """requests' pool key, with this request's own context and no file paths.

        ``ssl_context`` is the derived context for ``(verify, cert)`` and ``cert_reqs``
        matches it, so urllib3 never changes it; ``ca_certs``, ``ca_cert_dir``,
        ``cert_file`` and ``key_file`` are dropped so urllib3 never loads files into it.
        """
        host_params: dict[str, Any]
        pool_kwargs: dict[str, Any]
        host_params, pool_kwargs = self._base().build_connection_pool_key_attributes(
            request, verify, cert
        )
        for name in _FILE_KEYS:
            pool_kwargs.pop(name, None)
        if str(host_params.get("scheme", "")).lower() == "https":
            configuration = self.configuration_for(verify, cert)
            pool_kwargs["ssl_context"] = self._context("origin", configuration)
            pool_kwargs["cert_reqs"] = _cert_reqs(configuration)
        else:  # plain HTTP: nothing TLS applies (see get_connection_with_tls_context)
            pool_kwargs.pop("ssl_context", None)
            pool_kwargs.pop("cert_reqs", None)
        return host_params, pool_kwargs

    def get_connection_with_tls_context(
        self,
        request: Any,
        verify: Any,
        proxies: Any = None,
        cert: Any = None,
    ) -> Any:
        """The urllib3 pool for *request*; HTTPS proxies get a TLS leg matching *verify*."""
        proxy = select_proxy(request.url, proxies)
        try:
            host_params, pool_kwargs = self.build_connection_pool_key_attributes(
                request, verify, cert
            )
        except ValueError as e:
            raise InvalidURL(e, request=request) from e
        if not proxy:
            return self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)
        proxy = _prepend_scheme(proxy, "http")
        proxy_url = parse_url(proxy)
        if not proxy_url.host:
            raise InvalidProxyURL(
                "Please check proxy URL. It is malformed and could be missing the host."
            )
        if (proxy_url.scheme or "").lower() != "https":
            manager = self.proxy_manager_for(proxy)
        else:
            # urllib3 2.x applies the pool's cert_reqs to proxy_ssl_context on every
            # connection, so the proxy's context must agree with it: one manager per
            # proxy-leg configuration, never a context that gets flipped.
            proxy_config = self._proxy_configuration(verify)
            manager = self._https_proxy_manager(proxy, proxy_config)
            if host_params["scheme"] == "http":  # forwarded: the TLS connection is to the proxy
                pool_kwargs["ssl_context"] = self._context("origin", proxy_config)
                pool_kwargs["cert_reqs"] = _cert_reqs(proxy_config)
        return manager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """requests' missing-file checks, without putting any file path on the pool.

        (requests' own version sets ``ca_certs``/``cert_file`` on the pool, which makes
        urllib3 load them, and certifi for ``verify=True``, into the shared context.)
        """
        if url.lower().startswith("https") and verify:
            _verify_key(verify)
        if cert:
            _cert_key(cert)
        for name in ("ca_certs", "ca_cert_dir", "cert_file", "key_file"):
            if getattr(conn, name, None) is not None:
                setattr(conn, name, None)

    def close(self) -> None:
        """Close every pool, including those of per-configuration proxy managers."""
        super().close()
        with self._lock:
            managers = list(self._proxy_managers.values())
            self._proxy_managers.clear()
        for manager in managers:
            manager.clear()
