"""``tls-adapter demo``: every client backend against every server backend, offline.

A throwaway CA and a server certificate for localhost are made at run time with
``cryptography``; for each backend with a server side, a small threaded HTTP/1.1
server (one response per connection) runs on 127.0.0.1 over that backend's
:class:`~tls_adapter.ServerContext`; each available client backend then fetches from
it through requests and :class:`~tls_adapter.requests.TLSAdapter`. Nothing leaves the
machine: the sessions ignore proxy and CA-bundle environment variables.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ._api import ServerContext, TLSWrappedSocket
from ._cli_output import (
    _describe,
    _import_requests,
    _last_negotiated,
    _needs,
    _Negotiated,
    _recording_adapter,
    _table,
)
from ._config import TLSConfiguration
from ._enums import NextProtocol
from ._errors import TLSError
from ._trust import Certificate, PrivateKey, TrustStore
from .backends import Backend, backend_status

__all__ = ["run_demo"]


@dataclasses.dataclass
class _DemoPKI:
    """A throwaway CA and a server certificate for localhost, made at run time."""

    ca_pem: bytes
    chain: tuple[tuple[Certificate, ...], PrivateKey]


def _make_demo_pki() -> _DemoPKI:
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        _needs("the 'cryptography' package (to make a throwaway CA)")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tls-adapter demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, "tls-adapter demo CA (throwaway)"),
        ]
    )

    def issued(
        subject: x509.Name, public_key: ec.EllipticCurvePublicKey, *, ca: bool
    ) -> x509.CertificateBuilder:
        """A certificate the CA issues, valid from an hour ago for a day: the CA's or a leaf."""
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=ca,
                    crl_sign=ca,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )

    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        issued(ca_name, ca_key.public_key(), ca=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    leaf = (
        issued(leaf_name, key.public_key(), ca=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    chain = (
        (Certificate.from_buffer(leaf.public_bytes(serialization.Encoding.DER)),),
        PrivateKey.from_buffer(key_pem),
    )
    return _DemoPKI(ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM), chain=chain)


class _DemoServer:
    """A small threaded HTTP/1.1 server over a :class:`ServerContext` on 127.0.0.1.

    Each connection gets one response (``Connection: close``). Handshake errors are
    kept in ``errors``.
    """

    def __init__(self, context: ServerContext, body: bytes) -> None:
        self.context = context
        self.body = body
        self.errors: list[str] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, name="tls-adapter-demo", daemon=True)

    def __enter__(self) -> _DemoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            thread = threading.Thread(target=self._handle, args=(raw,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _handle(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        tls: TLSWrappedSocket | None = None
        try:
            tls = self.context.wrap_socket(raw)
            tls.do_handshake()
            request = b""
            while b"\r\n\r\n" not in request and len(request) < 65536:
                chunk = tls.recv(4096)
                if not chunk:
                    return
                request += chunk
            head = (
                "HTTP/1.1 200 OK\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(self.body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            tls.sendall(head.encode("ascii") + self.body)
        except Exception as e:  # reported by the client side of the demo
            self.errors.append(_describe(e))
        finally:
            if tls is not None:
                tls.close()
            raw.close()


@dataclasses.dataclass
class _PairResult:
    """One client-backend x server-backend fetch."""

    client: str
    server: str
    expected: bool
    ok: bool = False
    version: str = "-"
    cipher: str = "-"
    alpn: str = "-"
    millis: float = 0.0
    detail: str = ""


def _server_configuration(pki: _DemoPKI, backend: Backend) -> TLSConfiguration:
    protocols = (NextProtocol.HTTP1,) if backend.capabilities.alpn else None
    return TLSConfiguration(certificate_chain=pki.chain, inner_protocols=protocols)


def _demo_fetch(requests: Any, client: Backend, port: int, trust: TrustStore) -> _PairResult:
    adapter, seen = _recording_adapter(TLSConfiguration(trust_store=trust), client)
    result = _PairResult(client.name, "", True)
    negotiated = _Negotiated()
    with requests.Session() as session:
        session.trust_env = False  # all local: no proxies, no REQUESTS_CA_BUNDLE
        session.mount("https://", adapter)
        started = time.perf_counter()
        try:
            response = session.get(f"https://localhost:{port}/", timeout=10, stream=True)
            negotiated = _last_negotiated(seen)
            response.raise_for_status()
            result.detail = response.text.strip()
        except requests.exceptions.RequestException as e:
            result.detail = _describe(e)
        else:
            result.ok = True
        result.millis = (time.perf_counter() - started) * 1000
    result.version, result.cipher, result.alpn = (
        negotiated.version,
        negotiated.cipher,
        negotiated.alpn,
    )
    return result


def _expected(client: Backend, server: Backend) -> bool:
    return bool(set(client.capabilities.tls_versions) & set(server.capabilities.tls_versions))


def run_demo(*, quiet: bool = False) -> int:
    """Run the demo; returns the exit status (0 only if every expected pair worked)."""
    requests = _import_requests()
    say: Callable[[str], None] = (lambda _: None) if quiet else print
    started = time.perf_counter()
    pki = _make_demo_pki()
    trust = TrustStore.from_buffer(pki.ca_pem)
    say("made a throwaway CA and a certificate for localhost, 127.0.0.1 and ::1")
    statuses = backend_status()
    clients = [s.backend for s in statuses if s.backend is not None]
    servers = [b for b in clients if b.server_context is not None]
    for status in statuses:
        if not status.available:
            say(f"skipping {status.name}: {status.reason}")
    say(
        f"client backends: {', '.join(b.name for b in clients)}; "
        f"server backends: {', '.join(b.name for b in servers)}"
    )
    results: list[_PairResult] = []
    for server in servers:
        try:
            assert server.server_context is not None
            context = server.server_context(_server_configuration(pki, server))
        except TLSError as e:
            say(f"server {server.name}: cannot start: {_describe(e)}")
            for client in clients:
                results.append(
                    _PairResult(client.name, server.name, True, detail=f"server: {_describe(e)}")
                )
            continue
        body = f"hello from the {server.name} backend\n".encode()
        with _DemoServer(context, body) as httpd:
            say(f"server {server.name}: listening on https://localhost:{httpd.port}/")
            for client in clients:
                result = _demo_fetch(requests, client, httpd.port, trust)
                result.server = server.name
                result.expected = _expected(client, server)
                if not result.ok and httpd.errors:
                    result.detail += f" (server: {httpd.errors[-1]})"
                results.append(result)
                outcome = "ok" if result.ok else f"FAILED: {result.detail}"
                say(f"  {client.name:>10} -> {server.name:<10} {outcome}")
    print()
    header = ["CLIENT", "SERVER", "TLS", "CIPHER", "ALPN", "TIME", "RESULT"]
    rows = [
        [
            r.client,
            r.server,
            r.version,
            r.cipher,
            r.alpn,
            f"{r.millis:.0f} ms",
            "ok" if r.ok else ("FAILED" if r.expected else "not expected"),
        ]
        for r in results
    ]
    print(_table(header, rows))
    failed = [r for r in results if r.expected and not r.ok]
    for r in failed:
        print(f"{r.client} -> {r.server}: {r.detail}")
    total = time.perf_counter() - started
    passed = sum(1 for r in results if r.ok)
    print(f"\n{passed} of {len(results)} pairs succeeded in {total:.1f} s")
    return 1 if failed or not results else 0
