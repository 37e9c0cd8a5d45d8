"""Where things are: the repository's folders and the one warehouse setting (a SQLite file or
a PostgreSQL URL; see :mod:`balancewatch.warehouse`)."""

from __future__ import annotations

import os
from pathlib import Path

from balancewatch.warehouse import WAREHOUSE_ENV, Warehouse, export, parse

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = REPO_ROOT / "dbt"
GX_DIR = REPO_ROOT / "gx"
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
DEFAULT_WAREHOUSE = REPO_ROOT / "warehouse" / "balancewatch.db"


def resolve_warehouse(value: str | os.PathLike[str] | Warehouse | None) -> Warehouse:
    """The warehouse (a SQLite file or a PostgreSQL URL): the argument, else the environment,
    else the default file."""
    return parse(value or os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE)


def export_warehouse(warehouse: str | os.PathLike[str] | Warehouse) -> Warehouse:
    """Make the warehouse visible to dbt's profile and GX's data source (``${...}``)."""
    chosen = parse(warehouse)
    export(chosen)
    return chosen
