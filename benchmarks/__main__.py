"""``python -m benchmarks``: run the benchmark (``--quick`` for a few-second smoke run)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ._run import QUICK, STANDARD, run


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run, and return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure tls_adapter against the stdlib and its peers, against nginx.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke mode: every row for a few milliseconds (numbers are not meaningful); "
        "writes benchmarks/results/quick.*.tmp unless told otherwise",
    )
    parser.add_argument("--rounds", type=int, help=f"rounds (default {STANDARD.rounds})")
    parser.add_argument(
        "--duration",
        type=float,
        help=f"seconds per configuration per round (default {STANDARD.duration})",
    )
    parser.add_argument(
        "--paired-rounds",
        type=int,
        help=f"A B B A rounds of each paired target (default {STANDARD.paired_rounds})",
    )
    parser.add_argument(
        "--paired-duration",
        type=float,
        help=f"seconds per slice of a paired target (default {STANDARD.paired_duration})",
    )
    parser.add_argument("--rss-runs", type=int, help="peak-RSS probes per configuration")
    parser.add_argument("--ceiling-rounds", type=int, help="rounds of the C-client ceiling")
    parser.add_argument(
        "--backends", help="comma-separated backends (default: every available one)"
    )
    parser.add_argument("--json", type=Path, help="where to write the JSON results")
    parser.add_argument("--markdown", type=Path, help="where to write the Markdown report")
    parser.add_argument(
        "--charts",
        type=Path,
        help="directory for the SVG charts (default: _static/bench beside the Markdown "
        "report; with --quick, <report>.charts.tmp)",
    )
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="do not install nginx-light with apt-get when nginx is missing",
    )
    args = parser.parse_args(argv)
    options = QUICK if args.quick else STANDARD
    changes: dict[str, object] = {}
    for name, value in (
        ("rounds", args.rounds),
        ("duration", args.duration),
        ("paired_rounds", args.paired_rounds),
        ("paired_duration", args.paired_duration),
        ("rss_runs", args.rss_runs),
        ("ceiling_rounds", args.ceiling_rounds),
        ("json_path", args.json),
        ("markdown_path", args.markdown),
        ("charts_dir", args.charts),
    ):
        if value is not None:
            changes[name] = value
    if args.backends:
        changes["backends"] = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    if args.no_install:
        changes["install_nginx"] = False
    options = replace(options, **changes)  # type: ignore[arg-type]
    if options.rounds < 1 or options.duration <= 0:
        parser.error("--rounds must be >= 1 and --duration > 0")
    if options.paired_rounds < 1 or options.paired_duration <= 0:
        parser.error("--paired-rounds must be >= 1 and --paired-duration > 0")
    run(options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
