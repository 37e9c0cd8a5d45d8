"""The watermark: ``monitor_state`` holds, per rule, the last day the monitor evaluated.

A run evaluates every day after it up to the as-of date (so a missed run is caught up), or from
``--since`` when asked. Reads are portable SQL through the warehouse's
:class:`~balancewatch.warehouse.Connection`; writes go through :mod:`balancewatch.state_sql`
(on Spark the table is partitioned by ``rule``: one row, one partition per rule). Column
types are spelled so that both engines store 64-bit ids and 8-byte floats (``bigint``, ``double
precision``: INTEGER and REAL affinity on SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from balancewatch import state_sql
from balancewatch.clock import utc_now
from balancewatch.warehouse import Connection
from monitors.findings.results import SWING_RULE

DEFAULT_FIRST_RUN_DAYS = 30

STATE_DDL = """
create table if not exists monitor_state (
    rule                 text primary key,
    last_evaluated_date  text not null,   -- 'YYYY-MM-DD'
    updated_at           text not null,   -- UTC 'YYYY-MM-DDTHH:MM:SSZ'
    first_evaluated_date text             -- the first day a run evaluated: late data from it on
)"""
STATE = state_sql.StateTable("monitor_state", STATE_DDL, ("rule",), partition="rule")


def ensure_table(conn: Connection) -> None:
    """Create ``monitor_state`` when missing; an older one gets ``first_evaluated_date``
    (its earliest alert day, else its watermark: late data before it was never evaluated)."""
    state_sql.create(conn, STATE)
    if conn.add_missing_columns("monitor_state", {"first_evaluated_date": "text"}):
        has_alerts = "balance_alerts" in conn.table_names()
        earliest = "(select min(balance_date) from balance_alerts)" if has_alerts else "null"
        state_sql.update(conn, STATE, {"first_evaluated_date":
                                       f"coalesce({earliest}, last_evaluated_date)"})


@dataclass(frozen=True)
class Window:
    """The days one run evaluates: ``first_day`` .. ``as_of`` (empty when first_day > as_of)."""

    first_day: str
    as_of: str
    reason: str  # "new days since <d>", "first run: last N days", "--since <d>"

    @property
    def days(self) -> int:
        span = (date.fromisoformat(self.as_of) - date.fromisoformat(self.first_day)).days + 1
        return max(span, 0)


def last_evaluated(conn: Connection, rule: str = SWING_RULE) -> str | None:
    """The watermark: the last day a run evaluated (None before the first run)."""
    row = conn.execute(
        "select last_evaluated_date from monitor_state where rule = ?", (rule,)
    ).fetchone()
    return row[0] if row else None


def first_evaluated(conn: Connection, rule: str = SWING_RULE) -> str | None:
    """The first day any run evaluated (None before the first run); read-only, so an older
    ``monitor_state`` without the column answers what :func:`ensure_table` will store."""
    column = "first_evaluated_date"
    if column not in conn.column_names("monitor_state"):
        column = "last_evaluated_date"
        if "balance_alerts" in conn.table_names():
            column = f"coalesce((select min(balance_date) from balance_alerts), {column})"
    row = conn.execute(f"select {column} from monitor_state where rule = ?", (rule,)).fetchone()
    return row[0] if row else None


def evaluation_window(
    last: str | None, as_of: str, *, since: str | None = None,
    first_run_days: int = DEFAULT_FIRST_RUN_DAYS,
) -> Window:
    """Which days to evaluate, given the watermark ``last`` and the as-of date."""
    if since is not None:
        return Window(since, as_of, f"--since {since}")
    if last is None:
        first = date.fromisoformat(as_of) - timedelta(days=first_run_days - 1)
        return Window(first.isoformat(), as_of, f"first run: last {first_run_days} days")
    first = date.fromisoformat(last) + timedelta(days=1)
    return Window(first.isoformat(), as_of, f"new days after {last}")


def advance_watermark(conn: Connection, as_of: str, first_day: str,
                      rule: str = SWING_RULE) -> None:
    """Record ``as_of`` as the last evaluated day (never moves backwards) and ``first_day`` as
    the first (never moves forwards)."""
    state_sql.insert(
        conn, STATE, ("rule", "last_evaluated_date", "updated_at", "first_evaluated_date"),
        [(rule, as_of, utc_now(), first_day)], on_conflict="update",
        update_set={
            "last_evaluated_date": """case
                when excluded.last_evaluated_date > monitor_state.last_evaluated_date
                then excluded.last_evaluated_date else monitor_state.last_evaluated_date end""",
            "first_evaluated_date": """case
                when monitor_state.first_evaluated_date is null
                  or excluded.first_evaluated_date < monitor_state.first_evaluated_date
                then excluded.first_evaluated_date else monitor_state.first_evaluated_date end""",
            "updated_at": "excluded.updated_at",
        },
    )
