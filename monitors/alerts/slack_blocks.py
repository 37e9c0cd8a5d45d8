"""How a digest looks in Slack: Block Kit plus a plain-text fallback, within Slack's limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitors.alerts.digest import (
    Digest,
    anomaly_why,
    cause_line,
    describe_swing,
    format_pct,
    format_usd,
    is_anomaly,
    restated_by,
    rules_label,
)
from monitors.findings.results import SWING_RULE, Resolution, SwingAlert

MAX_BLOCKS = 50  # Slack rejects a message with more blocks
MAX_TEXT = 3000  # characters in one section's text
MAX_SWINGS_SHOWN = 20
MAX_CRITICAL_SHOWN = 10
FALLBACK_SWINGS = 5


@dataclass(frozen=True)
class SlackMessage:
    """A message ready for ``chat.postMessage`` or an incoming webhook."""

    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None  # a reply in the thread of this message (Web API only)
    metadata: dict[str, Any] | None = None  # Slack message metadata (Web API only)

    def as_payload(self) -> dict[str, Any]:
        payload = {"text": self.text, "blocks": self.blocks}
        if self.thread_ts:
            payload["thread_ts"] = self.thread_ts
        return payload


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(markdown: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(markdown)}}


def _context(markdown: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(markdown)}]}


def _window(digest: Digest) -> str:
    if not digest.days_evaluated:
        return f"no new days evaluated (as of {digest.as_of or 'unknown'})"
    span = (
        digest.first_day
        if digest.first_day == digest.last_day
        else f"{digest.first_day} to {digest.last_day}"
    )
    floor = f" · moves under {format_usd(digest.min_usd)} not alerted" if digest.min_usd else ""
    return f"{digest.days_evaluated} day(s) evaluated: {span} · as of {digest.as_of}{floor}"


def _swing_line(rank: int, swing: SwingAlert, *, found: bool = False) -> str:
    line = (
        f"{rank}. *org {swing.organization_id}* · {swing.balance_date} · "
        f"{format_usd(swing.previous_balance_usd)} → {format_usd(swing.balance_usd)} "
        f"(*{format_pct(swing.change_pct)}*, {format_usd(swing.change_usd)})"
    )
    if is_anomaly(swing):
        line += f" · *{rules_label(swing)}*"
    if swing.is_late:
        line += f" · restated by {restated_by(swing)}"
    if found and swing.first_seen_at:
        line += f" · found {swing.first_seen_at[:10]}"
    why = anomaly_why(swing)
    if why:
        line += f"\n      _why: {why}_"
    if swing.causes:
        line += f"\n      _cause: {cause_line(swing)}_"
    return line


def _what(ranked: list[SwingAlert], swings: str = "Balance swings") -> str:
    """``Balance swings``, or ``Balance swings and anomalies`` when the anomaly rule is there."""
    if not any(is_anomaly(s) for s in ranked):
        return swings
    if all(not s.also and s.rule != SWING_RULE for s in ranked):
        return swings.replace("swings", "anomalies").replace("Swings", "Anomalies")
    return swings.replace("swings", "swings and anomalies").replace("Swings",
                                                                     "Swings and anomalies")


def _resolution_line(resolution: Resolution) -> str:
    return (f"• *org {resolution.organization_id}* · {resolution.balance_date} · "
            f"{resolution.sentence}")


def _chunks(lines: list[str], limit: int = MAX_TEXT) -> list[str]:
    """Join lines into as few texts as fit ``limit`` each."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return chunks


def _health_lines(digest: Digest) -> list[str]:
    """The "Data health" section: stale data first (it dates every balance below), then what
    recovered."""
    lines = [f"• *{a.severity}* · {a.subject}: {a.message}" for a in digest.health]
    lines += [f"• :white_check_mark: resolved · {a.subject}: {a.message}"
              for a in digest.health_resolved]
    return lines


def _title(digest: Digest) -> str:
    parts = []
    if digest.health:
        parts.append(f"{len(digest.health)} data health alert(s)")
    if digest.health_resolved:
        parts.append(f"{len(digest.health_resolved)} data health alert(s) resolved")
    if digest.critical:
        parts.append(f"{len(digest.critical)} critical check(s) failed")
    ranked = digest.ranked_swings()
    anomalies = sum(1 for s in ranked if s.rule != SWING_RULE)
    if len(ranked) - anomalies:
        parts.append(f"{len(ranked) - anomalies} balance swing(s)")
    if anomalies:
        parts.append(f"{anomalies} balance anomaly(ies)")
    resolved = len(digest.resolved) + digest.resolved_in_threads
    if resolved:
        parts.append(f"{resolved} resolved")
    if digest.backlog:
        parts.append(f"{digest.backlog} older unsent")
    return "balancewatch: " + (", ".join(parts) if parts else "all clear")


def _backlog_line(digest: Digest) -> str:
    """The unsent alerts beyond the cut-off, as one count and the command that lists them."""
    return (f":file_cabinet: {digest.backlog} older alert(s), found by runs before "
            f"{digest.backlog_cutoff} and never sent, are not listed here: "
            f"`balancewatch alerts list --found-before {digest.backlog_cutoff}`")


def _docs_line(digest: Digest) -> str | None:
    if not digest.docs_url:
        return None
    if digest.docs_url.startswith(("http://", "https://")):
        return f"<{digest.docs_url}|Open this run's report> (invoices, charts, checks)"
    return (f"This run's report, on the machine that ran it: `{digest.docs_url}` "
            "(set BALANCEWATCH_DOCS_URL to link a hosted copy)")


def render_slack(digest: Digest, *, max_swings: int = MAX_SWINGS_SHOWN) -> SlackMessage:
    """Block Kit for one digest: header, window, critical failures, ranked swings, docs link."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(_title(digest), 150)}},
        _context(_window(digest)),
    ]
    if digest.health_count:
        lines = [":warning: *Data health* (is the data itself up to date?):",
                 *_health_lines(digest)]
        blocks += [_section(chunk) for chunk in _chunks(lines)]
    if digest.critical:
        shown = digest.critical[:MAX_CRITICAL_SHOWN]
        lines = [":rotating_light: *Critical checks failed* (the data cannot be trusted):"]
        lines += [f"• *{c.suite}* · {c.expectation}: {c.detail}" for c in shown]
        if len(digest.critical) > len(shown):
            lines.append(f"…and {len(digest.critical) - len(shown)} more critical failure(s)")
        blocks += [_section(chunk) for chunk in _chunks(lines)]
    new, late, carried = (digest.ranked_swings(late=False, carried=False),
                          digest.ranked_swings(late=True, carried=False),
                          digest.ranked_swings(carried=True))
    groups = (
        (new, f":bar_chart: *{_what(new)} on new days*, largest USD move first:"),
        (late, f":hourglass: *{_what(late, 'Swings')} found in late data* (days evaluated "
         "before, restated since):"),
        (carried, ":inbox_tray: *Found by earlier runs, not sent until now* (still "
         f"{'flagged' if any(is_anomaly(s) for s in carried) else 'swinging'}):"),
    )
    for ranked, title in groups:
        if not ranked:
            continue
        blocks.append({"type": "divider"})
        shown_swings = ranked[:max_swings]
        lines = [title] + [_swing_line(i, s, found=digest.carried_over(s))
                           for i, s in enumerate(shown_swings, start=1)]
        blocks += [_section(chunk) for chunk in _chunks(lines)]
        if len(ranked) > len(shown_swings):
            blocks.append(_context(f"…and {len(ranked) - len(shown_swings)} more swing(s)"))
    if digest.resolved or digest.resolved_in_threads:
        blocks.append({"type": "divider"})
        lines = [":white_check_mark: *Alerts resolved* (the day no longer swings):"]
        lines += [_resolution_line(r) for r in digest.resolved[:max_swings]]
        if len(digest.resolved) > max_swings:
            lines.append(f"…and {len(digest.resolved) - max_swings} more")
        if digest.resolved_in_threads:
            lines.append(f"{digest.resolved_in_threads} alert(s) resolved in the thread of the "
                         "digest that carried them")
        blocks += [_section(chunk) for chunk in _chunks(lines)]
    if digest.backlog:
        blocks.append(_context(_backlog_line(digest)))
    if digest.footer:
        blocks.append(_context(digest.footer))
    docs = _docs_line(digest)
    if docs:
        blocks.append(_context(docs))
    if len(blocks) > MAX_BLOCKS:  # only reachable with absurd max_swings; keep the tail's meaning
        blocks = blocks[: MAX_BLOCKS - 1] + [_context("…message shortened to fit Slack's limits")]
    return SlackMessage(text=render_fallback(digest), blocks=blocks)


def render_fallback(digest: Digest) -> str:
    """Plain text for notifications and clients without Block Kit."""
    lines = [_title(digest), _window(digest)]
    lines += [f"DATA HEALTH {a.severity}: {a.message}" for a in digest.health]
    lines += [f"DATA HEALTH resolved: {a.message}" for a in digest.health_resolved]
    for failure in digest.critical[:FALLBACK_SWINGS]:
        lines.append(f"CRITICAL {failure.suite} {failure.expectation}: {failure.detail}")
    ranked = digest.ranked_swings()
    lines += [describe_swing(s) + (f" [{rules_label(s)}]" if is_anomaly(s) else "")
              + (f" (late data, {restated_by(s)})" if s.is_late else "")
              for s in ranked[:FALLBACK_SWINGS]]
    if len(ranked) > FALLBACK_SWINGS:
        lines.append(f"…and {len(ranked) - FALLBACK_SWINGS} more swing(s)")
    if digest.backlog:
        lines.append(f"{digest.backlog} older unsent alert(s) found before "
                     f"{digest.backlog_cutoff}: balancewatch alerts list --found-before "
                     f"{digest.backlog_cutoff}")
    lines += [f"resolved: org {r.organization_id} on {r.balance_date}: {r.sentence}"
              for r in digest.resolved[:FALLBACK_SWINGS]]
    return _clip("\n".join(lines))


def render_resolutions_reply(resolutions: list[Resolution], thread_ts: str) -> SlackMessage:
    """A thread reply under the digest that carried these alerts: they no longer hold."""
    lines = [f":white_check_mark: *{len(resolutions)} alert(s) of this digest resolved* "
             "(late data restated the day):"]
    lines += [_resolution_line(r) for r in resolutions]
    blocks = [_section(chunk) for chunk in _chunks(lines)][: MAX_BLOCKS]
    text = "\n".join(
        f"resolved: org {r.organization_id} on {r.balance_date}: {r.sentence}" for r in resolutions
    )
    return SlackMessage(text=_clip(text), blocks=blocks, thread_ts=thread_ts)
