"""Each alert's evidence: the invoices that made its day's change, and its organization's context.

Computed once, in SQL, when an alert is recorded, re-opened or restated, and stored beside it:
``balance_alert_causes`` (keyed like ``balance_alerts`` plus ``cause_rank``: the day's invoices by
absolute USD effect, at most :data:`MAX_CAUSES`) and ``balance_alert_context`` (keyed like
``balance_alerts``: the organization from ``dim_organizations``, and what the listed invoices leave
out, so causes plus the rest always add up to the day's change). The channels read these tables;
they never recompute them.

For a late-data swing, an invoice (re)written by a load newer than the last checked one carries
that load (``changed_by_load_id``) and the status it had before (``previous_status``, kept by the
loader in the raw ``invoices._previous_status``).
"""

from __future__ import annotations

from collections.abc import Iterable

from balancewatch import state_sql
from balancewatch.warehouse import Connection
from monitors.findings.results import Cause, OrganizationContext, SwingAlert

MAX_CAUSES = 5
NEVER = 2**62  # a load id no load reaches
CAUSES_DDL = """
create table if not exists balance_alert_causes (
    organization_id    bigint not null,
    balance_date       text   not null,
    rule               text   not null,
    cause_rank         integer not null,  -- 1: the largest absolute USD effect
    invoice_id         bigint not null,
    status             text   not null,
    currency           text   not null,
    amount             double precision not null,
    effect_usd         double precision not null,
    created_at         text   not null,
    changed_by_load_id bigint,            -- late data: the load that re-sent it since the check
    previous_status    text,              -- ... and its status before that load
    primary key (organization_id, balance_date, rule, cause_rank)
)"""
CONTEXT_DDL = """
create table if not exists balance_alert_context (
    organization_id           bigint not null,
    balance_date              text   not null,
    rule                      text   not null,
    daily_change_usd          double precision not null,
    invoice_count             integer not null,  -- invoices of the day with a balance effect
    other_invoice_count       integer not null,  -- ... beyond the listed causes
    other_effect_usd          double precision not null,
    is_orphan                 integer not null,  -- 1: the organization is not in the export
    legal_entity_country_code bigint,
    active_contract_count     integer,
    first_payment_date        text,
    last_payment_date         text,
    primary key (organization_id, balance_date, rule)
)"""
KEY = ("organization_id", "balance_date", "rule")
CAUSES = state_sql.StateTable("balance_alert_causes", CAUSES_DDL,
                              (*KEY, "cause_rank"), partition="rule")
CONTEXT = state_sql.StateTable("balance_alert_context", CONTEXT_DDL, KEY, partition="rule")
BATCH = 500  # swings per query (3 parameters each: well under SQLite's limit)
# CROSS JOIN keeps the few wanted days as SQLite's outer loop (the fact's organization index)
_CAUSES_SQL = """
with wanted (organization_id, balance_date, after_load) as (values {values})
select w.organization_id, w.balance_date, w.after_load,
       f.invoice_id, f.status, f.currency, f.amount, f.balance_effect_usd, f.created_at,
       case when f._load_id > w.after_load then f._load_id end as changed_by_load_id,
       case when f._load_id > w.after_load then {previous} end as previous_status
from wanted as w
cross join fact_invoices as f
left join invoices as r on r.invoice_id = f.invoice_id
where f.organization_id = w.organization_id and f.created_date = w.balance_date
  and f.balance_effect_usd <> 0
order by w.organization_id, w.balance_date, abs(f.balance_effect_usd) desc, f.invoice_id
"""
_CONTEXT_SQL = """
with wanted (organization_id) as (values {values})
select w.organization_id,
       case when d.organization_id is null or cast(d.is_orphan as integer) = 1 then 1 else 0 end,
       d.legal_entity_country_code, d.active_contract_count,
       d.first_payment_date, d.last_payment_date
from wanted as w
left join dim_organizations as d on d.organization_id = w.organization_id
"""


def ensure_tables(conn: Connection) -> None:
    """Create the evidence tables when missing."""
    state_sql.create(conn, CAUSES)
    state_sql.create(conn, CONTEXT)


def record_evidence(conn: Connection, swings: Iterable[SwingAlert], checked_load: int | None
                    ) -> None:
    """(Re)compute and store the evidence of each swing (inside the recording transaction):
    two queries per :data:`BATCH` swings, then one replacement per table."""
    swings = list(swings)
    if not swings:
        return
    # the raw table keeps an invoice's status before a re-send once a load of this release ran
    kept = "_previous_status" in conn.column_names("invoices")
    # only a late-data swing names the loads since the last check (a new day's are all new)
    wanted = {s.key: checked_load if s.is_late and checked_load is not None else NEVER
              for s in swings}
    found = _day_invoices(conn, {(k[0], k[1], after) for k, after in wanted.items()},
                          "r._previous_status" if kept else "null")
    orgs = _organizations(conn, {k[0] for k in wanted})
    causes_rows, context_rows = [], []
    for key, after in wanted.items():
        rows = found.get((key[0], key[1], after), [])
        listed, rest = rows[:MAX_CAUSES], rows[MAX_CAUSES:]
        causes_rows += [(*key, rank, *row) for rank, row in enumerate(listed, start=1)]
        org = orgs[key[0]]
        context_rows.append((*key, sum(float(r[4]) for r in rows), len(rows), len(rest),
                             sum(float(r[4]) for r in rest), int(bool(org[0])), *org[1:]))
    keys = list(wanted)
    state_sql.replace(conn, CAUSES, KEY, keys, (*KEY, "cause_rank", "invoice_id", "status",
                      "currency", "amount", "effect_usd", "created_at", "changed_by_load_id",
                      "previous_status"), causes_rows)
    state_sql.replace(conn, CONTEXT, KEY, keys, (*KEY, "daily_change_usd", "invoice_count",
                      "other_invoice_count", "other_effect_usd", "is_orphan",
                      "legal_entity_country_code", "active_contract_count",
                      "first_payment_date", "last_payment_date"), context_rows)


def _batches(items: list) -> Iterable[list]:
    return (items[i:i + BATCH] for i in range(0, len(items), BATCH))


def _day_invoices(conn: Connection, days: set[tuple[int, str, int]], previous: str
                  ) -> dict[tuple[int, str, int], list[tuple]]:
    """(organization, day, after load) -> the day's invoices with a balance effect, largest
    absolute effect first."""
    found: dict[tuple[int, str, int], list[tuple]] = {}
    for batch in _batches(sorted(days)):
        sql = _CAUSES_SQL.format(values=", ".join(["(?, ?, ?)"] * len(batch)), previous=previous)
        for r in conn.execute(sql, [v for day in batch for v in day]).fetchall():
            found.setdefault((int(r[0]), r[1], int(r[2])), []).append(tuple(r[3:]))
    return found


def _organizations(conn: Connection, orgs: set[int]) -> dict[int, tuple]:
    """Organization -> (is orphan, country, contracts, first and last payment day)."""
    found: dict[int, tuple] = {}
    for batch in _batches(sorted(orgs)):
        sql = _CONTEXT_SQL.format(values=", ".join(["(?)"] * len(batch)))
        found.update({int(r[0]): tuple(r[1:]) for r in conn.execute(sql, batch).fetchall()})
    return found


def load_causes(conn: Connection, keys: Iterable[tuple[int, str, str]], *, top: int = MAX_CAUSES
                ) -> dict[tuple[int, str, str], tuple[Cause, ...]]:
    """The stored causes of each key (at most ``top``), largest effect first."""
    wanted = set(keys)
    if not wanted or "balance_alert_causes" not in conn.table_names():
        return {}
    rows = conn.execute(
        "select organization_id, balance_date, rule, invoice_id, status, currency, amount, "
        "effect_usd, created_at, changed_by_load_id, previous_status from balance_alert_causes "
        "where cause_rank <= ? and balance_date >= ? order by cause_rank",
        (top, min(k[1] for k in wanted)),
    ).fetchall()
    found: dict[tuple[int, str, str], list[Cause]] = {}
    for r in rows:
        key = (int(r[0]), r[1], r[2])
        if key in wanted:
            found.setdefault(key, []).append(Cause(*r[3:]))
    return {key: tuple(causes) for key, causes in found.items()}


def load_context(conn: Connection, key: tuple[int, str, str]) -> OrganizationContext | None:
    """The stored context of one alert (None when it has none)."""
    row = conn.execute(
        "select daily_change_usd, invoice_count, other_invoice_count, other_effect_usd, "
        "is_orphan, legal_entity_country_code, active_contract_count, first_payment_date, "
        "last_payment_date from balance_alert_context "
        "where organization_id = ? and balance_date = ? and rule = ?", key,
    ).fetchone()
    return None if row is None else OrganizationContext(*row[:4], bool(row[4]), *row[5:])


def with_causes(conn: Connection, swings: list[SwingAlert], *, top: int = 1) -> list[SwingAlert]:
    """``swings`` with their stored top causes and their day's invoice count attached."""
    from dataclasses import replace

    causes = load_causes(conn, [s.key for s in swings], top=top)
    counts = _invoice_counts(conn, [s.key for s in swings])
    return [replace(s, causes=causes.get(s.key, ()), invoice_count=counts.get(s.key, 0))
            for s in swings]


def _invoice_counts(conn: Connection, keys: list[tuple[int, str, str]]
                    ) -> dict[tuple[int, str, str], int]:
    """How many invoices with a balance effect each key's day has (from the stored context)."""
    if not keys or "balance_alert_context" not in conn.table_names():
        return {}
    wanted = set(keys)
    rows = conn.execute(
        "select organization_id, balance_date, rule, invoice_count from balance_alert_context "
        "where balance_date >= ?", (min(k[1] for k in wanted),)).fetchall()
    return {key: int(r[3]) for r in rows if (key := (int(r[0]), r[1], r[2])) in wanted}


def balance_series(conn: Connection, organization_id: int, day: str, as_of: str | None, *,
                   before: int = 30, after: int = 7) -> list[tuple[str, float]]:
    """The organization's (day, balance) from ``before`` days before ``day`` to ``after`` days
    after it, or to the as-of date when that comes first (what an alert's chart shows)."""
    from datetime import date, timedelta

    flagged = date.fromisoformat(day)
    first = flagged - timedelta(days=before)
    last = flagged + timedelta(days=after)
    if as_of is not None:
        last = min(last, date.fromisoformat(max(as_of, day)))
    # each day by name: one seek each in the (balance_date, organization_id) unique index, where
    # a date range reads every organization's rows of those days (0.12 s an alert at 21,806)
    days = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    rows = conn.execute(
        "select balance_date, balance_usd from fact_daily_balance where organization_id = ? "
        f"and balance_date in ({', '.join('?' * len(days))}) order by balance_date",
        (organization_id, *days),
    ).fetchall()
    return [(r[0], float(r[1])) for r in rows]
