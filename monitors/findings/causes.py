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
_CAUSES_SQL = """
select f.invoice_id, f.status, f.currency, f.amount, f.balance_effect_usd, f.created_at,
       case when f._load_id > ? then f._load_id end as changed_by_load_id,
       case when f._load_id > ? then {previous} end as previous_status
from fact_invoices as f
left join invoices as r on r.invoice_id = f.invoice_id
where f.organization_id = ? and f.created_date = ? and f.balance_effect_usd <> 0
order by abs(f.balance_effect_usd) desc, f.invoice_id
"""
_CONTEXT_SQL = """
select case when d.organization_id is null or d.is_orphan then 1 else 0 end,
       d.legal_entity_country_code, d.active_contract_count,
       d.first_payment_date, d.last_payment_date
from (select 1 as one) as anchor
left join dim_organizations as d on d.organization_id = ?
"""


def ensure_tables(conn: Connection) -> None:
    """Create the evidence tables when missing."""
    conn.execute(CAUSES_DDL)
    conn.execute(CONTEXT_DDL)


def record_evidence(conn: Connection, swings: Iterable[SwingAlert], checked_load: int | None
                    ) -> None:
    """(Re)compute and store the evidence of each swing (inside the recording transaction)."""
    # the raw table keeps an invoice's status before a re-send once a load of this release ran
    kept = "_previous_status" in conn.column_names("invoices")
    causes_sql = _CAUSES_SQL.format(previous="r._previous_status" if kept else "null")
    for swing in swings:
        key = swing.key
        # only a late-data swing names the loads since the last check (a new day's are all new)
        after = checked_load if swing.is_late and checked_load is not None else NEVER
        for table in ("balance_alert_causes", "balance_alert_context"):
            conn.execute(
                f"delete from {table} where organization_id = ? and balance_date = ? "
                "and rule = ?", key,
            )
        rows = conn.execute(causes_sql, (after, after, *key[:2])).fetchall()
        listed = rows[:MAX_CAUSES]
        conn.executemany(
            "insert into balance_alert_causes (organization_id, balance_date, rule, cause_rank, "
            "invoice_id, status, currency, amount, effect_usd, created_at, changed_by_load_id, "
            "previous_status) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*key, rank, *row) for rank, row in enumerate(listed, start=1)],
        )
        org = conn.execute(_CONTEXT_SQL, (key[0],)).fetchone()
        rest = rows[MAX_CAUSES:]
        conn.execute(
            "insert into balance_alert_context (organization_id, balance_date, rule, "
            "daily_change_usd, invoice_count, other_invoice_count, other_effect_usd, is_orphan, "
            "legal_entity_country_code, active_contract_count, first_payment_date, "
            "last_payment_date) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*key, sum(float(r[4]) for r in rows), len(rows), len(rest),
             sum(float(r[4]) for r in rest), int(bool(org[0])), *org[1:]),
        )


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
    """``swings`` with their stored top causes attached."""
    from dataclasses import replace

    causes = load_causes(conn, [s.key for s in swings], top=top)
    return [replace(s, causes=causes.get(s.key, ())) for s in swings]


def balance_series(conn: Connection, organization_id: int, day: str, as_of: str | None, *,
                   before: int = 30, after: int = 7) -> list[tuple[str, float]]:
    """The organization's (day, balance) from ``before`` days before ``day`` to ``after`` days
    after it, or to the as-of date when that comes first (what an alert's chart shows)."""
    from datetime import date, timedelta

    flagged = date.fromisoformat(day)
    start = (flagged - timedelta(days=before)).isoformat()
    end = (flagged + timedelta(days=after)).isoformat()
    if as_of is not None:
        end = min(end, max(as_of, day))
    rows = conn.execute(
        "select balance_date, balance_usd from fact_daily_balance where organization_id = ? "
        "and balance_date >= ? and balance_date <= ? order by balance_date",
        (organization_id, start, end),
    ).fetchall()
    return [(r[0], float(r[1])) for r in rows]
