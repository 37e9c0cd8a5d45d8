"""Record what a run's swing and anomaly checks found: new alerts, late-data alerts, updates,
resolutions.

One transaction per run, after the checkpoints, only when no critical check failed; each rule's
alerts (``balance_swing``, ``anomaly``) are applied alike, keyed by (organization, day, rule):

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from balancewatch.warehouse import SPARK, Connection, Warehouse
from monitors.checks.scope import SCOPED_QUERIES, Scope
from monitors.findings import alert_records, causes, operations, watermark
from monitors.findings.anomaly_results import anomaly_alert
from monitors.findings.results import (
    ANOMALY_RULE,
    LATE_DATA,
    NEW_DAY,
    RULE_NAMES,
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
    new_alerts: int | None  # new and re-opened alerts, a day several rules flagged counted once
    late: list[SwingAlert] = field(default_factory=list)  # alerted now, on already-evaluated days
    resolved: list[Resolution] = field(default_factory=list)
    updated: int = 0


def all_swings(warehouse: Warehouse, finding: SwingFinding, scope: Scope) -> list[SwingAlert]:
    """Every swing (or anomaly) the check found (its result holds the top rows only), on the
    same rows."""
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
    if finding.rule == ANOMALY_RULE:
        return _all_anomalies(warehouse, finding, rows_checked)
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


def _all_anomalies(warehouse: Warehouse, finding: SwingFinding, rows_checked: Any
                   ) -> list[SwingAlert]:
    import sqlalchemy as sa

    from monitors.checks.anomaly_query import anomalies_query, row_to_anomaly

    engine = sa.create_engine(warehouse.sqlalchemy_url())
    try:
        with engine.connect() as conn:
            query = anomalies_query(rows_checked, conn.dialect, **dict(finding.settings),
                                    window_start=finding.window_start,
                                    min_abs_change_usd=finding.min_usd, max_rows=finding.total)
            rows = conn.execute(query).fetchall()
    finally:
        engine.dispose()
    return [anomaly_alert(row_to_anomaly(r)) for r in rows]


_DAYS = "with wanted (organization_id, balance_date) as (values {values}) "
BATCH = 500  # (organization, day) pairs per query


def _for_days(conn: Connection, days: Iterable[tuple[int, str]], select: str,
              params: Sequence[Any] = ()) -> list[tuple]:
    """The rows of ``select`` over ``wanted``, the (organization, day) pairs ``days``: one
    query per :data:`BATCH` pairs, not one per pair (a statement costs seconds on Spark)."""
    pairs, rows = sorted(set(days)), []
    for i in range(0, len(pairs), BATCH):
        batch = pairs[i:i + BATCH]
        sql = _DAYS.format(values=", ".join(["(?, ?)"] * len(batch))) + select
        rows += conn.execute(sql, [*(v for pair in batch for v in pair), *params]).fetchall()
    return rows


def restating_loads(conn: Connection, days: Iterable[tuple[int, str]], after_load: int | None
                    ) -> dict[tuple[int, str], int]:
    """(organization, day) -> the newest load after ``after_load`` with an invoice of that
    organization on or before that day (no entry: none)."""
    if after_load is None:
        return {}
    # the newer loads' invoices read once (their `_load_id` index) and kept: else SQLite joins
    # each pair to every invoice (2.2 s for 115 pairs at 12.7M; Spark has no `materialized`)
    kept = "" if conn.kind == SPARK else "materialized "
    rows = _for_days(
        conn, days,
        f", newer as {kept}(select organization_id, created_date, _load_id from stg_invoices "
        "where _load_id > ?) "
        "select w.organization_id, w.balance_date, max(s._load_id) from wanted as w "
        "inner join newer as s on s.organization_id = w.organization_id "
        "and s.created_date <= w.balance_date "
        "group by w.organization_id, w.balance_date", (after_load,))
    return {(int(r[0]), r[1]): int(r[2]) for r in rows if r[2] is not None}


def _label(swing: SwingAlert, evaluation: Evaluation, loads: dict[tuple[int, str], int]
           ) -> SwingAlert:
    last = evaluation.last_evaluated
    if last is None or swing.balance_date > last:
        return replace(swing, detected_as=NEW_DAY)
    load = loads.get((swing.organization_id, swing.balance_date))
    return replace(swing, detected_as=LATE_DATA, load_id=load)


def _resolutions(conn: Connection, gone: list[tuple[int, str, str]],
                 stored: dict[tuple[int, str, str], alert_records.StoredAlert],
                 loads: dict[tuple[int, str], int]) -> list[Resolution]:
    rows = _for_days(
        conn, [(k[0], k[1]) for k in gone],
        "select f.organization_id, f.balance_date, f.previous_balance_usd, f.balance_usd "
        "from wanted as w cross join fact_daily_balance as f "
        "where f.organization_id = w.organization_id and f.balance_date = w.balance_date")
    figures = {(int(r[0]), r[1]): (r[2], r[3]) for r in rows}
    resolved = []
    for org, day, rule in gone:
        previous, balance = figures.get((org, day), (None, None))
        load = loads.get((org, day))
        after = f" after load {load}" if load is not None else ""
        what = "an " if rule == ANOMALY_RULE else "a "
        what += RULE_NAMES.get(rule, rule)
        if previous is None or balance is None:
            sentence = f"no longer {what}: the day has no previous balance{after}"
        else:
            sentence = f"no longer {what}: {previous:,.2f} → {balance:,.2f} USD{after}"
        resolved.append(Resolution(org, day, rule, previous, balance, sentence,
                                   stored[(org, day, rule)].message_ts))
    return resolved


def record_swings(
    warehouse: Warehouse, finding: SwingFinding | None, evaluation: Evaluation, *,
    trusted: bool, others: Sequence[SwingFinding] = (),
) -> Recorded:
    """Apply this run's swings (and the ``others`` rules' findings: anomalies) to
    ``balance_alerts`` and move the watermark (module docstring)."""
    with warehouse.connection() as conn, conn.transaction():
        watermark.ensure_table(conn)
        alert_records.ensure_table(conn)  # the outbox is read even when nothing is recorded
        causes.ensure_tables(conn)
    findings = [f for f in (finding, *others) if f is not None]
    if finding is None or not trusted:
        return Recorded([s for f in findings for s in f.top], None)
    found_by_rule = [(f.rule, all_swings(warehouse, f, evaluation.scope)) for f in findings]
    totals, alerted_days = Recorded([], 0), set()
    with warehouse.connection() as conn, conn.transaction():
        muted = {org: m.reason for org, m in operations.active_mutes(conn).items()}
        for rule, swings in found_by_rule:
            done, days = _record_rule(conn, rule, swings, evaluation, muted)
            # a day a rule before this one alerted on too is one alert to the reader, not two
            totals = Recorded(totals.swings + done.swings,
                              totals.new_alerts + done.new_alerts - len(days & alerted_days),
                              totals.late + done.late, totals.resolved + done.resolved,
                              totals.updated + done.updated)
            alerted_days |= days
        if evaluation.as_of is not None:
            watermark.advance_watermark(conn, evaluation.as_of, evaluation.evaluate_from)
    return totals


def _record_rule(conn: Connection, rule: str, swings: list[SwingAlert], evaluation: Evaluation,
                 muted: dict[int, str]) -> tuple[Recorded, set[tuple[int, str]]]:
    """One rule's part of :func:`record_swings` (inside its transaction); also the (organization,
    day) pairs it alerted on (new or re-opened)."""
    first_found = min((s.balance_date for s in swings), default="9999-12-31")
    stored = alert_records.stored_alerts(conn, rule, first_found)
    found = {s.key for s in swings}
    gone = [key for key, alert in stored.items() if not alert.resolved and key not in found
            and evaluation.scope.reevaluates(key[0], key[1], evaluation.evaluate_from)]
    last = evaluation.last_evaluated
    restated = [(s.organization_id, s.balance_date) for s in swings
                if last is not None and s.balance_date <= last] + [k[:2] for k in gone]
    loads = restating_loads(conn, restated, evaluation.scope.checked_load_id)
    swings = [_label(s, evaluation, loads) for s in swings]
    new = [s for s in swings if s.key not in stored]
    reopened = [replace(s, reopened=True) for s in swings
                if s.key in stored and stored[s.key].resolved]
    changed = [s for s in swings if s.key in stored and not stored[s.key].resolved
               and not stored[s.key].same_figures(s)]
    resolved = _resolutions(conn, gone, stored, loads)
    causes.record_evidence(conn, [*new, *reopened, *changed], evaluation.scope.checked_load_id)
    inserted = alert_records.insert_alerts(conn, new, muted=muted)
    alert_records.reopen(conn, reopened)
    alert_records.update_figures(conn, changed)
    alert_records.resolve(conn, resolved, {k for k in gone if stored[k].sent})
    swings = causes.with_causes(conn, swings)
    reopened = causes.with_causes(conn, reopened)
    late = [s for s in swings if s.is_late and s.key not in stored] + reopened
    days = {(s.organization_id, s.balance_date) for s in [*new, *reopened]}
    return Recorded(swings, inserted + len(reopened), late, resolved, len(changed)), days
