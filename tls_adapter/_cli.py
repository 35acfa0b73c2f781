"""The ``tls-adapter`` command (also ``python -m tls_adapter``).

``tls-adapter backends``
    Every backend this release knows, whether it works here (and if not, why), its
    library version and what it can do. ``--json`` for machines.
``tls-adapter get URL``
    Fetch *URL* with a chosen backend and show what was negotiated: HTTP version, TLS
    version, cipher suite (IANA name), ALPN protocol and the server's certificate. The
    client is requests with :class:`~tls_adapter.requests.TLSAdapter` unless
    ``--client`` picks another: ``urllib3`` (``PoolManager(ssl_context=...)``),
    ``httpx`` (``httpx.Client(verify=...)``, ``--http2`` for HTTP/2) or ``aiohttp``
    (``TCPConnector(ssl=...)``), each given one :class:`tls_adapter.urllib3.SSLContext`
    built from the options. httpx and aiohttp are imported only when asked for.
``tls-adapter demo``
    Offline: make a throwaway CA and server certificate, start a local HTTPS server
    for each backend that has a server side, and fetch from each of them with every
    available client backend through requests; print the matrix.

Errors are reported as one line on stderr (exit status 1); ``-v`` adds the traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import json
import os
import sys
import textwrap
import time
import traceback
import urllib.parse
import warnings
from typing import TYPE_CHECKING, Any

from . import __version__
from ._cli_output import (
    _describe,
    _Failure,
    _import_requests,
    _last_negotiated,
    _needs,
    _Negotiated,
    _recording_adapter,
    _recording_context_class,
    _table,
)
from ._config import TLSConfiguration
from ._enums import TLSVersion
from ._errors import ConfigurationError
from ._trust import Certificate, PrivateKey, TrustStore
from ._x509 import decode_certificate
from .backends import Backend, backend_status, get_backend

if TYPE_CHECKING:
    from .urllib3 import SSLContext

__all__ = ["main"]

_USER_AGENT = f"tls-adapter/{__version__}"


# -- tls-adapter backends --------------------------------------------------------------
def _short_version(version: TLSVersion) -> str:
    return version.value.replace("TLSv", "") if version.value.startswith("TLSv") else version.value


_FLAG_NAMES: tuple[tuple[str, str], ...] = (
    ("ALPN", "alpn"),
    ("SERVER", "server_side"),
    ("CLIENT CERT", "client_certificates"),
    ("CLIENT AUTH", "client_auth"),
    ("SNI CB", "sni_callback"),
    ("BUFFERS", "buffer_api"),
    ("NATIVE SOCK", "native_socket"),
    ("RESUME", "session_resumption"),
)


def _capability_flags(backend: Backend) -> list[tuple[str, bool]]:
    caps = backend.capabilities
    flags = [(label, bool(getattr(caps, attr))) for label, attr in _FLAG_NAMES]
    return [
        (label, on and backend.server_context is not None) if label == "SERVER" else (label, on)
        for label, on in flags
    ]


def _backends_json() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for status in backend_status():
        entry: dict[str, Any] = {
            "name": status.name,
            "available": status.available,
            "reason": status.reason,
        }
        if status.backend is not None:
            caps = dataclasses.asdict(status.backend.capabilities)
            caps["tls_versions"] = [v.value for v in status.backend.capabilities.tls_versions]
            caps["notes"] = list(caps["notes"])
            caps["server_side"] = caps["server_side"] and status.backend.server_context is not None
            entry["library"] = caps.pop("library")
            entry["capabilities"] = caps
        out.append(entry)
    return out


def _cmd_backends(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(_backends_json(), indent=2))
        return 0
    statuses = backend_status()
    flag_names = [name for name, _ in _FLAG_NAMES]
    header = ["BACKEND", "STATUS", "LIBRARY", "TLS", *flag_names]
    rows: list[list[str]] = []
    details: list[str] = []
    for status in statuses:
        backend = status.backend
        if backend is None:
            rows.append([status.name, "unavailable", "-", "-", *["-"] * len(flag_names)])
            details.append(_wrap(f"{status.name}: {status.reason}"))
            continue
        caps = backend.capabilities
        versions = " ".join(_short_version(v) for v in caps.tls_versions)
        flags = ["yes" if on else "no" for _, on in _capability_flags(backend)]
        rows.append([status.name, "available", caps.library, versions, *flags])
        lines = [f"cipher control: {caps.cipher_control}", f"system trust: {caps.system_trust}"]
        details.append(
            "\n".join([f"{status.name}:", *(_wrap(f"- {line}", "    ") for line in lines)])
            + "".join(f"\n{_wrap(f'- {note}', '    ')}" for note in caps.notes)
        )
    print(_table(header, rows))
    print()
    print("\n".join(details))
    available = sum(1 for s in statuses if s.available)
    print(f"\n{available} of {len(statuses)} backends available")
    return 0


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(
        text,
        width=100,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
        break_long_words=False,
    )


# -- tls-adapter get -------------------------------------------------------------------
def _trust_store(value: str) -> TrustStore:
    if value == "system":
        return TrustStore.system()
    if value == "certifi":
        try:
            return TrustStore.certifi()
        except ImportError:
            _needs("certifi")
    if os.path.isdir(value):
        return TrustStore.from_directory(value)
    if not os.path.exists(value):
        raise _Failure(f"--trust: no such file or directory: {value}")
    try:
        return TrustStore.from_pem_file(value)
    except ValueError as e:
        raise _Failure(f"--trust: {e}") from e


def _client_configuration(args: argparse.Namespace) -> TLSConfiguration:
    chain = None
    if args.key and not args.cert:
        raise _Failure("--key needs --cert")
    if args.cert:
        password: bytes | None = None
        if args.key_password_env:
            value = os.environ.get(args.key_password_env)
            if value is None:
                raise _Failure(f"--key-password-env: ${args.key_password_env} is not set")
            password = value.encode()
        try:
            certs = Certificate.chain_from_file(args.cert)
            key = PrivateKey.from_file(args.key or args.cert, password)
        except FileNotFoundError as e:
            raise _Failure(f"no such file: {e.filename}") from e
        except ValueError as e:
            raise _Failure(str(e)) from e
        chain = (certs, key)
    return TLSConfiguration(
        validate_certificates=False if args.insecure else None,
        certificate_chain=chain,
        inner_protocols=[p.encode() for p in args.alpn] if args.alpn else None,
        lowest_supported_version=TLSVersion.TLSv1_3 if args.min_tls == "1.3" else None,
        trust_store=_trust_store(args.trust),
    )


_SHORT_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "domainComponent": "DC",
}


def _name_label(name: object) -> str:
    """``CN=x, O=y`` from the :mod:`ssl` dict form ``(((type, value),), ...)``."""
    parts = []
    for rdn in name if isinstance(name, (tuple, list)) else ():
        for attr in rdn:
            if isinstance(attr, (tuple, list)) and len(attr) == 2:
                parts.append(f"{_SHORT_NAMES.get(attr[0], attr[0])}={attr[1]}")
    return ", ".join(parts) or "-"


def _certificate_lines(der: bytes) -> list[tuple[str, str]]:
    """``(label, value)`` lines describing a DER certificate."""
    lines: list[tuple[str, str]] = []
    try:
        info = decode_certificate(der)
    except ValueError as e:
        lines.append(("certificate", f"cannot be decoded ({e})"))
    else:
        lines.append(("subject", _name_label(info.get("subject"))))
        lines.append(("issuer", _name_label(info.get("issuer"))))
        lines.append(("valid", f"{info.get('notBefore', '?')} to {info.get('notAfter', '?')}"))
        names = [f"{kind}:{value}" for kind, value in info.get("subjectAltName", ())]
        if names:
            lines.append(("names", ", ".join(names)))
    lines.append(("sha256", hashlib.sha256(der).hexdigest()))
    return lines


_CLIENTS = ("requests", "urllib3", "httpx", "aiohttp")
# The PyPI distribution each client comes in, and the tls_adapter extra that installs it.
_CLIENT_EXTRAS = {
    "requests": "requests",
    "urllib3": "urllib3",
    "httpx": "httpx",
    "aiohttp": "aiohttp",
}
_MAX_REDIRECTS = 30  # as requests


@dataclasses.dataclass
class _Fetched:
    """What a client's GET returned, as labels for printing."""

    url: str
    status: str
    client: str
    http_version: str
    body_length: int
    negotiated: _Negotiated


def _import_client(name: str) -> None:
    """Import the client library *name*, or fail in one line naming the extra to install."""
    try:
        importlib.import_module(name)
    except ImportError:
        raise _Failure(
            f"--client {name} needs {name}, which is not installed; install it with: "
            f"pip install 'tls_adapter[{_CLIENT_EXTRAS[name]}]'"
        ) from None


def _client_label(module: object) -> str:
    """``httpx 0.28.1``: a client library's name and version."""
    name = getattr(module, "__name__", "?")
    return f"{name} {getattr(module, '__version__', '(version unknown)')}"


def _http_version_label(version: object) -> str:
    """``HTTP/1.1`` from http.client's and urllib3's ``11``, or aiohttp's ``HttpVersion``."""
    if isinstance(version, int):
        return {9: "HTTP/0.9", 10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}.get(version, "-")
    major, minor = getattr(version, "major", None), getattr(version, "minor", None)
    if isinstance(major, int) and isinstance(minor, int):
        return f"HTTP/{major}" if major >= 2 else f"HTTP/{major}.{minor}"
    return str(version) if version else "-"


def _recording_context(
    configuration: TLSConfiguration, backend: Backend | None, *, pin_alpn: bool
) -> tuple[SSLContext, list[Any]]:
    """A :class:`tls_adapter.urllib3.SSLContext` that remembers every connection it wraps.

    What ``_recording_adapter`` does for requests, for the clients that take a context:
    the last entry is the connection the response came from.
    """
    context_class, seen = _recording_context_class(pin_alpn=pin_alpn)
    context: SSLContext = context_class(configuration, backend=backend)
    return context, seen


def _client_failure(
    client: str, exc: BaseException, seen: list[Any], args: argparse.Namespace
) -> _Failure:
    """The one-line error for a failed fetch: what went wrong, then the client's exception."""
    # aiohttp's connector errors subclass ssl.SSLCertVerificationError / ssl.SSLError
    # (and OSError) without their attributes; what happened is the error they carry.
    inner = getattr(exc, "certificate_error", None) or getattr(exc, "os_error", None)
    message = _describe(inner if isinstance(inner, BaseException) else exc)
    try:
        alpn = _last_negotiated(seen).alpn
    except Exception:  # the connection may be closed by now (some backends then raise)
        alpn = "-"
    speaks_h2 = client == "httpx" and alpn == "h2"
    if args.alpn and alpn not in ("-", "http/1.1") and not speaks_h2:
        what = "httpx without --http2" if client == "httpx" else client
        message += f" (the server chose ALPN {alpn!r}; {what} speaks only HTTP/1.1)"
    if client != "requests":  # requests' errors read as they always did
        kind = type(exc)
        message += f" [{kind.__module__.split('.')[0]}.{kind.__qualname__}]"
    return _Failure(message)


def _fetch_requests(
    args: argparse.Namespace, configuration: TLSConfiguration, backend: Backend | None
) -> tuple[_Fetched, Backend]:
    requests = _import_requests()
    adapter, seen = _recording_adapter(configuration, backend, pin_alpn=bool(args.alpn))
    session = requests.Session()
    session.mount("https://", adapter)
    session.headers["User-Agent"] = _USER_AGENT
    with session:
        prepared = session.prepare_request(requests.Request("GET", args.url))
        # Honour proxy settings from the environment, but not REQUESTS_CA_BUNDLE /
        # CURL_CA_BUNDLE: --trust decides what is trusted.
        settings = session.merge_environment_settings(prepared.url, {}, True, None, None)
        try:
            response = session.send(
                prepared,
                stream=True,
                timeout=args.timeout,
                verify=True,
                cert=None,
                proxies=settings["proxies"],
                allow_redirects=True,
            )
            negotiated = _last_negotiated(seen)  # before the connection is released
            body = response.content
        except requests.exceptions.RequestException as e:
            raise _client_failure("requests", e, seen, args) from e
    fetched = _Fetched(
        url=response.url,
        status=f"{response.status_code} {response.reason or ''}".rstrip(),
        client=_client_label(requests),
        http_version=_http_version_label(getattr(response.raw, "version", None)),
        body_length=len(body),
        negotiated=negotiated,
    )
    backend_used: Backend = adapter.backend
    return fetched, backend_used


def _environment_proxy(url: str) -> str | None:
    """The proxy for *url* from ``HTTPS_PROXY``/``NO_PROXY`` (as requests and httpx read them)."""
    import urllib.request

    host = urllib.parse.urlsplit(url).hostname or ""
    proxy = urllib.request.getproxies().get("https")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


def _fetch_urllib3(
    args: argparse.Namespace, configuration: TLSConfiguration, backend: Backend | None
) -> tuple[_Fetched, Backend]:
    import urllib3

    context, seen = _recording_context(configuration, backend, pin_alpn=bool(args.alpn))
    headers = {"User-Agent": _USER_AGENT}
    proxy = _environment_proxy(args.url)
    manager = (
        urllib3.ProxyManager(proxy, ssl_context=context, proxy_ssl_context=context, headers=headers)
        if proxy
        else urllib3.PoolManager(ssl_context=context, headers=headers)
    )
    # No retries (as requests and httpx), but follow redirects.
    retries = urllib3.Retry(
        total=None, connect=0, read=0, other=0, status=0, redirect=_MAX_REDIRECTS
    )
    with manager:
        try:
            response = manager.request(
                "GET", args.url, timeout=urllib3.Timeout(args.timeout), retries=retries
            )
        except urllib3.exceptions.HTTPError as e:
            raise _client_failure("urllib3", e, seen, args) from e
        negotiated = _last_negotiated(seen)
    url = args.url
    for step in response.retries.history if response.retries else ():
        if step.redirect_location:
            url = urllib.parse.urljoin(url, step.redirect_location)
    fetched = _Fetched(
        url=url,
        status=f"{response.status} {response.reason or ''}".rstrip(),
        client=_client_label(urllib3),
        http_version=_http_version_label(response.version),
        body_length=len(response.data),
        negotiated=negotiated,
    )
    return fetched, context.backend


def _fetch_httpx(
    args: argparse.Namespace, configuration: TLSConfiguration, backend: Backend | None
) -> tuple[_Fetched, Backend]:
    import httpx

    context, seen = _recording_context(configuration, backend, pin_alpn=bool(args.alpn))
    client = httpx.Client(
        verify=context,
        http2=args.http2,
        timeout=args.timeout,
        follow_redirects=True,
        max_redirects=_MAX_REDIRECTS,
        headers={"User-Agent": _USER_AGENT},
    )
    with client:
        try:
            response = client.get(args.url)
        except httpx.HTTPError as e:
            raise _client_failure("httpx", e, seen, args) from e
        negotiated = _last_negotiated(seen)
    fetched = _Fetched(
        url=str(response.url),
        status=f"{response.status_code} {response.reason_phrase or ''}".rstrip(),
        client=_client_label(httpx),
        http_version=response.http_version,
        body_length=len(response.content),
        negotiated=negotiated,
    )
    return fetched, context.backend


def _fetch_aiohttp(
    args: argparse.Namespace, configuration: TLSConfiguration, backend: Backend | None
) -> tuple[_Fetched, Backend]:
    import asyncio

    import aiohttp

    context, seen = _recording_context(configuration, backend, pin_alpn=bool(args.alpn))

    async def fetch() -> _Fetched:
        connector = aiohttp.TCPConnector(ssl=context)
        session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=args.timeout),
            headers={"User-Agent": _USER_AGENT},
            trust_env=True,  # proxies from the environment, as the other clients
        )
        async with session, session.get(args.url, max_redirects=_MAX_REDIRECTS) as response:
            negotiated = _last_negotiated(seen)  # before the connection is released
            body = await response.read()
        return _Fetched(
            url=str(response.url),
            status=f"{response.status} {response.reason or ''}".rstrip(),
            client=_client_label(aiohttp),
            http_version=_http_version_label(response.version),
            body_length=len(body),
            negotiated=negotiated,
        )

    try:
        fetched = asyncio.run(fetch())
    except (aiohttp.ClientError, asyncio.TimeoutError) as e:
        raise _client_failure("aiohttp", e, seen, args) from e
    return fetched, context.backend


_FETCHERS = {
    "requests": _fetch_requests,
    "urllib3": _fetch_urllib3,
    "httpx": _fetch_httpx,
    "aiohttp": _fetch_aiohttp,
}


def _cmd_get(args: argparse.Namespace) -> int:
    url: str = args.url
    client: str = args.client
    if args.http2 and client != "httpx":
        raise _Failure(f"--http2 works only with --client httpx ({client} speaks HTTP/1.1 only)")
    # A missing client library is reported before anything else is looked at.
    if client == "requests":
        _import_requests()
    else:
        _import_client(client)
    if args.http2:
        try:
            import h2  # noqa: F401  (httpx imports it; only whether it is there matters)
        except ImportError:
            raise _Failure(
                "--http2 needs the h2 package, which is not installed; install it with: "
                "pip install 'tls_adapter[httpx]'"
            ) from None
    if not url.lower().startswith("https://"):
        raise _Failure(f"not an https:// URL: {url}")
    configuration = _client_configuration(args)
    try:
        backend = get_backend(args.backend) if args.backend else None
    except ConfigurationError as e:
        raise _Failure(str(e)) from e
    if args.insecure:
        print("warning: certificate validation is off (--insecure)", file=sys.stderr)
    with warnings.catch_warnings():
        if args.insecure:
            warnings.simplefilter("ignore")
        started = time.perf_counter()
        fetched, used = _FETCHERS[client](args, configuration, backend)
        elapsed = (time.perf_counter() - started) * 1000
    negotiated = fetched.negotiated
    rows: list[tuple[str, str]] = [
        ("url", fetched.url),
        ("status", fetched.status),
        ("client", fetched.client),
        ("http", fetched.http_version),
        ("backend", f"{used.name} ({used.capabilities.library})"),
        ("tls", negotiated.version),
        ("cipher", negotiated.cipher),
        ("alpn", negotiated.alpn),
    ]
    if negotiated.peer_der is not None:
        rows += [
            (f"peer {label}", value) for label, value in _certificate_lines(negotiated.peer_der)
        ]
    rows += [("body", f"{fetched.body_length} bytes"), ("time", f"{elapsed:.0f} ms")]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label + ':':<{width + 1}} {value}")
    return 0


# -- tls-adapter demo ------------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(quiet=args.quiet)


# -- argument parsing ------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks for errors",
    )
    parser = argparse.ArgumentParser(
        prog="tls-adapter",
        description="Try tls_adapter: list TLS backends, fetch a URL, run a local demo.",
    )
    parser.add_argument("--version", action="version", version=f"tls_adapter {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks for errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    backends = commands.add_parser(
        "backends", parents=[verbose], help="list every backend and what it can do"
    )
    backends.add_argument("--json", action="store_true", help="print JSON instead of a table")
    backends.set_defaults(func=_cmd_backends)

    get = commands.add_parser(
        "get", parents=[verbose], help="fetch an https:// URL and show what TLS negotiated"
    )
    get.add_argument("url", metavar="URL")
    get.add_argument("--backend", metavar="NAME", help="TLS backend (default: openssl)")
    get.add_argument(
        "--trust",
        default="system",
        metavar="system|certifi|PATH",
        help="CAs to trust: the system store (default), certifi's bundle, or a PEM "
        "file / hashed directory (REQUESTS_CA_BUNDLE is not consulted)",
    )
    get.add_argument("--min-tls", choices=("1.2", "1.3"), default="1.2", help="lowest TLS version")
    get.add_argument("--alpn", nargs="+", metavar="P", help="ALPN protocols to offer")
    get.add_argument("--cert", metavar="FILE", help="client certificate chain (PEM)")
    get.add_argument("--key", metavar="FILE", help="client key (default: in --cert)")
    get.add_argument(
        "--key-password-env", metavar="VAR", help="environment variable holding the key password"
    )
    get.add_argument("--insecure", action="store_true", help="do not validate the certificate")
    get.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    get.add_argument(
        "--client",
        choices=_CLIENTS,
        default="requests",
        help="HTTP client library to fetch with, given a context built from these options "
        "(default: requests)",
    )
    get.add_argument(
        "--http2", action="store_true", help="offer HTTP/2 (--client httpx; needs the h2 package)"
    )
    get.set_defaults(func=_cmd_get)

    demo = commands.add_parser(
        "demo",
        parents=[verbose],
        help="offline: local HTTPS servers, every client backend x every server backend",
    )
    demo.add_argument("-q", "--quiet", action="store_true", help="only print the table")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``tls-adapter`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        status: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except Exception as e:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {e if isinstance(e, _Failure) else _describe(e)}", file=sys.stderr)
        return 1
    return status
