"""The build stage: run the dbt project (seeds, models and their tests) on the warehouse.

dbt runs in this process through its programmatic runner, with the project and profile of this
repository (``dbt/``) whatever the working directory. dbt prints its own progress and, on failure,
its own error messages; these functions add one closing line and return an exit status.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from balancewatch import exit_codes, state_sql
from balancewatch.run_log import detail
from balancewatch.settings import DBT_DIR, export_warehouse, logs_dir_for
from balancewatch.warehouse import DBT_TARGETS, SPARK, Warehouse, parse

RAW_TABLES = ("organizations", "invoices")
#: One row per successful whole-project build: the newest load it had seen when it started and
#: its as-of date. The next incremental build's tests read the newest row and test only the rows
#: built since (dbt/macros/test_scope.sql).
BUILD_LOG_SQL = """
create table if not exists build_log (
    load_id     integer not null,
    as_of_date  text,
    built_at    text not null,
    full_refresh integer not null,
    project_hash text              -- balancewatch.up_to_date.project_fingerprint() of the build
)
"""
BUILD_LOG = state_sql.StateTable("build_log", BUILD_LOG_SQL)  # append-only
WarehouseSetting = str | os.PathLike[str] | Warehouse
#: A column each incremental model gained in a later release: a warehouse built before it is
#: rebuilt from scratch once (dbt's on_schema_change='fail' would stop every incremental build).
LATER_MODEL_COLUMNS = {"stg_invoices": "_previous_amount_usd",
                       "dim_organizations": "_balance_micros"}


def missing_raw_tables(warehouse: WarehouseSetting) -> list[str]:
    """The raw tables the loader should have created in ``warehouse`` but did not."""
    target = parse(warehouse)
    if not target.exists():
        return list(RAW_TABLES)
    with target.connection(read_only=True) as conn:
        present = conn.table_names()
    return [table for table in RAW_TABLES if table not in present]


def run_dbt(
    args: Sequence[str], warehouse: WarehouseSetting, *, target_path: Path | None = None,
    verbose: bool = True,
) -> int:
    """Run one dbt command (``["build", "--select", ...]``) on ``warehouse``; an exit status.

    The profile's target follows the warehouse's engine (``warehouse`` for SQLite, ``postgres``).

    dbt's artifacts (for ``build``: the partial-parse cache only) go to ``target_path`` (tests
    give one per warehouse), else ``$DBT_TARGET_PATH``, else :func:`target_dir`. dbt's log goes
    to the warehouse's logs folder (``target_path/logs`` with a ``target_path``). Not
    ``verbose``: dbt prints errors only, one summary line names its log, and the run's log gets
    one line per node.
    """
    from dbt.cli.main import dbtRunner  # imported here: it costs a second or two

    target = export_warehouse(warehouse)
    argv = [*args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
            "--target", DBT_TARGETS[target.kind]]
    log_dir = target_path / "logs" if target_path is not None else logs_dir_for(target)
    if target_path is None and not os.environ.get("DBT_TARGET_PATH"):
        target_path = target_dir(target.kind)
    if target_path is not None:
        argv += ["--target-path", str(target_path)]
    argv += ["--log-path", str(log_dir)]
    if args[0] == "build":  # nothing reads dbt's manifest.json / run_results.json: 0.4 s a build
        argv.append("--no-write-json")
    if not sys.stdout.isatty():  # logs and pipes get plain text, not ANSI colour codes
        argv.append("--no-use-colors")
    if not verbose:
        argv.append("--quiet")
    result = dbtRunner().invoke(argv)
    if not verbose:
        print(f"  dbt {args[0]}: {_summary(result.result)}; dbt's log {log_dir / 'dbt.log'}")
        for node in getattr(result.result, "results", None) or []:
            detail(f"    {_status(node):<6} {node.node.resource_type:<5} {node.node.name} "
                   f"({node.execution_time:.2f} s)", verbose=False)
    command = " ".join(args[:2]) if args[:1] == ["docs"] else args[0]
    if result.exception is not None:
        print(f"dbt {command} could not run: {result.exception}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    if not result.success:
        print(f"dbt {command} failed: see dbt's messages above", file=sys.stderr)
        return exit_codes.CRITICAL_FAILURE
    return exit_codes.OK


def target_dir(kind: str) -> Path:
    """``dbt/target/<engine>-<project fingerprint>``: dbt's partial-parse cache is only ever read
    by the project version that wrote it (a cache of another checkout once lacked a macro this
    one overrides: "'rebuilt_rows_predicate' is undefined"); other versions' folders are removed."""
    from balancewatch.up_to_date import project_fingerprint

    folder = DBT_DIR / "target" / f"{kind}-{project_fingerprint()[:16]}"
    for old in folder.parent.glob(f"{kind}-*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def _status(node: object) -> str:
    """A node result's status: ``success``, ``pass``, ``fail``, ``error``, ``skipped``..."""
    status = node.status  # type: ignore[attr-defined]
    return str(getattr(status, "value", status)).lower()


def _summary(results: object) -> str:
    """``52 node(s): 46 tests passed, 6 built`` from dbt's run results."""
    counts: dict[str, int] = {}
    for node in getattr(results, "results", None) or []:
        counts[_status(node)] = counts.get(_status(node), 0) + 1
    words = {"success": "built", "pass": "tests passed"}  # models and seeds; tests
    total = sum(counts.values())
    return f"{total} node(s): " + (", ".join(f"{n} {words.get(s, s)}"
                                             for s, n in sorted(counts.items())) or "none run")


def build(
    warehouse: WarehouseSetting,
    *,
    full_refresh: bool = False,
    select: str | None = None,
    target_path: Path | None = None,
    verbose: bool = True,
) -> int:
    """Seed, build and test every dbt model (or ``select``) on ``warehouse``; an exit status.

    ``full_refresh`` rebuilds the incremental models from scratch (needed after editing
    ``dbt/seeds/balance_rules.csv``). A whole-project incremental build tests only the rows built
    since the last successful one (recorded in table ``build_log``). Returns ``BAD_INPUT`` when
    the warehouse holds no loaded raw tables, ``CRITICAL_FAILURE`` when a model or a dbt test fails.
    """
    missing = missing_raw_tables(warehouse)
    if missing:
        print(
            f"build: {warehouse} has no raw table {', '.join(missing)}: "
            "load a delivery first (balancewatch load DATA_DIR)",
            file=sys.stderr,
        )
        return exit_codes.BAD_INPUT
    older = [] if full_refresh or select else _built_by_an_older_release(warehouse)
    if older:
        print(f"build: {', '.join(older)} predate this release's columns: rebuilding every model "
              "from scratch once (as --full-refresh does)")
        full_refresh = True
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
        return run_dbt(args, warehouse, target_path=target_path, verbose=verbose)
    newest_load = _newest_load(warehouse)
    args += ["--vars", json.dumps({"scoped_tests": True})]  # the same every run: see the macro
    status = run_dbt(args, warehouse, target_path=target_path, verbose=verbose)
    if status == exit_codes.OK:
        _record_build(warehouse, newest_load, full_refresh)
    return status


def _built_by_an_older_release(warehouse: WarehouseSetting) -> list[str]:
    """The models of ``warehouse`` that lack a column of :data:`LATER_MODEL_COLUMNS`."""
    with parse(warehouse).connection(read_only=True) as conn:
        names = conn.table_names()
        return [table for table, column in LATER_MODEL_COLUMNS.items()
                if table in names and column not in conn.column_names(table)]


def _newest_load(warehouse: WarehouseSetting) -> int:
    """The newest load now: what this build will have covered once it succeeds."""
    with parse(warehouse).connection(read_only=True) as conn:
        return conn.scalar("select coalesce(max(load_id), 0) from load_log") or 0


def _record_build(warehouse: WarehouseSetting, newest_load: int, full_refresh: bool) -> None:
    """After a successful whole-project build: remember what it covered (see BUILD_LOG_SQL)."""
    from balancewatch.up_to_date import project_fingerprint

    with parse(warehouse).connection() as conn, conn.transaction():
        state_sql.create(conn, BUILD_LOG)
        text = "string" if conn.kind == SPARK else "text"  # Spark has no `text` type
        conn.add_missing_columns("build_log", {"project_hash": text})
        as_of = conn.scalar("select max(balance_date) from fact_daily_balance")
        state_sql.insert(
            conn, BUILD_LOG, ("load_id", "as_of_date", "built_at", "full_refresh", "project_hash"),
            [(newest_load, as_of, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
              int(full_refresh), project_fingerprint())],
        )


def docs_generate(warehouse: WarehouseSetting, *, target_path: Path | None = None) -> int:
    """Write dbt's documentation site (``dbt/target/index.html``) for a built warehouse."""
    return run_dbt(["docs", "generate"], warehouse, target_path=target_path)
