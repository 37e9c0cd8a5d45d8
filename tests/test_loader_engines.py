"""The loader's contract on every engine: the same upsert, skip-if-loaded and rejections.

On PostgreSQL the fast path is COPY into a staging table plus one ``insert ... on conflict``; on
SQLite it is ``executemany``; on Spark, staged parquet merged by ``insert overwrite``.
"The warehouse was not changed" is compared as table contents (every row of every table), which
on PostgreSQL proves the transaction was rolled back and on Spark that nothing was merged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from balancewatch.cli import main
from balancewatch.warehouse import Warehouse
from loaders import load_delivery
from tests.conftest import fresh_warehouse
from tests.deel_csv import INVOICE_HEADER, csv_text, invoice, organization, write_delivery
from tests.test_loader_rejects import CASES, invoices_file

pytestmark = pytest.mark.spark


def rows(warehouse: Warehouse, sql: str) -> list[tuple]:
    conn = warehouse.connect()
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def contents(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    conn = warehouse.connect()
    try:
        tables = sorted(t for t in conn.table_names() if not t.startswith("sqlite_autoindex"))
        return {
            t: sorted(map(tuple, conn.execute(f"select * from {t}").fetchall()), key=repr)
            for t in tables
        }
    finally:
        conn.close()


@pytest.fixture(scope="module")
def loaded(module_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """A warehouse holding a first, good delivery, shared by the module's rejection tests (each
    checks that its rejected delivery left every table as it found it)."""
    root = tmp_path_factory.mktemp(f"loaded-{module_engine}")
    with fresh_warehouse(module_engine, root) as warehouse:
        good = write_delivery(root / "good", [organization()], [invoice(INVOICE_ID="1")])
        load_delivery(good, warehouse)
        yield warehouse


def reject(directory: Path, warehouse: Warehouse, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert main(["load", str(directory), "--warehouse", warehouse.location()]) == 2
    return capsys.readouterr().err.splitlines()


def test_later_delivery_replaces_rows_by_key_and_reload_is_skipped(
    tmp_path: Path, engine_warehouse: Warehouse
) -> None:
    write_delivery(
        tmp_path / "d1",
        [organization()],
        [invoice(INVOICE_ID="1", STATUS="open"), invoice(INVOICE_ID="2")],
    )
    write_delivery(
        tmp_path / "d2", [], [invoice(INVOICE_ID="1", STATUS="paid"), invoice(INVOICE_ID="3")]
    )
    load_delivery(tmp_path / "d1", engine_warehouse)
    report = load_delivery(tmp_path / "d2", engine_warehouse)
    summary = report.tables["invoices"]
    assert (summary.rows_read, summary.rows_inserted, summary.rows_updated) == (2, 1, 1)
    invoices = "select invoice_id, status, _load_id from invoices order by 1"
    assert rows(engine_warehouse, invoices) == [
        (1, "paid", 2),
        (2, "paid", 1),
        (3, "paid", 2),
    ]
    assert rows(
        engine_warehouse,
        "select load_id, file_name, rows_read, rows_inserted, rows_updated "
        "from load_log order by file_id",
    ) == [
        (1, "organizations.csv", 1, 1, 0),
        (1, "invoices.csv", 2, 2, 0),
        (2, "organizations.csv", 0, 0, 0),
        (2, "invoices.csv", 2, 1, 1),
    ]
    before = contents(engine_warehouse)
    again = load_delivery(tmp_path / "d2", engine_warehouse)
    assert not again.changed and again.skipped == ["organizations.csv", "invoices.csv"]
    assert contents(engine_warehouse) == before


def test_replaced_invoice_keeps_its_previous_version(
    tmp_path: Path, engine_warehouse: Warehouse
) -> None:
    """kept_on_replace: the version a later load replaced (organization, status, amount, FX rate,
    created_at, and its load), full precision on both engines; NULL for a row never replaced."""
    write_delivery(tmp_path / "d1", [organization()], [
        invoice(INVOICE_ID="1", STATUS="open", AMOUNT="1234.56789", FX_RATE="0.91234567"),
        invoice(INVOICE_ID="2"),
    ])
    write_delivery(tmp_path / "d2", [], [invoice(
        INVOICE_ID="1", ORGANIZATION_ID="77", STATUS="paid", AMOUNT="10",
        FX_RATE="1.00000000", CREATED_AT="2023-02-03T00:00:00.000Z",
    )])
    load_delivery(tmp_path / "d1", engine_warehouse)
    load_delivery(tmp_path / "d2", engine_warehouse)
    assert rows(
        engine_warehouse,
        "select invoice_id, _previous_organization_id, _previous_status, _previous_amount, "
        "_previous_fx_rate, _previous_created_at, _previous_load_id from invoices order by 1",
    ) == [
        (1, -4611686018427387904, "open", 1234.56789, 0.91234567, "2023-01-02T10:00:00.000Z", 1),
        (2, None, None, None, None, None, None),
    ]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_rejects_with_the_same_message_and_leaves_tables_unchanged(
    case: str, tmp_path: Path, loaded: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    body, expected = CASES[case]
    before = contents(loaded)
    err = reject(invoices_file(tmp_path, body), loaded, capsys)
    assert err[0] == expected
    assert err[-1].startswith("delivery rejected: 1 problem(s); the warehouse was not changed")
    assert contents(loaded) == before


def test_key_repeated_across_two_files_of_one_delivery(
    tmp_path: Path, loaded: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = invoices_file(
        tmp_path, csv_text(INVOICE_HEADER, [invoice(INVOICE_ID="5")]), name="invoices_a.csv"
    )
    invoices_file(
        tmp_path,
        csv_text(INVOICE_HEADER, [invoice(INVOICE_ID="6"), invoice(INVOICE_ID="5")]),
        name="invoices_b.csv",
    )
    before = contents(loaded)
    err = reject(directory, loaded, capsys)
    assert err[0] == (
        "invoices_b.csv:3:INVOICE_ID: '5': duplicate INVOICE_ID in this delivery "
        "(first at invoices_a.csv:2)"
    )
    assert contents(loaded) == before


@pytest.mark.parametrize("case", ["non-integer id", "key twice in one file"])
def test_rejected_first_delivery_leaves_no_warehouse(
    case: str, tmp_path: Path, engine_warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    err = reject(invoices_file(tmp_path, CASES[case][0]), engine_warehouse, capsys)
    assert err[0] == CASES[case][1]
    assert not engine_warehouse.exists()
