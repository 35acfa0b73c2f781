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
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._scenarios import BUFFER_BASELINE, THREADS

__all__ = [
    "TARGETS",
    "Target",
    "compact",
    "evaluate",
    "median_interval",
    "pair_name",
    "paired_targets",
    "render_markdown",
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
            "full handshake); `/small` returns 100 bytes, `/big` is a 64 MiB file",
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
        [[f"`{c['key']}`", c["label"], c["trust_note"]] for c in data["configs"]],
    )

    targets = data["targets"]
    lines += [
        "## Targets (OpenSSL backend)",
        "",
        "Measured = median (min-max) over the rounds of the per-round ratio subject / "
        "comparator (for peak RSS: subject - comparator). The verdict is the median's; "
        "*within noise* marks a verdict whose threshold lies inside the median's ~95% "
        "confidence interval (order statistics over the rounds): this run cannot tell "
        "that target's PASS from its MISS.",
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
    others = [t for t in targets if not t["official"] and not t["diagnostic"]]
    if others:
        lines += [
            "### The same targets on the other backends (for information)",
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


def write(data: dict[str, Any], json_path: Path, markdown_path: Path) -> None:
    """Write both reports (each first as ``*.tmp``, then renamed into place)."""
    data = compact(data)  # both reports show the same (rounded) numbers
    text = json.dumps(data, indent=1, allow_nan=False)
    # Innermost lists of numbers on one line each (a sample is [rate, cpu_rate]).
    text = _NUMBER_LIST.sub(
        lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text
    )
    for path, content in ((json_path, text + "\n"), (markdown_path, render_markdown(data))):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part.tmp")
        tmp.write_text(content, encoding="utf-8")
        os.replace(tmp, path)
