"""Fuzz the certificate and trust-store loaders: PEM armour, base64 and the DER inside.

Run with ``nox -s fuzz`` (see ``tests/fuzz/__init__.py``).
"""

from __future__ import annotations

import time

from hypothesis import strategies as st

from tls_adapter import Certificate, TrustStore
from tls_adapter._trust import pem_blocks
from tls_adapter._x509 import check_certificate

from ._corpus import armour, certificate_der, mutated_pem, repeated, seeds
from ._harness import MARKS, any_text, check_error, fuzz, time_limit

pytestmark = MARKS

_UNITS = [
    b"-----BEGIN CERTIFICATE-----\n",
    b"-----BEGIN A-----\n",
    b"-----END CERTIFICATE-----\n",
    b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    b"-----BEGIN ",
    b"-----",
    b"A" * 64 + b"\n",
]


@st.composite
def _pem_text(draw: st.DrawFn) -> bytes:
    """One or more armoured certificates (some damaged), keys, and noise between them."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        der = draw(certificate_der())
        label = draw(st.sampled_from(["CERTIFICATE"] * 4 + ["TRUSTED CERTIFICATE", "PRIVATE KEY"]))
        line = draw(st.sampled_from([64, 64, 76, 1, 0]))
        newline = draw(st.sampled_from([b"\n", b"\n", b"\r\n"]))
        parts.append(armour(der, label, line, newline))
        parts.append(draw(st.sampled_from([b"", b"\n", b"Subject: CN=x\n", b"# comment\n"])))
    return b"".join(parts)


def _inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(
        _pem_text(),
        mutated_pem(_pem_text()),
        certificate_der(),
        repeated(_UNITS),
        st.binary(max_size=512),
    )


def _load(data: bytes) -> None:
    started = time.monotonic()
    try:
        cert = Certificate.from_buffer(data)
    except ValueError as e:
        check_error(e, (ValueError,))
    else:
        check_certificate(cert.to_der())
        assert Certificate.from_buffer(cert.to_pem()) == cert
    try:
        chain = Certificate.chain_from_buffer(data)
    except ValueError as e:
        check_error(e, (ValueError,))
    else:
        assert chain
    try:
        store = TrustStore.from_buffer(data)
    except ValueError as e:
        check_error(e, (ValueError,))
    else:
        pem = store.pem_bytes()
        assert pem is not None and TrustStore.from_buffer(pem) == store
    for _label, der in pem_blocks(data):
        assert isinstance(der, bytes)
    assert time.monotonic() - started < 4 * time_limit(len(data))


def test_certificate_and_trust_store_loaders() -> None:
    """Certificate.from_buffer/chain_from_buffer, TrustStore.from_buffer, pem_blocks."""
    fuzz(_load, _inputs())


def _text(data: str) -> None:
    for load in (Certificate.from_buffer, TrustStore.from_buffer):
        try:
            load(data)  # type: ignore[arg-type]
        except ValueError as e:
            check_error(e, (ValueError,))


def test_loaders_take_ascii_text() -> None:
    """A ``str`` buffer: ASCII PEM works, anything else is a ValueError (not Unicode*Error)."""
    pem = armour(seeds().certificates[0], "CERTIFICATE").decode()
    fuzz(_text, st.one_of(any_text(64), st.builds(lambda t: t + pem, any_text(4))))
