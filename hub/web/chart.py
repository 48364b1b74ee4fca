"""Server-rendered SVG charts (no script, readable offline): runs per hour or day by status as
stacked bars, and labelled horizontal bars for figures such as percentiles and failure rates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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


def day_bars(counts: dict[date, dict[str, int]], first: date, days: int) -> list[Bar]:
    """One bar per UTC day from `first`, oldest first, from {day: {status: count}}."""
    bars = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        bars.append(Bar(datetime.combine(day, time(), UTC), dict(counts.get(day, {}))))
    return bars


def render_svg(
    bars: list[Bar],
    title: str,
    labels: dict[str, str],
    *,
    chart_id: str = "chart-title",
    tick: str = "%H",
    tip: str = "%H:00",
    tick_every: int = 3,
) -> str:
    """An accessible SVG: a <title>, one labelled rect per status and bar, a tick every `tick_every`
    bars (hours by default)."""
    tip_format = tip
    peak = max((sum(b.counts.values()) for b in bars), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(bars), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}" class="chart">',
        f'<title id="{chart_id}">{escape(title)}</title>',
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
            tip = f"{bar.start.strftime(tip_format)} {labels.get(status, status)}: {count}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(tip)}</title></rect>'
            )
        if i % tick_every == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="11">'
                f"{bar.start.strftime(tick)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class HBar:
    label: str
    value: float | None
    colour: str = "#1565c0"
    text: str = ""  # the value as shown; the number itself when empty


def render_hbars(rows: list[HBar], title: str, chart_id: str) -> str:
    """Labelled horizontal bars on one scale (a missing value draws no bar and shows a dash)."""
    peak = max((r.value for r in rows if r.value), default=0) or 1
    label_w, row_h, width = 200, 22, WIDTH
    height = TOP * 2 + row_h * max(len(rows), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}" class="chart">',
        f'<title id="{chart_id}">{escape(title)}</title>',
    ]
    plot_w = width - label_w - 90
    for i, row in enumerate(rows):
        y = TOP + i * row_h
        shown = row.text or ("—" if row.value is None else f"{row.value:g}")
        label = escape(row.label)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">{label}</text>')
        w = plot_w * (row.value or 0) / peak
        if row.value:
            parts.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 6}" '
                f'fill="{row.colour}"><title>{escape(row.label)}: {escape(shown)}</title></rect>'
            )
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12">{escape(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)
