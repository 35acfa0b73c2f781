"""Sphinx configuration for tls_adapter's documentation.

Built by ``nox -s docs`` with ``sphinx-build -W --keep-going -n``: every warning,
including a reference that cannot be resolved, fails the build.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Document the source tree next to this file, even when an older copy is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Local extensions (the generated backend table, optional generated pages).
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

from tls_adapter import __version__

project = "tls_adapter"
author = "The tls_adapter developers"
copyright = "2026, The tls_adapter developers"
version = __version__
release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "myst_parser",
    "tls_adapter_docs",
]

# The build runs without network access, so no inventories are fetched. References to
# types of other projects (and of the standard library) are left unresolved and are
# listed in ``nitpick_ignore_regex`` below instead of failing the nitpicky build.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
intersphinx_disabled_reftypes = ["*"]

_EXTERNAL_TOP_LEVEL = sorted(
    set(sys.stdlib_module_names)
    | {
        "OpenSSL",
        "certifi",
        "cryptography",
        "mbedtls",
        "requests",
        "rtls",
        "trustme",
        "truststore",
        "typing_extensions",
        "urllib3",
        "utls",
    }
)
nitpick_ignore_regex = [
    # ssl.SSLContext, socket.socket, requests.adapters.HTTPAdapter, urllib3.PoolManager, ...
    (r"py:.*", rf"({'|'.join(_EXTERNAL_TOP_LEVEL)})(\..+)?"),
    # Private helpers that show up in signatures (sentinels such as ``_Default``).
    (r"py:.*", r"(.+\.)?_[A-Za-z]\w*(\..+)?"),
]

autodoc_typehints = "description"
# Names that are imported only for type checking and so stay unresolved at run time.
autodoc_type_aliases = {"Buffer": "typing_extensions.Buffer"}
autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": False}

myst_heading_anchors = 3

source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
# Markdown files in docs/ are written by tools (benchmarks, test results) and shown
# through ``optional-markdown`` (docs/_ext); myst_parser would otherwise also build each
# as a page of its own.
exclude_patterns = ["_build", "_ext", "*.md"]
templates_path: list[str] = []

html_theme = "furo"
html_title = f"tls_adapter {release}"
html_static_path: list[str] = []
