"""Where the operating system keeps its CA certificates, for the OpenSSL-based backends.

On Linux and the BSDs, :meth:`TrustStore.system` means "the CA bundle and/or hashed
directory that OpenSSL is configured to use". Both the ``ssl``-based backend and the
pyOpenSSL backend ask :func:`find_system_ca` where that is, then load it once per
context. The search follows the ``ssl`` module (OpenSSL's compiled-in default paths,
or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set) and then the well-known bundle
locations ``truststore`` also looks at.
"""

from __future__ import annotations

import os
import ssl
import sys
from dataclasses import dataclass

from ._errors import ConfigurationError

__all__ = ["CA_FILE_CANDIDATES", "OS_VERIFIER", "SystemCALocations", "find_system_ca"]

#: Whether the platform verifies through an OS API (macOS, Windows) rather than a CA file.
OS_VERIFIER = sys.platform in ("darwin", "win32")

#: Where truststore looks when OpenSSL's compiled-in default paths are empty.
CA_FILE_CANDIDATES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)


@dataclass(frozen=True)
class SystemCALocations:
    """The system CA bundle file and/or hashed directory to load."""

    #: A PEM bundle, or ``None``.
    cafile: str | None
    #: A ``c_rehash`` directory, or ``None``.
    capath: str | None
    #: ``True`` when these are the ``ssl`` module's OpenSSL default verify paths (so
    #: ``SSLContext.load_default_certs()`` loads exactly them); ``False`` for a fallback.
    openssl_defaults: bool


def find_system_ca() -> SystemCALocations:
    """Locate the system CA store now (environment variables are read at call time).

    :raises ConfigurationError: no CA bundle or directory was found.
    """
    paths = ssl.get_default_verify_paths()
    cafile = paths.cafile if paths.cafile and os.path.isfile(paths.cafile) else None
    capath = (
        paths.capath
        if paths.capath and os.path.isdir(paths.capath) and os.listdir(paths.capath)
        else None
    )
    if cafile is not None or capath is not None:
        return SystemCALocations(cafile, capath, True)
    for candidate in CA_FILE_CANDIDATES:
        if os.path.isfile(candidate):
            return SystemCALocations(candidate, None, False)
    raise ConfigurationError("no system CA store found (looked where OpenSSL and truststore look)")
