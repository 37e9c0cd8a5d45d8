"""Balance charts for alerts: one organization's daily balance around a flagged swing.

PNG (800x400 px) for a Slack thread, SVG (self-contained, text kept as text, no XML prolog) to
inline in an HTML page. Rendering is headless (an Agg canvas on a bare ``Figure``: no pyplot, no
display; settings only inside ``rc_context``, so not for concurrent threads) and deterministic:
the same input gives the same bytes.

May import: matplotlib, monitors.findings (and the number formats of ``monitors.alerts.digest``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from monitors.alerts.digest import format_pct, format_usd
from monitors.findings.results import SwingAlert

FORMATS = ("png", "svg")
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.0, 100  # 800 x 400 px
LINE_COLOUR = "#1f77b4"
FLAG_COLOUR = "#d62728"  # the flagged day: vertical line, point and label
PREVIOUS_COLOUR = "#7f7f7f"
ZERO_COLOUR = "#222222"
_RC = {
    "svg.fonttype": "none",  # text stays text (searchable, no glyph paths); generic font fallback
    "text.parse_math": False,  # "$1,000.00 → $2,200.00" is not mathtext
    "axes.unicode_minus": False,
    "font.family": "sans-serif",
    "font.size": 10,
}
# Drop matplotlib's version and the current date so files do not churn.
_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None, "Format": None, "Type": None},
}

Series = Sequence[tuple[str, float]]


def render_chart(
    series: Series,
    *,
    organization_id: int,
    flagged_day: str,
    previous_usd: float,
    balance_usd: float,
    change_pct: float | None,
    fmt: str = "png",
) -> bytes:
    """The chart of ``series`` (ISO day, balance USD) with ``flagged_day`` marked, as PNG or SVG.

    Raises ``ValueError`` for an unknown ``fmt``, an empty or malformed series, a day given twice,
    or a ``flagged_day`` that is not in the series.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}: expected one of {', '.join(FORMATS)}")
    points = _points(series)
    flagged = _day(flagged_day, "flagged day")
    if flagged not in dict(points):
        first, last = points[0][0], points[-1][0]
        raise ValueError(
            f"flagged day {flagged_day} is not in the series ({first.isoformat()} to "
            f"{last.isoformat()}, {len(points)} days)"
        )
    label = f"{format_usd(previous_usd)} → {format_usd(balance_usd)}"
    if change_pct is not None:
        label += f" ({format_pct(change_pct)})"
    rc = dict(_RC, **{"svg.hashsalt": f"balancewatch-{organization_id}-{flagged_day}"})
    with matplotlib.rc_context(rc):
        figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        _draw(axes, points, flagged)
        figure.suptitle(
            f"Organization {organization_id}: daily balance (USD)", fontweight="bold"
        )
        axes.set_title(f"Swing on {flagged_day}: {label}", loc="left", color=FLAG_COLOUR)
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
    data = buffer.getvalue()
    if fmt == "svg":  # inline-able: no <?xml?> prolog, no DOCTYPE (the only external URL)
        data = data[data.index(b"<svg") :]
    return data


def chart_for(swing: SwingAlert, series: Series, fmt: str = "png") -> bytes:
    """:func:`render_chart` for one recorded swing."""
    return render_chart(
        series,
        organization_id=swing.organization_id,
        flagged_day=swing.balance_date,
        previous_usd=swing.previous_balance_usd,
        balance_usd=swing.balance_usd,
        change_pct=swing.change_pct,
        fmt=fmt,
    )


def chart_filename(organization_id: int, flagged_day: str, fmt: str = "png") -> str:
    """``balance-42-2026-11-15.png``: a stable file name for an alert's chart."""
    return f"balance-{organization_id}-{flagged_day}.{fmt}"


def _draw(axes: Axes, points: list[tuple[date, float]], flagged: date) -> None:
    """Each day's balance as a step over that whole day, its point at noon."""
    days = [_noon(day) for day, _ in points]
    values = [value for _, value in points]
    by_day = dict(points)
    edges = [_noon(day) - timedelta(hours=12) for day, _ in points]
    axes.plot(
        [*edges, edges[-1] + timedelta(days=1)], [*values, values[-1]], drawstyle="steps-post",
        color=LINE_COLOUR, linewidth=1.8, label="daily balance", gid="balance",
    )
    axes.plot(days, values, linestyle="none", marker="o", markersize=2.5, color=LINE_COLOUR)
    before = flagged - timedelta(days=1)
    if before in by_day:
        axes.plot(
            [_noon(before)], [by_day[before]], linestyle="none", marker="o", markersize=7,
            markerfacecolor="white", markeredgecolor=PREVIOUS_COLOUR, markeredgewidth=1.5,
            label="day before", gid="day-before", zorder=4,
        )
    axes.axvline(_noon(flagged), color=FLAG_COLOUR, linewidth=1.2, linestyle="--", zorder=2)
    axes.plot(
        [_noon(flagged)], [by_day[flagged]], linestyle="none", marker="o", markersize=9,
        color=FLAG_COLOUR, label="flagged day", gid="flagged-day", zorder=5,
    )
    low, high = min(values), max(values)
    if low <= 0 <= high and (low < 0 or high > 0):
        axes.axhline(0, color=ZERO_COLOUR, linewidth=0.9, gid="zero-line", zorder=1)
    pad = max(timedelta(hours=18), (timedelta(days=5) - (days[-1] - days[0])) / 2)
    axes.set_xlim(days[0] - pad, days[-1] + pad)  # at least 5 days wide: ticks stay days
    if low == high:  # a flat or single-point series: give the line some room
        pad = max(abs(low) * 0.1, 1.0)
        axes.set_ylim(low - pad, high + pad)
    else:
        axes.margins(y=0.12)
    locator = AutoDateLocator(minticks=3, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    decimals = 0 if high - low >= 10 or max(abs(low), abs(high)) >= 1000 else 2
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _usd_tick(v, decimals)))
    axes.grid(True, color="#e5e5e5", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.legend(loc="best", fontsize=8, framealpha=0.9)


def _usd_tick(value: float, decimals: int) -> str:
    sign = "-" if value < 0 and round(value, decimals) != 0 else ""
    return f"{sign}${abs(value):,.{decimals}f}"


def _points(series: Series) -> list[tuple[date, float]]:
    if not series:
        raise ValueError("the series is empty: nothing to chart")
    points = sorted((_day(day, "series day"), float(value)) for day, value in series)
    for (one, _), (two, _) in zip(points, points[1:]):
        if one == two:
            raise ValueError(f"the series has day {one.isoformat()} twice")
    return points


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {text!r} is not an ISO date (YYYY-MM-DD)") from None


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12))
