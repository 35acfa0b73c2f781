"""urllib3's HTTPS tests, re-run with ``tls_adapter.urllib3.SSLContext`` injected.

``tools/urllib3_suite/run.py`` copies this file into ``test/contrib/`` of an unpacked
urllib3 sdist (1.26.x or 2.x), next to urllib3's own ``test_pyopenssl.py``, which works
the same way: inject in ``setup_module``, extract in ``teardown_module``, and import
urllib3's test classes into this module's namespace so pytest collects them again. The
backend is the one named by ``$TLS_ADAPTER_BACKEND`` (default ``openssl``); the value
``stdlib`` injects nothing, as a control run that tells environmental failures apart.
"""

from __future__ import annotations

import importlib
import os
import typing

import pytest
import urllib3.util as urllib3_util
import urllib3.util.ssl_ as urllib3_ssl

from tls_adapter.urllib3 import SSLContext, extract_from_urllib3, inject_into_urllib3

BACKEND = os.environ.get("TLS_ADAPTER_BACKEND", "openssl")

# (module relative to this package, class name, name in this module). Classes missing
# from a urllib3 version are left out.
_CLASSES = (
    ("..test_ssl", "TestSSL", "TestSSL"),
    ("..test_util", "TestUtilSSL", "TestUtilSSL"),
    ("..with_dummyserver.test_https", "TestHTTPS", "TestHTTPS"),
    ("..with_dummyserver.test_https", "TestHTTPS_TLSv1", "TestHTTPS_TLSv1"),
    ("..with_dummyserver.test_https", "TestHTTPS_TLSv1_1", "TestHTTPS_TLSv1_1"),
    ("..with_dummyserver.test_https", "TestHTTPS_TLSv1_2", "TestHTTPS_TLSv1_2"),
    ("..with_dummyserver.test_https", "TestHTTPS_TLSv1_3", "TestHTTPS_TLSv1_3"),
    ("..with_dummyserver.test_https", "TestHTTPS_Hostname", "TestHTTPS_Hostname"),
    ("..with_dummyserver.test_https", "TestHTTPS_NoSAN", "TestHTTPS_NoSAN"),
    ("..with_dummyserver.test_https", "TestHTTPS_IPV4SAN", "TestHTTPS_IPV4SAN"),
    ("..with_dummyserver.test_https", "TestHTTPS_IPv6Addr", "TestHTTPS_IPv6Addr"),
    ("..with_dummyserver.test_https", "TestHTTPS_IPV6SAN", "TestHTTPS_IPV6SAN"),
    ("..with_dummyserver.test_socketlevel", "TestSNI", "TestSNI"),
    ("..with_dummyserver.test_socketlevel", "TestALPN", "TestALPN"),
    ("..with_dummyserver.test_socketlevel", "TestClientCerts", "TestClientCerts"),
    ("..with_dummyserver.test_socketlevel", "TestSocketClosing", "TestSocketClosing"),
    ("..with_dummyserver.test_socketlevel", "TestProxyManager", "TestSocketProxyManager"),
    ("..with_dummyserver.test_socketlevel", "TestSSL", "TestSocketSSL"),
    ("..with_dummyserver.test_proxy_poolmanager", "TestHTTPProxyManager", "TestHTTPProxyManager"),
    (
        "..with_dummyserver.test_proxy_poolmanager",
        "TestIPv6HTTPProxyManager",
        "TestIPv6HTTPProxyManager",
    ),
    (
        "..with_dummyserver.test_proxy_poolmanager",
        "TestHTTPSProxyVerification",
        "TestHTTPSProxyVerification",
    ),
)


def _import_classes() -> list[str]:
    imported = []
    for module_name, class_name, alias in _CLASSES:
        module = importlib.import_module(module_name, __package__)
        cls = getattr(module, class_name, None)
        if cls is not None:
            globals()[alias] = cls
            imported.append(alias)
    return imported


IMPORTED = _import_classes()


CONTROL = BACKEND == "stdlib"


def setup_module() -> None:
    if not CONTROL:
        inject_into_urllib3(backend=BACKEND)


def teardown_module() -> None:
    if not CONTROL:
        extract_from_urllib3()


@pytest.fixture(autouse=True)
def _tls_adapter_injected() -> typing.Iterator[None]:
    """Re-inject before every test: ``@withPyOpenSSL`` tests extract *any* shim."""
    if not CONTROL:
        inject_into_urllib3(backend=BACKEND)
        for module in (urllib3_util, urllib3_ssl):
            assert issubclass(module.SSLContext, SSLContext), module.SSLContext
    yield
