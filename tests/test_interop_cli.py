"""Interop with TLS peers nobody here wrote: the ``openssl`` and GnuTLS command-line tools.

Every client backend talks to ``openssl s_server`` and ``gnutls-serv``; ``openssl s_client``
and ``gnutls-cli`` talk to every server backend. The tools run as subprocesses on
loopback ports; their test keys live in the test's temporary directory. A missing tool
skips its tests with the reason.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

import tls_adapter
from tls_adapter import (
    CertificateValidationError,
    NextProtocol,
    TLSConfiguration,
    TLSError,
    TLSVersion,
    TLSWrappedSocket,
    WantReadError,
    WantWriteError,
)

from .peers import PKI, ThreadedServer, der_of, free_port, make_server_context
from .test_conformance_buffers import (
    pinned,
    require_alpn,
    require_client_auth,
    require_version,
)

pytestmark = pytest.mark.network_tools

Backend = tls_adapter.Backend
HOST = "127.0.0.1"
TIMEOUT = 20.0


@dataclass(frozen=True)
class Files:
    """The PKI written out for the command-line tools."""

    ca: Path
    cert: Path
    key: Path
    client_cert: Path
    client_key: Path


@pytest.fixture
def files(pki: PKI, tmp_path: Path) -> Files:
    """The test CA, server and client certificates and keys as PEM files."""
    out = Files(
        ca=tmp_path / "ca.pem",
        cert=tmp_path / "server.pem",
        key=tmp_path / "server.key",
        client_cert=tmp_path / "client.pem",
        client_key=tmp_path / "client.key",
    )
    pki.ca.cert_pem.write_to_path(str(out.ca))
    pki.server.cert_chain_pems[0].write_to_path(str(out.cert))
    pki.server.private_key_pem.write_to_path(str(out.key))
    pki.client.cert_chain_pems[0].write_to_path(str(out.client_cert))
    pki.client.private_key_pem.write_to_path(str(out.client_key))
    return out


def tool(name: str) -> str:
    """The path of a command-line tool, or skip."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"the {name} command is not installed")
    return path


def _ready(proc: subprocess.Popen[bytes], port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@contextmanager
def tool_server(argv_for_port: list[str], log: Path) -> Iterator[tuple[int, Path]]:
    """Run a server tool on a free port (``{port}`` in *argv_for_port*); always killed."""
    for _ in range(3):
        port = free_port(HOST)
        argv = [a.replace("{port}", str(port)) for a in argv_for_port]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            if not _ready(proc, port):
                continue  # port taken meanwhile, or the tool failed: try again
            yield port, log
            return
        finally:
            proc.kill()
            proc.wait(10)
            assert proc.stdin is not None
            proc.stdin.close()
    raise AssertionError(f"{argv_for_port[0]} did not start: {log.read_text(errors='replace')}")


def run_client_tool(argv: list[str], data: bytes, until: bytes, timeout: float = TIMEOUT) -> str:
    """Run a client tool, send *data*, keep stdin open until *until* is printed or it exits."""
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdin is not None and proc.stdout is not None
    output = bytearray()
    seen = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in iter(proc.stdout.readline, b""):
            output.extend(line)
            if until in output:
                seen.set()
        seen.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        proc.stdin.write(data)
        proc.stdin.flush()
        seen.wait(timeout)
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        thread.join(10)
        proc.stdout.close()
    return output.decode(errors="replace")


def _client_socket(
    backend: Backend, config: TLSConfiguration, port: int, name: str = "localhost"
) -> TLSWrappedSocket:
    raw = socket.create_connection((HOST, port), timeout=TIMEOUT)
    return backend.client_context(config).wrap_socket(raw, name)


def _recv_until(sock: TLSWrappedSocket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _one_line_echo(sock: TLSWrappedSocket) -> None:
    line = b""
    while not line.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        line += chunk
    sock.sendall(line)
    with contextlib.suppress(TLSError, OSError):  # the tool may hang up without close_notify
        sock.unwrap()


OPENSSL_VERSION_FLAG = {TLSVersion.TLSv1_2: "-tls1_2", TLSVersion.TLSv1_3: "-tls1_3"}
GNUTLS_PRIORITY = {
    TLSVersion.TLSv1_2: "NORMAL:-VERS-ALL:+VERS-TLS1.2",
    TLSVersion.TLSv1_3: "NORMAL:-VERS-ALL:+VERS-TLS1.3",
}
# s_client's own verdict ("Verify return code" in the SSL-Session block can say "ok" even
# after a failed verification, so it proves nothing).
VERIFY_OK = re.compile(r"^Verification: OK$", re.MULTILINE)
GNUTLS_NAME = {TLSVersion.TLSv1_2: "TLS1.2", TLSVersion.TLSv1_3: "TLS1.3"}


# -- our clients, their servers ---------------------------------------------------------
def test_client_vs_openssl_s_server(
    client_backend: Backend, tls_version: TLSVersion, files: Files, pki: PKI, tmp_path: Path
) -> None:
    require_version(client_backend, tls_version)
    require_alpn(client_backend, pki)
    argv = [
        tool("openssl"), "s_server", "-accept", f"{HOST}:{{port}}",
        "-cert", str(files.cert), "-key", str(files.key),
        "-rev", "-alpn", "h2,http/1.1", OPENSSL_VERSION_FLAG[tls_version],
    ]  # fmt: skip
    with tool_server(argv, tmp_path / "s_server.log") as (port, _):
        config = pinned(
            TLSConfiguration(
                trust_store=pki.trust, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1]
            ),
            tls_version,
        )
        with _client_socket(client_backend, config, port) as sock:
            sock.do_handshake()
            assert sock.negotiated_tls_version() is tls_version
            assert sock.negotiated_protocol() is NextProtocol.H2
            assert sock.getpeercert() == der_of(pki.server)
            sock.sendall(b"hello openssl\n")
            assert _recv_until(sock, b"\n") == b"lssnepo olleh\n"


def test_client_vs_openssl_s_server_untrusted(
    client_backend: Backend, files: Files, other_ca_files: Files, tmp_path: Path, pki: PKI
) -> None:
    argv = [
        tool("openssl"), "s_server", "-accept", f"{HOST}:{{port}}",
        "-cert", str(other_ca_files.cert), "-key", str(other_ca_files.key), "-rev",
    ]  # fmt: skip
    config = TLSConfiguration(trust_store=pki.trust)
    with (
        tool_server(argv, tmp_path / "s_server.log") as (port, _),
        _client_socket(client_backend, config, port) as sock,
        pytest.raises(CertificateValidationError),
    ):
        sock.do_handshake()


@pytest.fixture
def other_ca_files(other_ca: trustme.CA, tmp_path: Path) -> Files:
    """A server certificate for localhost from a CA the tests do not trust."""
    leaf = other_ca.issue_cert("localhost", "127.0.0.1")
    d = tmp_path / "untrusted"
    d.mkdir()
    out = Files(d / "ca.pem", d / "cert.pem", d / "key.pem", d / "c.pem", d / "c.key")
    other_ca.cert_pem.write_to_path(str(out.ca))
    leaf.cert_chain_pems[0].write_to_path(str(out.cert))
    leaf.private_key_pem.write_to_path(str(out.key))
    return out


@pytest.mark.parametrize("with_certificate", [True, False], ids=["with-cert", "without-cert"])
def test_client_certificate_vs_openssl_s_server(
    client_backend: Backend,
    tls_version: TLSVersion,
    files: Files,
    pki: PKI,
    tmp_path: Path,
    with_certificate: bool,
) -> None:
    require_version(client_backend, tls_version)
    refuse_config = TLSConfiguration(trust_store=pki.trust, certificate_chain=pki.client_chain)
    if not client_backend.capabilities.client_certificates:
        with pytest.raises(tls_adapter.ConfigurationError):
            client_backend.client_context(refuse_config)
        pytest.skip(f"{client_backend.name} declares no client certificates")
    argv = [
        tool("openssl"), "s_server", "-accept", f"{HOST}:{{port}}",
        "-cert", str(files.cert), "-key", str(files.key), "-rev",
        "-Verify", "1", "-CAfile", str(files.ca), OPENSSL_VERSION_FLAG[tls_version],
    ]  # fmt: skip
    with tool_server(argv, tmp_path / "s_server.log") as (port, log):
        config = pinned(TLSConfiguration(trust_store=pki.trust), tls_version)
        if with_certificate:
            config = config.update(certificate_chain=pki.client_chain)
        with _client_socket(client_backend, config, port) as sock:
            if with_certificate:
                sock.do_handshake()
                sock.sendall(b"abc\n")
                assert _recv_until(sock, b"\n") == b"cba\n"
            else:

                def attempt() -> None:
                    sock.do_handshake()  # TLS 1.3: the alert arrives after the handshake
                    sock.sendall(b"abc\n")
                    _recv_until(sock, b"\n")

                with pytest.raises((TLSError, ConnectionResetError)) as info:
                    attempt()
                assert not isinstance(info.value, (WantReadError, WantWriteError))
        time.sleep(0.1)
        text = log.read_text(errors="replace")
    if with_certificate:
        assert "CN = client" in text, text  # s_server logs the verified client chain


def test_client_vs_gnutls_serv(
    client_backend: Backend, tls_version: TLSVersion, files: Files, pki: PKI, tmp_path: Path
) -> None:
    require_version(client_backend, tls_version)
    require_alpn(client_backend, pki)
    argv = [
        tool("gnutls-serv"), "--port", "{port}", "--echo", "--disable-client-cert",
        "--x509certfile", str(files.cert), "--x509keyfile", str(files.key),
        "--alpn", "h2", f"--priority={GNUTLS_PRIORITY[tls_version]}",
    ]  # fmt: skip
    with tool_server(argv, tmp_path / "gnutls-serv.log") as (port, _):
        config = pinned(
            TLSConfiguration(trust_store=pki.trust, inner_protocols=[NextProtocol.H2]), tls_version
        )
        with _client_socket(client_backend, config, port) as sock:
            sock.do_handshake()
            assert sock.negotiated_tls_version() is tls_version
            assert sock.negotiated_protocol() is NextProtocol.H2
            assert sock.getpeercert() == der_of(pki.server)
            sock.sendall(b"hello gnutls\n")
            assert _recv_until(sock, b"\n") == b"hello gnutls\n"


def test_client_certificate_vs_gnutls_serv(
    client_backend: Backend, files: Files, pki: PKI, tmp_path: Path
) -> None:
    if not client_backend.capabilities.client_certificates:
        pytest.skip(f"{client_backend.name} declares no client certificates")
    argv = [
        tool("gnutls-serv"), "--port", "{port}", "--echo",
        "--require-client-cert", "--verify-client-cert", "--x509cafile", str(files.ca),
        "--x509certfile", str(files.cert), "--x509keyfile", str(files.key),
    ]  # fmt: skip
    with tool_server(argv, tmp_path / "gnutls-serv.log") as (port, _):
        config = TLSConfiguration(trust_store=pki.trust, certificate_chain=pki.client_chain)
        with _client_socket(client_backend, config, port) as sock:
            sock.do_handshake()
            sock.sendall(b"mutual\n")
            assert _recv_until(sock, b"\n") == b"mutual\n"


# -- their clients, our servers ---------------------------------------------------------
def _our_server(
    backend: Backend, config: TLSConfiguration, seen: dict[str, object]
) -> ThreadedServer:
    def handler(sock: TLSWrappedSocket) -> None:
        seen["version"] = sock.negotiated_tls_version()
        seen["protocol"] = sock.negotiated_protocol()
        seen["peercert"] = sock.getpeercert()
        _one_line_echo(sock)

    return ThreadedServer(make_server_context(backend, config), handler)


def test_openssl_s_client_vs_server(
    server_backend: Backend, tls_version: TLSVersion, files: Files, pki: PKI
) -> None:
    require_version(server_backend, tls_version)
    require_alpn(server_backend, pki)
    names: list[str | None] = []

    def sni(conn: object, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
        names.append(name)
        return config

    config = TLSConfiguration(
        certificate_chain=pki.server_chain,
        inner_protocols=[NextProtocol.H2],
        sni_callback=sni if server_backend.capabilities.sni_callback else None,
    )
    seen: dict[str, object] = {}
    with _our_server(server_backend, config, seen) as server:
        output = run_client_tool(
            [
                tool("openssl"),
                "s_client",
                "-connect",
                f"{HOST}:{server.port}",
                "-servername",
                "localhost",
                "-verify_hostname",
                "localhost",
                "-CAfile",
                str(files.ca),
                "-verify_return_error",
                "-alpn",
                "h2",
                "-ign_eof",
                OPENSSL_VERSION_FLAG[tls_version],
            ],
            b"ping from s_client\n",
            until=b"ping from s_client\n",
        )
    assert not server.errors, (server.errors, output)
    assert VERIFY_OK.search(output), output
    assert "Verify return code: 0 (ok)" in output, output
    assert "Verified peername: localhost" in output, output
    assert f"Protocol  : {tls_version.value}" in output or f", {tls_version.value}," in output
    assert "ALPN protocol: h2" in output, output
    assert output.count("ping from s_client") >= 1, output
    assert seen["version"] is tls_version
    assert seen["protocol"] is NextProtocol.H2
    if server_backend.capabilities.sni_callback:
        # Once per ClientHello (a HelloRetryRequest means two).
        assert names and set(names) == {"localhost"}, names


def test_openssl_s_client_with_certificate(server_backend: Backend, files: Files, pki: PKI) -> None:
    require_client_auth(tls_adapter.default_backend(), server_backend, pki)
    config = TLSConfiguration(certificate_chain=pki.server_chain, trust_store=pki.trust)
    seen: dict[str, object] = {}
    with _our_server(server_backend, config, seen) as server:
        output = run_client_tool(
            [
                tool("openssl"),
                "s_client",
                "-connect",
                f"{HOST}:{server.port}",
                "-servername",
                "localhost",
                "-CAfile",
                str(files.ca),
                "-verify_return_error",
                "-cert",
                str(files.client_cert),
                "-key",
                str(files.client_key),
                "-ign_eof",
            ],
            b"client auth\n",
            until=b"client auth\n",
        )
    assert not server.errors, (server.errors, output)
    assert VERIFY_OK.search(output), output
    assert "Verify return code: 0 (ok)" in output, output
    assert seen["peercert"] == der_of(pki.client)


def test_openssl_s_client_rejects_untrusted_server(
    server_backend: Backend, other_ca_files: Files, files: Files
) -> None:
    """The tool itself refuses our server's certificate when it does not trust its CA."""
    chain = (
        (tls_adapter.Certificate.from_file(other_ca_files.cert),),
        tls_adapter.PrivateKey.from_file(other_ca_files.key),
    )
    seen: dict[str, object] = {}
    with _our_server(server_backend, TLSConfiguration(certificate_chain=chain), seen) as server:
        output = run_client_tool(
            [
                tool("openssl"),
                "s_client",
                "-connect",
                f"{HOST}:{server.port}",
                "-servername",
                "localhost",
                "-CAfile",
                str(files.ca),
                "-verify_return_error",
            ],
            b"",
            until=b"Verify return code",
        )
    assert not VERIFY_OK.search(output), output
    assert re.search(r"^Verification error: .*issuer", output, re.MULTILINE), output
    assert "version" not in seen  # our server never completed a handshake
    assert len(server.errors) == 1 and isinstance(server.errors[0], (TLSError, OSError))


def test_gnutls_cli_vs_server(
    server_backend: Backend, tls_version: TLSVersion, files: Files, pki: PKI
) -> None:
    require_version(server_backend, tls_version)
    require_alpn(server_backend, pki)
    config = TLSConfiguration(certificate_chain=pki.server_chain, inner_protocols=[b"h2"])
    seen: dict[str, object] = {}
    with _our_server(server_backend, config, seen) as server:
        output = run_client_tool(
            [
                tool("gnutls-cli"),
                HOST,
                "-p",
                str(server.port),
                "--x509cafile",
                str(files.ca),
                "--sni-hostname",
                "localhost",
                "--verify-hostname",
                "localhost",
                "--alpn",
                "h2",
                f"--priority={GNUTLS_PRIORITY[tls_version]}",
            ],
            b"ping from gnutls-cli\n",
            until=b"ping from gnutls-cli\n",
        )
    assert not server.errors, (server.errors, output)
    assert "The certificate is trusted" in output, output
    assert "Handshake was completed" in output, output
    assert f"({GNUTLS_NAME[tls_version]}-" in output, output
    assert "Application protocol: h2" in output, output
    assert "ping from gnutls-cli" in output, output
    assert seen["version"] is tls_version
    assert seen["protocol"] is NextProtocol.H2


def test_gnutls_cli_with_certificate(server_backend: Backend, files: Files, pki: PKI) -> None:
    require_client_auth(tls_adapter.default_backend(), server_backend, pki)
    config = TLSConfiguration(certificate_chain=pki.server_chain, trust_store=pki.trust)
    seen: dict[str, object] = {}
    with _our_server(server_backend, config, seen) as server:
        output = run_client_tool(
            [
                tool("gnutls-cli"),
                HOST,
                "-p",
                str(server.port),
                "--x509cafile",
                str(files.ca),
                "--verify-hostname",
                "localhost",
                "--x509certfile",
                str(files.client_cert),
                "--x509keyfile",
                str(files.client_key),
            ],
            b"mutual tls\n",
            until=b"mutual tls\n",
        )
    assert not server.errors, (server.errors, output)
    assert "Handshake was completed" in output, output
    assert seen["peercert"] == der_of(pki.client)
