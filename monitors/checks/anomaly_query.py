"""The balance anomaly rule (issue 23, item 4) as one SQL query per dialect.

The swing rule (:mod:`monitors.checks.swing_query`) judges every organization by one fixed
threshold. This rule judges an organization's day against **that organization's own history**:

* **Series**: the daily relative change ``r = (balance - previous) / |previous|`` on days whose
  previous balance is non-NULL and ``|previous| >= 0.005`` (half a cent counts as zero, as for
  swings).
* **Seasonality**: a day's *kind* is "the 1st of a month" or "an ordinary day" (32 % of invoices
  fall on the 1st). A day is judged only against the same organization's days of the same kind.
* **Baseline** (per judged day, so a day's verdict depends only on the data up to it, and a run
  judging it again says the same unless late data restated it): the same-kind days of the
  ``history_days`` calendar days before it, read from the whole ``fact_daily_balance`` (by key:
  each judged day seeks its ``history_days`` earlier days in the (balance_date, organization_id)
  index). ``median`` of ``r`` there, and its spread: ``1.4826 × MAD`` (the median absolute
  deviation from the median), or, when MAD is 0 (most organizations do not move on most days),
  ``1.2533 × MeanAD`` (the mean absolute deviation: the modified z-score of Iglewicz and Hoaglin;
  a MAD under 1e-9, floating-point noise of the stored balances, counts as 0).
* **Score** ``|r - median| / max(spread, min_scale)``: ``min_scale`` keeps a perfectly flat
  history from turning every cent into an anomaly (0.05: a flat organization is flagged from a
  move of ``threshold × 5 %``).
* **Flagged** when the score is above ``threshold`` (strictly; 1e-9 of floating-point noise on
  ``r`` tolerated, so a move exactly at the threshold is not flagged), the day moved the balance
  (``|change| >= 0.005``) by at least ``min_abs_change_usd`` (the swing rule's materiality floor),
  and its kind has at least ``min_history_days`` days of history (fewer: not judged).

Judged days: as for swings, the days ``>= window_start`` of the checked rows whose day before is
in the checked rows too (the LAG runs over the batch). Only days with a move are judged, so the
cost is proportional to the day's changes times ``history_days`` index seeks, never a scan of the
whole table. SQLite has no ``percentile_cont``: medians are the middle row(s) of ``row_number()``
over ``count()``, as in :mod:`monitors.checks.fx_rate_query`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from monitors.checks.robust_scale import MAD_TO_SIGMA, MEAN_AD_TO_SIGMA
from monitors.checks.sql_dates import day_before_sql, days_before_expr_sql, months_before_expr_sql
from monitors.checks.swing_query import ZERO_BALANCE_USD

METRIC_NAME = "table.balance_anomalies"
FLOAT_NOISE = 1e-9  # tolerance on r of the strict score comparison
FIRST_OF_MONTH = "'01'"
NO_WINDOW = "0000-01-01"


@dataclass(frozen=True)
class AnomalyRule:
    """The anomaly settings (``anomaly_*`` vars of ``dbt/dbt_project.yml``)."""

    threshold: float = 6.0
    min_scale: float = 0.05
    min_history_days: int = 6
    history_days: int = 90
    history_firsts: int = 12
    enabled: bool = True


DEFAULT_ANOMALY_RULE = AnomalyRule()

METRIC_DEFAULTS: dict[str, Any] = {
    "threshold": DEFAULT_ANOMALY_RULE.threshold,
    "min_scale": DEFAULT_ANOMALY_RULE.min_scale,
    "min_history_days": DEFAULT_ANOMALY_RULE.min_history_days,
    "history_days": DEFAULT_ANOMALY_RULE.history_days,
    "history_firsts": DEFAULT_ANOMALY_RULE.history_firsts,
    "window_start": None,
    "min_abs_change_usd": 0.0,
    "max_rows": 100,
}


def anomaly_rule_from_vars(variables: dict[str, Any]) -> AnomalyRule:
    """The rule as the dbt project's vars set it (defaults for the missing ones)."""
    default = AnomalyRule()
    enabled = variables.get("anomaly_enabled", default.enabled)
    return AnomalyRule(
        threshold=float(variables.get("anomaly_threshold", default.threshold)),
        min_scale=float(variables.get("anomaly_min_scale", default.min_scale)),
        min_history_days=int(variables.get("anomaly_min_history", default.min_history_days)),
        history_days=int(variables.get("anomaly_history_days", default.history_days)),
        history_firsts=int(variables.get("anomaly_history_firsts", default.history_firsts)),
        enabled=str(enabled).strip().lower() not in ("false", "0", "no", "off"),
    )


def _offsets(days: int, dialect: str) -> str:
    """The CTE ``offsets(k)``, k = 1 .. ``days`` (each judged day's history, by key)."""
    if dialect == "hive":
        return f"offsets as (select explode(sequence(1, {int(days)})) as k)"
    return (f"offsets(k) as (select 1 union all select k + 1 from offsets "
            f"where k < {int(days)})")


def _kind(day: str) -> str:
    return f"case when substr({day}, 9, 2) = {FIRST_OF_MONTH} then 1 else 0 end"


def anomalies_sql(batch: str, dialect: str, *, history_days: int, history_firsts: int) -> str:
    """The query text on ``batch`` (a FROM item), with bind parameters ``window_start``,
    ``min_abs_change_usd``, ``min_history_days``, ``min_scale``, ``threshold``, ``max_rows``."""
    recursive = "" if dialect == "hive" else "recursive "
    valid = ("\n    and h.previous_balance_usd is not null"
             f" and abs(h.previous_balance_usd) >= {ZERO_BALANCE_USD}")
    scale = "case when s.spread > :min_scale then s.spread else :min_scale end"
    return f"""with {recursive}{_offsets(max(history_days, history_firsts), dialect)}, lagged as (
    select organization_id as entity_id, balance_date as day, balance_usd as balance,
    lag(balance_usd) over (partition by organization_id order by balance_date) as previous_balance,
    lag(balance_date) over (partition by organization_id order by balance_date) as previous_day
    from {batch}
    where balance_date >= {day_before_sql(':window_start', dialect)}
), candidates as (
    select entity_id, day, previous_balance, balance, balance - previous_balance as change_usd,
    (balance - previous_balance) / abs(previous_balance) as r, {_kind('day')} as is_first
    from lagged
    where previous_day = {day_before_sql('day', dialect)} and day >= :window_start
    and previous_balance is not null and balance is not null
    and abs(previous_balance) >= {ZERO_BALANCE_USD}
    and abs(balance - previous_balance) >= {ZERO_BALANCE_USD}
    and abs(balance - previous_balance) >= :min_abs_change_usd
), history as (
    select c.entity_id, c.day, (h.balance_usd - h.previous_balance_usd)
    / abs(h.previous_balance_usd) as r
    from candidates as c cross join offsets as o cross join fact_daily_balance as h
    where c.is_first = 0 and h.organization_id = c.entity_id
    and h.balance_date = {days_before_expr_sql('c.day', 'o.k', dialect)}
    and substr(h.balance_date, 9, 2) <> {FIRST_OF_MONTH}{valid}
    union all
    select c.entity_id, c.day, (h.balance_usd - h.previous_balance_usd)
    / abs(h.previous_balance_usd) as r
    from candidates as c cross join offsets as o cross join fact_daily_balance as h
    where c.is_first = 1 and o.k <= {int(history_firsts)} and h.organization_id = c.entity_id
    and h.balance_date = {months_before_expr_sql('c.day', 'o.k', dialect)}{valid}
), ranked as (
    select entity_id, day, r,
    row_number() over (partition by entity_id, day order by r) as pos,
    count(*) over (partition by entity_id, day) as n
    from history
), medians as (
    select entity_id, day, avg(r) as median_r, max(n) as history_days
    from ranked where 2 * pos between n and n + 2
    group by entity_id, day having max(n) >= :min_history_days
), deviations as (
    select h.entity_id, h.day, abs(h.r - m.median_r) as dev
    from history as h join medians as m on m.entity_id = h.entity_id and m.day = h.day
), dev_ranked as (
    select entity_id, day, dev,
    row_number() over (partition by entity_id, day order by dev) as pos,
    count(*) over (partition by entity_id, day) as n,
    avg(dev) over (partition by entity_id, day) as mean_dev
    from deviations
), spreads as (
    select entity_id, day, case when avg(dev) > {FLOAT_NOISE} then {MAD_TO_SIGMA} * avg(dev)
    else {MEAN_AD_TO_SIGMA} * max(mean_dev) end as spread
    from dev_ranked where 2 * pos between n and n + 2
    group by entity_id, day
), flagged as (
    select c.entity_id, c.day, c.previous_balance, c.balance, c.change_usd, c.r, c.is_first,
    m.median_r, s.spread, m.history_days, abs(c.r - m.median_r) / ({scale}) as score
    from candidates as c
    join medians as m on m.entity_id = c.entity_id and m.day = c.day
    join spreads as s on s.entity_id = c.entity_id and s.day = c.day
    where abs(c.r - m.median_r) > :threshold * ({scale}) + {FLOAT_NOISE}
)
select entity_id, day, previous_balance, balance, change_usd, r, is_first, median_r, spread,
history_days, score, count(*) over () as total
from flagged
order by abs(change_usd) desc, entity_id, day
limit :max_rows"""


def anomalies_query(selectable: sa.FromClause, dialect: sa.engine.Dialect, *,
                    threshold: float, min_scale: float, min_history_days: int,
                    history_days: int, history_firsts: int, window_start: str | None,
                    min_abs_change_usd: float,
                    max_rows: int) -> sa.TextClause:
    """The rule's query on the checked rows ``selectable`` (a table, a temporary table, or the
    scoped query inline) for the connection's ``dialect``, ready to execute."""
    inner = sa.select(sa.literal_column("*")).select_from(selectable)
    compiled = inner.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    batch = f"({compiled}) as batch_rows"
    sql = anomalies_sql(batch, dialect.name, history_days=history_days,
                        history_firsts=history_firsts)
    return sa.text(sql).bindparams(
        window_start=window_start or NO_WINDOW,
        min_abs_change_usd=float(min_abs_change_usd),
        min_history_days=int(min_history_days),
        min_scale=float(min_scale),
        threshold=float(threshold),
        max_rows=int(max_rows),
    )


def row_to_anomaly(row: Any) -> dict[str, Any]:
    """One flagged day as plain JSON values."""
    previous, change = float(row.previous_balance), float(row.change_usd)
    return {
        "entity_id": int(row.entity_id),
        "day": str(row.day),
        "previous_balance": previous,
        "balance": float(row.balance),
        "change_usd": change,
        "change_pct": round(100.0 * change / abs(previous), 4),
        "day_kind": "first" if int(row.is_first) else "ordinary",
        "median_pct": round(100.0 * float(row.median_r), 4),
        "spread_pct": round(100.0 * float(row.spread), 4),
        "history_days": int(row.history_days),
        "score": round(float(row.score), 2),
    }

