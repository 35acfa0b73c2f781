"""Sphinx extension for tls_adapter's docs: tables generated at build time, so they cannot drift.

Directives:

``.. tls-adapter-backends::``
    The capability matrix of every known backend, from
    :func:`tls_adapter.backends.backend_status` and each backend's ``capabilities``, as
    they are on the machine building the docs.

``.. optional-markdown:: file.md``
    Include a Markdown file written by a tool (benchmarks, test results) if it exists;
    otherwise a section titled ``:title:`` holding the directive's content (say how to
    produce the file). A file that does not start with a ``#`` heading gets ``:title:``
    as its heading. Pages using it are re-read on every build.

``.. tls-adapter-automodule:: module.name``
    ``automodule`` with the given options when the module imports; otherwise a module
    target (so references to it still resolve) and a note with the import error.

Stdlib attributes the ``ssl`` look-alikes refuse (``tls_adapter._ssl_compat.Unavailable``)
are left out of the generated member lists.

It also resolves references to public names written the short way inside the package
(``TrustStore.system`` from :mod:`tls_adapter.backends`, an unqualified type alias
such as ``CertificateChain``) to the object documented under its public name.
"""

from __future__ import annotations

import importlib
import platform
import re
import sys
from pathlib import Path
from typing import Any

from docutils import nodes, utils
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import make_refnode, nested_parse_with_titles

__all__ = ["setup"]

_NONE = "\u2014"  # an em dash, for "not applicable"
_BACKEND_COLUMNS = (
    ("Backend", 8),
    ("Available here?", 16),
    ("Library", 14),
    ("TLS versions", 9),
    ("ALPN", 5),
    ("SNI callback", 6),
    ("Server side", 6),
    ("Client certs", 6),
    ("Client auth", 6),
    ("Buffer API", 6),
    ("Native socket", 6),
    ("Session resumption", 8),
    ("Cipher control", 7),
    ("System trust", 18),
)


def _paragraph(text: str, *, literal: bool = False) -> nodes.paragraph:
    para = nodes.paragraph()
    para += nodes.literal(text, text) if literal else nodes.Text(text)
    return para


def _cell(content: str | list[str], *, literal: bool = False) -> nodes.entry:
    entry = nodes.entry()
    if isinstance(content, list):
        if content:
            items = nodes.bullet_list()
            for text in content:
                item = nodes.list_item()
                item += _paragraph(text)
                items += item
            entry += items
        else:
            entry += _paragraph(_NONE)
    else:
        entry += _paragraph(content, literal=literal)
    return entry


def _table(
    columns: tuple[tuple[str, int], ...], rows: list[list[nodes.entry]], title: str
) -> nodes.table:
    table = nodes.table(classes=["tls-adapter-generated"])
    table += nodes.title(title, title)
    group = nodes.tgroup(cols=len(columns))
    table += group
    for _, width in columns:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    header = nodes.row()
    for name, _ in columns:
        header += _cell(name)
    head += header
    group += head
    body = nodes.tbody()
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            row += cell
        body += row
    group += body
    return table


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _versions(versions: tuple[Any, ...]) -> str:
    labels = {"TLSv1": "1.0"}
    return (
        ", ".join(labels.get(str(v.value), str(v.value).replace("TLSv", "")) for v in versions)
        or _NONE
    )


def _notes(notes: list[tuple[str, list[str]]]) -> nodes.Element:
    """Each backend's notes under the table: a wide notes column made rows a screen tall."""
    container = nodes.container(classes=["tls-adapter-backend-notes"])
    container += nodes.rubric("", "Notes on each backend")
    for name, items in notes:
        heading = nodes.paragraph()
        heading += nodes.literal(name, name)
        container += heading
        bullets = nodes.bullet_list()
        for text in items:
            item = nodes.list_item()
            item += _paragraph(text)
            bullets += item
        container += bullets
    return container


class BackendsDirective(SphinxDirective):
    """``.. tls-adapter-backends::`` -- the capability matrix, computed now."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """Build the table from ``backend_status()``."""
        from tls_adapter.backends import backend_status

        # The table depends on the machine, not on the source: rebuild it every time.
        self.env.note_reread()
        rows: list[list[nodes.entry]] = []
        notes: list[tuple[str, list[str]]] = []
        for status in backend_status():
            name = _cell(status.name, literal=True)
            if status.backend is None:
                rows.append(
                    [name, _cell(f"no: {status.reason}")]
                    + [_cell(_NONE) for _ in _BACKEND_COLUMNS[2:]]
                )
                continue
            caps = status.backend.capabilities
            rows.append(
                [
                    name,
                    _cell("yes"),
                    _cell(caps.library),
                    _cell(_versions(caps.tls_versions)),
                    _cell(_yes_no(caps.alpn)),
                    _cell(_yes_no(caps.sni_callback)),
                    _cell(_yes_no(caps.server_side)),
                    _cell(_yes_no(caps.client_certificates)),
                    _cell(_yes_no(caps.client_auth)),
                    _cell(_yes_no(caps.buffer_api)),
                    _cell(_yes_no(caps.native_socket)),
                    _cell(_yes_no(caps.session_resumption)),
                    _cell(caps.cipher_control),
                    _cell(caps.system_trust),
                ]
            )
            if caps.notes:
                notes.append((status.name, list(caps.notes)))
        where = (
            f"Python {platform.python_version()} on {platform.system() or sys.platform} "
            f"{platform.machine()}".strip()
        )
        title = f"Backends as found when these docs were built ({where})"
        return [_table(_BACKEND_COLUMNS, rows, title), _notes(notes)]


class OptionalMarkdownDirective(SphinxDirective):
    """``.. optional-markdown:: file.md`` -- a generated Markdown file, or a note."""

    required_arguments = 1
    has_content = True
    option_spec = {"title": directives.unchanged_required}  # noqa: RUF012

    def _section(self, title: str) -> nodes.section:
        section = nodes.section()
        section["names"].append(nodes.fully_normalize_name(title))
        section += nodes.title(title, title)
        self.state.document.note_implicit_target(section, section)
        return section

    def run(self) -> list[nodes.Node]:
        """Parse the file with MyST, or return the fallback section."""
        title = self.options.get("title") or Path(self.arguments[0]).stem
        _, path = self.env.relfn2path(self.arguments[0], self.env.docname)
        # Whether the file exists can change without any source changing.
        self.env.note_reread()
        file = Path(path)
        if not file.is_file():
            section = self._section(title)
            nested_parse_with_titles(self.state, self.content, section, self.content_offset)
            return [section]

        self.env.note_dependency(str(file))
        text = file.read_text(encoding="utf-8")
        if not re.match(r"\s*# ", text):
            text = f"# {title}\n\n{text}"
        from myst_parser.parsers.sphinx_ import MystParser

        # What docutils' ``include`` does with a ``:parser:`` option.
        document = utils.new_document(str(file), self.state.document.settings)
        parser = MystParser()
        parser.parse(text, document)
        document.transformer.populate_from_components((parser,))
        document.transformer.apply_transforms()
        return list(document.children)


class AutomoduleIfImportable(SphinxDirective):
    """``.. tls-adapter-automodule:: name`` -- automodule, or a target and a note."""

    required_arguments = 1
    has_content = False
    option_spec = {  # noqa: RUF012
        "members": directives.unchanged,
        "imported-members": directives.flag,
        "undoc-members": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        """Import the module now and document it, or explain why it could not be."""
        name = self.arguments[0]
        try:
            importlib.import_module(name)
        except ImportError as exc:
            lines = [
                f".. py:module:: {name}",
                "",
                ".. note::",
                "",
                f"   ``{name}`` could not be imported when these docs were built "
                f"(``{exc}``), so its reference is missing here. Install the extra it "
                "needs and rebuild.",
            ]
        else:
            lines = [f".. automodule:: {name}"]
            for option, value in self.options.items():
                lines.append(f"   :{option}: {value or ''}".rstrip())
        container = nodes.container()
        source = self.get_source_info()[0]
        nested_parse_with_titles(
            self.state, StringList(lines, source=source), container, self.content_offset
        )
        return list(container.children)


def _resolve_public_name(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.Element | None:
    """``TrustStore.system`` -> ``tls_adapter.TrustStore.system``; unique short names.

    Inside the package, docstrings name public objects the short way; the objects are
    documented under ``tls_adapter.``. A dotless name (a type alias in an annotation,
    say) resolves when exactly one documented object has it as its last component.
    """
    if node.get("refdomain") != "py":
        return None
    target = str(node["reftarget"])
    objects: dict[str, Any] = env.get_domain("py").objects  # type: ignore[attr-defined]
    public = f"tls_adapter.{target}"
    if not target.startswith("tls_adapter.") and public in objects:
        name = public
    elif "." not in target:
        matches = [n for n in objects if n.endswith(f".{target}")]
        if len(matches) != 1:
            return None
        name = matches[0]
    else:
        return None
    entry = objects[name]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name)


def _skip_unavailable(
    app: Sphinx, what: str, name: str, obj: object, skip: bool, options: Any
) -> bool | None:
    """Hide the stdlib attributes the ``ssl`` look-alikes refuse (they are not API)."""
    from tls_adapter._ssl_compat import Unavailable

    return True if isinstance(obj, Unavailable) else None


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directives and the reference resolver."""
    app.connect("autodoc-skip-member", _skip_unavailable)
    app.add_directive("tls-adapter-backends", BackendsDirective)
    app.add_directive("optional-markdown", OptionalMarkdownDirective)
    app.add_directive("tls-adapter-automodule", AutomoduleIfImportable)
    app.connect("missing-reference", _resolve_public_name)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
