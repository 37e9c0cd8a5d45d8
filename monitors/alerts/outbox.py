"""Send the outbox: every pending alert of ``balance_alerts`` in one digest, marked sent once.

Slack is told at most once per (organization, day, rule): an alert is marked ``sent`` (with the
message timestamp) only after Slack accepted the digest, and stays ``pending`` after any fault, so
the next run sends it. Nothing here raises on a Slack fault.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from balancewatch.warehouse import Connection
from monitors.alerts.digest import Digest
from monitors.alerts.slack_blocks import render_slack
from monitors.alerts.slack_delivery import SlackSettings, Sleep, send_message
from monitors.findings.alert_records import mark_sent, pending_swings


@dataclass(frozen=True)
class NotifyResult:
    """What the notification step did, in words an operator reads."""

    channel: str  # "slack (web api)", "slack (webhook)" or "console only"
    sent_alerts: int
    pending_alerts: int
    problem: str | None = None
    seconds: float = 0.0

    def line(self) -> str:
        if self.problem:
            return (
                f"slack: NOT delivered: {self.problem}; {self.pending_alerts} alert(s) stay "
                "pending and will be sent by the next run"
            )
        if self.channel == "console only":
            return (
                f"slack: not configured; {self.pending_alerts} alert(s) recorded in balance_alerts"
            )
        if not self.sent_alerts:
            return f"{self.channel}: nothing new to send"
        alerts = f"{self.sent_alerts} alert(s)"
        return f"{self.channel}: sent 1 digest with {alerts} in {self.seconds:.1f} s"


def notify(
    conn: Connection,
    run: Digest,
    settings: SlackSettings,
    *,
    sleep: Sleep = time.sleep,
) -> NotifyResult:
    """Send one digest of the run plus every pending alert; mark what Slack accepted."""
    started = time.perf_counter()
    pending = pending_swings(conn)
    digest = replace(run, swings=tuple(pending))
    if settings.mode is None:
        return NotifyResult("console only", 0, len(pending), settings.incomplete())
    channel = f"slack ({settings.mode.replace('_', ' ')})"
    if not digest.has_news:
        return NotifyResult(channel, 0, 0)
    outcome = send_message(render_slack(digest), settings, sleep=sleep)
    seconds = time.perf_counter() - started
    if not outcome.delivered:
        return NotifyResult(channel, 0, len(pending), outcome.problem, seconds)
    mark_sent(conn, pending, outcome.message_ts or "")
    return NotifyResult(channel, len(pending), 0, None, seconds)
