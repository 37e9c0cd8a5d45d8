"""The FX-rate sanity rule (issue 23, item 3) as one SQL query per dialect.

``FX_RATE`` is units of the currency per 1 USD (docs/contract.md §1). For every currency and day
of the checked invoices, the *expected rate* is the currency's trailing median: the median of its
daily mean rates on the ``window_days`` calendar days before that day, read from the whole
``stg_invoices`` table (the history before the checked rows). A day with fewer than
``min_history_days`` days with rates in that window is not judged. Each checked invoice is then
judged on its own, so one wrong invoice among a hundred right ones is caught:

* **inverted**: ``|rate × expected − 1| ≤ 0.05`` (within 5 % of ``1 / expected``) and
  ``|rate / expected − 1| > 0.10``, the second keeping currencies near parity (USD, USDC, pegs,
  whose inverse is their own rate) out of it. EUR at 0.92 sent as 1.087 is inverted although it is
  only 18 % off, inside the default band.
* **off**: ``|rate / expected − 1| > band`` (strictly; 1e-9 of floating-point noise tolerated, so
  a rate exactly at the band passes).

Why a median of daily means: one value per day keeps the window's median cheap (a whole-table
check ranks ~100k currency-days, not 12.7M invoices) and robust (a bad day moves its own mean, but
one day of a window of at least ``min_history_days`` cannot move the median). SQLite has no
``percentile_cont``: the median is the middle row(s) of ``row_number()`` over ``count()`` in the
window, the same SQL on every engine (``2 × position`` between ``n`` and ``n + 2`` picks the
middle one or two without integer division, which Spark's ``/`` does not do).

One unexpected row per (currency, day, kind): the rate furthest from the expected one, the expected
rate, the invoices affected (count, smallest id), the history days behind the median, and the
number of such rows (``flagged_days``, on every row). Worst first: inverted, then by deviation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitors.checks.sql_dates import days_after_sql, days_before_sql

INVERSE_TOLERANCE = 0.05  # inverted: within 5 % of 1 / expected ...
INVERSE_MIN_DEVIATION = 0.10  # ... and more than 10 % from the expected rate
FLOAT_NOISE = 1e-9  # a rate exactly at the band passes


@dataclass(frozen=True)
class FxRule:
    """The FX-rate sanity settings (``fx_rate_*`` vars of ``dbt/dbt_project.yml``)."""

    band: float = 0.25
    window_days: int = 30
    min_history_days: int = 5
    enabled: bool = True


DEFAULT_FX_RULE = FxRule()


def fx_rule_from_vars(variables: dict[str, Any]) -> FxRule:
    """The rule as the dbt project's vars set it (defaults for the missing ones)."""
    default = FxRule()
    enabled = variables.get("fx_rate_enabled", default.enabled)
    return FxRule(
        band=float(variables.get("fx_rate_band", default.band)),
        window_days=int(variables.get("fx_rate_window_days", default.window_days)),
        min_history_days=int(variables.get("fx_rate_min_history_days",
                                           default.min_history_days)),
        enabled=str(enabled).strip().lower() not in ("false", "0", "no", "off"),
    )


def fx_rate_query(rule: FxRule, dialect: str) -> str:
    """The unexpected-rows query of the rule on ``dialect`` (``{batch}``: the checked rows)."""
    first_day = days_before_sql("(select min(created_date) from checked_days)",
                                rule.window_days, dialect)
    deviation = "abs(j.rate / j.expected_rate - 1)"
    return f"""{_offsets(rule.window_days, dialect)}, checked as (
    select invoice_id, currency, created_date, fx_rate from {{batch}} as batch_rows
    where fx_rate > 0 and currency is not null and created_date is not null
), checked_days as (
    select distinct currency, created_date from checked
), daily as (
    select currency, created_date, avg(fx_rate) as rate from stg_invoices
    where fx_rate > 0 and created_date >= {first_day}
    and created_date < (select max(created_date) from checked_days)
    group by currency, created_date
), ranked as (
    select c.currency, c.created_date, d.rate,
    row_number() over (partition by c.currency, c.created_date order by d.rate) as rank_in_window,
    count(*) over (partition by c.currency, c.created_date) as history_days
    from daily as d cross join offsets as o join checked_days as c on c.currency = d.currency
    and c.created_date = {days_after_sql("d.created_date", "o.k", dialect)}
), expected as (
    select currency, created_date, avg(rate) as expected_rate, max(history_days) as history_days
    from ranked where 2 * rank_in_window between history_days and history_days + 2
    group by currency, created_date having max(history_days) >= {int(rule.min_history_days)}
), judged as (
    select c.currency, c.created_date, c.invoice_id, c.fx_rate as rate, e.expected_rate,
    e.history_days, case
        when abs(c.fx_rate * e.expected_rate - 1) <= {INVERSE_TOLERANCE}
         and abs(c.fx_rate / e.expected_rate - 1) > {INVERSE_MIN_DEVIATION} then 'inverted'
        when abs(c.fx_rate / e.expected_rate - 1) > {float(rule.band) + FLOAT_NOISE} then 'off'
    end as kind
    from checked as c join expected as e
    on e.currency = c.currency and e.created_date = c.created_date
), flagged as (
    select currency, created_date, kind, expected_rate, history_days,
    case when max(rate) * min(rate) >= expected_rate * expected_rate
         then max(rate) else min(rate) end as rate,
    count(*) as invoices, min(invoice_id) as example_invoice_id
    from judged where kind is not null
    group by currency, created_date, kind, expected_rate, history_days
)
select j.currency, j.created_date, j.kind, j.rate, j.expected_rate, j.invoices,
j.example_invoice_id, j.history_days, count(*) over () as flagged_days
from flagged as j
order by case when j.kind = 'inverted' then 0 else 1 end, {deviation} desc, j.created_date,
j.currency"""


def _offsets(days: int, dialect: str) -> str:
    """The CTE ``offsets(k)``, k = 1 .. ``days``: each history day serves the ``days`` days after
    it (an equality join, which SQLite indexes; a range join it scans)."""
    if dialect == "hive":
        return f"with offsets as (select explode(sequence(1, {int(days)})) as k)"
    return (f"with recursive offsets(k) as (select 1 union all select k + 1 from offsets "
            f"where k < {int(days)})")
