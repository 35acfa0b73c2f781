"""The command line of ``python -m tools.limbo``."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import tls_adapter

from .cases import DEFAULT_LIMBO, REPO_ROOT, load_cases
from .report import (
    build_records,
    format_summary,
    load_allowlist,
    render_markdown,
    summarize,
    unallowed_weaker,
    write_json,
)
from .runner import run, worker

__all__ = ["main"]

DEFAULT_JSON = REPO_ROOT / "tools" / "limbo" / "results.json"
DEFAULT_ALLOWLIST = REPO_ROOT / "tools" / "limbo" / "allowed_weaker.txt"


def _parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.limbo",
        description="Run the x509-limbo cases through real TLS handshakes, for every "
        "available backend, against the standard library's ssl as the peer.",
    )
    parser.add_argument(
        "--limbo", type=Path, default=DEFAULT_LIMBO, help="limbo.json (default: %(default)s)"
    )
    parser.add_argument(
        "--backends",
        help="comma-separated backends (default: every available one; openssl is the "
        "reference for 'weaker than openssl')",
    )
    parser.add_argument(
        "--case",
        action="append",
        default=[],
        metavar="ID",
        help="run only this case id (repeatable)",
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help="results file (default: %(default)s)"
    )
    parser.add_argument("--markdown", type=Path, help="write the Markdown report here")
    parser.add_argument(
        "--allowlist",
        type=Path,
        default=DEFAULT_ALLOWLIST,
        help="weaker-than-openssl results to accept (default: %(default)s)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    # Internal: one faketime child (started by the parent run, not by hand).
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--at", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run, write the reports, and return the exit status (1: unallowed weaker results)."""
    args = _parser().parse_args(argv)
    cases = load_cases(args.limbo)
    if args.case:
        known = {case.id for case in cases}
        unknown = sorted(set(args.case) - known)
        if unknown:
            print(f"limbo: unknown case ids: {', '.join(unknown)}", file=sys.stderr)
            return 2
        cases = [case for case in cases if case.id in set(args.case)]
    available = tls_adapter.available_backends()
    backends = args.backends.split(",") if args.backends else list(available)
    missing = [name for name in backends if name not in available]
    if missing:
        print(f"limbo: backends not available here: {', '.join(missing)}", file=sys.stderr)
        return 2

    if args.worker:
        at = datetime.datetime.fromisoformat(args.at)
        json.dump(worker(cases, backends, at), sys.stdout)
        return 0

    def progress(message: str) -> None:
        """A progress line on stderr."""
        if not args.quiet:
            print(f"limbo: {message}", file=sys.stderr, flush=True)

    output = run(cases, backends, limbo=args.limbo, progress=progress)
    generated = datetime.datetime.now(datetime.timezone.utc)
    records = build_records(cases, output.results)
    allowlist = load_allowlist(args.allowlist)
    write_json(
        args.json,
        output=output,
        records=records,
        backends=backends,
        limbo=args.limbo,
        case_count=len(cases),
        generated=generated,
    )
    if args.markdown:
        text = render_markdown(
            output=output,
            records=records,
            backends=backends,
            case_count=len(cases),
            json_path=args.json,
            allowlist_path=args.allowlist,
            allowlist=allowlist,
            generated=generated,
        )
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text, encoding="utf-8")
    bad, stale = unallowed_weaker(records, allowlist)
    for entry in stale:
        progress(f"allowlist line {entry.line} ({entry.case_id}) matched nothing")
    by_backend: dict[str, list[str]] = {}
    for rec in bad:
        by_backend.setdefault(rec.backend, []).append(rec.case_id)
    for name, ids in by_backend.items():
        progress(f"weaker than openssl, not in the allowlist: {name}: {', '.join(ids)}")
    counts = summarize(records, backends)
    print(
        f"limbo: {len(cases)} cases x {len(backends)} backends in {output.duration:.1f} s "
        f"(runnable/agree/disagree/weaker): {format_summary(counts)}; "
        f"{len(bad)} weaker-than-openssl not allowed",
        file=sys.stderr,
    )
    return 1 if bad else 0
