"""The balance anomaly rule as a custom GX expectation (one SQL query), beside the swing one.

The rule and its query are in :mod:`monitors.checks.anomaly_query`; this module wraps them as the
metric ``table.balance_anomalies`` and the expectation
``ExpectDailyBalanceChangesTypicalOfOrganization`` with its Data Docs renderers. Import it before
any suite loads: GX registers the classes on import and silently drops expectations whose class
is unknown.
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

from monitors.checks.anomaly_query import (
    METRIC_DEFAULTS,
    METRIC_NAME,
    AnomalyRule,
    anomalies_query,
    row_to_anomaly,
)
from monitors.checks.rendering import flagged_details, observed_count, sentence, table
from monitors.checks.sql_dates import is_iso_day
from monitors.checks.sql_metric import SqlTableMetric

HEADER = ("organization_id", "balance_date", "previous USD", "balance USD", "change %",
          "change USD", "day kind", "usual median %", "usual spread %", "history days",
          "score")


class TableBalanceAnomalies(SqlTableMetric):
    """``table.balance_anomalies``: ``{"total": int, "rows": [...]}`` ranked by |change USD|."""

    metric_name = METRIC_NAME
    value_keys = tuple(METRIC_DEFAULTS)
    default_kwarg_values = METRIC_DEFAULTS

    @classmethod
    def compute(
        cls, selectable: sa.FromClause, dialect_name: str, kwargs: dict[str, Any],
        conn: sa.Connection,
    ) -> dict[str, Any]:
        rows = conn.execute(anomalies_query(selectable, conn.dialect, **kwargs)).fetchall()
        return {"total": int(rows[0].total) if rows else 0,
                "rows": [row_to_anomaly(r) for r in rows]}


class ExpectDailyBalanceChangesTypicalOfOrganization(BatchExpectation):
    """Expect no organization's day-over-day change to be far from its own history (robust
    score against the median and MAD of its same-kind days: the 1st of a month, or ordinary).

    Evaluates the days ``>= window_start`` of the checked rows of ``fact_daily_balance``; the
    history comes from the whole table.
    """

    threshold: float | SuiteParameterDict = METRIC_DEFAULTS["threshold"]
    min_scale: float | SuiteParameterDict = METRIC_DEFAULTS["min_scale"]
    min_history_days: int = METRIC_DEFAULTS["min_history_days"]
    history_days: int = METRIC_DEFAULTS["history_days"]
    history_firsts: int = METRIC_DEFAULTS["history_firsts"]
    window_start: str | SuiteParameterDict | None = None
    min_abs_change_usd: float | SuiteParameterDict = 0.0
    max_rows: int = 100

    metric_dependencies: ClassVar[tuple[str, ...]] = (METRIC_NAME,)
    success_keys: ClassVar[tuple[str, ...]] = tuple(METRIC_DEFAULTS)
    args_keys: ClassVar[tuple[str, ...]] = ()
    library_metadata: ClassVar[dict] = {"tags": ["balancewatch", "sql"], "contributors": []}

    @pydantic.validator("window_start")
    def _iso_day(cls, v: Any) -> Any:
        if isinstance(v, str) and not is_iso_day(v):
            raise ValueError(f"window_start must be 'YYYY-MM-DD', got {v!r}")
        return v

    @pydantic.validator("max_rows", "min_history_days", "history_days", "history_firsts")
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be >= 1")
        return v

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any | None = None,
    ) -> dict[str, Any]:
        found = metrics[METRIC_NAME]
        kwargs = self._get_success_kwargs()
        return {
            "success": found["total"] == 0,
            "result": {
                "observed_value": found["total"],
                "details": {
                    "anomaly_count": found["total"],
                    "anomalies": found["rows"],
                    **{k: kwargs.get(k) for k in ("window_start", "threshold", "min_scale",
                                                  "min_history_days", "history_days",
                                                  "history_firsts", "min_abs_change_usd")},
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
        window = kw.get("window_start")
        params = {
            "threshold": f"{kw['threshold']:g}" if isinstance(kw["threshold"], (int, float))
            else "the run's threshold",
            "min_scale": f"{100 * kw['min_scale']:g}%" if isinstance(kw["min_scale"], (int, float))
            else "the run's minimum scale",
            "history_days": str(kw["history_days"]),
            "history_firsts": str(kw["history_firsts"]),
            "min_history": str(kw["min_history_days"]),
            "window": ("from the run's first evaluated day" if isinstance(window, dict)
                       else f"from {window}" if window else "on every day"),
        }
        template = (
            "Each organization's day-over-day balance change must stay within $threshold robust "
            "standard deviations of its own history: the median and MAD of its relative changes "
            "on its ordinary days of the $history_days days before (the 1st of a month: on its "
            "$history_firsts previous 1sts), the spread at least $min_scale; judged from "
            "$min_history such days; days $window"
        )
        floor = kw.get("min_abs_change_usd") or 0
        if floor:
            params["floor"] = (f"{floor:,.2f}" if isinstance(floor, (int, float))
                               else "the run's floor")
            template += "; moves under $floor USD ignored"
        template += "."
        return sentence(template, params, runtime_configuration)

    @classmethod
    @renderer(renderer_type=LegacyDiagnosticRendererType.OBSERVED_VALUE)
    def _diagnostic_observed_value_renderer(
        cls,
        configuration: Any | None = None,
        result: Any | None = None,
        runtime_configuration: dict | None = None,
    ) -> str:
        return observed_count(result, "anomaly", "anomalies")

    @classmethod
    @renderer(renderer_type=LegacyDiagnosticRendererType.UNEXPECTED_TABLE)
    def _diagnostic_unexpected_table_renderer(
        cls,
        configuration: Any | None = None,
        result: Any | None = None,
        runtime_configuration: dict | None = None,
    ) -> list[Any] | None:
        details = flagged_details(result, "anomalies")
        if details is None:
            return None
        found = details["anomalies"]
        rows = [
            [str(a["entity_id"]), a["day"], f"{a['previous_balance']:,.2f}",
             f"{a['balance']:,.2f}", f"{a['change_pct']:+,.2f}%", f"{a['change_usd']:+,.2f}",
             a["day_kind"], f"{a['median_pct']:+,.2f}%", f"±{a['spread_pct']:,.2f}%",
             str(a["history_days"]), f"{a['score']:,.1f}"]
            for a in found
        ]
        caption = (f"Top {len(found)} of {details['anomaly_count']} anomalies, ranked by "
                   "absolute USD change")
        return table(HEADER, rows, caption)


def balance_anomalies(rule: AnomalyRule, min_usd: float, window_start: Any
                      ) -> ExpectDailyBalanceChangesTypicalOfOrganization:
    """The balance suite's anomaly check for ``rule`` (a warning: a business event)."""
    return ExpectDailyBalanceChangesTypicalOfOrganization(
        threshold=rule.threshold, min_scale=rule.min_scale,
        min_history_days=rule.min_history_days, history_days=rule.history_days,
        history_firsts=rule.history_firsts,
        min_abs_change_usd=min_usd, window_start=window_start, severity="warning",
        notes="An organization's day far from its own history (rule 'anomaly'): a business "
        "event to alert on, like a swing, not broken data.",
    )
