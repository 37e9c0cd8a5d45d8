"""The day-over-day balance swing check as a custom GX expectation (one SQL query).

The rule and its query are in :mod:`monitors.checks.swing_query`; this module wraps them as the
metric ``table.balance_swings`` and the expectation ``ExpectDailyBalanceSwingsWithinThreshold``
with its Data Docs renderers. Import it before any suite loads: GX registers the classes on import
and silently drops expectations whose class is unknown.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from great_expectations.compatibility import pydantic
from great_expectations.core.suite_parameters import SuiteParameterDict  # noqa: TC002
from great_expectations.expectations.expectation import (
    BatchExpectation,
    render_suite_parameter_string,
)
from great_expectations.render import (
    LegacyDiagnosticRendererType,
    LegacyRendererType,
    RenderedStringTemplateContent,
)
from great_expectations.render.renderer.renderer import renderer

from monitors.checks.rendering import flagged_details, observed_count, sentence, table
from monitors.checks.sql_dates import is_iso_day
from monitors.checks.sql_metric import SqlTableMetric, plain_identifier
from monitors.checks.swing_query import METRIC_DEFAULTS, METRIC_NAME, row_to_swing, swings_query


def _shown(value: Any, phrase: str, shape: str = "{}") -> str:
    """A parameter as Data Docs shows it: its value in ``shape``, or, for a suite parameter not
    evaluated yet (the suite's own page), ``phrase`` and the parameter's name."""
    if isinstance(value, dict) and "$PARAMETER" in value:
        return f"{phrase} ({value['$PARAMETER']})"
    return shape.format(value)


class TableBalanceSwings(SqlTableMetric):
    """``table.balance_swings``: ``{"total": int, "rows": [...]}`` ranked by |change USD|."""

    metric_name = METRIC_NAME
    value_keys = tuple(METRIC_DEFAULTS)
    default_kwarg_values = METRIC_DEFAULTS

    @classmethod
    def compute(
        cls, selectable: sa.FromClause, dialect_name: str, kwargs: dict[str, Any],
        conn: sa.Connection,
    ) -> dict[str, Any]:
        rows = conn.execute(swings_query(selectable, dialect_name, **kwargs)).fetchall()
        return {"total": int(rows[0].total) if rows else 0, "rows": [row_to_swing(r) for r in rows]}


class ExpectDailyBalanceSwingsWithinThreshold(BatchExpectation):
    """Expect no entity's balance to move more than ``threshold`` versus the calendar day before.

    Evaluates the days ``>= window_start`` (all days when None) of a dense daily-balance table.
    The batch must be the whole table so the first evaluated day can see its previous day.
    """

    entity_column: str = "organization_id"
    date_column: str = "balance_date"
    balance_column: str = "balance_usd"
    threshold: float | SuiteParameterDict = 0.5
    window_start: str | SuiteParameterDict | None = None
    min_abs_change_usd: float | SuiteParameterDict = 0.0
    max_rows: int = 100

    metric_dependencies: ClassVar[tuple[str, ...]] = (METRIC_NAME,)
    success_keys: ClassVar[tuple[str, ...]] = tuple(METRIC_DEFAULTS)
    args_keys: ClassVar[tuple[str, ...]] = ()
    library_metadata: ClassVar[dict] = {"tags": ["balancewatch", "sql"], "contributors": []}

    @pydantic.validator("entity_column", "date_column", "balance_column")
    def _plain_identifier(cls, v: str) -> str:
        return plain_identifier(v)

    @pydantic.validator("window_start")
    def _iso_day(cls, v: Any) -> Any:
        if isinstance(v, str) and not is_iso_day(v):
            raise ValueError(f"window_start must be 'YYYY-MM-DD', got {v!r}")
        return v

    @pydantic.validator("max_rows")
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("max_rows must be >= 1")
        return v

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any | None = None,
    ) -> dict[str, Any]:
        swings = metrics[METRIC_NAME]
        kwargs = self._get_success_kwargs()
        return {
            "success": swings["total"] == 0,
            "result": {
                "observed_value": swings["total"],
                "details": {
                    "swing_count": swings["total"],
                    "swings": swings["rows"],
                    "window_start": kwargs.get("window_start"),
                    "threshold": kwargs.get("threshold"),
                    "min_abs_change_usd": kwargs.get("min_abs_change_usd"),
                    "entity_column": kwargs.get("entity_column"),
                    "date_column": kwargs.get("date_column"),
                },
            },
        }

    @classmethod
    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    @render_suite_parameter_string
    def _prescriptive_renderer(
        cls,
        configuration: Any | None = None,
        result: Any | None = None,
        runtime_configuration: dict | None = None,
    ) -> list[RenderedStringTemplateContent]:
        kw = {**METRIC_DEFAULTS, **(configuration.kwargs if configuration else {})}
        threshold = kw["threshold"]
        params = {
            "balance_column": kw["balance_column"],
            "entity_column": kw["entity_column"],
            "date_column": kw["date_column"],
            "threshold_pct": (
                f"{100 * threshold:g}%" if isinstance(threshold, (int, float))
                else _shown(threshold, "the run's threshold")
            ),
            "window": (
                "from " + _shown(kw["window_start"], "the run's first evaluated day")
                if kw.get("window_start") else "on every day"
            ),
        }
        template = (
            "$balance_column of each $entity_column must not move by more than $threshold_pct "
            "of its value on the calendar day before ($date_column $window"
        )
        floor = kw.get("min_abs_change_usd") or 0
        if floor:
            params["floor"] = _shown(floor, "the run's floor", "{:,.2f}")
            template += "; moves under $floor USD ignored"
        template += ")."
        return sentence(template, params, runtime_configuration)

    @classmethod
    @renderer(renderer_type=LegacyDiagnosticRendererType.OBSERVED_VALUE)
    def _diagnostic_observed_value_renderer(
        cls,
        configuration: Any | None = None,
        result: Any | None = None,
        runtime_configuration: dict | None = None,
    ) -> str:
        return observed_count(result, "swing", "swings")

    @classmethod
    @renderer(renderer_type=LegacyDiagnosticRendererType.UNEXPECTED_TABLE)
    def _diagnostic_unexpected_table_renderer(
        cls,
        configuration: Any | None = None,
        result: Any | None = None,
        runtime_configuration: dict | None = None,
    ) -> list[Any] | None:
        details = flagged_details(result, "swings")
        if details is None:
            return None
        swings = details["swings"]
        rows = [[str(s["entity_id"]), s["day"], f"{s['previous_balance']:,.2f}",
                 f"{s['balance']:,.2f}", f"{s['change_pct']:+,.2f}%", f"{s['change_usd']:+,.2f}"]
                for s in swings]
        header = [details.get("entity_column") or "entity", details.get("date_column") or "day",
                  "previous USD", "balance USD", "change %", "change USD"]
        return table(header, rows, f"Top {len(swings)} of {details['swing_count']} swings, "
                     "ranked by absolute USD change")
