"""The day-over-day balance swing rule as one SQL query (SQLAlchemy Core, no GX).

A day is a *swing* (docs/contract.md §2) when the balance on the calendar day before is non-NULL and
non-zero and ``|balance - previous| / |previous| > threshold`` (strictly greater). Two refinements,
both documented in monitors/README.md ("The swing expectation"):

* ``min_abs_change_usd`` is an inclusive floor: a swing must also move by at least that many USD
  (``|balance - previous| >= floor``; the default 0 keeps every percentage swing).
* Floating-point sums are not exact: a previous balance with ``|previous| < 0.005`` (it rounds to
  $0.00) counts as zero, and the percentage comparison tolerates 1e-9 USD of noise, so exactly
  50 % is never flagged by a rounding residue.

The query reads from the day before the window on, so the first day of the window sees its
previous day although that day lies outside the window; a previous row that is not exactly the
calendar day before (a gap in a non-dense table) is no previous day.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from monitors.checks.sql_dates import day_before

METRIC_NAME = "table.balance_swings"
ZERO_BALANCE_USD = 0.005  # |previous| below half a cent counts as a zero balance
FLOAT_NOISE_USD = 1e-9  # tolerance of the strict percentage comparison

METRIC_DEFAULTS: dict[str, Any] = {
    "entity_column": "organization_id",
    "date_column": "balance_date",
    "balance_column": "balance_usd",
    "threshold": 0.5,
    "window_start": None,
    "min_abs_change_usd": 0.0,
    "max_rows": 100,
}


def swings_query(
    selectable: sa.FromClause,
    dialect_name: str,
    *,
    entity_column: str,
    date_column: str,
    balance_column: str,
    threshold: float,
    window_start: str | None,
    min_abs_change_usd: float,
    max_rows: int,
) -> sa.Select:
    """One SELECT returning the top ``max_rows`` swings with the full count on every row.

    LAG over (entity, day) from the day before ``window_start`` on, keeping only pairs whose
    previous row is exactly the calendar day before. (A self-join on ``day = date(day, '-1 day')``
    gives the same answer, but SQLite's planner sometimes picks a one-column automatic index for
    it and the query turns quadratic: 4 minutes instead of 3 s on 1.4M rows.)
    """
    base = sa.select(
        sa.column(entity_column).label("entity_id"),
        sa.column(date_column).label("day"),
        sa.column(balance_column).label("balance"),
    ).select_from(selectable)
    if window_start is not None:
        start = sa.bindparam("window_start", window_start)
        base = base.where(sa.column(date_column) >= day_before(start, dialect_name))
    base = base.subquery("base")
    by_day = {"partition_by": base.c.entity_id, "order_by": base.c.day}
    lagged = sa.select(
        base.c.entity_id,
        base.c.day,
        base.c.balance,
        sa.func.lag(base.c.balance).over(**by_day).label("previous_balance"),
        sa.func.lag(base.c.day).over(**by_day).label("previous_day"),
    ).subquery("lagged")
    change = lagged.c.balance - lagged.c.previous_balance
    conditions = [
        lagged.c.previous_day == day_before(lagged.c.day, dialect_name),
        lagged.c.previous_balance.is_not(None),
        lagged.c.balance.is_not(None),
        sa.func.abs(lagged.c.previous_balance) >= ZERO_BALANCE_USD,
        sa.func.abs(change)
        > sa.bindparam("threshold", threshold) * sa.func.abs(lagged.c.previous_balance)
        + FLOAT_NOISE_USD,
        sa.func.abs(change) >= sa.bindparam("min_abs_change_usd", min_abs_change_usd),
    ]
    if window_start is not None:
        conditions.append(lagged.c.day >= sa.bindparam("window_start", window_start))
    swings = (
        sa.select(
            lagged.c.entity_id,
            lagged.c.day,
            lagged.c.previous_balance,
            lagged.c.balance,
            change.label("change_usd"),
        )
        .where(*conditions)
        .cte("swings")
    )
    return (
        sa.select(swings, sa.func.count().over().label("total"))
        .order_by(sa.func.abs(swings.c.change_usd).desc(), swings.c.entity_id, swings.c.day)
        .limit(sa.bindparam("max_rows", max_rows))
    )


def row_to_swing(row: sa.Row) -> dict[str, Any]:
    previous = float(row.previous_balance)
    change = float(row.change_usd)
    return {
        "entity_id": row.entity_id,
        "day": row.day,
        "previous_balance": previous,
        "balance": float(row.balance),
        "change_usd": change,
        "change_pct": round(100.0 * change / abs(previous), 4),
    }
