"""Data health in a run: judge freshness, record episodes, say them, and (nothing-new path) send.

Every run calls :func:`check_health`: the monitor before its checkpoints (its Slack digest then
carries the pending health alerts), ``balancewatch run``'s nothing-new path after its load, with
``send=True`` (no dbt, no GX: the digest is sent from here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from balancewatch.clock import utc_now
from balancewatch.exit_codes import CRITICAL_FAILURE, OK
from balancewatch.warehouse import Warehouse
from monitors.findings import freshness
from monitors.findings.freshness import FreshnessRules, HealthChanges


@dataclass(frozen=True)
class HealthOutcome:
    """What a run says about data health, and the exit status it implies."""

    changes: HealthChanges
    lines: list[str]

    @property
    def exit_code(self) -> int:
        critical = self.changes.stale and self.changes.severity == "critical"
        return CRITICAL_FAILURE if critical else OK


def health_lines(changes: HealthChanges) -> list[str]:
    """One console line per open (new or still open) and per resolved data-health alert."""
    level = "CRITICAL" if changes.severity == "critical" else "warning"
    lines = [f"DATA HEALTH: {a.message} [{level}; new alert]" for a in changes.opened]
    lines += [f"DATA HEALTH: {a.message} [{level}; stale since {a.episode_start}, already "
              "recorded]" for a in changes.ongoing]
    lines += [f"DATA HEALTH RESOLVED: {a.message}" for a in changes.resolved]
    return lines


def check_health(warehouse: Warehouse, today: date, rules: FreshnessRules,
                 say: Callable[[str], None], *, send: bool = False) -> HealthOutcome:
    """Judge and record freshness, print its lines; ``send``: deliver pending health alerts to
    Slack now (when Slack is configured)."""
    with warehouse.connection() as conn:
        changes = freshness.judge(conn, today, rules)
    outcome = HealthOutcome(changes, health_lines(changes))
    for line in outcome.lines:
        say(line)
    if send:
        _send(warehouse, say)
    return outcome


def _send(warehouse: Warehouse, say: Callable[[str], None]) -> None:
    """One digest of the pending health alerts (the nothing-new path has no swings to add)."""
    from monitors.alerts.slack_delivery import SlackSettings

    settings = SlackSettings.from_env()
    if settings.mode is None:
        return
    from monitors.alerts.digest import Digest
    from monitors.alerts.outbox import notify

    with warehouse.connection() as conn:
        alerts, resolved = freshness.pending(conn)
        if not alerts and not resolved:
            return
        result = notify(conn, Digest(None, None, None, 0, run_started=utc_now()), settings)
    say(result.line())
