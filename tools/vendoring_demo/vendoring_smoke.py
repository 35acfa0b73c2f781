#!/usr/bin/env python3
"""Smoke-test a pip-style vendored copy of tls_adapter, requests, urllib3, certifi, ...

``nox -s vendoring`` runs ``vendoring sync`` on the demo host in this directory (see
README.md next to this file), then runs this script in a fresh virtual environment that
has *nothing* installed besides the standard library::

    python -I vendoring_smoke.py HOST_SRC_DIR TLS_ADAPTER_WHEEL

It needs only the standard library and the ``openssl`` command, and fails (exit status
1) unless all of these hold:

1. The interpreter cannot import a top-level ``requests``, ``urllib3``, ``certifi``,
   ``truststore``, ``idna``, ``charset_normalizer`` or ``tls_adapter`` (so nothing below
   can silently fall back to an installed copy).
2. No module in the vendored tree imports one of those at top level: every ``import``
   statement is parsed with :mod:`ast`, and calls such as ``import_module("x")``,
   ``__import__("x")`` or ``importlib.resources.files("x")`` with a literal name are
   looked at too.
3. The vendored ``tls_adapter`` is the wheel's code with *only* import lines rewritten:
   tls_adapter needs no patch to be vendored.
4. With a local HTTPS server (stdlib :mod:`ssl`, CA and certificate made here with the
   ``openssl`` command), ``demo_host._vendor.requests`` with
   ``demo_host._vendor.tls_adapter.requests.TLSAdapter`` mounted fetches a page with
   validation on; the TLS socket under the response is tls_adapter's; the same adapter
   with the system trust store refuses the server (``SSLError``); ``verify=<ca.pem>``
   per request works; ``TrustStore.certifi()`` points into the vendored ``certifi``.
5. Afterwards ``sys.modules`` holds no top-level module of those names.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import http.server
import importlib
import importlib.util
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

NAMESPACE = "demo_host._vendor"
#: Top-level names that must never be imported by the vendored stack.
VENDORED = (
    "certifi",
    "charset_normalizer",
    "idna",
    "requests",
    "tls_adapter",
    "truststore",
    "urllib3",
)
#: Calls that take a module or package name as their first argument.
_NAME_TAKING_CALLS = frozenset(
    {"__import__", "import_module", "find_spec", "files", "get_path", "read_text", "path"}
)
#: Environment variables that would change which CAs are trusted.
_CA_ENVIRONMENT = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
BODY = b"hello from the vendored stack\n"


class SmokeFailure(Exception):
    """One of the checks failed."""


def _top(name: str) -> str:
    return name.split(".", 1)[0]


# -- 1. a clean interpreter --------------------------------------------------------------
def check_clean_interpreter() -> None:
    """Nothing of the vendored set may be importable at top level."""
    found = [name for name in VENDORED if importlib.util.find_spec(name) is not None]
    if found:
        raise SmokeFailure(
            f"this interpreter can import {', '.join(found)} at top level; "
            "run the smoke test in a fresh virtual environment"
        )
    print(f"ok   clean interpreter: none of {', '.join(VENDORED)} is importable at top level")


# -- 2. static scan ----------------------------------------------------------------------
def _literal_first_argument(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant):
        value = call.args[0].value
        return value if isinstance(value, str) else None
    return None


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def scan_file(path: Path, display: str) -> list[str]:
    """Every top-level import of a vendored name in one file, as ``file:line: text``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            problems.extend(
                f"{display}:{node.lineno}: import {alias.name}"
                for alias in node.names
                if _top(alias.name) in VENDORED
            )
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module is not None and _top(node.module) in VENDORED:
                problems.append(f"{display}:{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call) and _call_name(node) in _NAME_TAKING_CALLS:
            literal = _literal_first_argument(node)
            if literal is not None and _top(literal) in VENDORED:
                problems.append(f"{display}:{node.lineno}: {_call_name(node)}({literal!r})")
    return problems


def check_static(vendor_dir: Path) -> None:
    """No vendored module imports a top-level vendored name."""
    files = sorted(vendor_dir.rglob("*.py"))
    if not files:
        raise SmokeFailure(f"no Python files under {vendor_dir}; did `vendoring sync` run?")
    problems: list[str] = []
    for path in files:
        problems.extend(scan_file(path, str(path.relative_to(vendor_dir))))
    if problems:
        raise SmokeFailure(
            "top-level imports of vendored names remain:\n  " + "\n  ".join(problems)
        )
    libraries = sorted(p.name for p in vendor_dir.iterdir() if p.is_dir())
    print(
        f"ok   static scan: {len(files)} files in {', '.join(libraries)}; "
        "no top-level import of a vendored name"
    )


# -- 3. tls_adapter is vendored unpatched --------------------------------------------------
_REWRITTEN = re.compile(rf"^\s*(from {re.escape(NAMESPACE)}[. ]|import {re.escape(NAMESPACE)}\.)")


def check_only_imports_rewritten(vendor_dir: Path, wheel: Path) -> None:
    """Compare the vendored tls_adapter with the wheel: only import lines may differ."""
    changed = 0
    files = 0
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            if not (name.startswith("tls_adapter/") and name.endswith(".py")):
                continue
            files += 1
            original = archive.read(name).decode("utf-8").splitlines()
            vendored_path = vendor_dir / name
            if not vendored_path.is_file():
                raise SmokeFailure(f"{name} from the wheel is missing in the vendored tree")
            vendored = vendored_path.read_text(encoding="utf-8").splitlines()
            matcher = difflib.SequenceMatcher(a=original, b=vendored, autojunk=False)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes():
                if tag == "equal":
                    continue
                if tag != "replace" or (i2 - i1) != (j2 - j1):
                    raise SmokeFailure(f"{name}: vendoring added or removed lines ({tag})")
                for line in vendored[j1:j2]:
                    if not _REWRITTEN.match(line):
                        raise SmokeFailure(f"{name}: a line other than an import changed: {line}")
                changed += j2 - j1
    if files == 0:
        raise SmokeFailure(f"{wheel} holds no tls_adapter/*.py")
    print(
        f"ok   tls_adapter vendored without patches: {files} modules, "
        f"{changed} import lines rewritten and nothing else"
    )


# -- 4. a real fetch ------------------------------------------------------------------------
_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SmokeFailure(f"openssl {' '.join(args)} failed:\n{result.stderr}")


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1, made with ``openssl``."""
    (directory / "openssl.cnf").write_text(_OPENSSL_CONFIG, encoding="ascii")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req", "-x509", *ec, "-config", "openssl.cnf", "-extensions", "ca_ext",
        "-subj", "/CN=tls_adapter vendoring demo CA", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.pem",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "req", "-new", *ec, "-config", "openssl.cnf", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "openssl.cnf",
        "-extensions", "leaf_ext", "-out", "server.pem",
        cwd=directory,
    )  # fmt: skip
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: refused handshakes are expected


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the refused handshake of the negative check ends up here


@contextlib.contextmanager
def https_server(cert: Path, key: Path) -> Iterator[int]:
    """A stdlib HTTPS server on 127.0.0.1; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def check_fetch(ca: Path, cert: Path, key: Path, host_src: Path) -> None:
    """Fetch through the vendored requests + tls_adapter with validation on."""
    tls_adapter: Any = importlib.import_module(f"{NAMESPACE}.tls_adapter")
    tls_requests: Any = importlib.import_module(f"{NAMESPACE}.tls_adapter.requests")
    requests: Any = importlib.import_module(f"{NAMESPACE}.requests")

    with https_server(cert, key) as port:
        url = f"https://127.0.0.1:{port}/"
        trust = tls_adapter.TrustStore.from_pem_file(ca)
        with requests.Session() as session:
            # The machine's proxy and CA bundle variables must not steer the demo.
            session.trust_env = False
            session.mount(
                "https://",
                tls_requests.TLSAdapter(tls_adapter.TLSConfiguration(trust_store=trust)),
            )
            with session.get(url, timeout=10, stream=True) as response:
                sock = response.raw.connection.sock
                module = type(sock).__module__
                if not module.startswith(f"{NAMESPACE}.tls_adapter."):
                    raise SmokeFailure(f"the TLS socket is a {module}.{type(sock).__name__}")
                body = response.content
            if response.status_code != 200 or body != BODY:
                raise SmokeFailure(f"unexpected response {response.status_code}: {body!r}")
            print(
                f"ok   fetched {url} with validation on: {response.status_code}, "
                f"{len(body)} bytes, socket {module}.{type(sock).__name__}"
            )

        with requests.Session() as session:
            session.trust_env = False
            session.mount("https://", tls_requests.TLSAdapter())  # system trust store
            try:
                session.get(url, timeout=10)
            except requests.exceptions.SSLError as exc:
                if "certificate verify failed" not in str(exc):
                    raise SmokeFailure(f"refused, but not by validation: {exc}") from exc
                print("ok   refused with the system trust store: certificate verify failed")
            else:
                raise SmokeFailure("a server signed by an unknown CA was accepted")
            response = session.get(url, timeout=10, verify=str(ca))
            if response.status_code != 200 or response.content != BODY:
                raise SmokeFailure(f"verify=<ca.pem> failed: {response.status_code}")
            print("ok   per-request verify=<ca.pem> (trust exactly that bundle) works")

    certifi_path = Path(tls_adapter.TrustStore.certifi().path)
    if not certifi_path.is_relative_to(host_src / "demo_host" / "_vendor" / "certifi"):
        raise SmokeFailure(f"TrustStore.certifi() is {certifi_path}, outside the vendored certifi")
    print(f"ok   TrustStore.certifi() is the vendored bundle ({certifi_path.name})")


# -- 5. sys.modules --------------------------------------------------------------------------
def check_sys_modules() -> None:
    """No top-level vendored name was imported, and the vendored ones were."""
    leaked = sorted(name for name in sys.modules if _top(name) in VENDORED)
    if leaked:
        raise SmokeFailure(f"top-level modules were imported: {', '.join(leaked)}")
    loaded = sorted(lib for lib in VENDORED if f"{NAMESPACE}.{lib}" in sys.modules)
    for required in ("tls_adapter", "requests", "urllib3", "certifi", "idna"):
        if required not in loaded:
            raise SmokeFailure(f"{NAMESPACE}.{required} was never imported")
    print(
        f"ok   sys.modules: no top-level {'/'.join(VENDORED)}; "
        f"vendored modules in use: {', '.join(loaded)}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run every check; print one line per check; exit status 1 on the first failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("host_src", type=Path, help="the demo host's src/ directory")
    parser.add_argument("wheel", type=Path, help="the tls_adapter wheel that was vendored")
    args = parser.parse_args(argv)
    host_src: Path = args.host_src.resolve()
    wheel: Path = args.wheel.resolve()

    warnings.simplefilter("error")  # e.g. requests' RequestsDependencyWarning
    for name in _CA_ENVIRONMENT:
        os.environ.pop(name, None)
    try:
        check_clean_interpreter()
        vendor_dir = host_src / "demo_host" / "_vendor"
        check_static(vendor_dir)
        check_only_imports_rewritten(vendor_dir, wheel)
        sys.path.insert(0, str(host_src))
        with tempfile.TemporaryDirectory(prefix="vendoring-smoke-") as tmp:
            ca, cert, key = make_pki(Path(tmp))
            check_fetch(ca, cert, key, host_src)
        check_sys_modules()
    except SmokeFailure as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    print("vendoring smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
