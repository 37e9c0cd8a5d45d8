"""Great Expectations on Spark: the swing expectation and every per-dialect check, against
hand-made tables on a Spark Thrift Server, and against the same tables on SQLite.

Runs on the session's Spark Thrift Server (tests/conftest.py); the module creates a database of
its own there and drops it afterwards. Skipped only when ``BALANCEWATCH_TEST_ENGINES`` excludes
spark.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

gx = pytest.importorskip("great_expectations")

from balancewatch.warehouse import SPARK, Warehouse, parse  # noqa: E402
from monitors.checks.swing_expectation import ExpectDailyBalanceSwingsWithinThreshold  # noqa: E402
from tests.conftest import ENGINES, fresh_warehouse  # noqa: E402

pytestmark = pytest.mark.skipif(SPARK not in ENGINES,
                                reason="BALANCEWATCH_TEST_ENGINES excludes spark")

TYPES = {
    "sqlite": {"int": "integer", "real": "real", "text": "text", "bool": "integer"},
    "spark": {"int": "bigint", "real": "double", "text": "string", "bool": "boolean"},
}
FACT = {"organization_id": "int", "balance_date": "text", "daily_change_usd": "real",
        "balance_usd": "real", "previous_balance_usd": "real"}
DIM = {"organization_id": "int", "has_invoices": "bool"}
SCOPE = {"scope_name": "text", "after_load_id": "int", "through_load_id": "int",
         "from_date": "text", "as_of_date": "text", "updated_at": "text"}
SCOPE_DAYS = {"balance_date": "text", "organization_id": "int"}
ORGS = {"organization_id": "int", "created_at": "text", "created_date": "text",
        "first_payment_date": "text", "last_payment_date": "text",
        "legal_entity_country_code": "int", "active_contract_count": "int", "_load_id": "int"}


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """A fresh database on the session's server, dropped with everything in it afterwards."""
    with fresh_warehouse(SPARK, tmp_path_factory.mktemp("gx-spark")) as warehouse:
        warehouse.create()
        yield warehouse


def write_tables(warehouse: Warehouse, tables: dict[str, tuple[dict[str, str], list]]) -> None:
    """(Re)create each table {name: (columns {name: kind}, rows)} with the engine's types."""
    types = TYPES["spark" if warehouse.kind == SPARK else "sqlite"]
    warehouse.create()
    with warehouse.connection() as conn:
        for name, (columns, rows) in tables.items():
            conn.execute(f"drop table if exists {name}")
            ddl = ", ".join(f"{c} {types[k]}" for c, k in columns.items())
            conn.execute(f"create table {name} ({ddl})"
                         + (" using parquet" if warehouse.kind == SPARK else ""))
            if rows:
                marks = ", ".join("?" * len(columns))
                conn.executemany(f"insert into {name} values ({marks})", rows)


def fact_rows(balances: dict[int, list[tuple[str, float | None]]]) -> list[tuple]:
    """fact_daily_balance rows from {org: [(day, balance), ...]}: change and previous derived."""
    rows = []
    for org, days in balances.items():
        previous = None
        for day, balance in days:
            change = None if balance is None else balance - (previous or 0.0)
            rows.append((org, day, change, balance, previous))
            previous = balance
    return rows


def days(*balances: float | None, start: int = 1) -> list[tuple[str, float | None]]:
    return [(f"2024-01-{start + i:02d}", b) for i, b in enumerate(balances)]


# ---- the swing expectation alone: the rule's edges --------------------------------------------

SWING_EDGES = {
    1: days(100.0, 150.0),  # exactly +50 %: not a swing
    2: days(100.0, 50.0),  # exactly -50 %
    3: days(0.3, 0.45),  # +50 % with float noise
    4: days(100.0, 150.01),  # +50.01 %: swing
    5: days(100.0, 49.99),  # -50.01 %: swing
    6: days(0.0, 1000.0),  # zero previous balance: not a percentage swing
    7: days(0.001, 1000.0),  # under half a cent counts as zero
    8: days(100.0, -100.0),  # sign flip, -200 %: swing
    9: days(-100.0, 10.0),  # sign flip, +110 % of |previous|: swing
    10: days(-100.0, -149.0),  # -49 %
    11: days(1000.0, 0.0),  # wiped out, -100 %: swing
    12: [("2024-01-01", 100.0), ("2024-01-03", 900.0)],  # a gap is no previous day
    13: days(100.0, None),  # NULL balance
    20: days(100.0, 300.0, 900.0, 950.0),  # swings on 02 and 03 (+200 % each); 04 +5.6 %
}
# ranked by |change USD| desc, then organization, then day
ALL_SWINGS = [(11, "2024-01-02"), (20, "2024-01-03"), (8, "2024-01-02"), (20, "2024-01-02"),
              (9, "2024-01-02")]
SWINGS_UNDER_100_USD = {(4, "2024-01-02"), (5, "2024-01-02")}


def validate_swings(warehouse: Warehouse, **kwargs: Any) -> Any:
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_sql(f"w{secrets.token_hex(3)}",
                                          connection_string=warehouse.sqlalchemy_url())
    asset = source.add_table_asset("fact", table_name="fact_daily_balance")
    batch = asset.add_batch_definition_whole_table("all").get_batch()
    result = batch.validate(ExpectDailyBalanceSwingsWithinThreshold(**kwargs))
    assert not result.exception_info["raised_exception"], result.exception_info
    return result


def flagged(result: Any) -> list[tuple[int, str]]:
    return [(s["entity_id"], s["day"]) for s in result.result["details"]["swings"]]


@pytest.fixture(scope="module")
def swing_tables(spark: Warehouse, tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[Warehouse, Warehouse]:
    lite = parse(tmp_path_factory.mktemp("swings") / "w.db")
    for warehouse in (spark, lite):
        write_tables(warehouse, {"fact_daily_balance": (FACT, fact_rows(SWING_EDGES))})
    return spark, lite


def test_swing_days_on_spark(swing_tables):
    spark, _ = swing_tables
    found = validate_swings(spark)
    assert found.success is False
    assert set(flagged(found)) == set(ALL_SWINGS) | SWINGS_UNDER_100_USD
    assert flagged(found)[:5] == ALL_SWINGS  # ranked by |change USD|
    assert found.result["observed_value"] == 7
    by_org = {s["entity_id"]: s for s in found.result["details"]["swings"]}
    assert by_org[9]["change_pct"] == 110.0 and by_org[9]["previous_balance"] == -100.0


def test_swing_window_floor_and_cap_on_spark(swing_tables):
    spark, _ = swing_tables
    # the first window day (03) sees its previous day (02) outside the window
    assert flagged(validate_swings(spark, window_start="2024-01-03")) == [(20, "2024-01-03")]
    assert validate_swings(spark, window_start="2024-01-04").success
    assert flagged(validate_swings(spark, min_abs_change_usd=100)) == ALL_SWINGS
    capped = validate_swings(spark, max_rows=2)
    assert flagged(capped) == ALL_SWINGS[:2] and capped.result["details"]["swing_count"] == 7


def test_swing_results_equal_sqlites(swing_tables):
    spark, lite = swing_tables
    for kwargs in ({}, {"window_start": "2024-01-02"}, {"threshold": 0.2}):
        on_spark, on_sqlite = validate_swings(spark, **kwargs), validate_swings(lite, **kwargs)
        assert on_spark.result == on_sqlite.result, kwargs


LABEL = 40  # an expectation's label: the first characters of its description (or column, type)


# ---- the committed suites through the committed context: every per-dialect query --------------

AS_OF = "2024-01-04"
SUITE_FACT = fact_rows({
    1: days(100.0, 150.0, 300.0, 300.0),  # 03: +100 %, a swing
    2: days(0.0, 1000.0, 1000.0, -1000.0),  # 02: from zero, none; 04: sign flip, a swing
    3: [("2024-01-01", 50.0), ("2024-01-03", 60.0)],  # gap: no 02 (and no 04: stale)
    4: [("2024-01-01", 70.0), ("2024/01/02", 70.0)],  # malformed day (after the as-of, as text)
}) + [
    (5, "2024-01-04", 10.0, 10.0, None),
    (5, "2024-01-04", 10.0, 10.0, None),  # duplicate key; two first days
]
SUITE_DIM = [(1, True), (2, True), (3, True), (4, True), (5, True), (6, True), (7, False)]
SUITE_SCOPE = [("this_run", 0, 1, "0000-01-01", AS_OF, "2024-01-05T00:00:00Z")]
# (expectation type, description or column) -> unexpected rows, for the checks that fail
FACT_FAILURES = {
    "The key (balance_date, organization_id) is unique": 1,
    "balance_date is 'YYYY-MM-DD'": 1,  # 2024/01/02
    # org 5 has two first days
    "No missing day: each organization's series starts once (previous balance NULL": 1,
    # org 3's 03 and org 4's 2024/01/02 claim a previous balance the day before lacks
    "Roll-forward: balance = previous + daily change, and previous = the stored bala": 2,
    # orgs 3, 4 and 6 have no row on the as-of date; org 4's '2024/01/02' sorts after it
    "Not stale: every organization with invoices has a balance on the as-of date (la": 4,
    "expect_daily_balance_swings_within_threshold": 2,  # org 1 on 03, org 2 on 04
}
SUITE_ORGS = [
    (1, "2023-05-01T10:00:00.000000Z", "2023-05-01", "2023-06-01", "2024-01-01", 7, 2, 1),
    (2, "2023-05-02T10:00:00.000000Z", "2023-05-02", None, None, 7, 1, 1),
    (3, "2023-05-03T10:00:00.123Z", "2023-05-03", "2023-06-01", "2023-07-01", 7, 3, 1),
    (4, "2023-05-04T10:00:00.000000Z", "2023-05-04", "2023-08-01", "2023-07-01", 7, 1, 1),
    (5, "2999-01-01T00:00:00.000000Z", "2999-01-01", "2023-06-01", "2023-6-01", 7, 0, 1),
]
ORG_FAILURES = {
    "created_at is 'YYYY-MM-DDTHH:MM:SS.ffffffZ' and payment days 'YYYY-MM-DD'": 2,  # 3, 5
    "No organization is created in the future (UTC)": 1,  # org 5, 2999
    "First payment day is not after the last payment day": 1,  # org 4 ('2023-6-01' sorts later)
    "active_contract_count": 1,  # org 5: 0 contracts (info)
}


def suite_tables() -> dict[str, tuple[dict[str, str], list]]:
    return {
        "fact_daily_balance": (FACT, SUITE_FACT),
        "dim_organizations": (DIM, SUITE_DIM),
        "monitor_scope": (SCOPE, SUITE_SCOPE),
        "monitor_scope_days": (SCOPE_DAYS, []),
        "stg_organizations": (ORGS, SUITE_ORGS),
        "organizations": ({"organization_id": "int", "_load_id": "int"},
                          [(r[0], 1) for r in SUITE_ORGS]),
    }


def outcomes(warehouse: Warehouse, project: Path, names: list[str]) -> dict[str, dict[str, tuple]]:
    """Validation definition -> {expectation label: (success, unexpected rows)} through the
    committed context, as the monitor opens it for ``warehouse``."""
    from balancewatch.settings import SITE_ROOT_ENV
    from balancewatch.warehouse import SQLALCHEMY_URL_ENV
    from monitors.gx_project.context import for_warehouse, open_context

    found: dict[str, dict[str, tuple]] = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv(SQLALCHEMY_URL_ENV, warehouse.sqlalchemy_url())
        env.setenv(SITE_ROOT_ENV, str(project / f"site-{warehouse.kind}"))
        context = open_context(project)
        for_warehouse(context, warehouse.dialect)
        for name in names:
            found[name] = _validate(context, name)
    return found


def _validate(context: Any, name: str) -> dict[str, tuple]:
    """{expectation label: (success, unexpected rows)} of validation definition ``name``."""
    result = context.validation_definitions.get(name).run(
        expectation_parameters={"swing_window_start": "2024-01-01"}, result_format="SUMMARY")
    found = {}
    for r in result.results:
        config = r.expectation_config
        label = (config.description or config.kwargs.get("column") or config.type)[:LABEL]
        assert not r.exception_info.get("raised_exception", False), (name, label,
                                                                     r.exception_info)
        summary = r.result or {}
        count = summary.get("unexpected_count", summary.get("observed_value"))
        if "match_set" in config.type:
            count = None  # the column list's order is the engine's
        found[label] = (r.success, count)
    return found


@pytest.fixture(scope="module")
def committed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from balancewatch.settings import GX_DIR
    from monitors.gx_project.setup import _committed_files

    root = tmp_path_factory.mktemp("project")
    for rel, path in _committed_files(GX_DIR).items():
        (root / "gx" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, root / "gx" / rel)
    return root


SUITES = ["fact_daily_balance", "fact_daily_balance_new_rows", "stg_organizations"]


@pytest.fixture(scope="module")
def suite_outcomes(spark: Warehouse, committed_project: Path,
                   tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each engine's outcomes of the committed suites on the same hand-made tables."""
    lite = parse(tmp_path_factory.mktemp("suites") / "w.db")
    found = {}
    for warehouse in (spark, lite):
        write_tables(warehouse, suite_tables())
        found[warehouse.kind] = outcomes(warehouse, committed_project, SUITES)
    return found


def test_committed_suites_on_spark_find_the_hand_made_faults(suite_outcomes):
    for name, failures in (("fact_daily_balance", FACT_FAILURES),
                           ("fact_daily_balance_new_rows", FACT_FAILURES),
                           ("stg_organizations", ORG_FAILURES)):
        results = suite_outcomes[SPARK][name]
        failed = {label: count for label, (ok, count) in results.items() if not ok}
        assert failed == {label[:LABEL]: n for label, n in failures.items()}, name


def test_committed_suites_agree_with_sqlite(suite_outcomes):
    assert suite_outcomes[SPARK] == suite_outcomes["sqlite"]
