"""Sizes of the generated deliveries and the constants of the Deel export format."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

ORGANIZATIONS_HEADER = (
    "ORGANIZATION_ID,FIRST_PAYMENT_DATE,LAST_PAYMENT_DATE,LEGAL_ENTITY_COUNTRY_CODE,"
    "COUNT_TOTAL_CONTRACTS_ACTIVE,CREATED_DATE"
)
INVOICES_HEADER = (
    "INVOICE_ID,PARENT_INVOICE_ID,TRANSACTION_ID,ORGANIZATION_ID,TYPE,STATUS,CURRENCY,"
    "PAYMENT_CURRENCY,PAYMENT_METHOD,AMOUNT,PAYMENT_AMOUNT,FX_RATE,FX_RATE_PAYMENT,CREATED_AT"
)

#: The warehouse's HASH(NULL): "no value" in PARENT_INVOICE_ID and TRANSACTION_ID.
HASH_NULL = 8817975702393619368

STATUSES = (
    "paid", "open", "skipped", "cancelled", "credited", "pending",
    "failed", "processing", "refunded", "unpayable", "awaiting_payment",
)
#: Status mix (weights) of invoices older than RECENT_DAYS at the as-of date, and of recent ones.
OLD_STATUS_WEIGHTS = (73.5, 1.5, 3.5, 5.0, 2.5, 1.0, 2.5, 0.3, 3.5, 0.7, 2.0)
RECENT_STATUS_WEIGHTS = (45.0, 15.0, 3.0, 3.0, 1.5, 8.0, 3.0, 4.0, 1.5, 1.0, 15.0)
RECENT_DAYS = 30
#: Balance sign of a status (docs/contract.md §2): paid +1, refunded -1, everything else 0.
BALANCE_SIGN = {"paid": 1, "refunded": -1}

PAYMENT_METHODS = (
    "bank_transfer", "credit_card", "ach_debit", "sepa_debit", "wire", "paypal", "deel_balance",
)
PAYMENT_METHOD_WEIGHTS = (40, 22, 14, 10, 8, 3, 3)

N_TYPES = 17
N_COUNTRIES = 150


@dataclass(frozen=True)
class Preset:
    """How much data to generate and over which dates (both ends inclusive, UTC days)."""

    name: str
    organizations: int
    invoices: int
    start: dt.date
    end: dt.date
    #: Share of listed organizations created before `start` (already running at the start).
    mature_share: float
    #: Share of listed organizations that never pay (FIRST/LAST_PAYMENT_DATE empty; recently
    #: created organizations add a few more points on short ranges).
    never_paid_share: float

    @property
    def days(self) -> int:
        """Number of days in the range."""
        return (self.end - self.start).days + 1


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        "tiny", 30, 2_000, dt.date(2023, 11, 1), dt.date(2024, 4, 30), 0.45, 0.065
    ),
    "sample": Preset(
        "sample", 300, 24_000, dt.date(2023, 5, 1), dt.date(2024, 4, 30), 0.40, 0.065
    ),
    "full": Preset(
        "full", 21_806, 12_700_000, dt.date(2019, 5, 1), dt.date(2024, 4, 30), 0.08, 0.095
    ),
}
DEFAULT_PRESET = "sample"
DEFAULT_SEED = 2024


def resolve_preset(
    name: str = DEFAULT_PRESET,
    organizations: int | None = None,
    invoices: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Preset:
    """Return the named preset with any explicit overrides applied."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    preset = PRESETS[name]
    changes = {
        key: value
        for key, value in (
            ("organizations", organizations), ("invoices", invoices), ("start", start), ("end", end)
        )
        if value is not None
    }
    if changes:
        preset = replace(preset, name=f"{name}+custom", **changes)
    if preset.organizations < 1 or preset.invoices < 0:
        raise ValueError("--organizations must be >= 1 and --invoices >= 0")
    if preset.end < preset.start:
        raise ValueError("--end must not be before --start")
    return preset
