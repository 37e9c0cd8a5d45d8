"""The dbt models on a small hand-written delivery; expected values are worked out by hand.

Delivery 1 (tests/fixtures/dbt_delivery1), as-of date 2024-01-05:
  org 101   inv 1  paid      92.00 EUR @ 0.92  = +100  2024-01-01T10:00:00.000Z
            inv 2  refunded  1480 JPY  @ 148   =  -10  2024-01-01T23:59:59.999Z  (still Jan 1)
            inv 3  paid      50.00 USD         =  +50  2024-01-02T00:00:00.000Z  (Jan 2)
            inv 4  credited  46.00 EUR @ 0.92  =    0  2024-01-03
            inv 5  open      30.00 USD         =    0  2024-01-05
  org -202  inv 6  paid      20 USD  +20 on Jan 3; inv 7 refunded 50 USD -50 on Jan 4 (20 -> -30)
  org 999   inv 8  paid      79.00 GBP @ 0.79  = +100  Jan 2; not in organizations.csv (orphan)
  org 303   in organizations.csv, no invoices.
Delivery 2 (tests/fixtures/dbt_delivery2), as-of date 2024-01-07:
  inv 4 credited -> paid (+50 on Jan 3, a restated past day); inv 9 org 101 paid 10 USD Jan 7;
  inv 10 org -202 paid 9.20 EUR @ 0.92 = +10 on Jan 2 (late, before its first day);
  inv 11 new orphan org 888 refunded 5 USD on 2024-01-06T00:00:00.000Z.
Delivery 3 (tests/fixtures/dbt_delivery3): organizations.csv only, delivering orphans 999 and 888
  (their invoices 8 and 11 stop being orphans; balances unchanged).
Deliveries 4 and 5 and the moves (dbt_delivery4, 5, _moved, _moved_again), on both engines: the
  cases of dim_organizations' delta and recompute paths (see the tests at the end).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from test_dbt_helpers import (
    DELIVERY_1,
    DELIVERY_2,
    DELIVERY_3,
    DELIVERY_4,
    DELIVERY_5,
    DELIVERY_MOVED,
    DELIVERY_MOVED_AGAIN,
    MODELS,
    daily_balance,
    load,
    query,
    run_build,
    run_docs_generate,
    table,
)

from balancewatch import exit_codes
from balancewatch.build import build
from balancewatch.warehouse import Warehouse
from tests.conftest import copied_warehouse, fresh_warehouse

EXPECTED_AFTER_DELIVERY_1 = {
    # (organization, day): (daily_change_usd, balance_usd, previous_balance_usd)
    (101, "2024-01-01"): (90.0, 90.0, None),
    (101, "2024-01-02"): (50.0, 140.0, 90.0),
    (101, "2024-01-03"): (0.0, 140.0, 140.0),  # credited: no move
    (101, "2024-01-04"): (0.0, 140.0, 140.0),  # no invoice: carried forward
    (101, "2024-01-05"): (0.0, 140.0, 140.0),  # open: no move
    (-202, "2024-01-03"): (20.0, 20.0, None),
    (-202, "2024-01-04"): (-50.0, -30.0, 20.0),  # sign flip
    (-202, "2024-01-05"): (0.0, -30.0, -30.0),
    (999, "2024-01-02"): (100.0, 100.0, None),  # orphan
    (999, "2024-01-03"): (0.0, 100.0, 100.0),
    (999, "2024-01-04"): (0.0, 100.0, 100.0),
    (999, "2024-01-05"): (0.0, 100.0, 100.0),
}

EXPECTED_AFTER_DELIVERY_2 = {
    (101, "2024-01-01"): (90.0, 90.0, None),
    (101, "2024-01-02"): (50.0, 140.0, 90.0),
    (101, "2024-01-03"): (50.0, 190.0, 140.0),  # inv 4 now paid
    (101, "2024-01-04"): (0.0, 190.0, 190.0),
    (101, "2024-01-05"): (0.0, 190.0, 190.0),
    (101, "2024-01-06"): (0.0, 190.0, 190.0),
    (101, "2024-01-07"): (10.0, 200.0, 190.0),
    (-202, "2024-01-02"): (10.0, 10.0, None),  # late invoice moves the first day
    (-202, "2024-01-03"): (20.0, 30.0, 10.0),
    (-202, "2024-01-04"): (-50.0, -20.0, 30.0),
    (-202, "2024-01-05"): (0.0, -20.0, -20.0),
    (-202, "2024-01-06"): (0.0, -20.0, -20.0),
    (-202, "2024-01-07"): (0.0, -20.0, -20.0),
    (999, "2024-01-02"): (100.0, 100.0, None),
    (999, "2024-01-03"): (0.0, 100.0, 100.0),
    (999, "2024-01-04"): (0.0, 100.0, 100.0),
    (999, "2024-01-05"): (0.0, 100.0, 100.0),
    (999, "2024-01-06"): (0.0, 100.0, 100.0),  # no new invoice: extended to the new as-of date
    (999, "2024-01-07"): (0.0, 100.0, 100.0),
    (888, "2024-01-06"): (-5.0, -5.0, None),
    (888, "2024-01-07"): (0.0, -5.0, -5.0),
}


def assert_balances(actual: dict, expected: dict) -> None:
    assert sorted(actual) == sorted(expected)
    for key, (change, balance, previous) in expected.items():
        assert actual[key] == (
            pytest.approx(change, abs=1e-9),
            pytest.approx(balance, abs=1e-9),
            None if previous is None else pytest.approx(previous, abs=1e-9),
        ), key


@pytest.fixture(scope="module")
def first_delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with delivery 1 loaded and built."""
    warehouse = tmp_path_factory.mktemp("first") / "warehouse.db"
    load(DELIVERY_1, warehouse)
    assert run_build(warehouse) == exit_codes.OK
    return warehouse


def built_incrementally(
    factory: pytest.TempPathFactory, name: str, deliveries: tuple[Path, ...]
) -> dict[str, Path]:
    """Each delivery loaded and built incrementally in turn; and a full-refresh copy."""
    warehouse = factory.mktemp(name) / "warehouse.db"
    for delivery in deliveries:
        load(delivery, warehouse)
        assert run_build(warehouse) == exit_codes.OK
    refreshed = factory.mktemp(f"{name}_refresh") / "warehouse.db"
    shutil.copy(warehouse, refreshed)
    assert run_build(refreshed, full_refresh=True) == exit_codes.OK
    return {"incremental": warehouse, "full_refresh": refreshed}


@pytest.fixture(scope="module")
def second_delivery(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Delivery 1 built, delivery 2 loaded and built incrementally; and a full-refresh copy."""
    return built_incrementally(tmp_path_factory, "incremental", (DELIVERY_1, DELIVERY_2))


@pytest.mark.parametrize(
    ("invoice_id", "amount_usd"),
    [(1, 100.0), (2, 10.0), (8, 100.0), (3, 50.0)],  # EUR / 0.92, JPY / 148, GBP / 0.79, USD
)
def test_amount_usd_divides_by_fx_rate(first_delivery: Path, invoice_id: int, amount_usd: float):
    [(actual,)] = query(
        first_delivery, "select amount_usd from fact_invoices where invoice_id = ?", (invoice_id,)
    )
    assert actual == pytest.approx(amount_usd)


@pytest.mark.parametrize(
    ("invoice_id", "status", "effect_usd"),
    [(1, "paid", 100.0), (2, "refunded", -10.0), (4, "credited", 0.0), (5, "open", 0.0)],
)
def test_balance_effect_follows_the_rule(
    first_delivery: Path, invoice_id: int, status: str, effect_usd: float
):
    [(actual_status, effect)] = query(
        first_delivery,
        "select status, balance_effect_usd from fact_invoices where invoice_id = ?",
        (invoice_id,),
    )
    assert (actual_status, effect) == (status, pytest.approx(effect_usd))


def test_hash_null_sentinel_becomes_null(first_delivery: Path):
    rows = query(
        first_delivery,
        "select invoice_id, parent_invoice_id, transaction_id from stg_invoices "
        "where invoice_id in (1, 2) order by invoice_id",
    )
    assert rows == [(1, None, 7001), (2, 1, None)]
    [(country,)] = query(
        first_delivery,
        "select legal_entity_country_code from stg_organizations where organization_id = 303",
    )
    assert country is None


def test_timestamps_normalised_to_one_utc_form(first_delivery: Path):
    organizations = query(
        first_delivery,
        "select organization_id, created_at, created_date from stg_organizations "
        "order by organization_id",
    )
    assert organizations == [
        (-202, "2022-02-14T22:09:20.000000Z", "2022-02-14"),  # no fractional digits
        (101, "2019-01-14T21:43:16.495440Z", "2019-01-14"),  # 5 digits
        (303, "2023-03-24T20:48:11.123456Z", "2023-03-24"),  # 9 digits, truncated
    ]
    invoices = query(
        first_delivery,
        "select invoice_id, created_at, created_date from stg_invoices "
        "where invoice_id in (2, 3) order by invoice_id",
    )
    assert invoices == [
        (2, "2024-01-01T23:59:59.999000Z", "2024-01-01"),
        (3, "2024-01-02T00:00:00.000000Z", "2024-01-02"),
    ]


def test_daily_balance_first_delivery(first_delivery: Path):
    assert_balances(daily_balance(first_delivery), EXPECTED_AFTER_DELIVERY_1)


def test_orphan_in_fact_and_dimension(first_delivery: Path):
    assert query(first_delivery, "select is_orphan from fact_invoices where invoice_id = 8") == [
        (1,)
    ]
    assert query(first_delivery, "select count(*) from fact_invoices where is_orphan = 0") == [(7,)]
    dimension = query(
        first_delivery,
        "select organization_id, is_orphan, has_invoices, created_at is null, invoice_count, "
        "current_balance_usd from dim_organizations order by organization_id",
    )
    assert dimension == [
        (-202, 0, 1, 0, 2, pytest.approx(-30.0)),
        (101, 0, 1, 0, 5, pytest.approx(140.0)),
        (303, 0, 0, 0, 0, 0.0),  # exported, never invoiced
        (999, 1, 1, 1, 1, pytest.approx(100.0)),  # seen only in invoices
    ]


def test_dimension_enrichment(first_delivery: Path):
    [row] = query(
        first_delivery,
        "select first_invoice_date, last_invoice_date, paid_invoice_count, "
        "refunded_invoice_count, credited_invoice_count, open_invoice_count, "
        "failed_invoice_count, lifetime_paid_usd, lifetime_refunded_usd, "
        "active_contract_count, legal_entity_country_code, first_payment_date, "
        "last_payment_date from dim_organizations where organization_id = 101",
    )
    assert row == (
        "2024-01-01",
        "2024-01-05",
        2,
        1,
        1,
        1,
        0,
        pytest.approx(150.0),
        pytest.approx(10.0),
        3,
        -5000000000000000001,
        "2024-01-01",
        "2024-01-05",
    )


def test_daily_balance_column_types(first_delivery: Path):
    columns = query(
        first_delivery, "select name, type from pragma_table_info('fact_daily_balance')"
    )
    assert columns == [
        ("organization_id", "INT"),
        ("balance_date", "TEXT"),
        ("daily_change_usd", "REAL"),
        ("balance_usd", "REAL"),
        ("previous_balance_usd", "REAL"),
        ("_load_id", "INT"),
    ]


def test_second_delivery_restates_and_extends(second_delivery: dict[str, Path]):
    assert_balances(daily_balance(second_delivery["incremental"]), EXPECTED_AFTER_DELIVERY_2)


@pytest.mark.parametrize("model", MODELS)
def test_incremental_build_equals_full_refresh(second_delivery: dict[str, Path], model: str):
    incremental = table(second_delivery["incremental"], model)
    assert incremental  # not trivially equal
    assert incremental == table(second_delivery["full_refresh"], model)


@pytest.fixture(scope="module")
def organizations_delivery(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Deliveries 1, 2 and 3 (organizations only) each built incrementally; a full-refresh copy."""
    return built_incrementally(
        tmp_path_factory, "organizations_only", (DELIVERY_1, DELIVERY_2, DELIVERY_3)
    )


def test_delivered_organizations_stop_being_orphans(organizations_delivery: dict[str, Path]):
    warehouse = organizations_delivery["incremental"]
    assert query(
        warehouse, "select invoice_id, is_orphan from fact_invoices where invoice_id in (8, 11) "
        "order by invoice_id"
    ) == [(8, 0), (11, 0)]
    assert query(warehouse, "select count(*) from fact_invoices where is_orphan = 1") == [(0,)]
    dimension = query(
        warehouse,
        "select organization_id, is_orphan, created_date, active_contract_count, invoice_count, "
        "current_balance_usd from dim_organizations where organization_id in (888, 999) "
        "order by organization_id",
    )
    assert dimension == [
        (888, 0, "2024-01-06", 1, 1, pytest.approx(-5.0)),
        (999, 0, "2023-12-30", 4, 1, pytest.approx(100.0)),
    ]
    assert_balances(daily_balance(warehouse), EXPECTED_AFTER_DELIVERY_2)


@pytest.mark.parametrize("model", MODELS)
def test_organizations_only_delivery_equals_full_refresh(
    organizations_delivery: dict[str, Path], model: str
):
    incremental = table(organizations_delivery["incremental"], model)
    assert incremental
    assert incremental == table(organizations_delivery["full_refresh"], model)


def test_bad_new_invoice_fails_an_incremental_build_until_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """dbt tests on an incremental run cover the new rows; a failed build's rows are tested
    again by the next build (nothing is recorded as tested)."""
    warehouse = tmp_path / "warehouse.db"
    load(DELIVERY_1, warehouse)
    assert run_build(warehouse) == exit_codes.OK
    bad = tmp_path / "bad"
    bad.mkdir()
    header, *_ = (DELIVERY_2 / "invoices_delta.csv").read_text().splitlines()
    (bad / "invoices_bad.csv").write_text(
        header + "\n"  # a status the balance rules do not know (the loader takes any text)
        "12,8817975702393619368,7012,101,-42,mystery,USD,USD,card,10.00,10,1.00000000,1.00000000,"
        "2024-01-06T10:00:00.000Z\n"
    )
    load(bad, warehouse)
    capsys.readouterr()
    assert run_build(warehouse) == exit_codes.CRITICAL_FAILURE
    assert "accepted_values_stg_invoices_status" in capsys.readouterr().out
    assert run_build(warehouse) == exit_codes.CRITICAL_FAILURE  # still caught on the next run
    assert "accepted_values_stg_invoices_status" in capsys.readouterr().out


def test_rebuild_without_new_delivery_changes_nothing(tmp_path: Path):
    warehouse = tmp_path / "warehouse.db"
    load(DELIVERY_1, warehouse)
    assert run_build(warehouse) == exit_codes.OK
    before = table(warehouse, "fact_daily_balance")
    assert run_build(warehouse) == exit_codes.OK
    assert table(warehouse, "fact_daily_balance") == before


def test_unknown_status_fails_the_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    lines = (DELIVERY_1 / "invoices.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",paid,", ",disputed,")
    (delivery / "invoices.csv").write_text("\n".join(lines) + "\n")
    warehouse = tmp_path / "warehouse.db"
    load(delivery, warehouse)
    assert run_build(warehouse) == exit_codes.CRITICAL_FAILURE
    captured = capsys.readouterr()
    assert "accepted_values_stg_invoices_status" in captured.out
    assert "dbt build failed" in captured.err


def test_build_without_loaded_warehouse_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    warehouse = tmp_path / "missing.db"
    assert build(warehouse) == exit_codes.BAD_INPUT
    assert "load a delivery first" in capsys.readouterr().err
    assert not warehouse.exists()


def test_docs_generate(first_delivery: Path, tmp_path: Path):
    assert run_docs_generate(first_delivery, tmp_path / "dbt") == exit_codes.OK
    assert (tmp_path / "dbt" / "catalog.json").is_file()


# dim_organizations by delta or whole: deliveries 4 and 5 after deliveries 1-3, on both engines.
# Org 101 before delivery 4 (after 2): inv 1 paid +100, 2 refunded -10, 3 paid +50, 4 paid +50,
# 5 open 30, 9 paid +10: 6 invoices, paid 210, refunded 10, balance 200, 2024-01-01 .. 01-07.
# Org -202: inv 10 paid +10 (Jan 2), 6 paid +20 (Jan 3), 7 refunded -50 (Jan 4): balance -20.
# Org 999 (exported by delivery 3): inv 8 paid 79 GBP @ 0.79 = +100 on Jan 2.
DIM_FIGURES = (
    "is_orphan", "has_invoices", "invoice_count", "paid_invoice_count", "refunded_invoice_count",
    "open_invoice_count", "lifetime_paid_usd", "lifetime_refunded_usd", "current_balance_usd",
    "_balance_micros", "first_invoice_date", "last_invoice_date", "_load_id",
)


def dim_row(warehouse: Warehouse, organization_id: int) -> dict | None:
    """The figures of one dim_organizations row (booleans as 0/1 on both engines)."""
    rows = query(
        warehouse,
        f"select {', '.join(DIM_FIGURES)} from dim_organizations where organization_id = ?",
        (organization_id,),
    )
    if not rows:
        return None
    [row] = rows
    return {k: int(v) if isinstance(v, bool) else v for k, v in zip(DIM_FIGURES, row, strict=True)}


def figures(*, orphan: bool, count: int, paid: int, refunded: int, open_: int, paid_usd: float,
            refunded_usd: float, balance_usd: float, first: str | None, last: str | None,
            load_id: int) -> dict:
    """A hand-computed dim_organizations row, in dim_row's form."""
    return {
        "is_orphan": int(orphan), "has_invoices": int(count > 0), "invoice_count": count,
        "paid_invoice_count": paid, "refunded_invoice_count": refunded,
        "open_invoice_count": open_, "lifetime_paid_usd": pytest.approx(paid_usd, abs=1e-9),
        "lifetime_refunded_usd": pytest.approx(refunded_usd, abs=1e-9),
        "current_balance_usd": pytest.approx(balance_usd, abs=1e-9),
        "_balance_micros": round(balance_usd * 1_000_000), "first_invoice_date": first,
        "last_invoice_date": last, "_load_id": load_id,
    }


def execute(warehouse: Warehouse, sql: str) -> None:
    conn = warehouse.connect()  # autocommit
    try:
        conn.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def delta_builds(
    module_engine: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Warehouse]]:
    """Warehouses on one engine, each named by what was built on it:

    * after_4, after_5: deliveries 1-5 each loaded and built incrementally in turn (after_4 a copy
      taken after delivery 4), and their full-refresh copies after_4_refresh, after_5_refresh;
    * together: deliveries 1-3 built, then 4 and 5 loaded before one build (invoice 14, new in 4,
      replaced in 5: twice since the last build), and together_refresh;
    * tampered: deliveries 1-3 built, stored rows of orgs 101, 999 and 303 given 1000 extra
      invoices, then delivery 4 built;
    * moved: after_4 plus DELIVERY_MOVED built, and moved_refresh;
    * moved_twice: after_4 plus DELIVERY_MOVED and DELIVERY_MOVED_AGAIN loaded before one build,
      and moved_twice_refresh.
    """
    root = tmp_path_factory.mktemp(f"deltas_{module_engine}")
    target = root / "dbt"
    with ExitStack() as stack:

        def copy(source: Warehouse, name: str) -> Warehouse:
            return stack.enter_context(copied_warehouse(source, root / name))

        def built(warehouse: Warehouse, *deliveries: Path, full_refresh: bool = False) -> None:
            for delivery in deliveries:
                load(delivery, warehouse)
            code = run_build(warehouse, full_refresh=full_refresh, target_path=target)
            assert code == exit_codes.OK

        made: dict[str, Warehouse] = {}
        chain = stack.enter_context(fresh_warehouse(module_engine, root / "chain"))
        for delivery in (DELIVERY_1, DELIVERY_2, DELIVERY_3):
            built(chain, delivery)
        made["together"] = copy(chain, "together")
        built(made["together"], DELIVERY_4, DELIVERY_5)
        made["tampered"] = copy(chain, "tampered")
        execute(made["tampered"], "update dim_organizations set invoice_count = invoice_count "
                "+ 1000 where organization_id in (101, 999, 303)")
        built(made["tampered"], DELIVERY_4)
        built(chain, DELIVERY_4)
        made["after_4"] = copy(chain, "after_4")
        made["moved"] = copy(chain, "moved")
        built(made["moved"], DELIVERY_MOVED)
        made["moved_twice"] = copy(chain, "moved_twice")
        built(made["moved_twice"], DELIVERY_MOVED, DELIVERY_MOVED_AGAIN)
        built(chain, DELIVERY_5)
        made["after_5"] = chain
        for name in ("after_4", "after_5", "together", "moved", "moved_twice"):
            made[f"{name}_refresh"] = copy(made[name], f"{name}_refresh")
            built(made[f"{name}_refresh"], full_refresh=True)
        yield made


def test_status_change_paid_to_refunded(delta_builds: dict[str, Warehouse]):
    """Inv 3 (org 101, 50 USD, Jan 2) paid -> refunded: by delta, paid 210 - 50, refunded
    10 + 50, balance 200 - 50 - 50; the dates do not move."""
    assert dim_row(delta_builds["after_4"], 101) == figures(
        orphan=False, count=6, paid=3, refunded=2, open_=1, paid_usd=160.0, refunded_usd=60.0,
        balance_usd=100.0, first="2024-01-01", last="2024-01-07", load_id=4,
    )


def test_new_invoice_for_an_existing_organization(delta_builds: dict[str, Warehouse]):
    """Inv 12 (org -202) paid 25 USD at 2023-12-31T23:59:59.999Z: one more invoice, balance
    -20 + 25, and the first invoice day moves back to Dec 31."""
    assert dim_row(delta_builds["after_4"], -202) == figures(
        orphan=False, count=4, paid=3, refunded=1, open_=0, paid_usd=55.0, refunded_usd=50.0,
        balance_usd=5.0, first="2023-12-31", last="2024-01-04", load_id=4,
    )


def test_new_organization(delta_builds: dict[str, Warehouse]):
    """Org 404, new in the export with its first invoice (inv 13: 46 EUR @ 0.92 = 50 USD)."""
    warehouse = delta_builds["after_4"]
    assert dim_row(warehouse, 404) == figures(
        orphan=False, count=1, paid=1, refunded=0, open_=0, paid_usd=50.0, refunded_usd=0.0,
        balance_usd=50.0, first="2024-01-08", last="2024-01-08", load_id=4,
    )
    assert query(warehouse, "select created_date, active_contract_count from dim_organizations "
                 "where organization_id = 404") == [("2024-01-07", 2)]


def test_orphan_whose_organization_arrives_later(delta_builds: dict[str, Warehouse]):
    """Inv 14 (30 USD) of org 505, not exported: an orphan after delivery 4. Delivery 5 exports
    505 and re-sends inv 14 refunded: no longer an orphan, paid 30 -> refunded 30."""
    assert dim_row(delta_builds["after_4"], 505) == figures(
        orphan=True, count=1, paid=1, refunded=0, open_=0, paid_usd=30.0, refunded_usd=0.0,
        balance_usd=30.0, first="2024-01-08", last="2024-01-08", load_id=4,
    )
    warehouse = delta_builds["after_5"]
    assert dim_row(warehouse, 505) == figures(
        orphan=False, count=1, paid=0, refunded=1, open_=0, paid_usd=0.0, refunded_usd=30.0,
        balance_usd=-30.0, first="2024-01-08", last="2024-01-08", load_id=5,
    )
    assert query(warehouse, "select created_date, active_contract_count from dim_organizations "
                 "where organization_id = 505") == [("2024-01-08", 1)]


def test_changed_amount_takes_the_recompute_path(delta_builds: dict[str, Warehouse]):
    """Inv 8 (org 999) re-sent with 158 GBP instead of 79 (@ 0.79: 200 USD): the replaced
    version's amount is not its amount any more, so 999 is aggregated whole again."""
    assert dim_row(delta_builds["after_4"], 999) == figures(
        orphan=False, count=1, paid=1, refunded=0, open_=0, paid_usd=200.0, refunded_usd=0.0,
        balance_usd=200.0, first="2024-01-02", last="2024-01-02", load_id=4,
    )


def test_delta_builds_on_the_stored_row_and_recompute_does_not(
    delta_builds: dict[str, Warehouse],
):
    """White box: 1000 invoices added to three stored rows before delivery 4. Org 101 (a status
    change) is rebuilt by delta, so it keeps them; 999 (a changed amount) is aggregated whole
    again; 303 (nothing new) is not rebuilt."""
    counts = dict(query(delta_builds["tampered"], "select organization_id, invoice_count from "
                        "dim_organizations where organization_id in (101, 999, 303)"))
    assert counts == {101: 1006, 999: 1, 303: 1000}


@pytest.mark.parametrize("name", ["after_4", "after_5", "together"])
@pytest.mark.parametrize("model", MODELS)
def test_deltas_equal_full_refresh(delta_builds: dict[str, Warehouse], name: str, model: str):
    incremental = table(delta_builds[name], model)
    assert incremental
    assert incremental == table(delta_builds[f"{name}_refresh"], model)


def test_invoice_replaced_twice_since_the_last_build(delta_builds: dict[str, Warehouse]):
    """Deliveries 4 and 5 loaded before one build: inv 14's kept version is delivery 4's, which
    no build counted, so every organization is aggregated whole again: the same table as
    building 4 and 5 one by one."""
    assert table(delta_builds["together"], "dim_organizations") == table(
        delta_builds["after_5"], "dim_organizations"
    )


def test_invoice_moved_to_another_organization(delta_builds: dict[str, Warehouse]):
    """Inv 14 moves from orphan 505 (its only invoice) to 303: both are aggregated whole again,
    and 505, neither exported nor invoiced any more, leaves dim_organizations.
    fact_daily_balance does not follow a moved invoice (see its header): not compared."""
    warehouse = delta_builds["moved"]
    assert dim_row(warehouse, 505) is None
    assert dim_row(warehouse, 303) == figures(
        orphan=False, count=1, paid=1, refunded=0, open_=0, paid_usd=30.0, refunded_usd=0.0,
        balance_usd=30.0, first="2024-01-08", last="2024-01-08", load_id=5,
    )
    for model in ("dim_organizations", "fact_invoices"):
        assert table(warehouse, model) == table(delta_builds["moved_refresh"], model), model


def test_invoice_moved_then_replaced_again_before_a_build(delta_builds: dict[str, Warehouse]):
    """Inv 14 moves from 505 to 303, then is refunded at 303, both before one build: its kept
    version (303, paid) is not the one the last build counted (505), so every organization is
    aggregated whole again, and 505 leaves dim_organizations."""
    warehouse = delta_builds["moved_twice"]
    assert dim_row(warehouse, 505) is None
    assert dim_row(warehouse, 303) == figures(
        orphan=False, count=1, paid=0, refunded=1, open_=0, paid_usd=0.0, refunded_usd=30.0,
        balance_usd=-30.0, first="2024-01-08", last="2024-01-08", load_id=6,
    )
    for model in ("dim_organizations", "fact_invoices"):
        assert table(warehouse, model) == table(delta_builds["moved_twice_refresh"], model), model
