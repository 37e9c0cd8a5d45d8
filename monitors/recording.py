"""Record a run's swings in ``balance_alerts`` and move the watermark (unless data is broken)."""

from __future__ import annotations

from balancewatch.warehouse import Warehouse
from monitors.digest import SwingAlert
from monitors.results import SuiteSummary, SwingFinding
from monitors.run_ledger import MonitorRun
from monitors.state import SWING_RULE, advance_watermark, ensure_tables, record_alerts


def all_swings(warehouse: Warehouse, finding: SwingFinding) -> list[SwingAlert]:
    """Every swing of the window (the expectation's result holds the top rows only)."""
    if finding.total <= len(finding.top):
        return list(finding.top)
    import sqlalchemy as sa

    from monitors.swing_expectation import METRIC_DEFAULTS, swings_query

    query = swings_query(
        sa.table("fact_daily_balance"),
        warehouse.dialect,
        **{
            **METRIC_DEFAULTS,
            "threshold": finding.threshold,
            "window_start": finding.window_start,
            "max_rows": finding.total,
        },
    )
    engine = sa.create_engine(warehouse.sqlalchemy_url())
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).fetchall()
    finally:
        engine.dispose()
    return [
        SwingAlert(
            r.entity_id,
            r.day,
            r.previous_balance,
            r.balance,
            r.change_usd,
            round(100.0 * r.change_usd / abs(r.previous_balance), 4),
            SWING_RULE,
        )
        for r in rows
    ]


def record_run(
    run: MonitorRun, checkpoint_suites: list[SuiteSummary], finding: SwingFinding | None
) -> None:
    """Record new alerts and advance the watermark in one transaction.

    After a critical failure (in this checkpoint or an earlier one of the run) nothing is
    recorded and the watermark stays, so the same days are evaluated again once data is fixed.
    """
    run.critical = run.critical_so_far(checkpoint_suites)
    run.finding = finding
    if finding is not None:
        run.swings = list(finding.top) if run.critical else all_swings(run.warehouse, finding)
    conn = run.warehouse.connect()
    try:
        with conn.transaction():
            ensure_tables(conn)
            if not run.critical:
                run.new_alerts = record_alerts(conn, run.swings)
                if run.as_of is not None:
                    advance_watermark(conn, run.as_of)
    finally:
        conn.close()
