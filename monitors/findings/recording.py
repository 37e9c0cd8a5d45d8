"""Record what a run's swing check found: new alerts, late-data alerts, updates, resolutions.

One transaction per run, after the checkpoints, only when no critical check failed:

* a swing not recorded before is inserted, as ``new_day`` when its day is after the previous
  watermark, else as ``late_data`` (a day evaluated before, restated since) with the newest load
  that restated it;
* a swing already recorded and open gets its latest figures when they changed;
* a swing whose alert had been resolved is re-opened (and sent again);
* an open alert whose day this run evaluated again and that no longer swings is resolved;
* the watermark moves to the as-of date.

After a critical failure nothing is recorded and the watermark stays, so the same days (and the
same restated tails) are evaluated again once the data is fixed.

Spark has no transactions: there the writes are ordered so that a run stopped half-way is
repaired by the next one, which evaluates the same window again (the watermark moves last): the
evidence first (recomputed for the swings still new), then the alerts (one row per key: an
existing key is skipped, guarded updates apply once), then the watermark.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from balancewatch.warehouse import Connection, Warehouse
from monitors.checks.scope import SCOPED_QUERIES, Scope
from monitors.findings import alert_records, causes, operations, watermark
from monitors.findings.results import (
    LATE_DATA,
    NEW_DAY,
    SWING_RULE,
    Resolution,
    SwingAlert,
    SwingFinding,
)


@dataclass(frozen=True)
class Evaluation:
    """What the run evaluated: its scope, the days after ``last_evaluated`` are new."""

    scope: Scope
    evaluate_from: str  # the swing check's first day (the first day the monitor ever evaluated)
    last_evaluated: str | None  # the watermark before this run
    as_of: str | None


@dataclass(frozen=True)
class Recorded:
    """What recording did (``new_alerts`` None: nothing recorded)."""

    swings: list[SwingAlert]  # every swing of the evaluated days, labelled
    new_alerts: int | None
    late: list[SwingAlert] = field(default_factory=list)  # alerted now, on already-evaluated days
    resolved: list[Resolution] = field(default_factory=list)
    updated: int = 0


def all_swings(warehouse: Warehouse, finding: SwingFinding, scope: Scope) -> list[SwingAlert]:
    """Every swing the check found (its result holds the top rows only), on the same rows."""
    if finding.total <= len(finding.top):
        return list(finding.top)
    import sqlalchemy as sa

    from monitors.checks.swing_query import METRIC_DEFAULTS, swings_query

    rows_checked = (
        sa.table("fact_daily_balance") if scope.whole
        else sa.text(SCOPED_QUERIES["fact_daily_balance"]).columns(
            sa.column("organization_id"), sa.column("balance_date"), sa.column("balance_usd")
        ).subquery("checked")
    )
    query = swings_query(
        rows_checked, warehouse.dialect,
        **{**METRIC_DEFAULTS, "threshold": finding.threshold,
           "window_start": finding.window_start, "max_rows": finding.total,
           "min_abs_change_usd": finding.min_usd},
    )
    engine = sa.create_engine(warehouse.sqlalchemy_url())
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).fetchall()
    finally:
        engine.dispose()
    return [
        SwingAlert(r.entity_id, r.day, r.previous_balance, r.balance, r.change_usd,
                   round(100.0 * r.change_usd / abs(r.previous_balance), 4))
        for r in rows
    ]


def restating_load(conn: Connection, org: int, day: str, after_load: int | None) -> int | None:
    """The newest load after ``after_load`` with an invoice of ``org`` on or before ``day``."""
    if after_load is None:
        return None
    value = conn.scalar(
        "select max(_load_id) from stg_invoices "
        "where _load_id > ? and organization_id = ? and created_date <= ?",
        (after_load, org, day),
    )
    return None if value is None else int(value)


def _label(conn: Connection, swing: SwingAlert, evaluation: Evaluation) -> SwingAlert:
    last = evaluation.last_evaluated
    if last is None or swing.balance_date > last:
        return replace(swing, detected_as=NEW_DAY)
    load = restating_load(conn, swing.organization_id, swing.balance_date,
                          evaluation.scope.checked_load_id)
    return replace(swing, detected_as=LATE_DATA, load_id=load)


def _resolution(conn: Connection, key: tuple[int, str, str], message_ts: str | None,
                evaluation: Evaluation) -> Resolution:
    org, day, rule = key
    row = conn.execute(
        "select previous_balance_usd, balance_usd from fact_daily_balance "
        "where organization_id = ? and balance_date = ?", (org, day),
    ).fetchone()
    previous, balance = (None, None) if row is None else (row[0], row[1])
    load = restating_load(conn, org, day, evaluation.scope.checked_load_id)
    after = f" after load {load}" if load is not None else ""
    if previous is None or balance is None:
        sentence = f"no longer a swing: the day has no previous balance{after}"
    else:
        sentence = f"no longer a swing: {previous:,.2f} → {balance:,.2f} USD{after}"
    return Resolution(org, day, rule, previous, balance, sentence, message_ts)


def record_swings(
    warehouse: Warehouse, finding: SwingFinding | None, evaluation: Evaluation, *,
    trusted: bool,
) -> Recorded:
    """Apply this run's swings to ``balance_alerts`` and move the watermark (module docstring)."""
    with warehouse.connection() as conn, conn.transaction():
        watermark.ensure_table(conn)
        alert_records.ensure_table(conn)  # the outbox is read even when nothing is recorded
        causes.ensure_tables(conn)
    if finding is None or not trusted:
        return Recorded(list(finding.top) if finding else [], None)
    swings = all_swings(warehouse, finding, evaluation.scope)
    with warehouse.connection() as conn, conn.transaction():
        first_found = min((s.balance_date for s in swings), default="9999-12-31")
        stored = alert_records.stored_alerts(conn, SWING_RULE, first_found)
        swings = [_label(conn, s, evaluation) for s in swings]
        found = {s.key for s in swings}
        new = [s for s in swings if s.key not in stored]
        reopened = [replace(s, reopened=True) for s in swings
                    if s.key in stored and stored[s.key].resolved]
        changed = [s for s in swings if s.key in stored and not stored[s.key].resolved
                   and not stored[s.key].same_figures(s)]
        gone = [key for key, alert in stored.items() if not alert.resolved and key not in found
                and evaluation.scope.reevaluates(key[0], key[1], evaluation.evaluate_from)]
        resolved = [_resolution(conn, key, stored[key].message_ts, evaluation) for key in gone]
        muted = {org: m.reason for org, m in operations.active_mutes(conn).items()}
        causes.record_evidence(conn, [*new, *reopened, *changed],
                               evaluation.scope.checked_load_id)
        inserted = alert_records.insert_alerts(conn, new, muted=muted)
        alert_records.reopen(conn, reopened)
        alert_records.update_figures(conn, changed)
        alert_records.resolve(conn, resolved, {k for k in gone if stored[k].sent})
        if evaluation.as_of is not None:
            watermark.advance_watermark(conn, evaluation.as_of, evaluation.evaluate_from)
        swings = causes.with_causes(conn, swings)
        reopened = causes.with_causes(conn, reopened)
    late = [s for s in swings if s.is_late and s.key not in stored] + reopened
    return Recorded(swings, inserted + len(reopened), late, resolved, len(changed))
