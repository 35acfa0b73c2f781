"""Helpers shared by the backend quirk tests."""

from __future__ import annotations

import pytest

from tls_adapter import CertificateValidationError, TLSConfiguration, TLSVersion
from tls_adapter.backends import backend_status


def requires_backend(name: str) -> pytest.MarkDecorator:
    """Skip a module when backend *name* is unavailable here, saying why."""
    for status in backend_status():
        if status.name == name:
            return pytest.mark.skipif(
                not status.available, reason=f"{name} backend: {status.reason}"
            )
    return pytest.mark.skipif(True, reason=f"the registry does not know the {name} backend")


def pinned(config: TLSConfiguration, version: TLSVersion) -> TLSConfiguration:
    """*config* allowing exactly *version*."""
    return config.update(lowest_supported_version=version, highest_supported_version=version)


def failure_reason(error: BaseException | None) -> str:
    """The reason of a certificate validation failure (asserting that it is one)."""
    assert isinstance(error, CertificateValidationError), repr(error)
    return error.reason
