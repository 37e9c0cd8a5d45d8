"""Valid deliveries load: typed, upserted, skipped when already loaded, CSV variants accepted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from balancewatch.cli import main
from loaders import load_delivery
from tests.deel_csv import (
    INVOICE_HEADER,
    ORGANIZATION_HEADER,
    csv_text,
    invoice,
    organization,
    write_delivery,
)


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(warehouse) as conn:
        return conn.execute(sql).fetchall()


def test_loads_typed_rows(tmp_path: Path, warehouse: Path) -> None:
    write_delivery(
        tmp_path / "d1",
        [
            organization(
                ORGANIZATION_ID="-9223372036854775808", FIRST_PAYMENT_DATE="", LAST_PAYMENT_DATE=""
            )
        ],
        [
            invoice(
                INVOICE_ID="9223372036854775807",
                PAYMENT_AMOUNT="",
                PAYMENT_CURRENCY="",
                PAYMENT_METHOD="",
                FX_RATE_PAYMENT="",
                STATUS="open",
            )
        ],
    )
    load_delivery(tmp_path / "d1", warehouse)
    assert rows(
        warehouse,
        "select organization_id, first_payment_date, typeof(organization_id), "
        "count_total_contracts_active, created_date from organizations",
    ) == [(-9223372036854775808, None, "integer", 2, "2022-02-14T22:09:20.83Z")]
    assert rows(
        warehouse,
        "select invoice_id, parent_invoice_id, amount, typeof(amount), fx_rate, "
        "payment_amount, payment_currency, created_at from invoices",
    ) == [
        (
            9223372036854775807,
            8817975702393619368,
            92.0,
            "real",
            0.92,
            None,
            None,
            "2023-01-02T10:00:00.000Z",
        )
    ]


def test_semantic_oddities_are_loaded_for_gx_to_judge(tmp_path: Path, warehouse: Path) -> None:
    write_delivery(
        tmp_path / "d1",
        [organization()],
        [
            invoice(INVOICE_ID="1", STATUS="mystery"),
            invoice(INVOICE_ID="2", CURRENCY="XYZ"),
            invoice(INVOICE_ID="4", ORGANIZATION_ID="424242"),  # orphan
        ],
    )
    report = load_delivery(tmp_path / "d1", warehouse)
    assert report.tables["invoices"].rows_inserted == 3
    assert rows(
        warehouse,
        "select invoice_id, status, currency, organization_id from invoices order by invoice_id",
    ) == [
        (1, "mystery", "EUR", -4611686018427387904),
        (2, "paid", "XYZ", -4611686018427387904),
        (4, "paid", "EUR", 424242),
    ]


def test_second_load_of_same_files_changes_nothing_and_says_so(
    tmp_path: Path, warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_delivery(tmp_path / "d1", [organization()], [invoice()])
    assert main(["load", str(tmp_path / "d1"), "--warehouse", str(warehouse)]) == 0
    before = warehouse.read_bytes()
    capsys.readouterr()
    assert main(["load", str(tmp_path / "d1"), "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "nothing to load: every file of this delivery was loaded before" in out
    assert "invoices: nothing new (1 file(s) already loaded)" in out
    assert warehouse.read_bytes() == before


def test_file_with_already_loaded_content_is_skipped_under_any_name(
    tmp_path: Path, warehouse: Path
) -> None:
    write_delivery(tmp_path / "d1", [organization()], [invoice(STATUS="open")])
    load_delivery(tmp_path / "d1", warehouse)
    later = write_delivery(tmp_path / "d2", [], [invoice(STATUS="paid")])
    load_delivery(later, warehouse)
    replay = tmp_path / "d3"
    replay.mkdir()
    (replay / "invoices_2023-01-02.csv").write_bytes(
        (tmp_path / "d1" / "invoices.csv").read_bytes()
    )
    report = load_delivery(replay, warehouse)
    assert not report.changed
    assert report.skipped == ["invoices_2023-01-02.csv"]
    assert rows(warehouse, "select status from invoices") == [("paid",)]


def write_invoices(directory: Path, text: str | bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    (directory / "invoices.csv").write_bytes(data)
    return directory


@pytest.mark.parametrize(
    "variant",
    ["bom", "crlf", "reordered", "quoted"],
)
def test_valid_csv_variants_load(tmp_path: Path, warehouse: Path, variant: str) -> None:
    row = invoice(PAYMENT_METHOD="card, then wire\nsecond line" if variant == "quoted" else "card")
    header = list(INVOICE_HEADER)
    if variant == "reordered":
        header.reverse()
    text = csv_text(header, [row], newline="\r\n" if variant == "crlf" else "\n")
    if variant == "bom":
        text = "\ufeff" + text
    load_delivery(write_invoices(tmp_path / "d", text), warehouse)
    assert rows(
        warehouse, "select invoice_id, payment_method, amount, created_at from invoices"
    ) == [(1001, row["PAYMENT_METHOD"], 92.0, "2023-01-02T10:00:00.000Z")]


def test_quoted_newline_does_not_shift_line_numbers_of_later_errors(
    tmp_path: Path, warehouse: Path
) -> None:
    from loaders import DeliveryRejected

    text = csv_text(
        INVOICE_HEADER,
        [
            invoice(INVOICE_ID="1", PAYMENT_METHOD="two\nlines"),
            invoice(INVOICE_ID="2", AMOUNT="x"),
        ],
    )
    with pytest.raises(DeliveryRejected) as err:
        load_delivery(write_invoices(tmp_path / "d", text), warehouse)
    assert str(err.value.problems[0]) == "invoices.csv:4:AMOUNT: 'x': not a decimal number"


def test_header_only_files_load_zero_rows(tmp_path: Path, warehouse: Path) -> None:
    write_delivery(tmp_path / "d")
    report = load_delivery(tmp_path / "d", warehouse)
    assert report.changed
    assert [(s.table, s.rows_read) for s in report.tables.values()] == [
        ("organizations", 0),
        ("invoices", 0),
    ]
    assert rows(warehouse, "select count(*) from invoices") == [(0,)]


def test_non_csv_files_are_ignored_but_unknown_csv_is_rejected(
    tmp_path: Path, warehouse: Path
) -> None:
    from loaders import DeliveryRejected

    delivery = write_delivery(tmp_path / "d", [organization()], [invoice()])
    (delivery / "README.md").write_text("notes")
    load_delivery(delivery, warehouse)
    (delivery / "payments.csv").write_text("A,B\n1,2\n")
    with pytest.raises(DeliveryRejected, match="payments.csv:0:-: not an organizations"):
        load_delivery(delivery, warehouse)


def test_organizations_header_matches_contract() -> None:
    from loaders.schema import INVOICES, ORGANIZATIONS

    assert ORGANIZATIONS.headers == ORGANIZATION_HEADER
    assert INVOICES.headers == INVOICE_HEADER


def test_rows_the_fast_path_declines_are_typed_by_the_careful_path(
    tmp_path: Path, warehouse: Path
) -> None:
    delivery = write_delivery(
        tmp_path / "d",
        [],
        [
            invoice(INVOICE_ID="1", PAYMENT_METHOD="wire\x1fsplit"),  # the fast path's separator
            invoice(INVOICE_ID="2", AMOUNT="1" + "0" * 40 + ".00"),  # longer than the fast regex
        ],
    )
    load_delivery(delivery, warehouse)
    assert rows(
        warehouse, "select invoice_id, payment_method, amount from invoices order by 1"
    ) == [
        (1, "wire\x1fsplit", 92.0),
        (2, "bank_transfer", 1e40),
    ]
