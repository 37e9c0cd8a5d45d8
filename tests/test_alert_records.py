"""An older warehouse's monitor tables gain the late-data columns in place, and a mute marks an
organization's pending alerts, on both engines."""

from __future__ import annotations

from pathlib import Path

from monitors.findings import alert_records, watermark
from tests.conftest import fresh_warehouse

OLD_ALERTS = """
create table balance_alerts (
    organization_id bigint not null, balance_date text not null,
    previous_balance_usd double precision not null, balance_usd double precision not null,
    change_pct double precision, change_usd double precision not null, rule text not null,
    severity text not null, first_seen_at text not null,
    delivery_status text not null default 'pending', sent_at text, message_ts text,
    primary key (organization_id, balance_date, rule)
)"""
OLD_STATE = """
create table monitor_state (
    rule text primary key, last_evaluated_date text not null, updated_at text not null
)"""


def test_an_older_warehouse_is_migrated_and_keeps_its_alerts(engine: str, tmp_path: Path) -> None:
    with fresh_warehouse(engine, tmp_path) as warehouse:
        warehouse.create()
        with warehouse.connection() as conn:
            conn.execute(OLD_ALERTS)
            conn.execute(OLD_STATE)
            conn.execute("insert into monitor_state values ('balance_swing', '2024-04-30', 'x')")
            conn.execute(
                "insert into balance_alerts values (7, '2024-04-12', 100, 300, 200, 200, "
                "'balance_swing', 'warning', 'x', 'sent', 'y', '1700000001.000100')"
            )
            # read-only, before migrating: the earliest alert day is where late data starts
            assert watermark.first_evaluated(conn) == "2024-04-12"
            with conn.transaction():
                watermark.ensure_table(conn)
                alert_records.ensure_table(conn)
                alert_records.ensure_table(conn)  # twice: nothing more to add
            assert watermark.first_evaluated(conn) == "2024-04-12"
            row = conn.execute(
                "select delivery_status, message_ts, detected_as, resolved_at, reopened_count "
                "from balance_alerts"
            ).fetchone()
            assert tuple(row) == ("sent", "1700000001.000100", "new_day", None, 0)
            assert set(alert_records.LATER_COLUMNS) <= conn.column_names("balance_alerts")
            assert alert_records.pending_swings(conn) == []


def test_a_mute_marks_only_the_organizations_pending_open_alerts(engine: str, tmp_path: Path
                                                                  ) -> None:
    from monitors.findings import operations
    from monitors.findings.results import Resolution, SwingAlert

    pending, sent, resolved, muted_before, other = (
        SwingAlert(7, "2024-04-10", 100.0, 300.0, 200.0, 200.0),
        SwingAlert(7, "2024-04-11", 300.0, 30.0, -270.0, -90.0),
        SwingAlert(7, "2024-04-12", 30.0, 90.0, 60.0, 200.0),
        SwingAlert(7, "2024-04-13", 90.0, 9.0, -81.0, -90.0),
        SwingAlert(8, "2024-04-10", 100.0, 300.0, 200.0, 200.0))
    with fresh_warehouse(engine, tmp_path) as warehouse:
        warehouse.create()
        with warehouse.connection() as conn:
            conn.execute("create table dim_organizations (organization_id bigint primary key)")
            conn.execute("insert into dim_organizations values (7)")
            with conn.transaction():
                alert_records.ensure_table(conn)
                alert_records.insert_alerts(conn, [pending, sent, resolved, other])
                alert_records.insert_alerts(conn, [muted_before], muted={7: "an older mute"})
                alert_records.resolve(conn, [Resolution(*resolved.key, 30.0, 35.0, "gone", None)],
                                      sent=set())
            alert_records.mark_sent(conn, [sent], "111.1")
            assert operations.known_organization(conn, 7)
            assert not operations.known_organization(conn, 8)
            assert operations.mute_of(conn, 7) is None
            assert operations.mute(conn, 7, "2999-12-31", "migration", "ops") == 1
            assert operations.mute_of(conn, 7) == operations.Mute(7, "2999-12-31", "migration",
                                                                  "ops")
            rows = conn.execute("select balance_date, muted_reason from balance_alerts "
                                "where organization_id = 7 order by balance_date").fetchall()
            assert [tuple(r) for r in rows] == [("2024-04-10", "migration"), ("2024-04-11", None),
                                                ("2024-04-12", None),
                                                ("2024-04-13", "an older mute")]
            assert [s.key for s in alert_records.pending_swings(conn)] == [other.key]
