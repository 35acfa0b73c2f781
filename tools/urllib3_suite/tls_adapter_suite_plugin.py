"""pytest plugin for the urllib3-suite run (loaded with ``-p tls_adapter_suite_plugin``).

* ``--tls-adapter-deselect FILE``: deselects the node ids listed in FILE (see
  ``deselect.txt`` for the format) for this urllib3 version and backend, and reports
  each one with its reason.
* ``--tls-adapter-report FILE``: writes a JSON summary (outcome counts, failures,
  deselections, handshakes done through the shim, versions) when the session ends.
* Counts ``wrap_socket``/``wrap_bio`` calls on ``tls_adapter.urllib3.SSLContext``, as
  evidence that the tests really went through the shim.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import ssl
import sys
import time
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest
import urllib3

from tls_adapter.urllib3 import SSLContext

URLLIB3_VERSION: str = urllib3.__version__  # type: ignore[attr-defined]
_COUNTS = {"wrap_socket": 0, "wrap_bio": 0}
_STARTED = time.monotonic()


@dataclass(frozen=True)
class Deselection:
    """One line of ``deselect.txt``."""

    versions: str
    backends: str
    node: str
    reason: str

    def applies(self, version: str, backend: str) -> bool:
        """Whether this line is for *version* and *backend* (shell patterns)."""
        return fnmatch.fnmatch(version, self.versions) and fnmatch.fnmatch(backend, self.backends)

    def matches(self, nodeid: str) -> bool:
        """The node id, every parametrisation of it and every test under it.

        ``*`` in the node stands for any run of characters without ``:`` (e.g. one
        class name), so ``path::TestHTTPS*::test_x`` covers every TestHTTPS class.
        """
        pattern = "[^:]*".join(re.escape(part) for part in self.node.split("*"))
        return re.fullmatch(pattern + r"(\[.*\]|::.*)?", nodeid) is not None


def read_deselect_file(path: Path) -> list[Deselection]:
    """Parse ``VERSIONS BACKENDS NODEID  # reason`` lines (``#`` comments, blank lines)."""
    out = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        body, sep, reason = line.partition(" # ")
        fields = body.split()
        if len(fields) != 3 or not sep or not reason.strip():
            raise ValueError(f"{path}:{number}: expected 'VERSIONS BACKENDS NODEID  # reason'")
        out.append(Deselection(fields[0], fields[1], fields[2], reason.strip()))
    return out


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tls_adapter")
    group.addoption("--tls-adapter-deselect", default=None, help="deselect.txt to apply")
    group.addoption("--tls-adapter-report", default=None, help="write a JSON summary here")


def _counting(name: str) -> typing.Any:
    original = getattr(SSLContext, name)

    def wrapper(self: SSLContext, *args: typing.Any, **kwargs: typing.Any) -> typing.Any:
        _COUNTS[name] += 1
        return original(self, *args, **kwargs)

    wrapper.__name__ = name
    wrapper.__doc__ = original.__doc__
    return wrapper


def pytest_configure(config: pytest.Config) -> None:
    for name in _COUNTS:
        setattr(SSLContext, name, _counting(name))
    config._tls_adapter_deselected = []  # type: ignore[attr-defined]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    path = config.getoption("--tls-adapter-deselect")
    if not path:
        return
    backend = os.environ.get("TLS_ADAPTER_BACKEND", "openssl")
    rules = [r for r in read_deselect_file(Path(path)) if r.applies(URLLIB3_VERSION, backend)]
    keep, dropped = [], []
    for item in items:
        rule = next((r for r in rules if r.matches(item.nodeid)), None)
        if rule is None:
            keep.append(item)
        else:
            dropped.append(item)
            config._tls_adapter_deselected.append((item.nodeid, rule.reason))  # type: ignore[attr-defined]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_terminal_summary(terminalreporter: typing.Any, config: pytest.Config) -> None:
    deselected = config._tls_adapter_deselected  # type: ignore[attr-defined]
    terminalreporter.section("tls_adapter")
    terminalreporter.write_line(
        f"backend {os.environ.get('TLS_ADAPTER_BACKEND', 'openssl')}, urllib3 "
        f"{URLLIB3_VERSION}: {_COUNTS['wrap_socket']} wrap_socket + "
        f"{_COUNTS['wrap_bio']} wrap_bio calls through tls_adapter.urllib3.SSLContext"
    )
    for nodeid, reason in deselected:
        terminalreporter.write_line(f"deselected {nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = session.config.getoption("--tls-adapter-report")
    if not path:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats: dict[str, list[typing.Any]] = getattr(reporter, "stats", {})
    counts = {key: len(value) for key, value in stats.items() if key}
    failures = [
        {"nodeid": rep.nodeid, "when": rep.when, "message": str(rep.longrepr)[-2000:]}
        for key in ("failed", "error")
        for rep in stats.get(key, [])
    ]
    import tls_adapter

    backend = os.environ.get("TLS_ADAPTER_BACKEND", "openssl")
    report = {
        "urllib3": URLLIB3_VERSION,
        "backend": backend,
        "library": (
            f"stdlib ssl, not injected ({ssl.OPENSSL_VERSION})"
            if backend == "stdlib"
            else tls_adapter.get_backend(backend).capabilities.library
        ),
        "python": sys.version.split()[0],
        "openssl": ssl.OPENSSL_VERSION,
        "counts": counts,
        "exitstatus": int(exitstatus),
        "duration": round(time.monotonic() - _STARTED, 1),
        "handshakes": dict(_COUNTS),
        "failures": failures,
        "deselected": session.config._tls_adapter_deselected,  # type: ignore[attr-defined]
    }
    Path(path).write_text(json.dumps(report, indent=2))
