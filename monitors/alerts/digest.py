"""What an alert digest says: one run's outcome as a typed message, independent of any channel."""

from __future__ import annotations

from dataclasses import dataclass

from monitors.findings.anomaly_results import merge_rules
from monitors.findings.freshness import HealthAlert
from monitors.findings.results import (
    ANOMALY_RULE,
    RULE_NAMES,
    SWING_RULE,
    Resolution,
    SwingAlert,
)


@dataclass(frozen=True)
class CriticalFailure:
    """A critical expectation that failed: the data itself cannot be trusted."""

    suite: str
    expectation: str
    detail: str


@dataclass(frozen=True)
class Digest:
    """Everything one monitor run has to tell the operations team."""

    as_of: str | None
    first_day: str | None
    last_day: str | None
    days_evaluated: int
    swings: tuple[SwingAlert, ...] = ()
    critical: tuple[CriticalFailure, ...] = ()
    docs_url: str | None = None
    resolved: tuple[Resolution, ...] = ()  # listed in the digest itself
    resolved_in_threads: int = 0  # posted as replies in the threads of the digests they were in
    min_usd: float = 0.0  # the materiality floor: smaller moves are not alerted
    footer: str | None = None  # muted alerts and old unacknowledged alerts, counted
    run_started: str | None = None  # swings first seen before it were found by earlier runs
    backlog: int = 0  # unsent swings found before ``backlog_cutoff``: counted, not listed
    backlog_cutoff: str | None = None  # a day (YYYY-MM-DD)
    health: tuple[HealthAlert, ...] = ()  # data-health alerts not sent yet (stale data)
    health_resolved: tuple[HealthAlert, ...] = ()  # ... and resolutions of sent ones

    @property
    def health_count(self) -> int:
        return len(self.health) + len(self.health_resolved)

    @property
    def has_news(self) -> bool:
        """Whether there is anything to send at all."""
        return bool(self.swings or self.critical or self.resolved or self.resolved_in_threads
                    or self.backlog or self.health_count)

    def carried_over(self, swing: SwingAlert) -> bool:
        """Whether an earlier run found ``swing`` (and it was not sent until now)."""
        return bool(self.run_started and swing.first_seen_at
                    and swing.first_seen_at < self.run_started)

    def ranked_swings(self, *, late: bool | None = None, carried: bool | None = None
                      ) -> list[SwingAlert]:
        """Swings and anomalies by absolute USD change, largest first (ties: day, then
        organization), a day flagged by both rules once (:func:`merge_rules`); ``late``
        True/False: only the late-data / new-day ones; ``carried`` True/False: only those found
        by earlier runs / by this one."""
        return [s for s in rank_alerts(self.swings) if (late is None or s.is_late == late)
                and (carried is None or self.carried_over(s) == carried)]


def rank_alerts(alerts: tuple[SwingAlert, ...] | list[SwingAlert]) -> list[SwingAlert]:
    """Alerts by absolute USD change, largest first (ties: day, organization, the swing rule
    first), a day flagged by both rules once: the digest's order, and which alerts get a chart."""
    ranked = sorted(alerts, key=lambda s: (-abs(s.change_usd), s.balance_date, s.organization_id,
                                           s.rule != SWING_RULE))
    return merge_rules(ranked)


def format_usd(value: float) -> str:
    """``-$1,234.50`` style."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def cause_line(swing: SwingAlert) -> str | None:
    """The swing's largest invoice, and what the rest of its day adds up to, so the line sums
    to the day's change: ``invoice 42 paid EUR 1.00 = +$1.09 … and 3 more invoices
    (+$189,933.60)``; None when no cause is stored."""
    if not swing.causes:
        return None
    top = swing.causes[0]
    line = top.describe()
    more = swing.invoice_count - 1
    if more > 0:
        rest = swing.change_usd - top.effect_usd
        sign = "+" if rest >= 0 else "-"
        line += (f" … and {more} more invoice{'s' if more > 1 else ''} "
                 f"({sign}${abs(rest):,.2f})")
    return line


def format_pct(value: float | None) -> str:
    """``+912.3%`` style; ``n/a`` when there is no percentage."""
    return "n/a" if value is None else f"{value:+,.1f}%"


def restated_by(swing: SwingAlert) -> str:
    """``load 7`` (``a later load`` when unknown), ``, re-opened`` when it swings again."""
    load = f"load {swing.load_id}" if swing.load_id is not None else "a later load"
    return load + (", re-opened" if swing.reopened else "")


def describe_swing(swing: SwingAlert) -> str:
    """One line: organization, day, previous -> balance, change % and USD."""
    return (
        f"org {swing.organization_id} on {swing.balance_date}: "
        f"{format_usd(swing.previous_balance_usd)} -> {format_usd(swing.balance_usd)} "
        f"({format_pct(swing.change_pct)}, {format_usd(swing.change_usd)})"
    )


def anomaly_why(alert: SwingAlert) -> str | None:
    """Why the anomaly rule flagged the day: ``-35.0% where this organization usually moves
    +0.0% ±1.2% on ordinary days (87 days; 29.2 spreads off)``; None without a baseline."""
    b = alert.baseline
    if b is None:
        return None
    kind = "on the 1st of a month" if b.day_kind == "first" else "on ordinary days"
    return (f"{format_pct(alert.change_pct)} where this organization usually moves "
            f"{b.median_pct:+,.1f}% ±{b.spread_pct:,.1f}% {kind} ({b.history_days} days; "
            f"{b.score:,.1f} spreads off)")


def rules_label(alert: SwingAlert) -> str:
    """The rules that flagged the day: ``swing``, ``anomaly``, ``swing + anomaly``."""
    return " + ".join(RULE_NAMES.get(r, r) for r in alert.rules)


def is_anomaly(alert: SwingAlert) -> bool:
    """Whether the anomaly rule flagged the day (alone or beside the swing rule)."""
    return ANOMALY_RULE in alert.rules
