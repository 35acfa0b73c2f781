"""Errors raised while a context is built: one kind, and they name the backend.

A configuration a backend cannot honour, or a key it cannot use, is refused with
:class:`~tls_adapter.ConfigurationError` when the context is built, and the message
says which backend refused, so a user switching backends knows which one to blame.
The password of an encrypted key never appears in a message.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

import tls_adapter
from tls_adapter import (
    Certificate,
    ConfigurationError,
    PrivateKey,
    TLSConfiguration,
    TLSVersion,
)

from .peers import PKI

_SECRET = b"correct horse battery staple"


def _encrypted_server_chain(pki: PKI) -> tuple[tuple[Certificate, ...], PrivateKey]:
    key = serialization.load_pem_private_key(pki.server.private_key_pem.bytes(), None)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_SECRET),
    )
    certs = tuple(Certificate.from_buffer(blob.bytes()) for blob in pki.server.cert_chain_pems)
    return certs, PrivateKey.from_buffer(pem, password=b"not the password")


def _refusals(pki: PKI, backend: tls_adapter.Backend) -> list[tuple[str, object]]:
    """``(what, thunk)`` for build-time refusals this backend must make."""
    cases: list[tuple[str, object]] = [
        (
            "wrong key password",
            lambda: _server(
                backend, TLSConfiguration(certificate_chain=_encrypted_server_chain(pki))
            ),
        ),
        (
            "a key that does not match the leaf",
            lambda: _server(
                backend,
                TLSConfiguration(certificate_chain=(pki.server_chain[0], pki.client_chain[1])),
            ),
        ),
    ]
    unsupported = [
        v
        for v in (TLSVersion.TLSv1, TLSVersion.TLSv1_3)
        if v not in backend.capabilities.tls_versions
    ]
    for version in unsupported:
        cases.append(
            (
                f"only {version.name}",
                lambda v=version: backend.client_context(
                    TLSConfiguration(
                        trust_store=pki.trust,
                        lowest_supported_version=v,
                        highest_supported_version=v,
                    )
                ),
            )
        )
    return cases


def _server(backend: tls_adapter.Backend, config: TLSConfiguration) -> object:
    if backend.server_context is None:
        pytest.skip(f"{backend.name} has no server side")
    return backend.server_context(config)


def test_build_time_errors_name_the_backend(backend: tls_adapter.Backend, pki: PKI) -> None:
    for what, build in _refusals(pki, backend):
        with pytest.raises(ConfigurationError) as caught:
            build()  # type: ignore[operator]
        message = str(caught.value)
        assert backend.name in message.lower() or backend.name in message, (what, message)
        assert _SECRET.decode() not in message and "not the password" not in message, what
