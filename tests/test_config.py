"""TLSConfiguration: defaults, immutability, equality, update() and validation.

The configuration is backend-neutral, so most of this file runs once; the last tests
check that every backend accepts a default configuration and that contexts keep the
configuration they were built from.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

import tls_adapter
from tls_adapter import (
    CipherSuite,
    NextProtocol,
    TLSConfiguration,
    TLSVersion,
    TrustStore,
)

from .peers import PKI, make_server_context

PEP_FIELD_ORDER = (
    "validate_certificates",
    "certificate_chain",
    "ciphers",
    "inner_protocols",
    "lowest_supported_version",
    "highest_supported_version",
    "trust_store",
    "sni_callback",
)


def _callback(obj: Any, name: str | None, config: TLSConfiguration) -> TLSConfiguration:
    return config


# -- defaults ---------------------------------------------------------------------------
def test_defaults() -> None:
    config = TLSConfiguration()
    assert config.validate_certificates is True
    assert config.certificate_chain is None
    assert config.ciphers is None
    assert config.inner_protocols == ()
    assert config.lowest_supported_version is TLSVersion.TLSv1_2
    assert config.highest_supported_version is TLSVersion.MAXIMUM_SUPPORTED
    assert config.trust_store is None
    assert config.sni_callback is None


def test_explicit_none_means_default() -> None:
    assert TLSConfiguration(*([None] * len(PEP_FIELD_ORDER))) == TLSConfiguration()


# -- field order ------------------------------------------------------------------------
def test_constructor_parameters_are_in_pep_order() -> None:
    params = list(inspect.signature(TLSConfiguration).parameters)
    assert tuple(params) == PEP_FIELD_ORDER


def test_update_parameters_are_in_pep_order() -> None:
    params = list(inspect.signature(TLSConfiguration.update).parameters)
    assert tuple(params[1:]) == PEP_FIELD_ORDER


def test_positional_construction(pki: PKI) -> None:
    chain = pki.server_chain
    suites = (CipherSuite.TLS_AES_128_GCM_SHA256,)
    config = TLSConfiguration(
        False,
        chain,
        suites,
        (NextProtocol.H2,),
        TLSVersion.TLSv1_3,
        TLSVersion.TLSv1_3,
        pki.trust,
        _callback,
    )
    assert config.validate_certificates is False
    assert config.certificate_chain == chain
    assert config.ciphers == suites
    assert config.inner_protocols == (NextProtocol.H2,)
    assert config.lowest_supported_version is TLSVersion.TLSv1_3
    assert config.highest_supported_version is TLSVersion.TLSv1_3
    assert config.trust_store == pki.trust
    assert config.sni_callback is _callback


def test_too_many_positional_arguments() -> None:
    with pytest.raises(TypeError):
        TLSConfiguration(*([None] * (len(PEP_FIELD_ORDER) + 1)))


# -- immutability -----------------------------------------------------------------------
@pytest.mark.parametrize("field", PEP_FIELD_ORDER)
def test_fields_cannot_be_assigned(field: str) -> None:
    config = TLSConfiguration()
    with pytest.raises(AttributeError):
        setattr(config, field, None)
    with pytest.raises(AttributeError):
        delattr(config, field)


def test_no_new_attributes() -> None:
    config = TLSConfiguration()
    with pytest.raises(AttributeError):
        config.extra = 1
    assert not hasattr(config, "__dict__")


def test_private_slots_cannot_be_assigned() -> None:
    config = TLSConfiguration()
    with pytest.raises(AttributeError):
        config._validate_certificates = False
    assert config.validate_certificates is True


# -- equality and hashing ---------------------------------------------------------------
def test_equal_configurations_hash_equal(pki: PKI) -> None:
    a = TLSConfiguration(
        certificate_chain=pki.server_chain,
        ciphers=[CipherSuite.TLS_AES_128_GCM_SHA256, 0x1302],
        inner_protocols=[NextProtocol.H2, b"http/1.1"],
        trust_store=pki.trust,
    )
    b = TLSConfiguration(
        certificate_chain=(list(pki.server_chain[0]), pki.server_chain[1]),  # type: ignore[arg-type]
        ciphers=(0x1301, CipherSuite.TLS_AES_256_GCM_SHA384),
        inner_protocols=(b"h2", NextProtocol.HTTP1),
        trust_store=TrustStore.from_buffer(pki.ca.cert_pem.bytes()),
    )
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert {a: 1}[b] == 1


def test_lists_are_normalised_to_tuples(pki: PKI) -> None:
    config = TLSConfiguration(
        certificate_chain=[list(pki.server_chain[0]), pki.server_chain[1]],  # type: ignore[arg-type]
        ciphers=[0x1301],
        inner_protocols=[b"h2", bytearray(b"custom")],  # type: ignore[list-item]
    )
    assert isinstance(config.ciphers, tuple)
    assert isinstance(config.inner_protocols, tuple)
    assert config.certificate_chain is not None
    assert isinstance(config.certificate_chain, tuple)
    assert isinstance(config.certificate_chain[0], tuple)
    hash(config)


def test_generators_are_accepted() -> None:
    config = TLSConfiguration(
        ciphers=(c for c in [0x1301, 0x1302]),
        inner_protocols=(p for p in [b"h2"]),
    )
    assert config.ciphers == (0x1301, 0x1302)
    assert config.inner_protocols == (NextProtocol.H2,)


def test_known_values_become_enum_members() -> None:
    config = TLSConfiguration(ciphers=[0x1301, 0x0A0A], inner_protocols=[b"h2", b"my-proto"])
    assert config.ciphers is not None
    assert config.ciphers[0] is CipherSuite.TLS_AES_128_GCM_SHA256
    assert type(config.ciphers[1]) is int  # GREASE value: not in the table, kept as int
    assert config.inner_protocols == (NextProtocol.H2, b"my-proto")
    assert config.inner_protocols[0] is NextProtocol.H2
    assert type(config.inner_protocols[1]) is bytes


def test_bytearray_protocol_becomes_bytes() -> None:
    config = TLSConfiguration(inner_protocols=[bytearray(b"custom")])  # type: ignore[list-item]
    assert config.inner_protocols == (b"custom",)
    assert type(config.inner_protocols[0]) is bytes
    hash(config)


def test_single_certificate_is_accepted_as_chain(pki: PKI) -> None:
    (leaf, *_), key = pki.server_chain
    config = TLSConfiguration(certificate_chain=(leaf, key))  # type: ignore[arg-type]
    assert config.certificate_chain == ((leaf,), key)


@pytest.mark.parametrize(
    "changes",
    [
        {"validate_certificates": False},
        {"ciphers": [0x1301, 0x1302, 0x1303]},
        {"inner_protocols": [b"h2"]},
        {"lowest_supported_version": TLSVersion.TLSv1_3},
        {"highest_supported_version": TLSVersion.TLSv1_2},
        {"trust_store": TrustStore.system()},
        {"sni_callback": _callback},
    ],
    ids=lambda c: next(iter(c)),
)
def test_configurations_differing_in_one_field_are_unequal(changes: dict[str, Any]) -> None:
    assert TLSConfiguration(**changes) != TLSConfiguration()


def test_cipher_order_matters() -> None:
    assert TLSConfiguration(ciphers=[0x1301, 0x1302]) != TLSConfiguration(ciphers=[0x1302, 0x1301])


def test_duplicate_ciphers_are_dropped() -> None:
    config = TLSConfiguration(ciphers=[0x1301, 0x1302, 0x1301])
    assert config.ciphers == (0x1301, 0x1302)


def test_not_equal_to_other_types() -> None:
    assert TLSConfiguration() != object()
    assert TLSConfiguration() != ()


# -- update() ---------------------------------------------------------------------------
def test_update_keeps_unspecified_fields(pki: PKI) -> None:
    base = TLSConfiguration(
        validate_certificates=False,
        certificate_chain=pki.client_chain,
        ciphers=[0x1301, 0x1302, 0x1303],
        inner_protocols=[NextProtocol.H2],
        lowest_supported_version=TLSVersion.TLSv1_3,
        trust_store=pki.trust,
        sni_callback=_callback,
    )
    new = base.update(inner_protocols=[NextProtocol.HTTP1])
    assert new is not base
    assert new.inner_protocols == (NextProtocol.HTTP1,)
    for field in PEP_FIELD_ORDER:
        if field != "inner_protocols":
            assert getattr(new, field) == getattr(base, field), field
    assert base.inner_protocols == (NextProtocol.H2,)


def test_update_without_arguments_is_an_equal_copy() -> None:
    base = TLSConfiguration(ciphers=[0x1301, 0x1302, 0x1303])
    assert base.update() == base


@pytest.mark.parametrize("field", PEP_FIELD_ORDER)
def test_update_none_resets_to_default(field: str, pki: PKI) -> None:
    non_default: dict[str, Any] = {
        "validate_certificates": False,
        "certificate_chain": pki.server_chain,
        "ciphers": [0x1301],
        "inner_protocols": [b"h2"],
        "lowest_supported_version": TLSVersion.TLSv1_3,
        "highest_supported_version": TLSVersion.TLSv1_3,
        "trust_store": pki.trust,
        "sni_callback": _callback,
    }
    base = TLSConfiguration(**{field: non_default[field]})
    assert base != TLSConfiguration()
    assert base.update(**{field: None}) == TLSConfiguration()


def test_update_validates_the_result() -> None:
    base = TLSConfiguration(highest_supported_version=TLSVersion.TLSv1_2)
    with pytest.raises(ValueError, match="lowest_supported_version"):
        base.update(lowest_supported_version=TLSVersion.TLSv1_3)
    with pytest.raises(TypeError, match="ciphers"):
        base.update(ciphers="ECDHE+AESGCM")  # type: ignore[arg-type]


# -- validation: each error names its field -------------------------------------------
_NOT_A_CERT = object()


def _bad_values(pki: PKI) -> list[tuple[str, Any, type[Exception], str]]:
    (leaf, *_), key = pki.server_chain
    return [
        ("validate_certificates", "yes", TypeError, "validate_certificates"),
        ("validate_certificates", 1, TypeError, "validate_certificates"),
        ("certificate_chain", "cert.pem", TypeError, "certificate_chain"),
        ("certificate_chain", (leaf,), TypeError, "certificate_chain"),
        ("certificate_chain", (leaf, key, key), TypeError, "certificate_chain"),
        ("certificate_chain", ((), key), ValueError, "certificate_chain"),
        ("certificate_chain", ((leaf,), "key.pem"), TypeError, "certificate_chain"),
        ("certificate_chain", ((leaf,), None), TypeError, "certificate_chain"),
        ("certificate_chain", ((leaf, "x"), key), TypeError, "certificate_chain"),
        ("certificate_chain", ((b"pem",), key), TypeError, "certificate_chain"),
        ("certificate_chain", ("leaf", key), TypeError, "certificate_chain"),
        ("certificate_chain", ({"a": leaf}.values(), _NOT_A_CERT), TypeError, "certificate_chain"),
        ("ciphers", "ECDHE-RSA-AES128-GCM-SHA256", TypeError, "ciphers"),
        ("ciphers", b"\x13\x01", TypeError, "ciphers"),
        ("ciphers", 0x1301, TypeError, "ciphers"),
        ("ciphers", [], ValueError, "ciphers"),
        ("ciphers", (), ValueError, "ciphers"),
        ("ciphers", [0x10000], ValueError, "ciphers"),
        ("ciphers", [-1], ValueError, "ciphers"),
        ("ciphers", [True], TypeError, "ciphers"),
        ("ciphers", [0x1301, False], TypeError, "ciphers"),
        ("ciphers", ["TLS_AES_128_GCM_SHA256"], TypeError, "ciphers"),
        ("ciphers", [1.5], TypeError, "ciphers"),
        ("inner_protocols", "h2", TypeError, "inner_protocols"),
        ("inner_protocols", b"h2", TypeError, "inner_protocols"),
        ("inner_protocols", ["h2"], TypeError, "inner_protocols"),
        ("inner_protocols", [b""], ValueError, "inner_protocols"),
        ("inner_protocols", [b"x" * 256], ValueError, "inner_protocols"),
        ("inner_protocols", [1], TypeError, "inner_protocols"),
        ("inner_protocols", 5, TypeError, "inner_protocols"),
        ("lowest_supported_version", "TLSv1.2", TypeError, "lowest_supported_version"),
        ("lowest_supported_version", 0x0303, TypeError, "lowest_supported_version"),
        (
            "lowest_supported_version",
            TLSVersion.MAXIMUM_SUPPORTED,
            ValueError,
            "lowest_supported_version",
        ),
        ("highest_supported_version", "TLSv1.3", TypeError, "highest_supported_version"),
        (
            "highest_supported_version",
            TLSVersion.MINIMUM_SUPPORTED,
            ValueError,
            "highest_supported_version",
        ),
        ("highest_supported_version", TLSVersion.TLSv1_1, ValueError, "lowest_supported_version"),
        ("trust_store", "/etc/ssl/certs/ca-certificates.crt", TypeError, "trust_store"),
        ("trust_store", pki.ca.cert_pem.bytes(), TypeError, "trust_store"),
        ("sni_callback", "callback", TypeError, "sni_callback"),
        ("sni_callback", 5, TypeError, "sni_callback"),
    ]


def test_every_field_has_validation_cases(pki: PKI) -> None:
    assert {case[0] for case in _bad_values(pki)} == set(PEP_FIELD_ORDER)


def test_bad_values_raise_naming_the_field(pki: PKI) -> None:
    failures = []
    for field, value, exc_type, named in _bad_values(pki):
        try:
            TLSConfiguration(**{field: value})
        except exc_type as e:
            if named not in str(e):
                failures.append(f"{field}={value!r}: message {str(e)!r} does not name {named}")
        except Exception as e:
            failures.append(f"{field}={value!r}: raised {e!r}, expected {exc_type.__name__}")
        else:
            failures.append(f"{field}={value!r}: accepted")
    assert not failures, "\n".join(failures)


def test_bad_values_are_rejected_by_update_too(pki: PKI) -> None:
    base = TLSConfiguration()
    for field, value, exc_type, _ in _bad_values(pki):
        with pytest.raises(exc_type):
            base.update(**{field: value})


def test_lowest_above_highest_names_both_versions() -> None:
    with pytest.raises(ValueError) as info:
        TLSConfiguration(
            lowest_supported_version=TLSVersion.TLSv1_3,
            highest_supported_version=TLSVersion.TLSv1_2,
        )
    message = str(info.value)
    assert "lowest_supported_version" in message
    assert "highest_supported_version" in message
    assert "TLSv1_3" in message and "TLSv1_2" in message


def test_alpn_length_bounds_are_inclusive() -> None:
    config = TLSConfiguration(inner_protocols=[b"x", b"y" * 255])
    assert config.inner_protocols == (b"x", b"y" * 255)


def test_cipher_range_bounds_are_inclusive() -> None:
    config = TLSConfiguration(ciphers=[0x0000, 0xFFFF])
    assert config.ciphers == (0x0000, 0xFFFF)


def test_str_alpn_error_suggests_bytes() -> None:
    with pytest.raises(TypeError, match=re.escape("b'h2'")):
        TLSConfiguration(inner_protocols=["h2"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("lowest", "highest"),
    [
        (TLSVersion.MINIMUM_SUPPORTED, TLSVersion.MAXIMUM_SUPPORTED),
        (TLSVersion.TLSv1_2, TLSVersion.TLSv1_2),
        (TLSVersion.TLSv1_3, TLSVersion.TLSv1_3),
        (TLSVersion.TLSv1_3, TLSVersion.MAXIMUM_SUPPORTED),
        (TLSVersion.MINIMUM_SUPPORTED, TLSVersion.TLSv1_2),
    ],
)
def test_valid_version_ranges(lowest: TLSVersion, highest: TLSVersion) -> None:
    config = TLSConfiguration(lowest_supported_version=lowest, highest_supported_version=highest)
    assert (config.lowest_supported_version, config.highest_supported_version) == (
        lowest,
        highest,
    )


# -- repr ---------------------------------------------------------------------------
def test_repr_shows_fields_but_no_key_material(pki: PKI) -> None:
    config = TLSConfiguration(certificate_chain=pki.server_chain, inner_protocols=[b"h2"])
    text = repr(config)
    for field in PEP_FIELD_ORDER:
        assert field in text
    key_pem = pki.server.private_key_pem.bytes().decode()
    body_lines = [line for line in key_pem.splitlines() if line and "-----" not in line]
    for line in body_lines:
        assert line[:20] not in text


# -- contexts built from configurations ------------------------------------------------
def test_backend_accepts_default_client_configuration(backend: tls_adapter.Backend) -> None:
    config = TLSConfiguration()
    context = backend.client_context(config)
    assert isinstance(context, tls_adapter.ClientContext)
    assert context.configuration is config


def test_backend_server_context_keeps_configuration(backend: tls_adapter.Backend, pki: PKI) -> None:
    assert backend.capabilities.server_side == (backend.server_context is not None)
    if backend.server_context is None:
        pytest.skip(f"{backend.name} has no server side (capabilities.server_side is False)")
    config = TLSConfiguration(certificate_chain=pki.server_chain)
    context = make_server_context(backend, config)
    assert isinstance(context, tls_adapter.ServerContext)
    assert context.configuration is config


def test_contexts_reject_non_configurations(backend: tls_adapter.Backend) -> None:
    with pytest.raises(TypeError):
        backend.client_context({"validate_certificates": True})  # type: ignore[arg-type]
    if backend.server_context is not None:
        with pytest.raises(TypeError):
            backend.server_context(None)  # type: ignore[arg-type]


def test_server_without_certificate_is_refused(backend: tls_adapter.Backend) -> None:
    if backend.server_context is None:
        pytest.skip(f"{backend.name} has no server side (capabilities.server_side is False)")
    with pytest.raises(tls_adapter.ConfigurationError):
        backend.server_context(TLSConfiguration())


def test_unsupported_versions_are_refused(backend: tls_adapter.Backend) -> None:
    """Versions the backend does not list in its capabilities are refused at build."""
    declared = backend.capabilities.tls_versions
    assert declared, "a backend must declare at least one TLS version"
    assert TLSVersion.MINIMUM_SUPPORTED not in declared
    assert TLSVersion.MAXIMUM_SUPPORTED not in declared
    for version in (TLSVersion.SSLv2, TLSVersion.SSLv3, TLSVersion.TLSv1_2, TLSVersion.TLSv1_3):
        config = TLSConfiguration(
            lowest_supported_version=version, highest_supported_version=version
        )
        if version in declared:
            backend.client_context(config)
        else:
            with pytest.raises(tls_adapter.ConfigurationError):
                backend.client_context(config)
