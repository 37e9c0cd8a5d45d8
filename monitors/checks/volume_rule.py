"""The invoice-volume rule (issue 23, item 2): each new day's invoices against its own kind of day.

A day's **kind** is the 1st of the month, or else its weekday: about a third of all invoices fall
on the 1st, so a 1st is compared with earlier 1sts and a Thursday with earlier Thursdays (1sts
left out). Its **baseline** is the ``history_days`` most recent earlier days of the same kind
that the warehouse covers (from its first invoice day on; a covered day without invoices counts
as 0). With fewer than ``min_history_days`` such days, or a baseline median of 0 (that kind of
day usually has none), the day is not judged.

Two measures per day, each against the median ``m`` and the median absolute deviation ``MAD`` of
its baseline, with the band ``m ± max(band_mads × 1.4826 × MAD, min_band × m)`` (1.4826 × MAD is
the standard deviation of a normal sample, robust to the odd day in the baseline; the
``min_band`` floor keeps a steady series from turning every small wobble into an alert):

* **invoices** (the count of invoices created that day): outside the band either way, *too few*
  (a short delivery) or *too many* (a delivery sent twice);
* **paid USD** (the USD of that day's paid invoices): below the band only. A day of unusually
  large payments is a business event the swing rule reports; a delivery sent twice already shows
  in the count and as re-sent invoices.

A value exactly on the band's edge is inside. Pure Python: the SQL that counts the days is in
:mod:`monitors.checks.volume_expectation`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from monitors.checks.robust_scale import MAD_TO_SIGMA

INVOICES, PAID_USD = "invoices", "paid_usd"
TOO_FEW, TOO_MANY = "too few", "too many"
_OFF = ("false", "0", "no", "off")


@dataclass(frozen=True)
class VolumeRule:
    """The volume settings (``volume_*`` vars of ``dbt/dbt_project.yml``)."""

    history_days: int = 8
    min_history_days: int = 4
    band_mads: float = 5.0
    min_band: float = 0.5
    enabled: bool = True


DEFAULT_VOLUME_RULE = VolumeRule()


def volume_rule_from_vars(variables: Mapping[str, Any]) -> VolumeRule:
    """The rule as the dbt project's vars set it (defaults for the missing ones)."""
    d = DEFAULT_VOLUME_RULE
    return VolumeRule(
        history_days=int(variables.get("volume_history_days", d.history_days)),
        min_history_days=int(variables.get("volume_min_history_days", d.min_history_days)),
        band_mads=float(variables.get("volume_band_mads", d.band_mads)),
        min_band=float(variables.get("volume_min_band", d.min_band)),
        enabled=str(variables.get("volume_enabled", d.enabled)).strip().lower() not in _OFF,
    )


def day_kind(day: date) -> str:
    """``1st of the month`` or the weekday's name."""
    return "1st of the month" if day.day == 1 else day.strftime("%A")


def _month_before(day: date) -> date:
    return date(day.year - (day.month == 1), day.month - 1 or 12, 1)


def baseline_days(day: date, count: int, first_day: date) -> list[date]:
    """The ``count`` most recent days of ``day``'s kind before it, none before ``first_day``."""
    days: list[date] = []
    current = day
    while len(days) < count:
        if day.day == 1:
            current = _month_before(current)
        else:
            current -= timedelta(days=7)
            if current.day == 1:
                continue
        if current < first_day:
            break
        days.append(current)
    return days


@dataclass(frozen=True)
class Band:
    """A baseline's median and the band around it."""

    median: float
    low: float
    high: float
    history: int


def band(values: list[float], rule: VolumeRule) -> Band:
    """The band of ``values`` (the baseline) under ``rule``."""
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    width = max(rule.band_mads * MAD_TO_SIGMA * mad, rule.min_band * abs(median))
    return Band(median, median - width, median + width, len(values))


@dataclass(frozen=True)
class DayFigures:
    """One day's invoices and paid USD (0 for a covered day without invoices)."""

    invoices: int = 0
    paid_usd: float = 0.0


def judge(checked: Iterable[date], figures: Mapping[date, DayFigures], first_day: date,
          rule: VolumeRule, loads: Mapping[date, int] | None = None) -> list[dict[str, Any]]:
    """One flagged row per (day, measure) outside its band, in day order; a day with too little
    history is skipped. ``loads``: the delivery (load id) that brought each checked day."""
    flagged = []
    for day in sorted(checked):
        history = baseline_days(day, rule.history_days, first_day)
        if len(history) < rule.min_history_days:
            continue
        today = figures.get(day, DayFigures())
        for measure, both_ways in ((INVOICES, True), (PAID_USD, False)):
            value = float(getattr(today, measure))
            b = band([float(getattr(figures.get(h, DayFigures()), measure)) for h in history],
                     rule)
            if b.median <= 0:  # this kind of day usually has none: nothing to compare with
                continue
            direction = TOO_FEW if value < b.low else TOO_MANY if both_ways and value > b.high \
                else None
            if direction:
                flagged.append({
                    "day": day.isoformat(), "kind": day_kind(day), "measure": measure,
                    "direction": direction, "observed": value, "median": b.median,
                    "low": b.low, "high": b.high, "history_days": b.history,
                    "load_id": (loads or {}).get(day),
                })
    return flagged


def _amount(measure: str, value: float) -> str:
    return f"{value:,.0f}" if measure == INVOICES else f"${value:,.0f}"


def describe(row: Mapping[str, Any]) -> str:
    """``invoices on 2024-05-02 (Thursday): 6, too few; expected 34 .. 102 (median 68 of 8
    earlier Thursdays); load 3``: what the console, Slack and the report say."""
    measure = "invoices" if row["measure"] == INVOICES else "paid USD"
    kind = row["kind"]
    earlier = "1sts of the month" if kind.startswith("1st") else f"{kind}s"
    low, high = max(row["low"], 0.0), row["high"]
    expected = (f"expected {_amount(row['measure'], low)} .. {_amount(row['measure'], high)}"
                if row["measure"] == INVOICES else
                f"expected at least {_amount(row['measure'], low)}")
    load = f"; delivered by load {row['load_id']}" if row.get("load_id") is not None else ""
    return (f"{measure} on {row['day']} ({kind}): {_amount(row['measure'], row['observed'])}, "
            f"{row['direction']}; {expected} (median {_amount(row['measure'], row['median'])} "
            f"of {row['history_days']} earlier {earlier}){load}")
