"""What a monitor run checks before it writes anything: the warehouse and the arguments.

Raises :class:`BadInput` (exit 2, nothing written) for a missing warehouse or table and a bad
``--since``; otherwise returns what the run needs to plan: as-of date, watermark, first day.
"""

from __future__ import annotations

from datetime import date

from balancewatch.warehouse import Warehouse, WarehouseError, database_errors
from monitors.checks.scope import latest_invoice_day
from monitors.findings import watermark

REQUIRED_TABLES = ("stg_invoices", "stg_organizations", "fact_daily_balance")


class BadInput(Exception):
    """A problem with the arguments or the warehouse; exit 2, nothing written."""


def inspect_warehouse(warehouse: Warehouse) -> tuple[str | None, str | None, str | None]:
    """(as-of date, watermark, first evaluated day) read without writing; raises BadInput on a
    missing file or table."""
    try:
        exists = warehouse.exists()
    except WarehouseError as exc:
        raise BadInput(str(exc)) from exc
    if not exists:
        raise BadInput(
            f"warehouse not found: {warehouse} (run `balancewatch load` and "
            "`balancewatch build` first; SQLite would silently create an empty file)"
        )
    try:
        conn = warehouse.connect(read_only=True)
    except (*database_errors(), WarehouseError) as exc:
        raise BadInput(f"cannot read the warehouse {warehouse}: {exc}") from exc
    try:
        names = conn.table_names()
        missing = [t for t in REQUIRED_TABLES if t not in names]
        if missing:
            raise BadInput(
                f"the warehouse {warehouse} has no {', '.join(missing)}: "
                "run `balancewatch build` first"
            )
        as_of = latest_invoice_day(conn, "monitor_scope" in names)
        state = "monitor_state" in names
        last = watermark.last_evaluated(conn) if state else None
        first = watermark.first_evaluated(conn) if state else None
    except database_errors() as exc:
        raise BadInput(f"cannot read the warehouse {warehouse}: {exc}") from exc
    finally:
        conn.close()
    return as_of, last, first


def check_since(since: str | None, as_of: str | None) -> None:
    """Refuse a ``--since`` that is not a day, or is after the as-of date."""
    if since is None:
        return
    if as_of is not None and since > as_of:
        raise BadInput(f"--since {since} is after the as-of date {as_of} (the latest invoice "
                       "day): there is nothing to evaluate")
    try:
        date.fromisoformat(since)
    except ValueError:
        raise BadInput(f"--since must be a day YYYY-MM-DD, got {since!r}") from None
    if len(since) != 10:
        raise BadInput(f"--since must be a day YYYY-MM-DD, got {since!r}")
