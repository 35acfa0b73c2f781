"""``inject_into_ssl()``: every client context a program creates, on a chosen backend.

Theory of operation
-------------------
Libraries that build their own contexts (httpx's ``verify=True``, aiohttp's defaults,
``urllib.request``, ``asyncio.open_connection(ssl=True)``, code deep in a dependency)
all call ``ssl.SSLContext(...)`` or ``ssl.create_default_context()``, and the latter
looks ``SSLContext`` up in the :mod:`ssl` module at call time. So injection replaces
that one module attribute with a subclass of :class:`tls_adapter.urllib3.SSLContext`
whose default backend and configuration are the injected ones. Three details keep
this safe:

* **Client contexts only.** ``SSLContext(PROTOCOL_TLS_SERVER)`` (and so
  ``create_default_context(Purpose.CLIENT_AUTH)``) still returns the stdlib's own
  context: servers in the same process keep working on OpenSSL.
* **``isinstance`` keeps its meaning.** The injected class's metaclass answers
  ``isinstance(obj, ssl.SSLContext)`` for every stdlib context, so contexts created
  before injection (or explicitly, e.g. ``tls_adapter.SSLContext(backend=...)``) are
  still accepted by asyncio and aiohttp while injected.
* **Copies made at import time.** urllib3 imports the class into
  ``urllib3.util.ssl_``; requests (2.32+) and aiohttp build default contexts when they
  are imported, and ``urlopen()`` keeps an opener whose HTTPS handler made its context
  on Python 3.12+. For the modules already imported, injection replaces those copies with
  ones built the same way on the injected class (each in one small named function
  below, since they are private names); modules imported later pick up the injected
  class by themselves. :func:`extract_from_ssl` puts every replaced object back.

Validation stays on by default (``configuration`` defaults to ``TLSConfiguration()``),
and which CAs a client trusts stays what it asks for: httpx's ``verify=True`` loads
certifi's bundle, aiohttp's default loads the default store (the configuration's
``trust_store``, the system's when that is ``None``).
"""

from __future__ import annotations

import functools
import ssl
import sys
import threading
from collections.abc import Callable
from typing import Any

from ._config import TLSConfiguration
from ._ssl_compat import STDLIB_CONTEXT
from .backends import Backend, default_backend, get_backend
from .urllib3 import SSLContext

__all__ = ["extract_from_ssl", "inject_into_ssl"]

_lock = threading.Lock()
# (object, attribute name) -> the value before the first injection.
_replaced: dict[tuple[Any, str], Any] = {}


class _StdlibInstances(type):
    """Metaclass of the injected class: every stdlib context is an instance of it, and a
    class statement that subclasses it (``class X(ssl.SSLContext)`` in a library
    imported while injected, such as rtls) subclasses the stdlib's class instead."""

    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> Any:
        if any(type(base) is mcls for base in bases):
            stdlib_bases = tuple(STDLIB_CONTEXT if type(b) is mcls else b for b in bases)
            stdlib_meta: type = type(STDLIB_CONTEXT)
            return stdlib_meta(name, stdlib_bases, namespace, **kwargs)
        return super().__new__(mcls, name, bases, namespace, **kwargs)

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, STDLIB_CONTEXT)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, STDLIB_CONTEXT)


def stdlib_context_c_base() -> type:
    """The C type under ``ssl.SSLContext`` (``_ssl._SSLContext``).

    The stdlib's property setters call ``super(SSLContext, SSLContext).<name>.__set__``
    with ``SSLContext`` looked up in :mod:`ssl` at call time: while injected that is the
    injected class, and the next class in its MRO must be the one with the C
    descriptors, or setting ``verify_mode`` on any stdlib context would recurse.
    """
    base = STDLIB_CONTEXT.__base__
    assert base is not None and base is not object and base.__module__ == "_ssl"
    return base


def _injected_class(backend: Backend, configuration: TLSConfiguration | None) -> type:
    """The class that stands in for ``ssl.SSLContext`` while injected.

    Calling it makes a :class:`tls_adapter.SSLContext
    <tls_adapter.urllib3.SSLContext>` (a subclass with the injected defaults) for
    clients, or the stdlib's own context for ``PROTOCOL_TLS_SERVER``. It is never
    instantiated itself.
    """
    client = type(
        "SSLContext",
        (SSLContext,),
        {
            "__module__": "tls_adapter",
            "__doc__": f"A client context made while injected (backend {backend.name!r}).",
            "_default_backend": backend,
            "_default_configuration": configuration,
            "_injected": True,
        },
    )

    def __new__(cls: type, protocol: Any = None, *args: Any, **kwargs: Any) -> Any:
        if protocol == ssl.PROTOCOL_TLS_SERVER:
            return STDLIB_CONTEXT(protocol)  # a server: the stdlib's
        if protocol is None:
            return client(*args, **kwargs)
        return client(protocol, *args, **kwargs)

    namespace = {
        "__module__": "ssl",
        "__qualname__": "SSLContext",
        "__doc__": (
            f"ssl.SSLContext while tls_adapter.inject_into_ssl() is in effect: client "
            f"contexts on backend {backend.name!r}, server contexts from the stdlib."
        ),
        "__new__": __new__,
        # extract_from_urllib3() recognises a stale copy of this class by it.
        "_tls_adapter_injected_ssl": True,
    }
    injected: type = _StdlibInstances("SSLContext", (stdlib_context_c_base(),), namespace)
    return injected


def _is_injected(value: object) -> bool:
    """Whether *value* is an injected class, a context made while injected, or a
    ``urllib.request`` opener holding such a context."""
    if type(value) is _StdlibInstances or getattr(type(value), "_injected", False) is True:
        return True
    return any(_is_injected(context) for context in _opener_contexts(value))


def _opener_contexts(opener: object) -> list[object]:
    """The contexts the HTTPS handlers of a ``urllib.request`` opener keep.

    On Python 3.12+ ``HTTPSHandler`` makes its default context when it is created, and
    ``urlopen()`` keeps its opener in ``urllib.request._opener`` for good.
    """
    handlers = getattr(opener, "handlers", None)
    if not isinstance(handlers, list):
        return []
    return [h._context for h in handlers if getattr(h, "_context", None) is not None]


def _replace(obj: Any, name: str, value: Any) -> None:
    """Set ``obj.name``, remembering the value it had before any injection."""
    current = getattr(obj, name)
    if not _is_injected(current):
        _replaced.setdefault((obj, name), current)
    setattr(obj, name, value)


def _requests_preloaded_context() -> Any:
    """requests' ``_preloaded_ssl_context``, made anew as requests makes it.

    requests 2.32+ builds it when ``requests.adapters`` is imported, with urllib3's
    ``create_urllib3_context()`` and its CA bundle, and uses it for ``verify=True``.
    """
    from requests import utils
    from urllib3.util.ssl_ import create_urllib3_context

    bundle: Callable[[str], str] = utils.extract_zipped_paths
    context = create_urllib3_context()
    context.load_verify_locations(bundle(utils.DEFAULT_CA_BUNDLE_PATH))
    return context


def _aiohttp_context_maker(connector: Any) -> Callable[[bool], Any] | None:
    """aiohttp's ``_make_ssl_context(verified)``, with which ``aiohttp.connector`` builds
    its ``_SSL_CONTEXT_VERIFIED``/``_SSL_CONTEXT_UNVERIFIED`` when it is imported;
    ``None`` for an aiohttp without them."""
    make: Callable[[bool], Any] | None = getattr(connector, "_make_ssl_context", None)
    return make if hasattr(connector, "_SSL_CONTEXT_VERIFIED") else None


def _copies() -> list[tuple[Any, str, Callable[[], Any]]]:
    """Every copy of ``ssl.SSLContext``, or of a context made from it, that a module
    already imported keeps: ``(module, attribute, remake)``, where ``remake()`` makes
    that value anew from ``ssl.SSLContext`` as it is now."""
    copies: list[tuple[Any, str, Callable[[], Any]]] = []
    for name in ("urllib3.util.ssl_", "urllib3.util"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "SSLContext"):
            copies.append((module, "SSLContext", lambda: ssl.SSLContext))
    adapters = sys.modules.get("requests.adapters")
    if getattr(adapters, "_preloaded_ssl_context", None) is not None:
        copies.append((adapters, "_preloaded_ssl_context", _requests_preloaded_context))
    connector = sys.modules.get("aiohttp.connector")
    make = None if connector is None else _aiohttp_context_maker(connector)
    if make is not None:
        copies.append((connector, "_SSL_CONTEXT_VERIFIED", functools.partial(make, True)))
        copies.append((connector, "_SSL_CONTEXT_UNVERIFIED", functools.partial(make, False)))
    request = sys.modules.get("urllib.request")
    if _opener_contexts(getattr(request, "_opener", None)):
        copies.append((request, "_opener", lambda: None))  # urlopen() makes a new one
    return copies


def inject_into_ssl(
    backend: str | Backend | None = None, configuration: TLSConfiguration | None = None
) -> None:
    """Make every client ``ssl.SSLContext`` the program creates use *backend*.

    Replaces :class:`ssl.SSLContext` (and urllib3's, requests', aiohttp's and
    ``urlopen()``'s copies of it, for those already made) so that ``ssl.SSLContext(...)``,
    ``ssl.create_default_context()`` and every library calling them get a
    :class:`tls_adapter.SSLContext <tls_adapter.urllib3.SSLContext>` on *backend* (default
    :func:`tls_adapter.default_backend`), starting from *configuration* (default
    ``TLSConfiguration()``: validation on, system trust). Server contexts
    (``PROTOCOL_TLS_SERVER``) stay the stdlib's. Calling it again changes the backend
    and configuration; :func:`extract_from_ssl` undoes it.

    Risks, for a process-wide switch: contexts created *before* the call (module-level
    ones in libraries not listed above) keep using OpenSSL; stdlib attributes the
    backends cannot honour (``sni_callback``, ``load_dh_params``, ...) raise
    :class:`AttributeError` on the injected contexts; a ``PROTOCOL_TLS`` context used
    for a server refuses ``wrap_socket(server_side=True)``; and it is process-wide,
    so every thread and library sees it at once. A class that subclasses
    ``ssl.SSLContext`` while injected (rtls, truststore imported late) subclasses the
    stdlib's class, as it would without injection.
    """
    chosen = get_backend(backend) if backend is not None else default_backend()
    if configuration is not None and not isinstance(configuration, TLSConfiguration):
        raise TypeError(
            f"configuration must be a TLSConfiguration, not {type(configuration).__name__}"
        )
    injected = _injected_class(chosen, configuration)
    with _lock:
        _replace(ssl, "SSLContext", injected)
        for module, name, remake in _copies():
            _replace(module, name, remake())


def extract_from_ssl() -> None:
    """Undo :func:`inject_into_ssl`: put back every object it replaced, exactly.

    Copies made while injected (urllib3, requests or aiohttp imported after the call)
    are rebuilt on the stdlib's class, as if the program had never injected.
    """
    with _lock:
        while _replaced:
            (obj, name), original = _replaced.popitem()
            current = getattr(obj, name, None)
            # Something else may have replaced it since (inject_into_urllib3): keep that.
            if _is_injected(current) or (name == "_opener" and current is None):
                setattr(obj, name, original)
        if _is_injected(ssl.SSLContext):  # pragma: no cover - only if _replaced was lost
            ssl.SSLContext = STDLIB_CONTEXT  # type: ignore[misc]
        for module, name, remake in _copies():  # made while injected
            if _is_injected(getattr(module, name, None)):
                setattr(module, name, remake())
