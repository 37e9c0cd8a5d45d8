"""Record a run's swings in ``balance_alerts`` and move the watermark (unless data is broken)."""

from __future__ import annotations

from dataclasses import dataclass

from balancewatch.warehouse import Warehouse
from monitors.findings import alert_records, watermark
from monitors.findings.results import SWING_RULE, SwingAlert, SwingFinding


@dataclass(frozen=True)
class Recorded:
    """What recording did: the run's swings, and how many alerts are new (None: none recorded)."""

    swings: list[SwingAlert]
    new_alerts: int | None


def all_swings(warehouse: Warehouse, finding: SwingFinding) -> list[SwingAlert]:
    """Every swing of the window (the expectation's result holds the top rows only)."""
    if finding.total <= len(finding.top):
        return list(finding.top)
    import sqlalchemy as sa

    from monitors.checks.swing_query import METRIC_DEFAULTS, swings_query

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


def record_swings(
    warehouse: Warehouse, finding: SwingFinding | None, *, as_of: str | None, trusted: bool
) -> Recorded:
    """Record new alerts and advance the watermark in one transaction.

    After a critical failure (``trusted`` False) nothing is recorded and the watermark stays, so
    the same days are evaluated again once the data is fixed.
    """
    swings: list[SwingAlert] = []
    if finding is not None:
        swings = all_swings(warehouse, finding) if trusted else list(finding.top)
    new_alerts = None
    with warehouse.connection() as conn, conn.transaction():
        watermark.ensure_table(conn)
        alert_records.ensure_table(conn)
        if trusted:
            new_alerts = alert_records.record_alerts(conn, swings)
            if as_of is not None:
                watermark.advance_watermark(conn, as_of)
    return Recorded(swings, new_alerts)
