"""``python -m tools.limbo``: x509-limbo through real handshakes (see :mod:`tools.limbo`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
