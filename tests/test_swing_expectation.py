"""The swing expectation against hand-computed fixtures, run through a real GX context on SQLite."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

gx = pytest.importorskip("great_expectations")

from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from monitors.checks.swing_expectation import ExpectDailyBalanceSwingsWithinThreshold  # noqa: E402

FACT_DDL = """create table fact_daily_balance (
    organization_id integer, balance_date text, daily_change_usd real,
    balance_usd real, previous_balance_usd real)"""
_names = itertools.count()


@pytest.fixture(scope="module")
def context():
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def make_fact(path: Path, balances: dict[int, list[tuple[str, float | None]]]) -> Path:
    """Write fact_daily_balance rows {org: [(day, balance), ...]} with the derived columns."""
    conn = sqlite3.connect(path)
    conn.execute(FACT_DDL)
    for org, days in balances.items():
        previous = None
        for day, balance in days:
            change = None if balance is None else balance - (previous or 0)
            conn.execute(
                "insert into fact_daily_balance values (?, ?, ?, ?, ?)",
                (org, day, change, balance, previous),
            )
            previous = balance
    conn.commit()
    conn.close()
    return path


def validate(context, db: Path, table: str = "fact_daily_balance", **kwargs):
    """Run the expectation on the whole table and return the result's details."""
    source = context.data_sources.add_sqlite(f"w{next(_names)}", connection_string=f"sqlite:///{db}")
    batch = source.add_table_asset(table, table_name=table).add_batch_definition_whole_table("all")
    result = batch.get_batch().validate(ExpectDailyBalanceSwingsWithinThreshold(**kwargs))
    assert not result.exception_info["raised_exception"], result.exception_info
    return result


def flagged(result) -> list[tuple[int, str]]:
    return [(s["entity_id"], s["day"]) for s in result.result["details"]["swings"]]


def days(*balances: float | None, start: int = 1) -> list[tuple[str, float | None]]:
    return [(f"2024-01-{start + i:02d}", b) for i, b in enumerate(balances)]


@pytest.mark.parametrize(
    ("previous", "balance", "is_swing"),
    [
        (100.0, 150.0, False),  # exactly +50 %
        (100.0, 50.0, False),  # exactly -50 %
        (0.3, 0.45, False),  # exactly +50 % with float noise (0.45 - 0.3 = 0.15000000000000002)
        (100.0, 150.01, True),  # +50.01 %
        (100.0, 49.99, True),  # -50.01 %
        (0.0, 1000.0, False),  # a move away from zero is not a percentage swing
        (0.001, 1000.0, False),  # rounds to $0.00: zero
        (100.0, -100.0, True),  # sign flip, -200 %
        (-100.0, 10.0, True),  # sign flip, +110 % of |previous|
        (-100.0, -149.0, False),  # -49 %
        (1000.0, 0.0, True),  # wiped out: -100 %
    ],
)
def test_threshold_edges(context, tmp_path, previous, balance, is_swing):
    db = make_fact(tmp_path / "w.db", {7: days(previous, balance)})
    result = validate(context, db)
    assert result.success is (not is_swing)
    assert flagged(result) == ([(7, "2024-01-02")] if is_swing else [])


def test_reported_row_values(context, tmp_path):
    db = make_fact(tmp_path / "w.db", {-42: days(200.0, 200.0, 80.0)})
    swing = validate(context, db).result["details"]["swings"][0]
    assert swing == {
        "entity_id": -42,
        "day": "2024-01-03",
        "previous_balance": 200.0,
        "balance": 80.0,
        "change_usd": -120.0,
        "change_pct": -60.0,
    }


def test_swing_on_first_window_day_sees_previous_day_outside_window(context, tmp_path):
    # 01: 100, 02: 300 (swing, before the window), 03: 900 (swing, first window day), 04: 950
    db = make_fact(tmp_path / "w.db", {1: days(100.0, 300.0, 900.0, 950.0)})
    result = validate(context, db, window_start="2024-01-03")
    assert flagged(result) == [(1, "2024-01-03")]
    assert validate(context, db, window_start="2024-01-04").success


def test_gap_in_days_is_not_a_previous_day(context, tmp_path):
    db = make_fact(tmp_path / "w.db", {1: [("2024-01-01", 100.0), ("2024-01-03", 900.0)]})
    assert validate(context, db).success


def test_absolute_floor_is_inclusive(context, tmp_path):
    balances = {
        1: days(100.0, 200.0),  # +100 USD: at the floor, flagged
        2: days(10.0, 109.0),  # +99 USD (+990 %): under the floor
        3: days(1000.0, 1200.0),  # +200 USD but only +20 %
    }
    db = make_fact(tmp_path / "w.db", balances)
    assert flagged(validate(context, db, min_abs_change_usd=100)) == [(1, "2024-01-02")]
    assert flagged(validate(context, db)) == [(1, "2024-01-02"), (2, "2024-01-02")]


def test_ranked_by_absolute_usd_and_capped_with_full_count(context, tmp_path):
    balances = {
        1: days(10.0, 100.0),  # +90
        2: days(1000.0, -500.0),  # -1500
        3: days(400.0, 1000.0),  # +600
        4: days(100.0, 1.0),  # -99
    }
    db = make_fact(tmp_path / "w.db", balances)
    result = validate(context, db, max_rows=3)
    assert [s["entity_id"] for s in result.result["details"]["swings"]] == [2, 3, 4]
    assert result.result["observed_value"] == 4
    assert result.result["details"]["swing_count"] == 4


def test_threshold_is_configurable(context, tmp_path):
    db = make_fact(tmp_path / "w.db", {1: days(100.0, 125.0)})
    assert validate(context, db).success
    assert flagged(validate(context, db, threshold=0.2)) == [(1, "2024-01-02")]


def test_other_table_and_columns(context, tmp_path):
    db = tmp_path / "w.db"
    conn = sqlite3.connect(db)
    conn.execute("create table account_days (account text, d text, amount real)")
    conn.executemany(
        "insert into account_days values (?, ?, ?)",
        [("a", "2024-02-28", 10.0), ("a", "2024-02-29", 30.0), ("a", "2024-03-01", 31.0)],
    )
    conn.commit()
    conn.close()
    result = validate(
        context, db, table="account_days", entity_column="account", date_column="d",
        balance_column="amount",
    )
    assert flagged(result) == [("a", "2024-02-29")]


@pytest.mark.parametrize(
    "kwargs",
    [{"entity_column": "organization_id; drop table x"}, {"window_start": "2024-1-3"},
     {"max_rows": 0}],
)
def test_bad_parameters_rejected(kwargs):
    with pytest.raises(ValueError):
        ExpectDailyBalanceSwingsWithinThreshold(**kwargs)


def test_renderers_produce_sentence_and_table(context, tmp_path):
    from great_expectations.render.renderer_configuration import RendererConfiguration  # noqa: F401

    db = make_fact(tmp_path / "w.db", {1: days(100.0, 300.0), 2: days(50.0, 10.0)})
    result = validate(context, db, window_start="2024-01-01", min_abs_change_usd=5)
    cls = ExpectDailyBalanceSwingsWithinThreshold
    sentence = cls._prescriptive_renderer(configuration=result.expectation_config)[0]
    text = sentence.to_json_dict()["string_template"]
    assert text["params"]["threshold_pct"] == "50%"
    assert "$threshold_pct" in text["template"] and "from 2024-01-01" in text["params"]["window"]
    caption, table = cls._diagnostic_unexpected_table_renderer(result=result)
    assert "Top 2 of 2 swings" in caption.to_json_dict()["string_template"]["template"]
    rows = table.to_json_dict()["table"]
    assert rows[0] == ["1", "2024-01-02", "100.00", "300.00", "+200.00%", "+200.00"]
    assert cls._diagnostic_observed_value_renderer(result=result) == "2 swings"


def test_window_start_from_a_suite_parameter_through_a_validation_definition(context, tmp_path):
    db = make_fact(tmp_path / "w.db", {1: days(100.0, 300.0, 900.0, 950.0)})
    name = f"w{next(_names)}"
    source = context.data_sources.add_sqlite(name, connection_string=f"sqlite:///{db}")
    batch = source.add_table_asset("fact", table_name="fact_daily_balance")
    batch_definition = batch.add_batch_definition_whole_table("all")
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    suite.add_expectation(ExpectDailyBalanceSwingsWithinThreshold(
        window_start={"$PARAMETER": "swing_window_start"}, severity="warning"))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch_definition, suite=suite))
    result = definition.run(expectation_parameters={"swing_window_start": "2024-01-03"})
    (swing_result,) = result.results
    assert swing_result.expectation_config.severity == "warning"
    assert [(s["entity_id"], s["day"]) for s in swing_result.result["details"]["swings"]] == [
        (1, "2024-01-03")]
