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

nox.options.sessions = ["tests", "lint", "mypy", "docs"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = False
nox.needs_version = ">=2024.3.2"

SUPPORTED_MINORS = (10, 11, 12, 13)
# The test extras every interpreter's session installs; the mypy session checks the
# same code, so it installs the same.
TEST_INSTALL = ".[test,urllib3,requests]"

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
    session.run("pytest", *session.posargs)


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
    session.install(".[docs]")
    session.run(
        "sphinx-build", "-W", "--keep-going", "-n", "-b", "html", "docs", "docs/_build/html"
    )
