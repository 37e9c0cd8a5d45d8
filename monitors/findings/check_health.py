"""Data health found by the staging checks: a day's invoice volume off its band, re-sent invoices.

The staging checkpoint's volume and re-sent-invoice expectations flag days; this module records
each flagged (check, measure, day) once in ``data_health_alerts`` (the table of
:mod:`monitors.findings.freshness`), before the balance checkpoint sends the run's digest, so the
digest carries them. They are events, not episodes: recorded and sent once, never resolved (a day
completed later by late data is not re-judged).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from balancewatch import state_sql
from balancewatch.clock import utc_now
from balancewatch.warehouse import Connection, Warehouse
from monitors.checks.resent_query import describe_resent
from monitors.checks.volume_rule import describe
from monitors.findings.freshness import HEALTH, PENDING, HealthAlert, ensure_table
from monitors.findings.results import RESENT_TYPE, VOLUME_TYPE, health_flags

VOLUME, RESENT = "volume", "resent_invoices"
SEVERITY = "warning"


def as_alert(expectation_type: str, row: dict[str, Any]) -> HealthAlert:
    """The health alert of one flagged row (key: check, measure, day)."""
    if expectation_type == VOLUME_TYPE:
        return HealthAlert(VOLUME, row["measure"], row["day"], SEVERITY, describe(row))
    if expectation_type == RESENT_TYPE:
        return HealthAlert(RESENT, "invoices", row["day"], SEVERITY,
                           "re-sent invoices on " + describe_resent(row))
    raise ValueError(f"not a data-health check: {expectation_type}")


def record(conn: Connection, alerts: list[HealthAlert], run_date: str
           ) -> tuple[list[HealthAlert], list[HealthAlert]]:
    """Record ``alerts`` not recorded yet; returns (new, already recorded)."""
    if not alerts:
        return [], []
    ensure_table(conn)
    days = sorted(a.episode_start for a in alerts)  # the flagged days' rows only
    keys = {(r[0], r[1], r[2]) for r in conn.execute(
        "select check_name, subject, episode_start from data_health_alerts "
        "where check_name in (?, ?) and episode_start between ? and ?",
        (VOLUME, RESENT, days[0], days[-1])).fetchall()}
    new = [a for a in alerts if a.key not in keys]
    if new:
        now = utc_now()
        with conn.transaction():
            state_sql.insert(
                conn, HEALTH, ("check_name", "subject", "episode_start", "run_date", "lag_days",
                               "allowance_days", "severity", "message", "first_seen_at",
                               "delivery_status"),
                [(a.check_name, a.subject, a.episode_start, run_date, 0, 0, a.severity,
                  a.message, now, PENDING) for a in new], on_conflict="nothing")
    return new, [a for a in alerts if a.key in keys]


def lines(new: list[HealthAlert], known: list[HealthAlert]) -> list[str]:
    """One console line per flagged day figure, new or recorded by an earlier run."""
    return ([f"DATA HEALTH: {a.message} [warning; new alert]" for a in new]
            + [f"DATA HEALTH: {a.message} [warning; already recorded]" for a in known])


def record_health(warehouse: Warehouse, validations: Any, run_date: date,
                  say: Callable[[str], None]) -> list[str]:
    """Record the days a checkpoint's volume and re-sent-invoice checks flagged (the staging
    checkpoint's: before the balance checkpoint sends the digest, which then carries them); say
    and return their lines."""
    found = [as_alert(kind, row) for v in validations for kind, row in health_flags(v)]
    if not found:
        return []
    with warehouse.connection() as conn:
        said = lines(*record(conn, found, run_date.isoformat()))
    for line in said:
        say(line)
    return said
