"""Medians, ratios and the results table."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Row:
    """One comparison: our samples against a reference's, and the bar the ratio must meet.

    ratio is ours / reference (lower is better) unless `speedup`: reference / ours (higher is
    better). `unit` is "s", "ms" or "MiB".
    """

    name: str
    ours: list[float] = field(default_factory=list)
    ref: list[float] = field(default_factory=list)
    ref_name: str = "OpenSSH"
    bar: float | None = None
    speedup: bool = False
    unit: str = "s"
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.ours or not self.ref:
            return None
        ours, ref = median(self.ours), median(self.ref)
        if self.speedup:
            return ref / ours if ours else None
        return ours / ref if ref else None

    @property
    def verdict(self) -> str:
        ratio = self.ratio
        if self.bar is None or ratio is None:
            return ""
        ok = ratio >= self.bar if self.speedup else ratio <= self.bar
        return "pass" if ok else "MISS"

    def bar_text(self) -> str:
        if self.bar is None:
            return ""
        return f">= {self.bar:g}x faster" if self.speedup else f"<= {self.bar:g}x"

    def ratio_text(self) -> str:
        ratio = self.ratio
        if ratio is None:
            return ""
        return f"{ratio:.2f}x faster" if self.speedup else f"{ratio:.2f}x"


def fmt(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "-"
    if unit == "ms":
        return f"{value * 1000:.2f} ms"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    return f"{value:.3f} s"


def table(rows: Sequence[Row]) -> str:
    """A Markdown table (also readable as plain text)."""
    head = ["comparison", "codex-wizard", "reference", "ratio", "bar", "", "n"]
    lines = [head]
    for row in rows:
        ref = f"{fmt(median(row.ref), row.unit)} ({row.ref_name})" if row.ref else ""
        lines.append(
            [
                row.name,
                fmt(median(row.ours), row.unit) if row.ours else "skipped",
                ref,
                row.ratio_text(),
                row.bar_text(),
                row.verdict,
                str(len(row.ours)),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for index, line in enumerate(lines):
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=True)]
        out.append("| " + " | ".join(cells) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    notes = [f"- {row.name}: {row.note}" for row in rows if row.note]
    return "\n".join(out + (["", *notes] if notes else []))
