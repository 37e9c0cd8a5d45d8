"""Send the outbox: every pending alert of ``balance_alerts`` in one digest, marked sent once.

Alerts an earlier run found are labelled with the day they were found; those found more than
``$BALANCEWATCH_BACKLOG_DAYS`` (7) days before the run are counted, with the command that lists
them, instead of listed one by one (they are marked sent with the digest that counted them).

Slack is told at most once per (organization, day, rule): an alert is marked ``sent`` (with the
message timestamp) only after Slack accepted the digest, and stays ``pending`` after any fault, so
the next run sends it. A Web API digest is marked in flight before it is posted, and the next run
asks Slack whether a digest in flight was posted before sending its alerts again
(:mod:`monitors.alerts.in_flight`). Nothing here raises on a Slack fault.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import groupby

from balancewatch.warehouse import Connection
from monitors.alerts.digest import Digest
from monitors.alerts.in_flight import Settled, digest_metadata, settle_in_flight
from monitors.alerts.slack_blocks import render_resolutions_reply, render_slack
from monitors.alerts.slack_delivery import SlackSettings, Sleep, send_message
from monitors.findings import freshness
from monitors.findings.alert_records import (
    mark_chart_sent,
    mark_resolutions_sent,
    mark_sent,
    pending_charts,
    pending_resolutions,
    pending_swings,
)
from monitors.findings.anomaly_results import merge_rules
from monitors.findings.causes import balance_series, with_causes
from monitors.findings.digests import mark_in_flight
from monitors.findings.operations import digest_footer
from monitors.findings.results import Resolution

MAX_CHARTS = 5  # charts of the largest swings uploaded into a digest's thread
BACKLOG_DAYS_ENV = "BALANCEWATCH_BACKLOG_DAYS"
DEFAULT_BACKLOG_DAYS = 7


@dataclass(frozen=True)
class NotifyResult:
    """What the notification step did, in words an operator reads."""

    channel: str  # "slack (web api)", "slack (webhook)" or "console only"
    sent_alerts: int
    pending_alerts: int
    problem: str | None = None
    seconds: float = 0.0
    sent_resolutions: int = 0
    pending_resolutions: int = 0
    charts_uploaded: int = 0
    backlog: int = 0  # of sent_alerts: counted in the digest, not listed
    settled: Settled = Settled()  # digests of interrupted runs, checked first
    sent_health: int = 0  # data-health alerts and resolutions in the digest

    def line(self) -> str:
        line = self._line()
        if self.settled.recovered:
            line += (f"; {self.settled.recovered} alert(s)/resolution(s) of an interrupted "
                     "run's digest were posted by it: marked sent, not sent again")
        return line + (f"; {self.settled.problem}" if self.settled.problem else "")

    def _line(self) -> str:
        resolutions = (f"; {self.pending_resolutions} resolution(s) stay pending"
                       if self.pending_resolutions else "")
        if self.problem and (self.sent_alerts or self.sent_resolutions):
            return (f"{self.channel}: sent 1 digest with {self.sent_alerts} alert(s); "
                    f"{self.problem}{resolutions} and will be posted by the next run")
        if self.problem:
            return (
                f"slack: NOT delivered: {self.problem}; {self.pending_alerts} alert(s) stay "
                f"pending{resolutions} and will be sent by the next run"
            )
        if self.channel == "console only":
            return (f"slack: not configured, nothing sent; {self.pending_alerts:,} alert(s) in "
                    "balance_alerts were never sent (`balancewatch alerts list --status pending`)")
        if not self.sent_alerts and not self.sent_resolutions and not self.sent_health:
            return f"{self.channel}: nothing new to send"
        alerts = f"{self.sent_alerts} alert(s)"
        if self.sent_health:
            alerts += f", {self.sent_health} data health alert(s)"
        if self.backlog:
            alerts += f" ({self.backlog} older one(s) counted, not listed)"
        if self.sent_resolutions:
            alerts += f" and {self.sent_resolutions} resolution(s)"
        charts = f", {self.charts_uploaded} chart(s) in its thread" if self.charts_uploaded else ""
        return f"{self.channel}: sent 1 digest with {alerts}{charts} in {self.seconds:.1f} s"


def backlog_cutoff(run_started: str | None) -> str | None:
    """The first day whose unsent alerts a digest still lists (older ones are counted):
    ``$BALANCEWATCH_BACKLOG_DAYS`` (default 7) days before the run; None without a run time."""
    text = os.environ.get(BACKLOG_DAYS_ENV) or str(DEFAULT_BACKLOG_DAYS)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{BACKLOG_DAYS_ENV} must be a whole number of days >= 1, got {text!r}")
    if not run_started:
        return None
    return (date.fromisoformat(run_started[:10]) - timedelta(days=int(text))).isoformat()


def _threaded(resolution: Resolution, settings: SlackSettings) -> bool:
    """A resolution goes into the thread of the Web API message that carried its alert."""
    ts = resolution.message_ts or ""
    return settings.mode == "web_api" and ts.replace(".", "").isdigit()


def notify(
    conn: Connection,
    run: Digest,
    settings: SlackSettings,
    *,
    sleep: Sleep = time.sleep,
) -> NotifyResult:
    """Send one digest of the run with every pending alert and resolution, then each threaded
    resolution as a reply under its digest; mark what Slack accepted, each message on its own."""
    started = time.perf_counter()
    if settings.mode is None:
        return NotifyResult("console only", 0, len(merge_rules(pending_swings(conn))),
                            settings.incomplete())
    settled = (settle_in_flight(conn, settings, MAX_CHARTS, sleep=sleep)
               if settings.mode == "web_api" else Settled())
    pending = pending_swings(conn)
    resolutions = pending_resolutions(conn)
    threaded = [r for r in resolutions if _threaded(r, settings)]
    inline = [r for r in resolutions if not _threaded(r, settings)]
    cutoff = backlog_cutoff(run.run_started)
    listed = [s for s in pending if not cutoff or (s.first_seen_at or "") >= cutoff]
    health, health_resolved = freshness.pending(conn)
    digest = replace(run, swings=tuple(with_causes(conn, listed)), resolved=tuple(inline),
                     resolved_in_threads=len(threaded), footer=digest_footer(conn),
                     backlog=len(merge_rules(pending)) - len(merge_rules(listed)),
                     backlog_cutoff=cutoff,
                     health=tuple(health), health_resolved=tuple(health_resolved))
    channel = f"slack ({settings.mode.replace('_', ' ')})"
    if not digest.has_news:
        charts, problem = upload_charts(conn, settings, run.as_of, sleep=sleep)
        return NotifyResult(channel, 0, 0, problem, charts_uploaded=charts, settled=settled)
    message = render_slack(digest)
    if settings.mode == "web_api":  # committed before it is posted: see in_flight.py
        digest_id = uuid.uuid4().hex
        mark_in_flight(conn, [*(s.key for s in pending), *(r.key for r in inline)], digest_id)
        message = replace(message, metadata=digest_metadata(digest_id))
    outcome = send_message(message, settings, sleep=sleep)
    if not outcome.delivered:
        seconds = time.perf_counter() - started
        return NotifyResult(channel, 0, len(merge_rules(pending)), outcome.problem, seconds,
                            pending_resolutions=len(resolutions), settled=settled)
    charted = {s.key for s in digest.ranked_swings()[:MAX_CHARTS]} if outcome.channel_id else set()
    mark_sent(conn, pending, outcome.message_ts or "", outcome.channel_id, charted)
    mark_resolutions_sent(conn, inline)
    freshness.mark_sent(conn, health, health_resolved)
    sent, problem = len(inline), None
    for thread_ts, group in groupby(threaded, key=lambda r: r.message_ts):
        replies = list(group)
        reply = send_message(render_resolutions_reply(replies, thread_ts), settings, sleep=sleep)
        if reply.delivered:
            sent += mark_resolutions_sent(conn, replies)
        else:
            problem = f"a resolution reply was not posted: {reply.problem}"
    charts, chart_problem = upload_charts(conn, settings, run.as_of, sleep=sleep)
    return NotifyResult(channel, len(merge_rules(pending)), 0, problem or chart_problem,
                        time.perf_counter() - started, sent, len(resolutions) - sent, charts,
                        digest.backlog, settled, digest.health_count)


def upload_charts(conn: Connection, settings: SlackSettings, as_of: str | None, *,
                  sleep: Sleep = time.sleep) -> tuple[int, str | None]:
    """Upload every due chart (PNG) into the thread of the digest that carried its alert, each
    marked once Slack shared it; returns (uploaded, a problem or None). Web API only."""
    due = pending_charts(conn) if settings.mode == "web_api" else []
    if not due:
        return 0, None
    from monitors.alerts.charts import chart_filename, chart_for
    from monitors.alerts.slack_uploads import upload_file

    uploaded, problem = 0, None
    for alert, channel_id, thread_ts in due:
        series = balance_series(conn, alert.organization_id, alert.balance_date, as_of)
        outcome = upload_file(
            settings, channel_id=channel_id, thread_ts=thread_ts,
            content=chart_for(alert, series, "png"),
            filename=chart_filename(alert.organization_id, alert.balance_date),
            title=f"org {alert.organization_id}: balance around {alert.balance_date}",
            sleep=sleep,
        )
        if outcome.delivered:
            uploaded += mark_chart_sent(conn, alert, outcome.file_id)
        else:
            problem = f"a chart was not uploaded: {outcome.problem}"
    return uploaded, problem
