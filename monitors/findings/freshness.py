"""Data health, freshness: is the warehouse's data as new as the run's date says it should be?

Two subjects, each judged against the run's date (``--today`` / ``$BALANCEWATCH_TODAY``, else
the UTC clock) with an allowance from ``dbt/dbt_project.yml`` vars:

* ``invoices``: the newest invoice day (raw ``invoices.created_at``, so no dbt is needed) is
  stale when more than ``freshness_max_invoice_lag_days`` (2) days behind;
* ``loads``: the newest load (``load_log.loaded_at``) is stale when more than
  ``freshness_max_load_age_days`` (1) days old.

A stale subject opens an *episode* in ``data_health_alerts``, one row per (check, subject,
episode's first stale day): recorded once, sent to Slack once (``delivery_status``), and resolved
once when data arrives (``resolved_at``; ``resolution_status`` pending while Slack has not been
told of a sent one). Writes go through :mod:`balancewatch.state_sql` (Spark: partitioned by
``check_name``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from balancewatch import state_sql
from balancewatch.clock import utc_now
from balancewatch.warehouse import Connection

FRESHNESS = "freshness"
TODAY_ENV = "BALANCEWATCH_TODAY"
PENDING, SENT = "pending", "sent"
SEVERITIES = ("warning", "critical")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HEALTH_DDL = """
create table if not exists data_health_alerts (
    check_name         text    not null,  -- 'freshness'
    subject            text    not null,  -- 'invoices' / 'loads'
    episode_start      text    not null,  -- the first day the subject counted as stale
    newest             text,              -- newest invoice day / newest load time (UTC)
    run_date           text    not null,  -- the run's date when the episode was found
    lag_days           integer not null,
    allowance_days     integer not null,
    severity           text    not null,
    message            text    not null,
    first_seen_at      text    not null,
    delivery_status    text    not null default 'pending',
    sent_at            text,
    resolved_at        text,
    resolution         text,
    resolution_status  text,
    resolution_sent_at text,
    primary key (check_name, subject, episode_start)
)"""
HEALTH = state_sql.StateTable("data_health_alerts", HEALTH_DDL,
                              ("check_name", "subject", "episode_start"), partition="check_name")


class BadSetting(ValueError):
    """A bad ``--today`` or freshness var: exit 2, nothing written."""


@dataclass(frozen=True)
class FreshnessRules:
    """The allowances (days) and the severity of a stale warehouse."""

    enabled: bool = True
    max_invoice_lag_days: int = 2
    max_load_age_days: int = 1
    severity: str = "warning"


def _days(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadSetting(f"dbt var {name} must be a whole number of days >= 0, got {value!r}")
    return value


def read_rules(project_root: Path) -> FreshnessRules:
    """The ``freshness_*`` vars of ``<project_root>/dbt/dbt_project.yml`` (defaults if absent)."""
    path = project_root / "dbt" / "dbt_project.yml"
    found = (yaml.safe_load(path.read_text()) or {}).get("vars") or {} if path.is_file() else {}
    severity = found.get("freshness_severity", "warning")
    if severity not in SEVERITIES:
        raise BadSetting(f"dbt var freshness_severity must be warning or critical, got "
                         f"{severity!r}")
    return FreshnessRules(
        bool(found.get("freshness_enabled", True)),
        _days(found.get("freshness_max_invoice_lag_days", 2), "freshness_max_invoice_lag_days"),
        _days(found.get("freshness_max_load_age_days", 1), "freshness_max_load_age_days"),
        severity,
    )


def run_date(value: str | None = None) -> date:
    """The run's date: ``value`` (``--today``), else ``$BALANCEWATCH_TODAY``, else UTC today."""
    source, text = ("--today", value) if value else (TODAY_ENV, os.environ.get(TODAY_ENV))
    if not text:
        return datetime.now(UTC).date()
    try:
        if not _DAY.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise BadSetting(f"{source} must be a day YYYY-MM-DD, got {text!r}") from None


@dataclass(frozen=True)
class Observation:
    """One subject judged against the run's date."""

    subject: str  # 'invoices' / 'loads'
    newest: str  # the newest invoice day / load time
    today: str
    lag_days: int
    allowance_days: int

    @property
    def stale(self) -> bool:
        return self.lag_days > self.allowance_days

    @property
    def episode_start(self) -> str:
        """The first day this newest data counted as stale."""
        first = date.fromisoformat(self.newest[:10]) + timedelta(days=self.allowance_days + 1)
        return first.isoformat()

    def sentence(self) -> str:
        """What is wrong (or right), with the figures."""
        allowance = f"allowance {self.allowance_days} day(s)"
        if self.subject == "invoices":
            state = (f"invoices are {self.lag_days} day(s) behind" if self.stale
                     else "invoices are up to date again")
            return (f"{state}: newest invoice day {self.newest}, today {self.today} "
                    f"({allowance})")
        state = (f"no load for {self.lag_days} day(s)" if self.stale
                 else "data was loaded again")
        return f"{state}: last load {self.newest}, today {self.today} ({allowance})"


@dataclass(frozen=True)
class HealthAlert:
    """A recorded data-health episode, as the console, Slack and the report say it."""

    check_name: str
    subject: str
    episode_start: str
    severity: str
    message: str  # the stale sentence (or, for a resolution, the resolution)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.check_name, self.subject, self.episode_start)


@dataclass(frozen=True)
class HealthChanges:
    """What judging did: episodes opened, still open, resolved."""

    opened: list[HealthAlert]
    ongoing: list[HealthAlert]
    resolved: list[HealthAlert]
    severity: str = "warning"

    @property
    def stale(self) -> bool:
        return bool(self.opened or self.ongoing)


def _newest_invoice_day(conn: Connection) -> str | None:
    """The newest raw invoice day; after a passing monitor run from its as-of day and the
    invoices of newer loads only (the ``_load_id`` index), not a scan of every invoice."""
    names = conn.table_names()
    if "invoices" not in names or "created_at" not in conn.column_names("invoices"):
        return None
    newest = "select substr(max(created_at), 1, 10) from invoices"
    passed = None
    if "monitor_scope" in names:
        passed = conn.execute("select through_load_id, as_of_date from monitor_scope "
                              "where scope_name = 'last_passed'").fetchone()
    if passed is None or passed[1] is None:
        return conn.scalar(newest)
    newer = conn.scalar(newest + " where _load_id > ?", (int(passed[0]),))
    return max(passed[1], newer) if newer else passed[1]


def observe(conn: Connection, today: date, rules: FreshnessRules) -> list[Observation]:
    """Each subject the warehouse has, judged against ``today``."""
    found = []
    day = _newest_invoice_day(conn)
    if day:
        lag = (today - date.fromisoformat(day)).days
        found.append(Observation("invoices", day, today.isoformat(), lag,
                                 rules.max_invoice_lag_days))
    if "load_log" in conn.table_names():
        loaded = conn.scalar("select max(loaded_at) from load_log")
        if loaded:
            age = (today - date.fromisoformat(loaded[:10])).days
            found.append(Observation("loads", loaded[:19] + "Z", today.isoformat(), age,
                                     rules.max_load_age_days))
    return found


def ensure_table(conn: Connection) -> None:
    """Create ``data_health_alerts`` when missing."""
    state_sql.create(conn, HEALTH)


def _open_episodes(conn: Connection) -> dict[str, tuple[str, str]]:
    """subject -> (episode start, delivery status) of its open freshness episode."""
    rows = conn.execute("select subject, episode_start, delivery_status from data_health_alerts "
                        "where check_name = ? and resolved_at is null", (FRESHNESS,)).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def judge(conn: Connection, today: date, rules: FreshnessRules) -> HealthChanges:
    """Open an episode for each newly stale subject, resolve those fresh again (one
    transaction; nothing is written when nothing changed)."""
    if not rules.enabled:
        return HealthChanges([], [], [], rules.severity)
    observed = observe(conn, today, rules)
    ensure_table(conn)
    open_now = _open_episodes(conn)
    opened, ongoing, resolved = [], [], []
    for o in observed:
        if o.stale:
            start = open_now.get(o.subject, (o.episode_start,))[0]
            alert = HealthAlert(FRESHNESS, o.subject, start, rules.severity, o.sentence())
            (ongoing if o.subject in open_now else opened).append(alert)
        elif o.subject in open_now:
            start = open_now[o.subject][0]
            sentence = f"{o.sentence()}; stale since {start}"
            resolved.append(HealthAlert(FRESHNESS, o.subject, start, rules.severity, sentence))
    if opened or resolved:
        _write(conn, _pairs(opened, observed), resolved)
    return HealthChanges(opened, ongoing, resolved, rules.severity)


def _write(conn: Connection, opened: list[tuple[HealthAlert, Observation]],
           resolved: list[HealthAlert]) -> None:
    now = utc_now()
    with conn.transaction():
        state_sql.insert(
            conn, HEALTH, ("check_name", "subject", "episode_start", "newest", "run_date",
                           "lag_days", "allowance_days", "severity", "message", "first_seen_at",
                           "delivery_status"),
            [(a.check_name, a.subject, a.episode_start, o.newest, o.today, o.lag_days,
              o.allowance_days, a.severity, a.message, now, PENDING)
             for a, o in opened], on_conflict="nothing")
        state_sql.update(
            conn, HEALTH, {"resolved_at": "?", "resolution": "?",
                           "resolution_status": f"case when delivery_status = '{SENT}' "
                           f"then '{PENDING}' end"},
            [(now, a.message, *a.key) for a in resolved], where="resolved_at is null")


def _pairs(alerts: list[HealthAlert], observed: list[Observation]
           ) -> list[tuple[HealthAlert, Observation]]:
    by_subject = {o.subject: o for o in observed}
    return [(a, by_subject[a.subject]) for a in alerts]


def pending(conn: Connection) -> tuple[list[HealthAlert], list[HealthAlert]]:
    """(open episodes Slack was not told of, resolutions of sent ones not posted yet)."""
    if "data_health_alerts" not in conn.table_names():
        return [], []
    rows = conn.execute(
        "select check_name, subject, episode_start, severity, message, resolution, "
        "resolved_at from data_health_alerts where (delivery_status = ? and resolved_at is null)"
        " or resolution_status = ? order by subject, episode_start", (PENDING, PENDING)
    ).fetchall()
    alerts = [HealthAlert(*r[:5]) for r in rows if r[6] is None]
    resolutions = [HealthAlert(*r[:4], r[5]) for r in rows if r[6] is not None]
    return alerts, resolutions


def mark_sent(conn: Connection, alerts: list[HealthAlert], resolutions: list[HealthAlert]
              ) -> None:
    """Slack accepted the digest carrying these: never send them again."""
    now = utc_now()
    with conn.transaction():
        state_sql.update(conn, HEALTH, {"delivery_status": "?", "sent_at": "?"},
                         [(SENT, now, *a.key, PENDING) for a in alerts],
                         where="delivery_status = ?")
        state_sql.update(conn, HEALTH, {"resolution_status": "?", "resolution_sent_at": "?"},
                         [(SENT, now, *a.key, PENDING) for a in resolutions],
                         where="resolution_status = ?")
