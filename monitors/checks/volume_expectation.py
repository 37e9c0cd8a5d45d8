"""Invoice volume per day as a GX expectation: each new day against its own kind of day.

The rule is in :mod:`monitors.checks.volume_rule`. The metric ``table.daily_invoice_volume``
runs three small queries: the days the checked rows bring new invoices to (first-time invoices,
``_previous_load_id`` NULL, created on or after ``window_start``, the run's first evaluated day:
a daily run judges the days its loads bring, a first run its evaluation window), the
warehouse's first invoice day, and the invoices and
paid USD of those days and of their baseline days, read by ``created_date`` (an index on
SQLite and PostgreSQL), so a daily run reads its day and a few earlier ones, not the table.
Import this module before any suite loads (GX registers classes on import).
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

import sqlalchemy as sa
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

from monitors.checks.rendering import flagged_details, sentence, table
from monitors.checks.sql_checks import WARNING
from monitors.checks.sql_metric import SqlTableMetric
from monitors.checks.volume_rule import (
    DEFAULT_VOLUME_RULE,
    DayFigures,
    VolumeRule,
    baseline_days,
    describe,
    judge,
)

METRIC_NAME = "table.daily_invoice_volume"
RULE_KEYS = ("history_days", "min_history_days", "band_mads", "min_band")
METRIC_DEFAULTS: dict[str, Any] = {
    **{k: getattr(DEFAULT_VOLUME_RULE, k) for k in RULE_KEYS}, "window_start": None,
}
HEADER = ("day", "kind", "measure", "observed", "expected band", "median", "history days",
          "load")
_STAGED = sa.table("stg_invoices", sa.column("created_date"), sa.column("status"),
                   sa.column("amount_usd"))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class TableDailyInvoiceVolume(SqlTableMetric):
    """``table.daily_invoice_volume``: ``{"judged": int, "flagged": [...]}``."""

    metric_name = METRIC_NAME
    value_keys = tuple(METRIC_DEFAULTS)
    default_kwarg_values = METRIC_DEFAULTS

    @classmethod
    def compute(
        cls, selectable: sa.FromClause, dialect_name: str, kwargs: dict[str, Any],
        conn: sa.Connection,
    ) -> dict[str, Any]:
        rule = VolumeRule(**{k: kwargs[k] for k in RULE_KEYS})
        day = sa.column("created_date")
        new_days = sa.select(day, sa.func.max(sa.column("_load_id"))).select_from(
            selectable).where(sa.column("_previous_load_id").is_(None)).group_by(day)
        if kwargs.get("window_start"):
            new_days = new_days.where(day >= kwargs["window_start"])
        loads = {_day(d): int(load) for d, load in conn.execute(new_days) if d is not None}
        first = conn.execute(sa.select(sa.func.min(_STAGED.c.created_date))).scalar()
        if not loads or first is None:
            return {"judged": 0, "flagged": []}
        first_day = _day(first)
        wanted = set(loads)
        for day in loads:
            wanted.update(baseline_days(day, rule.history_days, first_day))
        paid = sa.case((_STAGED.c.status == "paid", _STAGED.c.amount_usd), else_=0)
        counted = sa.select(_STAGED.c.created_date, sa.func.count(), sa.func.sum(paid)).where(
            _STAGED.c.created_date.in_(sorted(d.isoformat() for d in wanted))
        ).group_by(_STAGED.c.created_date)
        figures = {_day(d): DayFigures(int(n), float(usd or 0.0))
                   for d, n, usd in conn.execute(counted)}
        return {"judged": len(loads), "flagged": judge(loads, figures, first_day, rule, loads)}


class ExpectDailyInvoiceVolumeNearBaseline(BatchExpectation):
    """Each new day's invoice count (and paid USD, from below) within its band: the same kind of
    day's recent median, ± ``band_mads`` robust deviations, at least ± ``min_band`` × median."""

    history_days: int = DEFAULT_VOLUME_RULE.history_days
    min_history_days: int = DEFAULT_VOLUME_RULE.min_history_days
    band_mads: float = DEFAULT_VOLUME_RULE.band_mads
    min_band: float = DEFAULT_VOLUME_RULE.min_band
    window_start: str | SuiteParameterDict | None = None

    metric_dependencies: ClassVar[tuple[str, ...]] = (METRIC_NAME,)
    success_keys: ClassVar[tuple[str, ...]] = tuple(METRIC_DEFAULTS)
    args_keys: ClassVar[tuple[str, ...]] = ()
    library_metadata: ClassVar[dict] = {"tags": ["balancewatch", "sql"], "contributors": []}

    def _validate(
        self, metrics: dict, runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        found = metrics[METRIC_NAME]
        flagged = found["flagged"]
        return {
            "success": not flagged,
            "result": {
                "observed_value": len(flagged),
                "details": {"judged_days": found["judged"], "flagged_count": len(flagged),
                            "flagged": flagged,
                            "worst": describe(flagged[0]) if flagged else None},
            },
        }

    @classmethod
    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    @render_suite_parameter_string
    def _prescriptive_renderer(
        cls, configuration: Any | None = None, result: Any | None = None,
        runtime_configuration: dict | None = None,
    ) -> list[RenderedStringTemplateContent]:
        kw = {**METRIC_DEFAULTS, **(configuration.kwargs if configuration else {})}
        template = (
            "Each new day's invoice count must be within its band, and its paid USD not below "
            "it: the median of the $history most recent earlier days of the same kind (the 1st "
            "of the month, else the weekday) ± $mads robust deviations (1.4826 × MAD), at least "
            "± $floor of the median; judged from $min_days such days."
        )
        params = {"history": str(kw["history_days"]), "mads": f"{float(kw['band_mads']):g}",
                  "floor": f"{100 * float(kw['min_band']):g}%",
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
        rows = [[r["day"], r["kind"], f"{r['measure']} ({r['direction']})",
                 f"{r['observed']:,.0f}", f"{max(r['low'], 0):,.0f} .. {r['high']:,.0f}",
                 f"{r['median']:,.0f}", str(r["history_days"]), str(r["load_id"])]
                for r in details["flagged"]]
        return table(HEADER, rows)


def invoice_volume(rule: VolumeRule, window_parameter: str
                   ) -> ExpectDailyInvoiceVolumeNearBaseline:
    """The staging suite's volume check for ``rule`` (a warning: data health, not broken rows),
    judging days from the suite parameter ``window_parameter`` (the run's first evaluated day)."""
    return ExpectDailyInvoiceVolumeNearBaseline(
        description=(
            "Each new day's invoices are as many as on its kind of day (the 1st of the month, "
            "else the weekday), and its paid USD not far below"
        ),
        history_days=rule.history_days, min_history_days=rule.min_history_days,
        band_mads=rule.band_mads, min_band=rule.min_band,
        window_start={"$PARAMETER": window_parameter}, severity=WARNING,
    )
