"""Sessions of tls_adapter; ``nox`` runs tests, lint, mypy and docs, as CI (.ci/run) does.

Virtual environments are made with the stdlib ``venv`` (uv may be absent) and made
afresh on every run.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys

import nox

nox.options.sessions = [
    "tests",
    "lint",
    "mypy",
    "docs",
    "limbo",
    "fuzz",
    "urllib3_suite",
    "requests_matrix",
    "vendoring",
    "pip_vendored",
    "build",
]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = False
nox.needs_version = ">=2024.3.2"

SUPPORTED_MINORS = (10, 11, 12, 13)
# The test extras every interpreter's session installs; the mypy session checks the
# same code, so it installs the same.
TEST_INSTALL = ".[test,all]"

_PROBE = "import sys, venv, ensurepip; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"


def _probe(executable: str) -> str | None:
    """Return ``"3.X"`` if *executable* runs and can make a venv with pip, else None.

    A pyenv shim for a version that is installed but not selected is on PATH and
    executable, yet fails when run; Debian's ``python3.X`` without ``python3.X-venv``
    runs but cannot make a venv with pip. Both are left out.
    """
    try:
        result = subprocess.run(
            [executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = result.stdout.strip()
    return out if result.returncode == 0 and re.fullmatch(r"3\.\d+", out) else None


def _version_key(path: str) -> tuple[int, ...]:
    """Sort key for ``.../versions/3.12.1/bin/python3.12``: the patch release, numerically."""
    match = re.search(r"/versions/(\d+(?:\.\d+)*)", path)
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def _candidates(minor: int) -> list[str]:
    """Places a ``python3.<minor>`` may be, best first: pyenv builds, then PATH."""
    name = f"python3.{minor}"
    pyenv_roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv"), "/root/.pyenv"]
    found: list[str] = []
    for root in dict.fromkeys(r for r in pyenv_roots if r):
        # Plain CPython builds only (3.12.1, not 3.12-dev or 3.13.0t).
        pattern = os.path.join(root, "versions", f"3.{minor}*", "bin", name)
        builds = [p for p in glob.glob(pattern) if re.search(r"/versions/3\.\d+\.\d+/", p)]
        found.extend(sorted(builds, key=_version_key, reverse=True))
    on_path = shutil.which(name)
    if on_path:
        found.append(on_path)
    return list(dict.fromkeys(found))


def find_pythons() -> dict[str, str]:
    """Map ``"3.X"`` to an interpreter path, for every CPython 3.10-3.13 on this machine.

    The interpreter running nox is always included, so the tests session has at least
    one interpreter wherever nox itself runs.
    """
    pythons: dict[str, str] = {}
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    pythons[running] = sys.executable
    for minor in SUPPORTED_MINORS:
        version = f"3.{minor}"
        if version in pythons:
            continue
        for candidate in _candidates(minor):
            if _probe(candidate) == version:
                pythons[version] = candidate
                break
    return dict(sorted(pythons.items(), key=lambda item: tuple(map(int, item[0].split(".")))))


PYTHONS = find_pythons()


@nox.session
@nox.parametrize("python", list(PYTHONS.values()), ids=list(PYTHONS))
def tests(session: nox.Session) -> None:
    """pytest; one session per CPython 3.10-3.13 found here, e.g. ``nox -s "tests(3.12)"``."""
    session.install(TEST_INSTALL)
    # This machine exports SSL_CERT_FILE, SSL_CERT_DIR, REQUESTS_CA_BUNDLE and
    # CURL_CA_BUNDLE. They are passed through unchanged on purpose: the tests must not
    # rely on them; a test that needs one of them sets it (tests/conftest.py clears them
    # for every test).
    env = {}
    if session.python == sys.executable:
        # The default interpreter's run records the measured client x server matrix.
        env["TLS_ADAPTER_INTEROP_REPORT"] = "docs/interop_results.md"
    session.run("pytest", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format check) and the vendoring import check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", "tools/check_vendorable.py", "tls_adapter")


@nox.session
def mypy(session: nox.Session) -> None:
    """mypy --strict over tls_adapter, tests, tools, noxfile.py and benchmarks (see pyproject)."""
    session.install("mypy", "nox", "types-requests", TEST_INSTALL)
    session.run("mypy", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the HTML docs; warnings (including broken references) are errors."""
    # [all]: the backend table in docs/backends.rst shows what can be imported here.
    session.install(".[docs,all]")
    session.run(
        "sphinx-build", "-W", "--keep-going", "-n", "-b", "html", "docs", "docs/_build/html"
    )


# --------------------------------------------------------------------------- packaging


def _fresh_dir(session: nox.Session, name: str) -> str:
    """An empty directory *name* under the session's tmp dir (removed first if present)."""
    path = os.path.join(os.path.abspath(session.create_tmp()), name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def _only(session: nox.Session, pattern: str) -> str:
    """The one file matching *pattern*, or a session error."""
    found = glob.glob(pattern)
    if len(found) != 1:
        session.error(f"expected exactly one {pattern}, found {found}")
    return found[0]


def _venv_python(session: nox.Session, path: str, *, with_pip: bool) -> str:
    """Make a fresh virtual environment at *path* (no site-packages from anywhere else)."""
    args = ["python", "-m", "venv", path]
    if not with_pip:
        args.insert(3, "--without-pip")
    session.run(*args)
    scripts = "Scripts" if sys.platform == "win32" else "bin"
    return os.path.join(path, scripts, "python.exe" if sys.platform == "win32" else "python")


@nox.session
def vendoring(session: nox.Session) -> None:
    """Vendor the built wheel pip-style with `vendoring sync`; smoke-test it in a clean venv.

    tools/vendoring_demo/README.md explains the demo host, its pins and patches.
    """
    from pathlib import Path

    session.install("build", "vendoring==1.4.0")
    work = _fresh_dir(session, "vendoring")
    dist = os.path.join(work, "dist")
    session.run("python", "-m", "build", "--wheel", "--outdir", dist, ".")
    wheel = _only(session, os.path.join(dist, "tls_adapter-*-py3-none-any.whl"))

    demo = os.path.abspath(os.path.join("tools", "vendoring_demo"))
    host = os.path.join(work, "host")
    shutil.copytree(os.path.join(demo, "host"), host)
    # A host project is its own git checkout, as pip's is: `vendoring` applies the patches
    # with `git apply`, which inside an enclosing repository (this one) skips them.
    session.run("git", "init", "-q", host, external=True)
    with session.chdir(host):
        # vendor.txt refers to the wheel as ${TLS_ADAPTER_WHEEL_URL}; pip expands it.
        session.run("vendoring", "sync", "-v", env={"TLS_ADAPTER_WHEEL_URL": Path(wheel).as_uri()})

    # A venv without even pip: only the standard library and the vendored tree.
    python = _venv_python(session, os.path.join(work, "clean-venv"), with_pip=False)
    with session.chdir(work):
        session.run(
            python,
            "-I",
            os.path.join(demo, "vendoring_smoke.py"),
            os.path.join(host, "src"),
            wheel,
            external=True,
        )


# The newest pip whose vendor.txt pins can all be installed from the index reachable
# here (26.3 pins certifi==2026.10.23, which it does not serve).
_PIP_VERSION = "26.2.1"


@nox.session
def pip_vendored(session: nox.Session) -> None:
    """pip itself, with tls_adapter vendored into pip._vendor, installing over TLS.

    Re-vendors pip's sdist with `vendoring sync` plus tls_adapter, applies
    tools/pip_vendored/pip-session.patch, builds that pip and runs it against a local
    nginx index for every available backend (tools/pip_vendored/README.md). Backends:
    all locally; with CI=true openssl and gnutls, and a 16 MiB wheel instead of 64 MiB.
    ``-- --backends openssl,rustls`` (or $TLS_ADAPTER_PIP_BACKENDS) chooses. The report
    is .nox/pip_vendored/tmp/pip_vendored/report.md.
    """
    session.install("build", "vendoring==1.4.0", "trustme", "packaging")
    work = _fresh_dir(session, "pip_vendored")
    dist = os.path.join(work, "dist")
    session.run("python", "-m", "build", "--wheel", "--outdir", dist, ".")
    wheel = _only(session, os.path.join(dist, "tls_adapter-*-py3-none-any.whl"))

    tools = os.path.abspath(os.path.join("tools", "pip_vendored"))
    session.run(
        "python", "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
        "--dest", work, f"pip=={_PIP_VERSION}",
    )  # fmt: skip
    sdist = _only(session, os.path.join(work, f"pip-{_PIP_VERSION}.tar.gz"))
    session.run("tar", "-xzf", sdist, "-C", work, external=True)
    pip_src = os.path.join(work, f"pip-{_PIP_VERSION}")
    # Its own git checkout, as pip's is: `vendoring` applies patches with `git apply`.
    session.run("git", "init", "-q", pip_src, external=True)
    with session.chdir(pip_src):
        session.run(
            "python",
            os.path.join(tools, "pip_revendor.py"),
            wheel,
            os.path.join(tools, "vendor.txt"),
        )
        session.run("git", "apply", "-v", os.path.join(tools, "pip-session.patch"), external=True)
    pip_dist = os.path.join(work, "pip-dist")
    session.run("python", "-m", "build", "--wheel", "--outdir", pip_dist, pip_src)
    patched = _only(session, os.path.join(pip_dist, f"pip-{_PIP_VERSION}-py3-none-any.whl"))

    ci = os.environ.get("CI", "").lower() == "true"
    backends = os.environ.get("TLS_ADAPTER_PIP_BACKENDS") or ("openssl,gnutls" if ci else "all")
    session.run(
        "python", os.path.join(tools, "pip_checks.py"),
        "--patched-pip", patched,
        "--tls-adapter-wheel", wheel,
        "--pip-version", _PIP_VERSION,
        "--work", os.path.join(work, "checks"),
        "--backends", backends,
        "--large-mib", "16" if ci else "64",
        "--repeat", "1" if ci else "3",
        "--report", os.path.join(work, "report.md"),
        *session.posargs,
    )  # fmt: skip


_SDIST_REQUIRED = (
    "PKG-INFO",
    "pyproject.toml",
    "LICENSE",
    "README.md",
    "CHANGES.md",
    "tls_adapter/py.typed",
    "tests/conftest.py",
    "docs/conf.py",
)


def _check_distributions(session: nox.Session, sdist: str, wheel: str) -> None:
    """What a release must (and must not) contain."""
    import tarfile
    import zipfile

    if not wheel.endswith("-py3-none-any.whl"):
        session.error(f"the wheel is not pure Python: {os.path.basename(wheel)}")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    stray = [n for n in names if not n.startswith(("tls_adapter/", "tls_adapter-"))]
    if stray:
        session.error(f"unexpected files in the wheel: {stray}")
    for required in ("tls_adapter/__init__.py", "tls_adapter/py.typed"):
        if required not in names:
            session.error(f"{required} is missing from the wheel")
    if not any(re.search(r"\.dist-info/(licenses/)?LICENSE$", n) for n in names):
        session.error("LICENSE is missing from the wheel's .dist-info")

    with tarfile.open(sdist) as archive:
        members = [m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name]
    for required in _SDIST_REQUIRED:
        if required not in members:
            session.error(f"{required} is missing from the sdist")
    unwanted = [m for m in members if m.startswith(("docs/_build/", ".nox/", ".git/"))]
    if unwanted:
        session.error(f"build output in the sdist: {unwanted[:5]}")
    session.log(f"contents ok: wheel {len(names)} files, sdist {len(members)} members")


@nox.session
def build(session: nox.Session) -> None:
    """sdist + wheel, `twine check`, then install the wheel in a fresh venv and run the demo."""
    session.install("build", "twine")
    work = _fresh_dir(session, "build")
    dist = os.path.join(work, "dist")
    session.run("python", "-m", "build", "--outdir", dist, ".")
    sdist = _only(session, os.path.join(dist, "tls_adapter-*.tar.gz"))
    wheel = _only(session, os.path.join(dist, "tls_adapter-*.whl"))
    session.run("twine", "check", "--strict", sdist, wheel)
    _check_distributions(session, sdist, wheel)

    python = _venv_python(session, os.path.join(work, "install-venv"), with_pip=True)
    try:
        session.run(python, "-m", "pip", "install", f"{wheel}[all]", external=True)
    except nox.command.CommandFailed:
        session.warn("the [all] extra does not resolve here; installing [requests] instead")
        session.run(python, "-m", "pip", "install", f"{wheel}[requests]", external=True)
    scripts = os.path.dirname(python)
    # Run outside the checkout so that the installed copy is the one imported.
    with session.chdir(work):
        session.run(
            python,
            "-c",
            "import sys, tls_adapter; "
            "assert tls_adapter.__file__.startswith(sys.prefix), tls_adapter.__file__",
            external=True,
        )
        session.run(os.path.join(scripts, "tls-adapter"), "backends", external=True)
        # The command at the top of README.md.
        session.run(os.path.join(scripts, "tls-adapter"), "demo", external=True)


@nox.session
@nox.parametrize("urllib3_version", ["1.26.20", "latest"])
@nox.parametrize("requests_version", ["2.32.3", "latest"])
def requests_matrix(session: nox.Session, requests_version: str, urllib3_version: str) -> None:
    """tests/test_requests_adapter.py: requests 2.32.3 / latest x urllib3 1.26.20 / latest 2.x."""
    session.install(TEST_INSTALL)
    requests_pin = "requests" if requests_version == "latest" else f"requests=={requests_version}"
    urllib3_pin = "urllib3>=2,<3" if urllib3_version == "latest" else f"urllib3=={urllib3_version}"
    session.install("--upgrade", requests_pin, urllib3_pin)
    session.run(
        "python",
        "-c",
        "import requests, urllib3; print('requests', requests.__version__, "
        "'urllib3', urllib3.__version__)",
    )
    session.run("pytest", "tests/test_requests_adapter.py", *session.posargs)


# --------------------------------------------------------------------------- urllib3's suite


@nox.session
def urllib3_suite(session: nox.Session) -> None:
    """urllib3's own HTTPS tests (latest 2.x and 1.26.20) against our SSLContext shim.

    Downloads the urllib3 sdists and their test dependencies from PyPI into a cache
    (``$XDG_CACHE_HOME/tls_adapter-urllib3-suite``), runs the suite once per urllib3
    version and available backend in a private network namespace (needs root), writes
    ``docs/urllib3_suite_results.md`` and fails if any test fails. Arguments after
    ``--`` go to ``tools/urllib3_suite/run.py``, e.g. ``-- --backends openssl``
    (``$TLS_ADAPTER_SUITE_BACKENDS`` works too).
    """
    session.run("python", "tools/urllib3_suite/run.py", *session.posargs)


# --------------------------------------------------------------------------- benchmarks


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against a local nginx: writes docs/benchmarks.md and benchmarks/results/.

    Every available backend, through the urllib3 shim and the requests adapter, against
    the stdlib and the peers (plain urllib3/requests, pyOpenSSL, truststore), with the
    OpenSSL targets and the speed-parity targets of every other backend measured in A B B A
    pairs, and SVG charts (matplotlib) in docs/_static/bench/. About 19 minutes on two
    cores. nginx-light is installed with apt-get when it is missing and nox runs as root.
    Arguments after ``--`` go to ``python -m benchmarks``: ``-- --quick`` is the smoke run
    (under half a minute; it writes benchmarks/results/quick.*.tmp only), ``-- --rounds 30
    --duration 0.1`` measures longer, ``-- --backends openssl,rustls``.
    """
    session.install(".[all,bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)


# --------------------------------------------------------------------------- x509-limbo


@nox.session
def limbo(session: nox.Session) -> None:
    """x509-limbo's cases through real handshakes, every backend: writes docs/limbo.md.

    The standard library's ssl is the peer; cases with a fixed validation time run under
    Debian's ``faketime`` (apt-get install faketime; without it they are reported as not
    runnable). Fails when a backend accepts a chain that the openssl backend rejects and
    ``tools/limbo/allowed_weaker.txt`` does not say why. Arguments after ``--`` go to
    ``python -m tools.limbo``, e.g. ``-- --backends openssl,rustls``.
    """
    session.install(TEST_INSTALL)
    session.run(
        "python",
        "-m",
        "tools.limbo",
        "--markdown",
        "docs/limbo.md",
        "--json",
        "tools/limbo/results.json",
        *session.posargs,
    )


# --------------------------------------------------------------------------- fuzzing


@nox.session
def fuzz(session: nox.Session) -> None:
    """Hypothesis fuzzing of the parsers of untrusted bytes (tests/fuzz/), time-boxed.

    The DER certificate reader behind ``getpeercert()``, the certificate, key and trust
    store loaders, the urllib3 shim's cipher-string/option/cadata translations, and the
    NSS binding's ClientHello reader (alone and through an NSS server). Each
    of the 16 targets runs ``$TLS_ADAPTER_FUZZ_SECONDS`` seconds (default 8: under three
    minutes in all, for CI); ``-- --seconds 600`` runs each for ten minutes. Other
    arguments go to pytest, e.g. ``-- --seconds 300 -k x509``. Hypothesis's example
    database (failures are replayed first on the next run) is ``.nox/fuzz-hypothesis``.
    Not part of ``nox -s tests``: the modules are ``fuzz_*.py``, which pytest does not
    collect by default; each crash found becomes a test in tests/test_parser_robustness.py.
    """
    session.install(".[test]", "hypothesis")
    args = list(session.posargs)
    seconds = os.environ.get("TLS_ADAPTER_FUZZ_SECONDS", "8")
    if "--seconds" in args:
        index = args.index("--seconds")
        seconds = args[index + 1] if index + 1 < len(args) else ""
        del args[index : index + 2]
    try:
        per_target = float(seconds)
    except ValueError:
        session.error(f"--seconds (or $TLS_ADAPTER_FUZZ_SECONDS) must be a number, not {seconds!r}")
    database = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".nox", "fuzz-hypothesis")
    session.run(
        "pytest",
        "-o",
        "python_files=fuzz_*.py",
        # A target may run past its budget while Hypothesis shrinks a failure.
        f"--timeout={int(per_target * 2 + 600)}",
        "tests/fuzz",
        *args,
        env={"TLS_ADAPTER_FUZZ_SECONDS": seconds, "TLS_ADAPTER_FUZZ_DB": database},
    )
