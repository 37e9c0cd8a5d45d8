"""What a monitor run prints is written for the operations team: a failed check by its sentence,
a run without new days says so (and its report's title says what it found), and the Slack line
without Slack says how many alerts were never sent, in all."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("great_expectations")

from tests.test_monitor_run import (  # noqa: E402
    day,
    run,
    steady_invoices,
    write_warehouse,
)


def report_title(out: str) -> str:
    page = re.search(r"report (\S+\.html)", out)
    assert page, out
    found = re.search(r"<h1>(.*?)</h1>", Path(page.group(1)).read_text())
    assert found
    return found.group(1)


def test_a_failed_check_is_named_by_its_sentence_not_its_class(tmp_path: Path, project: Path
                                                               ) -> None:
    write_warehouse(tmp_path / "w.db", steady_invoices(5))
    conn = sqlite3.connect(tmp_path / "w.db")
    conn.execute("update stg_invoices set payment_currency = null where invoice_id = 201002")
    conn.commit()
    conn.close()
    report, out = run(tmp_path / "w.db", project)
    assert report.exit_code == 0, out
    assert ("      warning  Paid invoices carry payment currency, method and amount: "
            "1 unexpected row(s)") in out.splitlines(), out
    assert "unexpected_rows_by_dialect_expectation" not in out


def test_a_run_without_new_days_but_with_late_data_says_so(tmp_path: Path, project: Path) -> None:
    wh = tmp_path / "w.db"
    invoices = steady_invoices(10)
    write_warehouse(wh, invoices)
    report, out = run(wh, project)
    assert report.exit_code == 0 and report.new_alerts == 0, out

    # delivery 2 brings no new day, only a refund created on day 6 (evaluated before)
    invoices.append((7, 101, day(6), "refunded", 9_000.0))
    write_warehouse(wh, invoices, {7: 2})
    report, out = run(wh, project)
    assert report.exit_code == 0 and report.new_alerts == 1, out
    lines = out.splitlines()
    assert f"BALANCE SWINGS: no new days to evaluate (as of {day(10)})" in lines, out
    assert "0 day(s) moved" not in out and "new alert(s) recorded" not in out
    assert ("LATE DATA: 1 swing(s) on days evaluated before, found after a load restated them: "
            "each a new alert") in lines
    assert report_title(out) == (f"balancewatch run as of {day(10)}: no new days; 1 swing(s) "
                                 "found in late data, 0 alert(s) resolved")


def test_without_slack_the_line_counts_every_alert_never_sent(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    wh = tmp_path / "w.db"
    invoices = steady_invoices(10) + [(1, 101, day(8), "refunded", 9_000.0)]
    write_warehouse(wh, invoices)
    _, out = run(wh, project, notify_slack=True)
    assert ("slack: not configured, nothing sent; 1 alert(s) in balance_alerts were never sent "
            "(`balancewatch alerts list --status pending`)") in out.splitlines()
    invoices += [(100_000 + o * 1000 + 11, o, day(11), "paid", 100.0) for o in (101, 102, 103)]
    invoices.append((2, 104, day(11), "refunded", 9_000.0))
    write_warehouse(wh, invoices, {i[0]: 2 for i in invoices if i[2] == day(11)})
    report, out = run(wh, project, notify_slack=True)
    assert report.new_alerts == 1, out
    assert "BALANCE SWINGS: 1 day(s) moved more than 50%" in out
    assert ("slack: not configured, nothing sent; 2 alert(s) in balance_alerts were never sent "
            "(`balancewatch alerts list --status pending`)") in out.splitlines()
