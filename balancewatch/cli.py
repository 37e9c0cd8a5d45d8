"""The ``balancewatch`` command: one subcommand per pipeline stage, and ``run`` for all of them."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version as package_version
from pathlib import Path

from balancewatch import alerts_cli, exit_codes
from balancewatch.dotenv import load_dotenv
from balancewatch.location import check_sqlite_location
from balancewatch.overlap import build_while_gx_starts
from balancewatch.run_lock import DEFAULT_WAIT_SECONDS, Busy, run_lock
from balancewatch.run_log import run_log
from balancewatch.settings import (
    DEFAULT_WAREHOUSE,
    REPO_ROOT,
    SAMPLE_DIR,
    WAREHOUSE_DEFAULT_HELP,
    export_warehouse,
    logs_dir_for,
    resolve_warehouse,
)
from balancewatch.warehouse import Warehouse, WarehouseError
from monitors.findings.freshness import TODAY_ENV, BadSetting, read_rules, run_date
from monitors.findings.watermark import DEFAULT_FIRST_RUN_DAYS

SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")
Stage = Callable[[argparse.Namespace, Warehouse], int]


def stage_load(args: argparse.Namespace, warehouse: Warehouse) -> int:
    """Load the delivery directory into the raw tables."""
    from loaders import DeliveryRejected, load_delivery

    data_dir = Path(args.data_dir)
    print(f"load: {data_dir} -> {warehouse}")
    try:
        report = load_delivery(data_dir, warehouse)
    except DeliveryRejected as rejected:
        print(rejected.message(), file=sys.stderr)
        return exit_codes.BAD_INPUT
    for line in report.lines():
        print(f"  {line}")
    if not report.changed:
        print("  nothing to load: every file of this delivery was loaded before")
    return exit_codes.OK


def stage_build(args: argparse.Namespace, warehouse: Warehouse) -> int:
    """Build the dbt models and run their tests."""
    from balancewatch.build import build

    print(f"build: dbt build on {warehouse}")
    return build(warehouse, full_refresh=getattr(args, "full_refresh", False),
                 verbose=args.verbose)


def stage_monitor(args: argparse.Namespace, warehouse: Warehouse) -> int:
    """Run the GX checkpoints; record, print and send the balance alerts."""
    from monitors.run import monitor

    return monitor(
        warehouse,
        since=getattr(args, "since", None),
        first_run_days=getattr(args, "first_run_days", DEFAULT_FIRST_RUN_DAYS),
        full_check=getattr(args, "full_check", False),
        keep_runs=getattr(args, "keep_runs", None),
        verbose=args.verbose,
        top=10 if args.verbose else 5,
        context=getattr(args, "gx_context", None),
        today=getattr(args, "today", None),
    )


def data_health_only(args: argparse.Namespace, warehouse: Warehouse) -> int:
    """The nothing-new path's check (no dbt, no GX): is the data itself still fresh?"""
    from monitors.alerts.health import check_health

    outcome = check_health(warehouse, run_date(getattr(args, "today", None)),
                           read_rules(REPO_ROOT), print, send=True)
    return outcome.exit_code


STAGES: dict[str, Stage] = {"load": stage_load, "build": stage_build, "monitor": stage_monitor}


def _timed(name: str, stage: Stage, args: argparse.Namespace, warehouse: Warehouse
           ) -> tuple[int, float]:
    """Run one stage: (exit status, seconds)."""
    started = time.perf_counter()
    try:
        status = stage(args, warehouse)
    except WarehouseError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        status = exit_codes.BAD_INPUT
    return status, time.perf_counter() - started


def _log_note(warehouse: Warehouse, log: str) -> str:
    """Where the log is; none is kept when the command left no warehouse (a rejected first
    delivery)."""
    return f"; log {log}" if warehouse.exists() else ""


def run_stage(name: str, args: argparse.Namespace, warehouse: Warehouse, log: str) -> int:
    """One stage; its last line gives its time, exit status and log."""
    status, seconds = _timed(name, STAGES[name], args, warehouse)
    print(f"{name}: finished in {seconds:.1f} s (exit {status}){_log_note(warehouse, log)}")
    return status


def _asked_for_work(args: argparse.Namespace) -> bool:
    """Options that make a run do every stage even when nothing is new."""
    return any(getattr(args, name, False) for name in
               ("force", "since", "full_check", "full_refresh"))


def run_all(args: argparse.Namespace, warehouse: Warehouse, log: str) -> int:
    """Every stage in order; stops at the first that fails. One closing line for them all."""
    times: dict[str, float] = {}
    status, failed = exit_codes.OK, ""
    for name, stage in STAGES.items():
        if name == "build":  # GX starts in this process meanwhile (balancewatch/overlap.py)
            status, times[name], args.gx_context = build_while_gx_starts(
                lambda: _timed("build", stage_build, args, warehouse), warehouse)
        else:
            status, times[name] = _timed(name, stage, args, warehouse)
        if status != exit_codes.OK:
            after = ", the stages after it did not run" if name != "monitor" else ""
            failed = f": {name} failed{after}"
            break
        if name == "load" and not _asked_for_work(args):
            from balancewatch.up_to_date import up_to_date

            reason = up_to_date(warehouse)
            if reason:
                print(f"run: {reason}; build and monitor skipped (--force runs them)")
                status = data_health_only(args, warehouse)
                if status != exit_codes.OK:
                    failed = ": stale data (freshness_severity: critical)"
                break
    each = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in times.items())
    print(f"run: finished in {sum(times.values()):.1f} s ({each}; exit {status}){failed}"
          f"{_log_note(warehouse, log)}")
    return status


def warehouse_option(help_text: str) -> argparse.ArgumentParser:
    """What every command takes: ``--warehouse``, described by ``help_text``."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--warehouse", help=help_text)
    return parent


def stage_options() -> argparse.ArgumentParser:
    """What the pipeline stages take: a warehouse they create if missing, ``--verbose`` and
    ``--lock-wait``."""
    stage = argparse.ArgumentParser(add_help=False, parents=[warehouse_option(
        "SQLite warehouse file (created if missing), PostgreSQL URL "
        "postgresql://user@host:port/dbname or Spark Thrift Server URL "
        f"spark://host:port/database (database created if missing); {WAREHOUSE_DEFAULT_HELP}")])
    stage.add_argument(
        "--verbose", action="store_true",
        help="print dbt's line per model and test and GX's per-suite detail (default: a few lines "
        "per stage; the run's log, named on the last line, has the detail)",
    )
    stage.add_argument(
        "--lock-wait", type=float, default=DEFAULT_WAIT_SECONDS, metavar="SECONDS",
        help="one run at a time per warehouse: how long to wait for another run to finish "
        f"(default {DEFAULT_WAIT_SECONDS:.0f}; then exit 2)",
    )
    return stage


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="balancewatch",
        description="Load Deel exports, build the balance models, and monitor balance swings.",
    )
    parser.add_argument("--version", action="version",
                        version=f"balancewatch {package_version('balancewatch')}")
    common = stage_options()
    monitoring = argparse.ArgumentParser(add_help=False)
    monitoring.add_argument(
        "--since", metavar="YYYY-MM-DD", help="re-evaluate swings from this day (default: new days)"
    )
    monitoring.add_argument(
        "--first-run-days",
        type=int,
        default=DEFAULT_FIRST_RUN_DAYS,
        help=f"days evaluated by the very first run (default {DEFAULT_FIRST_RUN_DAYS})",
    )
    monitoring.add_argument(
        "--today", metavar="YYYY-MM-DD",
        help=f"the run's date for the freshness check (default ${TODAY_ENV}, else today in UTC; "
        "for backfills and tests)",
    )
    monitoring.add_argument(
        "--keep-runs", type=int, help="Data Docs runs kept per suite (default 30)"
    )
    monitoring.add_argument(
        "--full-check",
        action="store_true",
        help="check whole tables (default: only loads and days new since the last passing run)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_help = f"delivery directory of organizations*.csv / invoices*.csv (default {SAMPLE_DIR})"
    load = sub.add_parser("load", parents=[common], help="load a delivery into the raw tables")
    load.add_argument("data_dir", nargs="?", default=str(SAMPLE_DIR), help=data_help)
    build = sub.add_parser(
        "build", parents=[common], help="build the dbt models and run their tests"
    )
    build.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild fact_daily_balance from scratch (after changing dbt/seeds/balance_rules.csv)",
    )
    monitor = sub.add_parser(
        "monitor", parents=[common, monitoring], help="run the GX checkpoints and alert on swings"
    )
    monitor.set_defaults(full_refresh=False)
    run = sub.add_parser(
        "run", parents=[common, monitoring], help="every stage: load, build, monitor"
    )
    run.add_argument("data_dir", nargs="?", default=str(SAMPLE_DIR), help=data_help)
    run.add_argument("--full-refresh", action="store_true", help="rebuild fact_daily_balance")
    run.add_argument("--force", action="store_true",
                     help="build and monitor even when nothing is new (default: a run whose "
                     "files were all loaded, built and checked before stops after the load)")
    alerts_cli.add_parser(sub, warehouse_option(alerts_cli.WAREHOUSE_HELP))
    return parser


def _secrets(warehouse: Warehouse) -> tuple[str | None, ...]:
    """What a log must never contain."""
    return (warehouse.password, *(os.environ.get(name) for name in SECRET_ENV))


def _waiting(warehouse: Warehouse, seconds: float) -> Callable[[str], None]:
    """The line a run prints when another run holds the warehouse's lock."""
    def say(holder: str) -> None:
        print(f"balancewatch: waiting up to {seconds:.0f} s for the run holding the lock of "
              f"{warehouse} ({holder}; --lock-wait SECONDS)", flush=True)
    return say


def _writes(args: argparse.Namespace, warehouse: Warehouse) -> bool:
    """Whether this command writes the warehouse (``alerts`` reads, or writes one that exists)."""
    if args.command != "alerts":
        return True
    return args.action in ("ack", "mute", "unmute") and warehouse.exists()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    load_dotenv(Path(".env"))
    try:
        warehouse = export_warehouse(resolve_warehouse(args.warehouse))
        if _writes(args, warehouse):
            check_sqlite_location(warehouse, creatable_folder=DEFAULT_WAREHOUSE.parent)
    except WarehouseError as exc:
        print(f"balancewatch: {exc}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    if args.command == "alerts":  # reads, or writes one row: no run lock needed
        return alerts_cli.run_alerts(args, warehouse)
    try:  # before anything is written
        if args.command in ("run", "monitor"):
            run_date(args.today)
            read_rules(REPO_ROOT)
    except BadSetting as exc:
        print(f"balancewatch: {exc}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    try:
        waiting = _waiting(warehouse, args.lock_wait)
        with run_lock(warehouse, args.lock_wait, on_wait=waiting), run_log(
            logs_dir_for(warehouse), args.command, _secrets(warehouse), keep=warehouse.exists
        ) as log:
            if args.command == "run":
                return run_all(args, warehouse, str(log))
            return run_stage(args.command, args, warehouse, str(log))
    except Busy as exc:
        print(f"balancewatch: {exc}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except WarehouseError as exc:  # the lock's PostgreSQL server cannot be reached
        print(f"balancewatch: {exc}", file=sys.stderr)
        return exit_codes.BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
