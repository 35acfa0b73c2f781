"""The ``tls-adapter`` command (also ``python -m tls_adapter``).

``tls-adapter backends``
    Every backend this release knows, whether it works here (and if not, why), its
    library version and what it can do. ``--json`` for machines.
``tls-adapter get URL``
    Fetch *URL* through requests and :class:`~tls_adapter.requests.TLSAdapter` with a
    chosen backend, and show what was negotiated: TLS version, cipher suite (IANA
    name), ALPN protocol and the server's certificate.
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
import json
import os
import sys
import textwrap
import time
import traceback
import warnings
from typing import Any

from . import __version__
from ._cli_output import (
    _describe,
    _Failure,
    _import_requests,
    _last_negotiated,
    _needs,
    _recording_adapter,
    _table,
)
from ._config import TLSConfiguration
from ._enums import TLSVersion
from ._errors import ConfigurationError
from ._trust import Certificate, PrivateKey, TrustStore
from ._x509 import decode_certificate
from .backends import Backend, backend_status, get_backend

__all__ = ["main"]


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


def _cmd_get(args: argparse.Namespace) -> int:
    requests = _import_requests()
    url: str = args.url
    if not url.lower().startswith("https://"):
        raise _Failure(f"not an https:// URL: {url}")
    configuration = _client_configuration(args)
    try:
        backend = get_backend(args.backend) if args.backend else None
    except ConfigurationError as e:
        raise _Failure(str(e)) from e
    adapter, seen = _recording_adapter(configuration, backend, pin_alpn=bool(args.alpn))
    session = requests.Session()
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"tls-adapter/{__version__}"
    if args.insecure:
        print("warning: certificate validation is off (--insecure)", file=sys.stderr)
    with session, warnings.catch_warnings():
        if args.insecure:
            warnings.simplefilter("ignore")
        prepared = session.prepare_request(requests.Request("GET", url))
        # Honour proxy settings from the environment, but not REQUESTS_CA_BUNDLE /
        # CURL_CA_BUNDLE: --trust decides what is trusted.
        settings = session.merge_environment_settings(prepared.url, {}, True, None, None)
        started = time.perf_counter()
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
            message = _describe(e)
            alpn = _last_negotiated(seen).alpn
            if args.alpn and alpn not in ("-", "http/1.1"):
                message += f" (the server chose ALPN {alpn!r}; requests speaks only HTTP/1.1)"
            raise _Failure(message) from e
        elapsed = (time.perf_counter() - started) * 1000
    name = adapter.backend.name
    rows: list[tuple[str, str]] = [
        ("url", response.url),
        ("status", f"{response.status_code} {response.reason or ''}".rstrip()),
        ("backend", f"{name} ({adapter.backend.capabilities.library})"),
        ("tls", negotiated.version),
        ("cipher", negotiated.cipher),
        ("alpn", negotiated.alpn),
    ]
    if negotiated.peer_der is not None:
        rows += [
            (f"peer {label}", value) for label, value in _certificate_lines(negotiated.peer_der)
        ]
    rows += [("body", f"{len(body)} bytes"), ("time", f"{elapsed:.0f} ms")]
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
