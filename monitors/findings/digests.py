"""Digests in flight: the alerts and resolutions a Web API digest carries while it is posted.

Before a digest is posted, each alert and resolution it carries gets the digest's id and time
(``digest_id``, ``digest_at`` of ``balance_alerts``), committed; marking them sent clears both.
So an id still there names a digest whose outcome its run never recorded: Slack may have
accepted it (the run died, or lost the answer, in between) or not. The next run asks Slack
(:mod:`monitors.alerts.in_flight`) before it sends those alerts again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from balancewatch import state_sql
from balancewatch.clock import utc_now
from balancewatch.warehouse import Connection
from monitors.findings.alert_records import ALERTS

Key = tuple[int, str, str]


@dataclass(frozen=True)
class InFlight:
    """A digest whose run did not record what Slack answered."""

    digest_id: str
    started_at: str  # utc_now() when it was marked, just before it was posted
    keys: frozenset[Key]  # the alerts and resolutions it carried that are still pending


def mark_in_flight(conn: Connection, keys: Iterable[Key], digest_id: str) -> int:
    """Name ``digest_id`` as the digest carrying ``keys`` (committed before it is posted)."""
    now = utc_now()
    with conn.transaction():
        return state_sql.update(conn, ALERTS, {"digest_id": "?", "digest_at": "?"},
                                [(digest_id, now, *key) for key in keys])


def in_flight(conn: Connection) -> list[InFlight]:
    """The digests with alerts or resolutions whose outcome is unknown, oldest first."""
    rows = conn.execute(
        "select digest_id, digest_at, organization_id, balance_date, rule from balance_alerts "
        "where digest_id is not null order by digest_at, digest_id").fetchall()
    found: dict[str, tuple[str, set[Key]]] = {}
    for digest_id, at, org, day, rule in rows:
        found.setdefault(digest_id, (at, set()))[1].add((int(org), day, rule))
    return [InFlight(d, at, frozenset(keys)) for d, (at, keys) in found.items()]


def settle(conn: Connection, flight: InFlight) -> int:
    """Forget ``flight``'s id on the rows that still carry it (answered, or to be sent again)."""
    with conn.transaction():
        return state_sql.update(conn, ALERTS, {"digest_id": "null", "digest_at": "null"},
                                [(*key, flight.digest_id) for key in flight.keys],
                                where="digest_id = ?")


def known_channel_id(conn: Connection) -> str | None:
    """The channel id Slack gave for the newest sent alert (None before any Web API digest)."""
    return conn.scalar("select message_channel from balance_alerts where message_channel "
                       "is not null order by sent_at desc limit 1")
