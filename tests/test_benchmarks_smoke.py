"""The benchmark's smoke mode (``python -m benchmarks --quick``) against a real nginx.

It checks that the run completes and that both reports hold every row the run was
configured with (every scenario x configuration, the targets, the speed-parity table
and its charts, peak RSS, the C-client ceiling, the connection checks). It asserts
nothing about timings: the quick mode's numbers are not measurements. The verdict rules
of the parity table are checked on made-up numbers, without nginx.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tls_adapter
from benchmarks._ceiling import CEILING_ROWS
from benchmarks._charts import CHARTS
from benchmarks._clients import configurations
from benchmarks._report import (
    PARITY,
    PARITY_REFERENCE,
    RESUMPTION,
    TARGETS,
    evaluate_parity,
    evaluate_resumption,
    pair_name,
    paired_targets,
    parity_pairs,
    resumption_pairs,
)
from benchmarks._run import QUICK, STANDARD, charts_directory
from benchmarks._scenarios import scenarios

ROOT = Path(__file__).resolve().parent.parent


def _nginx() -> str | None:
    for directory in (None, "/usr/sbin", "/usr/bin", "/sbin"):
        found = shutil.which("nginx", path=directory)
        if found:
            return found
    return None


def _backends() -> tuple[str, ...]:
    """OpenSSL (a native socket), one backend on the generic pump and one without TLS 1.3
    (whose pairs run TLS 1.2 on both sides), as far as there are such backends here."""
    available = tls_adapter.available_backends()
    pumped = [b for b in available if not tls_adapter.get_backend(b).capabilities.native_socket]
    no_tls13 = [
        b
        for b in available
        if tls_adapter.TLSVersion.TLSv1_3
        not in tls_adapter.get_backend(b).capabilities.tls_versions
    ]
    return tuple(dict.fromkeys(("openssl", *pumped[:1], *no_tls13[:1])))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One smoke run; its JSON data and its Markdown report (charts beside it)."""
    if _nginx() is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    out = tmp_path_factory.mktemp("bench")
    backends = _backends()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--no-install",
            "--backends",
            ",".join(backends),
            "--json",
            str(out / "results.json"),
            "--markdown",
            str(out / "benchmarks.md"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data: dict[str, Any] = json.loads((out / "results.json").read_text())
    assert data["options"]["quick"] is True
    assert tuple(b["name"] for b in data["machine"]["backends"]) == backends
    data["_markdown_dir"] = str(out)
    return data, (out / "benchmarks.md").read_text()


def test_every_scenario_has_every_configured_row(quick_run: tuple[dict[str, Any], str]) -> None:
    data, markdown = quick_run
    backends = tuple(b["name"] for b in data["machine"]["backends"])
    plan = scenarios(configurations(backends), backends)
    assert [s["key"] for s in data["scenarios"]] == [s.key for s in plan]
    for scenario in plan:
        results = data["results"][scenario.key]
        assert sorted(results) == sorted(scenario.configs), scenario.key
        for row in scenario.configs:
            entry = results[row]
            assert "error" not in entry, (scenario.key, row, entry["error"])
            if "na" in entry:  # e.g. TLS 1.3 on a TLS 1.2-only backend: said why
                assert entry["na"]
                continue
            assert entry["samples"], (scenario.key, row)
            rate, _cpu_rate = entry["samples"][0]
            assert rate > 0, (scenario.key, row)
        assert f"### {scenario.title}" in markdown
        for row in scenario.configs:
            assert f"`{row.split('@', 1)[0]}`" in markdown


def test_connection_checks_hold(quick_run: tuple[dict[str, Any], str]) -> None:
    """Each configuration opened a new connection per ``Connection: close`` request,
    reused one for keep-alive, and never resumed a session (tickets are off)."""
    data, _ = quick_run
    keys = {c["key"] for c in data["configs"]}
    assert set(data["checks"]) == keys
    for key, check in data["checks"].items():
        assert "error" not in check, (key, check)
        if "na" in check:
            continue
        assert check["keepalive_one_connection"], key
        for version in ("1.3", "1.2"):
            entry = check.get(f"tls{version}")
            if entry is not None:
                assert entry["new_connection_each_time"], (key, version)
                assert entry["protocol"] == [f"TLSv{version}"], (key, version)
                assert not entry["resumed"], (key, version)


def test_targets_rss_and_ceiling_rows(quick_run: tuple[dict[str, Any], str]) -> None:
    data, markdown = quick_run
    backends = tuple(b["name"] for b in data["machine"]["backends"])
    official = [t for t in data["targets"] if t["official"]]
    assert sorted(t["id"] for t in official) == sorted(t.id for t in TARGETS if not t.diagnostic)
    assert {t["backend"] for t in data["targets"]} == set(backends)
    for target in official:
        assert target["status"] in ("PASS", "MISS"), target
        assert f"| {target['id']} |" in markdown
    assert "requests-plain" in data["rss"] and "adapter-openssl-pem" in data["rss"]
    for key, entry in data["rss"].items():
        assert "error" not in entry, (key, entry)
        assert entry["runs"] and entry["runs"][0]["peak_kib"] > 0, key
    for row, what, _unit in CEILING_ROWS:
        assert row in data["ceiling"]
        assert what in markdown
    for name, profile in data["profiles"].items():
        assert "error" not in profile, (name, profile)
        assert profile["top_tottime"], name


def test_openssl_ratio_targets_are_measured_in_pairs(
    quick_run: tuple[dict[str, Any], str],
) -> None:
    """Every OpenSSL ratio target has an A B B A measurement, and its verdict uses it."""
    data, markdown = quick_run
    backends = tuple(b["name"] for b in data["machine"]["backends"])
    expected = {pair_name(*pair) for pair in [*paired_targets(), *parity_pairs(backends)]}
    assert set(data["paired"]) == expected
    for name, entry in data["paired"].items():
        assert "error" not in entry, (name, entry)
        if "na" in entry:
            continue
        assert len(entry["subject"]) == len(entry["comparator"]) == data["options"]["paired_rounds"]
        assert all(rate > 0 for rate, _ in entry["subject"] + entry["comparator"]), name
    for target in data["targets"]:
        if target["backend"] == "openssl" and target["kind"] == "ratio":
            assert target["note"].startswith("A B B A pairs"), target["id"]
    assert "alternating A B B A" in markdown
    # T2 is measured on the adapter's send() alone, next to requests' own adapter.
    assert "`transport-openssl-pem` / `urllib3-stdlib`" in markdown
    assert "`transport-openssl-pem` / `transport-stdlib`" in markdown


# -- the speed-parity table and its charts ------------------------------------------------


def test_parity_table_has_every_target_on_every_backend(
    quick_run: tuple[dict[str, Any], str],
) -> None:
    data, markdown = quick_run
    backends = tuple(b["name"] for b in data["machine"]["backends"])
    rows = {(r["id"], r["backend"]): r for r in data["parity"]}
    assert set(rows) == {(t.id, b) for t in PARITY for b in backends}
    assert "## Speed parity (every backend)" in markdown
    # The summary matrix has a column per backend, OpenSSL last as the reference.
    header = next(line for line in markdown.splitlines() if line.startswith("| target |"))
    assert header.endswith(f"| `{PARITY_REFERENCE}` (reference) |")
    for backend in backends:
        assert f"`{backend}`" in header
    for target in PARITY:
        for backend in backends:
            row = rows[(target.id, backend)]
            assert row["subject"] == target.subject(backend)
            assert row["comparator"] == target.comparator
            if backend == PARITY_REFERENCE:
                assert row["reference"] and row["status"] in ("info", "n/a"), row
                continue
            # Each non-reference row is in the detailed table, with both ratios' columns.
            assert f"| {target.id} | {backend} | `{row['subject']}` / `{row['comparator']}` |" in (
                markdown
            )
            if target.kind == "rss":
                assert row["status"] in ("info", "n/a"), row
                continue
            assert row["threshold"] == target.threshold_for(backend)
            pair = data["paired"][pair_name(target.scenario, row["subject"], row["comparator"])]
            if row["status"] == "n/a":  # a TLS 1.3 handshake on a backend without TLS 1.3
                assert "na" in pair and row["note"] == pair["na"], row
                continue
            assert row["wall"] is not None, row
            if target.kind == "ratio":
                assert row["cpu"] is not None, row
                assert row["verdict_on"] == target.verdict_on
                assert len(pair["subject"]) == data["options"]["paired_rounds"]
            if backend in target.info_only:
                assert row["status"] == "info", row
            else:
                assert row["status"] in ("PASS", "MISS"), row
    assert "| wall-clock ratio | client CPU ratio |" in markdown
    assert "judged on the client CPU ratio" in markdown


def test_pairs_of_a_backend_without_tls13_run_tls12_on_both_sides(
    quick_run: tuple[dict[str, Any], str],
) -> None:
    """A TLS 1.2-only backend's pairs give the comparator TLS 1.2 too (and say so)."""
    data, _ = quick_run
    only_tls12 = [b for b in data["machine"]["backends"] if "TLSv1.3" not in b["tls_versions"]]
    if not only_tls12:
        pytest.skip("no backend without TLS 1.3 is available here")
    for b in only_tls12:
        entry = data["paired"][pair_name("keepalive", f"shim-{b['name']}-pem", "urllib3-stdlib")]
        assert "TLS 1.2 on both sides" in entry["note"]
        assert (
            "na"
            in data["paired"][pair_name("new_tls13", f"shim-{b['name']}-pem", "urllib3-stdlib")]
        )


def test_quick_run_draws_the_charts_beside_its_report(
    quick_run: tuple[dict[str, Any], str],
) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed (pip install tls_adapter[bench])")
    data, markdown = quick_run
    where = Path(data["_markdown_dir"])
    assert set(data["charts"]) == {c.key for c in CHARTS}
    for chart in CHARTS:
        relative = data["charts"][chart.key]
        # The quick mode's charts go to <report>.charts.tmp, never to docs/.
        assert relative == f"benchmarks.charts.tmp/{chart.file_name}"
        svg = (where / relative).read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg, chart.key
        assert "<dc:date>" not in svg  # reproducible: no date in the file
        # Text stays text: every backend's name is on the x axis.
        for b in data["machine"]["backends"]:
            assert b["name"] in svg, (chart.key, b["name"])
        assert f"![{chart.title}]({relative})" in markdown
    assert not list(where.glob("*.part.tmp")), "the staging directory was left behind"


def test_default_chart_locations() -> None:
    """A full run puts its charts in docs/_static/bench beside docs/benchmarks.md; the
    quick mode in benchmarks/results/, under a name that git ignores (``*.tmp``)."""
    root = Path(__file__).resolve().parent.parent
    assert charts_directory(STANDARD) == root / "docs" / "_static" / "bench"
    quick = charts_directory(QUICK)
    assert quick.parent == root / "benchmarks" / "results" and quick.name.endswith(".tmp")


# -- the parity verdicts, on made-up numbers ------------------------------------------------


def _pair(ratio_wall: float, ratio_cpu: float, rounds: int = 12) -> dict[str, Any]:
    spread = [0.98, 1.02] * (rounds // 2)
    return {
        "subject": [[ratio_wall * s * 100, ratio_cpu * s * 100] for s in spread],
        "comparator": [[100.0, 100.0] for _ in spread],
    }


def _scaling(value: float, rounds: int = 12) -> dict[str, Any]:
    spread = [0.98, 1.02] * (rounds // 2)
    return {
        "scaling_subject": [1.3 * value * s for s in spread],
        "scaling_comparator": [1.3 for _ in spread],
        "subject": [[value * s, value * s] for s in spread],
        "comparator": [[1.0, 1.0] for _ in spread],
    }


def test_parity_verdict_rules() -> None:
    """Bulk is judged on the client CPU ratio, rates on the wall-clock ratio; wolfssl and
    mbedtls have the lower bulk threshold; mbedtls's handshake is information only; a
    threshold inside the CI is marked as within noise."""
    backends = ("openssl", "rustls", "wolfssl", "mbedtls")
    paired: dict[str, Any] = {}
    for backend in backends:
        for target in PARITY:
            if target.kind == "rss":
                continue
            name = pair_name(target.scenario, target.subject(backend), target.comparator)
            if target.kind == "scaling":
                paired[name] = _scaling(0.95)
            elif target.scenario.startswith("bulk"):
                # Fast on the wall clock, slow per CPU second: the CPU ratio decides.
                paired[name] = _pair(1.0, 0.6)
            elif target.scenario == "keepalive":
                # Slow on the wall clock, fast per CPU second: the wall-clock ratio decides.
                paired[name] = _pair(0.9, 1.0)
            else:
                paired[name] = _pair(0.91, 0.7)  # the 0.9x threshold is inside the CI
    paired[pair_name("new_tls13", "shim-mbedtls-pem", "urllib3-stdlib")] = {"na": "no TLS 1.3"}
    rss = {
        key: {"runs": [{"peak_kib": kib}, {"peak_kib": kib}]}
        for key, kib in (("requests-plain", 30 * 1024), ("adapter-rustls-pem", 34 * 1024))
    }
    rows = evaluate_parity({"paired": paired, "rss": rss}, backends)
    by = {(r["id"], r["backend"]): r for r in rows}

    assert by[("P1-bulk64-shim", "rustls")]["status"] == "MISS"  # 0.6 < 0.8, on CPU
    assert by[("P1-bulk64-shim", "rustls")]["verdict_on"] == "cpu"
    assert by[("P1-bulk64-shim", "rustls")]["other_verdict"] == "PASS"
    assert by[("P1-bulk8-adapter", "wolfssl")]["status"] == "PASS"  # 0.6 >= 0.5
    assert by[("P1-bulk8-adapter", "mbedtls")]["threshold"] == 0.5
    assert by[("P2-keepalive-shim", "rustls")]["status"] == "MISS"  # 0.9 < 0.95, on wall
    assert by[("P2-keepalive-shim", "rustls")]["other_verdict"] == "PASS"
    new = by[("P3-new12-adapter", "rustls")]
    assert new["status"] == "PASS" and not new["conclusive"]  # 0.91 >= 0.9, within noise
    assert by[("P3-new12-adapter", "mbedtls")]["status"] == "info"
    assert by[("P3-new13-shim", "mbedtls")]["status"] == "n/a"
    assert by[("P4-threads", "wolfssl")]["status"] == "PASS"
    assert by[("P4-threads", "wolfssl")]["cpu"] is None
    assert by[("P5-rss", "rustls")]["status"] == "info"
    assert by[("P5-rss", "rustls")]["measured"]["median"] == pytest.approx(4.0)
    assert by[("P5-rss", "wolfssl")]["status"] == "n/a"
    assert {r["status"] for r in rows if r["backend"] == "openssl"} <= {"info", "n/a"}
    assert next(r["backend"] for r in rows) == "openssl"


def _resumed(pair: dict[str, Any], share: float = 1.0, theirs: float = 0.0) -> dict[str, Any]:
    connections = 1000
    pair["subject_stats"] = {
        "setup": ".rrr",
        "connections": connections,
        "resumed": round(share * connections),
    }
    pair["comparator_stats"] = {
        "setup": "....",
        "connections": connections,
        "resumed": round(theirs * connections),
    }
    return pair


def test_resumption_verdict_rules() -> None:
    """Issue 17: OpenSSL's resumption pairs are judged on the wall-clock ratio against
    1.5x (the client CPU ratio is kept, with what it would say); the other backends that
    can resume are reported without a verdict, those that cannot are "not available",
    and a pair whose resumption was not confirmed is an error, not a measurement."""
    backends = ("rustls", "openssl", "gnutls", "wolfssl")
    capable = ("openssl", "gnutls", "wolfssl")
    pairs = resumption_pairs(capable)
    assert [subject for _, subject, _ in pairs[:2]] == ["shim-openssl-resume"] * 2
    assert {comparator for _, _, comparator in pairs} == {"urllib3-stdlib"}
    paired: dict[str, Any] = {}
    for scenario, subject, comparator in pairs:
        name = pair_name(scenario, subject, comparator)
        if subject == "shim-openssl-resume" and scenario == "resume_tls13":
            paired[name] = _resumed(_pair(1.6, 1.4))  # wall-clock passes, CPU would miss
        elif subject == "shim-openssl-resume":
            paired[name] = _resumed(_pair(1.45, 1.7), share=0.98)  # misses; 98% resumed
        elif subject == "shim-wolfssl-resume" and scenario == "resume_tls12":
            paired[name] = {
                "error": "ResumptionNotConfirmed: shim-wolfssl-resume, TLS 1.2: nginx's "
                "$ssl_session_reused over 4 new connections was '....', not '.rrr'"
            }
        else:
            paired[name] = _resumed(_pair(2.0, 2.0))
    data = {"resumption": {"capable": list(capable), "paired": paired}}
    rows = evaluate_resumption(data, backends)
    by = {(r["id"], r["backend"]): r for r in rows}
    assert set(by) == {(t.id, b) for t in RESUMPTION for b in backends}
    assert rows[0]["backend"] == "openssl"

    tls13 = by[("R1-tls13", "openssl")]
    assert tls13["status"] == "PASS" and tls13["threshold"] == 1.5
    assert tls13["other_verdict"] == "MISS"  # the client CPU ratio, 1.4x
    assert tls13["cpu"]["median"] == pytest.approx(1.4)
    assert tls13["confirmed"] and tls13["resumed_share"] == 1.0
    assert tls13["comparator_resumed_share"] == 0.0
    tls12 = by[("R1-tls12", "openssl")]
    assert tls12["status"] == "MISS" and tls12["other_verdict"] == "PASS"
    assert not tls12["confirmed"]  # 98% of the timed connections resumed: not enough
    assert by[("R1-tls13", "gnutls")]["status"] == "reported"
    assert by[("R1-tls13", "gnutls")]["shortfall"] is None
    broken = by[("R1-tls12", "wolfssl")]
    assert broken["status"] == "error" and broken["confirmed"] is False
    assert broken["wall"] is None
    assert by[("R1-tls13", "rustls")]["status"] == "not available"

    markdown = render_markdown_section(data, rows)
    assert "## Session resumption (issue 17)" in markdown
    assert "| R1-tls13 | openssl | `shim-openssl-resume` / `urllib3-stdlib` | >= 1.5x |" in (
        markdown
    )
    assert "the client CPU ratio would MISS" in markdown
    assert "**partly**" in markdown and "**NO** (see notes)" in markdown
    assert "Not available on `rustls`" in markdown


def render_markdown_section(data: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The resumption section of a report holding only *data*'s resumption part."""
    from benchmarks._report import _resumption_section

    full = {
        **data,
        "options": {"paired_duration": 0.03, "paired_rounds": 40},
        "resumption_targets": rows,
    }
    return "\n".join(_resumption_section(full))
