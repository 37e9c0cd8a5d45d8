"""The monitor's state tables on Spark: the same rows, and the same guarantees, as on SQLite.

Runs on the session's Spark Thrift Server (tests/conftest.py; this module creates and drops a
database of its own); skipped only when ``BALANCEWATCH_TEST_ENGINES`` excludes spark. One
sequence of state writes (record, record again, restate, resolve, send, re-open, mute, unmute,
move the watermark, write the scope) runs once on Spark and once on SQLite; the tests check
hand-written outcomes and that both engines hold identical rows.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from balancewatch import run_lock
from balancewatch.warehouse import SPARK, Connection, Warehouse, parse
from monitors.checks import scope as scope_mod
from monitors.findings import alert_records, causes, operations, watermark
from monitors.findings.results import LATE_DATA, Resolution, SwingAlert
from tests.conftest import ENGINES, fresh_warehouse

SPARK_ENV = "BALANCEWATCH_TEST_SPARK"
NOW = "2026-12-01T12:00:00Z"
A = SwingAlert(7, "2024-04-10", 100.0, 300.0, 200.0, 200.0)
B = SwingAlert(-8, "2024-04-11", 50.0, 10.0, -40.0, -80.0)
C = SwingAlert(9, "2024-04-12", 10.0, 40.0, 30.0, 300.0)
A2 = SwingAlert(7, "2024-04-10", 100.0, 500.0, 400.0, 400.0, detected_as=LATE_DATA, load_id=3)
TABLES = {  # table -> its key columns (rows are compared sorted by them)
    "balance_alerts": "organization_id, balance_date, rule",
    "balance_alert_causes": "organization_id, balance_date, rule, cause_rank",
    "balance_alert_context": "organization_id, balance_date, rule",
    "balance_alert_acks": "organization_id, balance_date, rule",
    "monitor_mutes": "organization_id",
    "monitor_state": "rule",
    "monitor_scope": "scope_name",
    "monitor_scope_days": "balance_date, organization_id",
}
FACTS = {  # minimal inputs of the evidence queries
    "fact_invoices": ("invoice_id bigint, organization_id bigint, created_date {t}, status {t}, "
                      "currency {t}, amount double, balance_effect_usd double, created_at {t}, "
                      "_load_id bigint"),
    "invoices": "invoice_id bigint, _previous_status {t}",
    "dim_organizations": ("organization_id bigint, is_orphan {b}, legal_entity_country_code "
                          "bigint, active_contract_count bigint, first_payment_date {t}, "
                          "last_payment_date {t}"),
}
INVOICES = [(i, 7, "2024-04-10", "paid", "EUR", 10.0 * i, 10.0 * i, f"2024-04-10T0{i}:00:00Z", 1)
            for i in range(1, 8)] + [(20, -8, "2024-04-11", "refunded", "USD", 40.0, -40.0,
                                      "2024-04-11T01:00:00Z", 2)]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """A database of this module's own on the session's Spark server (dropped afterwards)."""
    if SPARK not in ENGINES:
        pytest.skip("BALANCEWATCH_TEST_ENGINES excludes spark")
    with fresh_warehouse(SPARK, tmp_path_factory.mktemp("state-spark")) as warehouse:
        warehouse.create()
        yield warehouse


@pytest.fixture(scope="module")
def outcomes(spark: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sequence's results and final rows on each engine: {"spark": ..., "sqlite": ...}."""
    patch = pytest.MonkeyPatch()
    for module in (alert_records, watermark, operations, scope_mod):
        patch.setattr(module, "utc_now", lambda: NOW)
    try:
        sqlite = parse(tmp_path_factory.mktemp("state") / "state.db")
        sqlite.create()
        return {name: sequence(w) for name, w in (("sqlite", sqlite), ("spark", spark))}
    finally:
        patch.undo()


def seed(conn: Connection) -> None:
    spark = conn.kind == SPARK
    for table, columns in FACTS.items():
        ddl = columns.format(t="string" if spark else "text", b="boolean" if spark else "integer")
        conn.execute(f"create table {table} ({ddl})" + (" using parquet" if spark else ""))
    conn.executemany("insert into fact_invoices values (?, ?, ?, ?, ?, ?, ?, ?, ?)", INVOICES)
    conn.executemany("insert into invoices values (?, ?)", [(7, "open"), (20, None)])
    conn.execute("insert into dim_organizations values (?, ?, ?, ?, ?, ?)",
                 (7, False, 44, 3, "2024-01-02", "2024-04-10"))


def sequence(warehouse: Warehouse) -> dict[str, Any]:
    """Every kind of state write, in the order the monitor and the CLI make them."""
    done: dict[str, Any] = {}
    with warehouse.connection() as conn:
        seed(conn)
        watermark.ensure_table(conn)
        alert_records.ensure_table(conn)
        causes.ensure_tables(conn)
        operations.ensure_tables(conn)
        scope_mod.ensure_tables(conn)
        done["inserted"] = alert_records.insert_alerts(conn, [A, B], muted={-8: "migration"})
        done["inserted_again"] = alert_records.insert_alerts(conn, [A, C, C])
        causes.record_evidence(conn, [A, B, C], None)
        causes.record_evidence(conn, [A2], 0)  # restated: evidence replaced, late loads named
        done["updated"] = alert_records.update_figures(conn, [A2])
        done["sent"] = alert_records.mark_sent(conn, [A, C], "111.1", "C1", charted={A.key})
        done["sent_again"] = alert_records.mark_sent(conn, [A, C], "222.2")
        done["chart"] = alert_records.mark_chart_sent(conn, A, "F1")
        gone = [Resolution(*C.key, 10.0, 12.0, "no longer a swing", "111.1"),
                Resolution(*B.key, 50.0, 45.0, "no longer a swing", None)]
        done["resolved"] = alert_records.resolve(conn, gone, sent={C.key})
        done["resolved_again"] = alert_records.resolve(conn, gone, sent={C.key})
        done["resolutions_sent"] = alert_records.mark_resolutions_sent(conn, gone)
        done["reopened"] = alert_records.reopen(conn, [B])
        operations.mute(conn, 7, "2024-05-01", "quarter end", "ops")
        operations.mute(conn, 7, "2024-06-01", "extended", "ops")
        operations.mute(conn, 9, "2024-05-01", "test org", "ops")
        done["unmuted"] = operations.unmute(conn, 9)
        done["unmuted_again"] = operations.unmute(conn, 9)
        operations.acknowledge(conn, [A.key], "known", "expected", "ops")
        watermark.advance_watermark(conn, "2024-04-12", "2024-04-01")
        watermark.advance_watermark(conn, "2024-04-11", "2024-03-30")  # never backwards
        scope = scope_mod.Scope(False, "new data", 1, 2, "2024-04-11", "2024-04-12",
                                (("2024-04-01", 7), ("2024-04-02", 7)))
        scope_mod.write_scope(conn, scope)
        scope_mod.mark_passed(conn, scope)
        done["pending"] = [s.key for s in alert_records.pending_swings(conn)]
        done["mutes"] = operations.active_mutes(conn, "2024-05-15")
        done["watermark"] = (watermark.last_evaluated(conn), watermark.first_evaluated(conn))
        done["rows"] = {t: snapshot(conn, t, key) for t, key in TABLES.items()}
        scope_mod.write_scope(conn, scope_mod.Scope(True, "x", 0, 2, "0000-01-01"))
        done["days_after_empty_scope"] = snapshot(conn, "monitor_scope_days", TABLES[
            "monitor_scope_days"])
    return done


def snapshot(conn: Connection, table: str, key: str) -> list[dict[str, Any]]:
    """Every row as {column: value} (floats rounded), sorted by the key."""
    cursor = conn.execute(f"select * from {table} order by {key}")
    names = [d[0].split(".")[-1] for d in cursor.description]
    return [{n: round(v, 6) if isinstance(v, float) else v for n, v in zip(names, row)}
            for row in cursor.fetchall()]


def alert(done: dict[str, Any], key: tuple) -> dict[str, Any]:
    rows = [r for r in done["rows"]["balance_alerts"]
            if (r["organization_id"], r["balance_date"], r["rule"]) == key]
    assert len(rows) == 1, rows
    return rows[0]


@pytest.mark.parametrize("engine", ["spark", "sqlite"])
def test_recording_twice_keeps_one_row_per_key(outcomes: dict[str, Any], engine: str) -> None:
    done = outcomes[engine]
    assert (done["inserted"], done["inserted_again"]) == (2, 1)
    keys = [(r["organization_id"], r["balance_date"]) for r in done["rows"]["balance_alerts"]]
    assert keys == [(-8, "2024-04-11"), (7, "2024-04-10"), (9, "2024-04-12")]
    assert alert(done, B.key)["muted_reason"] == "migration"
    a = alert(done, A.key)
    assert (a["balance_usd"], a["change_usd"], a["updated_at"], a["restated_by_load_id"]) == (
        500.0, 400.0, NOW, 3)
    assert a["detected_as"] == "new_day" and a["reopened_count"] == 0


@pytest.mark.parametrize("engine", ["spark", "sqlite"])
def test_sent_once_resolved_once_reopened(outcomes: dict[str, Any], engine: str) -> None:
    done = outcomes[engine]
    assert (done["sent"], done["sent_again"], done["chart"]) == (2, 0, 1)
    a, c = alert(done, A.key), alert(done, C.key)
    assert (a["delivery_status"], a["message_ts"], a["message_channel"]) == ("sent", "111.1", "C1")
    assert (a["chart_status"], a["chart_file_id"]) == ("sent", "F1")
    assert (done["resolved"], done["resolved_again"], done["resolutions_sent"]) == (2, 0, 1)
    assert (c["resolved_at"], c["resolution"]) == (NOW, "no longer a swing")
    assert (c["resolution_status"], c["resolution_sent_at"]) == ("sent", NOW)
    assert c["chart_status"] is None
    b = alert(done, B.key)  # resolved unsent, then re-opened: pending again, late data
    assert done["reopened"] == 1
    assert (b["resolved_at"], b["resolution_status"], b["delivery_status"]) == (
        None, None, "pending")
    assert (b["reopened_count"], b["detected_as"]) == (1, "late_data")
    assert done["pending"] == []  # B is muted; A was sent; C is resolved


@pytest.mark.parametrize("engine", ["spark", "sqlite"])
def test_evidence_is_replaced_per_key(outcomes: dict[str, Any], engine: str) -> None:
    rows = outcomes[engine]["rows"]
    ranks = [(r["organization_id"], r["cause_rank"], r["invoice_id"], r["changed_by_load_id"],
              r["previous_status"]) for r in rows["balance_alert_causes"]]
    assert ranks == [(-8, 1, 20, None, None), (7, 1, 7, 1, "open"), (7, 2, 6, 1, None),
                     (7, 3, 5, 1, None), (7, 4, 4, 1, None), (7, 5, 3, 1, None)]
    context = {r["organization_id"]: (r["daily_change_usd"], r["invoice_count"],
                                      r["other_invoice_count"], r["other_effect_usd"],
                                      r["is_orphan"], r["legal_entity_country_code"])
               for r in rows["balance_alert_context"]}
    assert context == {-8: (-40.0, 1, 0, 0.0, 1, None), 7: (280.0, 7, 2, 30.0, 0, 44),
                       9: (0.0, 0, 0, 0.0, 1, None)}


@pytest.mark.parametrize("engine", ["spark", "sqlite"])
def test_mutes_watermark_and_scope(outcomes: dict[str, Any], engine: str) -> None:
    done = outcomes[engine]
    assert (done["unmuted"], done["unmuted_again"]) == (1, 0)
    assert [(m["organization_id"], m["until_date"], m["reason"])
            for m in done["rows"]["monitor_mutes"]] == [(7, "2024-06-01", "extended")]
    assert list(done["mutes"]) == [7]
    assert done["watermark"] == ("2024-04-12", "2024-03-30")
    assert [(r["scope_name"], r["after_load_id"], r["from_date"])
            for r in done["rows"]["monitor_scope"]] == [("last_passed", 1, "2024-04-11"),
                                                         ("this_run", 1, "2024-04-11")]
    assert [(r["balance_date"], r["organization_id"])
            for r in done["rows"]["monitor_scope_days"]] == [("2024-04-01", 7), ("2024-04-02", 7)]
    assert done["days_after_empty_scope"] == []
    assert [(r["note"], r["verdict"]) for r in done["rows"]["balance_alert_acks"]] == [
        ("known", "expected")]


def test_spark_holds_the_same_rows_as_sqlite(outcomes: dict[str, Any]) -> None:
    spark, sqlite = outcomes["spark"], outcomes["sqlite"]
    for table in TABLES:
        assert spark["rows"][table] == sqlite["rows"][table], table
    assert {k: v for k, v in spark.items() if k != "rows"} == {
        k: v for k, v in sqlite.items() if k != "rows"}


def test_the_run_lock_admits_one_run_and_frees_a_dead_holders(spark: Warehouse) -> None:
    with run_lock.run_lock(spark, wait_seconds=5):
        with pytest.raises(run_lock.Busy, match="holds the run lock"):
            with run_lock.run_lock(spark, wait_seconds=0):
                pass
    with run_lock.run_lock(spark, wait_seconds=0):  # released: free again
        pass
    dead = _exited_pid()
    with spark.connection() as conn:
        conn.execute(f"create view {run_lock.lock_view(spark)} as select "
                     f"'pid {dead} host {socket.gethostname()} since x on y' as holder")
    with run_lock.run_lock(spark, wait_seconds=5):  # the killed holder does not block
        pass
    with spark.connection() as conn:  # and nothing is left behind
        left = conn.execute(f"show views in default like "
                            f"'balancewatch_run_lock_{spark.dbname}*'").fetchall()
    assert left == []


def _exited_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_spark_tables_are_partitioned_parquet(spark: Warehouse, outcomes: dict[str, Any]) -> None:
    with spark.connection() as conn:
        ddl = conn.scalar("show create table balance_alerts")
    assert "USING parquet" in ddl and "PARTITIONED BY (rule)" in ddl
