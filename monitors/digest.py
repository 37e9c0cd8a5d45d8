"""What an alert digest says: one run's outcome as a typed message, independent of any channel."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SwingAlert:
    """One organization-day whose balance moved by more than the threshold."""

    organization_id: int
    balance_date: str
    previous_balance_usd: float
    balance_usd: float
    change_usd: float
    change_pct: float | None
    rule: str = "balance_swing"

    @property
    def key(self) -> tuple[int, str, str]:
        """The alert's identity: it is sent at most once per (organization, day, rule)."""
        return (self.organization_id, self.balance_date, self.rule)


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

    @property
    def has_news(self) -> bool:
        """Whether there is anything to send at all."""
        return bool(self.swings or self.critical)

    def ranked_swings(self) -> list[SwingAlert]:
        """Swings by absolute USD change, largest first (ties: day, then organization)."""
        return sorted(
            self.swings,
            key=lambda s: (-abs(s.change_usd), s.balance_date, s.organization_id),
        )


def format_usd(value: float) -> str:
    """``-$1,234.50`` style."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def format_pct(value: float | None) -> str:
    """``+912.3%`` style; ``n/a`` when there is no percentage."""
    return "n/a" if value is None else f"{value:+,.1f}%"


def describe_swing(swing: SwingAlert) -> str:
    """One line: organization, day, previous -> balance, change % and USD."""
    return (
        f"org {swing.organization_id} on {swing.balance_date}: "
        f"{format_usd(swing.previous_balance_usd)} -> {format_usd(swing.balance_usd)} "
        f"({format_pct(swing.change_pct)}, {format_usd(swing.change_usd)})"
    )
