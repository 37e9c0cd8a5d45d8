"""A digest whose run died (or lost Slack's answer) after posting it: was it posted?

Each Web API digest carries its id in the message's metadata (event type
``balancewatch_digest``), and its alerts and resolutions are marked with that id, committed,
before it is posted (:mod:`monitors.findings.digests`). A run that finds such marks left behind
asks the channel's history (``conversations.history``) for a message with that id, from a little
before the digest's time: found, the digest's alerts and resolutions are marked sent with that
message's ``ts`` (its charts become due in its thread), and the new digest leaves them out; not
found, they stay pending and the new digest carries them. When the history cannot be read (the
app lacks ``channels:history``, the channel is known only by name, Slack is down) they are sent
again, and the operator is told: at least once, never lost.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from balancewatch.warehouse import Connection
from monitors.alerts.digest import rank_alerts
from monitors.alerts.slack_delivery import SlackSettings, Sleep, find_posted
from monitors.findings.alert_records import (
    mark_resolutions_sent,
    mark_sent,
    pending_resolutions,
    pending_swings,
)
from monitors.findings.digests import in_flight, known_channel_id, settle

EVENT_TYPE = "balancewatch_digest"
CLOCK_MARGIN_SECONDS = 600  # Slack's clock against ours, when looking for a digest
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


def digest_metadata(digest_id: str) -> dict[str, Any]:
    """The metadata a digest is posted with (``chat.postMessage``'s ``metadata``)."""
    return {"event_type": EVENT_TYPE, "event_payload": {"digest_id": digest_id}}


@dataclass(frozen=True)
class Settled:
    """What checking the digests in flight found."""

    recovered: int = 0  # alerts and resolutions found posted: marked sent, not sent again
    problem: str | None = None  # why some could not be checked (they are sent again)


def settle_in_flight(conn: Connection, settings: SlackSettings, charts: int, *,
                     sleep: Sleep = time.sleep) -> Settled:
    """Check every digest in flight (Web API); ``charts``: how many of a digest's largest
    swings get a chart in its thread."""
    flights = in_flight(conn)
    if not flights:
        return Settled()
    channel = settings.channel or ""
    channel = channel if CHANNEL_ID.match(channel) else known_channel_id(conn)
    recovered, problem = 0, None
    for flight in flights:
        ts = None
        if channel is None:
            problem = ("the channel is known by name only (set SLACK_CHANNEL to its id to "
                       "check)")
        else:
            started = datetime.fromisoformat(flight.started_at.replace("Z", "+00:00"))
            ts, failed = find_posted(settings, channel, digest_metadata(flight.digest_id),
                                     started.timestamp() - CLOCK_MARGIN_SECONDS, sleep=sleep)
            problem = failed or problem
        if ts:
            alerts = [s for s in pending_swings(conn) if s.key in flight.keys]
            charted = {s.key for s in rank_alerts(alerts)[:charts]}  # as the digest chose
            resolutions = [r for r in pending_resolutions(conn) if r.key in flight.keys]
            mark_sent(conn, alerts, ts, channel, charted)
            mark_resolutions_sent(conn, resolutions)
            recovered += len(alerts) + len(resolutions)
        settle(conn, flight)
    if problem:
        problem = (f"could not check whether the digest of an interrupted run was posted "
                   f"({problem}): its alerts are sent again")
    return Settled(recovered, problem)
