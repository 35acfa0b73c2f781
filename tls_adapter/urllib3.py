"""An ``ssl.SSLContext`` look-alike for urllib3 (1.26.x and 2.x), backed by any backend.

Use it explicitly::

    >>> import urllib3
    >>> from tls_adapter.urllib3 import SSLContext
    >>> http = urllib3.PoolManager(ssl_context=SSLContext(backend="openssl"))

or make every urllib3 connection use it with :func:`inject_into_urllib3` (undo with
:func:`extract_from_urllib3`). Everything urllib3 does to a context works: it sets
``verify_mode``, ``check_hostname``, ``minimum_version``, ``options``, calls
``load_verify_locations``/``load_cert_chain``/``set_alpn_protocols``/``set_ciphers``,
on every new connection. Each change becomes a new :class:`~tls_adapter.TLSConfiguration`
(readable as :attr:`SSLContext.configuration`); the backend context for a configuration
is built once, on first use, and cached, so a change that changes nothing rebuilds
nothing, and a change after sockets were wrapped affects only later sockets.

Where this context deliberately differs from :class:`ssl.SSLContext`:

* Setting ``verify_mode = CERT_NONE`` while ``check_hostname`` is true does not raise
  ``ValueError``: it turns certificate validation *and* the hostname check off (what
  urllib3's ``cert_reqs="CERT_NONE"`` and requests' ``verify=False`` mean).
* Trust: until something is loaded, the configuration's ``trust_store`` is used (the
  system store when it is ``None``), like ``ssl.create_default_context()``. The first
  ``load_verify_locations()`` *replaces* it; later loads add to what was loaded, as in
  :mod:`ssl`. ``load_default_certs()``/``set_default_verify_paths()`` add that
  default store back (a no-op while nothing else was loaded).
* ``hostname_checks_common_name`` defaults to ``False`` (no backend matches the subject
  CN). Setting it to ``True`` makes this module match the hostname itself after the
  backend validated the chain, with the stdlib's rules (CN only without DNS SANs).
* ``verify_flags`` is accepted and reported, but the backends apply their own strict
  chain rules (``VERIFY_X509_STRICT``-like; ``verify_flags = 0`` does not relax them).
  With CRL checking (``VERIFY_CRL_CHECK_*``) requested, wrapping fails with
  ``ssl.SSLError``, because no CRLs can be loaded.
* ``keylog_filename`` is accepted (urllib3 sets it from ``$SSLKEYLOGFILE``) but no key
  log is written: the PEP 543 API has no way to get secrets out of a backend.
* ``post_handshake_auth`` is accepted and reported; it changes nothing.
* ``set_ciphers()`` takes an OpenSSL cipher string; the TLS 1.2 (and lower) suites it
  selects, after the default TLS 1.3 suites (the string does not touch TLS 1.3, as in
  :mod:`ssl`), become ``TLSConfiguration.ciphers``. A backend that cannot honour that
  list refuses it when the context is built (``ssl.SSLError``), never ignores it.
* ``sni_callback`` and server-side wrapping are not available;
  ``wrap_socket(server_side=True)`` raises ``ValueError``.
* Session resumption is done by the context itself (:attr:`SSLContext.session_resumption`,
  on by default, for backends that can resume): new connections to a server resume the
  session of an earlier, validated connection to the same name, address and port,
  under the same configuration. ``wrap_socket(session=...)`` raises ``ValueError``;
  ``sock.session`` is ``None`` and ``sock.session_reused`` says whether it resumed.

Errors are the :mod:`ssl` ones urllib3 handles: a bad certificate raises
``ssl.SSLCertVerificationError`` ("certificate verify failed: ...", with
``verify_code``/``verify_message``; the client's alert is sent to the server first),
other TLS failures ``ssl.SSLError`` with the backend's text, timeouts ``socket.timeout``.
Where backends word things differently, OpenSSL's words are added, because urllib3 and
its users look for them: ``Hostname mismatch, certificate is not valid for '<name>'.``
and ``wrong version number`` (a peer that does not speak TLS, e.g. an HTTP proxy).

The context is an instance of :class:`ssl.SSLContext`, the sockets it returns of
``ssl.SSLSocket`` and its ``wrap_bio()`` objects of ``ssl.SSLObject``, so clients that
check types (httpx's sync HTTP/2 and HTTPS proxies, asyncio's ``start_tls``, aiohttp)
accept them; nothing of OpenSSL runs in them, and stdlib attributes they do not
implement (``sni_callback``, ``load_dh_params``, ``socket.connect``, ...) raise
:class:`AttributeError` (see ``tls_adapter/_ssl_compat.py``). The same class is
``tls_adapter.SSLContext``. With the ``openssl`` backend the connection *is* an
``ssl.SSLSocket`` underneath, and reads and writes go straight to it (its errors are
already the ones described above), so a download through the shim costs what it costs
through :mod:`ssl`.
"""

from __future__ import annotations

import functools
import os
import socket as _socket
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ._api import ClientContext
from ._ciphers import (
    DEFAULT_CIPHER_LIST,
    TLS13_CIPHER_SUITES,
    CipherSuite,
    cipher_suite_from_int,
)
from ._config import TLSConfiguration
from ._enums import TLSVersion, protocol_bytes
from ._errors import ConfigurationError, TLSError
from ._session import SessionCache, fresh_peer
from ._shim_config import (
    CRL_FLAGS,
    FROM_OURS,
    PROTOCOL_PINS,
    PROTOCOL_TLS,
    PROTOCOL_TLS_CLIENT,
    PROTOCOL_TLS_SERVER,
    cadata_store,
    client_context,
    effective_versions,
    merged_trust,
    password_bytes,
    stdlib_cipher_dicts,
    stdlib_defaults,
    store_certificates,
)
from ._shim_socket import (
    SSLObject,
    SSLSocket,
    WrapChecks,
    new_object,
    new_socket,
    ssl_error_from,
)
from ._ssl_compat import STDLIB_CONTEXT, ContextBase, stdlib_look_alike
from ._trust import Certificate, PrivateKey, TrustStore
from ._x509 import decode_certificate, is_ca_certificate
from .backends import Backend, default_backend, get_backend

__all__ = ["SSLContext", "extract_from_urllib3", "inject_into_urllib3"]


# -- the context ---------------------------------------------------------------------------
@stdlib_look_alike(STDLIB_CONTEXT, "not supported by tls_adapter's SSLContext")
class SSLContext(ContextBase):
    """An :class:`ssl.SSLContext` for urllib3 and other clients, backed by any backend.

    :param configuration: the starting :class:`~tls_adapter.TLSConfiguration`
        (default: ``TLSConfiguration()``: validation on, system trust, TLS 1.2+). An
        ``int`` is taken as the ``protocol`` argument of :class:`ssl.SSLContext`, so
        urllib3 can call ``SSLContext(ssl.PROTOCOL_TLS_CLIENT)``; ``PROTOCOL_TLSv1``,
        ``PROTOCOL_TLSv1_1`` and ``PROTOCOL_TLSv1_2`` pin that one version.
    :param backend: a backend name or :class:`~tls_adapter.Backend`
        (default :func:`tls_adapter.default_backend`).
    :param protocol: as the first argument of :class:`ssl.SSLContext`.

    Instances hash by identity (urllib3 keys connection pools on the context) and are
    safe to share between threads. They are instances of :class:`ssl.SSLContext`, so
    clients that check the type (asyncio's ``start_tls``, aiohttp, httpx) accept them;
    stdlib attributes this class does not implement raise :class:`AttributeError`
    (see :mod:`tls_adapter._ssl_compat`). Like :mod:`ssl`'s, they cannot be pickled.
    """

    #: Accepted for urllib3's ``$SSLKEYLOGFILE`` support; no key log is written.
    keylog_filename: str | None = None

    # Set on the subclasses made by inject_into_urllib3().
    _default_backend: Backend | None = None
    _default_configuration: TLSConfiguration | None = None

    def __init__(
        self,
        configuration: TLSConfiguration | int | None = None,
        *,
        backend: str | Backend | None = None,
        protocol: int | None = None,
    ) -> None:
        if isinstance(configuration, int) and not isinstance(configuration, bool):
            if protocol is not None:
                raise TypeError("protocol given twice")
            protocol, configuration = configuration, None
        if configuration is None:
            configuration = self._default_configuration
        if configuration is None:
            configuration = TLSConfiguration()
        if not isinstance(configuration, TLSConfiguration):
            raise TypeError(
                f"configuration must be a TLSConfiguration, not {type(configuration).__name__}"
            )
        if backend is None:
            backend = (
                self._default_backend if self._default_backend is not None else (default_backend())
            )
        self._backend = get_backend(backend)
        self._lock = threading.RLock()
        self._base = configuration
        self._protocol = PROTOCOL_TLS_CLIENT if protocol is None else int(protocol)
        options, flags = stdlib_defaults()
        minimum = FROM_OURS.get(configuration.lowest_supported_version, ssl.TLSVersion.TLSv1_2)
        maximum = FROM_OURS.get(
            configuration.highest_supported_version, ssl.TLSVersion.MAXIMUM_SUPPORTED
        )
        if self._protocol in PROTOCOL_PINS:
            minimum = maximum = PROTOCOL_PINS[self._protocol]
        elif self._protocol == PROTOCOL_TLS_SERVER:
            raise ValueError(
                "tls_adapter.urllib3.SSLContext is client-only: use PROTOCOL_TLS_CLIENT"
            )
        elif self._protocol not in (PROTOCOL_TLS, PROTOCOL_TLS_CLIENT):
            raise ValueError(f"unsupported protocol {protocol!r}")
        validate = configuration.validate_certificates
        self._state: dict[str, Any] = {
            "verify_mode": ssl.CERT_REQUIRED if validate else ssl.CERT_NONE,
            "minimum_version": minimum,
            "maximum_version": maximum,
            "options": options,
            "ciphers": configuration.ciphers,
            "alpn": configuration.inner_protocols,
            "chain": configuration.certificate_chain,
            "loaded": (),
        }
        self._check_hostname = validate
        self._verify_flags = flags
        self._hostname_checks_common_name = False
        self._post_handshake_auth = False
        self._configuration: TLSConfiguration | None = None
        self._error: ssl.SSLError | None = None
        # The backend context of the last configuration wrapped with: every new
        # connection looks it up, and hashing a configuration (and the backend) for the
        # shared cache on each one costs more than the identity check.
        self._last_context: tuple[TLSConfiguration, ClientContext] | None = None
        # The ALPN list last given to set_alpn_protocols() and in effect since.
        self._alpn_set: tuple[bytes, ...] | None = None
        #: Sessions to resume (see session_resumption), this context's own.
        self._sessions = SessionCache()
        self._resume = True
        self._refresh()

    # -- state -> TLSConfiguration -------------------------------------------------------
    def _trust(self) -> TrustStore | None:
        loaded: tuple[TrustStore, ...] = self._state["loaded"]
        if not loaded:
            return self._base.trust_store
        if len(loaded) == 1:
            return loaded[0]
        return merged_trust(loaded)

    def _refresh(self) -> None:
        state = self._state
        try:
            lowest, highest = effective_versions(
                state["minimum_version"], state["maximum_version"], state["options"]
            )
            configuration = self._base.update(
                validate_certificates=state["verify_mode"] != ssl.CERT_NONE,
                certificate_chain=state["chain"],
                ciphers=state["ciphers"],
                inner_protocols=state["alpn"],
                lowest_supported_version=lowest,
                highest_supported_version=highest,
                trust_store=self._trust(),
            )
        except ssl.SSLError as e:
            self._configuration, self._error = None, e
            return
        except ValueError as e:
            self._configuration = None
            self._error = ssl.SSLError(ssl.SSL_ERROR_SSL, f"[SSL: NO_PROTOCOLS_AVAILABLE] {e}")
            return
        if configuration != self._configuration:
            self._configuration = configuration
        self._error = None

    def _set(self, name: str, value: object) -> None:
        with self._lock:
            if self._state[name] == value and type(self._state[name]) is type(value):
                return
            self._state[name] = value
            self._refresh()

    @property
    def configuration(self) -> TLSConfiguration:
        """The :class:`~tls_adapter.TLSConfiguration` the next wrapped socket will use.

        :raises ssl.SSLError: the settings allow no TLS version at all.
        """
        with self._lock:
            if self._configuration is None:
                assert self._error is not None
                raise self._error
            return self._configuration

    @property
    def backend(self) -> Backend:
        """The :class:`~tls_adapter.Backend` doing the TLS."""
        return self._backend

    @property
    def protocol(self) -> ssl._SSLMethod:
        """The ``protocol`` this context was created with (``PROTOCOL_TLS_CLIENT`` by default)."""
        return type(ssl.PROTOCOL_TLS_CLIENT)(self._protocol)

    # -- the ssl.SSLContext properties --------------------------------------------------
    @property
    def verify_mode(self) -> ssl.VerifyMode:
        """``CERT_REQUIRED`` (or ``CERT_OPTIONAL``): validate; ``CERT_NONE``: don't.

        Unlike :mod:`ssl`, setting ``CERT_NONE`` while :attr:`check_hostname` is true
        also turns :attr:`check_hostname` off instead of raising ``ValueError``.
        """
        mode: ssl.VerifyMode = self._state["verify_mode"]
        return mode

    @verify_mode.setter
    def verify_mode(self, value: int) -> None:
        try:
            mode = ssl.VerifyMode(value)
        except ValueError:
            raise ValueError("invalid value for verify_mode") from None
        if mode is not ssl.CERT_NONE and self._state["verify_mode"] is mode:
            return  # urllib3 sets it on every new connection: nothing changes
        with self._lock:
            if mode == ssl.CERT_NONE:
                self._check_hostname = False
            self._set("verify_mode", mode)

    @property
    def check_hostname(self) -> bool:
        """Whether the certificate must match ``server_hostname`` (DNS name or IP).

        Setting it to ``True`` also sets :attr:`verify_mode` to ``CERT_REQUIRED`` if it
        was ``CERT_NONE``, as in :mod:`ssl`. With ``False``, SNI is still sent and the
        chain is still validated (per :attr:`verify_mode`).
        """
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value: bool) -> None:
        with self._lock:
            self._check_hostname = bool(value)
            if value and self._state["verify_mode"] == ssl.CERT_NONE:
                self._set("verify_mode", ssl.CERT_REQUIRED)

    @property
    def minimum_version(self) -> ssl.TLSVersion:
        """The lowest TLS version (an :class:`ssl.TLSVersion`)."""
        version: ssl.TLSVersion = self._state["minimum_version"]
        return version

    @minimum_version.setter
    def minimum_version(self, value: ssl.TLSVersion | TLSVersion) -> None:
        self._set("minimum_version", _ssl_version(value))

    @property
    def maximum_version(self) -> ssl.TLSVersion:
        """The highest TLS version (an :class:`ssl.TLSVersion`)."""
        version: ssl.TLSVersion = self._state["maximum_version"]
        return version

    @maximum_version.setter
    def maximum_version(self, value: ssl.TLSVersion | TLSVersion) -> None:
        self._set("maximum_version", _ssl_version(value))

    @property
    def options(self) -> ssl.Options:
        """``ssl.OP_*`` bits. ``OP_NO_TLSv1*`` narrow the version range; others are kept."""
        return ssl.Options(self._state["options"])

    @options.setter
    def options(self, value: int) -> None:
        self._set("options", int(value))

    @property
    def verify_flags(self) -> ssl.VerifyFlags:
        """``ssl.VERIFY_*`` bits; reported, not forwarded.

        CRL checking (``VERIFY_CRL_CHECK_LEAF``/``CHAIN``) cannot be done: with those
        bits set, wrapping fails with :class:`ssl.SSLError` (never a silent downgrade).
        """
        return ssl.VerifyFlags(self._verify_flags)

    @verify_flags.setter
    def verify_flags(self, value: int) -> None:
        self._verify_flags = int(value)

    @property
    def hostname_checks_common_name(self) -> bool:
        """Whether the subject CN may stand in for a missing DNS SAN (default ``False``)."""
        return self._hostname_checks_common_name

    @hostname_checks_common_name.setter
    def hostname_checks_common_name(self, value: bool) -> None:
        self._hostname_checks_common_name = bool(value)

    @property
    def post_handshake_auth(self) -> bool:
        """Accepted and reported; TLS 1.3 post-handshake authentication is not offered."""
        return self._post_handshake_auth

    @post_handshake_auth.setter
    def post_handshake_auth(self, value: bool) -> None:
        self._post_handshake_auth = bool(value)

    # -- trust ---------------------------------------------------------------------------
    def _add_trust(self, stores: Iterable[TrustStore]) -> None:
        with self._lock:
            previous: tuple[TrustStore, ...] = self._state["loaded"]
            self._set("loaded", tuple(dict.fromkeys((*previous, *stores))))
            if self._configuration is None:
                error = self._error
                self._set("loaded", previous)
                assert error is not None
                raise error

    def load_verify_locations(
        self,
        cafile: str | os.PathLike[str] | None = None,
        capath: str | os.PathLike[str] | None = None,
        cadata: str | bytes | None = None,
    ) -> None:
        """Trust the CAs in *cafile* (PEM), *capath* (hashed directory) and/or *cadata*.

        The first call replaces the configuration's trust store; later calls add to it.
        Loading the same location again changes nothing.

        :raises OSError: a file or directory does not exist.
        :raises ssl.SSLError: no certificate was found in it.
        """
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        stores = []
        if cafile is not None:
            try:
                stores.append(TrustStore.from_pem_file(cafile))
            except ValueError as e:
                raise ssl.SSLError(
                    ssl.SSL_ERROR_SSL, f"[X509: NO_CERTIFICATE_OR_CRL_FOUND] {e}"
                ) from e
        if capath is not None:
            stores.append(TrustStore.from_directory(capath))
        if cadata is not None:
            stores.append(cadata_store(cadata))
        self._add_trust(stores)

    def load_default_certs(self, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH) -> None:
        """Trust the default store: the configuration's ``trust_store`` (or the system's)."""
        if not isinstance(purpose, ssl.Purpose):
            raise TypeError(f"purpose must be an ssl.Purpose, not {purpose!r}")
        self.set_default_verify_paths()

    def set_default_verify_paths(self) -> None:
        """Like :meth:`load_default_certs`."""
        with self._lock:
            if self._state["loaded"]:
                default = self._base.trust_store
                self._add_trust([default if default is not None else TrustStore.system()])

    def _trust_certificates(self) -> list[bytes]:
        certs = store_certificates(self._trust())
        return certs or []

    def cert_store_stats(self) -> dict[str, int]:
        """Counts of the trusted certificates that can be listed (best effort)."""
        certs = self._trust_certificates()
        ca = sum(1 for der in certs if is_ca_certificate(der))
        return {"x509": len(certs), "crl": 0, "x509_ca": ca}

    def get_ca_certs(self, binary_form: bool = False) -> list[Any]:
        """The trusted CA certificates that can be listed, as dicts or DER (best effort)."""
        certs = [der for der in self._trust_certificates() if is_ca_certificate(der)]
        if binary_form:
            return certs
        return [decode_certificate(der) for der in certs]

    # -- identity ------------------------------------------------------------------------
    def load_cert_chain(
        self,
        certfile: str | os.PathLike[str],
        keyfile: str | os.PathLike[str] | None = None,
        password: str | bytes | Callable[[], str | bytes] | None = None,
    ) -> None:
        """Present the certificate chain in *certfile* with the key in *keyfile*.

        *keyfile* defaults to *certfile* (a file holding key and chain). *password*
        may be ``str``, ``bytes`` or a callable returning either; it is used only if
        the key is encrypted. Errors show here, as with :mod:`ssl`.
        """
        try:
            certs = Certificate.chain_from_file(certfile)
            key = PrivateKey.from_file(keyfile if keyfile is not None else certfile)
        except ValueError as e:
            raise ssl.SSLError(ssl.SSL_ERROR_SSL, f"[SSL] PEM lib: {e}") from e
        if key.encrypted:
            if password is None:
                raise ssl.SSLError(
                    ssl.SSL_ERROR_SSL,
                    "[SSL] PEM lib: the private key is encrypted and no password was given",
                )
            key = PrivateKey.from_file(
                keyfile if keyfile is not None else certfile, password=password_bytes(password)
            )
        elif password is not None and not (
            callable(password) or isinstance(password, (str, bytes, bytearray))
        ):
            raise TypeError("password should be a string or callable")
        with self._lock:
            previous = self._state["chain"]
            self._set("chain", (certs, key))
            try:
                self._backend_context(self.configuration)
            except ssl.SSLError:
                self._set("chain", previous)
                raise

    # -- ciphers and ALPN ----------------------------------------------------------------
    def set_ciphers(self, ciphers: str) -> None:
        """Allow the TLS 1.2-and-lower suites an OpenSSL cipher string selects.

        As with :mod:`ssl`, the string does not touch TLS 1.3: the TLS 1.3 suites stay
        the default ones (those of :data:`~tls_adapter.DEFAULT_CIPHER_LIST`).

        :raises ssl.SSLError: the string selects no suite.
        """
        probe = STDLIB_CONTEXT(ssl.PROTOCOL_TLS_CLIENT)
        probe.set_ciphers(ciphers)
        legacy = [
            info["id"] & 0xFFFF for info in probe.get_ciphers() if info["protocol"] != "TLSv1.3"
        ]
        if not legacy:
            raise ssl.SSLError(ssl.SSL_ERROR_SSL, "No cipher can be selected.")
        tls13 = [int(s) for s in DEFAULT_CIPHER_LIST if int(s) in TLS13_CIPHER_SUITES]
        values = tuple(dict.fromkeys(tls13 + legacy))
        self._set("ciphers", tuple(cipher_suite_from_int(v) for v in values))

    def get_ciphers(self) -> list[dict[str, Any]]:
        """The allowed suites in the format of :meth:`ssl.SSLContext.get_ciphers`."""
        table = stdlib_cipher_dicts()
        suites = self._state["ciphers"] or DEFAULT_CIPHER_LIST
        out = []
        for suite in suites:
            value = int(suite)
            info = table.get(value)
            if info is None:
                name = suite.name if isinstance(suite, CipherSuite) else f"0x{value:04X}"
                tls13 = 0x1301 <= value <= 0x13FF
                info = {
                    "id": 0x03000000 | value,
                    "name": name,
                    "protocol": "TLSv1.3" if tls13 else "TLSv1.2",
                    "description": name,
                }
            out.append(dict(info))
        return out

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        """Offer these ALPN protocols (e.g. ``["http/1.1"]``), in preference order."""
        raw = []
        for protocol in alpn_protocols:
            data = protocol.encode("ascii")
            if not 1 <= len(data) <= 255:
                raise ValueError("ALPN protocols must be 1 to 255 in length")
            raw.append(data)
        wanted = tuple(raw)
        if wanted == self._alpn_set:
            return  # urllib3 sets it on every new connection: nothing changes
        with self._lock:
            current = tuple(protocol_bytes(p) for p in self._state["alpn"])
            if wanted != current:
                self._set("alpn", wanted)
            self._alpn_set = wanted

    # -- wrapping ------------------------------------------------------------------------
    def _backend_context(self, configuration: TLSConfiguration) -> ClientContext:
        last = self._last_context
        if last is not None and last[0] is configuration:
            return last[1]
        try:
            context = client_context(self._backend, configuration)
        except ConfigurationError as e:
            raise ssl_error_from(e) from e
        self._last_context = (configuration, context)
        return context

    def _prepare(
        self, server_side: bool, server_hostname: str | bytes | None, session: object
    ) -> tuple[ClientContext, WrapChecks, bool]:
        """The backend context, the wrap-time checks, and whether the backend matches names."""
        if server_side:
            raise ValueError("tls_adapter.urllib3.SSLContext can only wrap client sockets")
        if session is not None:
            raise ValueError(
                "session= is not accepted: this context resumes sessions itself "
                "(see SSLContext.session_resumption)"
            )
        name = _hostname(server_hostname)
        with self._lock:
            configuration = self._configuration
            if configuration is None:
                assert self._error is not None
                raise self._error
            if configuration.validate_certificates and self._verify_flags & CRL_FLAGS:
                raise ssl.SSLError(
                    ssl.SSL_ERROR_SSL,
                    "CRL checking (verify_flags VERIFY_CRL_CHECK_*) is not supported by "
                    "tls_adapter.urllib3.SSLContext",
                )
            check = self._check_hostname and configuration.validate_certificates
            allow_cn = self._hostname_checks_common_name
        if check and not name:
            raise ValueError("check_hostname requires server_hostname")
        context = self._backend_context(configuration)
        # No backend falls back to the subject CN; when asked to, match here instead.
        match_name = name if check and allow_cn else None
        backend_check = check and match_name is None
        checks = WrapChecks(
            name, configuration.validate_certificates, match_name, allow_cn, backend_check
        )
        return context, checks, backend_check

    def wrap_socket(
        self,
        sock: _socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: object = None,
    ) -> SSLSocket:
        """Wrap a connected socket; the handshake runs here unless told otherwise.

        *server_hostname* is sent as SNI (not for IP literals) and, while
        :attr:`check_hostname` is true, the certificate must match it. On failure the
        socket is closed and an :class:`ssl.SSLError` (``SSLCertVerificationError`` for
        a bad certificate) is raised, after the alert has been sent to the server.
        """
        if do_handshake_on_connect and sock.gettimeout() == 0.0:
            raise ValueError(
                "do_handshake_on_connect should not be specified for non-blocking sockets"
            )
        context, checks, backend_check = self._prepare(server_side, server_hostname, session)
        key = self._resume_key(sock, context, checks, backend_check)
        offered = None if key is None else self._sessions.take(key)
        try:
            tls = context.wrap_socket(
                sock, checks.server_hostname, check_hostname=backend_check, session=offered
            )
        except TLSError as e:
            raise ssl_error_from(e) from e
        wrapped = new_socket(self, tls, checks, suppress_ragged_eofs, do_handshake_on_connect)
        if key is not None:
            wrapped._resumption(self._sessions, key, offered)
        if do_handshake_on_connect:
            try:
                wrapped.do_handshake()
            except BaseException:
                wrapped.close()
                raise
        return wrapped

    # -- session resumption ----------------------------------------------------------
    @property
    def session_resumption(self) -> bool:
        """Whether new connections resume earlier sessions (default ``True``).

        Sessions are kept in memory by this context, keyed by the backend context (so
        the whole configuration), the server name and the address and port connected
        to; each is offered once, within its lifetime, and only sessions of validated
        connections that ended without a TLS error are kept. A connection made through
        an HTTP proxy's tunnel, inside TLS (``wrap_bio``), with validation off or with
        ``hostname_checks_common_name`` neither offers nor keeps one. ``False`` forgets
        every kept session: resumption links a client's connections to one another,
        which a server (or an observer of the first handshake) can see.
        """
        return self._resume

    @session_resumption.setter
    def session_resumption(self, value: bool) -> None:
        self._resume = bool(value)
        if not value:
            self._sessions.clear()

    def _resume_key(
        self, sock: _socket.socket, context: ClientContext, checks: WrapChecks, backend_check: bool
    ) -> tuple[object, ...] | None:
        """What a session for this connection is kept under, or ``None`` (no resumption)."""
        if not (self._resume and checks.validated and checks.server_hostname):
            return None
        if checks.match_name is not None or not self._backend.capabilities.session_resumption:
            return None
        peer = fresh_peer(sock)
        if peer is None:
            return None
        key = (context, backend_check, checks.server_hostname, peer)
        return None if self._sessions.declined(key) else key

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: object = None,
    ) -> SSLObject:
        """A TLS client over two :class:`ssl.MemoryBIO` objects (TLS inside TLS)."""
        context, checks, backend_check = self._prepare(server_side, server_hostname, session)
        try:
            buffer = context.wrap_buffers(checks.server_hostname, check_hostname=backend_check)
        except TLSError as e:
            raise ssl_error_from(e) from e
        return new_object(self, buffer, checks, incoming, outgoing)

    def __repr__(self) -> str:
        kind = f"{type(self).__module__}.{type(self).__qualname__}"
        return f"<{kind} backend={self._backend.name!r} at 0x{id(self):x}>"


def _hostname(server_hostname: str | bytes | None) -> str | None:
    """*server_hostname* as ``ssl`` stores it: a str, IDNA-encoded for names."""
    if server_hostname is None:
        return None
    if isinstance(server_hostname, (bytes, bytearray)):
        return bytes(server_hostname).decode("ascii")
    if not isinstance(server_hostname, str):
        raise TypeError("server_hostname must be str, bytes or None")
    return _idna_hostname(str(server_hostname))


@functools.lru_cache(maxsize=512)
def _idna_hostname(server_hostname: str) -> str:
    """*server_hostname* IDNA-encoded, as ``ssl`` does (cached: names repeat per host)."""
    if ":" in server_hostname or server_hostname.startswith("["):
        return server_hostname  # an IPv6 literal
    try:
        return server_hostname.encode("idna").decode("ascii")
    except UnicodeError:
        return server_hostname  # the backend reports the bad name


def _ssl_version(value: object) -> ssl.TLSVersion:
    if isinstance(value, TLSVersion):
        if value not in FROM_OURS:
            raise ValueError(f"unsupported TLS version {value!r}")
        return FROM_OURS[value]
    if not isinstance(value, int):
        raise TypeError(f"expected an ssl.TLSVersion, not {type(value).__name__}")
    try:
        return ssl.TLSVersion(value)
    except ValueError:
        raise ValueError(f"unsupported TLS version {value!r}") from None


# -- injection -----------------------------------------------------------------------------
_ATTRIBUTE = "SSLContext"
_injection: dict[str, tuple[Any, Any]] = {}
_inject_lock = threading.Lock()


def inject_into_urllib3(
    backend: str | Backend | None = None, configuration: TLSConfiguration | None = None
) -> None:
    """Make every context urllib3 creates itself a :class:`SSLContext` on *backend*.

    Patches ``urllib3.util.SSLContext`` and ``urllib3.util.ssl_.SSLContext`` (urllib3
    1.26.x and 2.x), which urllib3 instantiates as ``SSLContext(protocol)``; contexts
    passed explicitly as ``ssl_context=`` are not touched. *configuration* is the
    starting configuration of every such context. Calling it again replaces the
    backend/configuration; :func:`extract_from_urllib3` restores what urllib3 had
    before the first call. ``urllib3.util.IS_PYOPENSSL`` is left alone, so urllib3
    leaves hostname checking to the backend.
    """
    import urllib3.util as urllib3_util
    import urllib3.util.ssl_ as urllib3_ssl

    chosen = get_backend(backend) if backend is not None else default_backend()
    if configuration is not None and not isinstance(configuration, TLSConfiguration):
        raise TypeError(
            f"configuration must be a TLSConfiguration, not {type(configuration).__name__}"
        )
    injected = type(
        "SSLContext",
        (SSLContext,),
        {
            "__module__": __name__,
            "__doc__": f"The SSLContext injected into urllib3 (backend {chosen.name!r}).",
            "_default_backend": chosen,
            "_default_configuration": configuration,
        },
    )
    with _inject_lock:
        _injection.setdefault(
            "originals",
            (getattr(urllib3_util, _ATTRIBUTE), getattr(urllib3_ssl, _ATTRIBUTE)),
        )
        setattr(urllib3_util, _ATTRIBUTE, injected)
        setattr(urllib3_ssl, _ATTRIBUTE, injected)


def extract_from_urllib3() -> None:
    """Undo :func:`inject_into_urllib3`: restore the classes urllib3 had before."""
    import urllib3.util as urllib3_util
    import urllib3.util.ssl_ as urllib3_ssl

    with _inject_lock:
        originals = _injection.pop("originals", None)
        if originals is None:
            return
        for module, original in zip((urllib3_util, urllib3_ssl), originals, strict=True):
            # inject_into_ssl()'s class, taken over when this injection began: put back
            # what ssl has now (that injection may have ended since).
            stale = getattr(original, "_tls_adapter_injected_ssl", False)
            setattr(module, _ATTRIBUTE, ssl.SSLContext if stale else original)
