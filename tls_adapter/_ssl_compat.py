"""Being an ``ssl.SSLContext``, ``ssl.SSLSocket`` and ``ssl.SSLObject`` without OpenSSL.

Theory of operation
-------------------
Some clients decide what to do by type, not by behaviour: asyncio's ``start_tls`` and
aiohttp accept only an ``isinstance(ctx, ssl.SSLContext)`` (aiohttp silently falls back
to an *unverified* context for anything else), and httpcore's sync backend reads ALPN
and does TLS inside TLS only for an ``isinstance(sock, ssl.SSLSocket)``. So the urllib3
shim's classes are real subclasses of the stdlib's. This module is the one place that
makes that safe:

* A subclass inherits the stdlib's C state and methods. ``ssl.SSLContext`` carries an
  (unused) OpenSSL ``SSL_CTX``; ``ssl.SSLSocket`` is a :class:`socket.socket` whose
  descriptor is never opened (``-1``). Any inherited attribute the shim does not define
  would act on that idle state and *silently do nothing* for the backend (a
  ``load_dh_params`` or ``sni_callback`` that "works", a ``connect`` on descriptor -1).
* :func:`stdlib_look_alike` therefore replaces every attribute that the shim class
  inherits from the stdlib class (and its bases, :mod:`socket` included) with an
  :class:`Unavailable` descriptor: reading, setting or calling it raises
  :class:`AttributeError` naming the class and the attribute, exactly what the
  duck-typed objects raised before they were subclasses (so ``hasattr`` stays honest).
  Names a newer Python adds to the stdlib classes are covered the same way, without a
  list to keep up to date. Only dunder methods are left to the stdlib; the shim defines
  the ones that matter (``__repr__``, ``__enter__``/``__exit__``), and pickling fails
  as it does for the stdlib objects.
* The classes are created without the stdlib constructors: :class:`ContextBase` makes
  the idle ``SSL_CTX`` once per context (client protocol, nothing loaded), the socket
  gets an unopened descriptor, and ``ssl.SSLObject.__init__`` (which refuses) is never
  called.

``tests/test_ssl_compat.py`` checks that no attribute of the shim's classes still
resolves to a stdlib implementation, on whichever Python runs the tests.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

__all__ = ["STDLIB_CONTEXT", "ContextBase", "Unavailable", "stdlib_look_alike"]

_C = TypeVar("_C", bound=type)


def _stdlib_context_class() -> type[ssl.SSLContext]:
    """The stdlib's own ``ssl.SSLContext``, even if something (truststore,
    :func:`tls_adapter.inject_into_ssl`) had replaced the module attribute."""
    for klass in ssl.SSLContext.__mro__:
        if klass.__module__ == "ssl" and klass.__name__ == "SSLContext":
            return klass
    raise ImportError("ssl.SSLContext is not the standard library's")  # pragma: no cover


#: The standard library's ``ssl.SSLContext`` class.
STDLIB_CONTEXT = _stdlib_context_class()


class Unavailable:
    """A class attribute that hides a stdlib attribute the look-alike does not support."""

    __slots__ = ("name", "reason")

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def _refuse(self, owner: type) -> NoReturn:
        raise AttributeError(
            f"{owner.__name__!r} object has no attribute {self.name!r} ({self.reason})"
        )

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self  # the class itself: introspection (dir(), help()) keeps working
        self._refuse(type(obj))

    def __set__(self, obj: object, value: object) -> None:
        self._refuse(type(obj))

    def __delete__(self, obj: object) -> None:
        self._refuse(type(obj))

    def __repr__(self) -> str:
        return f"<unavailable {self.name!r}: {self.reason}>"


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def stdlib_look_alike(
    stdlib: type, reason: str, *, storage: tuple[str, ...] = ()
) -> Callable[[_C], _C]:
    """Class decorator: hide every attribute *cls* would inherit from *stdlib*'s classes.

    *stdlib* is the stdlib class being subclassed (``ssl.SSLContext``, ``ssl.SSLSocket``
    or ``ssl.SSLObject``); every class in its MRO except :class:`object` counts as the
    stdlib's. An attribute is kept when the first class in *cls*'s MRO that defines it
    is not one of those, or when it is named in *storage* (stdlib ``__slots__`` the
    look-alike stores its own state in); otherwise it becomes :class:`Unavailable`
    with *reason*.
    """
    stdlib_classes = {klass for klass in stdlib.__mro__ if klass is not object}

    def decorate(cls: _C) -> _C:
        if not issubclass(cls, stdlib):
            raise TypeError(f"{cls.__name__} does not subclass {stdlib.__name__}")
        for name in dir(stdlib):
            if _is_dunder(name) or name in storage:
                continue
            owner = next(klass for klass in cls.__mro__ if name in vars(klass))
            if owner in stdlib_classes:
                setattr(cls, name, Unavailable(name, reason))
        return cls

    return decorate


class ContextBase(STDLIB_CONTEXT):  # type: ignore[misc,valid-type]
    """``ssl.SSLContext`` with a constructor that ignores the subclass's arguments.

    The stdlib allocates its (never used) OpenSSL context in ``__new__`` from a
    ``protocol``; the subclass's ``__init__`` takes different arguments, so ``__new__``
    always asks for a client context and leaves the rest to ``__init__``.
    """

    def __new__(cls, *args: object, **kwargs: object) -> ContextBase:
        context: ContextBase = super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)
        return context
