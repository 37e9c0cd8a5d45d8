"""An incremental build's dbt tests read only the rows it rebuilt, and dbt's parse is not repeated:
the scope comes from ``build_log`` when the tests run, not from a --vars value that would change
every day and invalidate dbt's partial-parse cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from balancewatch import exit_codes
from tests.test_dbt_helpers import load, run_build, table
from tests.test_dbt_models import DELIVERY_1, DELIVERY_2

TEST_SQL = "not_null_stg_invoices_invoice_id.sql"


def compiled_test(target: Path) -> str:
    [path] = (target / "compiled").rglob(TEST_SQL)
    return path.read_text()


def test_second_build_tests_new_rows_only_without_parsing_again(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.db"
    target = tmp_path / "dbt"  # run_build's dbt target folder
    load(DELIVERY_1, warehouse)
    assert run_build(warehouse) == exit_codes.OK
    assert "_load_id >" not in compiled_test(target)  # first build: whole tables
    parsed_before = (target / "logs" / "dbt.log").read_text().count("skipping parsing")
    load(DELIVERY_2, warehouse)
    assert run_build(warehouse) == exit_codes.OK
    assert 'where _load_id > 1' in compiled_test(target)  # only load 2's rows
    log = (target / "logs" / "dbt.log").read_text()
    assert log.count("Partial parsing enabled, no changes found, skipping parsing") == (
        parsed_before + 1)
    assert run_build(warehouse, full_refresh=True) == exit_codes.OK
    assert "_load_id >" not in compiled_test(target)  # a full refresh tests every row


def test_a_warehouse_built_by_an_older_release_is_rebuilt_once(tmp_path: Path, capsys) -> None:
    warehouse = tmp_path / "warehouse.db"
    load(DELIVERY_1, warehouse)
    assert run_build(warehouse) == exit_codes.OK
    fresh = table(warehouse, "dim_organizations")
    with sqlite3.connect(warehouse) as conn:  # as the previous release built them
        conn.execute("alter table dim_organizations drop column _balance_micros")
        conn.execute("alter table stg_invoices drop column _previous_amount_usd")
    capsys.readouterr()
    load(DELIVERY_2, warehouse)
    assert run_build(warehouse) == exit_codes.OK
    assert ("build: stg_invoices, dim_organizations predate this release's columns: rebuilding "
            "every model from scratch once") in capsys.readouterr().out
    assert table(warehouse, "dim_organizations") != fresh  # delivery 2 is in
    assert run_build(warehouse) == exit_codes.OK  # and the next build is incremental again
    assert "predate" not in capsys.readouterr().out
