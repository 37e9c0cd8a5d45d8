"""Where things are: the repository's folders and the one warehouse setting (a SQLite file or
a PostgreSQL URL; see :mod:`balancewatch.warehouse`)."""

from __future__ import annotations

import os
from pathlib import Path

from balancewatch.warehouse import SQLITE, WAREHOUSE_ENV, Warehouse, export, parse

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = REPO_ROOT / "dbt"
GX_DIR = REPO_ROOT / "gx"
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
DEFAULT_WAREHOUSE = REPO_ROOT / "warehouse" / "balancewatch.db"
WAREHOUSE_DEFAULT_HELP = "default $BALANCEWATCH_WAREHOUSE or warehouse/balancewatch.db"


def resolve_warehouse(value: str | os.PathLike[str] | Warehouse | None) -> Warehouse:
    """The warehouse (a SQLite file or a PostgreSQL URL): the argument, else the environment,
    else the default file."""
    return parse(value or os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE)


def export_warehouse(warehouse: str | os.PathLike[str] | Warehouse) -> Warehouse:
    """Make the warehouse visible to dbt's profile and GX's data source (``${...}``)."""
    chosen = parse(warehouse)
    export(chosen)
    return chosen


DOCS_DIR_ENV = "BALANCEWATCH_DOCS_DIR"  # a PostgreSQL warehouse's site (SQLite: beside the file)
SITE_ROOT_ENV = "BALANCEWATCH_SITE_ROOT"  # set per run: what gx/great_expectations.yml reads


def docs_dir_for(warehouse: Warehouse) -> Path:
    """Where a warehouse's validation results and Data Docs site live: beside a SQLite file
    (``warehouse/balancewatch.db`` -> ``warehouse/balancewatch-docs/``); for PostgreSQL
    ``$BALANCEWATCH_DOCS_DIR``, else ``warehouse/<host>-<port>-<database>-docs/`` here."""
    if warehouse.kind == SQLITE and warehouse.path is not None:
        return warehouse.path.with_name(f"{warehouse.path.stem}-docs")
    name = f"{warehouse.host}-{warehouse.port}-{warehouse.dbname}-docs"
    default = REPO_ROOT / "warehouse" / name
    return Path(os.environ.get(DOCS_DIR_ENV) or default).expanduser().resolve()


def logs_dir_for(warehouse: Warehouse) -> Path:
    """Where a warehouse's run logs go: ``logs/`` in its docs folder (beside, not in, the site)."""
    return docs_dir_for(warehouse) / "logs"


def export_site_root(warehouse: Warehouse) -> Path:
    """Point GX's validation store and Data Docs site at this warehouse's folder."""
    root = docs_dir_for(warehouse)
    os.environ[SITE_ROOT_ENV] = str(root)
    return root
