"""FX-rate sanity as a GX expectation: each currency's rate against its own trailing median.

The rule and its SQL are in :mod:`monitors.checks.fx_rate_query`. The class is an
:class:`~monitors.checks.dialect_rows_expectation.UnexpectedRowsByDialectExpectation` (one query
per dialect) that asks for the unexpected *rows* rather than their count: the query returns one
row per flagged (currency, day, kind) with the total on every row, so one query gives both the
verdict and what the console and Data Docs name (currency, day, rate, expected rate, invoices).
Import this module before any suite loads (GX registers classes on import).
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations.expectation import render_suite_parameter_string
from great_expectations.render import (
    LegacyDiagnosticRendererType,
    LegacyRendererType,
    RenderedStringTemplateContent,
)
from great_expectations.render.renderer.renderer import renderer

from monitors.checks.dialect_rows_expectation import UnexpectedRowsByDialectExpectation
from monitors.checks.fx_rate_query import FxRule, fx_rate_query
from monitors.checks.rendering import flagged_details, sentence, table
from monitors.checks.sql_checks import CRITICAL, DIALECTS

TABLE_METRIC = "unexpected_rows_query.table"
MAX_ROWS = 50  # flagged (currency, day, kind) rows kept in the result
HEADER = ("currency", "day", "kind", "rate", "expected rate", "off by", "invoices",
          "example invoice", "history days")


def _deviation_pct(rate: float, expected: float) -> float:
    """How far ``rate`` is from ``expected``, in percent (signed)."""
    return 100.0 * (rate / expected - 1.0) if expected else float("inf")


def flagged_row(row: dict[str, Any]) -> dict[str, Any]:
    """One unexpected row as plain JSON values (Decimal and numpy-free)."""
    rate, expected = float(row["rate"]), float(row["expected_rate"])
    return {
        "currency": str(row["currency"]),
        "day": str(row["created_date"]),
        "kind": str(row["kind"]),
        "rate": rate,
        "expected_rate": expected,
        "deviation_pct": round(_deviation_pct(rate, expected), 2),
        "invoices": int(row["invoices"]),
        "example_invoice_id": int(row["example_invoice_id"]),
        "history_days": int(row["history_days"]),
    }


def describe_flagged(row: dict[str, Any]) -> str:
    """``EUR on 2024-04-20: rate 1.087 (inverted), expected 0.92 (+18.2%), 3 invoice(s), e.g.
    1007``: what the console prints for the worst flagged day."""
    return (f"{row['currency']} on {row['day']}: rate {row['rate']:.6g} ({row['kind']}), "
            f"expected {row['expected_rate']:.6g} ({row['deviation_pct']:+.1f}%), "
            f"{row['invoices']:,} invoice(s), e.g. {row['example_invoice_id']}")


class ExpectFxRatesNearTrailingMedian(UnexpectedRowsByDialectExpectation):
    """No invoice's FX rate inverted, or off its currency's trailing median by more than
    ``band``. ``band``, ``window_days`` and ``min_history_days`` are in the queries already; the
    fields say them (Data Docs, and the monitor's check that ``gx/`` matches the dbt vars)."""

    band: float = 0.25
    window_days: int = 30
    min_history_days: int = 5
    metric_dependencies: ClassVar[tuple[str, ...]] = (TABLE_METRIC,)

    def _validate(
        self, metrics: dict, runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        rows = metrics[TABLE_METRIC] or []
        total = int(rows[0]["flagged_days"]) if rows else 0
        flagged = [flagged_row(r) for r in rows[:MAX_ROWS]]
        return {
            "success": total == 0,
            "result": {
                "observed_value": total,
                "details": {"flagged_count": total, "flagged": flagged,
                            "worst": describe_flagged(flagged[0]) if flagged else None},
            },
        }

    @classmethod
    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    @render_suite_parameter_string
    def _prescriptive_renderer(
        cls, configuration: Any | None = None, result: Any | None = None,
        runtime_configuration: dict | None = None,
    ) -> list[RenderedStringTemplateContent]:
        kw = {"band": 0.25, "window_days": 30, "min_history_days": 5,
              **(configuration.kwargs if configuration else {})}
        template = (
            "Each invoice's fx_rate must be within $band of its currency's trailing median (the "
            "median daily mean rate of the $window days before its day; judged from $min_days "
            "days with rates) and must not be the inverse of it."
        )
        params = {"band": f"{100 * float(kw['band']):g}%", "window": str(kw["window_days"]),
                  "min_days": str(kw["min_history_days"])}
        return sentence(template, params, runtime_configuration)

    @classmethod
    @renderer(renderer_type=LegacyDiagnosticRendererType.UNEXPECTED_TABLE)
    def _diagnostic_unexpected_table_renderer(
        cls, configuration: Any | None = None, result: Any | None = None,
        runtime_configuration: dict | None = None,
    ) -> list[Any] | None:
        details = flagged_details(result, "flagged")
        if details is None:
            return None
        rows = [[r["currency"], r["day"], r["kind"], f"{r['rate']:.8g}",
                 f"{r['expected_rate']:.8g}", f"{r['deviation_pct']:+.1f}%",
                 f"{r['invoices']:,}", str(r["example_invoice_id"]), str(r["history_days"])]
                for r in details["flagged"]]
        caption = (f"{len(rows)} of {details['flagged_count']} flagged currency-days, "
                   "inverted first, then by deviation")
        return table(HEADER, rows, caption)


def fx_rate_sanity(rule: FxRule) -> ExpectFxRatesNearTrailingMedian:
    """The staging suite's FX-rate check for ``rule`` (critical: amounts in USD are wrong)."""
    default, *others = DIALECTS
    return ExpectFxRatesNearTrailingMedian(
        description=(
            f"FX rates are sane: no invoice's rate is inverted or more than "
            f"{100 * rule.band:g}% off its currency's trailing median ({rule.window_days} days "
            f"before its day, judged from {rule.min_history_days} days with rates)"
        ),
        unexpected_rows_query=fx_rate_query(rule, default),
        dialect_queries={d: fx_rate_query(rule, d) for d in others},
        band=rule.band, window_days=rule.window_days, min_history_days=rule.min_history_days,
        severity=CRITICAL,
    )
