"""The x509-limbo test cases as typed values, and the rule class each one exercises."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_LIMBO",
    "REPO_ROOT",
    "RULE_CLASSES",
    "LimboCase",
    "load_cases",
    "rule_class",
]

#: The checkout this package lives in (``tools/limbo/`` is two levels down).
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
#: The project's own copy of the vectors (see ``PROVENANCE.md`` next to it).
DEFAULT_LIMBO = REPO_ROOT / "tests" / "data" / "x509_limbo" / "limbo.json"

#: What a case is about, from keywords in its id or features: the first row with a
#: keyword found in ``"<id> <features>"`` (lower case) wins, so specific rows come first.
#: ``other`` catches the rest (the real-world ``online::`` chains among them).
RULE_CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("revocation (CRL)", ("crl::", "has-crl")),
    (
        "path building",
        (
            "max-chain-depth",
            "multiple-chains",
            "intermediate-cycle",
            "pathological-chain",
            "untrusted-root",
            "missing-intermediate",
            "swapped",
            "cve-2024-0567",
            "cryptographydotio-chain",
        ),
    ),
    ("validity", ("::validity::", "expired")),
    ("EKU", ("::eku::", "-eku")),
    (
        "name constraints",
        ("::nc::", "nc-dos", "name-constraint", "cve-2025-61727"),
    ),
    ("unknown critical extension", ("unknown-critical-extension",)),
    ("keyUsage", ("-ku-", "keyusage", "crlsign")),
    (
        "basicConstraints / CA-as-leaf",
        (
            "basic-constraints",
            "basicconstraints",
            "ca-bit",
            "ca-as-leaf",
            "inconsistent-ca-extensions",
            "pathlen::",
        ),
    ),
    (
        "key strength",
        ("p192", "dsa-", "weak-rsa", "not-divisible-by-8", "explicit-curve", "subscriber-key"),
    ),
    ("signature algorithm", ("signature-algorithm",)),
    ("hostname / SAN matching", ("::san::", "::cn::", "wrong-san")),
    (
        "structural / pedantic",
        (
            "::aki::",
            "::ski::",
            "::serial::",
            "::pc::",
            "pedantic",
            "empty-issuer",
            "empty-subject",
            "duplicate-extensions",
            "v1-cert",
            "malformed",
            "-aia",
        ),
    ),
)
OTHER = "other"


def rule_class(case_id: str, features: tuple[str, ...] = ()) -> str:
    """The :data:`RULE_CLASSES` row for a case id (and its features), or ``"other"``."""
    haystack = " ".join((case_id, *features)).lower()
    for name, keywords in RULE_CLASSES:
        if any(keyword in haystack for keyword in keywords):
            return name
    return OTHER


@dataclass(frozen=True)
class LimboCase:
    """One x509-limbo test case, with only the fields the harness uses."""

    id: str
    description: str
    features: tuple[str, ...]
    #: ``"SERVER"`` (the peer is a TLS server) or ``"CLIENT"`` (the peer is a client).
    validation_kind: str
    trusted_certs: tuple[str, ...]
    untrusted_intermediates: tuple[str, ...]
    peer_certificate: str
    peer_certificate_key: str | None
    validation_time: datetime.datetime | None
    #: ``"SUCCESS"`` or ``"FAILURE"``.
    expected_result: str
    #: ``"DNS"``, ``"IP"``, ``"RFC822"``, or ``None`` when the case names no peer.
    peer_name_kind: str | None
    peer_name_value: str | None

    @property
    def rule_class(self) -> str:
        """What rule the case exercises (see :data:`RULE_CLASSES`)."""
        return rule_class(self.id, self.features)

    @property
    def trusted_pem(self) -> bytes:
        """Every trusted root, concatenated as one PEM buffer."""
        return "".join(_pem_line(p) for p in self.trusted_certs).encode("ascii")

    @property
    def chain_pem(self) -> bytes:
        """The peer's certificate followed by the untrusted intermediates, as PEM."""
        parts = (self.peer_certificate, *self.untrusted_intermediates)
        return "".join(_pem_line(p) for p in parts).encode("ascii")


def _pem_line(pem: str) -> str:
    """*pem* ending in exactly one newline, so that blocks concatenate cleanly."""
    return pem.rstrip("\n") + "\n"


def _case(raw: dict[str, Any]) -> LimboCase:
    """A :class:`LimboCase` from one entry of ``testcases`` in ``limbo.json``."""
    when = raw.get("validation_time")
    peer = raw.get("expected_peer_name") or {}
    return LimboCase(
        id=raw["id"],
        description=raw.get("description", ""),
        features=tuple(raw.get("features") or ()),
        validation_kind=raw["validation_kind"],
        trusted_certs=tuple(raw.get("trusted_certs") or ()),
        untrusted_intermediates=tuple(raw.get("untrusted_intermediates") or ()),
        peer_certificate=raw["peer_certificate"],
        peer_certificate_key=raw.get("peer_certificate_key"),
        validation_time=datetime.datetime.fromisoformat(when) if when else None,
        expected_result=raw["expected_result"],
        peer_name_kind=peer.get("kind"),
        peer_name_value=peer.get("value"),
    )


def load_cases(path: Path = DEFAULT_LIMBO) -> list[LimboCase]:
    """Every test case of a ``limbo.json``, in file order."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return [_case(raw) for raw in data["testcases"]]
