"""Fuzz the urllib3 shim's translations: OpenSSL cipher strings (against the stdlib),
option and verify-flag bits, TLS version bounds, ``cadata``, passwords, host names.

Run with ``nox -s fuzz`` (see ``tests/fuzz/__init__.py``).
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from tls_adapter import TLSConfiguration, TLSVersion
from tls_adapter._ciphers import cipher_suite_from_int
from tls_adapter._enums import version_rank
from tls_adapter._shim_config import (
    cadata_store,
    cipher_tuple,
    effective_versions,
    match_hostname,
    password_bytes,
)
from tls_adapter._x509 import decode_certificate
from tls_adapter.urllib3 import SSLContext

from ._corpus import armour, certificate_der, mutated_pem, seeds
from ._harness import MARKS, any_text, check_error, exception_texts, fuzz

pytestmark = MARKS

# -- cipher strings ---------------------------------------------------------------------
_KEYWORDS = [
    "ALL", "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT", "DEFAULT", "HIGH", "MEDIUM", "LOW",
    "eNULL", "NULL", "aNULL", "kRSA", "aRSA", "RSA", "kDHE", "kEDH", "DHE", "EDH", "ADH",
    "kECDHE", "kEECDH", "ECDHE", "EECDH", "AECDH", "aECDSA", "ECDSA", "aDSS", "DSS", "PSK",
    "kPSK", "SRP", "AES", "AES128", "AES256", "AESGCM", "AESCCM", "AESCCM8", "CHACHA20",
    "CAMELLIA", "ARIA", "ARIA128", "3DES", "DES", "RC4", "SEED", "IDEA", "MD5", "SHA1",
    "SHA", "SHA256", "SHA384", "TLSv1.2", "TLSv1", "SSLv3", "SUITEB128", "SUITEB192",
    "SUITEB128ONLY", "CBC", "GOST94",
]  # fmt: skip


@functools.cache
def _cipher_names() -> list[str]:
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return sorted({c["name"] for c in probe.get_ciphers()})


@st.composite
def _cipher_string(draw: st.DrawFn) -> str:
    """A string from OpenSSL's cipher-list grammar, with the odd random token."""
    names = _cipher_names()
    items = []
    for _ in range(draw(st.integers(0, 6))):
        words = draw(
            st.lists(
                st.one_of(
                    st.sampled_from(_KEYWORDS),
                    st.sampled_from(names),
                    st.text(alphabet="ACDEHLMNRSTaeknx0123456789-_.", min_size=1, max_size=8),
                ),
                min_size=1,
                max_size=3,
            )
        )
        prefix = draw(st.sampled_from(["", "", "!", "-", "+"]))
        items.append(prefix + "+".join(words))
    if draw(st.booleans()):
        items.append(draw(st.sampled_from(["@STRENGTH", "@SECLEVEL=0", "@SECLEVEL=1",
                                            "@SECLEVEL=5", "@SECLEVEL=99999999999", "@SECLEVEL=",
                                            "@", "@BOGUS"])))  # fmt: skip
    separator = draw(st.sampled_from([":", ":", ",", " ", ";"]))
    return separator.join(items)


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except (ssl.SSLError, ValueError, TypeError) as e:
        return type(e).__name__, None


def _same_ciphers_as_stdlib(text: str) -> None:
    ours = SSLContext(backend="openssl")
    theirs = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    got = _outcome(lambda: ours.set_ciphers(text))
    expected = _outcome(lambda: theirs.set_ciphers(text))
    assert got[0] == expected[0], (got, expected)
    if got[0] == "ok":
        ours_names = [c["name"] for c in ours.get_ciphers() if c["protocol"] != "TLSv1.3"]
        theirs_names = [c["name"] for c in theirs.get_ciphers() if c["protocol"] != "TLSv1.3"]
        assert ours_names == theirs_names
        for suite in ours.configuration.ciphers or ():
            assert cipher_suite_from_int(int(suite)) == suite
            described = cipher_tuple(suite, TLSVersion.TLSv1_2)
            assert described is not None and described[2] in (0, 40, 56, 112, 128, 192, 256)


def test_set_ciphers_matches_the_stdlib() -> None:
    """set_ciphers accepts and refuses what ssl does, and selects the same TLS 1.2 suites."""
    fuzz(_same_ciphers_as_stdlib, st.one_of(_cipher_string(), any_text(24)))


# -- options, flags, versions -----------------------------------------------------------
_VERSIONS = list(ssl.TLSVersion)
_ints = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**63, 2**64 - 1, 2**64, int(ssl.OP_ALL), int(ssl.OP_NO_TLSv1_3)]),
    st.lists(st.sampled_from(list(ssl.Options)), max_size=6).map(lambda xs: sum(set(xs))),
)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("options"), _ints),
        st.tuples(st.just("verify_flags"), _ints),
        st.tuples(st.just("minimum_version"), st.sampled_from(_VERSIONS + list(TLSVersion))),
        st.tuples(st.just("maximum_version"), st.sampled_from(_VERSIONS + list(TLSVersion))),
        st.tuples(st.just("verify_mode"), st.integers(-2, 4)),
        st.tuples(st.just("check_hostname"), st.booleans()),
    ),
    max_size=8,
)


def _settings(ops: list[tuple[str, Any]]) -> None:
    context = SSLContext(backend="openssl")
    for name, value in ops:
        try:
            setattr(context, name, value)
        except (ValueError, TypeError) as e:
            check_error(e, (ValueError, TypeError))
    int(context.options)
    int(context.verify_flags)
    try:
        configuration = context.configuration
    except ssl.SSLError as e:
        check_error(e, (ssl.SSLError,))
        return
    assert isinstance(configuration, TLSConfiguration)


def test_option_and_version_settings() -> None:
    """Any sequence of option/flag/version assignments: a configuration or ssl.SSLError."""
    fuzz(_settings, _ops)


def _versions(minimum: ssl.TLSVersion, maximum: ssl.TLSVersion, options: int) -> None:
    try:
        low, high = effective_versions(minimum, maximum, options)
    except ssl.SSLError as e:
        check_error(e, (ssl.SSLError,))
        return
    if options & int(ssl.OP_NO_TLSv1 | ssl.OP_NO_TLSv1_1 | ssl.OP_NO_TLSv1_2 | ssl.OP_NO_TLSv1_3):
        concrete = [v for v in (low, high) if v not in (TLSVersion.MINIMUM_SUPPORTED,
                                                        TLSVersion.MAXIMUM_SUPPORTED)]  # fmt: skip
        if len(concrete) == 2:
            assert version_rank(low) <= version_rank(high)


def test_effective_versions() -> None:
    """effective_versions is total over every TLSVersion pair and any option bits."""
    fuzz(_versions, st.sampled_from(_VERSIONS), st.sampled_from(_VERSIONS), _ints)


# -- cadata, passwords, host names ------------------------------------------------------
_SECRET = "SECRET-shim-pw-7d1e"


@st.composite
def _cadata(draw: st.DrawFn) -> str | bytes:
    der = draw(certificate_der())
    data = draw(st.one_of(st.just(der), mutated_pem(st.just(armour(der, "CERTIFICATE")))))
    if draw(st.booleans()):
        return data.decode("latin-1")
    return data


def _load_cadata(cadata: str | bytes) -> None:
    try:
        cadata_store(cadata)
    except ssl.SSLError as e:
        check_error(e, (ssl.SSLError,))
    except (TypeError, ValueError) as e:  # not ASCII text; empty (as the stdlib)
        check_error(e, (TypeError, ValueError))


def test_cadata() -> None:
    """load_verify_locations(cadata=...): a trust store, ssl.SSLError, or the stdlib's errors."""
    fuzz(_load_cadata, st.one_of(_cadata(), any_text(32), st.binary(max_size=64)))


def _password(value: object) -> None:
    try:
        assert isinstance(password_bytes(value), bytes)
    except (TypeError, ValueError) as e:
        check_error(e, (TypeError, ValueError))
        assert _SECRET not in exception_texts(e)


def test_password_bytes() -> None:
    """A password is bytes afterwards, or the error does not contain it."""
    texts = any_text(8).map(lambda t: _SECRET + t)
    values = st.one_of(
        texts, texts.map(lambda t: t.encode("utf-8", "surrogatepass")), st.integers()
    )
    fuzz(_password, st.one_of(values, values.map(lambda v: lambda: v)))


@functools.cache
def _peer_dicts() -> list[dict[str, Any]]:
    return [decode_certificate(der) for der in seeds().certificates[:6]]


def _hostname(index: int, name: str, allow_common_name: bool) -> None:
    cert = _peer_dicts()[index % len(_peer_dicts())]
    result = match_hostname(cert, name, allow_common_name)
    assert result is None or isinstance(result, str)


def test_match_hostname() -> None:
    """match_hostname is total on any host name text."""
    names = st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            ["localhost", "127.0.0.1", "::1", "[::1]", "a.example.org", "fe80::1%eth0"]
        ),
    )
    fuzz(_hostname, st.integers(0, 5), names, st.booleans())
