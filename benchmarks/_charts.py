"""SVG charts of the speed-parity targets, drawn with matplotlib next to the report.

One chart per group of parity targets (bulk 64 KiB, bulk 8 KiB, keep-alive, new
connections, threads): per backend, one bar per target (the urllib3 shim and
TLSAdapter), the height being the ratio the verdict uses, with the 95% confidence
interval of its median as the error bar, the other ratio (wall-clock or client CPU) as
a marker, and the backend's threshold as a short dashed line across its bars. OpenSSL,
whose own targets are in the OpenSSL table, is drawn first for reference, hatched and
without a threshold.

matplotlib is imported only here and only when drawing (``nox -s bench`` installs it;
``pip install tls_adapter[bench]`` too). The SVGs are made reproducible: fixed ids, no
date, text kept as text.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CHARTS", "Chart", "draw", "missing"]


@dataclass(frozen=True)
class Chart:
    """One SVG file: a title and one or more panels, each a list of parity target ids."""

    key: str
    title: str
    #: ``(panel title, target ids)``.
    panels: tuple[tuple[str, tuple[str, ...]], ...]
    #: What the y axis shows.
    ylabel: str = "ratio to the comparator (above 1: faster)"

    @property
    def file_name(self) -> str:
        """The SVG's file name."""
        return f"parity-{self.key.replace('_', '-')}.svg"


CHARTS = (
    Chart(
        "bulk_64k",
        "Bulk download, 64 KiB reads (verdict: client CPU ratio)",
        (("", ("P1-bulk64-shim", "P1-bulk64-adapter")),),
    ),
    Chart(
        "bulk_8k",
        "Bulk download, 8 KiB reads (verdict: client CPU ratio)",
        (("", ("P1-bulk8-shim", "P1-bulk8-adapter")),),
    ),
    Chart(
        "keepalive",
        "Keep-alive requests, 100-byte responses (verdict: wall-clock ratio)",
        (("", ("P2-keepalive-shim", "P2-keepalive-adapter")),),
    ),
    Chart(
        "new_connections",
        "New connection per request (verdict: wall-clock ratio)",
        (
            ("TLS 1.3", ("P3-new13-shim", "P3-new13-adapter")),
            ("TLS 1.2", ("P3-new12-shim", "P3-new12-adapter")),
        ),
    ),
    Chart(
        "threads",
        "8 threads sharing one TLSAdapter, new connections (verdict: wall-clock)",
        (("", ("P4-threads",)),),
        ylabel="8-thread/1-thread scaling, relative to requests-stdlib's",
    ),
)

_COLOURS = {"shim": "#4C72B0", "adapter": "#DD8452"}
_LABELS = {
    "shim": "urllib3 shim / urllib3-stdlib",
    "adapter": "TLSAdapter / requests-stdlib",
}


def missing() -> str | None:
    """Why the charts cannot be drawn here, or ``None`` when they can."""
    try:
        importlib.import_module("matplotlib")
    except ImportError as e:
        return f"matplotlib is not installed ({e}); `pip install matplotlib`"
    return None


def _value(summary: dict[str, float] | None) -> float:
    return float(summary["median"]) if summary else math.nan


def _panel(ax: Any, rows: Sequence[dict[str, Any]], ids: tuple[str, ...], title: str) -> float:
    """Draw one panel; return the highest point drawn (for a shared y limit)."""
    by = {(r["id"], r["backend"]): r for r in rows if r["id"] in ids}
    backends = list(dict.fromkeys(r["backend"] for r in rows if r["id"] in ids))
    width = 0.8 / len(ids)
    top = 1.0
    threshold_drawn = marker_drawn = error_drawn = False
    labelled: set[str] = set()
    for x, backend in enumerate(backends):
        for i, target_id in enumerate(ids):
            row = by.get((target_id, backend))
            if row is None:
                continue
            centre = x - 0.4 + width * (i + 0.5)
            via = row["via"] if len(ids) > 1 else "adapter"
            height = _value(row["measured"])
            if not math.isfinite(height):
                ax.text(centre, 0.02, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
                continue
            measured = row["measured"]
            error = None
            if "ci_low" in measured:
                error = [[height - measured["ci_low"]], [measured["ci_high"] - height]]
            ax.bar(
                centre,
                height,
                width * 0.92,
                color=_COLOURS[via],
                alpha=0.45 if row["reference"] else 0.9,
                hatch="//" if row["reference"] else None,
                edgecolor="#333333",
                linewidth=0.5,
                yerr=error,
                capsize=2,
                error_kw={"elinewidth": 0.8, "ecolor": "#222222"},
                label=None if via in labelled or row["reference"] else _LABELS[via],
            )
            if not row["reference"]:
                labelled.add(via)
            error_drawn = error_drawn or error is not None
            tip = measured.get("ci_high", height)
            other = row["wall"] if row["verdict_on"] == "cpu" else row["cpu"]
            if other is not None and row["kind"] == "ratio":
                ax.plot(
                    [centre],
                    [other["median"]],
                    marker="D",
                    markersize=3.5,
                    color="#111111",
                    linestyle="none",
                    label=None
                    if marker_drawn
                    else ("wall-clock ratio" if row["verdict_on"] == "cpu" else "client CPU ratio"),
                )
                marker_drawn = True
                tip = max(tip, other["median"])
            status = row["status"]
            if status in ("PASS", "MISS"):
                tip = max(tip, row["threshold"])
            colour = "#C44E52" if status == "MISS" else "#222222"
            ax.text(
                centre,
                tip + 0.02,
                f"{height:.2f}",
                ha="center",
                va="bottom",
                fontsize=6.5,
                color=colour,
                fontweight="bold" if status == "MISS" else "normal",
            )
            top = max(top, tip + 0.12)
            if status in ("PASS", "MISS"):
                ax.hlines(
                    row["threshold"],
                    centre - width / 2,
                    centre + width / 2,
                    colors="#C44E52",
                    linestyles="dashed",
                    linewidth=1.2,
                    label=None if threshold_drawn else "target",
                )
                threshold_drawn = True
    ax.axhline(1.0, color="#888888", linewidth=0.6, linestyle=":", zorder=0)
    ax.set_xticks(range(len(backends)))
    ax.set_xticklabels([f"{b}\n(reference)" if b == "openssl" else b for b in backends])
    ax.set_xlim(-0.6, len(backends) - 0.4)
    if title:
        ax.set_title(title, fontsize=9)
    if error_drawn:
        ax.errorbar([], [], yerr=[], color="#222222", label="95% CI of the median")
    return top


def draw(rows: Sequence[dict[str, Any]], directory: Path) -> dict[str, str]:
    """Write every chart into *directory*; return ``{chart key: file name}``."""
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt = importlib.import_module("matplotlib.pyplot")
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    style = {
        "svg.hashsalt": "tls_adapter-bench",
        "svg.fonttype": "none",
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with matplotlib.rc_context(style):
        for chart in CHARTS:
            wanted = {i for _, ids in chart.panels for i in ids}
            if not any(r["id"] in wanted for r in rows):
                continue
            fig, axes = plt.subplots(
                1,
                len(chart.panels),
                figsize=(7.5 * len(chart.panels) ** 0.8, 3.4),
                squeeze=False,
                sharey=True,
            )
            top = 1.0
            for ax, (title, ids) in zip(axes[0], chart.panels, strict=True):
                top = max(top, _panel(ax, rows, ids, title))
            axes[0][0].set_ylim(0, top)
            axes[0][0].set_ylabel(chart.ylabel)
            legend: dict[str, Any] = {}
            for ax in axes[0]:
                for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                    legend.setdefault(label, handle)
            fig.legend(
                list(legend.values()),
                list(legend),
                loc="lower center",
                ncols=len(legend),
                fontsize=7,
                frameon=False,
            )
            fig.suptitle(chart.title, fontsize=10)
            fig.tight_layout(rect=(0, 0.07, 1, 1))
            fig.savefig(directory / chart.file_name, format="svg", metadata={"Date": None})
            plt.close(fig)
            written[chart.key] = chart.file_name
    return written
