"""What the data-health checks (issue 23) cost on a day's run: each one's queries, timed alone.

After a monitor run, ``monitor_scope`` still holds that run's scope (``this_run``): the rows of
its new loads. Each check's SQL is run here on exactly those rows, outside GX, through the
warehouse's own connection (freshness: the two maxima it reads; FX-rate sanity and re-sent
invoices: their one query each; volume: its metric's three queries). Nothing is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from balancewatch.settings import REPO_ROOT
from balancewatch.warehouse import parse
from monitors.checks.fx_rate_query import fx_rate_query
from monitors.checks.resent_query import RESENT_QUERY
from monitors.checks.scope import SCOPED_QUERIES
from monitors.checks.volume_expectation import METRIC_DEFAULTS, TableDailyInvoiceVolume
from monitors.findings.freshness import observe, read_rules, run_date
from monitors.gx_project.setup import dbt_rule_vars


def _timed(fn: Callable[[], Any]) -> float:
    began = time.perf_counter()
    fn()
    return round(time.perf_counter() - began, 3)


def time_health_checks(warehouse_setting: str) -> dict[str, float]:
    """Seconds per data-health check on the scope of the warehouse's last monitor run."""
    warehouse = parse(warehouse_setting)
    _, _, _, fx, volume, _ = dbt_rule_vars(REPO_ROOT)
    scoped = f"({SCOPED_QUERIES['stg_invoices']})"

    def on_checked_rows(sql: str) -> str:  # what GX does with {batch}
        return sql.replace("{batch} as batch_rows", f"{scoped} as batch_rows").replace(
            "{batch}", f"{scoped} as checked")

    timings: dict[str, float] = {}
    with warehouse.connection() as conn:
        timings["freshness"] = _timed(lambda: observe(conn, run_date(), read_rules(REPO_ROOT)))
        fx_sql = on_checked_rows(fx_rate_query(fx, warehouse.dialect))
        timings["fx_rate"] = _timed(lambda: conn.execute(fx_sql).fetchall())
        resent_sql = on_checked_rows(RESENT_QUERY)
        timings["resent_invoices"] = _timed(lambda: conn.execute(resent_sql).fetchall())
        window_start = conn.scalar(
            "select from_date from monitor_scope where scope_name = 'this_run'")
    engine = sa.create_engine(warehouse.sqlalchemy_url())
    kwargs = {**METRIC_DEFAULTS, **{k: getattr(volume, k) for k in
                                     ("history_days", "min_history_days", "band_mads",
                                      "min_band")}, "window_start": window_start}
    selectable = sa.text(SCOPED_QUERIES["stg_invoices"]).columns().subquery("checked")
    try:
        with engine.connect() as sa_conn:
            timings["volume"] = _timed(lambda: TableDailyInvoiceVolume.compute(
                selectable, warehouse.dialect, kwargs, sa_conn))
    finally:
        engine.dispose()
    timings["total"] = round(sum(timings.values()), 3)
    return timings


def health_line(timings: dict[str, float] | None) -> str:
    """``data-health checks on day +2: 0.41 s (freshness 0.00, FX rate 0.12, ...)``."""
    if not timings:
        return "data-health checks on day +2: not measured"
    parts = ", ".join(f"{name.replace('_', ' ')} {seconds:.2f}" for name, seconds in
                      timings.items() if name != "total")
    return f"data-health checks on day +2: {timings['total']:.2f} s ({parts})"
