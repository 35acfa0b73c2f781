"""tools/pip_vendored/pip_revendor.py derives patches that ``git apply`` takes and that
give back the released tree once the vendoring tool's rewriting has run.

A miniature of what ``nox -s pip_vendored`` does with pip's sdist: two libraries
("unpatched", as installed), the tree a host released (patched, then rewritten), the
derived patch applied with ``git apply``, and the tool's line rewriting run over the
result.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

_SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "pip_vendored" / "pip_revendor.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pip_revendor", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


revendor = _load()

RAW = {
    # A dotted import the tool refuses (the reason hosts carry patches), a plain one and
    # a from-import it rewrites by itself.
    "lib/__init__.py": "import other\nimport lib.sub\nfrom other import thing\nX = 1\n",
    "lib/sub.py": "Y = 2\n",
    "other/__init__.py": "thing = 3\n",
    "other/data.txt": "unchanged\n",
}
RELEASED = {
    "lib/__init__.py": (
        "from host._vendor import other\nfrom host._vendor.lib import sub\n"
        "from host._vendor.other import thing\nX = 10\n"
    ),
    "lib/sub.py": "Y = 2\n",
    "lib/LICENSE": "the licence step adds this\n",
    "other/__init__.py": "thing = 3\n",
    "other/data.txt": "unchanged\n",
}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_derived_patch_reproduces_the_released_tree(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    raw = _tree(tmp_path / "raw", RAW)
    released = _tree(tmp_path / "released", RELEASED)
    rewriter = revendor.Rewriter("host._vendor", ["lib", "other"], [])
    patch: str = revendor.derive_patch(released, raw, "src/host/_vendor", rewriter)

    changed = [line for line in patch.splitlines() if line[:1] in "+-"]
    assert "+++ b/src/host/_vendor/lib/__init__.py" in changed
    # Only what the tool cannot do is in the patch, with top-level imports.
    assert sorted(line for line in changed if not line.startswith(("+++", "---"))) == [
        "+X = 10",
        "+from lib import sub",
        "-X = 1",
        "-import lib.sub",
    ]

    host = tmp_path / "host"
    shutil.copytree(raw, host / "src" / "host" / "_vendor")
    (host / "p.patch").write_text(patch, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(host)], check=True)
    subprocess.run(["git", "apply", "p.patch"], cwd=host, check=True)
    for name, text in RELEASED.items():
        if name.endswith("LICENSE"):
            continue
        lines = (host / "src" / "host" / "_vendor" / name).read_text().splitlines(True)
        assert "".join(rewriter.forward(line) for line in lines) == text, name


def test_a_line_the_tool_could_not_have_written_is_refused(tmp_path: Path) -> None:
    raw = _tree(tmp_path / "raw", {"lib/__init__.py": "X = 1\n"})
    # A dotted import left in a released file cannot come out of the tool's rewriting.
    released = _tree(tmp_path / "released", {"lib/__init__.py": "import lib.sub\n"})
    rewriter = revendor.Rewriter("host._vendor", ["lib"], [])
    with pytest.raises(revendor.RevendorError, match="no unpatched form"):
        revendor.derive_patch(released, raw, "src/host/_vendor", rewriter)
