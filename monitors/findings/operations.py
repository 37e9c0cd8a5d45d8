"""What operators do with alerts, kept in the warehouse: acknowledgements and mutes.

``balance_alert_acks`` holds every acknowledgement of an alert (who, when, a note, a verdict),
a row per rule acknowledged (``balancewatch alerts ack`` acknowledges each rule's alert of a day
at once); ``monitor_mutes`` one mute per organization (until a day, with a reason). A muted
organization's new alerts (both rules) are still recorded, marked with the mute's reason, and
never sent; so are its alerts recorded before the mute and still pending then. A mute whose day
has passed stops applying by itself. Writes go through :mod:`balancewatch.state_sql` (on Spark
``monitor_mutes`` is partitioned by organization; the acknowledgements are only appended).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from balancewatch import state_sql
from balancewatch.clock import utc_now
from balancewatch.warehouse import Connection
from monitors.findings import alert_records

VERDICTS = ("expected", "incident", "false-positive")
STATUSES = ("pending", "sent", "resolved", "acknowledged", "muted")
ACKS_DDL = """
create table if not exists balance_alert_acks (
    organization_id bigint not null,
    balance_date    text   not null,
    rule            text   not null,
    acknowledged_at text   not null,
    acknowledged_by text   not null,
    note            text   not null,
    verdict         text
)"""
MUTES_DDL = """
create table if not exists monitor_mutes (
    organization_id bigint primary key,
    until_date      text not null,   -- the last day the mute applies (UTC)
    reason          text not null,
    muted_at        text not null,
    muted_by        text not null
)"""
ACKS = state_sql.StateTable("balance_alert_acks", ACKS_DDL)
MUTES = state_sql.StateTable("monitor_mutes", MUTES_DDL, ("organization_id",),
                             partition="organization_id")
_MUTE_COLUMNS = ("organization_id", "until_date", "reason", "muted_at", "muted_by")


def ensure_tables(conn: Connection) -> None:
    state_sql.create(conn, ACKS)
    state_sql.create(conn, MUTES)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


@dataclass(frozen=True)
class Mute:
    organization_id: int
    until_date: str
    reason: str
    muted_by: str


def active_mutes(conn: Connection, day: str | None = None) -> dict[int, Mute]:
    """Mutes that apply on ``day`` (default today, UTC)."""
    if "monitor_mutes" not in conn.table_names():
        return {}
    rows = conn.execute(
        "select organization_id, until_date, reason, muted_by from monitor_mutes "
        "where until_date >= ?", (day or today(),),
    ).fetchall()
    return {int(r[0]): Mute(int(r[0]), r[1], r[2], r[3]) for r in rows}


def known_organization(conn: Connection, org: int) -> bool:
    """Whether the warehouse has the organization: ``dim_organizations`` holds every one of the
    exports and every one an invoice names (orphans), so any that can have a balance."""
    if "dim_organizations" not in conn.table_names():
        return False
    return conn.scalar("select count(*) from dim_organizations where organization_id = ?",
                       (org,)) != 0


def mute_of(conn: Connection, org: int) -> Mute | None:
    """The organization's mute, in force or ended (None: never muted, or unmuted)."""
    if "monitor_mutes" not in conn.table_names():
        return None
    row = conn.execute("select organization_id, until_date, reason, muted_by from monitor_mutes "
                       "where organization_id = ?", (org,)).fetchone()
    return None if row is None else Mute(int(row[0]), row[1], row[2], row[3])


def mute(conn: Connection, org: int, until: str, reason: str, by: str) -> int:
    """Mute the organization until ``until``; its pending alerts are marked muted with
    ``reason``. Returns how many were."""
    with conn.transaction():
        ensure_tables(conn)
        state_sql.replace(conn, MUTES, ("organization_id",), [(org,)], _MUTE_COLUMNS,
                          [(org, until, reason, utc_now(), by)])
        return alert_records.mute_pending(conn, org, reason)


def unmute(conn: Connection, org: int) -> int:
    """End the organization's mute (its muted alerts stay muted); returns how many went."""
    with conn.transaction():
        ensure_tables(conn)
        return state_sql.delete(conn, MUTES, ("organization_id",), [(org,)])


def acknowledge(conn: Connection, keys: list[tuple[int, str, str]], note: str,
                    verdict: str | None, by: str) -> None:
    """Acknowledge each alert of ``keys`` (a day's rules), at one time, in one transaction."""
    now = utc_now()
    with conn.transaction():
        ensure_tables(conn)
        state_sql.insert(conn, ACKS, ("organization_id", "balance_date", "rule",
                                      "acknowledged_at", "acknowledged_by", "note", "verdict"),
                         [(*key, now, by, note, verdict) for key in keys])


def acks_of(conn: Connection, key: tuple[int, str, str]) -> list[tuple[str, str, str, str | None]]:
    """(when, who, note, verdict) of each acknowledgement of ``key``, oldest first."""
    if "balance_alert_acks" not in conn.table_names():
        return []
    return [tuple(r) for r in conn.execute(
        "select acknowledged_at, acknowledged_by, note, verdict from balance_alert_acks "
        "where organization_id = ? and balance_date = ? and rule = ? order by acknowledged_at",
        key).fetchall()]


def status_sql() -> str:
    """SQL for an alert's one-word status (``a``: balance_alerts; acks joined as ``k``)."""
    return ("case when a.resolved_at is not null then 'resolved' "
            "when a.muted_reason is not null then 'muted' "
            "when k.organization_id is not null then 'acknowledged' "
            "else a.delivery_status end")


def digest_footer(conn: Connection, *, older_than_days: int = 7) -> str | None:
    """``2 muted alert(s) · 5 unacknowledged alert(s) older than 7 days`` (None when both 0)."""
    from datetime import timedelta

    if "balance_alerts" not in conn.table_names():
        return None
    ensure_tables(conn)
    cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # a day both rules flagged is one alert to the reader (and one acknowledgement covers it)
    muted = conn.scalar("select count(*) from (select distinct organization_id, balance_date "
                        "from balance_alerts where muted_reason is not null "
                        "and resolved_at is null) as d") or 0
    stale = conn.scalar(
        "select count(*) from (select distinct a.organization_id, a.balance_date "
        "from balance_alerts as a where a.resolved_at is null "
        "and a.muted_reason is null and a.first_seen_at < ? and not exists (select 1 from "
        "balance_alert_acks as k where k.organization_id = a.organization_id "
        "and k.balance_date = a.balance_date)) as d", (cutoff,)) or 0
    if not muted and not stale:
        return None
    return (f"{muted} muted alert(s) · {stale} unacknowledged alert(s) older than "
            f"{older_than_days} days (`balancewatch alerts list`)")
