"""One x509-limbo case through one real TLS handshake, over in-memory buffers.

The peer is always the standard library's :mod:`ssl` (OpenSSL), a TLS stack this
project did not write: for a SERVER case it serves the case's chain and our backend's
client validates it; for a CLIENT case our backend's server demands a client
certificate and the stdlib client presents the case's chain. Both ends are sans-I/O
objects pumped by hand, so nothing touches the network.
"""

from __future__ import annotations

import abc
import datetime
import os
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import tls_adapter
from tls_adapter import (
    Certificate,
    PrivateKey,
    TLSConfiguration,
    TLSError,
    TLSWrappedBuffer,
    TrustStore,
    WantReadError,
)

from .cases import LimboCase

__all__ = [
    "ACCEPT",
    "ERROR",
    "NOT_RUNNABLE",
    "REJECT",
    "ClientCaseServer",
    "NotRunnableError",
    "Outcome",
    "make_client_case_server",
    "make_probe_case",
    "run_client_case",
    "run_server_case",
    "static_not_runnable",
    "stdlib_server_context",
]

ACCEPT = "ACCEPT"
REJECT = "REJECT"
NOT_RUNNABLE = "NOT_RUNNABLE"
#: Our backend raised something that is not a :class:`tls_adapter.TLSError` (an API bug),
#: or the harness could not tell who failed.
ERROR = "ERROR"

#: The stdlib peer accepts weak and odd certificates and keys: limbo's bad cases must
#: reach the code under test, not be refused by the harness's own server.
STDLIB_CIPHERS = "DEFAULT:@SECLEVEL=0"
_PING = b"x509-limbo ping"
_ROUNDS = 40
_OURS = "ours"


@dataclass(frozen=True)
class Outcome:
    """What one (backend, case) run came to: a verdict and, when useful, why."""

    verdict: str
    detail: str = ""


class NotRunnableError(Exception):
    """The case cannot be driven through a handshake here; the message says why."""


def static_not_runnable(case: LimboCase) -> str | None:
    """Why *case* can never run as a handshake (no key, no usable name), or ``None``."""
    if case.peer_certificate_key is None:
        return "no peer_certificate_key: the leaf cannot be presented in a handshake"
    if case.validation_kind == "SERVER":
        if case.peer_name_kind is None or not case.peer_name_value:
            return "no expected_peer_name: a TLS client always checks a server name"
        if case.peer_name_kind not in ("DNS", "IP"):
            return (
                f"expected_peer_name is {case.peer_name_kind}: a TLS client checks "
                "DNS names and IP addresses only"
            )
    elif case.validation_kind != "CLIENT":
        return f"unknown validation_kind {case.validation_kind!r}"
    return None


# --------------------------------------------------------------------------- the two ends


class _End(abc.ABC):
    """One end of an in-memory TLS connection, as the pump sees it."""

    label: str

    @abc.abstractmethod
    def handshake(self) -> bool:
        """Advance the handshake: ``True`` when complete, ``False`` when input is needed."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Queue application data."""

    @abc.abstractmethod
    def read(self) -> bytes | None:
        """Application data received so far, ``None`` when more input is needed."""

    @abc.abstractmethod
    def take_outgoing(self) -> bytes:
        """Every byte waiting to go to the peer (removed from the queue)."""

    @abc.abstractmethod
    def give_incoming(self, data: bytes) -> None:
        """Bytes that arrived from the peer."""


class _Ours(_End):
    """Our backend's :class:`tls_adapter.TLSWrappedBuffer`."""

    def __init__(self, buffer: TLSWrappedBuffer) -> None:
        """Wrap *buffer*."""
        self.label = _OURS
        self.buffer = buffer

    def handshake(self) -> bool:
        """``do_handshake``; ``WantReadError`` means not yet."""
        try:
            self.buffer.do_handshake()
        except WantReadError:
            return False
        return True

    def write(self, data: bytes) -> None:
        """``write``."""
        self.buffer.write(data)

    def read(self) -> bytes | None:
        """``read``; ``WantReadError`` becomes ``None``."""
        try:
            return self.buffer.read(65536)
        except WantReadError:
            return None

    def take_outgoing(self) -> bytes:
        """``peek_outgoing`` then ``consume_outgoing`` of everything buffered."""
        n = self.buffer.outgoing_bytes_buffered()
        if not n:
            return b""
        data = self.buffer.peek_outgoing(n)
        self.buffer.consume_outgoing(len(data))
        return data

    def give_incoming(self, data: bytes) -> None:
        """``receive_from_network``."""
        self.buffer.receive_from_network(data)


class _Stdlib(_End):
    """An :class:`ssl.SSLObject` over two :class:`ssl.MemoryBIO`."""

    def __init__(
        self, context: ssl.SSLContext, *, server_side: bool, server_hostname: str | None = None
    ) -> None:
        """Wrap fresh BIOs with *context*."""
        self.label = "stdlib server" if server_side else "stdlib client"
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = context.wrap_bio(
            self.incoming, self.outgoing, server_side=server_side, server_hostname=server_hostname
        )

    def handshake(self) -> bool:
        """``do_handshake``; ``SSLWantReadError`` means not yet."""
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True

    def write(self, data: bytes) -> None:
        """``write``."""
        self.obj.write(data)

    def read(self) -> bytes | None:
        """``read``; ``SSLWantReadError`` becomes ``None``."""
        try:
            return self.obj.read(65536)
        except ssl.SSLWantReadError:
            return None

    def take_outgoing(self) -> bytes:
        """Drain the outgoing BIO."""
        return self.outgoing.read()

    def give_incoming(self, data: bytes) -> None:
        """Feed the incoming BIO."""
        self.incoming.write(data)


class _Failed(Exception):
    """The connection failed; ``errors`` maps each end that raised to its exception."""

    def __init__(self, stage: str, errors: dict[str, BaseException], first: str) -> None:
        """Record what failed, where, and which end failed first."""
        super().__init__(stage)
        self.stage = stage
        self.errors = errors
        self.first = first


def _pump(src: _End, dst: _End, errors: dict[str, BaseException], order: list[str]) -> bool:
    """Move *src*'s output into *dst*; returns whether anything moved."""
    data = src.take_outgoing()
    if not data:
        return False
    try:
        dst.give_incoming(data)
    except Exception as e:
        if dst.label not in errors:
            errors[dst.label] = e
            order.append(dst.label)
    return True


def _handshake(client: _End, server: _End) -> None:
    """Drive both handshakes to completion; :class:`_Failed` when either end fails."""
    errors: dict[str, BaseException] = {}
    order: list[str] = []
    done = {client.label: False, server.label: False}
    for _ in range(_ROUNDS):
        moved = False
        for end, other in ((client, server), (server, client)):
            if not done[end.label] and end.label not in errors:
                try:
                    done[end.label] = end.handshake()
                except Exception as e:
                    errors[end.label] = e
                    order.append(end.label)
            moved = _pump(end, other, errors, order) or moved
        if errors and (len(errors) == 2 or not moved):
            raise _Failed("handshake", errors, order[0])
        if all(done.values()) and not moved:
            return
    raise _Failed("handshake", {"harness": RuntimeError("no progress")}, "harness")


def _deliver(src: _End, dst: _End, n: int) -> bytes:
    """Pump until *dst* has read *n* bytes that *src* wrote; :class:`_Failed` on error."""
    errors: dict[str, BaseException] = {}
    order: list[str] = []
    got = b""
    for _ in range(_ROUNDS):
        moved = _pump(src, dst, errors, order) | _pump(dst, src, errors, order)
        for end in (dst, src):
            if end.label in errors:
                continue
            try:
                chunk = end.read()
            except Exception as e:
                errors[end.label] = e
                order.append(end.label)
                continue
            if end is dst and chunk:
                got += chunk
            elif chunk == b"" and end is dst:
                errors[end.label] = EOFError("the peer closed the connection")
                order.append(end.label)
        if errors:
            raise _Failed("application data", errors, order[0])
        if len(got) >= n:
            return got
        if not moved:
            break
    raise _Failed("application data", {"harness": RuntimeError("no data arrived")}, "harness")


def _round_trip(client: _End, server: _End) -> None:
    """The client sends a few bytes, the server echoes them; both must arrive intact."""
    client.write(_PING)
    received = _deliver(client, server, len(_PING))
    server.write(received)
    echoed = _deliver(server, client, len(_PING))
    if echoed != _PING:
        raise _Failed(
            "application data", {"harness": RuntimeError(f"echo mismatch: {echoed!r}")}, "harness"
        )


def _describe(e: BaseException) -> str:
    """``Type: message`` on one line."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _connect(client: _End, server: _End) -> Outcome:
    """Handshake and one echo; the verdict is *our* end's (accept, reject or error)."""
    try:
        _handshake(client, server)
        _round_trip(client, server)
    except _Failed as failed:
        ours = failed.errors.get(_OURS)
        peer_notes = [
            f"{label} failed {'first' if label == failed.first else 'too'}: {_describe(e)}"
            for label, e in failed.errors.items()
            if label != _OURS
        ]
        if ours is None:
            return Outcome(ERROR, f"{failed.stage}: our end did not fail; " + "; ".join(peer_notes))
        detail = f"{failed.stage}: {_describe(ours)}"
        if peer_notes and failed.first != _OURS:
            detail += " (" + "; ".join(peer_notes) + ")"
        if isinstance(ours, TLSError):
            return Outcome(REJECT, detail)
        return Outcome(ERROR, detail)
    return Outcome(ACCEPT)


# --------------------------------------------------------------------------- key files


@contextmanager
def _private_files(chain_pem: bytes, key_pem: bytes) -> Iterator[tuple[str, str]]:
    """A chain file and a key file, readable by this user only, deleted on exit."""
    with tempfile.TemporaryDirectory(prefix="limbo-") as directory:
        paths = (os.path.join(directory, "chain.pem"), os.path.join(directory, "key.pem"))
        for path, data in zip(paths, (chain_pem, key_pem), strict=True):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        yield paths


def _load_chain(context: ssl.SSLContext, case: LimboCase) -> None:
    """Load *case*'s chain and key into a stdlib context, or raise :class:`NotRunnableError`."""
    assert case.peer_certificate_key is not None
    key_pem = case.peer_certificate_key.encode("ascii")
    with _private_files(case.chain_pem, key_pem) as (chain_path, key_path):
        try:
            context.load_cert_chain(chain_path, key_path)
        except (ssl.SSLError, ValueError, OSError) as e:
            raise NotRunnableError(
                f"the stdlib ssl peer cannot load the leaf and key: {_describe(e)}"
            ) from e


def _stdlib_context(protocol: int) -> ssl.SSLContext:
    """A stdlib context for TLS 1.2 and 1.3 that accepts weak certificates and keys."""
    context = ssl.SSLContext(protocol)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.set_ciphers(STDLIB_CIPHERS)
    return context


def stdlib_server_context(case: LimboCase) -> ssl.SSLContext:
    """The stdlib server for a SERVER case, presenting its chain with its leaf key."""
    context = _stdlib_context(ssl.PROTOCOL_TLS_SERVER)
    _load_chain(context, case)
    return context


# --------------------------------------------------------------------------- SERVER cases


def run_server_case(
    backend: tls_adapter.Backend, case: LimboCase, server: ssl.SSLContext
) -> Outcome:
    """Our backend's client, trusting exactly the case's roots, against the stdlib server."""
    assert case.peer_name_value is not None
    try:
        config = TLSConfiguration(trust_store=TrustStore.from_buffer(case.trusted_pem))
        context = backend.client_context(config)
        buffer = context.wrap_buffers(server_hostname=case.peer_name_value)
    except TLSError as e:
        return Outcome(REJECT, f"client context: {_describe(e)}")
    except (ValueError, TypeError) as e:
        return Outcome(NOT_RUNNABLE, f"client context refused its input: {_describe(e)}")
    return _connect(_Ours(buffer), _Stdlib(server, server_side=True))


# --------------------------------------------------------------------------- CLIENT cases


@dataclass(frozen=True)
class ClientCaseServer:
    """What our server presents in CLIENT cases, and the CA the stdlib client trusts."""

    chain: tuple[tuple[Certificate, ...], PrivateKey]
    ca_pem: str
    hostname: str


def make_client_case_server() -> ClientCaseServer:
    """A fresh trustme CA and a server certificate for ``localhost``."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost")
    certs = tuple(Certificate.from_buffer(p.bytes()) for p in leaf.cert_chain_pems)
    key = PrivateKey.from_buffer(leaf.private_key_pem.bytes())
    return ClientCaseServer((certs, key), ca.cert_pem.bytes().decode("ascii"), "localhost")


def client_case_blocker(backend: tls_adapter.Backend) -> str | None:
    """Why *backend* cannot verify client certificates, or ``None`` when it can."""
    caps = backend.capabilities
    if not caps.server_side or backend.server_context is None:
        return f"{backend.name} has no server side (capabilities.server_side=False)"
    if not caps.client_auth:
        return f"{backend.name} cannot verify client certificates (capabilities.client_auth=False)"
    return None


def stdlib_client_context(case: LimboCase, server: ClientCaseServer) -> ssl.SSLContext:
    """The stdlib client for a CLIENT case: presents the case's chain, trusts our server."""
    context = _stdlib_context(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=server.ca_pem)
    _load_chain(context, case)
    return context


def run_client_case(
    backend: tls_adapter.Backend,
    case: LimboCase,
    client: ssl.SSLContext,
    server: ClientCaseServer,
) -> Outcome:
    """Our backend's server, requiring a client certificate from the case's roots."""
    blocker = client_case_blocker(backend)
    if blocker is not None:
        return Outcome(NOT_RUNNABLE, blocker)
    assert backend.server_context is not None
    try:
        config = TLSConfiguration(
            certificate_chain=server.chain,
            trust_store=TrustStore.from_buffer(case.trusted_pem),
        )
        buffer = backend.server_context(config).wrap_buffers()
    except TLSError as e:
        return Outcome(REJECT, f"server context: {_describe(e)}")
    except (ValueError, TypeError) as e:
        return Outcome(NOT_RUNNABLE, f"server context refused its input: {_describe(e)}")
    stdlib = _Stdlib(client, server_side=False, server_hostname=server.hostname)
    return _connect(stdlib, _Ours(buffer))


# --------------------------------------------------------------------------- faked time


def make_probe_case(at: datetime.datetime) -> LimboCase:
    """A SERVER case whose root and leaf are valid only within a day around *at*.

    A backend that accepts it while the clock is faked to *at*, and rejects it at the
    real time, reads the clock that ``faketime`` fakes.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    not_before = max(at - datetime.timedelta(days=1), epoch)
    not_after = at + datetime.timedelta(days=1)
    hostname = "probe.limbo.test"

    def build(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: str,
        signer: ec.EllipticCurvePrivateKey,
    ) -> x509.Certificate:
        """One certificate; a CA when it is self-issued."""
        is_ca = subject == issuer
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
            )
        )
        if is_ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(hostname)]), False
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    ca = build("limbo faketime probe CA", ca_key, "limbo faketime probe CA", ca_key)
    leaf = build(hostname, leaf_key, "limbo faketime probe CA", ca_key)
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return LimboCase(
        id="harness::faketime-probe",
        description="harness probe: valid only around the faked time",
        features=(),
        validation_kind="SERVER",
        trusted_certs=(ca.public_bytes(pem).decode("ascii"),),
        untrusted_intermediates=(),
        peer_certificate=leaf.public_bytes(pem).decode("ascii"),
        peer_certificate_key=key_pem.decode("ascii"),
        validation_time=at,
        expected_result="SUCCESS",
        peer_name_kind="DNS",
        peer_name_value=hostname,
    )
