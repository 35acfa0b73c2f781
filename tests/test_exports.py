"""The public surface of :mod:`tls_adapter`: ``__all__``, docstrings, annotations, lazy
imports, and the vendorability rules for the package's own imports.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import tls_adapter

PACKAGE_DIR = Path(tls_adapter.__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
# Optional bindings (and integrations) that a bare ``import tls_adapter`` must not load.
FORBIDDEN_AT_IMPORT = ("OpenSSL", "rtls", "utls", "mbedtls", "urllib3", "requests")


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 isort-style order: CONSTANTS, then Classes, then everything else."""
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _public_names(module: types.ModuleType) -> set[str]:
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if isinstance(value, types.ModuleType):
            continue  # subpackages appear as attributes once imported
        if type(value).__name__ == "_Feature":  # from __future__ import annotations
            continue
        names.add(name)
    return names


def test_all_is_sorted() -> None:
    assert tls_adapter.__all__ == sorted(tls_adapter.__all__, key=_isort_key)
    assert len(set(tls_adapter.__all__)) == len(tls_adapter.__all__)


def test_all_equals_the_public_names() -> None:
    assert set(tls_adapter.__all__) - {"__version__"} == _public_names(tls_adapter)
    assert "__version__" in tls_adapter.__all__


def test_all_names_exist() -> None:
    for name in tls_adapter.__all__:
        assert hasattr(tls_adapter, name), name


def test_version_is_a_plain_string() -> None:
    assert isinstance(tls_adapter.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)?", tls_adapter.__version__)


def test_module_has_a_docstring() -> None:
    assert tls_adapter.__doc__ and tls_adapter.__doc__.strip()


def _documented_constant(name: str) -> bool:
    """A data export is documented by a ``#:`` comment above its assignment."""
    for path in PACKAGE_DIR.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            assigned = re.match(rf"{re.escape(name)}\s*(:[^=]*)?=", line)
            if assigned and i > 0 and lines[i - 1].startswith("#:"):
                return True
    return False


@pytest.mark.parametrize("name", [n for n in tls_adapter.__all__ if n != "__version__"])
def test_export_is_documented(name: str) -> None:
    value = getattr(tls_adapter, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        # A class's own __doc__ is never inherited: this catches a missing docstring.
        assert value.__doc__ and value.__doc__.strip(), f"{name} has no docstring"
    else:
        assert _documented_constant(name), f"{name} has no '#:' comment"


def _check_annotations(func: Any, where: str, failures: list[str]) -> None:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return
    annotations = getattr(func, "__annotations__", {})
    for param in signature.parameters.values():
        if param.name in ("self", "cls"):
            continue
        if param.name not in annotations:
            failures.append(f"{where}: parameter {param.name!r} is not annotated")
    if "return" not in annotations:
        failures.append(f"{where}: return type is not annotated")


def _own_functions(cls: type) -> list[tuple[str, Any]]:
    out = []
    for name, raw in vars(cls).items():
        if name.startswith("_") and name not in ("__init__", "__new__", "__call__"):
            continue
        member = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        if isinstance(member, property):
            if member.fget is not None:
                out.append((name, member.fget))
            continue
        if inspect.isfunction(member):
            if member.__module__ and not member.__module__.startswith("tls_adapter"):
                continue
            out.append((name, member))
    return out


@pytest.mark.parametrize("name", [n for n in tls_adapter.__all__ if n != "__version__"])
def test_export_is_annotated(name: str) -> None:
    value = getattr(tls_adapter, name)
    failures: list[str] = []
    if inspect.isfunction(value):
        _check_annotations(value, name, failures)
    elif inspect.isclass(value):
        for member_name, func in _own_functions(value):
            _check_annotations(func, f"{name}.{member_name}", failures)
            if not member_name.startswith("_"):
                doc = func.__doc__
                if not doc or not doc.strip():
                    failures.append(f"{name}.{member_name} has no docstring")
    assert not failures, "\n".join(failures)


def test_backend_modules_are_documented() -> None:
    from tls_adapter import backends

    for name in backends.__all__:
        value = getattr(backends, name)
        assert inspect.getdoc(value), f"tls_adapter.backends.{name} has no docstring"
        if inspect.isfunction(value):
            failures: list[str] = []
            _check_annotations(value, name, failures)
            assert not failures, failures


# -- import hygiene ---------------------------------------------------------------------
def _modules_after(code: str) -> list[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=True,
    )
    modules: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return modules


def test_import_loads_no_optional_binding() -> None:
    modules = _modules_after("import tls_adapter")
    roots = {m.split(".")[0] for m in modules}
    loaded = [name for name in FORBIDDEN_AT_IMPORT if name in roots]
    assert not loaded, f"'import tls_adapter' imported {loaded}"
    backend_modules = [m for m in modules if m.startswith("tls_adapter.backends.")]
    assert not backend_modules, f"backend modules imported eagerly: {backend_modules}"


def test_import_has_no_side_effects_on_the_environment() -> None:
    script = (
        "import os, ssl\n"
        "before = dict(os.environ)\n"
        "orig = ssl.SSLContext, ssl.create_default_context\n"
        "import tls_adapter\n"
        "assert dict(os.environ) == before\n"
        "assert (ssl.SSLContext, ssl.create_default_context) == orig\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_asking_for_a_backend_loads_only_that_backend() -> None:
    modules = _modules_after("import tls_adapter\ntls_adapter.default_backend()")
    backend_modules = {m for m in modules if m.startswith("tls_adapter.backends.")}
    assert backend_modules, "default_backend() loaded no backend module"
    public = {m.split(".")[2] for m in backend_modules if not m.split(".")[2].startswith("_")}
    assert public == {tls_adapter.default_backend().name}


def _python_files() -> list[Path]:
    return sorted(PACKAGE_DIR.rglob("*.py"))


def _third_party(module: str) -> bool:
    root = module.split(".", maxsplit=1)[0]
    return root not in sys.stdlib_module_names and root != "__future__"


def test_vendorable_imports() -> None:
    """The forms pip's ``vendoring`` tool can rewrite, and relative self-imports only."""
    failures = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(REPO_ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                if len(node.names) > 1:
                    failures.append(f"{rel}:{node.lineno}: 'import a, b'")
                for alias in node.names:
                    if alias.name.split(".")[0] == "tls_adapter":
                        failures.append(f"{rel}:{node.lineno}: absolute self-import {alias.name}")
                    elif "." in alias.name and alias.asname is None and _third_party(alias.name):
                        failures.append(f"{rel}:{node.lineno}: bare 'import {alias.name}'")
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0 and node.module and node.module.split(".")[0] == "tls_adapter":
                    failures.append(f"{rel}:{node.lineno}: absolute self-import from {node.module}")
            elif isinstance(node, ast.Call):
                func = node.func
                name = (
                    func.attr
                    if isinstance(func, ast.Attribute)
                    else func.id
                    if isinstance(func, ast.Name)
                    else ""
                )
                if name in ("import_module", "__import__") and node.args:
                    first = node.args[0]
                    if (
                        isinstance(first, ast.Constant)
                        and isinstance(first.value, str)
                        and not first.value.startswith(".")
                    ):
                        failures.append(
                            f"{rel}:{node.lineno}: {name}({first.value!r}) with an absolute name"
                        )
                    if isinstance(first, ast.JoinedStr) and not (
                        first.values
                        and isinstance(first.values[0], ast.Constant)
                        and str(first.values[0].value).startswith(".")
                    ):
                        failures.append(f"{rel}:{node.lineno}: {name}(f-string) not relative")
    assert not failures, "\n".join(failures)


def test_no_dist_metadata_lookups() -> None:
    """A vendored copy has no dist metadata: the package must not ask for its own."""
    failures = []
    for path in _python_files():
        text = path.read_text(encoding="utf-8")
        for bad in ("importlib.metadata", "importlib_metadata", "pkg_resources"):
            if bad in text:
                failures.append(f"{path.relative_to(REPO_ROOT)} uses {bad}")
    assert not failures, "\n".join(failures)


def test_py_typed_marker() -> None:
    assert (PACKAGE_DIR / "py.typed").is_file()
