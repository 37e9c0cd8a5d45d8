"""A light balance chart as inline SVG for HTML pages: no plotting library, ~1 ms a chart.

The run report shows one chart per swing (dozens a run); drawing each with matplotlib cost ~0.1 s.
This draws the same picture from the same series: the daily balance as steps, the day before
(hollow point) and the flagged day (red line and point), both balances labelled, a zero line
when the balance crosses zero, USD ticks and the flagged day, with the first and last days
when their labels keep clear of it (a label never overlaps another).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from monitors.alerts.digest import format_pct, format_usd

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 50, 40
LINE, FLAG, PREVIOUS = "#1f77b4", "#d62728", "#7f7f7f"
FONT_PX = 11
EM_PER_CHAR = 0.7  # a generous width for a digit or hyphen (DejaVu Sans: 0.64 em): no font metrics
LABEL_GAP = 8  # px between two day labels at least


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / (count - 1) if high > low else 1.0
    return [low + i * step for i in range(count)]


def _label_width(text: str) -> float:
    """A day label's width in px, estimated on the generous side."""
    return len(text) * FONT_PX * EM_PER_CHAR


def _day_labels(days: Sequence[str], flag: int, xs: Sequence[float], lo: float, hi: float,
                ) -> list[tuple[float, str, str]]:
    """The x-axis labels as (x, text-anchor, day), inside ``lo``..``hi``: the flagged day always,
    over its own x but moved aside for the first and last days' labels (at the edges); either
    of those is dropped, nearest first, when the flagged label cannot keep ``LABEL_GAP`` from it."""
    last = len(days) - 1
    width = _label_width(days[flag])
    kept = sorted({0, last} - {flag}, key=lambda i: -abs(xs[i] - xs[flag]))  # nearest last
    while True:
        low, high = max(lo, xs[flag] - width), min(hi - width, xs[flag])
        if 0 in kept:
            low = max(low, lo + _label_width(days[0]) + LABEL_GAP)
        if last in kept:
            high = min(high, hi - _label_width(days[last]) - LABEL_GAP - width)
        if low <= high:
            break
        kept.pop()
    left = min(max(xs[flag] - width / 2, low), high)
    at, anchor = ((lo, "start") if left <= lo else (hi, "end") if left + width >= hi
                  else (left + width / 2, "middle"))
    labels = [(at, anchor, days[flag])]
    labels += [(lo, "start", days[0])] if 0 in kept else []
    labels += [(hi, "end", days[last])] if last in kept else []
    return sorted(labels)


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
        f'font-size="{FONT_PX}">',
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
    xs = [x(i) for i in range(len(days))]
    for at, anchor, day in _day_labels(days, flag, xs, LEFT, LEFT + plot_w):
        colour = f' fill="{FLAG}"' if day == flagged_day else ""
        parts.append(f'<text x="{at:.1f}" y="{TOP + plot_h + 16}" text-anchor="{anchor}"'
                     f"{colour}>{day}</text>")
    parts.append("</svg>")
    return "\n".join(parts)
