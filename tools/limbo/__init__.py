"""x509-limbo's certificate-validation cases, driven through real TLS handshakes.

``python -m tools.limbo`` (``nox -s limbo``) runs every case of
``tests/data/x509_limbo/limbo.json`` for every available backend, with the standard
library's :mod:`ssl` as the peer, and compares each verdict with limbo's expected result
and with the ``openssl`` backend's verdict. It writes a JSON file of every result and,
with ``--markdown``, the page ``docs/limbo.md``, and exits non-zero when a backend
accepts a chain that the ``openssl`` backend rejects, unless ``allowed_weaker.txt``
says why that is fine.

Modules: :mod:`.cases` (the vectors, rule classes), :mod:`.handshake` (one case, one
handshake), :mod:`.runner` (all cases, ``faketime`` children), :mod:`.report`
(classification, JSON, Markdown), :mod:`.cli`.
"""

from __future__ import annotations

from .cases import LimboCase, load_cases, rule_class
from .cli import main

__all__ = ["LimboCase", "load_cases", "main", "rule_class"]
