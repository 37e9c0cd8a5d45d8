"""A light balance chart as inline SVG for HTML pages: no plotting library, ~1 ms a chart.

The run report shows one chart per swing (dozens a run); drawing each with matplotlib cost ~0.1 s.
This draws the same picture from the same series: the daily balance as steps, the day before
(hollow point) and the flagged day (red line and point), both balances labelled, a zero line
when the balance crosses zero, USD ticks and the first, flagged and last days.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from monitors.alerts.digest import format_pct, format_usd

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 50, 40
LINE, FLAG, PREVIOUS = "#1f77b4", "#d62728", "#7f7f7f"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / (count - 1) if high > low else 1.0
    return [low + i * step for i in range(count)]


def render_svg(series: Sequence[tuple[str, float]], *, organization_id: int, flagged_day: str,
               previous_usd: float, balance_usd: float, change_pct: float | None) -> str:
    """The chart as an ``<svg>`` element (text, no external reference)."""
    days = [d for d, _ in series]
    if flagged_day not in days:
        raise ValueError(f"flagged day {flagged_day} is not in the series")
    values = [v for _, v in series]
    low, high = min(values + [0.0] if min(values) < 0 < max(values) else values), max(values)
    if high == low:
        low, high = low - 1.0, high + 1.0
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: float) -> float:
        return LEFT + (plot_w * i / max(len(days) - 1, 1))

    def y(v: float) -> float:
        return TOP + plot_h * (high - v) / (high - low)

    steps = [f"M{x(0):.1f},{y(values[0]):.1f}"]
    for i in range(1, len(values)):
        steps.append(f"H{x(i):.1f}V{y(values[i]):.1f}")
    flag = days.index(flagged_day)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" font-family="system-ui, sans-serif" '
        'font-size="11">',
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">Organization '
        f"{organization_id}: daily balance (USD)</text>",
        f'<text x="{LEFT}" y="36" fill="{FLAG}">Swing on {flagged_day}: '
        f"{html.escape(format_usd(previous_usd))} → {html.escape(format_usd(balance_usd))} "
        f"({html.escape(format_pct(change_pct))})</text>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#888"/>',
    ]
    for tick in _ticks(low, high):
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                     f"{html.escape(format_usd(round(tick)))}</text>")
    if low < 0 < high:
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
                     'stroke="#222" stroke-width="1"/>')
    parts.append(f'<path d="{"".join(steps)}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    parts.append(f'<line x1="{x(flag):.1f}" x2="{x(flag):.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
                 f'stroke="{FLAG}" stroke-dasharray="4 3"/>')
    if flag > 0:
        parts.append(f'<circle cx="{x(flag):.1f}" cy="{y(values[flag - 1]):.1f}" r="4" '
                     f'fill="white" stroke="{PREVIOUS}" stroke-width="1.5"/>')
    parts.append(f'<circle cx="{x(flag):.1f}" cy="{y(values[flag]):.1f}" r="5" fill="{FLAG}"/>')
    for i, anchor in ((0, "start"), (flag, "middle"), (len(days) - 1, "end")):
        parts.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h + 16}" text-anchor="{anchor}">'
                     f"{days[i]}</text>")
    parts.append("</svg>")
    return "\n".join(parts)
