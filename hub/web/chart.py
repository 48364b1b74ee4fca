"""Runs per hour by status as a server-rendered SVG stacked bar chart (no script, readable offline)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

COLOURS = {
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "filtered": "#9e9e9e",
    "cancelled": "#6d4c41",
    "held": "#ef6c00",
    "waiting": "#1565c0",
    "running": "#42a5f5",
    "queued": "#90caf9",
}
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 36, 24, 10


@dataclass
class Bar:
    start: datetime
    counts: dict[str, int]


def hour_bars(rows: Sequence[tuple[datetime, str]], now: datetime, hours: int = 24) -> list[Bar]:
    """Bucket (created_at, status) rows into the last `hours` whole hours, oldest first."""
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    bars = [Bar(end - timedelta(hours=hours - i), {}) for i in range(hours)]
    for created, status in rows:
        index = int((created - bars[0].start).total_seconds() // 3600)
        if 0 <= index < hours:
            bars[index].counts[status] = bars[index].counts.get(status, 0) + 1
    return bars


def render_svg(bars: list[Bar], title: str, labels: dict[str, str]) -> str:
    """An accessible SVG: a <title>, one labelled rect per status and hour, hour ticks every 3 hours."""
    peak = max((sum(b.counts.values()) for b in bars), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(bars), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 4}" y2="{TOP + plot_h}" stroke="#888"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 8}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for i, bar in enumerate(bars):
        x, y = LEFT + i * slot + 1, float(TOP + plot_h)
        for status, colour in COLOURS.items():
            count = bar.counts.get(status, 0)
            if not count:
                continue
            h = plot_h * count / peak
            y -= h
            tip = f"{bar.start:%H:00} {labels.get(status, status)}: {count}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(tip)}</title></rect>'
            )
        if i % 3 == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="11">'
                f"{bar.start:%H}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
