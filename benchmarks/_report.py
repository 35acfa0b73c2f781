"""From measurements to verdicts: per-round ratios, the targets, and the two reports.

Every comparison is a ratio taken inside one round (the two configurations ran seconds
apart), then summarised over the rounds as median and min-max: on a shared, noisy
machine the absolute rates drift, their ratios much less.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._scenarios import BUFFER_BASELINE, THREADS

__all__ = [
    "PARITY",
    "PARITY_REFERENCE",
    "RESUMPTION",
    "TARGETS",
    "ParityTarget",
    "ResumptionTarget",
    "Target",
    "compact",
    "evaluate",
    "evaluate_parity",
    "evaluate_resumption",
    "median_interval",
    "pair_name",
    "paired_targets",
    "parity_pairs",
    "render_markdown",
    "resumption_pairs",
    "write",
]

_MIB = 1024
_NUMBER_LIST = re.compile(r"\[\s*((?:-?[\d.e+-]+|null)(?:,\s*(?:-?[\d.e+-]+|null))*)\s*\]")


@dataclass(frozen=True)
class Target:
    """One goal from the issue. ``{b}`` in a row name stands for the backend."""

    id: str
    text: str
    #: A scenario key, ``"threads"`` (scaling) or ``"rss"``.
    scenario: str
    subject: str
    comparator: str
    threshold: float
    #: ``"ratio"``: subject / comparator >= threshold; ``"scaling"``: (subject's 8-thread
    #: / 1-thread) / (comparator's) >= threshold; ``"rss"``: subject - comparator peak
    #: RSS <= threshold MiB.
    kind: str = "ratio"
    #: Not a goal: context for reading the goals (shown without a verdict).
    diagnostic: bool = False


TARGETS = (
    Target(
        "T1-tls13",
        "New-connection request rate, TLSAdapter >= 8x plain requests.Session() (TLS 1.3)",
        "new_tls13",
        "adapter-{b}-pem",
        "requests-plain",
        8.0,
    ),
    Target(
        "T1-tls12",
        "New-connection request rate, TLSAdapter >= 8x plain requests.Session() (TLS 1.2)",
        "new_tls12",
        "adapter-{b}-pem",
        "requests-plain",
        8.0,
    ),
    Target(
        "T2-tls13",
        "New-connection request rate through TLSAdapter (its send(), the transport layer "
        "a Session calls) >= 0.95x urllib3 with a reused stdlib context (TLS 1.3)",
        "new_tls13",
        "transport-{b}-pem",
        "urllib3-stdlib",
        0.95,
    ),
    Target(
        "T2-tls12",
        "New-connection request rate through TLSAdapter (its send()) >= 0.95x urllib3 "
        "with a reused stdlib context (TLS 1.2)",
        "new_tls12",
        "transport-{b}-pem",
        "urllib3-stdlib",
        0.95,
    ),
    Target(
        "T2a-tls13",
        "The same against the floor any requests adapter sits on: TLSAdapter.send() >= "
        "0.95x requests' own HTTPAdapter.send() with a reused stdlib context (TLS 1.3)",
        "new_tls13",
        "transport-{b}-pem",
        "transport-stdlib",
        0.95,
    ),
    Target(
        "T2a-tls12",
        "TLSAdapter.send() >= 0.95x requests' own HTTPAdapter.send() with a reused stdlib "
        "context (TLS 1.2)",
        "new_tls12",
        "transport-{b}-pem",
        "transport-stdlib",
        0.95,
    ),
    Target(
        "T2s-tls13",
        "The same inside requests.Session: TLSAdapter >= 0.95x a Session whose HTTPAdapter "
        "has a reused stdlib context, the floor of the requests stack (TLS 1.3)",
        "new_tls13",
        "adapter-{b}-pem",
        "requests-stdlib",
        0.95,
    ),
    Target(
        "T2s-tls12",
        "The same inside requests.Session: TLSAdapter >= 0.95x a Session whose HTTPAdapter "
        "has a reused stdlib context (TLS 1.2)",
        "new_tls12",
        "adapter-{b}-pem",
        "requests-stdlib",
        0.95,
    ),
    Target(
        "T3-adapter-tls13",
        "TrustStore.system() handshake cost within 10% of a PEM file: TLSAdapter, TLS 1.3 "
        "(rate ratio >= 1/1.1)",
        "new_tls13",
        "adapter-{b}-system",
        "adapter-{b}-pem",
        1 / 1.1,
    ),
    Target(
        "T3-adapter-tls12",
        "TrustStore.system() handshake cost within 10% of a PEM file: TLSAdapter, TLS 1.2 "
        "(rate ratio >= 1/1.1)",
        "new_tls12",
        "adapter-{b}-system",
        "adapter-{b}-pem",
        1 / 1.1,
    ),
    Target(
        "T3-shim-tls13",
        "TrustStore.system() handshake cost within 10% of a PEM file: urllib3 shim, TLS 1.3 "
        "(rate ratio >= 1/1.1)",
        "new_tls13",
        "shim-{b}-system",
        "shim-{b}-pem",
        1 / 1.1,
    ),
    Target(
        "T4-threads",
        f"Concurrent handshakes on one TLSAdapter not serialised: its {THREADS}-thread / "
        "1-thread scaling >= 0.9x that of requests with a reused stdlib context (OpenSSL: "
        "per-round ratio of the two scalings, measured in pairs; other backends: per-round "
        "scalings against the comparator's median scaling)",
        "threads",
        "adapter-{b}-pem",
        "requests-stdlib",
        0.9,
        "scaling",
    ),
    Target(
        "T5-keepalive-shim",
        "Keep-alive request rate, urllib3 shim >= 0.97x urllib3 with a stdlib context",
        "keepalive",
        "shim-{b}-pem",
        "urllib3-stdlib",
        0.97,
    ),
    Target(
        "T5-keepalive-adapter",
        "Keep-alive request rate, TLSAdapter >= 0.97x requests with a stdlib context",
        "keepalive",
        "adapter-{b}-pem",
        "requests-stdlib",
        0.97,
    ),
    Target(
        "T5-bulk64-shim",
        "Bulk throughput (64 KiB reads), urllib3 shim >= 0.97x urllib3 with a stdlib context",
        "bulk_64k",
        "shim-{b}-pem",
        "urllib3-stdlib",
        0.97,
    ),
    Target(
        "T5-bulk64-adapter",
        "Bulk throughput (64 KiB reads), TLSAdapter >= 0.97x requests with a stdlib context",
        "bulk_64k",
        "adapter-{b}-pem",
        "requests-stdlib",
        0.97,
    ),
    Target(
        "T5-bulk8-shim",
        "Bulk throughput (8 KiB reads), urllib3 shim >= 0.97x urllib3 with a stdlib context",
        "bulk_8k",
        "shim-{b}-pem",
        "urllib3-stdlib",
        0.97,
    ),
    Target(
        "T5-bulk8-adapter",
        "Bulk throughput (8 KiB reads), TLSAdapter >= 0.97x requests with a stdlib context",
        "bulk_8k",
        "adapter-{b}-pem",
        "requests-stdlib",
        0.97,
    ),
    Target(
        "T6-rss",
        "Peak RSS with TLSAdapter <= plain requests + 5 MiB",
        "rss",
        "adapter-{b}-pem",
        "requests-plain",
        5.0,
        "rss",
    ),
    # Context for T2: the requests stack's own cost, and TLSAdapter inside that stack.
    Target(
        "D1-tls13",
        "requests.Session with a reused stdlib context against urllib3 with one: what "
        "requests itself costs per new-connection request (TLS 1.3)",
        "new_tls13",
        "requests-stdlib",
        "urllib3-stdlib",
        0.95,
        diagnostic=True,
    ),
    Target(
        "D1-tls12",
        "requests.Session with a reused stdlib context against urllib3 with one (TLS 1.2)",
        "new_tls12",
        "requests-stdlib",
        "urllib3-stdlib",
        0.95,
        diagnostic=True,
    ),
    Target(
        "D2-tls13",
        "TLSAdapter in a Session against urllib3 with a reused stdlib context: T2 read as "
        "the whole requests stack, which D1 bounds for any adapter (TLS 1.3)",
        "new_tls13",
        "adapter-{b}-pem",
        "urllib3-stdlib",
        0.95,
        diagnostic=True,
    ),
    Target(
        "D2-tls12",
        "TLSAdapter in a Session against urllib3 with a reused stdlib context (TLS 1.2)",
        "new_tls12",
        "adapter-{b}-pem",
        "urllib3-stdlib",
        0.95,
        diagnostic=True,
    ),
    Target(
        "D4-tls13",
        "requests' own HTTPAdapter.send() with a reused stdlib context against urllib3 "
        "with one: what the transport layer costs any adapter (TLS 1.3)",
        "new_tls13",
        "transport-stdlib",
        "urllib3-stdlib",
        0.95,
        diagnostic=True,
    ),
    Target(
        "D4-tls12",
        "requests' own HTTPAdapter.send() with a reused stdlib context against urllib3 "
        "with one (TLS 1.2)",
        "new_tls12",
        "transport-stdlib",
        "urllib3-stdlib",
        0.95,
        diagnostic=True,
    ),
    Target(
        "D3-tls13",
        "urllib3 shim against urllib3 with a reused stdlib context, new connections (TLS 1.3)",
        "new_tls13",
        "shim-{b}-pem",
        "urllib3-stdlib",
        0.95,
        diagnostic=True,
    ),
)


@dataclass(frozen=True)
class ParityTarget:
    """One speed-parity goal, for every backend but OpenSSL (issue 14).

    The subject is ``shim-{b}-pem`` (compared with ``urllib3-stdlib``) or
    ``adapter-{b}-pem`` (compared with ``requests-stdlib``); both are measured in A B B A
    pairs, on both sides with the TLS version the backend has.
    """

    id: str
    text: str
    #: A scenario key (``"threads"``: the 8-thread / 1-thread scaling), or ``"rss"``.
    scenario: str
    #: ``"shim"`` or ``"adapter"``.
    via: str
    #: The threshold of every backend not in *overrides*.
    threshold: float
    #: ``"cpu"`` (the client-CPU ratio decides) or ``"wall"`` (the wall-clock ratio).
    verdict_on: str
    #: ``(backend, threshold)`` pairs that differ from *threshold*.
    overrides: tuple[tuple[str, float], ...] = ()
    #: Backends measured for information only (no verdict).
    info_only: tuple[str, ...] = ()
    #: ``"ratio"``, ``"scaling"`` or ``"rss"`` (peak RSS over plain requests; never a goal).
    kind: str = "ratio"

    def subject(self, backend: str) -> str:
        """The configuration measured for *backend*."""
        return f"{self.via}-{backend}-pem"

    @property
    def comparator(self) -> str:
        """The configuration it is compared with."""
        if self.kind == "rss":
            return "requests-plain"
        return "urllib3-stdlib" if self.via == "shim" else "requests-stdlib"

    def threshold_for(self, backend: str) -> float:
        """*backend*'s threshold."""
        return dict(self.overrides).get(backend, self.threshold)


#: The backend shown next to the parity targets for reference (its targets are above).
PARITY_REFERENCE = "openssl"
_SLOW_BULK = (("wolfssl", 0.5), ("mbedtls", 0.5))
_NO_TLS13_HANDSHAKE = ("mbedtls",)


def _parity_pair(
    key: str, title: str, scenario: str, threshold: float, verdict_on: str, **kw: Any
) -> tuple[ParityTarget, ParityTarget]:
    return (
        ParityTarget(
            f"{key}-shim",
            f"{title}: urllib3 shim / urllib3 with a reused stdlib context",
            scenario,
            "shim",
            threshold,
            verdict_on,
            **kw,
        ),
        ParityTarget(
            f"{key}-adapter",
            f"{title}: TLSAdapter / requests with a reused stdlib context",
            scenario,
            "adapter",
            threshold,
            verdict_on,
            **kw,
        ),
    )


PARITY = (
    *_parity_pair(
        "P1-bulk64", "Bulk download, 64 KiB reads", "bulk_64k", 0.8, "cpu", overrides=_SLOW_BULK
    ),
    *_parity_pair(
        "P1-bulk8", "Bulk download, 8 KiB reads", "bulk_8k", 0.8, "cpu", overrides=_SLOW_BULK
    ),
    *_parity_pair("P2-keepalive", "Keep-alive requests (100 bytes)", "keepalive", 0.95, "wall"),
    *_parity_pair(
        "P3-new13",
        "New connection per request, TLS 1.3",
        "new_tls13",
        0.9,
        "wall",
        info_only=_NO_TLS13_HANDSHAKE,
    ),
    *_parity_pair(
        "P3-new12",
        "New connection per request, TLS 1.2",
        "new_tls12",
        0.9,
        "wall",
        info_only=_NO_TLS13_HANDSHAKE,
    ),
    ParityTarget(
        "P4-threads",
        f"{THREADS} threads sharing one TLSAdapter, new connections: its {THREADS}-thread / "
        "1-thread scaling / that of requests with a reused stdlib context",
        "threads",
        "adapter",
        0.9,
        "wall",
        kind="scaling",
    ),
    ParityTarget(
        "P5-rss",
        "Peak RSS of TLSAdapter over plain requests (MiB; not a target)",
        "rss",
        "adapter",
        0.0,
        "wall",
        info_only=("*",),
        kind="rss",
    ),
)


@dataclass(frozen=True)
class ResumptionTarget:
    """Issue 17's target: new connections that resume a TLS session against urllib3 with a
    reused stdlib context, which makes full handshakes; both to nginx with session
    tickets on, measured as A B B A pairs."""

    id: str
    text: str
    #: ``"resume_tls13"`` or ``"resume_tls12"`` (:func:`_scenarios.resumption_scenarios`).
    scenario: str
    #: The wall-clock rate ratio the verdict backend must reach.
    threshold: float
    #: The backend with a verdict; every other one that can resume is reported.
    verdict_backend: str = "openssl"
    #: The configuration it is compared with: full handshakes.
    comparator: str = "urllib3-stdlib"

    def subject(self, backend: str) -> str:
        """The resuming configuration of *backend*: the urllib3 shim, resumption on."""
        return f"shim-{backend}-resume"


RESUMPTION = tuple(
    ResumptionTarget(
        f"R1-tls{v.replace('.', '')}",
        "New-connection request rate with session resumption (urllib3 shim, resumption on) "
        f">= 1.5x urllib3 with a reused stdlib context doing full handshakes (TLS {v}, "
        "nginx with session tickets on)",
        f"resume_tls{v.replace('.', '')}",
        1.5,
    )
    for v in ("1.3", "1.2")
)


# -- statistics --------------------------------------------------------------------------
def _summary(values: list[float]) -> dict[str, float] | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None
    out = {
        "median": statistics.median(finite),
        "min": min(finite),
        "max": max(finite),
        "n": len(finite),
    }
    interval = median_interval(finite)
    if interval is not None:
        out["ci_low"], out["ci_high"] = interval
    return out


def median_interval(values: list[float]) -> tuple[float, float] | None:
    """A distribution-free ~95% confidence interval of the median (order statistics).

    With n values, the median lies between the j-th and k-th smallest with about 95%
    probability for j = n/2 - 0.98 sqrt(n) and k = n/2 + 1 + 0.98 sqrt(n) (the binomial
    approximation). ``None`` below 6 values, where it would span everything.
    """
    n = len(values)
    if n < 6:
        return None
    ordered = sorted(values)
    half = 0.98 * math.sqrt(n)
    low = max(0, math.floor(n / 2 - half) - 1)
    high = min(n - 1, math.ceil(n / 2 + 1 + half) - 1)
    return ordered[low], ordered[high]


def _samples(data: dict[str, Any], scenario: str, row: str) -> list[list[float] | None]:
    entry = data["results"].get(scenario, {}).get(row)
    return [] if entry is None else list(entry["samples"])


def ratios(data: dict[str, Any], scenario: str, a: str, b: str, cpu: bool = False) -> list[float]:
    """Per-round ratios a/b of the wall-clock (or, with *cpu*, the CPU-time) rates."""
    i = 1 if cpu else 0
    out = []
    for x, y in zip(_samples(data, scenario, a), _samples(data, scenario, b), strict=False):
        if x is None or y is None or x[i] is None or not y[i]:
            continue
        if math.isfinite(x[i] / y[i]):
            out.append(x[i] / y[i])
    return out


def pair_name(scenario: str, subject: str, comparator: str) -> str:
    """The key of a paired measurement in the results."""
    return f"{scenario}: {subject} / {comparator}"


def paired_targets() -> list[tuple[str, str, str]]:
    """``(scenario, subject, comparator)`` of every OpenSSL ratio or scaling target and
    context row (for a scaling, the scenario is ``"threads"``)."""
    out = []
    for target in TARGETS:
        if target.kind in ("ratio", "scaling"):
            subject = target.subject.format(b="openssl")
            comparator = target.comparator.format(b="openssl")
            if (target.scenario, subject, comparator) not in out:
                out.append((target.scenario, subject, comparator))
    return out


def parity_pairs(backends: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(scenario, subject, comparator)`` of every parity target on *backends* (OpenSSL
    included, for reference), in the order they are measured."""
    out: list[tuple[str, str, str]] = []
    for backend in backends:
        for target in PARITY:
            if target.kind in ("ratio", "scaling"):
                pair = (target.scenario, target.subject(backend), target.comparator)
                if pair not in out:
                    out.append(pair)
    return out


def resumption_pairs(backends: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(scenario, subject, comparator)`` of the session-resumption pairs of *backends*
    (those that can resume), in the order they are measured: OpenSSL first."""
    order = sorted(backends, key=lambda b: b != RESUMPTION[0].verdict_backend)
    return [
        (target.scenario, target.subject(b), target.comparator)
        for b in order
        for target in RESUMPTION
    ]


def _paired_ratios(
    data: dict[str, Any], scenario: str, subject: str, comparator: str, cpu: bool = False
) -> list[float] | None:
    """Per-round ratios of a paired measurement, or ``None`` when there is none."""
    entry = data.get("paired", {}).get(pair_name(scenario, subject, comparator))
    if not entry or "subject" not in entry:
        return None
    i = 1 if cpu else 0
    out = []
    for x, y in zip(entry["subject"], entry["comparator"], strict=False):
        if x[i] is not None and y[i] and math.isfinite(x[i] / y[i]):
            out.append(x[i] / y[i])
    return out


def _scalings(data: dict[str, Any], row: str) -> list[float]:
    return ratios(data, "threads", f"{row}@{THREADS}", f"{row}@1")


def _target_values(
    data: dict[str, Any], target: Target, subject: str, comparator: str
) -> tuple[list[float], list[float], str]:
    """Per-round values, per-round CPU values, and an explanatory note."""
    if target.kind == "ratio":
        paired = _paired_ratios(data, target.scenario, subject, comparator)
        if paired is not None:
            cpu = _paired_ratios(data, target.scenario, subject, comparator, cpu=True) or []
            spread = _summary(ratios(data, target.scenario, subject, comparator))
            note = "A B B A pairs"
            if spread is not None:
                note += f"; in the round-robin table: {_spread(spread)}"
            return paired, cpu, note
        return (
            ratios(data, target.scenario, subject, comparator),
            ratios(data, target.scenario, subject, comparator, cpu=True),
            "",
        )
    if target.kind == "scaling":
        paired = _paired_ratios(data, target.scenario, subject, comparator)
        if paired is not None:
            entry = data["paired"][pair_name(target.scenario, subject, comparator)]
            s_mine, s_theirs = (
                _summary(entry["scaling_subject"]),
                _summary(entry["scaling_comparator"]),
            )
            note = "A B B A pairs"
            if s_mine and s_theirs:
                note += (
                    f"; {THREADS} threads / 1 thread: {_spread(s_mine)} against "
                    f"{_spread(s_theirs)} for {comparator}"
                )
            return paired, [], note
        # Each scaling is already a ratio of neighbouring slices (8 threads / 1 thread);
        # the subject's per-round scalings are compared with the comparator's median
        # scaling (a ratio of two such ratios per round would multiply their noise).
        mine, theirs = _scalings(data, subject), _scalings(data, comparator)
        reference = statistics.median(theirs) if theirs else 0.0
        values = [m / reference for m in mine] if reference else []
        s_mine, s_theirs = _summary(mine), _summary(theirs)
        note = ""
        if s_mine and s_theirs:
            note = (
                f"{THREADS} threads / 1 thread: {_spread(s_mine)} against "
                f"{_spread(s_theirs)} for {comparator}"
            )
        return values, [], note
    peaks = {
        key: [r["peak_kib"] for r in data["rss"].get(key, {}).get("runs", [])]
        for key in (subject, comparator)
    }
    if not peaks[subject] or not peaks[comparator]:
        return [], [], ""
    base = statistics.median(peaks[comparator])
    values = [(p - base) / _MIB for p in peaks[subject]]
    note = f"peak {statistics.median(peaks[subject]) / _MIB:.1f} MiB against {base / _MIB:.1f} MiB"
    return values, [], note


def evaluate(data: dict[str, Any], backends: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every target for every backend; the OpenSSL rows are the official ones."""
    out = []
    order = ["openssl", *(b for b in backends if b != "openssl")]
    for backend in order:
        if backend not in backends:
            continue
        for target in TARGETS:
            if target.diagnostic and "{b}" not in target.subject and backend != "openssl":
                continue
            subject = target.subject.format(b=backend)
            comparator = target.comparator.format(b=backend)
            values, cpu_values, note = _target_values(data, target, subject, comparator)
            summary = _summary(values)
            cpu = _summary(cpu_values)
            lower_is_better = target.kind == "rss"
            status = "n/a"
            shortfall = None
            conclusive = False
            if summary is not None:
                measured = summary["median"]
                if lower_is_better:
                    ok = measured <= target.threshold
                    shortfall = None if ok else measured - target.threshold
                else:
                    ok = measured >= target.threshold
                    shortfall = None if ok else 1 - measured / target.threshold
                status = "PASS" if ok else "MISS"
                if "ci_low" in summary:
                    # The verdict is the median's; say when the rounds cannot settle it.
                    conclusive = not (summary["ci_low"] <= target.threshold <= summary["ci_high"])
                else:
                    conclusive = True
                if target.diagnostic:
                    status = "info"
            out.append(
                {
                    "id": target.id,
                    "backend": backend,
                    "official": backend == "openssl" and not target.diagnostic,
                    "diagnostic": target.diagnostic,
                    "text": target.text,
                    "scenario": target.scenario,
                    "subject": subject,
                    "comparator": comparator,
                    "kind": target.kind,
                    "threshold": target.threshold,
                    "measured": summary,
                    "cpu": cpu,
                    "status": status,
                    "conclusive": conclusive,
                    "shortfall": shortfall,
                    "note": note,
                }
            )
    return out


def _verdict(summary: dict[str, float] | None, threshold: float) -> tuple[str, bool, float | None]:
    """PASS/MISS of a median against *threshold*, whether the CI settles it, the shortfall."""
    if summary is None:
        return "n/a", False, None
    ok = summary["median"] >= threshold
    conclusive = (
        not (summary["ci_low"] <= threshold <= summary["ci_high"]) if "ci_low" in summary else True
    )
    return ("PASS" if ok else "MISS"), conclusive, None if ok else 1 - summary["median"] / threshold


def evaluate_parity(data: dict[str, Any], backends: Sequence[str]) -> list[dict[str, Any]]:
    """Every parity target on every backend (OpenSSL first, as a reference without verdicts).

    Both the wall-clock and the client-CPU ratio of each pair are kept; the target's
    ``verdict_on`` says which one decides. ``other_verdict`` is what the other measure
    would say, when it exists.
    """
    out: list[dict[str, Any]] = []
    order = [b for b in (PARITY_REFERENCE, *backends) if b in backends]
    for backend in dict.fromkeys(order):
        reference = backend == PARITY_REFERENCE
        for target in PARITY:
            subject, comparator = target.subject(backend), target.comparator
            threshold = target.threshold_for(backend)
            info = reference or backend in target.info_only or "*" in target.info_only
            wall: list[float] = []
            cpu: list[float] = []
            note = ""
            problem = ""
            entry: dict[str, Any] = {}
            if target.kind == "rss":
                as_target = Target("", "", "rss", subject, comparator, 0.0, "rss")
                wall, _, note = _target_values(data, as_target, subject, comparator)
                if not wall:
                    problem = data.get("rss", {}).get(subject, {}).get("error", "not measured")
            else:
                entry = data.get("paired", {}).get(
                    pair_name(target.scenario, subject, comparator), {}
                )
                if "na" in entry or "error" in entry or "subject" not in entry:
                    problem = entry.get("na") or entry.get("error") or "not measured"
                else:
                    wall = _paired_ratios(data, target.scenario, subject, comparator) or []
                    if target.kind == "ratio":
                        cpu = (
                            _paired_ratios(data, target.scenario, subject, comparator, cpu=True)
                            or []
                        )
                    else:
                        s_mine = _summary(entry["scaling_subject"])
                        s_theirs = _summary(entry["scaling_comparator"])
                        if s_mine and s_theirs:
                            note = (
                                f"{THREADS} threads / 1 thread: {_spread(s_mine)} against "
                                f"{_spread(s_theirs)}"
                            )
                    note = "; ".join(x for x in (entry.get("note", ""), note) if x)
            wall_summary, cpu_summary = _summary(wall), _summary(cpu)
            verdict_on = target.verdict_on if cpu_summary is not None else "wall"
            decisive = cpu_summary if verdict_on == "cpu" else wall_summary
            other = wall_summary if verdict_on == "cpu" else cpu_summary
            status, conclusive, shortfall = _verdict(decisive, threshold)
            other_status = _verdict(other, threshold)[0] if target.kind == "ratio" else "n/a"
            if problem:
                status = "n/a" if "error" not in entry else "error"
                note = problem
            elif info and status in ("PASS", "MISS"):
                status, shortfall = "info", None
            out.append(
                {
                    "id": target.id,
                    "backend": backend,
                    "reference": reference,
                    "text": target.text,
                    "scenario": target.scenario,
                    "via": target.via,
                    "kind": target.kind,
                    "subject": subject,
                    "comparator": comparator,
                    "threshold": None if target.kind == "rss" else threshold,
                    "verdict_on": verdict_on,
                    "wall": wall_summary,
                    "cpu": cpu_summary,
                    "measured": decisive,
                    "status": status,
                    "conclusive": conclusive,
                    "shortfall": shortfall,
                    "other_verdict": other_status,
                    "note": note,
                }
            )
    return out


#: The share of its timed connections a resuming client must have resumed to count as
#: confirmed (a connection that ends in a TLS error leaves no ticket to its successor).
_RESUMED_ENOUGH = 0.99


def _share(stats: dict[str, Any] | None) -> float | None:
    """The share of the timed connections that resumed, from a runner's stats."""
    if not stats or not stats.get("connections"):
        return None
    return float(stats["resumed"]) / float(stats["connections"])


def evaluate_resumption(data: dict[str, Any], backends: Sequence[str]) -> list[dict[str, Any]]:
    """Every session-resumption target on every backend (OpenSSL first).

    The measurements are in ``data["resumption"]``: ``capable`` (the backends that can
    resume), ``paired`` (the A B B A pairs, with each side's ``*_stats``: nginx's
    ``$ssl_session_reused`` before timing and the resumed share of the timed
    connections). The wall-clock ratio decides on the verdict backend; the client CPU
    ratio is kept with what it would say. The other backends are ``reported``; those
    that cannot resume are ``not available``.
    """
    section = data.get("resumption", {})
    capable = set(section.get("capable", []))
    paired = section.get("paired", {})
    order = sorted(dict.fromkeys(backends), key=lambda b: b != RESUMPTION[0].verdict_backend)
    out: list[dict[str, Any]] = []
    for backend in order:
        for target in RESUMPTION:
            subject, comparator = target.subject(backend), target.comparator
            verdict = backend == target.verdict_backend
            row: dict[str, Any] = {
                "id": target.id,
                "backend": backend,
                "text": target.text,
                "scenario": target.scenario,
                "subject": subject,
                "comparator": comparator,
                "kind": "ratio",
                "threshold": target.threshold,
                "verdict": verdict,
                "wall": None,
                "cpu": None,
                "measured": None,
                "rates": None,
                "confirmed": None,
                "resumed_share": None,
                "comparator_resumed_share": None,
                "setup": None,
                "status": "n/a",
                "conclusive": False,
                "shortfall": None,
                "other_verdict": "n/a",
                "note": "",
            }
            out.append(row)
            if backend not in capable:
                row["status"] = "not available"
                row["note"] = f"the {backend} backend cannot resume sessions"
                continue
            entry = paired.get(pair_name(target.scenario, subject, comparator), {})
            if "subject" not in entry:
                problem = entry.get("error") or entry.get("na") or "not measured"
                row["status"] = "error" if "error" in entry else "n/a"
                row["note"] = problem
                if "error" in entry and "ResumptionNotConfirmed" in problem:
                    row["confirmed"] = False
                continue
            args = (target.scenario, subject, comparator)
            wall = _summary(_paired_ratios(data["resumption"], *args) or [])
            cpu = _summary(_paired_ratios(data["resumption"], *args, cpu=True) or [])
            mine_stats, their_stats = entry.get("subject_stats"), entry.get("comparator_stats")
            share, their_share = _share(mine_stats), _share(their_stats)
            row.update(
                wall=wall,
                cpu=cpu,
                measured=wall,
                rates={
                    "subject": statistics.median(x[0] for x in entry["subject"]),
                    "comparator": statistics.median(x[0] for x in entry["comparator"]),
                },
                resumed_share=share,
                comparator_resumed_share=their_share,
                setup={
                    "subject": (mine_stats or {}).get("setup"),
                    "comparator": (their_stats or {}).get("setup"),
                },
                # The runners refuse to be measured unless nginx saw the subject resume
                # and the comparator not; the timed shares are what happened next.
                confirmed=share is not None
                and share >= _RESUMED_ENOUGH
                and their_share is not None
                and their_share == 0,
                note=entry.get("note", ""),
            )
            status, conclusive, shortfall = _verdict(wall, target.threshold)
            row["other_verdict"] = _verdict(cpu, target.threshold)[0]
            if verdict:
                row.update(status=status, conclusive=conclusive, shortfall=shortfall)
            elif wall is not None:
                row["status"] = "reported"
    return out


# -- Markdown -------------------------------------------------------------------------------
def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _spread(summary: dict[str, float] | None, suffix: str = "x") -> str:
    if summary is None:
        return "—"
    return (
        f"{summary['median']:.2f}{suffix} ({summary['min']:.2f}-{summary['max']:.2f})"
        if summary["n"] > 1
        else f"{summary['median']:.2f}{suffix}"
    )


def _target_value(t: dict[str, Any]) -> str:
    if t["kind"] == "rss":
        return _spread(t["measured"], " MiB")
    return _spread(t["measured"])


def _threshold(t: dict[str, Any]) -> str:
    if t["kind"] == "rss":
        return f"<= +{t['threshold']:.0f} MiB"
    return f">= {t['threshold']:.3g}x"


def _status(t: dict[str, Any]) -> str:
    if t["status"] == "MISS":
        text = (
            f"MISS by {t['shortfall']:.1f} MiB"
            if t["kind"] == "rss"
            else f"MISS by {t['shortfall']:.1%}"
            if t["shortfall"] < 0.01
            else f"MISS by {t['shortfall']:.0%}"
        )
    else:
        text = str(t["status"])
    if t["status"] in ("PASS", "MISS") and not t.get("conclusive", True):
        text += " (within noise)"
    return text


def _interval(t: dict[str, Any]) -> str:
    measured = t["measured"]
    if not measured or "ci_low" not in measured:
        return "—"
    return f"{measured['ci_low']:.2f}-{measured['ci_high']:.2f}"


def _labels(data: dict[str, Any]) -> dict[str, str]:
    return {c["key"]: c["label"] for c in data["configs"]}


def _row_label(row: str, labels: dict[str, str]) -> str:
    if row == BUFFER_BASELINE:
        return "stdlib ssl.SSLObject + MemoryBIO (baseline)"
    if row.startswith("buffer-"):
        return f"tls_adapter {row.removeprefix('buffer-')} wrap_buffers()"
    return labels.get(row, row)


def _scenario_section(data: dict[str, Any], scenario: dict[str, Any]) -> list[str]:
    key, unit, baseline = scenario["key"], scenario["unit"], scenario["baseline"]
    labels = _labels(data)
    lines = [f"### {scenario['title']}", "", scenario["description"], ""]
    rows = []
    for row in scenario["configs"]:
        entry = data["results"][key].get(row, {"samples": []})
        rates = [s[0] for s in entry["samples"] if s is not None]
        if "na" in entry:
            status = f"n/a: {entry['na']}"
        elif "error" in entry:
            status = f"error: {entry['error'][:160]}"
        else:
            status = entry.get("note", "")
            if scenario["family"] == "buffer":
                status = _row_label(row, labels)
        rows.append(
            [
                f"`{row}`",
                _num(statistics.median(rates)) if rates else "—",
                _spread(_summary(ratios(data, key, row, baseline))),
                _spread(_summary(ratios(data, key, row, baseline, cpu=True))),
                status,
            ]
        )
    header = [
        "configuration",
        f"{unit} (median)",
        f"vs `{baseline}`: median (min-max)",
        "client CPU ratio",
        "notes",
    ]
    return lines + _table(header, rows)


def _threads_section(data: dict[str, Any], scenario: dict[str, Any]) -> list[str]:
    lines = [f"### {scenario['title']}", "", scenario["description"], ""]
    rows = []
    keys = list(dict.fromkeys(r.split("@", 1)[0] for r in scenario["configs"]))
    for key in keys:
        one = [s[0] for s in _samples(data, "threads", f"{key}@1") if s is not None]
        many = [s[0] for s in _samples(data, "threads", f"{key}@{THREADS}") if s is not None]
        errors = [
            data["results"]["threads"].get(f"{key}@{n}", {}).get("error", "") for n in (1, THREADS)
        ]
        rows.append(
            [
                f"`{key}`",
                _num(statistics.median(one)) if one else "—",
                _num(statistics.median(many)) if many else "—",
                _spread(_summary(_scalings(data, key))),
                "; ".join(e[:120] for e in errors if e),
            ]
        )
    header = ["configuration", "1 thread req/s", f"{THREADS} threads req/s", "scaling", "notes"]
    return lines + _table(header, rows)


def _rss_section(data: dict[str, Any]) -> list[str]:
    rss = data["rss"]
    base = [r["peak_kib"] for r in rss.get("requests-plain", {}).get("runs", [])]
    base_median = statistics.median(base) if base else None
    new, keepalive, download = data["options"]["rss_workload"]
    lines = [
        "### Peak RSS",
        "",
        f"Each configuration in a fresh process (`python -m benchmarks._rss`), importing "
        f"only what it needs: {new} new-connection requests, {keepalive} keep-alive "
        f"requests{', one full 64 MiB download (64 KiB chunks)' if download else ''}; peak "
        "RSS is `VmHWM` from `/proc/self/status`. Runs interleaved; median (min-max).",
        "",
    ]
    rows = []
    for key, entry in rss.items():
        peaks = [r["peak_kib"] for r in entry.get("runs", [])]
        first = [r["rss_after_first_request_kib"] for r in entry.get("runs", [])]
        summary = _summary([p / _MIB for p in peaks])
        delta = (
            f"{(statistics.median(peaks) - base_median) / _MIB:+.1f} MiB"
            if peaks and base_median is not None
            else "—"
        )
        rows.append(
            [
                f"`{key}`",
                _spread(summary, " MiB"),
                delta,
                f"{statistics.median(first) / _MIB:.1f} MiB" if first and first[0] else "—",
                entry.get("runs", [{}])[0].get("modules", "—") if entry.get("runs") else "—",
                "; ".join(x for x in (entry.get("note", ""), entry.get("error", "")) if x),
            ]
        )
    header = [
        "configuration",
        "peak RSS",
        "vs requests-plain",
        "RSS after first request",
        "modules loaded",
        "notes",
    ]
    return lines + _table(header, rows)


def _ceiling_section(data: dict[str, Any]) -> list[str]:
    from ._ceiling import CEILING_ROWS

    lines = [
        "### The ceiling: C clients against the same nginx",
        "",
        "`openssl s_time -new -www /small -CAfile bundle -verify 2` (a new connection and a "
        "100-byte GET each time, connections per wall-clock second of the s_time process) "
        "and `curl --http1.1 -o /dev/null` of the 64 MiB file. In each round the baseline "
        "(`urllib3-stdlib`) ran the matching scenario for as long, right after.",
        "",
    ]
    rows = []
    for row, what, unit in CEILING_ROWS:
        entry = data["ceiling"].get(row, {})
        ceiling = [v for v in entry.get("ceiling", []) if v is not None]
        pairs = [
            b / c
            for c, b in zip(entry.get("ceiling", []), entry.get("baseline", []), strict=False)
            if c
        ]
        baseline = entry.get("baseline", [])
        rows.append(
            [
                what,
                f"{_num(statistics.median(ceiling))} {unit}" if ceiling else "—",
                _num(statistics.median(baseline)) if baseline else "—",
                _spread(_summary(pairs)),
                entry.get("error", ""),
            ]
        )
    header = ["C client", "ceiling (median)", "baseline (median)", "baseline / ceiling", "notes"]
    return lines + _table(header, rows)


def _checks_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "### Connection checks",
        "",
        "Before measuring, each configuration made three `Connection: close` requests per "
        "TLS version and three keep-alive requests; nginx reported which connection served "
        "each (`$connection`, `$connection_requests`), the protocol (`$ssl_protocol`) and "
        "whether the session was resumed (`$ssl_session_reused`).",
        "",
    ]
    rows = []
    for key, check in data["checks"].items():
        if "error" in check or "na" in check:
            what = f"error: {check['error']}" if "error" in check else f"n/a: {check['na']}"
            rows.append([f"`{key}`", "—", "—", "—", "—", what[:160]])
            continue
        cells = []
        for version in ("1.3", "1.2"):
            entry = check.get(f"tls{version}")
            if entry is None:
                cells.append("n/a")
            else:
                ok = entry["new_connection_each_time"] and entry["protocol"] == [f"TLSv{version}"]
                cells.append("yes" if ok else f"NO ({entry['protocol']})")
        resumed = any(check.get(f"tls{v}", {}).get("resumed") for v in ("1.3", "1.2"))
        rows.append(
            [
                f"`{key}`",
                cells[0],
                cells[1],
                "yes" if check.get("keepalive_one_connection") else "NO",
                "YES" if resumed else "no",
                "",
            ]
        )
    header = [
        "configuration",
        "new conn. per request, TLS 1.3",
        "new conn. per request, TLS 1.2",
        "keep-alive reuses one",
        "resumed",
        "notes",
    ]
    return lines + _table(header, rows)


def _profiles_section(data: dict[str, Any]) -> list[str]:
    profiles = data.get("profiles", {})
    if not profiles:
        return []
    lines = [
        "## Profiles of the missed targets",
        "",
        "cProfile of the missed target's configuration in that scenario (one slice of "
        f"{data['options']['profile_seconds']} s; cProfile slows Python code down, so "
        "rates under the profiler are lower). `tls_adapter share` is the part of the "
        "profiled time spent in tls_adapter's own Python code (the TLS library's C code "
        "is counted where it is called from: `ssl`'s `read`/`do_handshake`).",
        "",
    ]
    for name, profile in profiles.items():
        lines += [f"### `{name}`", ""]
        if "error" in profile:
            lines += [f"Profiling failed: {profile['error']}", ""]
            continue
        lines += [
            f"Rate under the profiler: {_num(profile['rate_under_profile'])}; "
            f"tls_adapter share: {profile['tls_adapter_share']:.1%} of "
            f"{profile['total_seconds']:.2f} s "
            f"({profile['tls_adapter_share_with_contextlib']:.1%} counting the contextlib "
            "machinery that only tls_adapter's context managers call).",
            "",
            "Top functions by own time:",
            "",
            "```text",
            f"{'ncalls':>8} {'tottime':>8} {'cumtime':>8}  function",
        ]
        for e in profile["top_tottime"]:
            lines.append(
                f"{e['ncalls']:>8} {e['tottime']:8.4f} {e['cumtime']:8.4f}  {e['function']}"
            )
        lines += ["```", "", "tls_adapter functions by cumulative time:", "", "```text"]
        for e in profile["tls_adapter_cumtime"]:
            lines.append(
                f"{e['ncalls']:>8} {e['tottime']:8.4f} {e['cumtime']:8.4f}  {e['function']}"
            )
        lines += ["```", ""]
    return lines


_MEASURE = {"cpu": "client CPU", "wall": "wall-clock"}


def _parity_cell(t: dict[str, Any]) -> str:
    if t["measured"] is None:
        return "n/a" if t["status"] == "n/a" else str(t["status"])
    if t["kind"] == "rss":
        return f"+{t['measured']['median']:.1f} MiB"
    value = f"{t['measured']['median']:.2f}x"
    if t["status"] == "MISS":
        return f"{value} **MISS**" + ("" if t["conclusive"] else " ~")
    if t["status"] == "PASS":
        return f"{value} PASS" + ("" if t["conclusive"] else " ~")
    return value


def _parity_section(data: dict[str, Any]) -> list[str]:
    from ._charts import CHARTS

    rows = data.get("parity", [])
    if not rows:
        return []
    options = data["options"]
    backends = list(dict.fromkeys(r["backend"] for r in rows if not r["reference"]))
    reference = [b for b in dict.fromkeys(r["backend"] for r in rows) if b not in backends]
    lines = [
        "## Speed parity (every backend)",
        "",
        "Issue 14's targets for the backends other than OpenSSL: the urllib3 shim "
        "(`shim-<backend>-pem`) against urllib3 with one reused stdlib context "
        "(`urllib3-stdlib`), and TLSAdapter in a Session (`adapter-<backend>-pem`) "
        "against a Session whose HTTPAdapter has one (`requests-stdlib`). Each is "
        f"measured as a pair, alternating A B B A in {_ms(options)} slices for "
        f"{options.get('paired_rounds', '?')} rounds (the thread scaling: a third of the "
        "rounds, 8x longer slices), as the OpenSSL targets above. A backend without TLS "
        "1.3 (mbedtls) runs TLS 1.2 on both sides of its pairs; its handshake is not a "
        "target, so its new-connection rows are for information. OpenSSL is shown for "
        "reference, without verdicts (its own, stricter targets are above).",
        "",
        "Thresholds: bulk download (64 KiB and 8 KiB reads) >= 0.8x, >= 0.5x for wolfssl "
        "and mbedtls; keep-alive >= 0.95x; new connections (TLS 1.3 and 1.2) >= 0.9x; "
        f"{THREADS}-thread scaling >= 0.9x that of `requests-stdlib`. Peak RSS over plain "
        "requests is reported, not a target.",
        "",
        "Which ratio decides. Both are shown: the wall-clock ratio (rate per second) and "
        "the client CPU ratio (work per CPU second of the benchmark process). **Bulk "
        "downloads are judged on the client CPU ratio**: the issue counts their cost as "
        "client CPU per MiB, and a download's wall-clock time also holds nginx's share "
        "and the loopback's, which do not depend on the backend. **Keep-alive, new "
        "connections and threads are judged on the wall-clock ratio**: the issue states "
        "them as request rates, what an application sees, and a request's wall-clock "
        "time includes the server's part and the wait for it; a CPU ratio would leave "
        "that out and magnify the client's differences (and with threads it would count "
        "time spent waiting for the GIL). When the other ratio would give the other "
        "verdict, the notes say so. `~` (and *within noise*) marks a verdict whose "
        "threshold lies inside the ~95% "
        "confidence interval of the deciding median.",
        "",
    ]
    header = [
        "target",
        "threshold (verdict on)",
        *[f"`{b}`" for b in backends],
        *[f"`{b}` (reference)" for b in reference],
    ]
    matrix = []
    by = {(r["id"], r["backend"]): r for r in rows}
    for target in PARITY:
        threshold = "— (not a target)"
        if target.kind != "rss":
            threshold = f">= {target.threshold:.3g}x"
            lower = sorted({v for _, v in target.overrides})
            for value in lower:
                names = ", ".join(b for b, v in target.overrides if v == value)
                threshold += f", {value:.3g}x {names}"
            if target.info_only:
                threshold += f"; {', '.join(target.info_only)}: information"
            threshold += f" ({_MEASURE[target.verdict_on]})"
        cells = [f"{target.id}: {target.text}", threshold]
        for b in [*backends, *reference]:
            t = by.get((target.id, b))
            cells.append(_parity_cell(t) if t else "—")
        matrix.append(cells)
    lines += _table(header, matrix)
    charts = data.get("charts", {})
    for chart in CHARTS:
        if chart.key in charts:
            lines += [
                f"![{chart.title}]({charts[chart.key]})",
                "",
            ]
    if charts:
        lines += [
            "*Charts*: bar = the deciding ratio's median (hatched: OpenSSL, for "
            "reference), error bar = its ~95% confidence interval, diamond = the other "
            "ratio's median, dashed red line = the backend's threshold (none where the "
            "row is for information), dotted line = parity (1x).",
            "",
        ]
    elif data.get("charts_note"):
        lines += [f"No charts: {data['charts_note']}", ""]
    detail = []
    for t in rows:
        if t["reference"]:
            continue
        note = t["note"]
        if (
            t["status"] in ("PASS", "MISS")
            and t["other_verdict"] in ("PASS", "MISS")
            and t["other_verdict"] != t["status"]
        ):
            other = "wall-clock" if t["verdict_on"] == "cpu" else "client CPU"
            note = "; ".join(
                x for x in (f"the {other} ratio would {t['other_verdict']}", note) if x
            )
        rss = t["kind"] == "rss"
        detail.append(
            [
                t["id"],
                t["backend"],
                f"`{t['subject']}` / `{t['comparator']}`",
                "—" if rss else f">= {t['threshold']:.3g}x",
                "—" if rss else _MEASURE[t["verdict_on"]],
                _spread(t["wall"], " MiB" if rss else "x"),
                _spread(t["cpu"]),
                _interval(t),
                f"**{_status(t)}**" if t["status"] == "MISS" else _status(t),
                note,
            ]
        )
    lines += _table(
        [
            "id",
            "backend",
            "subject / comparator",
            "threshold",
            "verdict on",
            "wall-clock ratio",
            "client CPU ratio",
            "95% CI (deciding)",
            "status",
            "notes",
        ],
        detail,
    )
    return lines


def _confirmation(t: dict[str, Any]) -> str:
    """How resumption was confirmed for a row of the resumption table."""
    if t["confirmed"] is None:
        return "—"
    if t["confirmed"] is False and t["resumed_share"] is None:
        return "**NO** (see notes)"
    setup = t["setup"] or {}
    mine, theirs = t["resumed_share"], t["comparator_resumed_share"]
    timed = (
        f"timed: {mine:.0%} resumed, comparator {theirs:.0%}"
        if mine is not None and theirs is not None
        else "timed: not counted"
    )
    head = "yes" if t["confirmed"] else "**partly**"
    return f"{head}: `{setup.get('subject')}` / `{setup.get('comparator')}` before timing; {timed}"


def _resumption_status(t: dict[str, Any]) -> str:
    if t["status"] in ("PASS", "MISS"):
        text = _status(t)
        return f"**{text}**"
    return str(t["status"])


def _resumption_section(data: dict[str, Any]) -> list[str]:
    rows = data.get("resumption_targets", [])
    if not rows:
        return []
    from ._scenarios import RESUMPTION_CHECKS

    options = data["options"]
    first = RESUMPTION[0]
    lines = [
        "## Session resumption (issue 17)",
        "",
        "Issue 17's target: with session resumption, the new-connection request rate on "
        f"the OpenSSL backend >= {first.threshold:g}x that of urllib3 with one reused "
        "stdlib context doing full handshakes, judged on the wall-clock ratio (as the "
        "other request rates) with the client CPU ratio shown beside it; the other "
        "backends that can resume are reported without a verdict. The subject, "
        "`shim-<backend>-resume`, is a urllib3 `PoolManager` with "
        "`tls_adapter.urllib3.SSLContext` and `session_resumption` on (its default); "
        "the comparator, `urllib3-stdlib`, offers no session (the stdlib resumes only "
        "a session handed to it), so every one of its connections is a full handshake. "
        "Both make one request per new connection (`Connection: close`) to nginx ports "
        "with session tickets on (nginx's defaults: `ssl_session_tickets on`, "
        "`ssl_session_cache none`; one TLS 1.3-only and one TLS 1.2-only port), measured "
        f"as pairs alternating A B B A in {_ms(options)} slices for "
        f"{options.get('paired_rounds', '?')} rounds. Resumption is checked, not "
        f"assumed: before timing, each side made {RESUMPTION_CHECKS + 1} new connections "
        "and nginx's `$ssl_session_reused` had to read "
        f"`.{'r' * RESUMPTION_CHECKS}` for the subject (its first connection has "
        f"nothing to offer) and `.{'.' * RESUMPTION_CHECKS}` for the comparator, or the "
        "run stops (OpenSSL) or the row is left unmeasured (the other backends); during "
        "the timed slices every response's `$ssl_session_reused` is counted. Resuming "
        "is safe here because the shim offers a session only on a new, direct TCP "
        "connection under the same key as the connection that made it: the backend "
        "context (so the whole configuration: trust, validation, client certificate, "
        "versions, ciphers, ALPN), the server name, and the peer's address and port. "
        "It keeps only sessions of connections that validated the server, hands each out "
        "once and within its lifetime (at most an hour), and never sends 0-RTT data; "
        "see [Security: session resumption](security.rst) and "
        "`SSLContext.session_resumption` in the [API reference](api.rst). Everywhere "
        "else in this report new connections are full handshakes: tls_adapter's "
        "configurations are built with resumption off and those nginx ports have "
        "tickets off.",
        "",
    ]
    measured = [t for t in rows if t["status"] != "not available"]
    table = []
    for t in measured:
        rates = t["rates"]
        note = t["note"]
        if (
            t["verdict"]
            and t["status"] in ("PASS", "MISS")
            and t["other_verdict"] in ("PASS", "MISS")
            and t["other_verdict"] != t["status"]
        ):
            other = f"the client CPU ratio would {t['other_verdict']}"
            note = "; ".join(x for x in (other, note) if x)
        table.append(
            [
                t["id"],
                t["backend"],
                f"`{t['subject']}` / `{t['comparator']}`",
                f">= {t['threshold']:.3g}x" if t["verdict"] else "— (reported)",
                f"{_num(rates['subject'])} / {_num(rates['comparator'])}" if rates else "—",
                _spread(t["wall"]),
                _interval(t),
                _spread(t["cpu"]),
                _resumption_status(t),
                _confirmation(t),
                note,
            ]
        )
    lines += _table(
        [
            "id",
            "backend",
            "subject / comparator",
            "threshold (wall-clock)",
            "req/s resumed / full (medians)",
            "wall-clock ratio",
            "95% CI",
            "client CPU ratio",
            "status",
            "resumption confirmed",
            "notes",
        ],
        table,
    )
    unavailable = list(dict.fromkeys(t["backend"] for t in rows if t["status"] == "not available"))
    if unavailable:
        names = ", ".join(f"`{b}`" for b in unavailable)
        lines += [
            f"Not available on {names}: these backends do not declare "
            "`capabilities.session_resumption`, so their shim makes a full handshake on "
            "every new connection (measured in the tables above) and has no resumption "
            "pair.",
            "",
        ]
    return lines


def _d4(targets: list[dict[str, Any]]) -> str:
    """D4's median on OpenSSL (requests' own HTTPAdapter against urllib3), for the prose."""
    for t in targets:
        if t["id"] == "D4-tls13" and t["backend"] == "openssl" and t["measured"]:
            return f"{t['measured']['median']:.2f}x"
    return "see D4"


def _ms(options: dict[str, Any]) -> str:
    duration = options.get("paired_duration")
    return "?" if duration is None else f"{duration * 1000:.0f} ms"


def render_markdown(data: dict[str, Any]) -> str:
    """The report (docs/benchmarks.md)."""
    machine = data["machine"]
    options = data["options"]
    lines = ["# Benchmarks", ""]
    if options["quick"]:
        lines += [
            "**Quick (smoke) mode: every row ran for a few milliseconds. The numbers and "
            "verdicts below are not measurements.**",
            "",
        ]
    lines += [
        f"Generated {data['generated']} by "
        f"`{'python -m benchmarks --quick' if options['quick'] else 'nox -s bench'}` in "
        f"{data['wall_seconds']:.0f} s (the benchmark process, without installing it). "
        f"Everything measured, per round, as JSON: `{options['json_path']}`.",
        "",
        "How to read it: every scenario ran its configurations one after the other "
        f"(A B C … A B C …) for {options['rounds']} round(s) of "
        f"{options['duration'] * 1000:.0f} ms slices (the thread scenario: a third of the "
        "rounds, at least 2, with 4x longer slices). A ratio "
        "compares two configurations within one round and is summarised as median "
        "(min-max) over the rounds; above 1 is faster. The machine is shared and noisy: "
        "absolute rates drift by tens of percent, so read the ratios. *Client CPU ratio* "
        "compares requests (or MB) per CPU second of the benchmark process instead of per "
        "wall-clock second.",
        "",
        "## Setup",
        "",
    ]
    setup = [
        ["Python", f"{machine['implementation']} {machine['python']} on {machine['platform']}"],
        ["CPUs", f"{machine['cpus']}; {machine['pinning']}"],
        ["stdlib ssl", machine["ssl"]],
        ["nginx", f"{machine['nginx']}, worker_processes 1, 127.0.0.1 only"],
        [
            "server",
            "one port TLS 1.3 only, one TLS 1.2 only (ECDHE-ECDSA-AES128-GCM-SHA256); ALPN "
            "http/1.1; keep-alive; session tickets and cache off (every new connection is a "
            "full handshake); `/small` returns 100 bytes, `/big` is a 64 MiB file. Two more "
            "ports, the same but with session tickets on (nginx's defaults), serve only the "
            "session-resumption pairs",
        ],
        [
            "certificates",
            f"a CA made at run time ({data['pki']['key_type']}), server certificate for "
            "localhost and 127.0.0.1",
        ],
        [
            "trust",
            f"`bundle` = {data['pki']['system_source'] or '(no system bundle found)'} + the "
            f"run's CA: {data['pki']['bundle_certificates']} certificates. It is the PEM "
            "file of every PEM configuration and, through `SSL_CERT_FILE`, the system store "
            "of the `system` ones (`SSL_CERT_DIR`, `REQUESTS_CA_BUNDLE` and `CURL_CA_BUNDLE` "
            "unset for the run).",
        ],
        [
            "clients",
            f"urllib3 {machine['urllib3']}, requests {machine['requests']}, truststore "
            f"{machine.get('truststore', '?')}, pyOpenSSL {machine.get('pyopenssl', '?')}",
        ],
    ]
    lines += _table(["", ""], setup)
    lines += ["Backends measured (`tls_adapter.available_backends()` at run time):", ""]
    lines += _table(
        ["backend", "library", "TLS versions", "native socket", "system trust"],
        [
            [
                f"`{b['name']}`",
                b["library"],
                ", ".join(b["tls_versions"]),
                "yes" if b["native_socket"] else "no (generic pump)",
                b["system_trust"],
            ]
            for b in machine["backends"]
        ],
    )
    lines += ["Configurations:", ""]
    lines += _table(
        ["key", "what", "trust"],
        [
            [f"`{c['key']}`", c["label"], c["trust_note"]]
            for c in [*data["configs"], *data.get("resumption", {}).get("configs", [])]
        ],
    )

    targets = data["targets"]
    lines += [
        "## Targets (OpenSSL backend)",
        "",
        "Measured = median (min-max) over the rounds of the per-round ratio subject / "
        "comparator (for peak RSS: subject - comparator). The verdict is the median's; "
        "*within noise* marks a verdict whose threshold lies inside the median's ~95% "
        "confidence interval (order statistics over the rounds): this run cannot tell "
        "that target's PASS from its MISS. Every new connection in these targets (and in "
        "the speed-parity table and the scenario tables) is a full handshake: "
        "tls_adapter's configurations are built with session resumption off, and nginx "
        "has session tickets and its cache off on those ports; resumption is measured in "
        "its own section below.",
        "",
        "The ratio targets (and the context rows) of the OpenSSL backend are measured "
        "twice. Once in the round-robin of the scenario tables below, where a slice of "
        "the subject and one of the comparator can be seconds apart. And once as a pair: "
        f"subject and comparator alone, alternating A B B A in {_ms(options)} slices for "
        f"{options.get('paired_rounds', '?')} rounds, so that both sides of each ratio are "
        "measured within the same fraction of a second. The verdict is the pair's; the "
        "notes give the round-robin figure.",
        "",
        "How T2 is read. The issue asks for TLSAdapter's new-connection rate to be at "
        'least 0.95x that of urllib3 with a reused stdlib context, "the floor any adapter '
        'sits on". A transport adapter is the layer a `requests.Session` calls, so T2 '
        "times exactly that layer: `TLSAdapter.send()` with a prepared request, against "
        "urllib3. But urllib3 is not quite the floor of a requests adapter: requests' own "
        "`HTTPAdapter.send()` with a reused stdlib context (D4) does the same work around "
        "urllib3 (pool lookup, building the `Response`, cookies) and lands below it "
        f"({_d4(targets)} in this run), so T2 is out of reach of any requests adapter. "
        "T2a compares TLSAdapter "
        "with that floor directly; T2s does the same inside a `requests.Session`, whose "
        "own per-request work (preparing, merging environment settings, hooks) costs "
        "every adapter about a quarter of a new-connection request (D1); D2 is the "
        "whole-stack ratio, which no adapter can lift above D1."
        "",
    ]
    rows = []
    for t in targets:
        if not t["official"]:
            continue
        rows.append(
            [
                t["id"],
                t["text"],
                f"`{t['subject']}` / `{t['comparator']}`",
                _threshold(t),
                _target_value(t),
                _interval(t),
                _spread(t["cpu"]) if t["cpu"] else "—",
                f"**{_status(t)}**",
                t["note"],
            ]
        )
    lines += _table(
        [
            "id",
            "target",
            "subject / comparator",
            "threshold",
            "measured",
            "95% CI of the median",
            "client CPU ratio",
            "status",
            "notes",
        ],
        rows,
    )
    context = [t for t in targets if t["diagnostic"] and t["backend"] == "openssl"]
    if context:
        lines += [
            "Context (not targets): what the requests stack costs around an adapter, "
            "per new-connection request.",
            "",
        ]
        lines += _table(
            ["id", "comparison", "subject / comparator", "measured", "client CPU ratio"],
            [
                [
                    t["id"],
                    t["text"],
                    f"`{t['subject']}` / `{t['comparator']}`",
                    _target_value(t),
                    _spread(t["cpu"]) if t["cpu"] else "—",
                ]
                for t in context
            ],
        )
    lines += _parity_section(data)
    # The targets on the other backends that the parity table does not cover (it has
    # their own thresholds for the same pairs, threads and peak RSS), from the round-robin.
    covered = {(t["scenario"], t["subject"], t["comparator"]) for t in data.get("parity", [])}
    others = [
        t
        for t in targets
        if not t["official"]
        and not t["diagnostic"]
        and t["kind"] == "ratio"
        and (t["scenario"], t["subject"], t["comparator"]) not in covered
    ]
    if others:
        lines += [
            "### The OpenSSL targets on the other backends (for information)",
            "",
            "Those of the targets above that the speed-parity table does not cover, with "
            "their OpenSSL thresholds, from the round-robin of the scenario tables.",
            "",
        ]
        lines += _table(
            ["id", "backend", "subject / comparator", "threshold", "measured", "status"],
            [
                [
                    t["id"],
                    t["backend"],
                    f"`{t['subject']}` / `{t['comparator']}`",
                    _threshold(t),
                    _target_value(t),
                    _status(t),
                ]
                for t in others
            ],
        )
    lines += _resumption_section(data)
    lines += ["## Results", ""]
    for scenario in data["scenarios"]:
        if scenario["family"] == "threads":
            lines += _threads_section(data, scenario)
        else:
            lines += _scenario_section(data, scenario)
    lines += _rss_section(data)
    lines += _ceiling_section(data)
    lines += _checks_section(data)
    lines += _profiles_section(data)
    return "\n".join(lines).rstrip() + "\n"


def compact(value: Any) -> Any:
    """*value* for JSON: floats to 4 significant digits, NaN and infinities as ``null``."""
    if isinstance(value, float):
        return float(f"{value:.4g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [compact(v) for v in value]
    return value


def _install_charts(staging: Path, charts_dir: Path, names: dict[str, str]) -> None:
    """Move the charts drawn in *staging* into *charts_dir*, dropping stale ones."""
    charts_dir.mkdir(parents=True, exist_ok=True)
    keep = set(names.values())
    for old in charts_dir.glob("parity-*.svg"):
        if old.name not in keep:
            old.unlink()
    for name in keep:
        os.replace(staging / name, charts_dir / name)


def write(
    data: dict[str, Any], json_path: Path, markdown_path: Path, charts_dir: Path | None = None
) -> None:
    """Write both reports and the charts (each first as ``*.tmp``, then moved into place).

    The charts go to *charts_dir* (``None``: no charts) and are linked from the Markdown
    report by their path relative to it. They are drawn first, into a ``*.tmp``
    directory beside *charts_dir*, so a drawing error leaves every file as it was.
    """
    data = compact(data)  # both reports show the same (rounded) numbers
    data["charts"] = {}
    staging: Path | None = None
    try:
        if charts_dir is not None:
            from . import _charts

            reason = _charts.missing()
            if reason is not None:
                data["charts_note"] = reason
            else:
                staging = charts_dir.with_name(charts_dir.name + ".part.tmp")
                shutil.rmtree(staging, ignore_errors=True)
                names = _charts.draw(data.get("parity", []), staging)
                relative = os.path.relpath(charts_dir, markdown_path.parent)
                data["charts"] = {
                    key: Path(relative, name).as_posix() for key, name in names.items()
                }
        text = json.dumps(data, indent=1, allow_nan=False)
        # Innermost lists of numbers on one line each (a sample is [rate, cpu_rate]).
        text = _NUMBER_LIST.sub(
            lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text
        )
        written = []
        for path, content in ((json_path, text + "\n"), (markdown_path, render_markdown(data))):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part.tmp")
            tmp.write_text(content, encoding="utf-8")
            written.append((tmp, path))
        if staging is not None and charts_dir is not None:
            _install_charts(
                staging, charts_dir, {k: Path(v).name for k, v in data["charts"].items()}
            )
        for tmp, path in written:
            os.replace(tmp, path)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
