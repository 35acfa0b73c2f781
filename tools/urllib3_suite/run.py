#!/usr/bin/env python3
"""Run urllib3's own HTTPS test suite against ``tls_adapter.urllib3.SSLContext``.

For each urllib3 line (the latest 2.x and 1.26.20 by default) this script

1. downloads the sdist from PyPI (``pip download --no-binary urllib3``; the sdists
   contain ``test/`` and ``dummyserver/``) and unpacks it in a cache directory,
2. makes a virtualenv with that line's test dependencies (2.x: its ``test`` dependency
   group with PyPI's hypercorn; 1.26: ``dev-requirements.txt`` pins with tornado and
   pyOpenSSL 24.2.1), urllib3 itself (editable, from the sdist) and tls_adapter
   (editable, from this checkout, plus the extras of every backend that installs),
3. copies ``test_tls_adapter.py`` into the sdist's ``test/contrib/`` and runs it once per
   backend available in that virtualenv (``$TLS_ADAPTER_BACKEND``), inside a private
   network namespace (``netns_run.sh``), with ``CI=true``, ``-k "not pyopenssl"`` and
   the deselections of ``deselect.txt``,
4. writes a Markdown table of the results (default ``docs/urllib3_suite_results.md``)
   and exits non-zero if any test failed or errored.

Usage::

    python tools/urllib3_suite/run.py [--backends openssl,...] [--versions 2,1.26.20]
        [--workdir DIR] [--results FILE] [--no-netns] [-- extra pytest args]

``$TLS_ADAPTER_SUITE_BACKENDS`` restricts the backends like ``--backends``. The cache
(default ``$XDG_CACHE_HOME/tls_adapter-urllib3-suite``) keeps sdists and virtualenvs
between runs; nothing is written into the checkout except the results file.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent

# Test dependencies per urllib3 line (see the module docstring).
REQUIREMENTS = {
    "2": [
        "anyio[trio]>=4.8.0",
        "h2>=4.1.0",
        "httpx>=0.28.1",
        "hypercorn>=0.15.0",
        "pysocks>=1.7.1",
        "pytest>=8.3.4",
        "pytest-socket>=0.7.0",
        "pytest-timeout>=2.3.1",
        "quart>=0.20.0",
        "quart-trio>=0.12.0",
        "trio>=0.27.0",
        "cryptography>=44.0.2",
        "idna>=3.10",
        "trustme>=1.2.1",
    ],
    "1": [
        "mock==5.1.0",
        "tornado==6.4.1",
        "PySocks==1.7.1",
        "pytest==8.3.2",
        "pytest-timeout==2.3.1",
        "pytest-freezegun==0.4.2",
        "flaky==3.8.1",
        "trustme>=1.2",
        "cryptography==43.0.0",
        "python-dateutil==2.9.0.post0",
        "pyopenssl==24.2.1",
        "idna",
        "certifi",
    ],
}
# pytest options of each line's own noxfile, plus ours.
PYTEST_ARGS = {
    "2": [
        "-ra",
        "--tb=short",
        "--strict-config",
        "--strict-markers",
        "--disable-socket",
        "--allow-unix-socket",
        "--allow-hosts=localhost,127.0.0.1,::1,127.0.0.0,240.0.0.0",
    ],
    "1": ["-ra", "--tb=short", "--no-success-flaky-report"],
}
PYTHONWARNINGS = {"2": "always::FutureWarning", "1": "always::DeprecationWarning"}
HOSTS = "127.0.0.1 localhost localhost.\n::1 localhost localhost. ip6-localhost\n"


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[urllib3-suite] {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run *cmd*, failing loudly with its output."""
    result = subprocess.run(cmd, text=True, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"command failed ({result.returncode}): {' '.join(cmd)}")
    return result  # type: ignore[no-any-return]


def line_of(version: str) -> str:
    """``"2"`` or ``"1"``: which requirement set a urllib3 version needs."""
    return "1" if version.startswith("1.") else "2"


def fetch_sdist(spec: str, workdir: Path) -> Path:
    """Download (or reuse) the sdist for *spec* (``"2"`` = latest 2.x) and return it."""
    target = workdir / "sdist"
    target.mkdir(parents=True, exist_ok=True)
    requirement = "urllib3>=2,<3" if spec == "2" else f"urllib3=={spec}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "urllib3"]
    cmd += [requirement, "-d", str(target)]
    result = subprocess.run(cmd, text=True, capture_output=True, check=False)
    names = re.findall(r"urllib3-(\d[\w.]*?)\.tar\.gz", result.stdout)
    if result.returncode == 0 and names:
        return target / f"urllib3-{names[-1]}.tar.gz"
    pattern = "urllib3-2.*.tar.gz" if spec == "2" else f"urllib3-{spec}.tar.gz"
    cached = sorted(target.glob(pattern), key=lambda p: _version_key(p.name))
    if not cached:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(f"cannot download urllib3 {requirement} and nothing is cached")
    log(f"PyPI unreachable; using cached {cached[-1].name}")
    return cached[-1]


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", name))


def unpack(sdist: Path, workdir: Path) -> Path:
    """Unpack *sdist* under ``workdir/src`` once; return the source directory."""
    name = sdist.name.removesuffix(".tar.gz")
    dest = workdir / "src" / name
    if not (dest / "test" / "conftest.py").exists():
        (workdir / "src").mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist) as tar:
            tar.extractall(workdir / "src", filter="data")
    return dest


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def make_venv(version: str, tree: Path, workdir: Path) -> Path:
    """The virtualenv for *version*: test deps, urllib3 (editable) and tls_adapter."""
    line = line_of(version)
    python_tag = f"py{sys.version_info[0]}{sys.version_info[1]}"
    venv = workdir / f"venv-{version}-{python_tag}"
    python = venv / "bin" / "python"
    marker = venv / ".tls_adapter-suite"
    want = _digest(*REQUIREMENTS[line], str(tree), str(SOURCE), _pyproject_digest())
    if marker.exists() and marker.read_text() == want and python.exists():
        return python
    if venv.exists():
        shutil.rmtree(venv)
    log(f"creating {venv}")
    run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run([*pip, *REQUIREMENTS[line]])
    run([*pip, "--no-deps", "-e", str(tree)])
    run([*pip, "-e", str(SOURCE)])
    known = run(
        [str(python), "-c", "from tls_adapter.backends import known_backends as k; print(*k())"]
    ).stdout.split()
    for name in known:
        if name == "openssl":
            continue
        result = subprocess.run(
            [*pip, "-e", f"{SOURCE}[{name}]"], text=True, capture_output=True, check=False
        )
        if result.returncode != 0:
            log(f"extra [{name}] did not install; that backend stays unavailable")
    marker.write_text(want)
    return python


def _pyproject_digest() -> str:
    path = SOURCE / "pyproject.toml"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def available_backends(python: Path) -> dict[str, str]:
    """``{name: "" or reason}`` for every known backend, as seen from *python*."""
    code = (
        "import json; from tls_adapter.backends import backend_status as s; "
        "print(json.dumps({x.name: x.reason for x in s()}))"
    )
    status: dict[str, str] = json.loads(run([str(python), "-c", code]).stdout)
    return status


def can_unshare() -> bool:
    """Whether private network namespaces work here (root and util-linux ``unshare``)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--net", "--mount", "true"], capture_output=True, check=False
    )
    return probe.returncode == 0


def run_suite(
    python: Path, tree: Path, backend: str, workdir: Path, netns: bool, extra: list[str]
) -> dict[str, object]:
    """Run the re-run module for one backend; return the plugin's JSON report."""
    version = tree.name.removeprefix("urllib3-")
    line = line_of(version)
    shutil.copyfile(HERE / "test_tls_adapter.py", tree / "test" / "contrib" / "test_tls_adapter.py")
    report = workdir / "reports" / f"{version}-{backend}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    log_file = workdir / "reports" / f"{version}-{backend}.log"
    env = dict(os.environ)
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        env.pop(name, None)
    env.update(
        CI="true",
        TLS_ADAPTER_BACKEND=backend,
        PYTHONWARNINGS=PYTHONWARNINGS[line],
        PYTHONPATH=str(HERE),
        PYTHONDONTWRITEBYTECODE="1",
    )
    cmd = [str(python), "-m", "pytest", "-p", "tls_adapter_suite_plugin", "-p", "no:cacheprovider"]
    cmd += PYTEST_ARGS[line]
    config = "pyproject.toml" if line == "2" else "setup.cfg"
    cmd += ["-c", config, "--rootdir", str(tree), "--timeout=120", "-k", "not pyopenssl"]
    cmd += [f"--tls-adapter-deselect={HERE / 'deselect.txt'}", f"--tls-adapter-report={report}"]
    cmd += ["test/contrib/test_tls_adapter.py", *extra]
    if netns:
        hosts = workdir / "hosts"
        hosts.write_text(HOSTS)
        cmd = [str(HERE / "netns_run.sh"), str(hosts), *cmd]
    cmd = ["timeout", "1200", *cmd]
    log(f"urllib3 {version} / {backend}: running (log: {log_file})")
    started = time.monotonic()
    with open(log_file, "w") as out:
        status = subprocess.run(
            cmd, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        ).returncode
    wall = round(time.monotonic() - started, 1)
    if not report.exists():
        tail = log_file.read_text(errors="replace")[-3000:]
        return {
            "urllib3": version,
            "backend": backend,
            "counts": {},
            "exitstatus": status,
            "wall": wall,
            "failures": [{"nodeid": "(session)", "when": "run", "message": tail}],
            "deselected": [],
            "handshakes": {},
        }
    result: dict[str, object] = json.loads(report.read_text())
    result["wall"] = wall
    result["log"] = str(log_file)
    return result


def failed(result: dict[str, object]) -> bool:
    """Whether a run had failures or errors (or did not finish)."""
    counts = result.get("counts") or {}
    assert isinstance(counts, dict)
    return bool(counts.get("failed") or counts.get("error") or result.get("failures")) or (
        result.get("exitstatus") not in (0, 5)
    )


#: urllib3's dummyserver binds a random port for IPv4 and then the same number for IPv6
#: (tornado's ``bind_sockets``); now and then that number is taken on one of them and a
#: whole test class fails in ``setup_class`` before any TLS happens.
_PORT_COLLISION = "Address already in use"


def only_port_collisions(result: dict[str, object]) -> bool:
    """Whether every failure of a run is the dummyserver's port collision (worth a rerun)."""
    failures = result.get("failures") or []
    assert isinstance(failures, list)
    return bool(failures) and all(
        f.get("when") == "setup" and _PORT_COLLISION in str(f.get("message", "")) for f in failures
    )


def write_results(
    results: list[dict[str, object]],
    unavailable: dict[str, dict[str, str]],
    path: Path,
    netns: bool,
) -> None:
    """The Markdown results table."""
    today = datetime.date.today().isoformat()
    lines = [
        "# urllib3's test suite against tls_adapter",
        "",
        "Generated by `nox -s urllib3_suite` (`tools/urllib3_suite/run.py`) on "
        f"{today}. urllib3's own HTTPS tests (`test_https.py`, the TLS classes of "
        "`test_socketlevel.py`, `test_proxy_poolmanager.py`, `TestUtilSSL`, `TestSSL`) "
        "re-run with `tls_adapter.urllib3.SSLContext` injected, one run per urllib3 "
        "version and backend, "
        + (
            "inside a private network namespace (loopback only)"
            if netns
            else "WITHOUT a network namespace"
        )
        + ', with `CI=true` and `-k "not pyopenssl"`. Deselected tests and why: '
        "`tools/urllib3_suite/deselect.txt`.",
        "",
        "| urllib3 | backend | library | passed | failed | errors | skipped | xfailed "
        "| deselected | handshakes (socket + bio) | time |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c = r.get("counts") or {}
        assert isinstance(c, dict)
        h = r.get("handshakes") or {}
        assert isinstance(h, dict)
        lines.append(
            f"| {r['urllib3']} | {r['backend']} | {r.get('library', '?')} | {c.get('passed', 0)} "
            f"| {c.get('failed', 0)} | {c.get('error', 0)} | {c.get('skipped', 0)} "
            f"| {c.get('xfailed', 0)} | {c.get('deselected', 0)} "
            f"| {h.get('wrap_socket', 0)} + {h.get('wrap_bio', 0)} | {r.get('wall', '?')} s |"
        )
    for r in results:
        if r.get("retried"):
            lines.append(
                f"\nurllib3 {r['urllib3']} / {r['backend']} ran twice: the first run had "
                f"only {r['retried']} (urllib3's dummyserver could not bind its port)."
            )
    if any(r["backend"] == "stdlib" for r in results):
        lines += [
            "",
            "Rows with backend `stdlib` are the control run (`--baseline`): the same tests "
            "with nothing injected, so urllib3 uses the standard library's `ssl`.",
        ]
    if results:
        first = results[0]
        lines += ["", f"Python {first.get('python', '?')}, {first.get('openssl', '?')}."]
    for version, missing in unavailable.items():
        for name, reason in missing.items():
            lines.append(f"\nNot run on urllib3 {version}: backend `{name}` ({reason}).")
    bad = [r for r in results if failed(r)]
    if bad:
        lines += ["", "## Failures", ""]
        for r in bad:
            failures = r.get("failures") or []
            assert isinstance(failures, list)
            for f in failures:
                lines.append(
                    f"- urllib3 {r['urllib3']} / {r['backend']}: `{f['nodeid']}` ({f['when']})"
                )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default="2,1.26.20", help="'2' means the latest 2.x")
    parser.add_argument(
        "--backends",
        default=os.environ.get("TLS_ADAPTER_SUITE_BACKENDS", ""),
        help="comma-separated backends (default: every backend available)",
    )
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    parser.add_argument("--workdir", type=Path, default=cache / "tls_adapter-urllib3-suite")
    parser.add_argument(
        "--results", type=Path, default=SOURCE / "docs" / "urllib3_suite_results.md"
    )
    parser.add_argument("--no-netns", action="store_true", help="run without unshare")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also run once without injection (plain ssl) as a control",
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    netns = not args.no_netns
    if netns and not can_unshare():
        log("network namespaces need root and unshare(1); pass --no-netns to run without")
        return 2
    wanted = [b for b in args.backends.replace(" ", ",").split(",") if b]
    results: list[dict[str, object]] = []
    unavailable: dict[str, dict[str, str]] = {}
    for spec in [v for v in args.versions.split(",") if v]:
        sdist = fetch_sdist(spec, workdir)
        tree = unpack(sdist, workdir)
        version = tree.name.removeprefix("urllib3-")
        python = make_venv(version, tree, workdir)
        status = available_backends(python)
        names = [n for n, reason in status.items() if not reason]
        if wanted:
            missing = {n: status.get(n, "unknown backend") for n in wanted if n not in names}
            if missing:
                unavailable[version] = {n: r or "unknown" for n, r in missing.items()}
            names = [n for n in names if n in wanted]
        if args.baseline:
            names.insert(0, "stdlib")
        for backend in names:
            result = run_suite(python, tree, backend, workdir, netns, args.pytest_args)
            if failed(result) and only_port_collisions(result):
                count = len(result.get("failures") or [])  # type: ignore[arg-type]
                log(
                    f"urllib3 {version} / {backend}: {count} setup errors, all "
                    f"'{_PORT_COLLISION}' in urllib3's dummyserver; running it once more"
                )
                result = run_suite(python, tree, backend, workdir, netns, args.pytest_args)
                result["retried"] = f"{count} setup errors: {_PORT_COLLISION}"
            results.append(result)
            c = result.get("counts") or {}
            log(f"urllib3 {version} / {backend}: {c} in {result.get('wall')} s")
    write_results(results, unavailable, args.results, netns)
    log(f"results written to {args.results}")
    bad = [r for r in results if failed(r)]
    for r in bad:
        for f in r.get("failures") or []:  # type: ignore[attr-defined]
            log(f"FAILED urllib3 {r['urllib3']} / {r['backend']}: {f['nodeid']}")
    if unavailable:
        log(f"backends requested but unavailable: {unavailable}")
    return 1 if bad or unavailable or not results else 0


if __name__ == "__main__":
    sys.exit(main())
