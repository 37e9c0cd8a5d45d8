"""How a digest looks in Slack: Block Kit plus a plain-text fallback, within Slack's limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitors.alerts.digest import Digest, describe_swing, format_pct, format_usd
from monitors.findings.results import SwingAlert

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

    def as_payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


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
    return f"{digest.days_evaluated} day(s) evaluated: {span} · as of {digest.as_of}"


def _swing_line(rank: int, swing: SwingAlert) -> str:
    return (
        f"{rank}. *org {swing.organization_id}* · {swing.balance_date} · "
        f"{format_usd(swing.previous_balance_usd)} → {format_usd(swing.balance_usd)} "
        f"(*{format_pct(swing.change_pct)}*, {format_usd(swing.change_usd)})"
    )


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


def _title(digest: Digest) -> str:
    parts = []
    if digest.critical:
        parts.append(f"{len(digest.critical)} critical check(s) failed")
    if digest.swings:
        parts.append(f"{len(digest.swings)} balance swing(s)")
    return "balancewatch: " + (", ".join(parts) if parts else "all clear")


def _docs_line(digest: Digest) -> str | None:
    if not digest.docs_url:
        return None
    if digest.docs_url.startswith(("http://", "https://")):
        return f"<{digest.docs_url}|Open the Data Docs report>"
    return f"Data Docs report: `{digest.docs_url}`"


def render_slack(digest: Digest, *, max_swings: int = MAX_SWINGS_SHOWN) -> SlackMessage:
    """Block Kit for one digest: header, window, critical failures, ranked swings, docs link."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(_title(digest), 150)}},
        _context(_window(digest)),
    ]
    if digest.critical:
        shown = digest.critical[:MAX_CRITICAL_SHOWN]
        lines = [":rotating_light: *Critical checks failed* (the data cannot be trusted):"]
        lines += [f"• *{c.suite}* · `{c.expectation}`: {c.detail}" for c in shown]
        if len(digest.critical) > len(shown):
            lines.append(f"…and {len(digest.critical) - len(shown)} more critical failure(s)")
        blocks += [_section(chunk) for chunk in _chunks(lines)]
    ranked = digest.ranked_swings()
    if ranked:
        blocks.append({"type": "divider"})
        shown_swings = ranked[:max_swings]
        lines = [":bar_chart: *Balance swings*, largest USD move first:"]
        lines += [_swing_line(i, s) for i, s in enumerate(shown_swings, start=1)]
        blocks += [_section(chunk) for chunk in _chunks(lines)]
        if len(ranked) > len(shown_swings):
            blocks.append(_context(f"…and {len(ranked) - len(shown_swings)} more swing(s)"))
    docs = _docs_line(digest)
    if docs:
        blocks.append(_context(docs))
    if len(blocks) > MAX_BLOCKS:  # only reachable with absurd max_swings; keep the tail's meaning
        blocks = blocks[: MAX_BLOCKS - 1] + [_context("…message shortened to fit Slack's limits")]
    return SlackMessage(text=render_fallback(digest), blocks=blocks)


def render_fallback(digest: Digest) -> str:
    """Plain text for notifications and clients without Block Kit."""
    lines = [_title(digest), _window(digest)]
    for failure in digest.critical[:FALLBACK_SWINGS]:
        lines.append(f"CRITICAL {failure.suite} {failure.expectation}: {failure.detail}")
    ranked = digest.ranked_swings()
    lines += [describe_swing(s) for s in ranked[:FALLBACK_SWINGS]]
    if len(ranked) > FALLBACK_SWINGS:
        lines.append(f"…and {len(ranked) - FALLBACK_SWINGS} more swing(s)")
    return _clip("\n".join(lines))
