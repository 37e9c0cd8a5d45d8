"""The monitor stage: run the GX checkpoints on the warehouse, record and print alerts.

``monitor(warehouse)`` runs checkpoint ``staging`` (stg_invoices, stg_organizations: the days its
volume and re-sent checks flag are recorded before the digest goes) and ``balance``
(fact_daily_balance: the swing and anomaly rules on new and restated days), whose actions record
alerts, advance the watermark and send the Slack digest; it prints the suites and the alert
block, and returns the exit status of docs/contract.md §3:

* 0 -- ran; warnings and alerts allowed;
* 1 -- a critical expectation failed: alerts are not recorded and the watermark does not move
  (the data cannot be trusted; the same days are evaluated again by the next run);
* 2 -- bad input or usage (missing warehouse or tables, bad ``since``): nothing written.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from balancewatch import run_log
from balancewatch.exit_codes import BAD_INPUT, CRITICAL_FAILURE, OK
from balancewatch.settings import REPO_ROOT, export_site_root
from balancewatch.warehouse import Warehouse, WarehouseError, export, parse
from monitors.alerts.console import alert_block, checks_summary, suite_lines
from monitors.alerts.digest import Digest
from monitors.alerts.health import check_health
from monitors.checks.scope import Scope, mark_passed, plan_scope, write_scope
from monitors.docs.run_report import RUNS_DIR
from monitors.findings.check_health import record_health
from monitors.findings.freshness import BadSetting, read_rules, run_date
from monitors.findings.preflight import BadInput, check_since, inspect_warehouse
from monitors.findings.recording import Evaluation
from monitors.findings.results import (
    ANOMALY_RULE,
    SWING_RULE,
    Resolution,
    SuiteSummary,
    SwingAlert,
    summarize_suite,
)
from monitors.findings.watermark import DEFAULT_FIRST_RUN_DAYS, Window, evaluation_window
from monitors.gx_project.run_ledger import MonitorRun, active_run

CHECKPOINTS = ("staging", "balance")
NOTHING_TO_EVALUATE = "9999-12-31"


@dataclass
class MonitorReport:
    """Everything one run found; ``exit_code`` is what the CLI returns."""

    exit_code: int
    window: Window | None = None
    suites: list[SuiteSummary] = field(default_factory=list)
    swing_total: int = 0  # swings on new days
    swings: list[SwingAlert] = field(default_factory=list)  # on new days
    anomalies: list[SwingAlert] = field(default_factory=list)  # on new days (rule 'anomaly')
    late: list[SwingAlert] = field(default_factory=list)  # alerted now on days evaluated before
    resolved: list[Resolution] = field(default_factory=list)
    new_alerts: int = 0
    docs_index: Path | None = None
    digest: Digest | None = None
    message: str = ""
    health: list[str] = field(default_factory=list)  # data-health lines


def run_monitor(
    warehouse: str | os.PathLike[str] | Warehouse,
    *,
    since: str | None = None,
    first_run_days: int = DEFAULT_FIRST_RUN_DAYS,
    keep_runs: int | None = None,
    full_check: bool = False,
    top: int = 10,
    project_root: Path = REPO_ROOT,
    notify_slack: bool = True,
    out: TextIO | None = None,
    verbose: bool = True,
    context: Any = None,
    today: str | None = None,
) -> MonitorReport:
    """Run both checkpoints and record alerts (exit statuses: the module docstring). Not
    ``verbose``: per-suite and set-up lines go to the run's log only. ``context``: the GX context
    of ``project_root``, if open. ``today``: the run's date (``$BALANCEWATCH_TODAY``, the clock)."""
    out = out or sys.stdout

    def say(line: str = "") -> None:
        print(line, file=out)

    def detail(line: str) -> None:
        run_log.detail(line, verbose=verbose, out=out)

    try:
        warehouse = parse(warehouse)
    except WarehouseError as exc:
        say(f"monitor: {exc}")
        return MonitorReport(BAD_INPUT, message=str(exc))
    try:
        check_since(since, None)
        if first_run_days < 1 or (keep_runs is not None and keep_runs < 1):
            raise BadInput("first_run_days and keep_runs must be >= 1")
        if not (project_root / "gx" / "great_expectations.yml").is_file():
            raise BadInput(f"no GX context in {project_root / 'gx'}: run `make gx`")
        rules, day = read_rules(project_root), run_date(today)
        as_of, last, first_evaluated_day = inspect_warehouse(warehouse)
        check_since(since, as_of)
    except (BadInput, BadSetting) as exc:
        say(f"monitor: {exc}")
        return MonitorReport(BAD_INPUT, message=str(exc))

    window, evaluate_from = None, NOTHING_TO_EVALUATE
    if as_of is not None:
        window = evaluation_window(last, as_of, since=since, first_run_days=first_run_days)
        # new days, and every restated day from the first day the monitor ever evaluated on
        evaluate_from = min(first_evaluated_day or window.first_day, window.first_day)
        say(f"monitor: {warehouse}; as-of {as_of}; "
            + (f"evaluating {window.first_day} .. {as_of} ({window.days} day(s); {window.reason})"
               if window.days else f"no new days to evaluate ({window.reason})"))
    else:
        say(f"monitor: {warehouse}; stg_invoices is empty: no as-of date")

    export(warehouse)  # GX's data source reads ${BALANCEWATCH_SQLALCHEMY_URL}
    site_root = export_site_root(warehouse)  # ... and its stores ${BALANCEWATCH_SITE_ROOT}
    t0 = time.perf_counter()
    from great_expectations.core.run_identifier import RunIdentifier

    from monitors.checks.suites import SWING_WINDOW_PARAMETER, suite_definitions
    from monitors.gx_project.actions import KEEP_RUNS_ENV
    from monitors.gx_project.context import (
        SuiteIncomplete,
        check_rule,
        check_suite,
        for_warehouse,
        open_context,
    )
    from monitors.gx_project.setup import FULL_SUFFIX, dbt_rule_vars

    opened = "opened while dbt built" if context is not None else "ready"
    context = context or open_context(project_root)
    for_warehouse(context, warehouse.dialect)  # Spark: no temporary tables
    definitions = suite_definitions(*dbt_rule_vars(project_root))
    detail(f"monitor: GX context {opened}; {time.perf_counter() - t0:.1f} s more")

    try:  # before anything is written: a suite that is not what the code and dbt vars say
        for name, expected in definitions.items():
            check_suite(context.suites.get(name), expected)
            check_rule(context.suites.get(name), expected)
    except SuiteIncomplete as exc:
        say(f"monitor: REFUSING TO RUN: {exc}")
        return MonitorReport(BAD_INPUT, window=window, message=str(exc))
    first_day = window.first_day if window and window.days else None
    scope = _plan_scope(warehouse, as_of, first_day, full_check)
    detail(f"monitor: {scope.describe()}")
    health = check_health(warehouse, day, rules, say)  # pending ones go in this run's digest
    run_name = (f"{window.first_day}_to_{window.as_of}" if window and window.days
                else f"as-of-{as_of}_no-new-days")
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
    run_time = run_id.run_time.strftime("%Y%m%dT%H%M%S.%fZ")  # GX's folder name for the run
    report = MonitorReport(OK, window=window, health=health.lines)
    suffix = FULL_SUFFIX if scope.whole else ""
    checkpoints = {name: context.checkpoints.get(name + suffix) for name in CHECKPOINTS}
    saved_keep_runs = os.environ.get(KEEP_RUNS_ENV)
    evaluation = Evaluation(scope, evaluate_from, last, as_of)
    ledger = MonitorRun(
        warehouse, as_of, window, site_root, f"{RUNS_DIR}/{run_time}.html", evaluation,
        notify_slack,
    )
    report.docs_index = ledger.docs_index
    with active_run(ledger):
        for name, checkpoint in checkpoints.items():
            t0 = time.perf_counter()
            try:
                if keep_runs is not None:  # else $BALANCEWATCH_DOCS_KEEP_RUNS, else 30
                    os.environ[KEEP_RUNS_ENV] = str(keep_runs)
                result = checkpoint.run(
                    expectation_parameters={SWING_WINDOW_PARAMETER: evaluate_from}, run_id=run_id
                )
            except Exception as exc:  # noqa: BLE001 - reported as a failed run, not a traceback
                say(f"monitor: checkpoint {name} could not run: {type(exc).__name__}: {exc}")
                say("monitor: nothing recorded (exit 1)")
                return MonitorReport(CRITICAL_FAILURE, window=window, message=str(exc))
            finally:
                if saved_keep_runs is None:
                    os.environ.pop(KEEP_RUNS_ENV, None)
                else:
                    os.environ[KEEP_RUNS_ENV] = saved_keep_runs
            seconds = time.perf_counter() - t0
            detail(f"checkpoint {name}: {len(result.run_results)} suite(s) in {seconds:.1f} s")
            for validation in result.run_results.values():
                ledger.suites.append(summarize_suite(validation))
                for line in suite_lines(ledger.suites[-1]):
                    detail(line)
            report.health += record_health(warehouse, result.run_results.values(), day, say)
    if not verbose:
        for line in checks_summary(ledger.suites):
            say(line)
    report, closing = _finish(ledger, report, top, say)
    _write_report(ledger, report, run_name, run_time, say, closing)
    if report.exit_code == OK:
        with warehouse.connection() as conn:
            mark_passed(conn, scope)
        if health.exit_code != OK:
            report.exit_code = health.exit_code
            say(f"monitor: stale data and freshness_severity is critical (exit {health.exit_code})")
    return report


def _plan_scope(warehouse: Warehouse, as_of: str | None, first_day: str | None,
                full_check: bool) -> Scope:
    """Plan this run's scope and store it where the GX query assets read it."""
    with warehouse.connection() as conn:
        scope = plan_scope(conn, as_of, first_day, full_check=full_check)
        write_scope(conn, scope)
    return scope


def _finish(ledger: MonitorRun, report: MonitorReport, top: int, say: Any
            ) -> tuple[MonitorReport, str]:
    """Print the alert block and the notification line; set the exit status; the outcome."""
    recorded = ledger.recorded
    report.suites = ledger.suites
    window_start = ledger.window.first_day if ledger.window else NOTHING_TO_EVALUATE
    # the window's days (new days, or --since); late data: newly alerted days before it
    found = recorded.swings if recorded else [
        *(ledger.finding.top if ledger.finding else []),
        *(ledger.anomaly_finding.top if ledger.anomaly_finding else [])]
    new_days = [s for s in found if s.balance_date >= window_start]
    report.swings = [s for s in new_days if s.rule == SWING_RULE]
    report.anomalies = [s for s in new_days if s.rule == ANOMALY_RULE]
    report.swing_total = len(report.swings)
    report.late = [s for s in recorded.late if s.balance_date < window_start] if recorded else []
    report.resolved = recorded.resolved if recorded else []
    report.new_alerts = (recorded.new_alerts if recorded else None) or 0
    critical = ledger.critical_so_far()
    if ledger.window is not None:
        threshold = ledger.finding.threshold if ledger.finding else 0.5
        new_alerts = None if critical else report.new_alerts
        for line in alert_block(
            report.swings, ledger.window, threshold, new_alerts=new_alerts,
            late=report.late, resolved=report.resolved, top=top,
            min_usd=ledger.finding.min_usd if ledger.finding else 0.0,
            anomalies=report.anomalies if ledger.anomaly_finding else None,
            anomaly_threshold=(ledger.anomaly_finding.threshold if ledger.anomaly_finding
                               else None),
        ):
            say(line)
    report.digest = ledger.digest()
    if ledger.notify_line:
        say(ledger.notify_line)
    if critical:
        report.exit_code = CRITICAL_FAILURE
        return report, (f"{len(critical)} critical expectation(s) failed: alerts not recorded, "
                        "watermark not moved")
    if recorded is None or recorded.new_alerts is None:
        report.exit_code = CRITICAL_FAILURE
        return report, "the alert-recording action did not run: nothing recorded"
    return report, (f"watermark at {ledger.as_of}; {report.new_alerts} new alert(s), "
                    f"{len(report.resolved)} resolved in balance_alerts")


def _write_report(ledger: MonitorRun, report: MonitorReport, run_name: str, run_time: str,
                  say: Any, closing: str) -> None:
    """This run's report page in the warehouse's Data Docs site, and the index again."""
    from monitors.docs.run_report import RunReport, publish
    from monitors.findings.anomaly_results import merge_rules

    window = ledger.window
    base = RunReport(
        run_name, run_time, str(ledger.warehouse), ledger.as_of,
        f"{window.days} day(s) evaluated ({window.reason})" if window else "no as-of date",
        ledger.suites, merge_rules([*report.swings, *report.anomalies]),
        merge_rules(list(report.late)), report.resolved,
        title=_title(ledger, report), health=report.health,
    )
    try:
        publish(ledger.warehouse, ledger.site_root, base)
    except Exception as exc:  # noqa: BLE001 - the report is evidence, not the run's outcome
        say(f"monitor: run report not written: {type(exc).__name__}: {exc}")
    report.docs_index = ledger.report_file
    say(f"monitor: {closing}; report {ledger.report_file}")


def _title(ledger: MonitorRun, report: MonitorReport) -> str:
    """The run report's title: the days evaluated, or what a run without new days did."""
    window = ledger.window
    if window is not None and window.days:
        return f"balancewatch run {window.first_day} .. {window.as_of}"
    return (f"balancewatch run as of {ledger.as_of or 'n/a'}: no new days; "
            f"{len(report.late)} swing(s) found in late data, {len(report.resolved)} alert(s) "
            "resolved")


def monitor(warehouse: str | os.PathLike[str] | Warehouse, **options: Any) -> int:
    """Run the monitor (``options``: :func:`run_monitor`'s); returns the exit status 0, 1 or 2."""
    return run_monitor(warehouse, **options).exit_code
