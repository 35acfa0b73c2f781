"""Classify verdicts against limbo and the ``openssl`` backend; write JSON and Markdown."""

from __future__ import annotations

import datetime
import json
import os
import platform
import ssl
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tls_adapter

from .cases import REPO_ROOT, RULE_CLASSES, LimboCase
from .handshake import ACCEPT, ERROR, NOT_RUNNABLE, REJECT
from .runner import CaseResult, RunOutput

__all__ = [
    "AGREE",
    "DISAGREE",
    "REFERENCE",
    "WEAKER_THAN_OPENSSL",
    "Allowance",
    "Counts",
    "Record",
    "build_records",
    "classify",
    "load_allowlist",
    "render_markdown",
    "summarize",
    "unallowed_weaker",
    "write_json",
]

AGREE = "AGREE"
DISAGREE = "DISAGREE"
WEAKER_THAN_OPENSSL = "WEAKER_THAN_OPENSSL"
#: The backend every other one is compared with.
REFERENCE = "openssl"
UPSTREAM_COMMIT = "8a2e6f41023b1716dc16fe63335e4bb972e4c3f6"


def classify(verdict: str, expected: str, openssl_verdict: str | None) -> str:
    """One result's class.

    ``NOT_RUNNABLE`` and ``ERROR`` pass through. ``WEAKER_THAN_OPENSSL``: the backend
    accepted a chain that limbo says is invalid and that the ``openssl`` backend
    rejected. Otherwise ``AGREE`` or ``DISAGREE`` with limbo's expected result; in
    particular, accepting a chain limbo says is *valid* is ``AGREE`` even where the
    ``openssl`` backend rejected it (OpenSSL treating ``notAfter`` as exclusive, say):
    that is OpenSSL being stricter than the rules, not the backend being weak.
    """
    if verdict in (NOT_RUNNABLE, ERROR):
        return verdict
    if verdict == ACCEPT and expected == "FAILURE" and openssl_verdict == REJECT:
        return WEAKER_THAN_OPENSSL
    wanted = ACCEPT if expected == "SUCCESS" else REJECT
    return AGREE if verdict == wanted else DISAGREE


@dataclass(frozen=True)
class Record:
    """One (backend, case) result with everything the reports show."""

    backend: str
    case_id: str
    kind: str
    rule_class: str
    expected: str
    verdict: str
    openssl_verdict: str | None
    result: str
    detail: str


def build_records(cases: Sequence[LimboCase], results: Iterable[CaseResult]) -> list[Record]:
    """Join results with their cases and the ``openssl`` backend's verdicts."""
    by_id = {case.id: case for case in cases}
    results = list(results)
    reference = {r.case_id: r.verdict for r in results if r.backend == REFERENCE}
    records = []
    for r in results:
        case = by_id[r.case_id]
        ref = reference.get(r.case_id)
        ref = ref if ref in (ACCEPT, REJECT) else None
        records.append(
            Record(
                backend=r.backend,
                case_id=r.case_id,
                kind=case.validation_kind,
                rule_class=case.rule_class,
                expected=case.expected_result,
                verdict=r.verdict,
                openssl_verdict=ref,
                result=classify(r.verdict, case.expected_result, ref),
                detail=r.detail,
            )
        )
    order = {case.id: i for i, case in enumerate(cases)}
    backend_order = {name: i for i, name in enumerate(dict.fromkeys(r.backend for r in results))}
    records.sort(key=lambda rec: (backend_order[rec.backend], order[rec.case_id]))
    return records


@dataclass(frozen=True)
class Counts:
    """One backend's totals."""

    runnable: int
    agree: int
    disagree: int
    weaker_than_openssl: int
    not_runnable: int
    error: int


def summarize(records: Iterable[Record], backends: Sequence[str]) -> dict[str, Counts]:
    """Per backend, in *backends* order: how many results of each class."""
    tally: dict[str, Counter[str]] = {name: Counter() for name in backends}
    for rec in records:
        tally.setdefault(rec.backend, Counter())[rec.result] += 1
    out = {}
    for name, c in tally.items():
        runnable = c[AGREE] + c[DISAGREE] + c[WEAKER_THAN_OPENSSL] + c[ERROR]
        out[name] = Counts(
            runnable, c[AGREE], c[DISAGREE], c[WEAKER_THAN_OPENSSL], c[NOT_RUNNABLE], c[ERROR]
        )
    return out


# --------------------------------------------------------------------------- allowlist


@dataclass(frozen=True)
class Allowance:
    """An accepted WEAKER_THAN_OPENSSL result: case, backends, and why it is fine."""

    case_id: str
    backends: tuple[str, ...]
    reason: str
    line: int


def load_allowlist(path: Path) -> list[Allowance]:
    """Parse ``case id | backend[, backend...] | reason`` lines (``#`` lines are comments).

    :raises ValueError: a line is malformed or has no reason.
    """
    if not path.exists():
        return []
    out = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{path}:{number}: expected 'case id | backend[, ...] | reason'")
        backends = tuple(b.strip() for b in parts[1].split(",") if b.strip())
        out.append(Allowance(parts[0], backends, parts[2], number))
    return out


def unallowed_weaker(
    records: Iterable[Record], allowlist: Sequence[Allowance]
) -> tuple[list[Record], list[Allowance]]:
    """``(weaker results no entry allows, entries that allowed nothing)``."""
    allowed = {(a.case_id, b): a for a in allowlist for b in a.backends}
    used: set[int] = set()
    bad = []
    for rec in records:
        if rec.result != WEAKER_THAN_OPENSSL:
            continue
        entry = allowed.get((rec.case_id, rec.backend))
        if entry is None:
            bad.append(rec)
        else:
            used.add(entry.line)
    return bad, [a for a in allowlist if a.line not in used]


# --------------------------------------------------------------------------- outputs


def _libraries(backends: Sequence[str]) -> dict[str, str]:
    """backend name -> the library it reports."""
    return {name: tls_adapter.get_backend(name).capabilities.library for name in backends}


def _relative(path: Path) -> str:
    """*path* relative to the checkout when inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def write_json(
    path: Path,
    *,
    output: RunOutput,
    records: Sequence[Record],
    backends: Sequence[str],
    limbo: Path,
    case_count: int,
    generated: datetime.datetime,
) -> None:
    """Every record, the per-backend counts and the run's setup, as JSON."""
    counts = summarize(records, backends)
    data: dict[str, Any] = {
        "generated": generated.isoformat(timespec="seconds"),
        "duration_s": round(output.duration, 1),
        "limbo": {
            "file": _relative(limbo),
            "upstream": "https://github.com/C2SP/x509-limbo",
            "upstream_commit": UPSTREAM_COMMIT,
            "cases": case_count,
        },
        "stdlib_ssl": ssl.OPENSSL_VERSION,
        "python": platform.python_version(),
        "backends": {
            name: {"library": lib, "faketime": output.faketime.get(name, "not needed")}
            for name, lib in _libraries(backends).items()
        },
        "summary": {name: asdict(c) for name, c in counts.items()},
        "results": [asdict(rec) for rec in records],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # One result per line: readable, diffable, and a third of the size of indented JSON.
    results = data.pop("results")
    head = json.dumps(data, indent=1)[:-2]
    rows = ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in results)
    tmp.write_text(f'{head},\n "results": [\n{rows}\n ]\n}}\n', encoding="utf-8")
    os.replace(tmp, path)


def _ids(records: Iterable[Record]) -> str:
    """Case ids as inline code, comma separated."""
    return ", ".join(f"`{rec.case_id}`" for rec in records)


def _by_class(records: Sequence[Record]) -> list[str]:
    """Markdown bullets: one per rule class, listing its case ids."""
    order = [name for name, _ in RULE_CLASSES] + ["other"]
    groups: dict[str, list[Record]] = {}
    for rec in records:
        groups.setdefault(rec.rule_class, []).append(rec)
    return [
        f"- {name} ({len(groups[name])}): {_ids(groups[name])}" for name in order if name in groups
    ]


def _section(title: str, records: Sequence[Record]) -> list[str]:
    """A bold title with a count and the ids grouped by rule class, or nothing."""
    if not records:
        return []
    return [f"**{title} ({len(records)}):**", "", *_by_class(records), ""]


def render_markdown(
    *,
    output: RunOutput,
    records: Sequence[Record],
    backends: Sequence[str],
    case_count: int,
    json_path: Path,
    allowlist_path: Path,
    allowlist: Sequence[Allowance],
    generated: datetime.datetime,
) -> str:
    """The ``docs/limbo.md`` page."""
    counts = summarize(records, backends)
    libraries = _libraries(backends)
    bad, _ = unallowed_weaker(records, allowlist)
    lines = [
        "# x509-limbo through real handshakes",
        "",
        f"Generated {generated.isoformat(timespec='seconds')} by `nox -s limbo` "
        f"(`python -m tools.limbo`) in {output.duration:.0f} s. Every result with the "
        f"backend's own error message: `{_relative(json_path)}`.",
        "",
        f"The {case_count} cases of [x509-limbo](https://github.com/C2SP/x509-limbo) "
        f"(commit `{UPSTREAM_COMMIT[:12]}`, copied to `tests/data/x509_limbo/`) are run "
        "as TLS handshakes over in-memory buffers against the standard library's `ssl` "
        f"({ssl.OPENSSL_VERSION}, TLS 1.2 and 1.3, `@SECLEVEL=0` so that odd certificates "
        "still load). For a SERVER case the stdlib server presents the case's leaf and "
        "intermediates, and the backend's client, trusting exactly the case's roots, "
        "connects with `server_hostname` set to the expected peer name; for a CLIENT case "
        "the backend's server requires a client certificate from the case's roots and the "
        "stdlib client presents the case's chain. A backend *accepts* when its handshake "
        "completes and a few bytes of application data go both ways; it *rejects* when it "
        "raises any `TLSError`, usually `CertificateValidationError`. Cases with a fixed "
        "validation time run in a child process under Debian's `faketime`, the wall clock "
        "frozen at that time, for each backend that a probe shows honours it.",
        "",
        "- **agree**: the verdict is limbo's expected result.",
        "- **disagree**: it is not (accepted an invalid chain, or rejected a valid one). "
        "The backends have no revocation checking, no maximum chain depth and no "
        "certificate policies to configure, so limbo's cases on those are expected "
        "disagreements.",
        "- **weaker than openssl**: accepted a chain that limbo says is invalid and that "
        "the `openssl` backend rejected (counted here, not under disagree). Accepting a "
        "chain limbo says is valid counts as agree even where `openssl` rejected it.",
        "- **not runnable**: no handshake is possible (no leaf key, an e-mail peer name, "
        "a chain the stdlib server cannot load), or the backend cannot take part (no "
        "client authentication, clock not fakeable).",
        "",
        "## Summary",
        "",
        "| backend | library | runnable | agree | disagree | weaker than openssl "
        "| not runnable | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in backends:
        c = counts[name]
        lines.append(
            f"| `{name}` | {libraries[name]} | {c.runnable} | {c.agree} | {c.disagree} "
            f"| {c.weaker_than_openssl} | {c.not_runnable} | {c.error} |"
        )
    lines += ["", "Faked time (`faketime`), per backend:", ""]
    lines += [f"- `{name}`: {output.faketime.get(name, 'not needed')}" for name in backends]
    lines += [
        "",
        f"Allowed weaker-than-openssl results (`{_relative(allowlist_path)}`): "
        f"{len(allowlist)} entries; not allowed: {len(bad)}.",
        "",
        "## Per backend",
        "",
        "Case ids by rule class (a keyword table in `tools/limbo/cases.py`).",
        "",
    ]
    for name in backends:
        mine = [rec for rec in records if rec.backend == name]
        lines += [f"### `{name}`", ""]
        weaker = [rec for rec in mine if rec.result == WEAKER_THAN_OPENSSL]
        accepted = [rec for rec in mine if rec.result == DISAGREE and rec.verdict == ACCEPT]
        rejected = [rec for rec in mine if rec.result == DISAGREE and rec.verdict == REJECT]
        errors = [rec for rec in mine if rec.result == ERROR]
        body = (
            _section("Weaker than openssl", weaker)
            + _section("Disagree: accepted, limbo expects FAILURE", accepted)
            + _section("Disagree: rejected, limbo expects SUCCESS", rejected)
            + _section("Errors", errors)
        )
        lines += body or ["Every runnable case agrees with limbo.", ""]
    lines += ["## Not runnable", "", "Cases, by reason (all backends unless named):", ""]
    reasons: dict[str, dict[str, set[str]]] = {}
    for rec in records:
        if rec.result == NOT_RUNNABLE:
            reasons.setdefault(_reason_key(rec.detail), {}).setdefault(rec.case_id, set()).add(
                rec.backend
            )
    for reason, per_case in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
        who = set().union(*per_case.values())
        scope = "" if who == set(backends) else f" ({', '.join(sorted(who))})"
        plural = "case" if len(per_case) == 1 else "cases"
        lines.append(f"- {reason}{scope}: {len(per_case)} {plural}")
    lines.append("")
    return "\n".join(lines)


def _reason_key(detail: str) -> str:
    """A not-runnable reason without the parts that differ per backend or case."""
    for marker in (" does not honour faketime", " did not reject a certificate"):
        if marker in detail:
            return "backend" + marker
    for prefix in ("the stdlib ssl peer cannot load the leaf and key",):
        if detail.startswith(prefix):
            return detail.split(" (_ssl.c", 1)[0]
    return detail


def format_summary(counts: Mapping[str, Counts]) -> str:
    """One line: ``backend runnable/agree/disagree/weaker`` per backend."""
    return "; ".join(
        f"{name} {c.runnable}/{c.agree}/{c.disagree}/{c.weaker_than_openssl}"
        for name, c in counts.items()
    )
