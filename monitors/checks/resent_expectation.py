"""Re-sent invoices as a GX expectation: the same invoice again under a new INVOICE_ID.

Invoices with the same organization, amount, currency, ``created_at`` and transaction id (both
without one counts as the same) under different ``INVOICE_ID``s are one invoice **re-sent**: an
upstream job that sent a delivery twice with fresh ids, whose money every balance then counts
twice. Every copy after the first is re-sent. The check reads the days the checked rows bring
first-time invoices to (``_previous_load_id`` NULL: a status change keeps its id), whole (the
same ``created_at`` is the same day), so a daily run reads its new days, not the table: one
GROUP BY per day, one SQL for every engine.

One unexpected row per day: the re-sent copies, their USD, the largest group's newest and oldest
ids, and the number of such days on every row. Import this module before any suite loads.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.render import (
    LegacyDiagnosticRendererType,
    LegacyRendererType,
    RenderedStringTemplateContent,
    RenderedTableContent,
)
from great_expectations.render.renderer.renderer import renderer

from monitors.checks.dialect_rows_expectation import UnexpectedRowsByDialectExpectation
from monitors.checks.sql_checks import WARNING

TABLE_METRIC = "unexpected_rows_query.table"
MAX_ROWS = 50
HEADER = ("day", "re-sent invoices", "USD counted twice", "example invoice", "repeats invoice")
RESENT_QUERY = """with days as (
    select distinct created_date from {batch} where _previous_load_id is null
), copies as (
    select created_date, count(*) - 1 as resent, (count(*) - 1) * max(amount_usd) as resent_usd,
    max(invoice_id) as example_invoice_id, min(invoice_id) as original_invoice_id
    from stg_invoices where created_date in (select created_date from days)
    group by created_date, organization_id, created_at, amount, currency, transaction_id
    having count(*) > 1
), ranked as (
    select created_date, sum(resent) over (partition by created_date) as resent,
    sum(resent_usd) over (partition by created_date) as resent_usd,
    example_invoice_id, original_invoice_id,
    row_number() over (partition by created_date order by resent_usd desc,
                       example_invoice_id) as rank_in_day
    from copies
)
select created_date, resent, resent_usd, example_invoice_id, original_invoice_id,
count(*) over () as flagged_days
from ranked where rank_in_day = 1
order by resent desc, created_date"""


def flagged_row(row: dict[str, Any]) -> dict[str, Any]:
    """One unexpected row as plain JSON values."""
    return {
        "day": str(row["created_date"]),
        "resent": int(row["resent"]),
        "resent_usd": float(row["resent_usd"] or 0.0),
        "example_invoice_id": int(row["example_invoice_id"]),
        "original_invoice_id": int(row["original_invoice_id"]),
    }


def describe_resent(row: dict[str, Any]) -> str:
    """``2024-05-02: 64 invoice(s) re-sent under new INVOICE_IDs ($81,200 counted twice), e.g.
    123 repeats 456``."""
    return (f"{row['day']}: {row['resent']:,} invoice(s) re-sent under new INVOICE_IDs "
            f"(${row['resent_usd']:,.2f} counted twice in the balances), e.g. "
            f"{row['example_invoice_id']} repeats {row['original_invoice_id']}")


class ExpectNoResentInvoices(UnexpectedRowsByDialectExpectation):
    """No invoice repeats an earlier one (organization, amount, currency, created_at, transaction
    id) under a new INVOICE_ID."""

    metric_dependencies: ClassVar[tuple[str, ...]] = (TABLE_METRIC,)

    def _validate(
        self, metrics: dict, runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        rows = metrics[TABLE_METRIC] or []
        flagged = [flagged_row(r) for r in rows[:MAX_ROWS]]
        resent = sum(r["resent"] for r in flagged)
        return {
            "success": not rows,
            "result": {
                "observed_value": resent,
                "details": {"flagged_count": int(rows[0]["flagged_days"]) if rows else 0,
                            "flagged": flagged,
                            "worst": describe_resent(flagged[0]) if flagged else None},
            },
        }

    @classmethod
    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    def _prescriptive_renderer(
        cls, configuration: Any | None = None, result: Any | None = None,
        runtime_configuration: dict | None = None,
    ) -> list[RenderedStringTemplateContent]:
        template = ("No invoice may repeat an earlier one (same organization, amount, currency, "
                    "created_at and transaction id) under a new INVOICE_ID.")
        styling = (runtime_configuration or {}).get("styling", {})
        return [RenderedStringTemplateContent(
            content_block_type="string_template",
            string_template={"template": template, "params": {}, "styling": styling},
        )]

    @classmethod
    @renderer(renderer_type=LegacyDiagnosticRendererType.UNEXPECTED_TABLE)
    def _diagnostic_unexpected_table_renderer(
        cls, configuration: Any | None = None, result: Any | None = None,
        runtime_configuration: dict | None = None,
    ) -> list[Any] | None:
        details = (result.result or {}).get("details") if result is not None else None
        if not details or not details.get("flagged"):
            return None
        rows = [[r["day"], f"{r['resent']:,}", f"${r['resent_usd']:,.2f}",
                 str(r["example_invoice_id"]), str(r["original_invoice_id"])]
                for r in details["flagged"]]
        return [RenderedTableContent(
            content_block_type="table", header_row=list(HEADER), table=rows,
            styling={"body": {"classes": ["table-bordered", "table-sm", "mt-3"]}},
        )]


def resent_invoices() -> ExpectNoResentInvoices:
    """The staging suite's re-sent-invoice check (a warning: data health; the balances it
    inflates are still reported, with this beside them)."""
    return ExpectNoResentInvoices(
        description="No invoice is re-sent under a new INVOICE_ID (same organization, amount, "
                    "currency, created_at and transaction id as an earlier one)",
        unexpected_rows_query=RESENT_QUERY,
        severity=WARNING,
    )
