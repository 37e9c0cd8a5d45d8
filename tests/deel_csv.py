"""Write small Deel-format deliveries for tests: valid defaults, any field overridable."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

HASH_NULL = "8817975702393619368"

ORGANIZATION_HEADER = (
    "ORGANIZATION_ID",
    "FIRST_PAYMENT_DATE",
    "LAST_PAYMENT_DATE",
    "LEGAL_ENTITY_COUNTRY_CODE",
    "COUNT_TOTAL_CONTRACTS_ACTIVE",
    "CREATED_DATE",
)
INVOICE_HEADER = (
    "INVOICE_ID",
    "PARENT_INVOICE_ID",
    "TRANSACTION_ID",
    "ORGANIZATION_ID",
    "TYPE",
    "STATUS",
    "CURRENCY",
    "PAYMENT_CURRENCY",
    "PAYMENT_METHOD",
    "AMOUNT",
    "PAYMENT_AMOUNT",
    "FX_RATE",
    "FX_RATE_PAYMENT",
    "CREATED_AT",
)


def organization(**fields: str) -> dict[str, str]:
    """A valid organizations row; keyword arguments override columns by header name."""
    row = {
        "ORGANIZATION_ID": "-4611686018427387904",
        "FIRST_PAYMENT_DATE": "2023-01-02",
        "LAST_PAYMENT_DATE": "2023-03-01",
        "LEGAL_ENTITY_COUNTRY_CODE": "-3203725402387311000",
        "COUNT_TOTAL_CONTRACTS_ACTIVE": "2",
        "CREATED_DATE": "2022-02-14T22:09:20.83Z",
    }
    row.update(fields)
    return row


def invoice(**fields: str) -> dict[str, str]:
    """A valid paid EUR invoices row; keyword arguments override columns by header name."""
    row = {
        "INVOICE_ID": "1001",
        "PARENT_INVOICE_ID": HASH_NULL,
        "TRANSACTION_ID": "-77",
        "ORGANIZATION_ID": "-4611686018427387904",
        "TYPE": "5551234",
        "STATUS": "paid",
        "CURRENCY": "EUR",
        "PAYMENT_CURRENCY": "EUR",
        "PAYMENT_METHOD": "bank_transfer",
        "AMOUNT": "92.00",
        "PAYMENT_AMOUNT": "92",
        "FX_RATE": "0.92000000",
        "FX_RATE_PAYMENT": "0.92000000",
        "CREATED_AT": "2023-01-02T10:00:00.000Z",
    }
    row.update(fields)
    return row


def _quote(value: str) -> str:
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(
    header: Iterable[str], rows: Iterable[Mapping[str, str]], *, newline: str = "\n"
) -> str:
    """CSV text in the export's style (minimal quoting), columns in ``header`` order."""
    header = list(header)
    lines = [",".join(header)]
    lines += [",".join(_quote(row.get(col, "")) for col in header) for row in rows]
    return newline.join(lines) + newline


def write_delivery(
    directory: Path,
    organizations: Iterable[Mapping[str, str]] = (),
    invoices: Iterable[Mapping[str, str]] = (),
) -> Path:
    """A delivery directory with one organizations.csv and one invoices.csv."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "organizations.csv").write_text(
        csv_text(ORGANIZATION_HEADER, organizations), encoding="utf-8"
    )
    (directory / "invoices.csv").write_text(csv_text(INVOICE_HEADER, invoices), encoding="utf-8")
    return directory
