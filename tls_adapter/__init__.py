"""tls_adapter: PEP 543's Unified TLS API with pluggable backends.

Build a :class:`TLSConfiguration`, pick a backend with :func:`get_backend` (the default
is OpenSSL through :mod:`ssl`), build a context once, and wrap sockets or buffers with
it. :mod:`tls_adapter.urllib3` and :mod:`tls_adapter.requests` plug this into urllib3
and requests; :class:`SSLContext <tls_adapter.urllib3.SSLContext>` is an
:class:`ssl.SSLContext` on any backend for every other client (httpx, aiohttp,
asyncio), and :func:`inject_into_ssl` makes the contexts libraries create themselves
use a backend.
"""

from ._api import ClientContext, ServerContext, TLSWrappedBuffer, TLSWrappedSocket
from ._ciphers import DEFAULT_CIPHER_LIST, CipherSuite
from ._config import TLSConfiguration
from ._enums import NextProtocol, TLSVersion
from ._errors import (
    CertificateValidationError,
    ConfigurationError,
    RaggedEOF,
    SecurityWarning,
    TLSError,
    WantReadError,
    WantWriteError,
)
from ._inject_ssl import extract_from_ssl, inject_into_ssl
from ._session import TLSSession
from ._trust import Certificate, PrivateKey, TrustStore
from .backends import (
    Backend,
    available_backends,
    default_backend,
    get_backend,
)
from .urllib3 import SSLContext

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_CIPHER_LIST",
    "Backend",
    "Certificate",
    "CertificateValidationError",
    "CipherSuite",
    "ClientContext",
    "ConfigurationError",
    "NextProtocol",
    "PrivateKey",
    "RaggedEOF",
    "SSLContext",
    "SecurityWarning",
    "ServerContext",
    "TLSConfiguration",
    "TLSError",
    "TLSSession",
    "TLSVersion",
    "TLSWrappedBuffer",
    "TLSWrappedSocket",
    "TrustStore",
    "WantReadError",
    "WantWriteError",
    "__version__",
    "available_backends",
    "default_backend",
    "extract_from_ssl",
    "get_backend",
    "inject_into_ssl",
]
