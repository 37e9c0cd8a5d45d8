"""What a scheduled run prints: a few lines per stage by default, everything else in the run's
log (named on the last line) and dbt's own log; ``--verbose`` prints the detail too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_cli_ops import REPO, cli

pytest.importorskip("great_expectations")


def test_a_default_run_on_the_sample_prints_under_25_lines_and_logs_the_rest(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "w.db"
    done = cli("run", str(REPO / "data" / "sample"), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) < 25, done.stdout
    assert done.stderr == ""
    out = done.stdout
    assert "invoices: 23,689 rows read, 23,689 inserted" in out  # what was loaded
    assert "dbt build: 52 node(s): 46 tests passed, 6 built" in out  # built
    assert "checks passed: 3 suite(s), 43/45 expectations met" in out  # evaluated (the swing
    # and anomaly expectations fail as warnings: alerts)
    assert "BALANCE SWINGS: 31 day(s) moved more than 50%" in out  # found
    assert "... and 26 more (all in the report and `balancewatch alerts list`)" in out
    assert "BALANCE ANOMALIES: 21 day(s)" in out and "5 not swings; largest: org " in out
    # 31 swings and 5 anomalies that are not swings: 36 days
    assert ("slack: not configured, nothing sent; 36 alert(s) in balance_alerts were never sent "
            "(`balancewatch alerts list --status pending`)") in out  # sent
    report = re.search(r"report (\S+\.html)", out)
    assert report and Path(report.group(1)).is_file()  # where the report is
    for detail in ("checkpoint staging", "GX context ready", "START", "stg_invoices  "):
        assert detail not in out

    last = re.fullmatch(r"run: finished in [\d.]+ s \(load [\d.]+ s, build [\d.]+ s, "
                        r"monitor [\d.]+ s; exit 0\); log (\S+)", lines[-1])
    assert last, lines[-1]
    log = Path(last.group(1))
    assert log.parent == tmp_path / "w-docs" / "logs"
    text = log.read_text()
    logged = iter(text.splitlines())
    assert all(line in logged for line in lines)  # every printed line, in order
    assert "checkpoint staging: 2 suite(s)" in text and "stg_invoices         passed" in text
    assert "monitor: checking whole tables (no run has passed yet)" in text
    # GX started while dbt built (balancewatch/overlap.py), and the log keeps the stages' order
    assert "monitor: GX context opened while dbt built" in text
    assert text.index("  dbt build: 52 node(s)") < text.index("checkpoint staging")
    assert re.search(r"success model fact_daily_balance \([\d.]+ s\)", text)
    dbt_log = (log.parent / "dbt.log").read_text()  # dbt's full log, named in the output
    assert f"dbt's log {log.parent / 'dbt.log'}" in out
    assert "fact_daily_balance" in dbt_log and "Finished running" in dbt_log


def test_verbose_prints_dbt_and_gx_detail(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.db"
    done = cli("run", str(REPO / "data" / "sample"), "--warehouse", str(warehouse), "--verbose")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "START sql" in done.stdout  # dbt's line per node
    assert "checkpoint staging: 2 suite(s)" in done.stdout
    assert "  stg_invoices         passed  22/22 met" in done.stdout
    assert len(done.stdout.splitlines()) > 100


def test_a_failing_build_stops_the_run_with_its_status(tmp_path: Path) -> None:
    from tests.deel_csv import invoice, organization, write_delivery

    delivery = write_delivery(tmp_path / "d", [organization()], [invoice(STATUS="disputed")])
    done = cli("run", str(delivery), "--warehouse", str(tmp_path / "w.db"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "accepted_values_stg_invoices_status" in done.stdout
    assert re.search(r"^run: finished in [\d.]+ s \(load [\d.]+ s, build [\d.]+ s; exit 1\): "
                     r"build failed, the stages after it did not run; log ", done.stdout, re.M)
    assert "monitor:" not in done.stdout and "leaked" not in done.stderr
