"""Loopback HTTP(S) servers and proxies for the urllib3 and requests tests.

* :class:`HTTPSTestServer` -- a threaded :mod:`http.server` served over the stdlib
  :mod:`ssl` module (a TLS peer tls_adapter did not write), with keep-alive and a few
  endpoints: ``/`` (100 bytes), ``/bytes/N``, ``POST /echo``, ``/slow?seconds=S``,
  ``/client-cert`` (the client certificate's CN) and ``/headers``. It can require client
  certificates and records the server-side handshake errors it sees (e.g. the alert a
  client sent).
* :class:`NginxServer`, :class:`TinyProxy` and :class:`StunnelProxy` run Debian's
  ``nginx``, ``tinyproxy`` and ``stunnel4`` from a configuration written into a
  temporary directory; ``require_tool()`` skips the test when the program is missing.

Everything listens on 127.0.0.1 (or ::1) on a free port and is stopped on exit.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from .peers import PKI

ROOT_BODY = b"0123456789" * 10
KEY_PASSWORD = b"correct horse battery staple"


# -- certificates on disk ----------------------------------------------------------------
@dataclass(frozen=True)
class PKIFiles:
    """The test PKI written to PEM files, as servers, proxies and urllib3 want them."""

    ca: str
    server_chain: str
    server_key: str
    client_chain: str
    client_key: str
    client_key_encrypted: str
    client_combined: str


def write_pki_files(pki: PKI, directory: Path) -> PKIFiles:
    """Write the CA, server and client certificates and keys under *directory*."""
    directory.mkdir(parents=True, exist_ok=True)

    def put(name: str, data: bytes) -> str:
        path = directory / name
        path.write_bytes(data)
        return str(path)

    client_pem = pki.client.private_key_pem.bytes()
    key = serialization.load_pem_private_key(client_pem, password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(KEY_PASSWORD),
    )
    chain = b"".join(p.bytes() for p in pki.client.cert_chain_pems)
    return PKIFiles(
        ca=put("ca.pem", pki.ca.cert_pem.bytes()),
        server_chain=put("server.pem", b"".join(p.bytes() for p in pki.server.cert_chain_pems)),
        server_key=put("server.key", pki.server.private_key_pem.bytes()),
        client_chain=put("client.pem", chain),
        client_key=put("client.key", client_pem),
        client_key_encrypted=put("client-encrypted.key", encrypted),
        client_combined=put("client-combined.pem", client_pem + chain),
    )


# -- small helpers -----------------------------------------------------------------------
def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(
    host: str, port: int, process: subprocess.Popen[bytes], timeout: float = 10
) -> None:
    """Wait until *port* accepts connections (fails early if *process* died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout} s")


def require_tool(*names: str) -> str:
    """The path of the first program found among *names*; skips the test if none is."""
    for name in names:
        for directory in (None, "/usr/sbin", "/usr/bin", "/sbin"):
            path = shutil.which(name, path=directory)
            if path:
                return path
    pytest.skip(f"{' / '.join(names)} is not installed (Debian: apt-get install {names[0]})")


# -- the Python HTTPS server ---------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(
        self, status: int, body: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path
        self.server.requests.append(f"GET {self.path}")
        if path == "/":
            self._send(200, ROOT_BODY)
        elif path.startswith("/bytes/"):
            n = int(path.rsplit("/", 1)[1])
            self._send(200, (b"abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1))[:n])
        elif path == "/slow":
            time.sleep(float(query.get("seconds", ["1"])[0]))
            self._send(200, b"slow")
        elif path == "/client-cert":
            cert = (
                self.connection.getpeercert()
                if isinstance(self.connection, ssl.SSLSocket)
                else None
            )
            subject: Any = (cert or {}).get("subject", ())
            names = [v for rdn in subject for k, v in rdn if k == "commonName"]
            self._send(200, json.dumps(names).encode(), "application/json")
        elif path == "/headers":
            body = json.dumps(dict(self.headers.items())).encode()
            self._send(200, body, "application/json")
        else:
            self._send(404, b"not found")

    def do_POST(self) -> None:
        self.server.requests.append(f"POST {self.path}")
        body = self._body()
        if self.path == "/echo":
            self._send(200, body)
        else:
            self._send(404, b"not found")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    ssl_context: ssl.SSLContext | None
    tls_errors: list[str]
    requests: list[str]
    sessions_reused: list[bool]

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        if self.ssl_context is None:
            self.RequestHandlerClass(request, client_address, self)  # type: ignore[arg-type]
            return
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.tls_errors.append(str(e))
            return
        self.sessions_reused.append(bool(tls.session_reused))
        try:
            self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]
        except (ssl.SSLError, OSError) as e:
            self.tls_errors.append(str(e))
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away is not a test failure here


class HTTPSTestServer:
    """A threaded HTTP/1.1 server over the stdlib ``ssl`` module, on a loopback port.

    :param pki: the test PKI; the server presents its server certificate.
    :param host: ``"127.0.0.1"`` or ``"::1"``.
    :param tls: ``False`` serves plain HTTP.
    :param require_client_cert: ask for a client certificate signed by the PKI's CA.
    :param maximum_version: cap the TLS version (e.g. ``ssl.TLSVersion.TLSv1_2``).
    :param alpn: ALPN protocols to accept.
    :param cert: present this trustme leaf instead of the PKI's server certificate.
    :param ssl_context: serve with this (server) context instead; two servers sharing one
        share their session ticket keys, so each would resume the other's sessions.
    :param port: listen on this port (default: a free one).

    ``sni_names`` lists the SNI each client sent (``None`` when it sent none).
    """

    def __init__(
        self,
        pki: PKI,
        *,
        host: str = "127.0.0.1",
        tls: bool = True,
        require_client_cert: bool = False,
        maximum_version: ssl.TLSVersion | None = None,
        alpn: list[str] | None = None,
        cert: trustme.LeafCert | None = None,
        ssl_context: ssl.SSLContext | None = None,
        port: int = 0,
    ) -> None:
        self.host = host
        self.sni_names: list[str | None] = []
        context: ssl.SSLContext | None = ssl_context
        if tls and context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            (cert or pki.server).configure_cert(context)
            context.sni_callback = self._record_sni
            if require_client_cert:
                context.verify_mode = ssl.CERT_REQUIRED
                pki.ca.configure_trust(context)
            if maximum_version is not None:
                context.maximum_version = maximum_version
            if alpn:
                context.set_alpn_protocols(alpn)
        server_class = type(
            "Server",
            (_Server,),
            {"address_family": socket.AF_INET6 if ":" in host else socket.AF_INET},
        )
        self._server: _Server = server_class((host, port), _Handler)
        self._server.ssl_context = context
        self._server.tls_errors = []
        self._server.requests = []
        self._server.sessions_reused = []
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _record_sni(self, sock: Any, name: str | None, context: Any) -> None:
        self.sni_names.append(name)

    @property
    def tls_errors(self) -> list[str]:
        """Server-side handshake/connection errors, e.g. ``"... alert unknown ca ..."``."""
        return self._server.tls_errors

    @property
    def sessions_reused(self) -> list[bool]:
        """For each TLS connection, whether the server saw it resume a session."""
        return self._server.sessions_reused

    @property
    def requests(self) -> list[str]:
        """``"METHOD /path"`` for every request served."""
        return self._server.requests

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT`` (or ``http://`` / ``[::1]``)."""
        scheme = "https" if self._server.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def url(self, path: str = "/", host: str | None = None) -> str:
        """A URL on this server; *host* replaces the address (e.g. ``"localhost"``)."""
        if host is None:
            return self.base_url + path
        scheme = "https" if self._server.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> HTTPSTestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


_P = TypeVar("_P", bound="_Process")


# -- Debian's servers ----------------------------------------------------------------------
class _Process:
    """A program run in the foreground from a config file, stopped on exit."""

    name = "process"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self.log = workdir / f"{self.name}.out"

    def command(self) -> list[str]:
        raise NotImplementedError

    def __enter__(self: _P) -> _P:
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        try:
            wait_for_port("127.0.0.1", self.port, self.process)
        except RuntimeError as e:
            self.__exit__()
            raise RuntimeError(f"{e}; output:\n{self.output()}") from None
        return self

    def output(self) -> str:
        """What the program printed so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class NginxServer(_Process):
    """nginx on 127.0.0.1 over TLS 1.2/1.3; ``location /`` returns ``hello\\n``.

    With ``http2=True`` it also speaks HTTP/2 (chosen by ALPN); ``/protocol`` returns
    the protocol nginx served the request with (``HTTP/2.0`` or ``HTTP/1.1``), and
    ``/session`` whether the connection resumed a TLS session (``r``, else ``.``).
    """

    name = "nginx"

    def __init__(
        self, workdir: Path, files: PKIFiles, *, verify_client: bool = False, http2: bool = False
    ) -> None:
        self.binary = require_tool("nginx")
        super().__init__(workdir)
        # "listen ... http2" works from nginx 1.9.5 on (1.25.1+ prefer "http2 on;" and
        # only warn about it).
        listen_http2 = " http2" if http2 else ""
        client = (
            f"ssl_verify_client on;\n        ssl_client_certificate {files.ca};"
            if verify_client
            else ""
        )
        self.config = workdir / "nginx.conf"
        self.config.write_text(
            f"""
daemon off;
master_process off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {workdir}/access.log;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    server {{
        listen 127.0.0.1:{self.port} ssl{listen_http2};
        server_name localhost;
        ssl_certificate {files.server_chain};
        ssl_certificate_key {files.server_key};
        ssl_protocols TLSv1.2 TLSv1.3;
        {client}
        location / {{ return 200 "hello\\n"; }}
        location = /protocol {{ return 200 "$server_protocol\\n"; }}
        location = /session {{ return 200 "$ssl_session_reused\\n"; }}
    }}
}}
"""
        )

    def command(self) -> list[str]:
        return [self.binary, "-c", str(self.config), "-p", str(self.workdir), "-e", "stderr"]

    @property
    def url(self) -> str:
        """``https://localhost:PORT/``."""
        return f"https://localhost:{self.port}/"


class TinyProxy(_Process):
    """tinyproxy on 127.0.0.1: a forwarding HTTP proxy that also tunnels CONNECT."""

    name = "tinyproxy"

    def __init__(self, workdir: Path) -> None:
        self.binary = require_tool("tinyproxy")
        super().__init__(workdir)
        user = "User root\nGroup root\n" if os.geteuid() == 0 else ""
        self.config = workdir / "tinyproxy.conf"
        self.config.write_text(
            f"{user}Port {self.port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\n"
            "MaxClients 32\nLogLevel Info\nDisableViaHeader Yes\n"
        )

    def command(self) -> list[str]:
        return [self.binary, "-d", "-c", str(self.config)]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"


class StunnelProxy(_Process):
    """stunnel in server mode: TLS on 127.0.0.1 (server certificate of the PKI) in front
    of a plain TCP port, e.g. tinyproxy's -- which makes an HTTPS proxy."""

    name = "stunnel"

    def __init__(self, workdir: Path, files: PKIFiles, target_port: int) -> None:
        self.binary = require_tool("stunnel4", "stunnel")
        super().__init__(workdir)
        self.config = workdir / "stunnel.conf"
        self.config.write_text(
            "foreground = yes\npid =\ndebug = 4\n"
            f"[https-proxy]\naccept = 127.0.0.1:{self.port}\nconnect = 127.0.0.1:{target_port}\n"
            f"cert = {files.server_chain}\nkey = {files.server_key}\n"
        )

    def command(self) -> list[str]:
        return [self.binary, str(self.config)]

    @property
    def url(self) -> str:
        """``https://localhost:PORT`` (the certificate names localhost and 127.0.0.1)."""
        return f"https://localhost:{self.port}"


@contextlib.contextmanager
def https_proxy(workdir: Path, files: PKIFiles) -> Iterator[tuple[TinyProxy, StunnelProxy]]:
    """tinyproxy behind stunnel: an HTTPS proxy at ``stunnel.url``."""
    with (
        TinyProxy(workdir / "tinyproxy") as tiny,
        StunnelProxy(workdir / "stunnel", files, tiny.port) as tunnel,
    ):
        yield tiny, tunnel
