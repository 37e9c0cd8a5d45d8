"""Helpers for the dbt tests: load a fixture delivery, run the build stage, read tables back.

No tests here. The dbt tests build small hand-written deliveries (tests/fixtures/dbt_*/, in the
export's CSV format) with the real loader and the real build stage, each scenario in a fresh
SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from balancewatch.build import build, docs_generate
from balancewatch.settings import WAREHOUSE_ENV
from balancewatch.warehouse import Warehouse, parse
from loaders import load_delivery

FIXTURES = Path(__file__).parent / "fixtures"
DELIVERY_1 = FIXTURES / "dbt_delivery1"
DELIVERY_2 = FIXTURES / "dbt_delivery2"
DELIVERY_3 = FIXTURES / "dbt_delivery3"  # organizations only: delivers orphans 999 and 888
DELIVERY_4 = FIXTURES / "dbt_delivery4"  # dim_organizations' delta and recompute cases
DELIVERY_5 = FIXTURES / "dbt_delivery5"  # orphan 505's organization, and its invoice refunded
DELIVERY_MOVED = FIXTURES / "dbt_delivery_moved"  # invoice 14 moves from orphan 505 to 303
DELIVERY_MOVED_AGAIN = FIXTURES / "dbt_delivery_moved_again"  # ... and is refunded there
MODELS = (
    "stg_organizations",
    "stg_invoices",
    "fact_invoices",
    "dim_organizations",
    "fact_daily_balance",
)


@contextmanager
def _warehouse_env() -> Iterator[None]:
    """The build stage exports the warehouse path; keep it from leaking into other tests."""
    saved = os.environ.get(WAREHOUSE_ENV)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(WAREHOUSE_ENV, None)
        else:
            os.environ[WAREHOUSE_ENV] = saved


def load(delivery: Path, warehouse: Path | Warehouse) -> None:
    """Load a delivery directory with the project's loader."""
    load_delivery(delivery, warehouse, show_progress=False)


def run_build(
    warehouse: Path | Warehouse, *, full_refresh: bool = False, target_path: Path | None = None
) -> int:
    """The build stage on ``warehouse``, with dbt's artifacts in ``target_path`` (default: beside
    a SQLite file; never dbt/target)."""
    if target_path is None:
        assert isinstance(warehouse, Path), "a PostgreSQL warehouse needs a target_path"
        target_path = warehouse.parent / "dbt"
    with _warehouse_env():
        return build(warehouse, full_refresh=full_refresh, target_path=target_path)


def run_docs_generate(warehouse: Path, target_path: Path) -> int:
    """``dbt docs generate`` on a built warehouse."""
    with _warehouse_env():
        return docs_generate(warehouse, target_path=target_path)


def query(warehouse: Path | Warehouse, sql: str, params: tuple = ()) -> list[tuple]:
    """All rows of a query (a SQLite path, or a warehouse on either engine)."""
    conn = parse(warehouse).connect()
    try:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def table(warehouse: Path | Warehouse, name: str) -> list[tuple]:
    """Every row of a model, in a stable order (all columns, sorted)."""
    return sorted(query(warehouse, f"select * from {name}"), key=repr)  # names are constants


def daily_balance(warehouse: Path | Warehouse) -> dict[tuple[int, str], tuple]:
    """fact_daily_balance as {(organization_id, balance_date): (change, balance, previous)}."""
    rows = query(
        warehouse,
        "select organization_id, balance_date, daily_change_usd, balance_usd, "
        "previous_balance_usd from fact_daily_balance",
    )
    return {(org, day): (change, balance, previous) for org, day, change, balance, previous in rows}
