"""``balance_alerts``: one row per (organization, day, rule), and the outbox Slack is sent from.

Recording is ``INSERT ... ON CONFLICT DO NOTHING``, so re-evaluating a day never duplicates an
alert. An alert stays ``pending`` until Slack accepted a digest carrying it, then it is ``sent``
with the message timestamp: Slack is told at most once per key. The SQL is portable (SQLite and
PostgreSQL, ``?`` parameters through :class:`~balancewatch.warehouse.Connection`).
"""

from __future__ import annotations

from balancewatch.clock import utc_now
from balancewatch.warehouse import Connection
from monitors.findings.results import SwingAlert

PENDING = "pending"
SENT = "sent"
ALERTS_DDL = """
create table if not exists balance_alerts (
    organization_id      bigint  not null,
    balance_date         text    not null,
    previous_balance_usd double precision not null,
    balance_usd          double precision not null,
    change_pct           double precision,
    change_usd           double precision not null,
    rule                 text    not null,
    severity             text    not null,
    first_seen_at        text    not null,
    delivery_status      text    not null default 'pending'
                         check (delivery_status in ('pending', 'sent')),
    sent_at              text,
    message_ts           text,
    primary key (organization_id, balance_date, rule)
)"""


def ensure_table(conn: Connection) -> None:
    """Create ``balance_alerts`` when missing."""
    conn.execute(ALERTS_DDL)


def record_alerts(
    conn: Connection, swings: list[SwingAlert], severity: str = "warning"
) -> int:
    """Insert alerts not recorded before; returns how many are new."""
    seen_at = utc_now()
    return conn.executemany(
        """
        insert into balance_alerts (organization_id, balance_date, previous_balance_usd,
            balance_usd, change_pct, change_usd, rule, severity, first_seen_at, delivery_status)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')
        on conflict (organization_id, balance_date, rule) do nothing
        """,
        [
            (s.organization_id, s.balance_date, s.previous_balance_usd, s.balance_usd,
             s.change_pct, s.change_usd, s.rule, severity, seen_at)
            for s in swings
        ],
    )


def pending_swings(conn: Connection) -> list[SwingAlert]:
    """Alerts not yet delivered to Slack, largest absolute USD change first."""
    rows = conn.execute(
        """
        select organization_id, balance_date, previous_balance_usd, balance_usd,
               change_usd, change_pct, rule
        from balance_alerts
        where delivery_status = ?
        order by abs(change_usd) desc, balance_date, organization_id
        """,
        (PENDING,),
    ).fetchall()
    return [SwingAlert(*row) for row in rows]


def mark_sent(conn: Connection, alerts: list[SwingAlert], message_ts: str) -> int:
    """Mark the alerts of a delivered digest as sent; returns how many changed."""
    sent_at = utc_now()
    with conn.transaction():
        return conn.executemany(
            """
            update balance_alerts
            set delivery_status = ?, sent_at = ?, message_ts = ?
            where organization_id = ? and balance_date = ? and rule = ? and delivery_status = ?
            """,
            [(SENT, sent_at, message_ts, *alert.key, PENDING) for alert in alerts],
        )
