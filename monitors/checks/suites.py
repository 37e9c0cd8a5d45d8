"""What the monitor expects of each table: the three suites, as code, with a severity apiece.

Severities (GX 1.24 ``severity``): **critical** = the data cannot be trusted, the run exits 1
(broken keys, impossible amounts, a fact table that does not add up or is stale); **warning** =
worth a look, the run still exits 0 (balance swings are business events, odd-looking but harmless
fields); **info** = reported for context only.

``monitors.gx_project.setup`` writes these suites into ``gx/expectations/``; ``load_checked_suite``
compares a loaded suite with this definition, because GX silently drops expectations whose class is
unknown.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import great_expectations.expectations as gxe

from monitors.checks.anomaly_expectation import balance_anomalies
from monitors.checks.anomaly_query import DEFAULT_ANOMALY_RULE, AnomalyRule
from monitors.checks.dialect_rows_expectation import UnexpectedRowsByDialectExpectation
from monitors.checks.fx_rate_expectation import fx_rate_sanity
from monitors.checks.fx_rate_query import DEFAULT_FX_RULE, FxRule
from monitors.checks.reference_expectation import ExpectColumnValuesToReferenceOtherTable
from monitors.checks.resent_expectation import resent_invoices
from monitors.checks.scope import this_run
from monitors.checks.sql_checks import (
    CENT,
    CRITICAL,
    CURRENCY,
    INFO,
    ISO_DAY,
    ISO_TIMESTAMP,
    WARNING,
    by_dialect,
    every_raw_row_staged,
    has_columns,
    not_before,
    not_in_future,
    storage_types,
    unique,
    well_formed,
)
from monitors.checks.sql_dates import day_before_sql
from monitors.checks.swing_expectation import ExpectDailyBalanceSwingsWithinThreshold
from monitors.checks.volume_expectation import invoice_volume
from monitors.checks.volume_rule import DEFAULT_VOLUME_RULE, VolumeRule

SWING_WINDOW_PARAMETER = "swing_window_start"
DEFAULT_STATUSES = (
    "paid", "open", "skipped", "cancelled", "credited", "pending", "failed", "processing",
    "refunded", "unpayable", "awaiting_payment",
)
MIN_SANE_DATE = "2015-01-01"  # the export starts 2019-05; anything much older is a broken clock

# column -> SQLite storage class of its non-NULL values (typeof()); REAL columns may hold integers
STG_INVOICES_COLUMNS = {
    "invoice_id": "integer", "parent_invoice_id": "integer", "transaction_id": "integer",
    "organization_id": "integer", "invoice_type": "integer", "status": "text",
    "currency": "text", "amount": "real", "fx_rate": "real", "amount_usd": "real",
    "payment_currency": "text", "payment_method": "text", "payment_amount": "real",
    "fx_rate_payment": "real", "payment_amount_usd": "real", "created_at": "text",
    "created_date": "text", "_load_id": "integer",
    # the replaced version the loader kept (NULL for a row never replaced): dim_organizations'
    # deltas
    "_previous_organization_id": "integer", "_previous_status": "text",
    "_previous_amount_usd": "real", "_previous_created_date": "text",
    "_previous_load_id": "integer",
}
STG_ORGANIZATIONS_COLUMNS = {
    "organization_id": "integer", "created_at": "text", "created_date": "text",
    "first_payment_date": "text", "last_payment_date": "text",
    "legal_entity_country_code": "integer", "active_contract_count": "integer",
    "_load_id": "integer",
}
FACT_COLUMNS = {
    "organization_id": "integer", "balance_date": "text", "daily_change_usd": "real",
    "balance_usd": "real", "previous_balance_usd": "real",
}
# the as-of date (latest invoice day) the monitor read from stg_invoices when the run started
_AS_OF = this_run("as_of_date")
def stg_invoices_suite(statuses: tuple[str, ...], fx: FxRule = DEFAULT_FX_RULE,
                       volume: VolumeRule = DEFAULT_VOLUME_RULE) -> list[Any]:
    """Staging invoices: shape, keys, the fields the balance rule reads, and plausibility (FX
    rates against their currency's trailing median unless ``fx.enabled`` is off); then the
    delivery's health: re-sent invoices, and each new day's volume unless ``volume.enabled`` is
    off."""
    return [
        has_columns(STG_INVOICES_COLUMNS),
        storage_types(STG_INVOICES_COLUMNS),
        every_raw_row_staged("invoices", "invoice"),
        gxe.ExpectColumnValuesToNotBeNull(column="invoice_id", severity=CRITICAL),
        unique(["invoice_id"]),
        gxe.ExpectColumnValuesToNotBeNull(column="organization_id", severity=CRITICAL),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(statuses),
                                        severity=CRITICAL),
        gxe.ExpectColumnValuesToNotBeNull(column="status", severity=CRITICAL),
        well_formed("Currency codes are 3 or 4 capital letters",
                     {"currency": CURRENCY, "payment_currency": CURRENCY}, WARNING),
        gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, strict_min=True,
                                          severity=CRITICAL),
        gxe.ExpectColumnValuesToBeBetween(column="fx_rate", min_value=0, strict_min=True,
                                          severity=CRITICAL),
        gxe.ExpectColumnValuesToBeBetween(column="fx_rate_payment", min_value=0, strict_min=True,
                                          severity=WARNING),
        gxe.ExpectColumnValuesToNotBeNull(column="amount_usd", severity=CRITICAL),
        gxe.ExpectColumnValuesToNotBeNull(column="created_date", severity=CRITICAL),
        well_formed("created_at is 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC)",
                     {"created_at": ISO_TIMESTAMP}, CRITICAL),
        not_before(MIN_SANE_DATE, "invoice"),
        not_in_future("invoice", CRITICAL),
        UnexpectedRowsByDialectExpectation(
            description="Paid invoices carry payment currency, method and amount",
            unexpected_rows_query=(
                "select * from {batch} where status = 'paid' and (payment_currency is null "
                "or payment_method is null or payment_amount is null)"
            ),
            severity=WARNING,
        ),
        ExpectColumnValuesToReferenceOtherTable(
            column="organization_id", other_table="stg_organizations",
            other_column="organization_id", max_share=0.2, severity=WARNING,
            notes="Orphan invoices are real money and stay in every balance; "
            "this reports their share and warns above 20%.",
        ),
        *([fx_rate_sanity(fx)] if fx.enabled else []),
        resent_invoices(),
        *([invoice_volume(volume, SWING_WINDOW_PARAMETER)] if volume.enabled else []),
    ]


def stg_organizations_suite() -> list[Any]:
    """Staging organizations: shape, key, and plausible dates and counts."""
    return [
        has_columns(STG_ORGANIZATIONS_COLUMNS),
        storage_types(STG_ORGANIZATIONS_COLUMNS),
        every_raw_row_staged("organizations", "organization"),
        gxe.ExpectColumnValuesToNotBeNull(column="organization_id", severity=CRITICAL),
        unique(["organization_id"]),
        gxe.ExpectColumnValuesToNotBeNull(column="created_at", severity=CRITICAL),
        well_formed("created_at is 'YYYY-MM-DDTHH:MM:SS.ffffffZ' and payment days "
                     "'YYYY-MM-DD'",
                     {"created_at": ISO_TIMESTAMP, "first_payment_date": ISO_DAY,
                      "last_payment_date": ISO_DAY}, WARNING),
        not_before(MIN_SANE_DATE, "organization"),
        not_in_future("organization", WARNING),
        UnexpectedRowsByDialectExpectation(
            description="First payment day is not after the last payment day",
            unexpected_rows_query=(
                "select * from {batch} where first_payment_date > last_payment_date"
            ),
            severity=WARNING,
        ),
        gxe.ExpectColumnValuesToBeBetween(column="active_contract_count", min_value=1,
                                          severity=INFO),
    ]


def fact_daily_balance_suite(threshold: float, min_usd: float = 0.0,
                             anomaly: AnomalyRule = DEFAULT_ANOMALY_RULE) -> list[Any]:
    """The daily balance: dense, keyed, adds up, reaches the as-of date; then the swings and
    (unless ``anomaly.enabled`` is off) the anomalies, on the same days with the same floor.

    Every check holds for any set of whole days per organization (the new-rows batch is the
    days from the first evaluated day plus restated tails): the roll-forward compares each row
    with the stored day before it, and a checked batch always holds the as-of date.
    """
    return [
        has_columns(FACT_COLUMNS, exact=False),
        storage_types(FACT_COLUMNS),
        unique(["balance_date", "organization_id"]),
        gxe.ExpectColumnValuesToNotBeNull(column="organization_id", severity=CRITICAL),
        gxe.ExpectColumnValuesToNotBeNull(column="balance_date", severity=CRITICAL),
        gxe.ExpectColumnValuesToNotBeNull(column="balance_usd", severity=CRITICAL),
        well_formed("balance_date is 'YYYY-MM-DD'", {"balance_date": ISO_DAY}, CRITICAL),
        UnexpectedRowsByDialectExpectation(
            description=(
                "No missing day: each organization's series starts once (previous balance NULL "
                "on its first day only); the roll-forward check finds every other day's stored "
                "day before it, so the series is dense"
            ),
            unexpected_rows_query=(
                "select organization_id, count(*) as first_days from {batch} "
                "where previous_balance_usd is null group by organization_id having count(*) > 1"
            ),
            severity=CRITICAL,
        ),
        by_dialect(
            "Roll-forward: balance = previous + daily change, and previous = the stored balance "
            "of the day before (NULL on the first day); to the cent",
            lambda dialect: (
                "select b.organization_id, b.balance_date, b.previous_balance_usd, "
                "b.daily_change_usd, b.balance_usd, p.balance_usd as day_before_balance_usd "
                "from {batch} as b left join fact_daily_balance as p "
                f"on p.balance_date = {day_before_sql('b.balance_date', dialect)} "
                "and p.organization_id = b.organization_id "
                "where abs(b.balance_usd - coalesce(b.previous_balance_usd, 0) "
                f"- b.daily_change_usd) > {CENT} "
                "or (b.previous_balance_usd is null) <> (p.balance_usd is null) "
                f"or abs(b.previous_balance_usd - p.balance_usd) > {CENT}"
            ),
            CRITICAL,
        ),
        UnexpectedRowsByDialectExpectation(
            description=(
                "Not stale: every organization with invoices has a balance on the as-of date "
                "(latest invoice day), and none after it"
            ),
            unexpected_rows_query=(
                "select d.organization_id, f.balance_date from dim_organizations as d "
                "left join {batch} as f on f.organization_id = d.organization_id "
                f"and f.balance_date = {_AS_OF} "
                "where d.has_invoices and f.organization_id is null "
                "union all select late.organization_id, late.balance_date from {batch} as late "
                f"where late.balance_date > {_AS_OF}"
            ),
            severity=CRITICAL,
        ),
        ExpectDailyBalanceSwingsWithinThreshold(
            threshold=threshold,
            min_abs_change_usd=min_usd,
            window_start={"$PARAMETER": SWING_WINDOW_PARAMETER},
            severity=WARNING,
            notes="A swing is a business event to alert on, not broken data.",
        ),
        *([balance_anomalies(anomaly, min_usd, {"$PARAMETER": SWING_WINDOW_PARAMETER})]
          if anomaly.enabled else []),
    ]


def suite_definitions(
    threshold: float = 0.5, statuses: tuple[str, ...] = DEFAULT_STATUSES, min_usd: float = 0.0,
    fx: FxRule = DEFAULT_FX_RULE, volume: VolumeRule = DEFAULT_VOLUME_RULE,
    anomaly: AnomalyRule = DEFAULT_ANOMALY_RULE,
) -> dict[str, list[Any]]:
    """Suite name -> its expectations, in order."""
    return {
        "stg_invoices": stg_invoices_suite(statuses, fx, volume),
        "stg_organizations": stg_organizations_suite(),
        "fact_daily_balance": fact_daily_balance_suite(threshold, min_usd, anomaly),
    }


def expectation_signature(expectations: list[Any]) -> Counter[tuple[str, str]]:
    """How many expectations of each (class, severity) a suite holds."""
    return Counter((type(e).__name__, str(getattr(e.severity, "value", e.severity)))
                   for e in expectations)
