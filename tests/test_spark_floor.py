"""The bench's Spark floor computes what the SQLite floor computes (same statements' meaning)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.floor import measure_floor
from bench.spark_floor import measure_spark_floor
from tests.conftest import ENGINES, spark_server_url

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"

pytestmark = pytest.mark.skipif("spark" not in ENGINES,
                                reason="BALANCEWATCH_TEST_ENGINES excludes spark")


def test_spark_floor_builds_the_same_daily_series_and_swings_as_the_sqlite_floor(
    tmp_path: Path,
) -> None:
    sqlite_floor = {f.stage: f for f in measure_floor(SAMPLE, tmp_path / "floor.db", tmp_path)}
    swings = sqlite3.connect(tmp_path / "floor.db").execute(
        "select count(*) from fact_daily_balance where previous_balance_usd is not null "
        "and previous_balance_usd <> 0 "
        "and abs(balance_usd - previous_balance_usd) > 0.5 * abs(previous_balance_usd)"
    ).fetchone()[0]
    spark = measure_spark_floor(SAMPLE, spark_server_url())
    assert spark["load"]["rows"] == sqlite_floor["load"].rows == 23_689  # the sample's invoices
    assert spark["build"]["rows"] == sqlite_floor["build"].rows
    assert spark["monitor"]["swings"] == swings > 0
    assert all(step["seconds"] > 0 for step in spark.values())
