"""What every server context shares, whichever library it drives.

A backend supplies library glue only; the security-relevant server logic lives here,
once: the preconditions a server configuration must meet, the ``sni_callback`` runner
with its cache of derived contexts, and the shape of a key or password failure.

Theory of operation
-------------------
* **Preconditions.** :func:`check_server_configuration` runs before a backend builds
  anything. It refuses, with a :class:`ConfigurationError` naming the backend, what no
  library could honour (no certificate chain and no ``sni_callback`` to supply one; a
  ``trust_store``, i.e. required client certificates, with
  ``validate_certificates=False``) and what this backend declares it cannot do.
* **The SNI callback.** A library calls its post-ClientHello hook from C, where no
  Python exception may surface. The backend's hook calls :meth:`SNIDispatch.run`, which
  decodes the server name (:func:`decode_server_name`), calls
  ``config.sni_callback(owner, server_name, config)``, checks that it returned a
  :class:`TLSConfiguration`, and, if that differs from the context's own, hands the
  derived context to the backend's *switch* function (which points the connection at
  it). Anything that fails on the way, the callback itself included, comes out as one
  :class:`SNICallbackError` chained to the original exception. The backend then either
  lets it travel through its binding (the ctypes bindings stash it and re-raise it from
  ``handshake()``) or, where the library cannot carry a Python exception (``ssl``,
  pyOpenSSL), parks it on the connection (:func:`park`) and answers the library with a
  fatal alert (:meth:`SNIDispatch.run_or_park` does both). Either way
  ``do_handshake()`` raises ``TLSError("sni_callback failed: <the exception>")`` from
  the original exception (:func:`raise_sni_failure`), on every backend alike.
* **Derived contexts.** A configuration the callback returns is built into a context
  once (with ``sni_callback=None``) and cached: :class:`DerivedContexts`, at most
  :data:`DERIVED_CONTEXTS_MAX` of them, the least recently used evicted first (LRU), under
  a lock because handshakes run on many threads. A bound matters: the callback may
  derive a configuration from attacker-chosen server names. An evicted context lives on
  in the connections that switched to it and is rebuilt when asked for again.
* **Keys.** :func:`key_password` and :func:`key_error` give every backend the same
  :class:`ConfigurationError` for an unusable password, a wrong one, or a key that does
  not match the leaf; neither ever includes the password.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, NoReturn, Protocol, TypeVar

from .._config import TLSConfiguration
from .._errors import ConfigurationError, TLSError
from .._trust import PrivateKey

__all__ = [
    "DERIVED_CONTEXTS_MAX",
    "DerivedContexts",
    "SNICallbackError",
    "SNIDispatch",
    "check_server_configuration",
    "decode_server_name",
    "decrypted_pkcs8",
    "key_error",
    "key_password",
    "park",
    "raise_parked",
    "raise_sni_failure",
]

#: How many derived contexts a server context keeps (least recently used evicted first).
DERIVED_CONTEXTS_MAX = 64

C = TypeVar("C")
R = TypeVar("R")
S = TypeVar("S")


# -- preconditions ----------------------------------------------------------------------
def check_server_configuration(
    config: TLSConfiguration,
    backend: str,
    *,
    sni_callback: bool = True,
    client_auth: bool = True,
    chain_with_sni: bool = False,
) -> None:
    """Refuse a server configuration *backend* cannot honour, before anything is built.

    *sni_callback* and *client_auth* say whether the backend can run an ``sni_callback``
    and require client certificates; *chain_with_sni* that it needs a
    ``certificate_chain`` even when an ``sni_callback`` could supply one.
    """
    if config.sni_callback is not None and not sni_callback:
        raise ConfigurationError(
            f"the {backend} backend cannot run an sni_callback on a server (the library "
            "never calls it); drop sni_callback"
        )
    if config.trust_store is not None and not client_auth:
        raise ConfigurationError(
            f"the {backend} backend cannot require client certificates on a server "
            "(trust_store on a server configuration); drop trust_store or use another backend"
        )
    if config.certificate_chain is None and (config.sni_callback is None or chain_with_sni):
        raise ConfigurationError(
            f"the {backend} backend needs a certificate_chain in a server configuration "
            + (
                "even with an sni_callback (the library needs the chain of the context a "
                "connection starts with)"
                if chain_with_sni
                else "(or an sni_callback that supplies one)"
            )
        )
    if config.trust_store is not None and not config.validate_certificates:
        raise ConfigurationError(
            f"the {backend} backend cannot require client certificates without validating "
            "them; drop trust_store or keep validate_certificates=True"
        )


# -- keys -------------------------------------------------------------------------------
def key_password(key: PrivateKey, backend: str) -> bytes | None:
    """The key's password for loading (``None`` if unencrypted); bad input is refused."""
    try:
        return key.password_bytes()
    except (TypeError, ValueError) as e:
        raise ConfigurationError(f"the {backend} backend cannot use the private key: {e}") from e


def key_error(
    backend: str, detail: str | None = None, *, encrypted: bool, mismatch: bool = False
) -> ConfigurationError:
    """The error for a chain and key the library refused (raise it ``from`` the cause).

    *mismatch*: the library said the key does not belong to the leaf. Otherwise an
    *encrypted* key most likely failed to decrypt (libraries rarely say so plainly).
    *detail* is the library's text; it never holds the password.
    """
    if mismatch:
        return ConfigurationError(
            f"the {backend} backend: the private key does not match the leaf certificate"
        )
    if encrypted:
        suffix = f" ({detail})" if detail else ""
        return ConfigurationError(
            f"the {backend} backend cannot decrypt the private key: wrong password?{suffix}"
        )
    return ConfigurationError(
        f"the {backend} backend cannot load the certificate chain or key: {detail or 'refused'}"
    )


def decrypted_pkcs8(key: PrivateKey, backend: str) -> tuple[Any, bytes]:
    """*key* decrypted in memory with ``cryptography``, for a library that cannot do it
    itself: the loaded key, and its unencrypted PKCS#8 DER.

    :raises ConfigurationError: the key does not load (:func:`key_error`: a wrong
        password, for an encrypted key).
    :raises ImportError: ``cryptography`` is not installed.
    """
    from cryptography.hazmat.primitives import serialization

    password = key_password(key, backend)
    try:
        private = serialization.load_pem_private_key(key.to_pem(), password)
    except (TypeError, ValueError):
        raise key_error(backend, encrypted=key.encrypted) from None
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private, der


# -- the SNI callback -------------------------------------------------------------------
class SNICallbackError(Exception):
    """The ``sni_callback``, or what its answer asked for, failed; ``__cause__`` says why.

    Carried out of a library's hook to ``do_handshake()``, never shown to applications.
    """


class _Parking(Protocol):
    """A connection that keeps an SNI failure for its ``do_handshake()``."""

    _callback_error: BaseException | None


def park(owner: _Parking | None, error: SNICallbackError) -> None:
    """Keep *error*'s cause on *owner* for :func:`raise_parked` (libraries that cannot
    carry an exception out of their hook)."""
    if owner is not None:
        owner._callback_error = error.__cause__ or error


def raise_parked(owner: _Parking) -> None:
    """In ``do_handshake()``'s failure path: raise the SNI failure parked on *owner*, if any."""
    error, owner._callback_error = owner._callback_error, None
    if error is not None:
        raise_sni_failure(error)


def raise_sni_failure(error: BaseException) -> NoReturn:
    """What every backend's ``do_handshake()`` raises when the ``sni_callback`` failed."""
    if isinstance(error, SNICallbackError) and error.__cause__ is not None:
        error = error.__cause__
    raise TLSError(f"sni_callback failed: {error!r}") from error


def decode_server_name(raw: str | bytes | None) -> str | None:
    """The server name an ``sni_callback`` sees: IDNA-decoded where Python's codec can.

    ``None`` without SNI. An A-label Python's IDNA 2003 codec cannot decode (IDNA 2008
    names such as ``xn--fa-hia.example``, or malformed ones) is passed as received. A
    name that is not ASCII breaks RFC 6066 and fails the handshake.
    """
    if not raw:
        return None
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
    if not text.isascii():
        raise ValueError(f"the client sent a server name that is not ASCII: {text[:64]!r}")
    try:
        return text.encode("ascii").decode("idna")
    except UnicodeError:
        return text


class DerivedContexts(Generic[C]):
    """Contexts built for the configurations an ``sni_callback`` returned (LRU, bounded).

    Keyed by the returned configuration; each is built once, with ``sni_callback=None``,
    by *build*. At most *bound* are kept; the least recently used is evicted first.
    """

    def __init__(
        self, build: Callable[[TLSConfiguration], C], bound: int = DERIVED_CONTEXTS_MAX
    ) -> None:
        self.bound = bound
        self._build = build
        self._contexts: OrderedDict[TLSConfiguration, C] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, config: TLSConfiguration) -> C:
        """The context for *config*, built now if it is not cached."""
        with self._lock:
            ctx = self._contexts.get(config)
            if ctx is not None:
                self._contexts.move_to_end(config)
                return ctx
            ctx = self._build(config.update(sni_callback=None))
            self._contexts[config] = ctx
            if len(self._contexts) > self.bound:
                self._contexts.popitem(last=False)
            return ctx

    def __len__(self) -> int:
        return len(self._contexts)

    def __contains__(self, config: object) -> bool:
        return config in self._contexts


class SNIDispatch(Generic[C]):
    """A server context's ``sni_callback`` and the contexts built for its answers.

    *build* makes a context of the backend's server type from a configuration.
    """

    def __init__(
        self,
        configuration: TLSConfiguration,
        build: Callable[[TLSConfiguration], C],
        bound: int = DERIVED_CONTEXTS_MAX,
    ) -> None:
        if configuration.sni_callback is None:
            raise ValueError("an SNIDispatch needs a configuration with an sni_callback")
        self.configuration = configuration
        self.derived = DerivedContexts(build, bound)

    def run(
        self, owner: object, server_name: str | bytes | None, switch: Callable[[C], R]
    ) -> R | None:
        """Run the callback for *owner*; ``switch(derived)`` if it chose another configuration.

        Returns what *switch* returned, or ``None`` to keep the current context.

        :raises SNICallbackError: anything failed (chained to the original exception).
        """
        config = self.configuration
        callback = config.sni_callback
        assert callback is not None
        try:
            new = callback(owner, decode_server_name(server_name), config)
            if not isinstance(new, TLSConfiguration):
                raise TypeError(
                    f"sni_callback must return a TLSConfiguration, not {type(new).__name__}"
                )
            if new == config:
                return None
            return switch(self.derived.get(new))
        except Exception as e:  # through the library to do_handshake(), never lost
            raise SNICallbackError("sni_callback failed") from e

    def run_or_park(
        self,
        owner: _Parking | None,
        server_name: str | bytes | None,
        switch: Callable[[C], object],
        alert: int,
    ) -> int | None:
        """:meth:`run`, for a library whose hook cannot carry a Python exception.

        Returns ``None`` to go on; after a failure, parked on *owner* (:func:`park`),
        *alert*, the fatal alert the hook answers the library with.
        """
        try:
            self.run(owner, server_name, switch)
        except SNICallbackError as e:  # never into the library
            park(owner, e)
            return alert
        return None

    def hook(
        self, owner: object, switch: Callable[[S, C], R]
    ) -> Callable[[S, str | None], R | None]:
        """A binding's per-connection hook ``hook(session, server_name)`` for *owner*.

        *owner* (the connection the callback is shown) is held weakly, so the session
        that keeps the hook does not keep its own buffer alive.
        """
        ref = weakref.ref(owner)

        def hook(session: S, server_name: str | None) -> R | None:
            return self.run(ref(), server_name, lambda derived: switch(session, derived))

        return hook
