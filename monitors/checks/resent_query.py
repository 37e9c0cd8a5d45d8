"""Re-sent invoices (issue 23, item 2): the rule as one SQL query, and what it says.

Invoices with the same organization, amount, currency, ``created_at`` and transaction id (both
without one counts as the same) under different ``INVOICE_ID``s are one invoice **re-sent**: an
upstream job that sent a delivery twice with fresh ids, whose money every balance then counts
twice. Every copy after the first is re-sent. The query reads the days the checked rows
(``{batch}``) bring first-time invoices to (``_previous_load_id`` NULL: a status change keeps its
id), whole (the same ``created_at`` is the same day), so a daily run reads its new days, not the
table: one GROUP BY per day, the same SQL on every engine.

One row per day: the re-sent copies, their USD, the largest group's newest and oldest ids, and
the number of such days on every row. No GX here (the console and Slack import it).
"""

from __future__ import annotations

from typing import Any

RESENT_QUERY = """with days as (
    select distinct created_date from {batch} where _previous_load_id is null
), copies as (
    select created_date, count(*) - 1 as resent, (count(*) - 1) * max(amount_usd) as resent_usd,
    max(invoice_id) as example_invoice_id, min(invoice_id) as original_invoice_id
    from stg_invoices where created_date in (select created_date from days)
    group by created_date, organization_id, created_at, amount, currency, transaction_id
    having count(*) > 1
), ranked as (
    select created_date, sum(resent) over (partition by created_date) as resent,
    sum(resent_usd) over (partition by created_date) as resent_usd,
    example_invoice_id, original_invoice_id,
    row_number() over (partition by created_date order by resent_usd desc,
                       example_invoice_id) as rank_in_day
    from copies
)
select created_date, resent, resent_usd, example_invoice_id, original_invoice_id,
count(*) over () as flagged_days
from ranked where rank_in_day = 1
order by resent desc, created_date"""


def flagged_row(row: dict[str, Any]) -> dict[str, Any]:
    """One unexpected row as plain JSON values."""
    return {
        "day": str(row["created_date"]),
        "resent": int(row["resent"]),
        "resent_usd": float(row["resent_usd"] or 0.0),
        "example_invoice_id": int(row["example_invoice_id"]),
        "original_invoice_id": int(row["original_invoice_id"]),
    }


def describe_resent(row: dict[str, Any]) -> str:
    """``2024-05-02: 64 invoice(s) re-sent under new INVOICE_IDs ($81,200 counted twice), e.g.
    123 repeats 456``."""
    return (f"{row['day']}: {row['resent']:,} invoice(s) re-sent under new INVOICE_IDs "
            f"(${row['resent_usd']:,.2f} counted twice in the balances), e.g. "
            f"{row['example_invoice_id']} repeats {row['original_invoice_id']}")
