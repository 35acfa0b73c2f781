"""What is measured: the scenarios, and timed slices of one configuration.

For each scenario every configuration is prepared first (client built, connection
warmed up; untimed), then the rounds run: in each round every configuration gets one
slice of the round's duration, in turn (A B C ... A B C ...). A slice repeats the
scenario's operation and returns a rate. Rates are always "more is better" (requests/s,
MB/s, creations/s, handshakes/s), so every ratio against a baseline reads the same
way: above 1 is faster.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._clients import BASELINE, Config, Stream, build_client, create_once
from ._env import Nginx, PKIFiles

__all__ = [
    "BUFFER_BASELINE",
    "RESUMPTION_CHECKS",
    "THREADS",
    "NotApplicable",
    "ResumptionNotConfirmed",
    "Runner",
    "Sample",
    "Scenario",
    "Setting",
    "ThreadTeam",
    "buffer_configs",
    "prepare",
    "resumption_scenarios",
    "reuse_flags",
    "run_pair",
    "run_scaling_pair",
    "scenarios",
    "timed_loop",
    "tls_for",
]

#: The buffer-API baseline: the stdlib's ``ssl.SSLObject`` over ``ssl.MemoryBIO``.
BUFFER_BASELINE = "stdlib-sslobject"
_MB = 1_000_000
_BUFFER_CHUNK = 64 * 1024
#: The thread count of the concurrency scenario.
THREADS = 8


@dataclass(frozen=True)
class Scenario:
    """One row group of the report: an operation, its unit and the configurations timed."""

    key: str
    title: str
    unit: str
    baseline: str
    description: str
    configs: tuple[str, ...]
    #: ``"http"``, ``"create"``, ``"threads"`` or ``"buffer"``.
    family: str
    #: Scenario parameters (TLS version, read size, threads).
    params: dict[str, Any] = field(default_factory=dict)
    #: A slice lasts this many times the round duration (threads need longer slices).
    slice_factor: float = 1.0
    #: This scenario runs this share of the rounds (at least 2).
    rounds_factor: float = 1.0


@dataclass
class Setting:
    """What preparing a configuration needs besides the configuration."""

    pki: PKIFiles
    nginx: Nginx
    configs: dict[str, Config]


def buffer_configs(backends: tuple[str, ...]) -> tuple[str, ...]:
    """The buffer-API rows: the stdlib reference, then one per backend."""
    return (BUFFER_BASELINE, *(f"buffer-{b}" for b in backends))


def scenarios(configs: list[Config], backends: tuple[str, ...]) -> list[Scenario]:
    """Every scenario with the configurations it runs on."""
    every = tuple(c.key for c in configs)
    # Keep-alive and bulk never handshake inside the timed part: the trust store cannot
    # matter, so only the PEM-file rows of tls_adapter run them.
    no_handshake = tuple(c.key for c in configs if c.kind == "peer" or c.trust == "pem")
    # The transport rows (a requests adapter's send() without a Session) answer where
    # per-request time goes; they take no part in downloads, creation or threads.
    bulk = tuple(k for k in no_handshake if not k.startswith("transport-"))
    creatable = tuple(k for k in every if not k.startswith("transport-"))
    threaded = tuple(
        c.key
        for c in configs
        if c.key in (BASELINE, "requests-stdlib")
        or (c.kind == "adapter" and c.trust == "pem")
        or c.key == "shim-openssl-pem"
    )
    out = [
        Scenario(
            f"new_tls{v.replace('.', '')}",
            f"New TLS {v} connection per request",
            "req/s",
            BASELINE,
            "GET /small (100 bytes) with `Connection: close`: nginx closes after each "
            "response, so every request opens a new TCP + TLS connection (full handshakes: "
            "resumption off, as tls_adapter's configurations are built with "
            "`session_resumption` off and nginx has session tickets and its cache off on "
            "this port). The client object (one PoolManager / one Session) is reused: "
            "for requests this is the `requests.get`-style pattern of one request per "
            "connection, minus the new Session that `requests.get()` itself builds per "
            "call. The `transport-*` rows send one prepared request through the "
            "adapter's `send()` (what a Session calls), without the Session's own "
            "per-request work (preparing, merging environment settings, cookies, hooks).",
            every,
            "http",
            {"tls": v, "close": True},
        )
        for v in ("1.3", "1.2")
    ]
    out.append(
        Scenario(
            "keepalive",
            "Small requests on one kept-alive connection (TLS 1.3)",
            "req/s",
            BASELINE,
            "GET /small over one connection opened before timing starts.",
            no_handshake,
            "http",
            {"tls": "1.3", "close": False},
        )
    )
    for size, how in ((64, "64 KiB"), (8, "8 KiB")):
        out.append(
            Scenario(
                f"bulk_{size}k",
                f"Bulk download of the 64 MiB file, {how} reads (TLS 1.3)",
                "MB/s",
                BASELINE,
                f"Stream /big (64 MiB) on a kept-alive connection, {how} at a time: "
                f"urllib3 `response.read({size * 1024})`, requests "
                f"`response.iter_content({size * 1024})`. MB = 10^6 bytes.",
                bulk,
                "bulk",
                {"tls": "1.3", "chunk": size * 1024},
            )
        )
    out.append(
        Scenario(
            "create",
            "Context / adapter creation (cold)",
            "creations/s",
            BASELINE,
            "Everything built before the first handshake, with the trust store loaded. "
            "tls_adapter's shared backend-context cache is emptied each time. For the "
            "peers that build a context per connection, this is the cost they pay again "
            "on every new connection.",
            creatable,
            "create",
        )
    )
    out.append(
        Scenario(
            "threads",
            f"1 and {THREADS} threads sharing one client, new connections (TLS 1.3)",
            "req/s",
            BASELINE,
            f"1 or {THREADS} threads share one PoolManager / Session and do new-connection "
            "requests (full handshakes: resumption off); aggregate requests/s. The "
            "threads are started once per configuration and kept, like an application's "
            "thread pool, and each does a few untimed requests first (wolfSSL, for one, "
            "builds per-thread ECC tables during a thread's first handshakes). Each "
            "configuration runs with 1 thread and "
            f"then {THREADS} threads back to back in every round, so the scaling "
            f"({THREADS} threads / 1 thread) is a ratio of neighbouring slices.",
            tuple(f"{key}@{n}" for key in threaded for n in (1, THREADS)),
            "threads",
            {"tls": "1.3"},
            slice_factor=4.0,
            rounds_factor=1 / 3,
        )
    )
    rows = buffer_configs(backends)
    out.append(
        Scenario(
            "buffer_handshake",
            "Buffer API: in-memory handshakes (client + server, TLS 1.3)",
            "handshakes/s",
            BUFFER_BASELINE,
            "A client and a server of the same backend wrap_buffers() in one process and "
            "run a full handshake (the client validates the server's certificate against "
            "the PEM bundle); both sides' CPU time is counted.",
            rows,
            "buffer",
            {"what": "handshake"},
        )
    )
    out.append(
        Scenario(
            "buffer_bulk",
            "Buffer API: in-memory bulk transfer (TLS 1.3)",
            "MB/s",
            BUFFER_BASELINE,
            "Client write() 64 KiB, ciphertext moved to the server, server read(); "
            "encryption and decryption both counted.",
            rows,
            "buffer",
            {"what": "bulk"},
        )
    )
    return out


def resumption_scenarios() -> list[Scenario]:
    """The session-resumption pairs' scenarios (issue 17): new connections to the nginx
    ports with session tickets on. Measured only as A B B A pairs, never round-robin."""
    return [
        Scenario(
            f"resume_tls{v.replace('.', '')}",
            f"New TLS {v} connection per request, session tickets on",
            "req/s",
            BASELINE,
            "GET /small (100 bytes) with `Connection: close` to an nginx port with session "
            "tickets on (nginx's defaults): every request opens a new TCP + TLS "
            "connection. A client that offers the ticket of its previous connection "
            "resumes; one that does not makes a full handshake.",
            (),
            "http",
            {"tls": v, "close": True, "tickets": True},
        )
        for v in ("1.3", "1.2")
    ]


# -- timing -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One measurement: work per wall-clock second and per CPU second of this process."""

    #: Operations (or MB) per wall-clock second: what the scenario's unit says.
    rate: float
    #: The same per CPU second used by this process (all its threads).
    cpu_rate: float


class _Clock:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def sample(self, work: float, wall: float | None = None) -> Sample:
        if wall is None:
            wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        return Sample(work / wall, work / cpu if cpu > 0 else float("nan"))


def timed_loop(op: Callable[[], object], duration: float) -> Sample:
    """Run *op* for *duration* seconds (at least once); operations per second.

    The operation that crosses the deadline is counted, with its own end time.
    """
    ops = 0
    clock = _Clock()
    deadline = clock.wall + duration
    while True:
        op()
        ops += 1
        if time.perf_counter() >= deadline:
            return clock.sample(ops)


class NotApplicable(Exception):
    """This configuration cannot run this scenario (the reason is the message)."""


class Runner:
    """A configuration prepared for one scenario; :meth:`run` is one timed slice.

    What it needs (a client with its pool, a connection, a half-read download) is
    built once and kept between slices, so a slice measures the operation only.
    """

    #: Said next to the result (e.g. a TLS version fallback).
    note = ""

    def run(self, duration: float) -> Sample:
        """Repeat the operation for about *duration* seconds."""
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        """What the runner observed besides rates (e.g. resumed connections), for JSON."""
        return {}

    def close(self) -> None:
        """Release connections."""


def tls_for(scenario: Scenario, config: Config) -> tuple[str, str]:
    """The TLS version *config* runs *scenario* with, and a note if it is not the usual.

    :raises NotApplicable: *scenario* is the TLS 1.3 handshake and the backend has none.
    """
    wanted = str(scenario.params["tls"])
    if config.backend is None or wanted != "1.3":
        return wanted, ""
    from tls_adapter import TLSVersion, get_backend

    if TLSVersion.TLSv1_3 in get_backend(config.backend).capabilities.tls_versions:
        return wanted, ""
    if scenario.key in ("new_tls13", "resume_tls13"):
        raise NotApplicable(f"the {config.backend} backend has no TLS 1.3")
    return "1.2", f"TLS 1.2: the {config.backend} backend has no TLS 1.3"


class _HTTPRunner(Runner):
    def __init__(self, scenario: Scenario, config: Config, setting: Setting) -> None:
        tls, self.note = tls_for(scenario, config)
        self.url = setting.nginx.url("/small", tls)
        self.close_each = bool(scenario.params["close"])
        self.client = build_client(config, setting.pki)
        with self.client.active():
            self.client.small(self.url, close=self.close_each)

    def run(self, duration: float) -> Sample:
        with self.client.active():
            return timed_loop(lambda: self.client.small(self.url, close=self.close_each), duration)

    def close(self) -> None:
        self.client.close()


class ResumptionNotConfirmed(RuntimeError):
    """A session-resumption pair's side did not do what it stands for: the resuming
    client made full handshakes, or the full-handshake one resumed."""


#: Connections checked, after the first one, when a resumption pair's side is prepared.
RESUMPTION_CHECKS = 3


def reuse_flags(heads: list[Mapping[str, str]]) -> str:
    """nginx's ``$ssl_session_reused`` of each response (``r`` resumed, ``.`` not), and
    ``!`` for a response that came on a connection seen before."""
    seen: set[str] = set()
    flags = []
    for h in heads:
        conn = h["X-Conn"]
        flags.append("!" if conn in seen or h["X-Conn-Requests"] != "1" else h["X-Reused"])
        seen.add(conn)
    return "".join(flags)


class _ResumptionRunner(_HTTPRunner):
    """New connections to a port with session tickets on, counting the resumed ones.

    Prepared, it has made one connection (which leaves a ticket) and then
    :data:`RESUMPTION_CHECKS` more, each of which must resume when the configuration
    resumes (``Config.resume``) and must not otherwise: :class:`ResumptionNotConfirmed`.
    In the timed slices it counts, from nginx's ``X-Reused``, how many connections
    resumed (both sides of a pair pay for that header lookup).
    """

    def __init__(self, scenario: Scenario, config: Config, setting: Setting) -> None:
        tls, self.note = tls_for(scenario, config)
        self.url = setting.nginx.url("/small", tls, tickets=True)
        self.close_each = True
        self.client = build_client(config, setting.pki)
        self.connections = 0
        self.resumed = 0
        with self.client.active():
            heads = [self.client.small(self.url, close=True)]
            heads += [self.client.small(self.url, close=True) for _ in range(RESUMPTION_CHECKS)]
        self.setup = reuse_flags(heads)
        # The first connection has nothing to offer; every later one offers its
        # predecessor's ticket if the client resumes at all.
        want = "." + ("r" if config.resume else ".") * RESUMPTION_CHECKS
        if self.setup != want:
            self.client.close()
            raise ResumptionNotConfirmed(
                f"{config.key}, TLS {tls}: nginx's $ssl_session_reused over "
                f"{len(heads)} new connections was {self.setup!r}, not {want!r} "
                "('r' resumed, '.' full handshake, '!' not a new connection)"
            )

    def _op(self) -> None:
        heads = self.client.small(self.url, close=True)
        self.connections += 1
        if heads.get("X-Reused") == "r":
            self.resumed += 1

    def run(self, duration: float) -> Sample:
        with self.client.active():
            return timed_loop(self._op, duration)

    def stats(self) -> dict[str, Any]:
        return {"setup": self.setup, "connections": self.connections, "resumed": self.resumed}


class _BulkRunner(Runner):
    def __init__(self, scenario: Scenario, config: Config, setting: Setting) -> None:
        tls, self.note = tls_for(scenario, config)
        self.url = setting.nginx.url("/big", tls)
        self.chunk = int(scenario.params["chunk"])
        self.client = build_client(config, setting.pki)
        self.stream: Stream | None = None
        with self.client.active():
            self.client.small(setting.nginx.url("/small", tls), close=False)

    def run(self, duration: float) -> Sample:
        got = 0
        with self.client.active():
            clock = _Clock()
            deadline = clock.wall + duration
            while True:
                if self.stream is None:
                    self.stream = self.client.stream(self.url, self.chunk)
                for data in self.stream.chunks:
                    got += len(data)
                    if time.perf_counter() >= deadline:
                        return clock.sample(got / _MB)
                self.stream.finish()
                self.stream = None
                if time.perf_counter() >= deadline:
                    return clock.sample(got / _MB)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.abort()
        self.client.close()


class _CreateRunner(Runner):
    def __init__(self, config: Config, setting: Setting) -> None:
        self.config = config
        self.pki = setting.pki

    def run(self, duration: float) -> Sample:
        return timed_loop(lambda: create_once(self.config, self.pki), duration)


class ThreadTeam:
    """*threads* long-lived threads sharing one client, timed together slice by slice.

    The threads are started once and kept between slices, like an application's thread
    pool: a library whose threads pay a one-off cost (wolfSSL builds per-thread ECC
    tables during a thread's first handshakes) is measured warm, as it would run.
    In a slice the threads start together (a barrier); each stops after the operation
    that crosses the deadline, its rate is its operations over its own elapsed time,
    and the slice's rate is their sum.
    """

    def __init__(self, op: Callable[[], object], threads: int, warm_ops: int = 3) -> None:
        self._op = op
        self._threads = threads
        self._go = threading.Barrier(threads + 1)
        self._done = threading.Barrier(threads + 1)
        self._duration = 0.0
        self._min_ops = 1
        self._begin: _Clock | None = None
        self._results: list[tuple[int, float]] = []
        self._errors: list[BaseException] = []
        self._closing = False
        self._lock = threading.Lock()
        self._pool = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]
        for t in self._pool:
            t.start()
        self._slice(0.0, warm_ops)  # untimed: every thread warms up

    def _work(self) -> None:
        while True:
            self._go.wait()
            if self._closing:
                return
            assert self._begin is not None
            begin = self._begin.wall
            end = begin + self._duration
            ops = 0
            try:
                while True:
                    self._op()
                    ops += 1
                    now = time.perf_counter()
                    if now >= end and ops >= self._min_ops:
                        with self._lock:
                            self._results.append((ops, now - begin))
                        break
            except BaseException as e:  # re-raised by run()
                with self._lock:
                    self._errors.append(e)
            self._done.wait()

    def _slice(self, duration: float, min_ops: int) -> Sample:
        self._duration, self._min_ops = duration, min_ops
        self._results, self._errors = [], []
        self._begin = _Clock()
        self._go.wait()
        self._done.wait()
        if self._errors:
            raise self._errors[0]
        cpu = time.process_time() - self._begin.cpu
        rate = sum(ops / elapsed for ops, elapsed in self._results)
        wall = max(elapsed for _, elapsed in self._results)
        return Sample(rate, rate * wall / cpu if cpu > 0 else float("nan"))

    def run(self, duration: float) -> Sample:
        """One timed slice: aggregate operations per second of all the threads."""
        return self._slice(duration, 1)

    def close(self) -> None:
        """Stop the threads."""
        self._closing = True
        self._go.wait()
        for t in self._pool:
            t.join()


class _ThreadsRunner(Runner):
    def __init__(self, scenario: Scenario, config: Config, threads: int, setting: Setting) -> None:
        tls, self.note = tls_for(scenario, config)
        self.url = setting.nginx.url("/small", tls)
        self.client = build_client(config, setting.pki, pool_size=threads)
        with self.client.active():
            self.client.small(self.url, close=True)
            self.team = ThreadTeam(lambda: self.client.small(self.url, close=True), threads)

    def run(self, duration: float) -> Sample:
        with self.client.active():
            return self.team.run(duration)

    def close(self) -> None:
        self.team.close()
        self.client.close()


# -- the buffer API -----------------------------------------------------------------------
class _Side:
    """One end of an in-memory TLS connection, whatever the implementation."""

    def handshake(self) -> bool:
        """Advance the handshake; ``True`` once it is complete."""
        raise NotImplementedError

    def take_outgoing(self) -> bytes:
        """Everything waiting to be sent (removed)."""
        raise NotImplementedError

    def feed(self, data: bytes) -> None:
        """Ciphertext from the peer."""
        raise NotImplementedError

    def write(self, data: bytes) -> int:
        """Encrypt *data*; how much was taken."""
        raise NotImplementedError

    def read(self, amt: int) -> bytes:
        """Decrypted data, ``b""`` when none is available."""
        raise NotImplementedError


class _OurSide(_Side):
    def __init__(self, buffer: Any) -> None:
        from tls_adapter import WantReadError

        self.b = buffer
        self.want_read = WantReadError

    def handshake(self) -> bool:
        try:
            self.b.do_handshake()
        except self.want_read:
            return False
        return True

    def take_outgoing(self) -> bytes:
        n = self.b.outgoing_bytes_buffered()
        if not n:
            return b""
        data: bytes = self.b.peek_outgoing(n)
        self.b.consume_outgoing(n)
        return data

    def feed(self, data: bytes) -> None:
        self.b.receive_from_network(data)

    def write(self, data: bytes) -> int:
        n: int = self.b.write(data)
        return n

    def read(self, amt: int) -> bytes:
        try:
            data: bytes = self.b.read(amt)
        except self.want_read:
            return b""
        return data


class _StdlibSide(_Side):
    def __init__(self, ctx: ssl.SSLContext, server_side: bool) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(
            self.incoming,
            self.outgoing,
            server_side=server_side,
            server_hostname=None if server_side else "localhost",
        )

    def handshake(self) -> bool:
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True

    def take_outgoing(self) -> bytes:
        return self.outgoing.read()

    def feed(self, data: bytes) -> None:
        self.incoming.write(data)

    def write(self, data: bytes) -> int:
        return self.obj.write(data)

    def read(self, amt: int) -> bytes:
        try:
            return self.obj.read(amt)
        except ssl.SSLWantReadError:
            return b""


def _pair_factory(row: str, pki: PKIFiles) -> Callable[[], tuple[_Side, _Side]]:
    """A function making a fresh (client, server) pair for buffer row *row*."""
    if row == BUFFER_BASELINE:
        client_ctx = ssl.create_default_context(cafile=pki.bundle)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(pki.server_chain, pki.server_key)
        return lambda: (_StdlibSide(client_ctx, False), _StdlibSide(server_ctx, True))
    from tls_adapter import Certificate, PrivateKey, TLSConfiguration, TrustStore, get_backend

    backend = get_backend(row.removeprefix("buffer-"))
    client = backend.client_context(
        TLSConfiguration(trust_store=TrustStore.from_pem_file(pki.bundle))
    )
    server_backend = backend if backend.server_context is not None else get_backend("openssl")
    assert server_backend.server_context is not None
    chain = (Certificate.chain_from_file(pki.server_chain), PrivateKey.from_file(pki.server_key))
    server = server_backend.server_context(TLSConfiguration(certificate_chain=chain))
    return lambda: (_OurSide(client.wrap_buffers("localhost")), _OurSide(server.wrap_buffers()))


def _handshake(client: _Side, server: _Side) -> None:
    done_c = done_s = False
    for _ in range(20):
        if not done_c:
            done_c = client.handshake()
        data = client.take_outgoing()
        if data:
            server.feed(data)
        if not done_s:
            done_s = server.handshake()
        data = server.take_outgoing()
        if data:
            client.feed(data)
        if done_c and done_s and not data:
            return
    raise RuntimeError("the in-memory handshake did not complete")


def _transfer(client: _Side, server: _Side, block: bytes) -> int:
    sent = 0
    while sent < len(block):
        sent += client.write(block[sent:])
        server.feed(client.take_outgoing())
    got = 0
    while got < len(block):
        data = server.read(_BUFFER_CHUNK)
        if not data:
            raise RuntimeError("the in-memory transfer lost data")
        got += len(data)
    return got


class _BufferHandshakeRunner(Runner):
    def __init__(self, row: str, setting: Setting) -> None:
        self.make = _pair_factory(row, setting.pki)
        self.handshake()

    def handshake(self) -> None:
        client, server = self.make()
        _handshake(client, server)

    def run(self, duration: float) -> Sample:
        return timed_loop(self.handshake, duration)


class _BufferBulkRunner(Runner):
    def __init__(self, row: str, setting: Setting) -> None:
        self.client, self.server = _pair_factory(row, setting.pki)()
        _handshake(self.client, self.server)
        self.block = bytes(_BUFFER_CHUNK)
        _transfer(self.client, self.server, self.block)

    def run(self, duration: float) -> Sample:
        chunks = timed_loop(lambda: _transfer(self.client, self.server, self.block), duration)
        scale = _BUFFER_CHUNK / _MB
        return Sample(chunks.rate * scale, chunks.cpu_rate * scale)


def prepare(scenario: Scenario, row: str, setting: Setting) -> Runner:
    """*row* ready to run *scenario* (untimed: clients built, connections warmed up).

    :raises NotApplicable: the configuration cannot run this scenario.
    """
    if scenario.family == "buffer":
        if scenario.params["what"] == "handshake":
            return _BufferHandshakeRunner(row, setting)
        return _BufferBulkRunner(row, setting)
    if scenario.family == "threads":
        key, _, threads = row.partition("@")
        return _ThreadsRunner(scenario, setting.configs[key], int(threads), setting)
    config = setting.configs[row]
    if scenario.family == "http":
        if scenario.params.get("tickets"):
            return _ResumptionRunner(scenario, config, setting)
        return _HTTPRunner(scenario, config, setting)
    if scenario.family == "bulk":
        return _BulkRunner(scenario, config, setting)
    if scenario.family == "create":
        return _CreateRunner(config, setting)
    raise ValueError(scenario.family)


def run_pair(
    subject: Runner, comparator: Runner, rounds: int, duration: float
) -> tuple[list[list[float]], list[list[float]]]:
    """Per-round ``[rate, cpu_rate]`` of two runners alternating A B B A.

    Each round runs the subject, the comparator, the comparator again and the subject
    again, one *duration* slice each, and averages each side's two slices. The two sides
    of a round are thus measured in the same fraction of a second, and a load that rises
    or falls steadily across the round affects both equally; what remains of a shared,
    noisy machine is far smaller than between slices seconds apart.
    """
    mine: list[list[float]] = []
    theirs: list[list[float]] = []
    for _ in range(rounds):
        a1 = subject.run(duration)
        b1 = comparator.run(duration)
        b2 = comparator.run(duration)
        a2 = subject.run(duration)
        mine.append([(a1.rate + a2.rate) / 2, (a1.cpu_rate + a2.cpu_rate) / 2])
        theirs.append([(b1.rate + b2.rate) / 2, (b1.cpu_rate + b2.cpu_rate) / 2])
    return mine, theirs


def run_scaling_pair(
    subject: tuple[Runner, Runner], comparator: tuple[Runner, Runner], rounds: int, duration: float
) -> tuple[list[float], list[float]]:
    """Per-round scalings (many threads / one thread) of two ``(one, many)`` runner pairs.

    Each round runs subject-1, subject-N, comparator-N, comparator-1, then the same in
    reverse (A B B A at the level of whole configurations), so both scalings of a round
    come from the same second or two of a shared machine.
    """
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        a1 = subject[0].run(duration).rate
        an = subject[1].run(duration).rate
        bn = comparator[1].run(duration).rate
        b1 = comparator[0].run(duration).rate
        b1 += comparator[0].run(duration).rate
        bn += comparator[1].run(duration).rate
        an += subject[1].run(duration).rate
        a1 += subject[0].run(duration).rate
        mine.append(an / a1)
        theirs.append(bn / b1)
    return mine, theirs
