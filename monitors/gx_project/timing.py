"""Time the monitor on a warehouse.

``python -m monitors.gx_project.timing WAREHOUSE [--window-start DAY]``

``WAREHOUSE`` is any warehouse setting (a SQLite file, a PostgreSQL or Spark URL). Prints the wall
time of each whole-table checkpoint (what a first run or ``--full-check`` runs), of the swing
expectation alone through GX, and of the same check as one raw SQL query through the warehouse's
own DB-API driver (the floor the expectation is compared with). It writes only this run's scope
row (``monitor_scope``, whole tables), as the monitor does; validation results go to a scratch
folder, not the warehouse's Data Docs site.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _best_of(n: int, fn) -> float:
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m monitors.gx_project.timing", description=__doc__
    )
    parser.add_argument("warehouse", help="SQLite file, postgresql:// or spark:// URL")
    parser.add_argument("--window-start", default=None, help="first evaluated day (default: all)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    from balancewatch.warehouse import WarehouseError, export, parse

    try:
        warehouse = parse(args.warehouse)
        found = warehouse.exists()
    except WarehouseError as exc:
        print(f"timing: {exc}", file=sys.stderr)
        return 2
    if not found:
        print(f"timing: warehouse not found: {warehouse}", file=sys.stderr)
        return 2
    export(warehouse)  # the GX data sources read ${BALANCEWATCH_SQLALCHEMY_URL}

    import sqlalchemy as sa

    from balancewatch.settings import SITE_ROOT_ENV
    from monitors.checks.scope import latest_invoice_day, plan_scope, write_scope
    from monitors.checks.suites import SWING_WINDOW_PARAMETER
    from monitors.checks.swing_expectation import ExpectDailyBalanceSwingsWithinThreshold
    from monitors.checks.swing_query import METRIC_DEFAULTS, swings_query
    from monitors.gx_project.context import REPO_ROOT, for_warehouse, open_context
    from monitors.gx_project.setup import FULL_SUFFIX, _committed_files

    with tempfile.TemporaryDirectory() as tmp:
        for rel, path in _committed_files(REPO_ROOT / "gx").items():
            (Path(tmp) / "gx" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(tmp) / "gx" / rel)
        os.environ[SITE_ROOT_ENV] = str(Path(tmp) / "site-root")  # not the warehouse's site
        context = open_context(Path(tmp))
        for_warehouse(context, warehouse.dialect)
        params = {SWING_WINDOW_PARAMETER: args.window_start or "0000-01-01"}
        with warehouse.connection() as conn:
            write_scope(conn, plan_scope(conn, latest_invoice_day(conn), None, full_check=True))
        for name in ("staging", "balance"):
            checkpoint = context.checkpoints.get(name + FULL_SUFFIX)
            seconds = _best_of(1, lambda c=checkpoint: c.run(expectation_parameters=params))
            print(f"checkpoint {name:<8} {seconds:6.2f} s")
        batch = (
            context.data_sources.get("warehouse")
            .get_asset("fact_daily_balance")
            .get_batch_definition("whole_table")
            .get_batch()
        )
        expectation = ExpectDailyBalanceSwingsWithinThreshold(window_start=args.window_start)
        gx_seconds = _best_of(args.repeat, lambda: batch.validate(expectation))

    sql = str(
        swings_query(
            sa.table("fact_daily_balance"),
            warehouse.dialect,
            **{**METRIC_DEFAULTS, "window_start": args.window_start},
        ).compile(dialect=sa.create_engine(warehouse.sqlalchemy_url()).dialect,
                  compile_kwargs={"literal_binds": True})
    )
    with warehouse.connection(read_only=True) as conn:
        raw_seconds = _best_of(args.repeat, lambda: conn.execute(sql).fetchall())
        rows = conn.scalar("select count(*) from fact_daily_balance")
    print(f"swing expectation via GX {gx_seconds:6.2f} s (best of {args.repeat})")
    print(f"same check as raw SQL    {raw_seconds:6.2f} s (best of {args.repeat}; "
          f"fact_daily_balance: {rows:,} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
