"""Run x509-limbo cases for every backend: in this process, or under ``faketime``.

Cases without a ``validation_time`` run here. Cases with one are grouped by that time,
and each group runs in a child process (``python -m tools.limbo --worker``) started by
Debian's ``faketime`` with the wall clock frozen at the group's time. Whether a backend
reads the clock ``faketime`` fakes is probed, not assumed: a certificate valid only
around the faked time must be rejected at the real time and accepted under the faked
one, or that backend's timed cases are reported as not runnable.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tls_adapter

from .cases import REPO_ROOT, LimboCase
from .handshake import (
    ACCEPT,
    ERROR,
    NOT_RUNNABLE,
    REJECT,
    ClientCaseServer,
    NotRunnableError,
    Outcome,
    make_client_case_server,
    make_probe_case,
    run_client_case,
    run_server_case,
    static_not_runnable,
    stdlib_client_context,
    stdlib_server_context,
)

__all__ = [
    "CONTROL_TIME",
    "CaseResult",
    "RunOutput",
    "faketime_spec",
    "run",
    "run_in_process",
    "worker",
]

#: The control probe's certificate is valid only around this time, long gone: a backend
#: must reject it at the real time, or accepting it under faketime proves nothing.
CONTROL_TIME = datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)
#: How long one faketime child may take before it is given up.
WORKER_TIMEOUT = 120.0
#: Children running at once (the machine has two cores, shared).
PARALLEL_WORKERS = 2

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CaseResult:
    """The verdict of one backend on one case."""

    backend: str
    case_id: str
    verdict: str
    detail: str = ""


@dataclass
class RunOutput:
    """Everything a run produced."""

    results: list[CaseResult]
    #: backend -> how faketime worked for it ("honoured ..." or why not).
    faketime: dict[str, str] = field(default_factory=dict)
    #: Seconds the run took.
    duration: float = 0.0


def _quiet(_: str) -> None:
    """A progress callback that prints nothing."""


def _safe(func: Callable[[], Outcome]) -> Outcome:
    """*func*'s outcome; a harness or backend crash becomes an ERROR outcome."""
    try:
        return func()
    except Exception as e:
        return Outcome(ERROR, f"harness: {type(e).__name__}: {e}")


def run_in_process(
    cases: Sequence[LimboCase],
    backends: Sequence[str],
    *,
    client_server: ClientCaseServer | None = None,
) -> list[CaseResult]:
    """Run *cases* here, at the current (possibly faked) time, for every backend.

    The stdlib peer context is built once per case; each backend's context once per
    (backend, case).
    """
    loaded = [tls_adapter.get_backend(name) for name in backends]
    results: list[CaseResult] = []
    for case in cases:

        def all_backends(verdict: str, detail: str, case: LimboCase = case) -> None:
            """The same outcome for every backend."""
            results.extend(CaseResult(b.name, case.id, verdict, detail) for b in loaded)

        reason = static_not_runnable(case)
        if reason is not None:
            all_backends(NOT_RUNNABLE, reason)
            continue
        try:
            if case.validation_kind == "SERVER":
                server = stdlib_server_context(case)
                for backend in loaded:
                    outcome = _safe(functools.partial(run_server_case, backend, case, server))
                    results.append(CaseResult(backend.name, case.id, *_fields(outcome)))
            else:
                if client_server is None:
                    client_server = make_client_case_server()
                cs = client_server
                client = stdlib_client_context(case, cs)
                for backend in loaded:
                    outcome = _safe(functools.partial(run_client_case, backend, case, client, cs))
                    results.append(CaseResult(backend.name, case.id, *_fields(outcome)))
        except NotRunnableError as e:
            all_backends(NOT_RUNNABLE, str(e))
        except (ssl.SSLError, ValueError, OSError) as e:
            all_backends(NOT_RUNNABLE, f"the stdlib ssl peer could not be set up: {e}")
    return results


def _fields(outcome: Outcome) -> tuple[str, str]:
    """``(verdict, detail)`` of *outcome*."""
    return outcome.verdict, outcome.detail


# --------------------------------------------------------------------------- faketime


def faketime_spec(at: datetime.datetime) -> str:
    """*at* as libfaketime's absolute (frozen) timestamp, in UTC, with microseconds if any."""
    utc = at.astimezone(datetime.timezone.utc)
    spec = utc.strftime("%Y-%m-%d %H:%M:%S")
    if utc.microsecond:
        spec += f".{utc.microsecond:06d}"
    return spec


def _probe(backend: str, at: datetime.datetime) -> Outcome:
    """The faketime probe for *backend*: a certificate valid only around *at*."""
    case = make_probe_case(at)
    server = stdlib_server_context(case)
    return _safe(lambda: run_server_case(tls_adapter.get_backend(backend), case, server))


def worker(
    cases: Sequence[LimboCase], backends: Sequence[str], at: datetime.datetime
) -> dict[str, Any]:
    """The child's job: probe each backend at the faked time *at*, then run *cases*.

    Returns ``{"clock": ..., "probe": {backend: [verdict, detail]}, "results": [...]}``.
    """
    clock = time.time()
    skew = abs(clock - at.timestamp())
    probes: dict[str, tuple[str, str]] = {}
    honoured: list[str] = []
    results: list[CaseResult] = []
    if skew > 60:
        reason = f"faketime had no effect: the clock read {clock:.0f}, not {at.timestamp():.0f}"
        for name in backends:
            probes[name] = (NOT_RUNNABLE, reason)
    else:
        for name in backends:
            outcome = _probe(name, at)
            probes[name] = _fields(outcome)
            if outcome.verdict == ACCEPT:
                honoured.append(name)
        results = run_in_process(cases, honoured)
    for name in backends:
        if name in honoured:
            continue
        verdict, detail = probes[name]
        reason = (
            f"{name} does not honour faketime: the probe certificate valid only around "
            f"{faketime_spec(at)} UTC was {verdict} with the clock faked to that time"
            + (f" ({detail})" if detail else "")
        )
        results.extend(CaseResult(name, case.id, NOT_RUNNABLE, reason) for case in cases)
    return {
        "clock": clock,
        "probe": {name: list(p) for name, p in probes.items()},
        "results": [asdict(r) for r in results],
    }


def _spawn(
    faketime: str,
    limbo: Path,
    at: datetime.datetime,
    cases: Sequence[LimboCase],
    backends: Sequence[str],
) -> dict[str, Any]:
    """Run one faketime child and return its parsed JSON answer."""
    command = [
        faketime,
        "--exclude-monotonic",  # only the wall clock is frozen; timeouts still work
        "-f",
        faketime_spec(at),
        sys.executable,
        "-m",
        "tools.limbo",
        "--worker",
        "--limbo",
        str(limbo),
        "--at",
        at.isoformat(),
        "--backends",
        ",".join(backends),
    ]
    for case in cases:
        command += ["--case", case.id]
    # ``-m`` from the checkout imports this package (and tls_adapter) as the parent did.
    env = dict(os.environ, TZ="UTC")
    proc = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"the faketime child exited with {proc.returncode}: {tail}")
    answer: dict[str, Any] = json.loads(proc.stdout)
    return answer


def _group_by_time(cases: Iterable[LimboCase]) -> dict[datetime.datetime, list[LimboCase]]:
    """Cases keyed by their ``validation_time``, earliest first."""
    groups: dict[datetime.datetime, list[LimboCase]] = {}
    for case in cases:
        assert case.validation_time is not None
        groups.setdefault(case.validation_time, []).append(case)
    return dict(sorted(groups.items()))


def run(
    cases: Sequence[LimboCase],
    backends: Sequence[str],
    *,
    limbo: Path,
    progress: Progress = _quiet,
) -> RunOutput:
    """Run every case for every backend; timed cases under ``faketime`` in children.

    *limbo* is the file the cases came from (the children read it again).
    """
    started = time.monotonic()
    now_cases = [c for c in cases if c.validation_time is None]
    timed = [c for c in cases if c.validation_time is not None]
    # Cases that can never run need no child process.
    timed_runnable = [c for c in timed if static_not_runnable(c) is None]
    results: list[CaseResult] = []
    results += run_in_process([c for c in timed if static_not_runnable(c) is not None], backends)
    groups = _group_by_time(timed_runnable)
    faketime_status: dict[str, str] = {}
    progress(
        f"{len(cases)} cases x {len(backends)} backends: {len(now_cases)} now, "
        f"{len(timed_runnable)} runnable at {len(groups)} fixed times (faketime)"
    )

    futures: dict[datetime.datetime, Future[dict[str, Any]]] = {}
    pool: ThreadPoolExecutor | None = None
    faketime = shutil.which("faketime")
    eligible: list[str] = []
    if groups and faketime is None:
        for name in backends:
            faketime_status[name] = "faketime not installed"
        results += [
            CaseResult(name, c.id, NOT_RUNNABLE, "faketime not installed")
            for c in timed_runnable
            for name in backends
        ]
    elif groups and faketime is not None:
        for name in backends:
            control = _probe(name, CONTROL_TIME)
            if control.verdict == REJECT:
                eligible.append(name)
                continue
            reason = (
                f"{name} did not reject a certificate that expired in {CONTROL_TIME.year} "
                f"at the real time ({control.verdict}: {control.detail or 'handshake ok'}), "
                "so its verdicts under faketime would prove nothing"
            )
            faketime_status[name] = reason
            results += [CaseResult(name, c.id, NOT_RUNNABLE, reason) for c in timed_runnable]
        if eligible:
            pool = ThreadPoolExecutor(max_workers=PARALLEL_WORKERS)
            for at, group in groups.items():
                futures[at] = pool.submit(_spawn, faketime, limbo, at, group, eligible)

    try:
        t0 = time.monotonic()
        results += run_in_process(now_cases, backends)
        progress(f"{len(now_cases)} cases at the real time: {time.monotonic() - t0:.1f} s")

        not_honoured: dict[str, list[str]] = {}
        for at, future in futures.items():
            group = groups[at]
            try:
                answer = future.result()
            except Exception as e:
                detail = f"faketime child for {faketime_spec(at)} failed: {e}"
                results += [
                    CaseResult(name, c.id, ERROR, detail) for c in group for name in eligible
                ]
                for name in eligible:
                    not_honoured.setdefault(name, []).append(faketime_spec(at))
                continue
            results += [CaseResult(**r) for r in answer["results"]]
            for name, (verdict, _) in answer["probe"].items():
                if verdict != ACCEPT:
                    not_honoured.setdefault(name, []).append(faketime_spec(at))
        if futures:
            progress(f"{len(futures)} faketime groups done")
        for name in eligible:
            missed = not_honoured.get(name)
            faketime_status[name] = (
                f"honoured at all {len(groups)} times"
                if not missed
                else f"not honoured at {len(missed)} of {len(groups)} times: {', '.join(missed)}"
            )
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return RunOutput(results, faketime_status, time.monotonic() - started)
