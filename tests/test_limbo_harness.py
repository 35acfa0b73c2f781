"""The x509-limbo harness (``python -m tools.limbo``) gives real verdicts, not a rubber stamp.

A handful of cases go through the real command on the ``openssl`` backend, from a
limbo file written here: limbo's own valid chain (accepted) and wrong-name chain
(rejected), the valid chain with its name or its trust anchor swapped (both must be
rejected), one without a key (not runnable), and an expired leaf run under
``faketime`` (rejected) next to one valid from exactly the faked second (accepted).

The command is run as a child process, as ``nox -s limbo`` runs it: ``tools/`` is not
an importable package for mypy, and a child also proves the CLI and its outputs.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIMBO = ROOT / "tests" / "data" / "x509_limbo" / "limbo.json"

VALID = "webpki::san::exact-dns-san"
WRONG_NAME = "webpki::san::mismatch-domain-san"
EXPIRED = "rfc5280::validity::expired-leaf"
NOTBEFORE_EXACT = "rfc5280::validity::notbefore-exact"
HAS_FAKETIME = shutil.which("faketime") is not None


def _tampered_limbo(path: Path) -> None:
    """Write a limbo file of real cases plus three tampered copies of the valid one."""
    with open(LIMBO, encoding="utf-8") as f:
        data = json.load(f)
    by_id = {case["id"]: case for case in data["testcases"]}
    valid = by_id[VALID]
    wrong_name = copy.deepcopy(valid)
    wrong_name.update(id="tampered::name", expected_result="FAILURE")
    wrong_name["expected_peer_name"] = {"kind": "DNS", "value": "other.test"}
    wrong_root = copy.deepcopy(valid)
    wrong_root.update(id="tampered::root", expected_result="FAILURE")
    wrong_root["trusted_certs"] = by_id[WRONG_NAME]["trusted_certs"]
    assert wrong_root["trusted_certs"] != valid["trusted_certs"]
    keyless = copy.deepcopy(valid)
    keyless.update(id="tampered::no-key", peer_certificate_key=None)
    chosen = [valid, by_id[WRONG_NAME], wrong_name, wrong_root, keyless]
    chosen += [by_id[EXPIRED], by_id[NOTBEFORE_EXACT]]
    data["testcases"] = chosen
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], str, str]:
    """``(exit status, results JSON, Markdown, stderr)`` of one harness run."""
    tmp = tmp_path_factory.mktemp("limbo")
    limbo, out, page = tmp / "limbo.json", tmp / "results.json", tmp / "limbo.md"
    _tampered_limbo(limbo)
    command = [sys.executable, "-m", "tools.limbo", "--backends", "openssl"]
    command += ["--limbo", str(limbo), "--json", str(out), "--markdown", str(page)]
    command += ["--allowlist", str(tmp / "none.txt")]
    proc = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.exists(), proc.stderr
    return proc.returncode, json.loads(out.read_text()), page.read_text(), proc.stderr


def _result(data: dict[str, Any], case_id: str) -> dict[str, Any]:
    """The one result for *case_id*."""
    found: list[dict[str, Any]] = [r for r in data["results"] if r["case_id"] == case_id]
    assert len(found) == 1, found
    return found[0]


def test_limbo_verdicts_as_expected(run: tuple[int, dict[str, Any], str, str]) -> None:
    """limbo's valid chain is accepted, its wrong-name chain rejected."""
    status, data, _, stderr = run
    assert status == 0, stderr
    valid, wrong = _result(data, VALID), _result(data, WRONG_NAME)
    assert (valid["verdict"], valid["result"]) == ("ACCEPT", "AGREE")
    assert (wrong["verdict"], wrong["result"]) == ("REJECT", "AGREE")
    assert "CertificateValidationError" in wrong["detail"]


def test_tampered_chains_rejected(run: tuple[int, dict[str, Any], str, str]) -> None:
    """The same valid chain fails once its name or trust anchor is wrong."""
    _, data, _, _ = run
    for case_id in ("tampered::name", "tampered::root"):
        result = _result(data, case_id)
        assert result["verdict"] == "REJECT", result
        assert "CertificateValidationError" in result["detail"]
    keyless = _result(data, "tampered::no-key")
    assert keyless["verdict"] == "NOT_RUNNABLE"
    assert "peer_certificate_key" in keyless["detail"]


@pytest.mark.skipif(not HAS_FAKETIME, reason="faketime is not installed")
def test_validity_under_faketime(run: tuple[int, dict[str, Any], str, str]) -> None:
    """Timed cases really run at their time: expired rejected, valid-from-now accepted."""
    _, data, _, _ = run
    assert data["backends"]["openssl"]["faketime"].startswith("honoured")
    expired, exact = _result(data, EXPIRED), _result(data, NOTBEFORE_EXACT)
    assert expired["verdict"] == "REJECT"
    assert "expired" in expired["detail"]
    assert exact["verdict"] == "ACCEPT"


def test_reports(run: tuple[int, dict[str, Any], str, str]) -> None:
    """The counts and the Markdown page agree with the results."""
    _, data, page, stderr = run
    runnable = 6 if HAS_FAKETIME else 4
    assert data["summary"]["openssl"] == {
        "runnable": runnable,
        "agree": runnable,
        "disagree": 0,
        "weaker_than_openssl": 0,
        "not_runnable": 7 - runnable,
        "error": 0,
    }
    assert page.startswith("# x509-limbo through real handshakes")
    assert f"| `openssl` | {data['backends']['openssl']['library']} | {runnable} |" in page
    assert "openssl 6/6/0/0" in stderr or not HAS_FAKETIME
