"""Fuzz ``PrivateKey.from_buffer``: every key format, damaged, with and without passwords,
with and without the optional ``cryptography`` check; no secret may reach a message.

Run with ``nox -s fuzz`` (see ``tests/fuzz/__init__.py``).
"""

from __future__ import annotations

import base64
import contextlib
import sys
import time
from collections.abc import Callable
from unittest import mock

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import strategies as st

from tls_adapter import PrivateKey
from tls_adapter._x509 import PRIVATE_KEY_LABELS, check_private_key

from ._corpus import armour, key_encodings, mutated_der, mutated_pem, repeated, seeds
from ._harness import MARKS, any_text, check_error, exception_texts, fuzz, leaked, time_limit

pytestmark = MARKS

_SECRET = b"SECRET-pw-0f3a9c"
_UNITS = [b"-----BEGIN PRIVATE KEY-----\n", b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,"]


def _encoded_keys(password: bytes | None) -> list[bytes]:
    return [data for key in seeds().keys for data in key_encodings(key, password)]


@st.composite
def _key_input(draw: st.DrawFn) -> bytes:
    pristine = st.sampled_from(_encoded_keys(None) + _encoded_keys(_SECRET))
    data = draw(pristine)
    if data.startswith(b"-----"):
        choice = draw(st.sampled_from(["pem", "der-inside", "as-is"]))
        if choice == "pem":
            return draw(mutated_pem(st.just(data)))
        if choice == "der-inside" and b"Proc-Type" not in data:
            label = data.split(b"-----")[1][6:].decode()
            body = b"".join(line for line in data.splitlines() if b"-----" not in line)
            der = draw(mutated_der(st.just(base64.b64decode(body))))
            return armour(der, draw(st.sampled_from([label, *PRIVATE_KEY_LABELS])))
        return data
    return draw(st.one_of(mutated_der(st.just(data)), st.just(data)))


def _inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(_key_input(), repeated(_UNITS), st.binary(max_size=300))


def _passwords() -> st.SearchStrategy[bytes | Callable[[], bytes] | None]:
    return st.sampled_from([None, _SECRET, lambda: _SECRET])


def _secrets(data: bytes) -> list[bytes]:
    """The password, and the key material: base64 lines and the DER's bytes as hex."""
    lines = [line.strip() for line in data.splitlines() if line.strip()]
    out = [_SECRET, *(line for line in lines if b"-----" not in line and b":" not in line)]
    if not data.startswith(b"-----"):
        out.append(data.hex().encode())
    return out


def _load(
    data: bytes, password: bytes | Callable[[], bytes] | None, without_cryptography: bool
) -> None:
    started = time.monotonic()
    hidden = {"cryptography.hazmat.primitives.serialization": None} if without_cryptography else {}
    with mock.patch.dict(sys.modules, hidden):
        try:
            key = PrivateKey.from_buffer(data, password=password)
        except ValueError as e:
            check_error(e, (ValueError,))
            piece = leaked(exception_texts(e), _secrets(data))
            assert piece is None, f"the message quotes key material or password: {piece!r}"
            return
        assert time.monotonic() - started < 3 * time_limit(len(data))
        assert PrivateKey.from_buffer(key.to_pem(), password=password) == key
    for text in (repr(key), str(key)):
        assert leaked(text, _secrets(data)) is None
    pem = key.to_pem()
    assert pem.startswith(b"-----BEGIN ") and pem.endswith(b"\n")
    label = pem.split(b"-----")[1][6:].decode()
    assert label in PRIVATE_KEY_LABELS
    if not key.encrypted:
        body = b"".join(line for line in pem.splitlines() if b"-----" not in line)
        check_private_key(base64.b64decode(body), label)
        if not without_cryptography:
            # What construction accepts, OpenSSL's PEM reader must read: no layout
            # problem may be left for the backend to find.
            # (Key types cryptography does not know pass, for the backend to judge.)
            with contextlib.suppress(UnsupportedAlgorithm):
                load_pem_private_key(pem, None, unsafe_skip_rsa_key_validation=True)


def test_private_key_from_buffer() -> None:
    """PrivateKey.from_buffer: a key, or a ValueError that names the problem and no secret."""
    fuzz(_load, _inputs(), _passwords(), st.booleans())


def _text_key(prefix: str, suffix: str) -> None:
    pem = key_encodings(seeds().keys[0], None)[0].decode("ascii")
    data = prefix + pem + suffix
    try:
        PrivateKey.from_buffer(data)  # type: ignore[arg-type]
    except ValueError as e:
        check_error(e, (ValueError,))
        assert leaked(exception_texts(e), _secrets(pem.encode())) is None
    else:
        assert data.isascii()


def test_private_key_from_text() -> None:
    """A ``str`` key: ASCII works; otherwise a ValueError that does not carry the key."""
    fuzz(_text_key, any_text(4), any_text(4))
