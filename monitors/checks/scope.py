"""Which rows one monitor run checks: everything once, then only what is new.

A run checks the **whole warehouse** when no earlier run has passed (no critical failure) or when
asked (``--full-check``): checkpoints ``staging_full`` and ``balance_full`` on whole tables. Every
other run checks **new data only**: checkpoints ``staging`` and ``balance`` validate GX query
assets that read this run's scope from ``monitor_scope`` (row ``this_run``):

* ``stg_invoices`` / ``stg_organizations``: rows of loads newer than the newest load the last
  passing run saw (``_load_id > after_load_id``);
* ``fact_daily_balance``: every row from ``from_date`` (the day before the first evaluated day, or
  before the as-of date when there is no new day: the swing check compares with it) on, plus
  the rows the build restated before it: for each organization with an invoice of those loads
  on an earlier day (a late invoice, a status change), its days from that day on
  (``monitor_scope_days``; dbt's incremental build restarts the series there), and the day before
  it, which the swing check compares the first restated day with. The swing check evaluates
  every row of that set whose day before is in it too, from the first day the monitor ever
  evaluated on: the new days, and the restated days (late data).

A run without critical failures records its newest load as ``last_passed``; a failing run does
not, so the next run checks the same loads again. Writes go through :mod:`balancewatch.state_sql`
(on Spark ``monitor_scope`` is partitioned by ``scope_name``; ``monitor_scope_days`` is
overwritten whole).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from balancewatch import state_sql
from balancewatch.clock import utc_now
from balancewatch.warehouse import Connection

THIS_RUN, LAST_PASSED = "this_run", "last_passed"
WHOLE_HISTORY = "0000-01-01"
SCOPE_DDL = """
create table if not exists monitor_scope (
    scope_name      text primary key,  -- 'this_run' (read by the GX query assets), 'last_passed'
    after_load_id   bigint not null,   -- staging rows of loads newer than this are checked
    through_load_id bigint not null,   -- the newest load in staging when the run started
    from_date       text not null,     -- fact_daily_balance rows from this day on are checked
    as_of_date      text,              -- the latest invoice day when the run started
    updated_at      text not null
)"""
SCOPE_DAYS_DDL = """
create table if not exists monitor_scope_days (
    balance_date    text not null,     -- restated days before from_date (this run's scope)
    organization_id bigint not null,
    primary key (balance_date, organization_id)
)"""
STAGING_TABLES = ("stg_invoices", "stg_organizations")
SCOPE = state_sql.StateTable("monitor_scope", SCOPE_DDL, ("scope_name",), partition="scope_name")
SCOPE_DAYS = state_sql.StateTable("monitor_scope_days", SCOPE_DAYS_DDL,
                                  ("balance_date", "organization_id"))


def this_run(column: str) -> str:
    """SQL for a ``monitor_scope`` column of this run (read by the GX assets and checks)."""
    return f"(select {column} from monitor_scope where scope_name = '{THIS_RUN}')"


#: The GX query assets of the new-data checkpoints: table -> the rows this run checks.
SCOPED_QUERIES = {
    **{
        table: f"select * from {table} where _load_id > {this_run('after_load_id')}"
        for table in STAGING_TABLES
    },
    "fact_daily_balance": (
        "select * from fact_daily_balance where balance_date >= "
        + this_run("from_date")
        # CROSS JOIN keeps monitor_scope_days as the outer loop on SQLite (an inner join there
        # scanned the 20M-row fact for 94k keys: 4 s); other engines plan it as an inner join
        + " union all select fact_daily_balance.* from monitor_scope_days"
        " cross join fact_daily_balance"
        " where fact_daily_balance.balance_date = monitor_scope_days.balance_date"
        " and fact_daily_balance.organization_id = monitor_scope_days.organization_id"
    ),
}


@dataclass(frozen=True)
class Scope:
    """What this run checks (see the module docstring)."""

    whole: bool
    reason: str
    after_load_id: int
    through_load_id: int
    from_date: str
    as_of: str | None = None
    restated: tuple[tuple[str, int], ...] = ()  # (balance_date, organization_id)
    checked_load_id: int | None = None  # the newest load the last passing run checked

    def reevaluates(self, organization_id: int, day: str, evaluate_from: str) -> bool:
        """Whether this run's swing check looks at ``day`` of an organization again: a day
        from ``evaluate_from`` on whose day before is in the checked rows too."""
        if day < evaluate_from:
            return False
        if self.whole or day > self.from_date:
            return True
        tail = self.tails.get(organization_id)
        return tail is not None and tail < day

    @cached_property
    def tails(self) -> dict[int, str]:
        """Organization -> the first row of its restated tail (the day before the restatement,
        read for comparison only)."""
        starts: dict[int, str] = {}
        for day, org in self.restated:
            starts[org] = min(day, starts.get(org, day))
        return starts

    def describe(self) -> str:
        """What this run checks, in an operator's words."""
        if self.whole:
            return f"checking whole tables ({self.reason})"
        first, last = self.after_load_id + 1, self.through_load_id
        loads = ("no new load" if last < first else f"load {first}" if last == first
                 else f"loads {first} to {last}")
        tails = len(self.tails)
        restated = len(self.restated) - tails  # each tail's first row is the day before it
        return (f"checking what changed since the last passing run: {loads}, "
                f"balances from {self.from_date}"
                + (f", and {restated:,} restated day(s) of {tails:,} organization(s)"
                   if tails else ""))


def ensure_tables(conn: Connection) -> None:
    state_sql.create(conn, SCOPE)
    state_sql.create(conn, SCOPE_DAYS)


def _last_passed(conn: Connection) -> tuple[int, str | None] | None:
    """(newest load, as-of date) of the last passing run; None before the first one."""
    row = conn.execute(
        "select through_load_id, as_of_date from monitor_scope where scope_name = ?",
        (LAST_PASSED,),
    ).fetchone()
    return None if row is None else (int(row[0]), row[1])


def latest_invoice_day(conn: Connection, has_scope_table: bool = True) -> str | None:
    """The as-of date: the latest ``stg_invoices.created_date``.

    After a passing run, from its as-of date and the invoices of newer loads only (through the
    ``_load_id`` index; an invoice's ``created_at`` never changes, as the dbt models assume), not
    a scan of every invoice (1.5 s at 12.7M).
    """
    row = _last_passed(conn) if has_scope_table else None
    if row is None or row[1] is None:
        return conn.scalar("select max(created_date) from stg_invoices")
    newer = conn.scalar("select max(created_date) from stg_invoices where _load_id > ?", (row[0],))
    return max(row[1], newer) if newer else row[1]


def _newest_load(conn: Connection) -> int:
    return max(
        int(conn.scalar(f"select coalesce(max(_load_id), 0) from {table}") or 0)
        for table in STAGING_TABLES
    )


def _day_before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def _days(first: str, before: str) -> list[str]:
    """ISO days from ``first`` up to the day before ``before``."""
    start, stop = date.fromisoformat(first), date.fromisoformat(before)
    return [(start + timedelta(days=n)).isoformat() for n in range((stop - start).days)]


def plan_scope(
    conn: Connection, as_of: str | None, first_day: str | None, *, full_check: bool = False
) -> Scope:
    """This run's scope: whole tables, or the loads and days since the last passing run.

    ``first_day`` is the first evaluated day of the swing window (None: no new day).
    """
    ensure_tables(conn)
    through = _newest_load(conn)
    last_passed = _last_passed(conn)
    after = None if last_passed is None else last_passed[0]
    if full_check or after is None or as_of is None:
        reason = ("--full-check" if full_check else "no run has passed yet" if after is None
                  else "no as-of date")
        return Scope(True, reason, 0, through, WHOLE_HISTORY, as_of, checked_load_id=after)
    # from the day before the first evaluated day: the swing check compares with it
    from_date = _day_before(min(first_day or as_of, as_of))
    changed = conn.execute(
        "select organization_id, min(created_date) from stg_invoices "
        "where _load_id > ? and created_date < ? group by organization_id",
        (after, from_date),
    ).fetchall()
    # each tail from the day before the restated day: the swing check compares with it
    restated = tuple(
        (day, int(org)) for org, first in changed for day in _days(_day_before(first), from_date)
    )
    return Scope(False, "new data", after, through, from_date, as_of, restated, after)


def write_scope(conn: Connection, scope: Scope) -> None:
    """Store ``scope`` as ``this_run`` (what the GX query assets read); one transaction."""
    with conn.transaction():
        state_sql.replace_all(conn, SCOPE_DAYS, ("balance_date", "organization_id"),
                              scope.restated)
        _upsert(conn, THIS_RUN, scope)


def mark_passed(conn: Connection, scope: Scope) -> None:
    """Record that every load up to ``scope.through_load_id`` has been checked."""
    with conn.transaction():
        _upsert(conn, LAST_PASSED, scope)


def _upsert(conn: Connection, name: str, scope: Scope) -> None:
    state_sql.insert(
        conn, SCOPE,
        ("scope_name", "after_load_id", "through_load_id", "from_date", "as_of_date",
         "updated_at"),
        [(name, scope.after_load_id, scope.through_load_id, scope.from_date, scope.as_of,
          utc_now())],
        on_conflict="update",
    )
