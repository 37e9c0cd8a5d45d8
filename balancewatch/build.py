"""The build stage: run the dbt project (seeds, models and their tests) on the warehouse.

dbt runs in this process through its programmatic runner, with the project and profile of this
repository (``dbt/``) whatever the working directory. dbt prints its own progress and, on failure,
its own error messages; these functions add one closing line and return an exit status.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from balancewatch import exit_codes
from balancewatch.settings import DBT_DIR, export_warehouse
from balancewatch.warehouse import DBT_TARGETS, Warehouse, parse

RAW_TABLES = ("organizations", "invoices")
WarehouseSetting = str | os.PathLike[str] | Warehouse


def missing_raw_tables(warehouse: WarehouseSetting) -> list[str]:
    """The raw tables the loader should have created in ``warehouse`` but did not."""
    target = parse(warehouse)
    if not target.exists():
        return list(RAW_TABLES)
    conn = target.connect(read_only=True)
    try:
        present = conn.table_names()
    finally:
        conn.close()
    return [table for table in RAW_TABLES if table not in present]


def run_dbt(
    args: Sequence[str], warehouse: WarehouseSetting, *, target_path: Path | None = None
) -> int:
    """Run one dbt command (``["build", "--select", ...]``) on ``warehouse``; an exit status.

    The profile's target follows the warehouse's engine (``warehouse`` for SQLite, ``postgres``).

    ``target_path`` moves dbt's artifacts and logs out of ``dbt/target`` and ``dbt/logs`` (tests
    use it so that runs on different warehouses do not share a parse cache).
    """
    from dbt.cli.main import dbtRunner  # imported here: it costs a second or two

    target = export_warehouse(warehouse)
    argv = [*args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
            "--target", DBT_TARGETS[target.kind]]
    if target_path is not None:
        argv += ["--target-path", str(target_path), "--log-path", str(target_path / "logs")]
    if not sys.stdout.isatty():  # logs and pipes get plain text, not ANSI colour codes
        argv.append("--no-use-colors")
    result = dbtRunner().invoke(argv)
    command = " ".join(args[:2]) if args[:1] == ["docs"] else args[0]
    if result.exception is not None:
        print(f"dbt {command} could not run: {result.exception}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    if not result.success:
        print(f"dbt {command} failed: see dbt's messages above", file=sys.stderr)
        return exit_codes.CRITICAL_FAILURE
    return exit_codes.OK


def build(
    warehouse: WarehouseSetting,
    *,
    full_refresh: bool = False,
    select: str | None = None,
    target_path: Path | None = None,
) -> int:
    """Seed, build and test every dbt model (or ``select``) on ``warehouse``; an exit status.

    ``full_refresh`` rebuilds the incremental ``fact_daily_balance`` from scratch (needed after
    editing ``dbt/seeds/balance_rules.csv``). Returns ``BAD_INPUT`` when the warehouse holds no
    loaded raw tables, ``CRITICAL_FAILURE`` when a model or a dbt test fails.
    """
    missing = missing_raw_tables(warehouse)
    if missing:
        print(
            f"build: {warehouse} has no raw table {', '.join(missing)}: "
            "load a delivery first (balancewatch load DATA_DIR)",
            file=sys.stderr,
        )
        return exit_codes.BAD_INPUT
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    return run_dbt(args, warehouse, target_path=target_path)


def docs_generate(warehouse: WarehouseSetting, *, target_path: Path | None = None) -> int:
    """Write dbt's documentation site (``dbt/target/index.html``) for a built warehouse."""
    return run_dbt(["docs", "generate"], warehouse, target_path=target_path)
