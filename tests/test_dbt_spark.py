"""The dbt project on Apache Spark: the same models as on SQLite, and incremental = full refresh.

Runs on the session's Spark Thrift Server (tests/conftest.py): each test builds in databases of
its own, dropped afterwards; skipped only when ``BALANCEWATCH_TEST_ENGINES`` excludes spark. The
same deliveries are loaded with the project's loader into SQLite and into Spark, so SQLite's
build of the same raw rows is the reference.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from test_dbt_helpers import DELIVERY_1, DELIVERY_2, DELIVERY_3, MODELS, load, query, run_build

from balancewatch import exit_codes
from balancewatch.warehouse import SPARK, Warehouse, parse
from tests.conftest import ENGINES, fresh_warehouse

KEYS = {
    "stg_organizations": ("organization_id",),
    "stg_invoices": ("invoice_id",),
    "fact_invoices": ("invoice_id",),
    "dim_organizations": ("organization_id",),
    "fact_daily_balance": ("organization_id", "balance_date"),
}
USD_TOLERANCE = 1e-6
#: Columns a model has on Spark only: fact_daily_balance's partition column ('YYYY-MM').
SPARK_ONLY_COLUMNS = {"fact_daily_balance": {"balance_month"}}

pytestmark = pytest.mark.skipif(SPARK not in ENGINES,
                                reason="BALANCEWATCH_TEST_ENGINES excludes spark")


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
    with (
        fresh_warehouse(SPARK, tmp_path / "inc") as incremental,
        fresh_warehouse(SPARK, tmp_path / "full") as refreshed,
    ):
        for delivery in (DELIVERY_1, DELIVERY_2, DELIVERY_3):
            load(delivery, lite)
            assert run_build(lite) == exit_codes.OK
            load(delivery, incremental)
            load(delivery, refreshed)
            assert run_build(incremental, target_path=tmp_path / "dbt-inc") == exit_codes.OK
            assert_same_models(lite, incremental)
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
