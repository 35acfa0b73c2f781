"""Fixtures shared by the backend quirk tests."""

from __future__ import annotations

import pytest

import tls_adapter


@pytest.fixture
def openssl() -> tls_adapter.Backend:
    """The reference backend (the standard library's ssl), as an independent peer."""
    return tls_adapter.get_backend("openssl")
