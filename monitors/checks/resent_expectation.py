"""Re-sent invoices as a GX expectation: the same invoice again under a new INVOICE_ID.

The rule and its SQL are in :mod:`monitors.checks.resent_query`; like the FX-rate check, the class
asks for the unexpected rows (one per flagged day, the total on every row) rather than their
count. Import this module before any suite loads (GX registers classes on import).
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.render import (
    LegacyDiagnosticRendererType,
    LegacyRendererType,
    RenderedStringTemplateContent,
)
from great_expectations.render.renderer.renderer import renderer

from monitors.checks.dialect_rows_expectation import UnexpectedRowsByDialectExpectation
from monitors.checks.rendering import flagged_details, sentence, table
from monitors.checks.resent_query import RESENT_QUERY, describe_resent, flagged_row
from monitors.checks.sql_checks import WARNING

TABLE_METRIC = "unexpected_rows_query.table"
MAX_ROWS = 50
HEADER = ("day", "re-sent invoices", "USD counted twice", "example invoice", "repeats invoice")



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
        return sentence(template, {}, runtime_configuration)

    @classmethod
    @renderer(renderer_type=LegacyDiagnosticRendererType.UNEXPECTED_TABLE)
    def _diagnostic_unexpected_table_renderer(
        cls, configuration: Any | None = None, result: Any | None = None,
        runtime_configuration: dict | None = None,
    ) -> list[Any] | None:
        details = flagged_details(result, "flagged")
        if details is None:
            return None
        rows = [[r["day"], f"{r['resent']:,}", f"${r['resent_usd']:,.2f}",
                 str(r["example_invoice_id"]), str(r["original_invoice_id"])]
                for r in details["flagged"]]
        return table(HEADER, rows)


def resent_invoices() -> ExpectNoResentInvoices:
    """The staging suite's re-sent-invoice check (a warning: data health; the balances it
    inflates are still reported, with this beside them)."""
    return ExpectNoResentInvoices(
        description="No invoice is re-sent under a new INVOICE_ID (same organization, amount, "
                    "currency, created_at and transaction id as an earlier one)",
        unexpected_rows_query=RESENT_QUERY,
        severity=WARNING,
    )
