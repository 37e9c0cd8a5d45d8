"""``balance_alerts``: one row per (organization, day, rule), and the outbox Slack is sent from.

An alert is inserted once per key and then kept up to date as late data restates its day:
its figures are updated (``updated_at``) while the day still swings, it is resolved
(``resolved_at``, ``resolution``) when the day no longer swings, and re-opened (``reopened_count``)
when it swings again. Slack is told at most once per event: a swing stays ``pending`` until a
digest carrying it was accepted (then ``sent``, with the message's ``message_ts``); the resolution
of a sent alert stays ``resolution_status = 'pending'`` until it was posted (in the thread of
``message_ts``, or in a webhook digest). Writes go through :mod:`balancewatch.state_sql` (plain
SQL on SQLite and PostgreSQL; one partition rewrite per write on Spark, partitioned by ``rule``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from balancewatch import state_sql
from balancewatch.clock import utc_now
from balancewatch.warehouse import Connection
from monitors.findings.results import LATE_DATA, Baseline, Resolution, SwingAlert

PENDING = "pending"
SENT = "sent"
FIGURES_TOLERANCE_USD = 1e-6  # figures closer than this are "unchanged"
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
    detected_as          text    not null default 'new_day',
    restated_by_load_id  bigint,
    updated_at           text,
    resolved_at          text,
    resolution           text,
    resolution_status    text,
    resolution_sent_at   text,
    reopened_count       integer not null default 0,
    message_channel      text,               -- the channel id of message_ts (Web API)
    chart_status         text,               -- pending / sent: its chart in the digest's thread
    chart_file_id        text,
    muted_reason         text,               -- recorded while its organization was muted
    digest_id            text,               -- the digest carrying it while posted (digests.py)
    digest_at            text,
    day_kind             text,               -- anomaly rule: 'first' (of a month) / 'ordinary'
    baseline_median_pct  double precision,   -- ... its organization's usual move on such days
    baseline_spread_pct  double precision,   -- ... give or take (robust standard deviation)
    baseline_days        integer,            -- ... over this many days of history
    anomaly_score        double precision,   -- ... and how many spreads this day is off
    primary key (organization_id, balance_date, rule)
)"""
#: Columns added after the first release: an older warehouse gets them on its next run.
LATER_COLUMNS = {
    "detected_as": "text not null default 'new_day'",
    "restated_by_load_id": "bigint",
    "updated_at": "text",
    "resolved_at": "text",
    "resolution": "text",
    "resolution_status": "text",
    "resolution_sent_at": "text",
    "reopened_count": "integer not null default 0",
    "message_channel": "text",
    "chart_status": "text",
    "chart_file_id": "text",
    "muted_reason": "text",
    "digest_id": "text",
    "digest_at": "text",
    "day_kind": "text",
    "baseline_median_pct": "double precision",
    "baseline_spread_pct": "double precision",
    "baseline_days": "integer",
    "anomaly_score": "double precision",
}
_FIGURES = "previous_balance_usd, balance_usd, change_usd, change_pct"
_BASELINE = "day_kind, baseline_median_pct, baseline_spread_pct, baseline_days, anomaly_score"
ALERTS = state_sql.StateTable("balance_alerts", ALERTS_DDL,
                              ("organization_id", "balance_date", "rule"), partition="rule")
_DELIVERED = {"digest_id": "null", "digest_at": "null"}  # its digest's outcome is known
_NEW_FIGURES = {"previous_balance_usd": "?", "balance_usd": "?", "change_usd": "?",
                "change_pct": "?", **dict.fromkeys(_BASELINE.split(", "), "?"),
                "updated_at": "?"}


def _baseline(swing: SwingAlert) -> tuple:
    """The anomaly rule's baseline columns of ``swing`` (NULLs for a swing)."""
    b = swing.baseline
    return (None,) * 5 if b is None else (b.day_kind, b.median_pct, b.spread_pct,
                                          b.history_days, b.score)


def _read_baseline(values: tuple) -> Baseline | None:
    """The stored baseline columns as a :class:`Baseline` (None for a swing)."""
    kind, median, spread, days, score = values
    return None if kind is None else Baseline(kind, median, spread, int(days), score)


def ensure_table(conn: Connection) -> None:
    """Create ``balance_alerts`` when missing; add the columns an older one lacks."""
    state_sql.create(conn, ALERTS)
    conn.add_missing_columns("balance_alerts", LATER_COLUMNS)


@dataclass(frozen=True)
class StoredAlert:
    """The parts of a recorded alert that decide what a new evaluation changes."""

    previous_balance_usd: float
    balance_usd: float
    resolved: bool
    sent: bool
    message_ts: str | None

    def same_figures(self, swing: SwingAlert) -> bool:
        return (abs(self.previous_balance_usd - swing.previous_balance_usd) < FIGURES_TOLERANCE_USD
                and abs(self.balance_usd - swing.balance_usd) < FIGURES_TOLERANCE_USD)


def stored_alerts(conn: Connection, rule: str, since_day: str
                  ) -> dict[tuple[int, str, str], StoredAlert]:
    """The recorded alerts of ``rule`` a run can change, by key: every open one (it may resolve)
    and the resolved ones from ``since_day`` on (a swing found there re-opens one)."""
    rows = conn.execute(
        "select organization_id, balance_date, previous_balance_usd, balance_usd, "
        "resolved_at, delivery_status, message_ts from balance_alerts where rule = ? "
        "and (resolved_at is null or balance_date >= ?)",
        (rule, since_day),
    ).fetchall()
    return {
        (int(r[0]), r[1], rule): StoredAlert(float(r[2]), float(r[3]), r[4] is not None,
                                             r[5] == SENT, r[6])
        for r in rows
    }


def insert_alerts(conn: Connection, swings: Iterable[SwingAlert], severity: str = "warning",
                  muted: dict[int, str] | None = None) -> int:
    """Insert new alerts (``pending``; ``muted``: organization -> the reason of its mute);
    returns how many."""
    now, muted = utc_now(), muted or {}
    columns = ("organization_id", "balance_date", *_FIGURES.split(", "), "rule", "severity",
               "first_seen_at", "delivery_status", "detected_as", "restated_by_load_id",
               "muted_reason", *_BASELINE.split(", "))
    return state_sql.insert(
        conn, ALERTS, columns,
        [
            (s.organization_id, s.balance_date, s.previous_balance_usd, s.balance_usd,
             s.change_usd, s.change_pct, s.rule, severity, now, PENDING, s.detected_as,
             s.load_id, muted.get(s.organization_id), *_baseline(s))
            for s in swings
        ],
        on_conflict="nothing",
    )


def update_figures(conn: Connection, swings: Iterable[SwingAlert]) -> int:
    """A still-swinging day was restated: store its latest figures."""
    now = utc_now()
    return state_sql.update(
        conn, ALERTS, {**_NEW_FIGURES, "restated_by_load_id": "coalesce(?, restated_by_load_id)"},
        [(s.previous_balance_usd, s.balance_usd, s.change_usd, s.change_pct, *_baseline(s), now,
          s.load_id, *s.key) for s in swings],
    )


def reopen(conn: Connection, swings: Iterable[SwingAlert]) -> int:
    """A resolved day swings again: open it, pending, with its new figures (sent again)."""
    now = utc_now()
    cleared = ("resolved_at", "resolution", "resolution_status", "resolution_sent_at", "sent_at")
    return state_sql.update(
        conn, ALERTS,
        {**_NEW_FIGURES, "detected_as": f"'{LATE_DATA}'", "restated_by_load_id": "?",
         **dict.fromkeys(cleared, "null"), "delivery_status": f"'{PENDING}'",
         "reopened_count": "reopened_count + 1"},
        [(s.previous_balance_usd, s.balance_usd, s.change_usd, s.change_pct, *_baseline(s), now,
          s.load_id, *s.key) for s in swings],
    )


def resolve(conn: Connection, resolutions: Iterable[Resolution], sent: set[tuple]) -> int:
    """Resolve alerts whose day no longer swings; a sent one gets a pending resolution message."""
    now = utc_now()
    return state_sql.update(
        conn, ALERTS, {"resolved_at": "?", "resolution": "?", "resolution_status": "?"},
        [(now, r.sentence, PENDING if r.key in sent else None, *r.key) for r in resolutions],
        where="resolved_at is null",
    )


def pending_swings(conn: Connection) -> list[SwingAlert]:
    """Open alerts not yet delivered to Slack, largest absolute USD change first."""
    rows = conn.execute(
        f"""
        select organization_id, balance_date, {_FIGURES}, rule, detected_as,
               restated_by_load_id, reopened_count, first_seen_at, {_BASELINE}
        from balance_alerts
        where delivery_status = ? and resolved_at is null and muted_reason is null
        order by abs(change_usd) desc, balance_date, organization_id
        """,
        (PENDING,),
    ).fetchall()
    return [
        SwingAlert(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]),
                   first_seen_at=r[10], baseline=_read_baseline(tuple(r[11:16])))
        for r in rows
    ]


def mute_pending(conn: Connection, organization_id: int, reason: str) -> int:
    """Mark the organization's pending alerts (open, recorded, not sent yet) muted with ``reason``:
    no digest sends them (:func:`pending_swings`). Returns how many, a day both rules flagged
    counted once."""
    if "balance_alerts" not in conn.table_names():
        return 0
    unsent = f"delivery_status = '{PENDING}' and resolved_at is null and muted_reason is null"
    keys = conn.execute("select organization_id, balance_date, rule from balance_alerts "
                        f"where organization_id = ? and {unsent}", (organization_id,)).fetchall()
    state_sql.update(conn, ALERTS, {"muted_reason": "?"}, [(reason, *key) for key in keys],
                     where=unsent)
    return len({(key[0], key[1]) for key in keys})


def count_unsent(conn: Connection) -> int:
    """Alerts, resolutions and charts a digest still has to deliver."""
    return conn.scalar(
        "select count(*) from balance_alerts where (delivery_status = ? and resolved_at is null "
        "and muted_reason is null) or resolution_status = ? or chart_status = ?",
        (PENDING, PENDING, PENDING),
    ) or 0


def pending_resolutions(conn: Connection) -> list[Resolution]:
    """Resolutions of sent alerts not yet posted, oldest message first."""
    rows = conn.execute(
        """
        select a.organization_id, a.balance_date, a.rule, a.resolution, a.message_ts
        from balance_alerts as a
        where a.resolution_status = ?
        order by a.message_ts, a.balance_date, a.organization_id
        """,
        (PENDING,),
    ).fetchall()
    return [Resolution(r[0], r[1], r[2], None, None, r[3], r[4]) for r in rows]


def mark_sent(conn: Connection, alerts: list[SwingAlert], message_ts: str,
              channel_id: str | None = None, charted: set[tuple] = frozenset()) -> int:
    """Mark the alerts of a delivered digest as sent (``charted``: their chart is now due in
    the digest's thread); returns how many changed."""
    sent_at = utc_now()
    with conn.transaction():
        return state_sql.update(
            conn, ALERTS,
            {**dict.fromkeys(("delivery_status", "sent_at", "message_ts", "message_channel",
                              "chart_status"), "?"), **_DELIVERED},
            [(SENT, sent_at, message_ts, channel_id, PENDING if a.key in charted else None,
              *a.key, PENDING) for a in alerts],
            where="delivery_status = ?",
        )


def pending_charts(conn: Connection) -> list[tuple[SwingAlert, str, str]]:
    """Sent alerts whose chart is not in their digest's thread yet: (alert, channel, thread)."""
    rows = conn.execute(
        f"""
        select organization_id, balance_date, {_FIGURES}, rule, message_channel, message_ts
        from balance_alerts where chart_status = ? and message_channel is not null
        order by abs(change_usd) desc, balance_date, organization_id
        """,
        (PENDING,),
    ).fetchall()
    return [(SwingAlert(*r[:7]), r[7], r[8]) for r in rows]


def mark_chart_sent(conn: Connection, alert: SwingAlert, file_id: str | None) -> int:
    """The chart is in the thread: never upload it again."""
    with conn.transaction():
        return state_sql.update(conn, ALERTS, {"chart_status": "?", "chart_file_id": "?"},
                                [(SENT, file_id, *alert.key, PENDING)], where="chart_status = ?")


def mark_resolutions_sent(conn: Connection, resolutions: list[Resolution]) -> int:
    """Mark posted resolutions as sent (once); returns how many changed."""
    sent_at = utc_now()
    with conn.transaction():
        return state_sql.update(
            conn, ALERTS, {"resolution_status": "?", "resolution_sent_at": "?", **_DELIVERED},
            [(SENT, sent_at, *r.key, PENDING) for r in resolutions],
            where="resolution_status = ?",
        )
