#!/usr/bin/env python3
"""pip with tls_adapter vendored: installs from a local HTTPS index, per backend.

``nox -s pip_vendored`` runs this after building the patched pip wheel (see README.md
next to this file)::

    python pip_checks.py --patched-pip WHEEL --tls-adapter-wheel WHEEL --work DIR \\
        [--backends all|NAME,NAME] [--large-mib 64] [--repeat 3]

It needs ``trustme`` and ``packaging`` and Debian's ``nginx``. It makes a CA with
trustme, two wheels (a tiny package and one of LARGE_MIB MiB of random bytes) and a
PEP 503 index of static files, serves them with nginx on 127.0.0.1 (one port with a
certificate for ``localhost``, one with a certificate for another name), and makes two
virtual environments: one with the released pip (the baseline) and one with the
backends' compiled bindings (installed with the released pip) and then the patched pip.
pip runs with no configuration file, no ``PIP_*`` variables, no proxy and no CA
variables but those a check sets. For every selected backend
(``PIP_TLS_ADAPTER_BACKEND=<name>``) and for the released pip, it checks that:

* ``--cert ca.pem`` installs the package (pip's HTTP cache on), and ``pip -v`` says
  which backend does the TLS;
* ``SSL_CERT_FILE=ca.pem`` without ``--cert`` installs it (the system trust store,
  no cache), run in-process to check ``sys.modules`` afterwards: no top-level
  ``requests``, ``urllib3``, ``tls_adapter``, ``certifi``, ``truststore`` or ``idna``;
* the default trust store, ``--cert`` with another CA, and a certificate for another
  host name are refused with pip's usual "certificate verify failed" error;
* ``SSL_CERT_FILE=ca.pem`` together with ``--cert other-ca.pem`` (reported: pip with
  truststore adds the ``--cert`` bundle to the system store, tls_adapter trusts exactly
  the ``--cert`` bundle, as pip's ``--help`` says "overrides the default");
* the TLS client that nginx logged for pip's requests (offered cipher suites and
  groups) is the backend's own, measured with that backend directly, and is not the
  released pip's: this cannot pass unless tls_adapter's backend made the connections.

Then it times ``pip download`` of the large wheel (from pip's own ``--log``
timestamps) and writes a markdown report. Exit status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import trustme
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

TINY = "tinypkg"
LARGE = "bigpkg"
TINY_VALUE = "installed over TLS by pip"
#: Top-level names that pip with everything vendored must never import.
NOT_TOP_LEVEL = ("requests", "urllib3", "tls_adapter", "certifi", "truststore", "idna")
#: ... except where a backend's own binding imports one: python-mbedtls's compiled
#: ``mbedtls._tls`` imports ``certifi`` (a dependency of python-mbedtls, installed with it).
BINDING_IMPORTS = {"mbedtls": ("certifi",)}
#: Variables that would steer pip or its TLS from outside; removed from every pip run.
_OUTSIDE = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)
VERIFY_FAILED = ("certificate verify failed", "certificate_verify_failed")
NOT_FOUND = f"No matching distribution found for {TINY}"
#: nginx's access log: one tab-separated line per request, these fields (and variables).
_LOG_FORMAT = {
    "msec": "$msec",
    "protocol": "$ssl_protocol",
    "cipher": "$ssl_cipher",
    "group": "$ssl_curve",
    "groups": "$ssl_curves",  # offered by the client
    "ciphers": "$ssl_ciphers",  # offered by the client
    "status": "$status",
    "bytes": "$body_bytes_sent",
    "request": "$request",
    "agent": "$http_user_agent",
}


# -- wheels and the index ----------------------------------------------------------------
def _record_hash(data: bytes) -> str:
    import base64

    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def write_wheel(directory: Path, name: str, files: dict[str, bytes]) -> Path:
    """A minimal pure-Python wheel ``name-1.0-py3-none-any.whl`` holding *files*."""
    info = f"{name}-1.0.dist-info"
    contents = dict(files)
    contents[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nSummary: pip_vendored test\n"
    ).encode()
    contents[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: pip_checks\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "".join(
        f"{path},{_record_hash(data)},{len(data)}\n" for path, data in contents.items()
    )
    contents[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    path = directory / f"{name}-1.0-py3-none-any.whl"
    # Stored, not deflated: the large wheel's random bytes would not shrink anyway.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for member, data in contents.items():
            archive.writestr(member, data)
    return path


def build_index(root: Path, large_mib: int) -> dict[str, int]:
    """Two wheels under ``root/files`` and a PEP 503 index under ``root/simple``."""
    files = root / "files"
    files.mkdir(parents=True)
    tiny = write_wheel(files, TINY, {f"{TINY}/__init__.py": f"VALUE = {TINY_VALUE!r}\n".encode()})
    large = write_wheel(
        files,
        LARGE,
        {
            f"{LARGE}/__init__.py": b"",
            f"{LARGE}/blob.bin": os.urandom(large_mib * 1024 * 1024),
        },
    )
    project_links = []
    for wheel in (tiny, large):
        name = wheel.name.split("-", 1)[0]
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        page = root / "simple" / name / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(
            "<!DOCTYPE html>\n<html><body>\n"
            f'<a href="../../files/{wheel.name}#sha256={digest}">{wheel.name}</a>\n'
            "</body></html>\n",
            encoding="utf-8",
        )
        project_links.append(f'<a href="{name}/">{name}</a>')
    (root / "simple" / "index.html").write_text(
        "<!DOCTYPE html>\n<html><body>\n" + "\n".join(project_links) + "\n</body></html>\n",
        encoding="utf-8",
    )
    return {TINY: tiny.stat().st_size, LARGE: large.stat().st_size}


# -- nginx --------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclasses.dataclass
class Nginx:
    """Debian's nginx serving the index on two loopback ports."""

    directory: Path
    good_port: int
    wrong_host_port: int

    @property
    def access_log(self) -> Path:
        return self.directory / "access.log"

    def log_size(self) -> int:
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def entries_since(self, offset: int) -> list[dict[str, str]]:
        """The access log lines written after byte *offset*, as dicts."""
        with self.access_log.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode("utf-8", "replace").splitlines()
        return [dict(zip(_LOG_FORMAT, line.split("\t"), strict=False)) for line in lines]


@contextlib.contextmanager
def nginx(directory: Path, root: Path, good: Path, wrong_host: Path) -> Iterator[Nginx]:
    """Start nginx (stopped on exit, also on failure)."""
    binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if binary is None:
        raise SystemExit("nginx is not installed (Debian: apt-get install nginx-light)")
    server = Nginx(directory, _free_port(), _free_port())
    fields = "\\t".join(_LOG_FORMAT.values())
    blocks = "".join(
        f"""
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {pem};
        ssl_certificate_key {pem};
        ssl_protocols TLSv1.2 TLSv1.3;
        root {root};
        location / {{ }}
    }}"""
        for port, pem in ((server.good_port, good), (server.wrong_host_port, wrong_host))
    )
    config = directory / "nginx.conf"
    config.write_text(
        f"""daemon off;
master_process off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
events {{ worker_connections 64; }}
http {{
    log_format checks '{fields}';
    access_log {server.access_log} checks;
    default_type application/octet-stream;
    types {{ text/html html; }}
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;{blocks}
}}
""",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [binary, "-c", str(config), "-p", str(directory), "-e", "stderr"],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "stderr.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 10
        for port in (server.good_port, server.wrong_host_port):
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"nginx exited: {(directory / 'stderr.log').read_text()}")
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"nginx does not listen on {port}")
                time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- virtual environments ----------------------------------------------------------------------
def _run(args: list[str]) -> None:
    subprocess.run(args, check=True)


def _bin(venv: Path, name: str) -> str:
    return str(venv / "bin" / name)


def binding_requirements(tls_wheel: Path, backends: list[str]) -> list[str]:
    """What the backends' extras of the wheel need from PyPI (compiled bindings), for
    this interpreter; never tls_adapter itself nor what pip vendors."""
    with zipfile.ZipFile(tls_wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode("utf-8")
    wanted: dict[str, SpecifierSet] = {}
    for line in metadata.splitlines():
        if not line.startswith("Requires-Dist: "):
            continue
        requirement = Requirement(line.removeprefix("Requires-Dist: "))
        marker = requirement.marker
        if marker is not None and any(marker.evaluate({"extra": b}) for b in backends):
            name = requirement.name.lower()
            wanted[name] = wanted.get(name, SpecifierSet()) & requirement.specifier
    return sorted(f"{name}{specifier}" for name, specifier in wanted.items())


def make_venvs(
    work: Path, pip_version: str, patched: Path, tls_wheel: Path, backends: list[str]
) -> tuple[Path, Path]:
    """The released pip's venv and the patched pip's venv (with the bindings)."""
    released = work / "venv-released"
    patched_venv = work / "venv-patched"
    for venv in (released, patched_venv):
        _run([sys.executable, "-m", "venv", str(venv)])
    quiet = ["--quiet", "--disable-pip-version-check"]
    _run([_bin(released, "python"), "-m", "pip", "install", *quiet, f"pip=={pip_version}"])
    bindings = binding_requirements(tls_wheel, backends)
    print(f"bindings, installed with the released pip {pip_version}: {', '.join(bindings)}")
    _run(
        [
            _bin(patched_venv, "python"), "-m", "pip", "install", *quiet,
            f"pip=={pip_version}", *bindings,
        ]
    )  # fmt: skip
    _run(
        [
            _bin(patched_venv, "python"), "-m", "pip", "install", *quiet,
            "--no-deps", "--force-reinstall", str(patched),
        ]
    )  # fmt: skip
    return released, patched_venv


#: Backends whose bindings come from PyPI (the wheel's extras of the same names).
_KNOWN_EXTRAS = ("pyopenssl", "rustls", "boringssl", "mbedtls", "gnutls", "wolfssl")

_STATUS = """
import json
from pip._vendor.tls_adapter.backends import backend_status
print(json.dumps({s.name: s.reason for s in backend_status()}))
"""

_CLEAN = """
import importlib.util, json, sys
print(json.dumps([n for n in sys.argv[1:] if importlib.util.find_spec(n) is not None]))
"""

#: pip run in-process, then what it imported; the JSON goes to the file in argv[1].
_IN_PROCESS = """
import json, sys
from pip._internal.cli.main import main
out, args = sys.argv[1], sys.argv[2:]
status = main(args)
tops = sorted({m.split(".")[0] for m in sys.modules})
names = sorted(m for m in sys.modules if m.startswith("pip._vendor.tls_adapter.backends."))
with open(out, "w") as f:
    json.dump({"top_level": tops, "backend_modules": names}, f)
sys.exit(status)
"""

#: One GET through the vendored requests + tls_adapter, with a backend: its TLS client.
_PROBE = """
import sys
from pip._vendor import requests
from pip._vendor.tls_adapter.requests import TLSAdapter
url, backend, ca = sys.argv[1:]
with requests.Session() as session:
    session.trust_env = False
    session.mount("https://", TLSAdapter(backend=backend))
    session.headers["User-Agent"] = "probe/" + backend
    session.get(url, verify=ca, timeout=30).raise_for_status()
"""


# -- runs and checks ---------------------------------------------------------------------------
@dataclasses.dataclass
class Outcome:
    """One pip run."""

    status: int
    output: str
    seconds: float
    log: list[dict[str, str]]
    modules: dict[str, list[str]] | None = None


@dataclasses.dataclass
class Subject:
    """A pip under test: the released one, or the patched one with a backend (or none)."""

    label: str
    venv: Path
    backend: str | None
    results: dict[str, str] = dataclasses.field(default_factory=dict)
    failures: list[str] = dataclasses.field(default_factory=list)
    tls: str = ""
    throughput: list[tuple[float, float]] = dataclasses.field(default_factory=list)

    def record(self, check: str, ok: bool, detail: str) -> None:
        self.results[check] = ("ok " if ok else "FAIL ") + detail
        if not ok:
            self.failures.append(f"{check}: {detail}")
        print(f"  {'ok  ' if ok else 'FAIL'} {self.label}: {check}: {detail}", flush=True)


class Runner:
    """Runs pip against the local index with a controlled environment."""

    def __init__(self, work: Path, server: Nginx, ca: Path, other_ca: Path) -> None:
        self.work = work
        self.server = server
        self.ca = ca
        self.other_ca = other_ca
        self.logs = work / "logs"
        self.logs.mkdir(exist_ok=True)
        self._count = 0

    def index(self, *, wrong_host: bool = False) -> str:
        port = self.server.wrong_host_port if wrong_host else self.server.good_port
        return f"https://localhost:{port}/simple/"

    def environment(self, backend: str | None, extra: dict[str, str]) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().startswith("PIP_") and k not in _OUTSIDE and k.upper() not in _OUTSIDE
        }
        env.update(
            PIP_CONFIG_FILE=os.devnull,
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            PIP_NO_INPUT="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        if backend is not None:
            env["PIP_TLS_ADAPTER_BACKEND"] = backend
        env.update(extra)
        return env

    def pip(
        self,
        subject: Subject,
        name: str,
        args: list[str],
        *,
        env: dict[str, str] | None = None,
        in_process: bool = False,
    ) -> Outcome:
        """Run ``pip ARGS`` (or pip's main() in-process); output kept under logs/."""
        self._count += 1
        modules_file = self.logs / f"{self._count:03d}-modules.json"
        if in_process:
            command = [_bin(subject.venv, "python"), "-I", "-c", _IN_PROCESS, str(modules_file)]
        else:
            command = [_bin(subject.venv, "pip")]
        offset = self.server.log_size()
        started = time.perf_counter()
        result = subprocess.run(
            [*command, *args],
            env=self.environment(subject.backend, env or {}),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        seconds = time.perf_counter() - started
        output = result.stdout + result.stderr
        log_name = re.sub(r"[^\w.=-]+", "_", f"{self._count:03d}-{subject.label}-{name}.txt")
        (self.logs / log_name).write_text(f"$ {' '.join(args)}\n{output}", encoding="utf-8")
        time.sleep(0.05)  # nginx writes its log line after the response
        modules = json.loads(modules_file.read_text()) if modules_file.exists() else None
        return Outcome(
            result.returncode, output, seconds, self.server.entries_since(offset), modules
        )

    def probe(self, venv: Path, backend: str) -> dict[str, str]:
        """The TLS client that *backend* shows nginx, used directly (not through pip)."""
        offset = self.server.log_size()
        subprocess.run(
            [
                _bin(venv, "python"),
                "-I",
                "-c",
                _PROBE,
                self.index() + "index.html",
                backend,
                str(self.ca),
            ],
            env=self.environment(None, {}),
            check=True,
            timeout=120,
        )
        time.sleep(0.05)
        entries = [
            e for e in self.server.entries_since(offset) if e.get("agent") == f"probe/{backend}"
        ]
        if len(entries) != 1:
            raise SystemExit(f"the probe of {backend} left {len(entries)} log lines")
        return entries[0]


def _client(entry: dict[str, str]) -> tuple[str, str]:
    """What identifies a TLS client in nginx's log: offered groups and cipher suites."""
    return entry.get("groups", ""), entry.get("ciphers", "")


def _describe(entry: dict[str, str]) -> str:
    groups, ciphers = _client(entry)
    return (
        f"{entry.get('protocol')} {entry.get('cipher')} {entry.get('group')}; client offered "
        f"{len(ciphers.split(':'))} suites, {len(groups.split(':'))} groups"
    )


def _pip_entries(outcome: Outcome) -> list[dict[str, str]]:
    return [e for e in outcome.log if e.get("agent", "").startswith("pip/")]


def _refused(outcome: Outcome) -> tuple[bool, str]:
    text = outcome.output.lower()
    why = next((m for m in VERIFY_FAILED if m in text), None)
    ok = outcome.status != 0 and why is not None and NOT_FOUND.lower() in text
    line = next(
        (x.strip() for x in outcome.output.splitlines() if "verify failed" in x.lower()), ""
    )
    return ok, (
        f"exit {outcome.status}, {line[:240].rstrip()}"
        if line
        else f"exit {outcome.status}, no verify error"
    )


def check_subject(
    runner: Runner,
    subject: Subject,
    expected_client: tuple[str, str] | None,
    released_client: tuple[str, str] | None,
    sizes: dict[str, int],
    repeat: int,
) -> tuple[str, str] | None:
    """Every check for one pip; returns the TLS client nginx saw for it."""
    base = ["install", "--force-reinstall", "--no-deps", "--retries", "0", "--timeout", "60"]
    tiny_ok = f"Successfully installed {TINY}-1.0"
    verify = [_bin(subject.venv, "python"), "-I", "-c", f"import {TINY}; print({TINY}.VALUE)"]
    seen: tuple[str, str] | None = None

    def installed(outcome: Outcome, check: str, *, log_line: str | None = None) -> None:
        nonlocal seen
        value = subprocess.run(verify, capture_output=True, text=True, check=False).stdout.strip()
        entries = _pip_entries(outcome)
        ok = (
            outcome.status == 0
            and tiny_ok in outcome.output
            and value == TINY_VALUE
            and bool(entries)
        )
        detail = f"exit {outcome.status}, {len(entries)} requests"
        if log_line is not None:
            ok = ok and log_line in outcome.output
            detail += (
                f", pip -v: {log_line!r}" if log_line in outcome.output else ", no backend line"
            )
        clients = {_client(e) for e in entries}
        if len(clients) == 1:
            seen = clients.pop()
            subject.tls = _describe(entries[0])
            if expected_client is not None:
                same = seen == expected_client
                ok = ok and same
                detail += ", TLS client as expected" if same else ", TLS client NOT as expected"
            if released_client is not None and subject.backend is not None:
                differs = seen != released_client
                ok = ok and differs
                detail += "" if differs else ", TLS client = released pip's"
        else:
            ok = False
            detail += f", {len(clients)} different TLS clients"
        subject.record(check, ok, detail)

    cache = tempfile.mkdtemp(prefix="cache-", dir=runner.work)
    index = ["--index-url", runner.index()]
    backend_line = f"TLS for https:// by tls_adapter, backend {subject.backend}"
    outcome = runner.pip(
        subject, "cert", ["-v", *base, *index, "--cert", str(runner.ca), "--cache-dir", cache, TINY]
    )
    installed(outcome, "--cert ca.pem", log_line=backend_line if subject.backend else None)

    outcome = runner.pip(
        subject,
        "system-store",
        [*base, *index, "--no-cache-dir", TINY],
        env={"SSL_CERT_FILE": str(runner.ca)},
        in_process=True,
    )
    installed(outcome, "SSL_CERT_FILE=ca.pem")
    if outcome.modules is not None:
        allowed = BINDING_IMPORTS.get(subject.backend or "", ())
        top = set(outcome.modules["top_level"])
        leaked = sorted(top & set(NOT_TOP_LEVEL) - set(allowed))
        by_binding = sorted(top & set(allowed))
        backends = outcome.modules["backend_modules"]
        uses = f"pip._vendor.tls_adapter.backends.{subject.backend}" in backends
        ok = not leaked and (uses if subject.backend else not backends)
        loaded = ", ".join(m.rsplit(".", 1)[-1] for m in backends) or "none"
        note = f" (the binding imports {', '.join(by_binding)})" if by_binding else ""
        subject.record(
            "sys.modules",
            ok,
            f"top-level {'/'.join(NOT_TOP_LEVEL)} imported: {', '.join(leaked) or 'none'}{note}; "
            f"tls_adapter backend modules: {loaded}",
        )

    wrong_host = ["--index-url", runner.index(wrong_host=True), "--cert", str(runner.ca)]
    refusals = [
        ("refused: default trust store", index),
        ("refused: --cert other-ca.pem", [*index, "--cert", str(runner.other_ca)]),
        ("refused: wrong host name", wrong_host),
    ]
    for check, args in refusals:
        name = check.split(": ")[1]
        outcome = runner.pip(subject, name, [*base, "--no-cache-dir", *args, TINY])
        ok, detail = _refused(outcome)
        subject.record(check, ok and not _pip_entries(outcome), detail)

    # pip says --cert "overrides the default"; truststore adds it to the system store.
    outcome = runner.pip(
        subject,
        "cert-and-system",
        [*base, "--no-cache-dir", *index, "--cert", str(runner.other_ca), TINY],
        env={"SSL_CERT_FILE": str(runner.ca)},
    )
    accepted = outcome.status == 0
    expect_accepted = subject.backend is None
    subject.record(
        "SSL_CERT_FILE=ca.pem + --cert other-ca.pem",
        accepted == expect_accepted,
        "accepted (the --cert bundle is added to the system store)"
        if accepted
        else "refused (the --cert bundle replaces the system store)",
    )

    def download() -> tuple[float, float] | None:
        dest = tempfile.mkdtemp(prefix="download-", dir=runner.work)
        log = Path(dest + ".log")
        outcome = runner.pip(
            subject,
            "download",
            [
                "download", "--no-deps", "--no-cache-dir", "--progress-bar", "off",
                "--retries", "0", "--log", str(log), "--dest", dest, *index,
                "--cert", str(runner.ca), LARGE,
            ],
        )  # fmt: skip
        got = sum(p.stat().st_size for p in Path(dest).iterdir())
        transfer = _transfer_seconds(log.read_text(encoding="utf-8")) if log.exists() else None
        shutil.rmtree(dest)
        log.unlink(missing_ok=True)
        if outcome.status != 0 or got != sizes[LARGE] or transfer is None:
            subject.record("large download", False, f"exit {outcome.status}, {got} bytes")
            return None
        return transfer, outcome.seconds

    download()  # warm-up, not timed
    for _ in range(repeat):
        timing = download()
        if timing is None:
            break
        subject.throughput.append(timing)
    else:
        transfer = statistics.median(t for t, _ in subject.throughput)
        subject.record(
            "large download",
            True,
            f"{sizes[LARGE] / 2**20:.0f} MiB in {transfer:.3f} s: "
            f"{sizes[LARGE] / 2**20 / transfer:.0f} MiB/s (median of {repeat})",
        )
    shutil.rmtree(cache, ignore_errors=True)
    return seen


# -- report ----------------------------------------------------------------------------------------
_STAMP = r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3}) "


def _transfer_seconds(log: str) -> float | None:
    """From pip's ``--log`` file: the time from "Downloading <wheel>" (logged once the
    response headers are in) to "Saved" (body read, hashed, written, copied)."""
    start = re.search(_STAMP + rf"\s*Downloading {LARGE}-", log, flags=re.MULTILINE)
    end = re.search(_STAMP + r"Saved ", log, flags=re.MULTILINE)
    if start is None or end is None:
        return None
    stamps = [datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S,%f") for m in (start, end)]
    return max((stamps[1] - stamps[0]).total_seconds(), 1e-3)


def report(
    subjects: list[Subject], unavailable: dict[str, str], sizes: dict[str, int], pip_version: str
) -> str:
    """The markdown report: checks, the TLS each pip negotiated, and throughput."""
    mib = sizes[LARGE] / 2**20
    checks = list(dict.fromkeys(c for s in subjects for c in s.results))
    lines = [
        f"# pip {pip_version} with tls_adapter vendored: checks against a local nginx index",
        "",
        "| pip | " + " | ".join(checks) + " |",
        "|---|" + "---|" * len(checks),
    ]
    for s in subjects:
        cells = [s.results.get(c, "-").split(" ", 1)[0] for c in checks]
        lines.append(f"| {s.label} | " + " | ".join(cells) + " |")
    lines += ["", "## TLS seen by nginx for pip's requests", "", "| pip | TLS |", "|---|---|"]
    lines += [f"| {s.label} | {s.tls} |" for s in subjects]
    lines += [
        "",
        f"## Throughput: `pip download` of a {mib:.0f} MiB wheel",
        "",
        'From pip\'s own `--log` (millisecond timestamps): "Downloading" (response',
        'headers in) to "Saved" (body read in pip\'s chunks, hash checked, written and',
        "copied to `--dest`); medians. The whole command includes pip's start-up.",
        "",
        "| pip | transfer s | MiB/s | whole command s |",
        "|---|---|---|---|",
    ]
    for s in subjects:
        if s.throughput:
            transfer = statistics.median(t for t, _ in s.throughput)
            command = statistics.median(c for _, c in s.throughput)
            lines.append(f"| {s.label} | {transfer:.3f} | {mib / transfer:.0f} | {command:.2f} |")
    if unavailable:
        lines += ["", "## Backends not available here", ""]
        lines += [f"- {name}: {reason}" for name, reason in unavailable.items()]
    failures = [f"{s.label}: {f}" for s in subjects for f in s.failures]
    lines += ["", "## Details", ""]
    lines += [f"- {s.label}, {c}: {r}" for s in subjects for c, r in s.results.items()]
    lines += ["", f"{'FAILED: ' + str(len(failures)) if failures else 'All checks passed.'}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Set everything up, run every check, write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--patched-pip", type=Path, required=True)
    parser.add_argument("--tls-adapter-wheel", type=Path, required=True)
    parser.add_argument("--pip-version", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--backends", default="all", help="'all' or a comma-separated list")
    parser.add_argument("--large-mib", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args(argv)
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    ca, other = trustme.CA(), trustme.CA()
    pki = work / "pki"
    pki.mkdir(exist_ok=True)
    ca.cert_pem.write_to_path(str(pki / "ca.pem"))
    other.cert_pem.write_to_path(str(pki / "other-ca.pem"))
    ca.issue_cert("localhost", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(pki / "localhost.pem")
    )
    ca.issue_cert("wrong.example").private_key_and_cert_chain_pem.write_to_path(
        str(pki / "wrong-host.pem")
    )
    sizes = build_index(work / "www", args.large_mib)
    print(f"index: {TINY} ({sizes[TINY]} bytes), {LARGE} ({sizes[LARGE] / 2**20:.1f} MiB)")

    extras = list(_KNOWN_EXTRAS) if args.backends == "all" else args.backends.split(",")
    released, patched = make_venvs(
        work, args.pip_version, args.patched_pip, args.tls_adapter_wheel, extras
    )
    found = json.loads(
        subprocess.run(
            [_bin(patched, "python"), "-I", "-c", _CLEAN, *NOT_TOP_LEVEL[:3]],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    if found:
        raise SystemExit(f"the patched pip's venv can import {found} at top level")
    status: dict[str, str] = json.loads(
        subprocess.run(
            [_bin(patched, "python"), "-I", "-c", _STATUS],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    wanted = list(status) if args.backends == "all" else args.backends.split(",")
    unknown = [b for b in wanted if b not in status]
    if unknown:
        raise SystemExit(f"unknown backends {unknown}; known: {', '.join(status)}")
    backends = [b for b in wanted if not status[b]]
    unavailable = {b: status[b] for b in wanted if status[b]}
    print(f"backends: {', '.join(backends)}; not available: {', '.join(unavailable) or 'none'}")

    nginx_dir = work / "nginx"
    nginx_dir.mkdir(exist_ok=True)
    with nginx(nginx_dir, work / "www", pki / "localhost.pem", pki / "wrong-host.pem") as server:
        runner = Runner(work, server, pki / "ca.pem", pki / "other-ca.pem")
        subjects = [Subject(f"pip {args.pip_version} (released, truststore)", released, None)]
        released_client = check_subject(runner, subjects[0], None, None, sizes, args.repeat)
        as_released = Subject("patched pip, no PIP_TLS_ADAPTER_BACKEND", patched, None)
        subjects.append(as_released)
        check_subject(runner, as_released, released_client, None, sizes, 1)
        wrong = Subject(as_released.label, patched, "no-such-backend")
        outcome = runner.pip(wrong, "unknown-backend", ["download", "--dest", str(work), TINY])
        error = "ERROR: PIP_TLS_ADAPTER_BACKEND=no-such-backend: unknown TLS backend"
        as_released.record(
            "PIP_TLS_ADAPTER_BACKEND=no-such-backend",
            outcome.status != 0 and error in outcome.output,
            f"exit {outcome.status}, {error!r}" if error in outcome.output else "no such error",
        )
        for backend in backends:
            subject = Subject(f"patched pip, {backend}", patched, backend)
            subjects.append(subject)
            own = _client(runner.probe(patched, backend))
            check_subject(runner, subject, own, released_client, sizes, args.repeat)

    text = report(subjects, unavailable, sizes, args.pip_version)
    text += f"\n({len(backends)} backends, {time.monotonic() - started:.0f} s)\n"
    args.report.write_text(text, encoding="utf-8")
    print(text)
    return 1 if any(s.failures for s in subjects) else 0


if __name__ == "__main__":
    sys.exit(main())
