"""Bad deliveries are rejected whole.

Exit 2, ``file:line:column: value: reason`` per problem, and the warehouse unchanged to the byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from balancewatch.cli import main
from loaders import load_delivery
from tests.deel_csv import INVOICE_HEADER, csv_text, invoice, organization, write_delivery


@pytest.fixture
def loaded_warehouse(tmp_path: Path, warehouse: Path) -> Path:
    """A warehouse holding a first, good delivery."""
    good = write_delivery(tmp_path / "good", [organization()], [invoice(INVOICE_ID="1")])
    load_delivery(good, warehouse)
    return warehouse


def invoices_file(tmp_path: Path, body: str | bytes, name: str = "invoices.csv") -> Path:
    directory = tmp_path / "bad"
    directory.mkdir(exist_ok=True)
    (directory / name).write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
    return directory


def reject(directory: Path, warehouse: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run the CLI load, assert exit 2 and return the lines it printed to stderr."""
    capsys.readouterr()
    assert main(["load", str(directory), "--warehouse", str(warehouse)]) == 2
    return capsys.readouterr().err.splitlines()


HEADER = ",".join(INVOICE_HEADER)


def one_row(**fields: str) -> str:
    return csv_text(INVOICE_HEADER, [invoice(**{"INVOICE_ID": "2", **fields})])


CASES = {
    "non-integer id": (
        one_row(INVOICE_ID="12a"),
        "invoices.csv:2:INVOICE_ID: '12a': not an integer",
    ),
    "id beyond 64 bits": (
        one_row(TRANSACTION_ID="9223372036854775808"),
        "invoices.csv:2:TRANSACTION_ID: '9223372036854775808': outside the signed 64-bit range",
    ),
    "non-numeric amount": (
        one_row(AMOUNT="12,50"),
        "invoices.csv:2:AMOUNT: '12,50': not a decimal number",
    ),
    "non-numeric rate": (
        one_row(FX_RATE="abc"),
        "invoices.csv:2:FX_RATE: 'abc': not a decimal number",
    ),
    "zero rate (USD = AMOUNT / FX_RATE)": (
        one_row(FX_RATE="0.00000000"),
        "invoices.csv:2:FX_RATE: '0.00000000': must be greater than 0",
    ),
    "negative rate": (
        one_row(FX_RATE="-1.5"),
        "invoices.csv:2:FX_RATE: '-1.5': must be greater than 0",
    ),
    "zero amount": (
        one_row(AMOUNT="0.00"),
        "invoices.csv:2:AMOUNT: '0.00': must be greater than 0",
    ),
    "negative amount": (
        one_row(AMOUNT="-92.00"),
        "invoices.csv:2:AMOUNT: '-92.00': must be greater than 0",
    ),
    "empty required amount": (
        one_row(AMOUNT=""),
        "invoices.csv:2:AMOUNT: '': required value is empty",
    ),
    "unparseable timestamp": (
        one_row(CREATED_AT="2023-01-02 10:00:00"),
        "invoices.csv:2:CREATED_AT: '2023-01-02 10:00:00': "
        "not a UTC timestamp like 2024-01-31T23:59:59.999Z",
    ),
    "impossible date": (
        one_row(CREATED_AT="2023-02-30T10:00:00.000Z"),
        "invoices.csv:2:CREATED_AT: '2023-02-30T10:00:00.000Z': not a real date and time",
    ),
    "missing column": (
        HEADER.replace(",FX_RATE_PAYMENT", "") + "\n",
        "invoices.csv:1:FX_RATE_PAYMENT: required column is missing",
    ),
    "unknown extra column": (HEADER + ",NOTE\n", "invoices.csv:1:15: 'NOTE': unknown column"),
    "too few fields": (
        HEADER + "\n1,2,3\n",
        "invoices.csv:2:ORGANIZATION_ID: expected 14 fields, found 3",
    ),
    "too many fields": (
        one_row().rstrip("\n") + ",extra\n",
        "invoices.csv:2:15: expected 14 fields, found 15",
    ),
    "non-UTF-8 bytes": (
        one_row(PAYMENT_METHOD="caf\udce9").encode("utf-8", "surrogateescape"),
        "invoices.csv:2:72: '0xe9': not valid UTF-8",
    ),
    "empty file": ("", "invoices.csv:1:1: empty file: no header row"),
    "key twice in one file": (
        csv_text(
            INVOICE_HEADER,
            [invoice(INVOICE_ID="7"), invoice(INVOICE_ID="8"), invoice(INVOICE_ID="7")],
        ),
        "invoices.csv:4:INVOICE_ID: '7': "
        "duplicate INVOICE_ID in this delivery (first at invoices.csv:2)",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_rejects_with_message_and_leaves_warehouse_byte_identical(
    case: str, tmp_path: Path, loaded_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body, expected = CASES[case]
    before = loaded_warehouse.read_bytes()
    err = reject(invoices_file(tmp_path, body), loaded_warehouse, capsys)
    assert err[0] == expected
    assert err[-1].startswith("delivery rejected: 1 problem(s); the warehouse was not changed")
    assert loaded_warehouse.read_bytes() == before


@pytest.mark.parametrize("case", ["non-integer id", "empty file", "key twice in one file"])
def test_rejected_first_delivery_creates_no_warehouse(
    case: str, tmp_path: Path, warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reject(invoices_file(tmp_path, CASES[case][0]), warehouse, capsys)
    assert not warehouse.exists()
    assert list(warehouse.parent.iterdir()) == []


def test_key_repeated_across_two_files_of_one_delivery(
    tmp_path: Path, loaded_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = invoices_file(
        tmp_path, csv_text(INVOICE_HEADER, [invoice(INVOICE_ID="5")]), name="invoices_a.csv"
    )
    invoices_file(
        tmp_path,
        csv_text(INVOICE_HEADER, [invoice(INVOICE_ID="6"), invoice(INVOICE_ID="5")]),
        name="invoices_b.csv",
    )
    before = loaded_warehouse.read_bytes()
    err = reject(directory, loaded_warehouse, capsys)
    assert err[0] == (
        "invoices_b.csv:3:INVOICE_ID: '5': duplicate INVOICE_ID in this delivery "
        "(first at invoices_a.csv:2)"
    )
    assert loaded_warehouse.read_bytes() == before


def test_key_already_in_warehouse_is_an_update_not_a_duplicate(
    tmp_path: Path, loaded_warehouse: Path
) -> None:
    directory = invoices_file(tmp_path, one_row(INVOICE_ID="1", STATUS="refunded"))
    report = load_delivery(directory, loaded_warehouse)
    assert report.tables["invoices"].rows_updated == 1


def test_failure_in_second_file_leaves_nothing_of_the_first(
    tmp_path: Path, loaded_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_delivery(
        tmp_path / "bad",
        [organization(ORGANIZATION_ID="99")],
        [invoice(INVOICE_ID="50"), invoice(INVOICE_ID="51", FX_RATE="n/a")],
    )
    before = loaded_warehouse.read_bytes()
    err = reject(directory, loaded_warehouse, capsys)
    assert err[0] == "invoices.csv:3:FX_RATE: 'n/a': not a decimal number"
    assert loaded_warehouse.read_bytes() == before


def test_every_bad_value_of_a_row_is_reported(
    tmp_path: Path, loaded_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = reject(
        invoices_file(tmp_path, one_row(AMOUNT="x", FX_RATE="y")), loaded_warehouse, capsys
    )
    assert err[:2] == [
        "invoices.csv:2:AMOUNT: 'x': not a decimal number",
        "invoices.csv:2:FX_RATE: 'y': not a decimal number",
    ]


def test_first_twenty_problems_then_a_count(
    tmp_path: Path, loaded_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = csv_text(INVOICE_HEADER, [invoice(INVOICE_ID=str(i), AMOUNT="bad") for i in range(25)])
    err = reject(invoices_file(tmp_path, body), loaded_warehouse, capsys)
    assert len([line for line in err if "AMOUNT" in line]) == 20
    assert err[19] == "invoices.csv:21:AMOUNT: 'bad': not a decimal number"
    assert err[20] == "... and 5 more problem(s)"
    assert err[21] == "delivery rejected: 25 problem(s); the warehouse was not changed"


def test_missing_directory_is_a_usage_error(
    tmp_path: Path, warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = reject(tmp_path / "nope", warehouse, capsys)
    assert err[0] == f"{tmp_path / 'nope'}:0:-: not a directory"
    assert not warehouse.exists()
