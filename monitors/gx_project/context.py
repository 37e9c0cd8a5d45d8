"""Open the committed GX file context safely: custom classes registered first, suites verified.

GX registers a custom expectation class when its module is imported. A suite loaded before that
import silently loses those expectations (GX logs an error and the validation *passes*). So every
entry point opens the context through :func:`open_context`, which imports the classes first, and
loads suites through :func:`load_checked_suite`, which fails loudly when a loaded suite does not
hold exactly the expectations its definition in :mod:`monitors.checks.suites` lists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.registry import get_expectation_impl

import monitors.gx_project.actions  # noqa: F401  (registers the checkpoint action types)
from balancewatch.settings import REPO_ROOT
from monitors.checks.anomaly_expectation import ExpectDailyBalanceChangesTypicalOfOrganization
from monitors.checks.dialect_rows_expectation import UnexpectedRowsByDialectExpectation
from monitors.checks.fx_rate_expectation import ExpectFxRatesNearTrailingMedian
from monitors.checks.reference_expectation import ExpectColumnValuesToReferenceOtherTable
from monitors.checks.suites import expectation_signature
from monitors.checks.swing_expectation import ExpectDailyBalanceSwingsWithinThreshold

CUSTOM_EXPECTATIONS = (
    ExpectDailyBalanceSwingsWithinThreshold,
    ExpectColumnValuesToReferenceOtherTable,
    UnexpectedRowsByDialectExpectation,
    ExpectFxRatesNearTrailingMedian,
    ExpectDailyBalanceChangesTypicalOfOrganization,
)


class SuiteIncomplete(RuntimeError):
    """A stored suite does not hold the expectations its definition lists."""


def ensure_registered() -> None:
    """Fail unless GX knows every custom expectation class (they register on import)."""
    for cls in CUSTOM_EXPECTATIONS:
        if get_expectation_impl(cls.expectation_type) is not cls:
            raise SuiteIncomplete(f"custom expectation {cls.__name__} is not registered with GX")


def open_context(project_root: Path = REPO_ROOT) -> Any:
    """The file data context at ``project_root/gx``, with no progress bars or analytics."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    ensure_registered()
    context = gx.get_context(mode="file", project_root_dir=str(project_root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


# Engines whose new-rows batches are not copied into temporary tables: GX's statement for Hive
# (``CREATE TEMPORARY TABLE ... AS``) is not Spark SQL, and a Spark temporary view lives in one
# Thrift session while GX's pooled connections may each open another.
NO_TEMP_TABLES = ("hive",)


def for_warehouse(context: Any, dialect: str) -> None:
    """Adapt the open context to the warehouse's SQL dialect, in memory only: the committed
    ``gx/`` serves every engine. On Spark the new-rows data source reads its scoped query
    inline (each expectation re-runs it) instead of copying it into a temporary table."""
    if dialect not in NO_TEMP_TABLES:
        return
    for source in context.data_sources.all().values():
        if getattr(source, "create_temp_table", False):
            source.create_temp_table = False


def check_suite(suite: Any, expected: list[Any]) -> None:
    """Raise :class:`SuiteIncomplete` unless ``suite`` holds exactly ``expected``'s
    expectation classes and severities (GX drops unknown classes without raising)."""
    have = expectation_signature(list(suite.expectations))
    want = expectation_signature(expected)
    if have != want:
        missing = want - have
        extra = have - want
        raise SuiteIncomplete(
            f"suite {suite.name!r} is not what monitors/checks/suites.py defines "
            f"(missing: {dict(missing) or 'none'}; unexpected: {dict(extra) or 'none'}). "
            "Was a custom expectation module not imported, or gx/ not rebuilt? "
            "Run `make gx`."
        )


# what dbt vars set in the suites
RULE_FIELDS = ("threshold", "min_abs_change_usd", "value_set", "band", "window_days",
               "min_history_days", "history_days", "band_mads", "min_band", "min_scale",
               "history_firsts")


def _rule_values(expectations: list[Any]) -> dict[tuple[str, str], Any]:
    values = {}
    for e in expectations:
        for name in RULE_FIELDS:
            value = getattr(e, name, None)
            if value is not None:
                values[(type(e).__name__, name)] = sorted(value) if name == "value_set" else value
    return values


def check_rule(suite: Any, expected: list[Any]) -> None:
    """Raise :class:`SuiteIncomplete` when the committed suite's rule settings (swing threshold
    and floor, known statuses) are not what ``dbt/dbt_project.yml`` says now: the run refuses
    rather than alert on a stale rule."""
    have, want = _rule_values(list(suite.expectations)), _rule_values(expected)
    stale = {k[1]: (have.get(k), v) for k, v in want.items() if have.get(k) != v}
    if stale:
        said = "; ".join(f"{name}: dbt/dbt_project.yml says {new}, gx/ holds {old}"
                         for name, (old, new) in stale.items())
        raise SuiteIncomplete(f"suite {suite.name!r} is stale ({said}): run `make gx` to apply "
                              "the dbt project's settings")


def load_checked_suite(context: Any, name: str, expected: list[Any]) -> Any:
    """Load suite ``name`` and verify it against its definition."""
    suite = context.suites.get(name)
    check_suite(suite, expected)
    return suite
