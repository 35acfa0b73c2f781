#!/usr/bin/env python3
"""Check that a package can be vendored (copied into another package under a new name).

Tools that vendor a package (pip's ``vendoring``, for one) rewrite import statements
line by line. They handle relative imports and plain ``import x`` / ``from x import y``,
but not the forms this script rejects:

``VND001`` ``import a, b``
    several modules in one ``import`` statement.
``VND002`` ``import x.y`` without ``as``
    a bare dotted import of a non-stdlib package binds the name ``x`` and breaks once
    ``x`` lives under another package. Stdlib dotted imports (``import os.path``) are
    fine.
``VND003`` ``import tls_adapter...`` / ``from tls_adapter... import ...``
    absolute self-imports; use relative imports inside the package.
``VND004`` ``importlib.import_module("abs.name")`` / ``__import__("x")``
    a dynamic absolute import by string literal is invisible to import rewriters;
    use a relative name (``import_module(".openssl", __package__)``).
``VND005`` ``if TYPE_CHECKING: import x``
    an ``if`` whose body is on the same line as the ``if``.

A line ending in ``# vendorable: ok`` is exempt (say why next to it).

Usage::

    python tools/check_vendorable.py                    # checks ./tls_adapter
    python tools/check_vendorable.py some/dir file.py --package other_name

Exit status: 0 when clean, 1 when something was found, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PACKAGE = "tls_adapter"
PRAGMA = "# vendorable: ok"
_REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code} {self.message}"


def _is_stdlib(module: str) -> bool:
    return module.split(".", 1)[0] in sys.stdlib_module_names


def _is_self(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _literal_str(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _dynamic_import_name(call: ast.Call) -> tuple[str, str] | None:
    """Return ``(function, literal)`` for ``import_module("x")`` / ``__import__("x")``."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "import_module":
        name = "importlib.import_module"
    elif isinstance(func, ast.Name) and func.id in {"import_module", "__import__"}:
        name = func.id
    else:
        return None
    arg: ast.expr | None = call.args[0] if call.args else None
    if arg is None:
        arg = next((kw.value for kw in call.keywords if kw.arg == "name"), None)
    literal = _literal_str(arg) if arg is not None else None
    if literal is None or literal.startswith("."):
        return None
    return name, literal


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str, package: str) -> None:
        self.path = path
        self.package = package
        self.problems: list[Problem] = []

    def _add(self, node: ast.stmt | ast.expr, code: str, message: str) -> None:
        self.problems.append(Problem(self.path, node.lineno, code, message))

    def visit_Import(self, node: ast.Import) -> None:
        if len(node.names) > 1:
            names = ", ".join(alias.name for alias in node.names)
            self._add(node, "VND001", f"one module per import statement: `import {names}`")
        for alias in node.names:
            if _is_self(alias.name, self.package):
                self._add(node, "VND003", f"absolute self-import `import {alias.name}`")
            elif "." in alias.name and alias.asname is None and not _is_stdlib(alias.name):
                self._add(
                    node,
                    "VND002",
                    f"bare dotted import `import {alias.name}`; use `from ... import` or `as`",
                )
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module is not None and _is_self(node.module, self.package):
            self._add(node, "VND003", f"absolute self-import `from {node.module} import ...`")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        found = _dynamic_import_name(node)
        if found is not None:
            func, literal = found
            self._add(node, "VND004", f"dynamic absolute import `{func}({literal!r})`")
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        if node.body and node.body[0].lineno == node.lineno:
            self._add(node, "VND005", "`if` with its body on the same line; put it on its own line")
        self.generic_visit(node)


def check_source(source: str, path: str, package: str = DEFAULT_PACKAGE) -> list[Problem]:
    """Return the problems found in one module's source text."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        return [Problem(path, exc.lineno or 0, "VND000", f"cannot parse: {exc.msg}")]
    checker = _Checker(path, package)
    checker.visit(tree)
    lines = source.splitlines()
    return sorted(
        problem
        for problem in checker.problems
        if not (
            0 < problem.line <= len(lines) and lines[problem.line - 1].rstrip().endswith(PRAGMA)
        )
    )


def iter_python_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if p.is_file())
        else:
            yield path


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help=f"directories or files to check (default: {DEFAULT_PACKAGE}/ in the repository)",
    )
    parser.add_argument(
        "--package",
        default=DEFAULT_PACKAGE,
        help="the package's own import name, for the self-import check (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    paths: list[Path] = args.paths or [_REPO_ROOT / DEFAULT_PACKAGE]
    package: str = args.package

    missing = [p for p in paths if not p.exists()]
    if missing:
        for p in missing:
            print(f"check_vendorable: no such file or directory: {p}", file=sys.stderr)
        return 2

    problems: list[Problem] = []
    count = 0
    for file in iter_python_files(paths):
        count += 1
        problems.extend(check_source(file.read_text(encoding="utf-8"), _display(file), package))

    for problem in problems:
        print(problem)
    if problems:
        print(f"check_vendorable: {len(problems)} problem(s) in {count} file(s)", file=sys.stderr)
        return 1
    print(f"check_vendorable: {count} file(s) OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
