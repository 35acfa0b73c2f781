"""Certificate, PrivateKey and TrustStore: loading, validation of input, secrecy, and
their use by every backend (keys decrypted with passwords, directories, system trust).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

import tls_adapter
from tls_adapter import (
    Certificate,
    CertificateValidationError,
    ConfigurationError,
    PrivateKey,
    TLSConfiguration,
    TrustStore,
)

from .peers import (
    PKI,
    HandshakeOutcome,
    buffer_pair,
    der_of,
    drive_handshake,
    make_server_context,
    server_peer,
)

PASSWORD = b"correct horse battery staple"
WRONG_PASSWORD = b"Tr0ub4dor&3-wrong"


# -- helpers ----------------------------------------------------------------------------
def _key_object(leaf: trustme.LeafCert) -> PrivateKeyTypes:
    return serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)


def _encrypted_pem(leaf: trustme.LeafCert, fmt: str, password: bytes = PASSWORD) -> bytes:
    key = _key_object(leaf)
    private_format = (
        serialization.PrivateFormat.PKCS8
        if fmt == "pkcs8"
        else serialization.PrivateFormat.TraditionalOpenSSL
    )
    return key.private_bytes(
        serialization.Encoding.PEM,
        private_format,
        serialization.BestAvailableEncryption(password),
    )


def _der_key(leaf: trustme.LeafCert) -> bytes:
    return _key_object(leaf).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _leaf_certs(leaf: trustme.LeafCert) -> tuple[Certificate, ...]:
    return tuple(Certificate.from_buffer(p.bytes()) for p in leaf.cert_chain_pems)


def _build_with_chain(
    backend: tls_adapter.Backend, chain: tuple[tuple[Certificate, ...], PrivateKey]
) -> object:
    """Build a context that must load *chain*: a server one, or a client one if no server."""
    if backend.server_context is not None:
        return make_server_context(backend, TLSConfiguration(certificate_chain=chain))
    if not backend.capabilities.client_certificates:
        pytest.skip(f"{backend.name} can load no certificate chain (no server, no client certs)")
    return backend.client_context(TLSConfiguration(certificate_chain=chain))


def _serve_handshake(
    client_backend: tls_adapter.Backend,
    client_config: TLSConfiguration,
    server_config: TLSConfiguration,
    server_hostname: str | None = "localhost",
) -> HandshakeOutcome:
    server_context = make_server_context(server_peer(client_backend), server_config)
    client, server = buffer_pair(
        client_backend.client_context(client_config), server_context, server_hostname
    )
    return drive_handshake(client, server)


def _exception_texts(exc: BaseException) -> str:
    texts = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


# -- Certificate ------------------------------------------------------------------------
def test_certificate_pem_and_der_are_equal(pki: PKI) -> None:
    pem = pki.server.cert_chain_pems[0].bytes()
    from_pem = Certificate.from_buffer(pem)
    from_der = Certificate.from_buffer(from_pem.to_der())
    assert from_pem == from_der
    assert hash(from_pem) == hash(from_der)
    assert from_der.to_pem().strip() == pem.strip().replace(b"\r\n", b"\n")
    assert Certificate.from_buffer(bytearray(pem)) == from_pem  # type: ignore[arg-type]


def test_certificate_from_file_pem_and_der(pki: PKI, tmp_path: Path) -> None:
    cert = Certificate.from_buffer(pki.server.cert_chain_pems[0].bytes())
    pem_path = tmp_path / "cert.pem"
    der_path = tmp_path / "cert.der"
    pem_path.write_bytes(cert.to_pem())
    der_path.write_bytes(cert.to_der())
    assert Certificate.from_file(pem_path) == cert
    assert Certificate.from_file(str(der_path)) == cert
    assert Certificate.from_file(os.fsencode(der_path)) == cert


def test_certificate_from_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "missing-cert.pem"
    with pytest.raises(FileNotFoundError) as info:
        Certificate.from_file(missing)
    assert "missing-cert.pem" in str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, I am not a certificate, not at all, not in any encoding whatsoever!",
        b"\x30\x03\x02\x01\x00",
        b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    ],
    ids=["empty", "text", "short-der", "bad-base64"],
)
def test_certificate_rejects_non_certificate_data(data: bytes) -> None:
    with pytest.raises(ValueError):
        Certificate.from_buffer(data)


def test_certificate_rejects_a_key(pki: PKI) -> None:
    with pytest.raises(ValueError):
        Certificate.from_buffer(pki.server.private_key_pem.bytes())


def test_certificate_rejects_wrong_types() -> None:
    with pytest.raises(TypeError):
        Certificate.from_buffer(12345)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Certificate.from_file(12345)  # type: ignore[arg-type]


def test_certificate_from_non_certificate_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.pem"
    path.write_bytes(b"this is no certificate\n" * 10)
    with pytest.raises(ValueError):
        Certificate.from_file(path)


def test_multiple_certificates_are_not_one_certificate(pki: PKI) -> None:
    two = pki.server.cert_chain_pems[0].bytes() + pki.ca.cert_pem.bytes()
    with pytest.raises(ValueError, match="exactly one"):
        Certificate.from_buffer(two)
    chain = Certificate.chain_from_buffer(two)
    assert [c.to_der() for c in chain] == [
        der_of(pki.server),
        Certificate.from_buffer(pki.ca.cert_pem.bytes()).to_der(),
    ]


def test_chain_from_file(pki: PKI, tmp_path: Path) -> None:
    path = tmp_path / "chain.pem"
    path.write_bytes(pki.server.cert_chain_pems[0].bytes() + pki.ca.cert_pem.bytes())
    assert len(Certificate.chain_from_file(path)) == 2
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"nothing here\n")
    with pytest.raises(ValueError):
        Certificate.chain_from_file(empty)


def test_certificate_has_no_public_constructor_and_is_immutable(pki: PKI) -> None:
    with pytest.raises(TypeError):
        Certificate(object(), b"\x30")
    cert = Certificate.from_buffer(pki.ca.cert_pem.bytes())
    with pytest.raises(AttributeError):
        cert._der = b""


def test_certificate_repr_is_short(pki: PKI) -> None:
    cert = Certificate.from_buffer(pki.ca.cert_pem.bytes())
    assert "BEGIN" not in repr(cert)
    assert len(repr(cert)) < 100


# -- PrivateKey -------------------------------------------------------------------------
def test_private_key_formats_are_loaded(pki: PKI, tmp_path: Path) -> None:
    pem = pki.server.private_key_pem.bytes()
    from_pem = PrivateKey.from_buffer(pem)
    assert not from_pem.encrypted
    assert from_pem.password_bytes() is None
    from_der = PrivateKey.from_buffer(_der_key(pki.server))
    assert b"PRIVATE KEY" in from_der.to_pem()
    path = tmp_path / "key.pem"
    path.write_bytes(pem)
    assert PrivateKey.from_file(path) == from_pem


def test_private_key_from_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing-key.pem"
    with pytest.raises(FileNotFoundError) as info:
        PrivateKey.from_file(missing)
    assert "missing-key.pem" in str(info.value)


@pytest.mark.parametrize(
    "data",
    [b"", b"not a key", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"],
    ids=["empty", "text", "certificate"],
)
def test_private_key_rejects_non_key_data(data: bytes) -> None:
    with pytest.raises(ValueError):
        PrivateKey.from_buffer(data)


def test_private_key_rejects_bad_password_type(pki: PKI) -> None:
    with pytest.raises(TypeError):
        PrivateKey.from_buffer(pki.server.private_key_pem.bytes(), password="text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        PrivateKey.from_buffer(pki.server.private_key_pem.bytes(), password=1234)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["pkcs8", "traditional"])
def test_encrypted_key_is_detected(pki: PKI, fmt: str) -> None:
    key = PrivateKey.from_buffer(_encrypted_pem(pki.server, fmt), password=PASSWORD)
    assert key.encrypted
    assert key.password_bytes() == PASSWORD


def test_callable_password_is_called_only_for_encrypted_keys(pki: PKI) -> None:
    calls: list[int] = []

    def password() -> bytes:
        calls.append(1)
        return PASSWORD

    plain = PrivateKey.from_buffer(pki.server.private_key_pem.bytes(), password=password)
    assert plain.password_bytes() is None
    assert calls == []
    encrypted = PrivateKey.from_buffer(_encrypted_pem(pki.server, "pkcs8"), password=password)
    assert calls == []  # not at construction
    assert encrypted.password_bytes() == PASSWORD
    assert calls == [1]


def test_private_key_repr_hides_material_and_password(pki: PKI, tmp_path: Path) -> None:
    encrypted_pem = _encrypted_pem(pki.server, "pkcs8")
    path = tmp_path / "secret-key.pem"
    path.write_bytes(encrypted_pem)
    keys = [
        PrivateKey.from_buffer(pki.server.private_key_pem.bytes()),
        PrivateKey.from_buffer(encrypted_pem, password=PASSWORD),
        PrivateKey.from_file(path, password=PASSWORD),
        PrivateKey.from_buffer(encrypted_pem, password=lambda: PASSWORD),
    ]
    secrets = [PASSWORD.decode(), repr(PASSWORD)]
    for pem in (pki.server.private_key_pem.bytes(), encrypted_pem):
        secrets += [line[:24] for line in pem.decode().splitlines() if "-----" not in line]
    for key in keys:
        for text in (repr(key), str(key)):
            for secret in secrets:
                if secret:
                    assert secret not in text, f"{text!r} leaks {secret!r}"
        config = TLSConfiguration(certificate_chain=(_leaf_certs(pki.server), key))
        for secret in secrets:
            if secret:
                assert secret not in repr(config)


def test_private_key_is_immutable_and_hashable(pki: PKI) -> None:
    key = PrivateKey.from_buffer(pki.server.private_key_pem.bytes())
    with pytest.raises(AttributeError):
        key._password = b"x"
    assert hash(key) == hash(PrivateKey.from_buffer(pki.server.private_key_pem.bytes()))
    with pytest.raises(TypeError):
        PrivateKey(object(), b"", None, None)


# -- keys used by every backend ---------------------------------------------------------
@pytest.mark.parametrize("fmt", ["pkcs8", "traditional"])
def test_encrypted_key_with_bytes_password_works(
    backend: tls_adapter.Backend, pki: PKI, fmt: str
) -> None:
    if backend.server_context is None:
        pytest.skip(f"{backend.name} has no server side to present the key")
    key = PrivateKey.from_buffer(_encrypted_pem(pki.server, fmt), password=PASSWORD)
    server_config = TLSConfiguration(certificate_chain=(_leaf_certs(pki.server), key))
    server_context = make_server_context(backend, server_config)
    client, server = buffer_pair(
        backend.client_context(TLSConfiguration(trust_store=pki.trust)), server_context
    )
    outcome = drive_handshake(client, server)
    assert outcome.client_error is None and outcome.server_error is None
    assert client.getpeercert() == der_of(pki.server)


def test_encrypted_key_from_file(backend: tls_adapter.Backend, pki: PKI, tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_encrypted_pem(pki.server, "pkcs8"))
    key = PrivateKey.from_file(path, password=PASSWORD)
    _build_with_chain(backend, (_leaf_certs(pki.server), key))


def test_der_key_works(backend: tls_adapter.Backend, pki: PKI) -> None:
    key = PrivateKey.from_buffer(_der_key(pki.server))
    _build_with_chain(backend, (_leaf_certs(pki.server), key))


def test_callable_password_and_context_build(backend: tls_adapter.Backend, pki: PKI) -> None:
    calls: list[int] = []

    def password() -> bytes:
        calls.append(1)
        return PASSWORD

    certs = _leaf_certs(pki.server)
    plain = PrivateKey.from_buffer(pki.server.private_key_pem.bytes(), password=password)
    _build_with_chain(backend, (certs, plain))
    assert calls == [], "the password callable was called for an unencrypted key"
    encrypted = PrivateKey.from_buffer(_encrypted_pem(pki.server, "pkcs8"), password=password)
    _build_with_chain(backend, (certs, encrypted))
    assert len(calls) >= 1, "the password callable was not called for an encrypted key"


def test_wrong_password_is_a_configuration_error(backend: tls_adapter.Backend, pki: PKI) -> None:
    key = PrivateKey.from_buffer(_encrypted_pem(pki.server, "pkcs8"), password=WRONG_PASSWORD)
    with pytest.raises(ConfigurationError) as info:
        _build_with_chain(backend, (_leaf_certs(pki.server), key))
    assert "password" in str(info.value).lower()
    texts = _exception_texts(info.value)
    assert WRONG_PASSWORD.decode() not in texts
    assert PASSWORD.decode() not in texts


def test_wrong_password_from_callable(backend: tls_adapter.Backend, pki: PKI) -> None:
    key = PrivateKey.from_buffer(
        _encrypted_pem(pki.server, "traditional"), password=lambda: WRONG_PASSWORD
    )
    with pytest.raises(ConfigurationError) as info:
        _build_with_chain(backend, (_leaf_certs(pki.server), key))
    assert "password" in str(info.value).lower()
    assert WRONG_PASSWORD.decode() not in _exception_texts(info.value)


def test_missing_password_is_a_configuration_error(backend: tls_adapter.Backend, pki: PKI) -> None:
    key = PrivateKey.from_buffer(_encrypted_pem(pki.server, "pkcs8"))
    with pytest.raises(ConfigurationError, match=r"(?i)password"):
        _build_with_chain(backend, (_leaf_certs(pki.server), key))


def test_password_callable_returning_text_is_refused(
    backend: tls_adapter.Backend, pki: PKI
) -> None:
    key = PrivateKey.from_buffer(
        _encrypted_pem(pki.server, "pkcs8"),
        password=PASSWORD.decode,  # type: ignore[arg-type]
    )
    with pytest.raises(ConfigurationError) as info:
        _build_with_chain(backend, (_leaf_certs(pki.server), key))
    assert PASSWORD.decode() not in _exception_texts(info.value)


def test_mismatched_key_is_a_configuration_error(backend: tls_adapter.Backend, pki: PKI) -> None:
    wrong_key = PrivateKey.from_buffer(pki.client.private_key_pem.bytes())
    with pytest.raises(ConfigurationError):
        _build_with_chain(backend, (_leaf_certs(pki.server), wrong_key))


# -- TrustStore -------------------------------------------------------------------------
def test_trust_store_kinds(pki: PKI, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(pki.ca.cert_pem.bytes())
    assert TrustStore.system().kind == "system"
    assert TrustStore.system() == TrustStore.system()
    certifi_store = TrustStore.certifi()
    assert certifi_store.kind == "certifi"
    assert certifi_store.path is not None and os.path.isfile(certifi_store.path)
    file_store = TrustStore.from_pem_file(bundle)
    assert (file_store.kind, file_store.path) == ("file", str(bundle))
    dir_store = TrustStore.from_directory(tmp_path)
    assert (dir_store.kind, dir_store.path) == ("directory", str(tmp_path))
    buffer_store = TrustStore.from_buffer(pki.ca.cert_pem.bytes())
    assert buffer_store.kind == "buffer"
    assert buffer_store.path is None
    assert buffer_store.pem_bytes() is not None
    stores = {TrustStore.system(), certifi_store, file_store, dir_store, buffer_store}
    assert len(stores) == 5
    for store in stores:
        assert "BEGIN" not in repr(store)
        with pytest.raises(AttributeError):
            store._kind = "system"


def test_trust_store_buffer_der_equals_pem(pki: PKI) -> None:
    der = Certificate.from_buffer(pki.ca.cert_pem.bytes()).to_der()
    assert TrustStore.from_buffer(der) == TrustStore.from_buffer(pki.ca.cert_pem.bytes())


def test_trust_store_factory_errors(pki: PKI, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        TrustStore.from_pem_file(tmp_path / "missing-bundle.pem")
    assert "missing-bundle.pem" in str(info.value)
    with pytest.raises(IsADirectoryError):
        TrustStore.from_pem_file(tmp_path)
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"no certificates here")
    with pytest.raises(ValueError):
        TrustStore.from_pem_file(junk)
    with pytest.raises(FileNotFoundError) as info:
        TrustStore.from_directory(tmp_path / "missing-dir")
    assert "missing-dir" in str(info.value)
    with pytest.raises(NotADirectoryError):
        TrustStore.from_directory(junk)
    with pytest.raises(ValueError):
        TrustStore.from_buffer(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ValueError):
        TrustStore.from_buffer(b"junk")
    with pytest.raises(TypeError):
        TrustStore.from_buffer(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TrustStore(object(), "system", None)


def test_trust_store_buffer_with_several_cas(
    backend: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA
) -> None:
    store = TrustStore.from_buffer(other_ca.cert_pem.bytes() + pki.ca.cert_pem.bytes())
    assert "2 certificate" in repr(store)
    outcome = _serve_handshake(
        backend,
        TLSConfiguration(trust_store=store),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    assert outcome.client_error is None and outcome.server_error is None


def test_trust_store_pem_file(
    backend: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(other_ca.cert_pem.bytes() + pki.ca.cert_pem.bytes())
    outcome = _serve_handshake(
        backend,
        TLSConfiguration(trust_store=TrustStore.from_pem_file(bundle)),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    assert outcome.client_error is None and outcome.server_error is None


def _hashed_directory(tmp_path: Path, *cas: trustme.CA) -> Path:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to compute c_rehash names")
    directory = tmp_path / "hashed"
    directory.mkdir(parents=True)
    for i, ca in enumerate(cas):
        pem = directory / f"ca{i}.pem"
        pem.write_bytes(ca.cert_pem.bytes())
        subject_hash = subprocess.run(
            [openssl, "x509", "-hash", "-noout", "-in", str(pem)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        n = 0
        while (directory / f"{subject_hash}.{n}").exists():
            n += 1
        os.symlink(pem.name, directory / f"{subject_hash}.{n}")
    return directory


def test_trust_store_directory(
    backend: tls_adapter.Backend, pki: PKI, other_ca: trustme.CA, tmp_path: Path
) -> None:
    good = TrustStore.from_directory(_hashed_directory(tmp_path, other_ca, pki.ca))
    try:
        context = backend.client_context(TLSConfiguration(trust_store=good))
    except ConfigurationError as e:
        pytest.skip(f"{backend.name} refuses hashed CA directories: {e}")
    server_context = make_server_context(
        server_peer(backend), TLSConfiguration(certificate_chain=pki.server_chain)
    )
    client, server = buffer_pair(context, server_context)
    outcome = drive_handshake(client, server)
    assert outcome.client_error is None and outcome.server_error is None

    only_other = TrustStore.from_directory(_hashed_directory(tmp_path / "x", other_ca))
    outcome = _serve_handshake(
        backend,
        TLSConfiguration(trust_store=only_other),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    assert isinstance(outcome.client_error, CertificateValidationError)


def _claims_ssl_cert_file(backend: tls_adapter.Backend) -> bool:
    """OpenSSL itself follows SSL_CERT_FILE; other libraries say so in their capabilities."""
    caps = backend.capabilities
    text = caps.system_trust
    denied = any(word in text for word in ("not consulted", "ignored", "ignores"))
    return caps.library.startswith("OpenSSL") or ("SSL_CERT_FILE" in text and not denied)


@pytest.mark.skipif(
    sys.platform in ("darwin", "win32"), reason="the OS verifier ignores SSL_CERT_FILE"
)
def test_system_trust_store_honours_ssl_cert_file(
    backend: tls_adapter.Backend,
    pki: PKI,
    other_ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TrustStore.system() (and the client default) loaded from a bundle named by
    SSL_CERT_FILE: required of backends whose capabilities say they follow it."""
    empty_dir = tmp_path / "empty-certs"
    empty_dir.mkdir()
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki.ca.cert_pem.bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(empty_dir))
    server_config = TLSConfiguration(certificate_chain=pki.server_chain)
    # Both the explicit system store and the client default (trust_store=None).
    for config in (TLSConfiguration(trust_store=TrustStore.system()), TLSConfiguration()):
        outcome = _serve_handshake(backend, config, server_config)
        if outcome.client_error is not None and not _claims_ssl_cert_file(backend):
            assert isinstance(outcome.client_error, CertificateValidationError), outcome
            pytest.skip(
                f"{backend.name} serves the system store as "
                f"{backend.capabilities.system_trust!r}, which does not follow SSL_CERT_FILE"
            )
        assert outcome.client_error is None and outcome.server_error is None, outcome

    # The same with a bundle that lacks the test CA: now it must fail.
    bundle.write_bytes(other_ca.cert_pem.bytes())
    outcome = _serve_handshake(backend, TLSConfiguration(), server_config)
    assert isinstance(outcome.client_error, CertificateValidationError)


def test_certifi_trust_store(backend: tls_adapter.Backend, pki: PKI) -> None:
    """certifi's Mozilla bundle loads, and of course does not trust the test CA."""
    outcome = _serve_handshake(
        backend,
        TLSConfiguration(trust_store=TrustStore.certifi()),
        TLSConfiguration(certificate_chain=pki.server_chain),
    )
    assert isinstance(outcome.client_error, CertificateValidationError)
    assert not outcome.client_done


def test_trust_store_is_loaded_at_context_build(
    backend: tls_adapter.Backend, pki: PKI, tmp_path: Path
) -> None:
    """Once the context exists, the bundle file may go away: it was loaded at build."""
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(pki.ca.cert_pem.bytes())
    context = backend.client_context(TLSConfiguration(trust_store=TrustStore.from_pem_file(bundle)))
    bundle.unlink()
    server_context = make_server_context(
        server_peer(backend), TLSConfiguration(certificate_chain=pki.server_chain)
    )
    for _ in range(2):  # and reused for every connection
        client, server = buffer_pair(context, server_context)
        outcome = drive_handshake(client, server)
        assert outcome.client_error is None and outcome.server_error is None


def test_trust_store_file_that_vanished_before_build(
    backend: tls_adapter.Backend, pki: PKI, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(pki.ca.cert_pem.bytes())
    store = TrustStore.from_pem_file(bundle)
    bundle.unlink()
    with pytest.raises((ConfigurationError, OSError)):
        backend.client_context(TLSConfiguration(trust_store=store))
