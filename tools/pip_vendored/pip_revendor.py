#!/usr/bin/env python3
"""Re-vendor pip's ``_vendor`` tree with the ``vendoring`` tool, tls_adapter included.

``nox -s pip_vendored`` runs this inside an unpacked pip sdist (the current directory),
in an environment that has ``vendoring`` (and so ``pip``) installed::

    python pip_revendor.py TLS_ADAPTER_WHEEL VENDOR_TXT_FRAGMENT

pip's sdist carries the configuration (``[tool.vendoring]`` in ``pyproject.toml``,
``src/pip/_vendor/vendor.txt``) and the vendored tree, but not the patches that pip's
maintainers keep in ``tools/vendoring/patches/`` of their git repository. So that
``vendoring sync`` can run exactly as they run it, the patches are derived first:

1. the pinned libraries are installed as ``vendoring`` installs them, and the
   configuration's ``drop`` rules are applied (with ``vendoring``'s own functions);
2. for every file of the released tree, the unpatched file is aligned with the
   released one through the import rewriting the tool does; where they still differ
   the released text, its imports turned back into top-level ones, becomes a hunk of
   ``tools/vendoring/patches/pip-released-tree.patch``.

Then the lines of VENDOR_TXT_FRAGMENT are appended to ``vendor.txt`` and ``vendoring
sync -v`` runs unchanged. The run fails unless the result is pip's released tree,
byte for byte, plus ``tls_adapter`` (whose modules differ from the wheel's only by
rewritten import lines), the ``.pyi`` stubs the tool writes (pip's sdist leaves them
out) and the new lines of ``vendor.txt`` and ``bom.cdx.json``.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

#: Written into the released tree's top level by the tool, not installed from a wheel.
_TOOL_WRITTEN = ("bom.cdx.json",)
PATCH_NAME = "pip-released-tree.patch"


class RevendorError(Exception):
    """The tree could not be re-vendored, or the result is not what it must be."""


def _vendoring(module: str) -> Any:
    """A module of the installed ``vendoring`` tool (it ships no type information)."""
    return importlib.import_module(f"vendoring.{module}")


# -- the tool's import rewriting, one line at a time ----------------------------------------
class Rewriter:
    """``vendoring``'s transformation of one line (substitutions, then imports)."""

    def __init__(self, namespace: str, libraries: list[str], substitute: list[dict[str, str]]):
        self.namespace = namespace
        self.libraries = sorted(libraries)
        self.substitute = [(re.compile(s["match"]), s["replace"]) for s in substitute]
        alternatives = "|".join(re.escape(lib) for lib in self.libraries)
        ns = re.escape(namespace)
        self._back = [
            (re.compile(rf"^(\s*)from {ns} import ({alternatives})(\s|$)"), r"\1import \2\3"),
            (re.compile(rf"^(\s*)import {ns}\.({alternatives})(\.\S+)(?=\s+as)"), r"\1import \2\3"),
            (re.compile(rf"^(\s*)from {ns}\.({alternatives})(\.|\s)"), r"\1from \2\3"),
        ]

    def forward(self, line: str) -> str | None:
        """The line as ``vendoring`` leaves it, or ``None`` where the tool would refuse
        it (a dotted ``import a.b`` without ``as``: the reason patches exist)."""
        for pattern, replacement in self.substitute:
            line = pattern.sub(replacement, line)
        for lib in self.libraries:
            if f"import {lib}" not in line and f"from {lib}" not in line:
                continue
            line = re.sub(
                rf"^(\s*)import {lib}(\s|$)", rf"\1from {self.namespace} import {lib}\2", line
            )
            line = re.sub(
                rf"^(\s*)import {lib}(\.\S+)(?=\s+as)", rf"\1import {self.namespace}.{lib}\2", line
            )
            if re.search(rf"^\s*(import {lib}\.\S+)", line):
                return None
            line = re.sub(rf"^(\s*)from {lib}(\.|\s)", rf"\1from {self.namespace}.{lib}\2", line)
        return line

    def backward(self, line: str) -> str:
        """A line that :meth:`forward` turns into *line* (imports made top-level again)."""
        unrewritten = line
        for pattern, replacement in self._back:
            unrewritten = pattern.sub(replacement, unrewritten)
        if self.forward(unrewritten) == line:
            return unrewritten
        if self.forward(line) == line:
            return line
        raise RevendorError(f"no unpatched form of this line survives the rewriting: {line!r}")


# -- deriving the patch ------------------------------------------------------------------------
def _patched_source(raw: list[str], released: list[str], rewriter: Rewriter) -> list[str]:
    """The file as the patch must leave it: unpatched lines wherever the tool's rewriting
    of them gives the released ones, the released lines (un-rewritten) elsewhere."""
    rewritten = [rewriter.forward(line) for line in raw]
    matcher = difflib.SequenceMatcher(a=rewritten, b=released, autojunk=False)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(raw[i1:i2])
        else:
            out.extend(rewriter.backward(line) for line in released[j1:j2])
    return out


def _diff(old: list[str], new: list[str], path: str) -> str:
    """A unified diff ``git apply`` accepts, with the no-newline marker difflib omits."""
    lines = difflib.unified_diff(
        old,
        new,
        fromfile=f"a/{path}" if old else "/dev/null",
        tofile=f"b/{path}" if new else "/dev/null",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def _is_license(path: Path) -> bool:
    return "LICENSE" in path.name or "COPYING" in path.name


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def derive_patch(released: Path, raw: Path, destination: str, rewriter: Rewriter) -> str:
    """The patch that turns the unpatched libraries into pip's released tree (once the
    tool has rewritten the imports), with paths relative to pip's source directory."""
    libraries = set(rewriter.libraries)
    hunks: list[str] = []
    released_files = {
        f for f in _files(released) if f.split("/", 1)[0] in libraries and f not in _TOOL_WRITTEN
    }
    raw_files = _files(raw)
    for name in sorted(released_files | raw_files):
        if name not in raw_files and _is_license(Path(name)):
            continue  # the tool's license step copies these from the distributions
        path = f"{destination.rstrip('/')}/{name}"
        raw_bytes = (raw / name).read_bytes() if name in raw_files else b""
        released_bytes = (released / name).read_bytes() if name in released_files else b""
        if raw_bytes == released_bytes:
            continue  # (the tool rewrites .py files only: all of the other files end here)
        try:
            raw_text, released_text = raw_bytes.decode("utf-8"), released_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RevendorError(f"{name}: a binary file differs from the released one") from exc
        if "\r" in raw_text:
            raise RevendorError(f"{name}: carriage returns are not handled")
        raw_lines = raw_text.splitlines(keepends=True)
        released_lines = released_text.splitlines(keepends=True)
        if name.endswith(".py"):
            if [rewriter.forward(line) for line in raw_lines] == released_lines:
                continue
            target = _patched_source(raw_lines, released_lines, rewriter)
        else:
            target = released_lines
        if target != raw_lines:
            hunks.append(_diff(raw_lines, target, path))
    return "".join(hunks)


def _patch_summary(patch: str) -> str:
    files = re.findall(r"^\+\+\+ (?:b/)?(\S+)", patch, flags=re.MULTILINE)
    added = sum(
        1 for line in patch.splitlines() if line.startswith("+") and not line.startswith("+++")
    )
    removed = sum(
        1 for line in patch.splitlines() if line.startswith("-") and not line.startswith("---")
    )
    libraries = sorted({f.split("/_vendor/", 1)[-1].split("/", 1)[0] for f in files})
    return f"{len(files)} files (+{added} -{removed} lines) in {', '.join(libraries)}"


# -- checks of the result ------------------------------------------------------------------------
def check_tree(released: Path, result: Path, added_pins: list[str]) -> str:
    """The re-vendored tree is the released one plus tls_adapter, stubs and new pins."""
    problems: list[str] = []
    released_files = _files(released)
    result_files = _files(result)
    for name in sorted(released_files - result_files):
        problems.append(f"missing after re-vendoring: {name}")
    identical = 0
    for name in sorted(released_files & result_files):
        old, new = (released / name).read_bytes(), (result / name).read_bytes()
        if old == new:
            identical += 1
            continue
        if name == "vendor.txt":
            extra = new.decode("utf-8").splitlines()[len(old.decode("utf-8").splitlines()) :]
            if new.startswith(old) and extra == added_pins:
                continue
        if name in _TOOL_WRITTEN:
            continue  # the bill of materials now lists tls_adapter too
        problems.append(f"differs from pip's released tree: {name}")
    extra_files = sorted(result_files - released_files)
    tls_files = [f for f in extra_files if f.startswith("tls_adapter/")]
    stubs = [f for f in extra_files if f.endswith(".pyi")]
    problems.extend(
        f"unexpected new file: {f}" for f in extra_files if f not in tls_files and f not in stubs
    )
    if not tls_files:
        problems.append("tls_adapter was not vendored")
    if problems:
        raise RevendorError("\n  ".join(["the re-vendored tree is not as expected:", *problems]))
    return (
        f"{identical} of {len(released_files)} released files byte-identical "
        f"(vendor.txt and bom.cdx.json gained tls_adapter); new: tls_adapter/ "
        f"({len(tls_files)} files), {len(stubs)} .pyi stubs"
    )


def check_tls_adapter(vendored: Path, wheel: Path, namespace: str) -> str:
    """The vendored tls_adapter is the wheel's, with only import lines rewritten."""
    rewritten = re.compile(
        rf"^\s*(from {re.escape(namespace)}[. ]|import {re.escape(namespace)}\.)"
    )
    changed = modules = 0
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not (name.startswith("tls_adapter/") and name.endswith(".py")):
                continue
            modules += 1
            original = archive.read(name).decode("utf-8").splitlines()
            ours = (vendored / name).read_text(encoding="utf-8").splitlines()
            if len(original) != len(ours):
                raise RevendorError(f"{name}: vendoring added or removed lines")
            for before, after in zip(original, ours, strict=True):
                if before != after:
                    if not rewritten.match(after):
                        raise RevendorError(f"{name}: a line other than an import changed: {after}")
                    changed += 1
    if modules == 0:
        raise RevendorError(f"{wheel} holds no tls_adapter modules")
    return f"tls_adapter: {modules} modules, {changed} import lines rewritten and nothing else"


# -- the whole run --------------------------------------------------------------------------------
def _wheel_version(wheel: Path) -> str:
    match = re.fullmatch(r"tls_adapter-([^-]+)-.*\.whl", wheel.name)
    if match is None:
        raise RevendorError(f"not a tls_adapter wheel: {wheel.name}")
    return match.group(1)


def _read_pins(fragment: Path, wheel: Path) -> list[str]:
    pins = [
        line.strip()
        for line in fragment.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    expected = f"tls_adapter=={_wheel_version(wheel)}"
    if expected not in pins:
        raise RevendorError(f"{fragment} must pin {expected} (the wheel just built): {pins}")
    return pins


def main(argv: list[str] | None = None) -> int:
    """Derive the patches, add the pins, run ``vendoring sync``, check the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("wheel", type=Path, help="the tls_adapter wheel to vendor")
    parser.add_argument("fragment", type=Path, help="lines to append to pip's vendor.txt")
    args = parser.parse_args(argv)
    wheel: Path = args.wheel.resolve()
    try:
        pins = _read_pins(args.fragment, wheel)
        config = _vendoring("configuration").load_configuration(Path())
        vendor_task = _vendoring("tasks.vendor")
        destination = Path(config.destination)
        if config.patches_dir is None:
            raise RevendorError("pip's [tool.vendoring] names no patches-dir")
        with tempfile.TemporaryDirectory(prefix="pip-revendor-") as tmp:
            released = Path(tmp, "released")
            shutil.copytree(destination, released)
            raw = Path(tmp, "raw")
            print(f"installing the libraries of {config.requirements} unpatched ...", flush=True)
            vendor_task.download_libraries(Path(config.requirements), raw)
            vendor_task.remove_unnecessary_items(raw, config.drop_paths)
            libraries = vendor_task.detect_vendored_libs(raw, config.protected_files)
            rewriter = Rewriter(config.namespace, libraries, config.substitute)
            patch = derive_patch(released, raw, str(destination), rewriter)
            patches_dir = Path(config.patches_dir)
            patches_dir.mkdir(parents=True, exist_ok=True)
            (patches_dir / PATCH_NAME).write_text(patch, encoding="utf-8")
            print(f"derived {patches_dir / PATCH_NAME}: {_patch_summary(patch)}", flush=True)

            requirements = Path(config.requirements)
            text = requirements.read_text(encoding="utf-8")
            requirements.write_text(
                text + ("" if text.endswith("\n") else "\n") + "".join(f"{p}\n" for p in pins),
                encoding="utf-8",
            )
            print(f"{requirements}: added {', '.join(pins)}", flush=True)

            # The pin is satisfied by the wheel just built (a real pip would find the
            # release on PyPI): its directory is one more place for pip to look.
            env = dict(os.environ)
            env["PIP_FIND_LINKS"] = " ".join(
                filter(None, [str(wheel.parent), env.get("PIP_FIND_LINKS")])
            )
            subprocess.run(["vendoring", "sync", "-v"], check=True, env=env)

            print(check_tree(released, destination, pins))
            print(check_tls_adapter(destination, wheel, config.namespace))
    except (RevendorError, subprocess.CalledProcessError) as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
