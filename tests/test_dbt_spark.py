"""The dbt project on Apache Spark: the same models as on SQLite, and incremental = full refresh.

Runs against the Spark Thrift Server of ``$BALANCEWATCH_TEST_SPARK`` (``spark://host:port``, a
database path is ignored): each test builds in databases ``bw_test_<random>`` of its own, dropped
afterwards. Unset: the module is skipped. Set but unreachable: the tests fail (CI must prove the
engine it was asked to prove).

The raw tables are loaded into SQLite with the project's loader and copied into Spark with the
Spark types and the raw `part_month` partition column of the Spark loader (the models must ignore
that column), so SQLite's build of the same raw rows is the reference.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_dbt_helpers import DELIVERY_1, DELIVERY_2, DELIVERY_3, MODELS, load, query, run_build

from balancewatch import exit_codes
from balancewatch.warehouse import SPARK, Warehouse, WarehouseError, parse

SPARK_SERVER = os.environ.get("BALANCEWATCH_TEST_SPARK", "").strip()
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
KEYS = {
    "stg_organizations": ("organization_id",),
    "stg_invoices": ("invoice_id",),
    "fact_invoices": ("invoice_id",),
    "dim_organizations": ("organization_id",),
    "fact_daily_balance": ("organization_id", "balance_date"),
}
#: Raw tables the Spark loader partitions by month (first 7 characters of this column).
PARTITIONED = {"invoices": "created_at", "organizations": "created_date"}
USD_TOLERANCE = 1e-6
#: Columns a model has on Spark only: fact_daily_balance's partition column ('YYYY-MM').
SPARK_ONLY_COLUMNS = {"fact_daily_balance": {"balance_month"}}

pytestmark = pytest.mark.skipif(
    not SPARK_SERVER, reason="BALANCEWATCH_TEST_SPARK (spark://host:port) is not set"
)


def _server_url() -> str:
    match = re.match(r"^(spark://[^/]+)", SPARK_SERVER)
    if match is None:
        pytest.fail(f"BALANCEWATCH_TEST_SPARK must be spark://host:port, not {SPARK_SERVER!r}")
    return match[1]


@contextmanager
def spark_database(name: str = "") -> Iterator[Warehouse]:
    """A fresh database on the test server, dropped (with its tables) when the block ends."""
    warehouse = parse(f"{_server_url()}/bw_test_{name}{secrets.token_hex(4)}")
    try:
        warehouse.exists()
    except WarehouseError as exc:
        pytest.fail(f"Spark test server unreachable ({exc}): start one "
                    "(python -m balancewatch.spark_server start) or unset BALANCEWATCH_TEST_SPARK")
    try:
        yield warehouse
    finally:
        warehouse.drop()


def _spark_type(declared: str) -> str:
    declared = declared.lower()
    if "int" in declared:
        return "bigint"
    if declared in ("real", "double", "float", "numeric"):
        return "double"
    return "string"


def copy_raw_tables(sqlite_file: Path, warehouse: Warehouse) -> None:
    """Replace the raw tables (organizations, invoices, load_log) of ``warehouse`` with those of
    ``sqlite_file``, typed and partitioned as the Spark loader makes them."""
    source = sqlite3.connect(sqlite_file)
    try:
        with warehouse.connection() as conn:
            for table in ("organizations", "invoices", "load_log"):
                info = source.execute(f"select name, type from pragma_table_info('{table}')")
                columns = [(name, _spark_type(kind)) for name, kind in info.fetchall()]
                names = [name for name, _ in columns]
                select = ", ".join(names)
                ddl = ", ".join(f"{name} {kind}" for name, kind in columns)
                partition = PARTITIONED.get(table)
                if partition:
                    select += f", substr({partition}, 1, 7) as part_month"
                    ddl += ", part_month string"
                conn.execute(f"drop table if exists {table}")
                conn.execute(f"create table {table} ({ddl}) using parquet"
                             + (" partitioned by (part_month)" if partition else ""))
                rows = source.execute(f"select {select} from {table}").fetchall()
                placeholders = ", ".join("?" for _ in range(len(rows[0]) if rows else 0))
                if rows:
                    conn.executemany(f"insert into {table} values ({placeholders})", rows)
    finally:
        source.close()


def snapshot(sqlite_file: Path, folder: Path) -> Path:
    """A copy of a SQLite warehouse as it is now."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / sqlite_file.name
    shutil.copyfile(sqlite_file, copy)
    return copy


def model_rows(warehouse: Path | Warehouse, model: str) -> tuple[list[str], dict[tuple, tuple]]:
    """A model's columns (sorted) and its rows by key (booleans as 0/1, as SQLite keeps them)."""
    conn = parse(warehouse).connect()
    try:
        columns = sorted(conn.column_names(model) - SPARK_ONLY_COLUMNS.get(model, set()))
    finally:
        conn.close()
    rows = query(warehouse, f"select {', '.join(columns)} from {model}")
    key = [columns.index(c) for c in KEYS[model]]
    normal = [tuple(int(v) if isinstance(v, bool) else v for v in row) for row in rows]
    by_key = {tuple(row[i] for i in key): row for row in normal}
    assert len(by_key) == len(rows), f"{model}: duplicate keys"
    return columns, by_key


def assert_same_models(expected: Path | Warehouse, actual: Warehouse) -> dict[str, int]:
    """Every model of ``actual`` has the columns and rows of ``expected`` (floats within 1e-6
    USD); returns the rows compared per model."""
    compared = {}
    for model in MODELS:
        columns, want = model_rows(expected, model)
        got_columns, got = model_rows(actual, model)
        assert got_columns == columns, model
        assert sorted(got) == sorted(want), f"{model}: different keys"
        worst = 0.0
        for key, row in want.items():
            for column, a, b in zip(columns, row, got[key]):
                if isinstance(a, float) or isinstance(b, float):
                    assert (a is None) == (b is None), (model, key, column, a, b)
                    if a is not None:
                        worst = max(worst, abs(a - b))
                else:
                    assert a == b, (model, key, column, a, b)
        assert worst <= USD_TOLERANCE, (model, worst)
        assert not math.isnan(worst)
        compared[model] = len(want)
    return compared


def test_spark_models_equal_sqlite_and_incremental_equals_full_refresh(tmp_path: Path) -> None:
    """Deliveries 1 (initial), 2 (a status change, a late invoice before a series' first day, a
    new orphan, two new days) and 3 (organizations only: orphans delivered) built incrementally
    on Spark equal SQLite's builds after each delivery, and a Spark full refresh of the last."""
    lite = tmp_path / "sqlite" / "warehouse.db"
    with spark_database("inc_") as incremental, spark_database("full_") as refreshed:
        for n, delivery in enumerate((DELIVERY_1, DELIVERY_2, DELIVERY_3), start=1):
            load(delivery, lite)
            assert run_build(lite) == exit_codes.OK
            copy_raw_tables(snapshot(lite, tmp_path / f"raw{n}"), incremental)
            assert run_build(incremental, target_path=tmp_path / "dbt-inc") == exit_codes.OK
            assert_same_models(lite, incremental)
        copy_raw_tables(lite, refreshed)
        assert run_build(refreshed, full_refresh=True,
                         target_path=tmp_path / "dbt-full") == exit_codes.OK
        assert_same_models(refreshed, incremental)
        # the raw partition column stays out of the models; fact_daily_balance's is its month
        conn = incremental.connect()
        try:
            assert all("part_month" not in conn.column_names(model) for model in MODELS)
            assert conn.scalar("select count(*) from fact_daily_balance "
                               "where balance_month <> substr(balance_date, 1, 7)") == 0
            assert conn.scalar("select count(*) from build_log") == 3
        finally:
            conn.close()


def test_spark_sample_equals_sqlite(tmp_path: Path) -> None:
    """The shipped sample: every model on Spark equals SQLite's (fact_daily_balance ~76k rows)."""
    lite = tmp_path / "sqlite" / "warehouse.db"
    load(SAMPLE, lite)
    assert run_build(lite) == exit_codes.OK
    with spark_database("sample_") as warehouse:
        assert warehouse.kind == SPARK
        copy_raw_tables(lite, warehouse)
        assert run_build(warehouse, target_path=tmp_path / "dbt-spark") == exit_codes.OK
        compared = assert_same_models(lite, warehouse)
    assert compared["fact_daily_balance"] > 10_000
