"""The benchmark's world: a run-time PKI, the "system" CA bundle, CPU pinning and nginx.

Everything lives in one temporary directory that is removed at the end. nginx is
Debian's, started from a generated configuration, listening on 127.0.0.1 only, and
stopped by its PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SMALL_BODY",
    "Nginx",
    "PKIFiles",
    "Pinning",
    "ensure_nginx",
    "find_tool",
    "make_pki",
    "pin_client",
    "prepare_environment",
    "system_bundle",
]

#: The small response: exactly 100 bytes.
SMALL_BODY = b"0123456789" * 10
#: The size of the bulk file.
BIG_SIZE = 64 * 1024 * 1024

# Where the machine's CA bundle may be (Debian first).
_BUNDLE_CANDIDATES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
)
# Variables that would change which CAs the clients trust behind the benchmark's back.
_TRUST_VARIABLES = ("SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def find_tool(name: str) -> str | None:
    """The path of program *name* on PATH or in the sbin directories, or ``None``."""
    for directory in (None, "/usr/sbin", "/usr/bin", "/sbin"):
        path = shutil.which(name, path=directory)
        if path:
            return path
    return None


def ensure_nginx(install: bool) -> str | None:
    """nginx's path; when missing, install ``nginx-light`` with apt-get if root and allowed.

    Package scripts are kept from starting nginx as a system service (policy-rc.d).
    """
    found = find_tool("nginx")
    if found or not install:
        return found
    apt = find_tool("apt-get")
    if apt is None or os.geteuid() != 0:
        return None
    policy = Path("/usr/sbin/policy-rc.d")
    created = False
    if not policy.exists():
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        created = True
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        command = [apt, "install", "-y", "--no-install-recommends", "nginx-light"]
        if subprocess.run(command, env=env, check=False).returncode != 0:
            subprocess.run([apt, "update"], env=env, check=False)
            subprocess.run(command, env=env, check=False)
    finally:
        if created:
            policy.unlink()
    return find_tool("nginx")


@dataclass(frozen=True)
class PKIFiles:
    """The run-time CA and the server's certificate, on disk."""

    #: The test CA alone (PEM).
    ca: str
    #: The machine's CA bundle plus the test CA: the "system" store and the PEM file.
    bundle: str
    #: How many certificates :attr:`bundle` holds.
    bundle_certificates: int
    #: Where the machine's part of :attr:`bundle` came from (``None``: not found).
    system_source: str | None
    #: The server's leaf + chain (PEM).
    server_chain: str
    #: The server's private key (PEM).
    server_key: str


def system_bundle() -> str | None:
    """The machine's CA bundle file, if there is one."""
    default = ssl.get_default_verify_paths().openssl_cafile
    for candidate in (*_BUNDLE_CANDIDATES, default):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def make_pki(directory: Path) -> PKIFiles:
    """A fresh CA (trustme, ECDSA P-256) and a server certificate for localhost/127.0.0.1."""
    import trustme  # not at module level: the RSS probes import this module

    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    directory.mkdir(parents=True, exist_ok=True)
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca.cert_pem.bytes())
    source = system_bundle()
    system = Path(source).read_bytes() if source else b""
    if system and not system.endswith(b"\n"):
        system += b"\n"
    bundle = directory / "bundle.pem"
    bundle.write_bytes(system + ca.cert_pem.bytes())
    chain = directory / "server.pem"
    chain.write_bytes(b"".join(p.bytes() for p in server.cert_chain_pems))
    key = directory / "server.key"
    key.write_bytes(server.private_key_pem.bytes())
    key.chmod(0o600)
    return PKIFiles(
        ca=str(ca_path),
        bundle=str(bundle),
        bundle_certificates=bundle.read_bytes().count(b"-----BEGIN CERTIFICATE-----"),
        system_source=source,
        server_chain=str(chain),
        server_key=str(key),
    )


def prepare_environment(pki: PKIFiles) -> dict[str, str]:
    """Make the bundle *the* system store of this process (and its children).

    ``SSL_CERT_FILE`` points at the bundle; ``SSL_CERT_DIR`` (OpenSSL's compiled-in
    directory is used instead), ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` are removed
    so that nothing else decides what a client trusts; proxies are bypassed for the
    loopback. Returns what was changed, for the report.
    """
    changes = {"SSL_CERT_FILE": pki.bundle}
    os.environ["SSL_CERT_FILE"] = pki.bundle
    for name in _TRUST_VARIABLES:
        if os.environ.pop(name, None) is not None:
            changes[name] = "(removed)"
    for name in ("NO_PROXY", "no_proxy"):
        os.environ[name] = "127.0.0.1,localhost"
    return changes


@dataclass(frozen=True)
class Pinning:
    """Which CPU the client and nginx run on (``None``: not pinned)."""

    client_cpu: int | None
    server_cpu: int | None
    how: str


def pin_client() -> Pinning:
    """Pin this process (and so its children) to one CPU and keep another for nginx.

    Done only where ``taskset`` exists (nginx is started through it) and at least two
    CPUs are usable.
    """
    getaffinity = getattr(os, "sched_getaffinity", None)
    setaffinity = getattr(os, "sched_setaffinity", None)
    if getaffinity is None or setaffinity is None or find_tool("taskset") is None:
        return Pinning(None, None, "not pinned (no taskset or no sched_setaffinity)")
    cpus = sorted(getaffinity(0))
    if len(cpus) < 2:
        return Pinning(None, None, f"not pinned (only CPU {cpus} usable)")
    client, server = cpus[0], cpus[1]
    setaffinity(0, {client})
    return Pinning(
        client,
        server,
        f"client process (and its children: openssl, curl, RSS probes) on CPU {client} "
        f"(sched_setaffinity); nginx (worker_processes 1) on CPU {server} (taskset -c)",
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def url_host() -> str:
    """``localhost`` when it resolves to 127.0.0.1 first (SNI and a name check), else the IP."""
    with contextlib.suppress(OSError):
        infos = socket.getaddrinfo("localhost", 443, type=socket.SOCK_STREAM)
        if infos and infos[0][4][0] == "127.0.0.1":
            return "localhost"
    return "127.0.0.1"


class Nginx:
    """Debian's nginx on 127.0.0.1 ports: TLS 1.3 only and TLS 1.2 only.

    ``/small`` returns :data:`SMALL_BODY`; ``/big`` is a 64 MiB file. Every response to
    ``/small`` says which connection served it (``X-Conn``, ``X-Conn-Requests``), with
    which TLS version (``X-TLS``) and whether the session was resumed (``X-Reused``), so
    the benchmark can check that each scenario opens the connections it says it does.
    Session tickets and the session cache are off on these two ports: every new
    connection is a full handshake, whatever the client would do with a ticket.

    Two more ports, TLS 1.3 only and TLS 1.2 only, keep nginx's defaults for session
    resumption (``ssl_session_tickets on``, ``ssl_session_cache none``: stateless
    tickets, nothing stored on the server) for the session-resumption pairs
    (:meth:`url` with ``tickets=True``).
    """

    def __init__(self, binary: str, workdir: Path, pki: PKIFiles, cpu: int | None) -> None:
        self.binary = binary
        self.workdir = workdir
        self.cpu = cpu
        ports: list[int] = []
        while len(ports) < 4:
            port = _free_port()
            if port not in ports:
                ports.append(port)
        self.port13, self.port12, self.tickets13, self.tickets12 = ports
        self.process: subprocess.Popen[bytes] | None = None
        self.host = url_host()
        workdir.mkdir(parents=True, exist_ok=True)
        block = os.urandom(1 << 20)
        big = workdir / "www" / "big"
        big.parent.mkdir(exist_ok=True)
        with open(big, "wb") as f:
            for _ in range(BIG_SIZE >> 20):
                f.write(block)
        body = SMALL_BODY.decode()
        tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
        servers = []
        no_tickets = "ssl_session_cache off;\n        ssl_session_tickets off;"
        tickets = "ssl_session_cache none;\n        ssl_session_tickets on;"
        for port, protocols, resumption in (
            (self.port13, "TLSv1.3", no_tickets),
            (self.port12, "TLSv1.2", no_tickets),
            (self.tickets13, "TLSv1.3", tickets),
            (self.tickets12, "TLSv1.2", tickets),
        ):
            servers.append(
                f"""
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_protocols {protocols};
        ssl_ciphers {tls12_ciphers};
        {resumption}
        location = /small {{
            add_header X-Conn $connection always;
            add_header X-Conn-Requests $connection_requests always;
            add_header X-TLS $ssl_protocol always;
            add_header X-Reused $ssl_session_reused always;
            return 200 "{body}";
        }}
        location = /big {{ root {workdir}/www; }}
    }}"""
            )
        self.config = workdir / "nginx.conf"
        self.config.write_text(
            f"""daemon off;
master_process off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    tcp_nodelay on;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    ssl_certificate {pki.server_chain};
    ssl_certificate_key {pki.server_key};
    ssl_prefer_server_ciphers on;
{"".join(servers)}
}}
"""
        )

    def url(self, path: str, tls: str = "1.3", *, tickets: bool = False) -> str:
        """``https://localhost:PORT/path`` for the TLS 1.3 (``"1.3"``) or 1.2 port; with
        *tickets*, the port of that version with session tickets on."""
        if tickets:
            port = self.tickets13 if tls == "1.3" else self.tickets12
        else:
            port = self.port13 if tls == "1.3" else self.port12
        return f"https://{self.host}:{port}{path}"

    def version(self) -> str:
        """``nginx -v`` output."""
        out = subprocess.run([self.binary, "-v"], capture_output=True, text=True, check=False)
        return (out.stderr or out.stdout).strip().replace("nginx version: ", "")

    def start(self) -> None:
        """Start nginx (through ``taskset`` when pinned) and wait until every port answers."""
        command = [self.binary, "-c", str(self.config), "-p", str(self.workdir), "-e", "stderr"]
        taskset = find_tool("taskset")
        if self.cpu is not None and taskset is not None:
            command = [taskset, "-c", str(self.cpu), *command]
        with open(self.workdir / "stderr.log", "wb") as errors:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        deadline = time.monotonic() + 15
        for port in (self.port13, self.port12, self.tickets13, self.tickets12):
            while True:
                if self.process.poll() is not None:
                    log = (self.workdir / "stderr.log").read_text(errors="replace")
                    raise RuntimeError(f"nginx exited with {self.process.returncode}: {log}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"nginx does not listen on {port}") from None
                    time.sleep(0.05)

    def stop(self) -> None:
        """Stop nginx by its PID."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @contextlib.contextmanager
    def running(self) -> Iterator[Nginx]:
        """Start, yield, stop (also on errors)."""
        self.start()
        try:
            yield self
        finally:
            self.stop()
