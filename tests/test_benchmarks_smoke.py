"""The benchmark's smoke mode (``python -m benchmarks --quick``) against a real nginx.

It checks that the run completes and that both reports hold every row the run was
configured with (every scenario x configuration, the targets, peak RSS, the C-client
ceiling, the connection checks). It asserts nothing about timings: the quick mode's
numbers are not measurements.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tls_adapter
from benchmarks._ceiling import CEILING_ROWS
from benchmarks._clients import configurations
from benchmarks._report import TARGETS, pair_name, paired_targets
from benchmarks._scenarios import scenarios

ROOT = Path(__file__).resolve().parent.parent


def _nginx() -> str | None:
    for directory in (None, "/usr/sbin", "/usr/bin", "/sbin"):
        found = shutil.which("nginx", path=directory)
        if found:
            return found
    return None


def _backends() -> tuple[str, ...]:
    """OpenSSL (a native socket) and one backend on the generic pump, if there is one."""
    available = tls_adapter.available_backends()
    pumped = [b for b in available if not tls_adapter.get_backend(b).capabilities.native_socket]
    return ("openssl", *pumped[:1])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One smoke run; its JSON data and its Markdown report."""
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
    expected = {pair_name(*pair) for pair in paired_targets()}
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
