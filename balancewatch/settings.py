"""Where things are: the repository's folders and the one warehouse setting."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = REPO_ROOT / "dbt"
GX_DIR = REPO_ROOT / "gx"
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
DEFAULT_WAREHOUSE = REPO_ROOT / "warehouse" / "balancewatch.db"
WAREHOUSE_ENV = "BALANCEWATCH_WAREHOUSE"


def resolve_warehouse(value: str | os.PathLike[str] | None) -> Path:
    """The warehouse as an absolute path: the argument, else the environment, else the default."""
    chosen = value or os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE
    return Path(chosen).expanduser().resolve()


def export_warehouse(warehouse: Path) -> None:
    """Make the warehouse path visible to dbt's profile and GX's data source (``${...}``)."""
    os.environ[WAREHOUSE_ENV] = str(warehouse)
